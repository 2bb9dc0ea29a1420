//! DynamoDB's JSON response bodies of the read operations (GetItem, BatchGetItem, Scan),
//! parsed straight into [`ItemFields`]: the SDK's attribute maps (a `HashMap`, and a `String`
//! for every attribute name and value) are never built. Names and numbers are borrowed from
//! the body; only a key and its `data` are copied out. Attributes the format does not read
//! are skipped unread, whatever their type.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::item_fields::{Field, ItemFields, Slot};

/// What a read operation's response holds for one table; members it lacks are empty.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ResponseBody<'a> {
    /// GetItem's `Item`.
    pub(crate) item: Option<ItemFields<'a>>,
    /// Scan's `Items`, or BatchGetItem's `Responses` of the table.
    pub(crate) items: Vec<ItemFields<'a>>,
    /// BatchGetItem's `UnprocessedKeys` of the table.
    pub(crate) unprocessed_keys: Vec<ItemFields<'a>>,
    /// Scan's `LastEvaluatedKey`.
    pub(crate) last_evaluated_key: Option<ItemFields<'a>>,
    /// `ConsumedCapacity`: one entry (GetItem, Scan) or one per table (BatchGetItem).
    pub(crate) consumed: Vec<Capacity<'a>>,
}

/// One `ConsumedCapacity` entry.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct Capacity<'a> {
    #[serde(rename = "TableName", borrow)]
    pub(crate) table: Option<Cow<'a, str>>,
    #[serde(rename = "CapacityUnits")]
    pub(crate) units: Option<f64>,
}

/// Parses a read operation's response body, keeping what concerns `table`.
pub(crate) fn parse<'a>(body: &'a [u8], table: &str) -> Result<ResponseBody<'a>, UnreadableBody> {
    // One check of the whole body is cheaper than serde_json's check of each string.
    let body = std::str::from_utf8(body).map_err(|_| UnreadableBody {
        problem: "it is not UTF-8 text",
        at: None,
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(body);
    let parsed = BodySeed { table }
        .deserialize(&mut deserializer)
        .and_then(|parsed| deserializer.end().map(|()| parsed))
        .map_err(UnreadableBody::from)?;
    Ok(parsed)
}

/// A successful response whose body is not the JSON its operation answers with. It says where
/// and what kind of fault, never the body's text, which may hold stored values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnreadableBody {
    problem: &'static str,
    /// Line and column of the fault, where there is one.
    at: Option<(usize, usize)>,
}

impl UnreadableBody {
    /// A response that came back without a body to read.
    pub(crate) fn missing() -> Self {
        UnreadableBody {
            problem: "no body was received",
            at: None,
        }
    }
}

impl From<serde_json::Error> for UnreadableBody {
    fn from(error: serde_json::Error) -> Self {
        // serde_json's message may quote the body; only its category and position are kept.
        let problem = match error.classify() {
            serde_json::error::Category::Syntax => "it is not valid JSON",
            serde_json::error::Category::Eof => "it ends early",
            serde_json::error::Category::Data => "it does not have the shape of DynamoDB's answer",
            serde_json::error::Category::Io => "it could not be read",
        };
        UnreadableBody {
            problem,
            at: Some((error.line(), error.column())),
        }
    }
}

impl fmt::Display for UnreadableBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body cannot be read: {}", self.problem)?;
        match self.at {
            Some((line, column)) => write!(f, " (line {line}, column {column})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for UnreadableBody {}

/// Text borrowed from the body when it has no escapes, copied when it has.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text)))
    }
}

/// The whole body: an object of the operations' members.
struct BodySeed<'t> {
    table: &'t str,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = ResponseBody<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = ResponseBody<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DynamoDB response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let table = self.table;
        let mut body = ResponseBody::default();
        while let Some(member) = map.next_key::<Text<'de>>()? {
            match &*member.0 {
                "Item" => body.item = map.next_value_seed(OrNull(ItemSeed))?,
                "Items" => {
                    body.items = map
                        .next_value_seed(OrNull(ListOf(ItemSeed)))?
                        .unwrap_or_default();
                }
                "Responses" => {
                    let seed = OrNull(OfTable {
                        table,
                        seed: OrNull(ListOf(ItemSeed)),
                    });
                    body.items = map
                        .next_value_seed(seed)?
                        .flatten()
                        .flatten()
                        .unwrap_or_default();
                }
                "UnprocessedKeys" => {
                    let seed = OrNull(OfTable {
                        table,
                        seed: OrNull(KeysSeed),
                    });
                    body.unprocessed_keys = map
                        .next_value_seed(seed)?
                        .flatten()
                        .flatten()
                        .unwrap_or_default();
                }
                "LastEvaluatedKey" => {
                    body.last_evaluated_key = map.next_value_seed(OrNull(ItemSeed))?
                }
                "ConsumedCapacity" => body.consumed = map.next_value_seed(CapacitySeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

/// `null`, or what the inner seed reads.
#[derive(Clone, Copy)]
struct OrNull<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or a value")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// The most items one BatchGetItem answers with.
const FULL_CHUNK: usize = 100;

/// A JSON array, each element read by the inner seed.
#[derive(Clone, Copy)]
struct ListOf<S>(S);

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for ListOf<S> {
    type Value = Vec<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ListOf<S> {
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // DynamoDB returns at most 100 items per BatchGetItem chunk; a Scan page is bounded
        // by its limit. serde_json gives no hint, and growing a vector of items one doubling
        // at a time copied each item up to seven times (2 % of a batch read's CPU): room for
        // a full chunk is reserved at once. A hint is the parser's, so it is capped.
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(FULL_CHUNK).min(128));
        while let Some(value) = seq.next_element_seed(self.0)? {
            values.push(value);
        }
        Ok(values)
    }
}

/// An object keyed by table name: the member of `table`, the others skipped.
#[derive(Clone, Copy)]
struct OfTable<'t, S> {
    table: &'t str,
    seed: S,
}

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for OfTable<'_, S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for OfTable<'_, S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by table name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(name) = map.next_key::<Text<'de>>()? {
            if name.0 == self.table {
                found = Some(map.next_value_seed(self.seed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// BatchGetItem's `KeysAndAttributes` of a table: its `Keys`.
#[derive(Clone, Copy)]
struct KeysSeed;

impl<'de> DeserializeSeed<'de> for KeysSeed {
    type Value = Vec<ItemFields<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed {
    type Value = Vec<ItemFields<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a KeysAndAttributes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(member) = map.next_key::<Text<'de>>()? {
            if member.0 == "Keys" {
                keys = map
                    .next_value_seed(OrNull(ListOf(ItemSeed)))?
                    .unwrap_or_default();
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(keys)
    }
}

/// One item: an object of attribute name → typed value. Attributes the format does not read
/// are skipped without looking at their values.
#[derive(Clone, Copy)]
struct ItemSeed;

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = ItemFields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = ItemFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item's attributes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = ItemFields::default();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match Slot::of(&name.0) {
                Some(slot) => fields.set(slot, map.next_value_seed(FieldSeed)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// One attribute value: an object with exactly one member, named by its DynamoDB type.
#[derive(Clone, Copy)]
struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value with one type")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(kind) = map.next_key::<Text<'de>>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let field = match &*kind.0 {
            "S" => Field::S(map.next_value::<Text<'de>>()?.0),
            "N" => Field::N(map.next_value::<Text<'de>>()?.0),
            "B" => {
                let text = map.next_value::<Text<'de>>()?;
                let bytes = BASE64.decode(text.0.as_bytes()).map_err(|_| {
                    de::Error::invalid_value(de::Unexpected::Other("text"), &"base64")
                })?;
                Field::B(bytes)
            }
            "BOOL" => Field::Bool(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
                Field::Other
            }
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(2, &self));
        }
        Ok(field)
    }
}

/// `ConsumedCapacity`: an object, or an array of them (BatchGetItem's, one per table).
struct CapacitySeed;

impl<'de> DeserializeSeed<'de> for CapacitySeed {
    type Value = Vec<Capacity<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CapacitySeed {
    type Value = Vec<Capacity<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ConsumedCapacity object or array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Capacity::deserialize(MapAccessDeserializer::new(map)).map(|entry| vec![entry])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element::<Capacity<'de>>()? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Payload;

    fn key(fields: ItemFields<'_>) -> Option<String> {
        fields.into_key()
    }

    fn field(json: &str) -> Result<Field<'_>, serde_json::Error> {
        FieldSeed.deserialize(&mut serde_json::Deserializer::from_str(json))
    }

    const BATCH_GET: &str = r#"{
        "Responses": {
            "other": [{"cache_id": {"S": "elsewhere"}}],
            "t": [
                {"cache_id": {"S": "a"}, "data": {"S": "{\"x\":1}"}, "ttl": {"N": "9"}},
                {"cache_id": {"S": "b"}, "data": {"S": "2"}, "ttl": {"N": "9"},
                 "compressed": {"BOOL": false}}
            ]
        },
        "UnprocessedKeys": {
            "t": {"Keys": [{"cache_id": {"S": "c"}}, {"cache_id": {"S": "d"}}],
                  "ConsistentRead": false},
            "other": {"Keys": [{"cache_id": {"S": "e"}}]}
        },
        "ConsumedCapacity": [
            {"TableName": "t", "CapacityUnits": 1.5},
            {"TableName": "other", "CapacityUnits": 7.0}
        ]
    }"#;

    #[test]
    fn a_batch_get_body_gives_the_tables_items_and_unprocessed_keys() {
        let response = parse(BATCH_GET.as_bytes(), "t").unwrap();
        let items: Vec<_> = response
            .items
            .into_iter()
            .map(|item| item.into_item().unwrap().unwrap())
            .collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].key.as_str(), &items[0].payload),
            ("a", &Payload::Json(r#"{"x":1}"#.into()))
        );
        assert_eq!((items[1].key.as_str(), items[1].expires_at), ("b", 9));
        let unprocessed: Vec<_> = response.unprocessed_keys.into_iter().map(key).collect();
        assert_eq!(unprocessed, [Some("c".to_owned()), Some("d".to_owned())]);
        assert_eq!(response.consumed.len(), 2);
        assert_eq!(response.consumed[0].table.as_deref(), Some("t"));
        assert_eq!(response.consumed[0].units, Some(1.5));
    }

    #[test]
    fn another_tables_response_is_not_this_ones() {
        let response = parse(BATCH_GET.as_bytes(), "third").unwrap();
        assert!(response.items.is_empty());
        assert!(response.unprocessed_keys.is_empty());
    }

    #[test]
    fn get_item_and_scan_bodies() {
        let get = parse(
            br#"{"Item":{"cache_id":{"S":"k"}},"ConsumedCapacity":
            {"TableName":"t","CapacityUnits":0.5}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(get.item.map(key), Some(Some("k".to_owned())));
        assert_eq!(get.consumed[0].units, Some(0.5));
        let miss = parse(b"{}", "t").unwrap();
        assert_eq!(miss, ResponseBody::default());
        let scan = parse(
            br#"{"Count":2,"Items":[{"cache_id":{"S":"a"},"ttl":{"N":"5"}},{"cache_id":{"S":"b"}}],
                "LastEvaluatedKey":{"cache_id":{"S":"b"}},"ScannedCount":3}"#,
            "t",
        )
        .unwrap();
        let expiries: Vec<_> = scan.items.iter().map(ItemFields::expiry).collect();
        assert_eq!(expiries, [Some(5), None]);
        assert_eq!(scan.last_evaluated_key.map(key), Some(Some("b".to_owned())));
    }

    #[test]
    fn null_members_are_absent_ones() {
        let body = br#"{"Item":null,"Items":null,"Responses":{"t":null},"UnprocessedKeys":null,
            "LastEvaluatedKey":null,"ConsumedCapacity":null}"#;
        assert_eq!(parse(body, "t").unwrap(), ResponseBody::default());
    }

    #[test]
    fn names_and_numbers_are_borrowed_from_the_body() {
        let body = br#"{"Item":{"cache_id":{"S":"plain"},"ttl":{"N":"12"}}}"#;
        let response = parse(body, "t").unwrap();
        let item = response.item.unwrap();
        assert!(matches!(
            item.get("ttl"),
            Some(Field::N(Cow::Borrowed("12")))
        ));
        assert!(matches!(
            item.get("cache_id"),
            Some(Field::S(Cow::Borrowed("plain")))
        ));
    }

    #[test]
    fn escaped_text_is_unescaped() {
        let body = br#"{"Item":{"cache_id":{"S":"caf\u00e9 \"q\""}}}"#;
        let response = parse(body, "t").unwrap();
        assert_eq!(response.item.map(key), Some(Some("café \"q\"".to_owned())));
    }

    #[test]
    fn attribute_values_of_every_type() {
        assert_eq!(field(r#"{"S":"x"}"#).unwrap(), Field::S("x".into()));
        assert_eq!(
            field(r#"{"N":"-1.5e3"}"#).unwrap(),
            Field::N("-1.5e3".into())
        );
        assert_eq!(field(r#"{"BOOL":true}"#).unwrap(), Field::Bool(true));
        assert_eq!(field(r#"{"B":"AQL/"}"#).unwrap(), Field::B(vec![1, 2, 255]));
        for other in [
            r#"{"NULL":true}"#,
            r#"{"M":{"a":{"S":"b"}}}"#,
            r#"{"L":[{"N":"1"}]}"#,
            r#"{"SS":["a","b"]}"#,
            r#"{"NS":["1"]}"#,
            r#"{"BS":["AQ=="]}"#,
            r#"{"SOMEDAY":{"new":"type"}}"#,
        ] {
            assert_eq!(field(other).unwrap(), Field::Other, "{other}");
        }
        for invalid in [
            r#"{}"#,
            r#"{"S":"a","N":"1"}"#,
            r#"{"B":"not base64!"}"#,
            r#"{"S":1}"#,
            r#"{"BOOL":"true"}"#,
            r#""a string""#,
            r#"["S","a"]"#,
        ] {
            assert!(field(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn a_body_that_is_not_dynamodb_json_is_an_error() {
        for body in [
            &b""[..],
            b"not json",
            b"[]",
            b"null",
            br#"{"Items":{}}"#,
            br#"{"Items":[{"cache_id":"a"}]}"#,
            br#"{"Items":[{"cache_id":{"S":"a"}}]} trailing"#,
            br#"{"Item":{"cache_id":{"S":"a"}}"#,
            br#"{"Responses":{"t":[{"data":{"S":"x","N":"1"}}]}}"#,
            br#"{"UnprocessedKeys":{"t":{"Keys":{}}}}"#,
            br#"{"ConsumedCapacity":"lots"}"#,
            b"\xff\xfe",
        ] {
            assert!(
                parse(body, "t").is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_error_says_where_but_never_quotes_the_body() {
        let body = br#"{"Items":[{"cache_id":{"S":"secret-key"},"data":{"S":["secret-value"]}}]}"#;
        let error = parse(body, "t").unwrap_err();
        let shown = error.to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("line 1"), "{shown}");
        assert_eq!(
            UnreadableBody::missing().to_string(),
            "the response body cannot be read: no body was received"
        );
    }
}
