//! The fuzz inputs of the read path, shared by the fuzz targets (`fuzz/`) and the regression
//! tests that replay what the fuzzers found (`tests/fuzz_regressions.rs`):
//!
//! - [`decode`]: bytes → a raw DynamoDB item of any shape, in a GetItem response body, decoded
//!   the way every read path decodes;
//! - [`parse_response`]: bytes taken as a read response body, parsed as the DynamoDB backend
//!   parses them.

use std::io::Write;

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dynamorator::__bench::ParsedBody;
use dynamorator::Error;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Compressed data may inflate to at most this much while fuzzing: low, so short inputs reach
/// the cap.
const MAX_INFLATED: usize = 16 << 10;

/// What the `data` attribute holds.
#[derive(Arbitrary, Debug)]
enum Data {
    Missing,
    /// Text as written.
    Text(String),
    /// Bytes gzipped, then base64: reaches the JSON parser behind a valid gzip stream.
    Gzipped(Vec<u8>),
    /// Bytes base64-encoded as they are: reaches the gzip reader with any stream.
    Base64(Vec<u8>),
    /// A run of one byte, gzipped, then base64: a small bomb, past the cap when long.
    Run {
        byte: u8,
        length: u16,
    },
    /// Another type than `S`.
    Number(String),
    Binary(Vec<u8>),
}

/// An attribute of any type, for `compressed`, `ttl` and `created_at`.
#[derive(Arbitrary, Debug)]
enum Attribute {
    Missing,
    Bool(bool),
    Number(String),
    Whole(i64),
    Text(String),
}

/// A raw item of any shape.
#[derive(Arbitrary, Debug)]
pub struct RawItem {
    key: Option<String>,
    data: Data,
    compressed: Attribute,
    ttl: Attribute,
    created_at: Attribute,
    extra: Vec<(String, String)>,
}

/// A typed value, so the decoder also meets type mismatches.
#[derive(Deserialize, Debug)]
#[allow(dead_code)] // Only decoded.
struct Typed {
    name: String,
    count: u64,
    tags: Vec<String>,
}

impl RawItem {
    /// The item's attributes in DynamoDB JSON.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut attributes = Map::new();
        if let Some(key) = &self.key {
            attributes.insert("cache_id".to_owned(), json!({ "S": key }));
        }
        let data = match &self.data {
            Data::Missing => None,
            Data::Text(text) => Some(json!({ "S": text })),
            Data::Gzipped(bytes) => Some(json!({ "S": BASE64.encode(gzip(bytes)) })),
            Data::Base64(bytes) => Some(json!({ "S": BASE64.encode(bytes) })),
            Data::Run { byte, length } => {
                let run = vec![*byte; usize::from(*length)];
                Some(json!({ "S": BASE64.encode(gzip(&run)) }))
            }
            Data::Number(text) => Some(json!({ "N": text })),
            Data::Binary(bytes) => Some(json!({ "B": BASE64.encode(bytes) })),
        };
        if let Some(data) = data {
            attributes.insert("data".to_owned(), data);
        }
        for (name, attribute) in [
            ("compressed", &self.compressed),
            ("ttl", &self.ttl),
            ("created_at", &self.created_at),
        ] {
            let value = match attribute {
                Attribute::Missing => continue,
                Attribute::Bool(flag) => json!({ "BOOL": flag }),
                Attribute::Number(text) => json!({ "N": text }),
                Attribute::Whole(n) => json!({ "N": n.to_string() }),
                Attribute::Text(text) => json!({ "S": text }),
            };
            attributes.insert(name.to_owned(), value);
        }
        for (name, value) in &self.extra {
            attributes
                .entry(name.clone())
                .or_insert_with(|| json!({ "S": value }));
        }
        attributes
    }

    /// A GetItem response body holding the item.
    pub fn get_item_body(&self) -> Vec<u8> {
        json!({ "Item": self.attributes() })
            .to_string()
            .into_bytes()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// What decoding one fuzz input gave.
#[derive(Debug)]
pub struct Decoded {
    /// The item read as any JSON value.
    pub as_json: Result<serde_json::Value, Error>,
    /// The item read as a typed value.
    pub as_typed: Result<(), Error>,
}

/// Decodes the item that `bytes` describe, as JSON and as a typed value. Any outcome but a
/// panic (or an allocation past the cap) is a pass for the fuzzer; the regression test also
/// checks that every error is one a decoder may give. `None` when the bytes are too few to
/// describe an item.
pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    let item = RawItem::arbitrary_take_rest(Unstructured::new(bytes)).ok()?;
    let body = item.get_item_body();
    let as_json = dynamorator::__bench::decode_item_body(&body, MAX_INFLATED);
    let as_typed = dynamorator::__bench::decode_item_body::<Typed>(&body, MAX_INFLATED).map(|_| ());
    Some(Decoded { as_json, as_typed })
}

/// The table the response fuzz input's bodies are read for.
pub const FUZZ_TABLE: &str = "fuzz";

/// Parses `bytes` as a read response body (any of GetItem, BatchGetItem and Scan) for
/// [`FUZZ_TABLE`], as the DynamoDB backend does. Any outcome but a panic is a pass for the
/// fuzzer; the regression test also checks that a body that does not parse is
/// [`Error::Unreachable`] and an item that does not read is [`Error::Corrupt`].
pub fn parse_response(bytes: &[u8]) -> Result<ParsedBody, Error> {
    dynamorator::__bench::parse_response_body(bytes, FUZZ_TABLE)
}
