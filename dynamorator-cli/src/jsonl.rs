//! The export format: one JSON object per line, an item's key, decoded value and times.
//!
//! ```text
//! {"key":"user:1","value":{"name":"Alice"},"ttl":1765000000,"created_at":1764395200}
//! ```
//!
//! `ttl` is the item's expiry in epoch seconds (the table's `ttl` attribute), so an import
//! keeps it; `created_at` and `fresh_until` appear when the item has them.

use dynamorator::Record;
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
}

impl Line {
    pub fn into_record(self) -> Record<Value> {
        Record::new(self.key, self.value, self.ttl)
            .created_at(self.created_at)
            .fresh_until(self.fresh_until)
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
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(text, r#"{"key":"k","value":{"a":[1,2]},"ttl":1900000000}"#);
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line);
        assert!(serde_json::from_str::<Line>(r#"{"key":"k","ttl":1}"#).is_err());
    }
}
