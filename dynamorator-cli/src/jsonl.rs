//! The export format: one JSON object per line, an item's key, decoded value and times.
//!
//! ```text
//! {"key":"user:1","value":{"name":"Alice"},"ttl":1765000000,"created_at":1764395200}
//! ```
//!
//! `ttl` is the item's expiry in epoch seconds (the table's `ttl` attribute), so an import
//! keeps it; `created_at` and `fresh_until` appear when the item has them, and `encoding`
//! (`gzip` or `zstd`) when the value was stored compressed, so an import stores it so again.

use dynamorator::{Encoding, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub key: String,
    pub value: Value,
    pub ttl: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_until: Option<i64>,
    /// `json`, `gzip` or `zstd`; left out for `json`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "encoding_name"
    )]
    pub encoding: Option<Encoding>,
}

impl Line {
    /// The record to write: in the line's encoding, unless `reencode` leaves it to the
    /// store's settings (as for a line that names none).
    pub fn into_record(self, reencode: bool) -> Record<Value> {
        let encoding = if reencode {
            None
        } else {
            Some(self.encoding.unwrap_or(Encoding::Json))
        };
        Record::new(self.key, self.value, self.ttl)
            .created_at(self.created_at)
            .fresh_until(self.fresh_until)
            .encoding(encoding)
    }
}

/// An encoding as its name in a line; `json` is written as no field at all.
mod encoding_name {
    use dynamorator::Encoding;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        encoding: &Option<Encoding>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match encoding {
            Some(encoding) => serializer.serialize_str(encoding.name()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Encoding>, D::Error> {
        let name = Option::<String>::deserialize(deserializer)?;
        match name.as_deref() {
            None => Ok(None),
            Some("json") => Ok(Some(Encoding::Json)),
            Some("gzip") => Ok(Some(Encoding::Gzip)),
            Some("zstd") => Ok(Some(Encoding::Zstd)),
            Some(other) => Err(serde::de::Error::custom(format!(
                "unknown encoding {other:?}: json, gzip or zstd"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_leave_out_absent_times_and_read_back() {
        let line = Line {
            key: "k".into(),
            value: json!({"a": [1, 2]}),
            ttl: 1_900_000_000,
            created_at: None,
            fresh_until: None,
            encoding: None,
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(text, r#"{"key":"k","value":{"a":[1,2]},"ttl":1900000000}"#);
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line);
        assert!(serde_json::from_str::<Line>(r#"{"key":"k","ttl":1}"#).is_err());
        let zstd = Line {
            encoding: Some(Encoding::Zstd),
            ..line
        };
        let text = serde_json::to_string(&zstd).unwrap();
        assert!(text.ends_with(r#","encoding":"zstd"}"#), "{text}");
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), zstd);
        let odd = r#"{"key":"k","value":1,"ttl":1,"encoding":"lz4"}"#;
        assert!(serde_json::from_str::<Line>(odd).is_err());
    }
}
