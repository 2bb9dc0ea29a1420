//! The item decoder's fuzz input: bytes → a raw DynamoDB item of any shape (every form: `data`
//! plain or gzip + base64, `zstd`), decoded the way every read path decodes. Shared by the fuzz target (`fuzz/`) and the regression test that
//! replays what the fuzzer found (`tests/fuzz_regressions.rs`).

use std::collections::HashMap;
use std::io::Write;

use arbitrary::{Arbitrary, Unstructured};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dynamorator::Error;
use serde::Deserialize;

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

/// What the `zstd` attribute holds.
#[derive(Arbitrary, Debug)]
enum Zstd {
    Missing,
    /// Bytes in one frame as the crate writes it (size declared, checksum): reaches the JSON
    /// parser behind a valid frame.
    Frame(Vec<u8>),
    /// Bytes as they are: reaches the frame reader with anything.
    Raw(Vec<u8>),
    /// A run of one byte in a frame, its size declared or not: a small bomb, past the cap
    /// when long.
    Run {
        byte: u8,
        length: u16,
        declared: bool,
    },
    /// Another type than `B`.
    Text(String),
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
    zstd: Zstd,
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
    /// The item's DynamoDB attributes.
    pub fn attributes(&self) -> HashMap<String, AttributeValue> {
        let mut attributes = HashMap::new();
        if let Some(key) = &self.key {
            attributes.insert("cache_id".to_owned(), AttributeValue::S(key.clone()));
        }
        let data = match &self.data {
            Data::Missing => None,
            Data::Text(text) => Some(AttributeValue::S(text.clone())),
            Data::Gzipped(bytes) => Some(AttributeValue::S(BASE64.encode(gzip(bytes)))),
            Data::Base64(bytes) => Some(AttributeValue::S(BASE64.encode(bytes))),
            Data::Run { byte, length } => Some(AttributeValue::S(BASE64.encode(gzip(&vec![
                    *byte;
                    usize::from(
                        *length
                    )
                ])))),
            Data::Number(text) => Some(AttributeValue::N(text.clone())),
            Data::Binary(bytes) => Some(AttributeValue::B(Blob::new(bytes.clone()))),
        };
        if let Some(data) = data {
            attributes.insert("data".to_owned(), data);
        }
        let zstd = match &self.zstd {
            Zstd::Missing => None,
            Zstd::Frame(bytes) => Some(zstd_frame(bytes, true)),
            Zstd::Raw(bytes) => Some(bytes.clone()),
            Zstd::Run {
                byte,
                length,
                declared,
            } => Some(zstd_frame(&vec![*byte; usize::from(*length)], *declared)),
            Zstd::Text(text) => {
                attributes.insert("zstd".to_owned(), AttributeValue::S(text.clone()));
                None
            }
        };
        if let Some(frame) = zstd {
            attributes.insert("zstd".to_owned(), AttributeValue::B(Blob::new(frame)));
        }
        for (name, attribute) in [
            ("compressed", &self.compressed),
            ("ttl", &self.ttl),
            ("created_at", &self.created_at),
        ] {
            let value = match attribute {
                Attribute::Missing => continue,
                Attribute::Bool(flag) => AttributeValue::Bool(*flag),
                Attribute::Number(text) => AttributeValue::N(text.clone()),
                Attribute::Whole(n) => AttributeValue::N(n.to_string()),
                Attribute::Text(text) => AttributeValue::S(text.clone()),
            };
            attributes.insert(name.to_owned(), value);
        }
        for (name, value) in &self.extra {
            attributes
                .entry(name.clone())
                .or_insert_with(|| AttributeValue::S(value.clone()));
        }
        attributes
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// One zstd frame of `bytes`, with a checksum, its size in the header or not.
fn zstd_frame(bytes: &[u8], declared: bool) -> Vec<u8> {
    let mut frame = Vec::new();
    let written = zstd::stream::write::Encoder::new(&mut frame, 1).and_then(|mut encoder| {
        encoder.include_checksum(true)?;
        encoder.include_contentsize(declared)?;
        if declared {
            encoder.set_pledged_src_size(Some(bytes.len() as u64))?;
        }
        encoder.write_all(bytes)?;
        encoder.finish().map(|_| ())
    });
    // Writing into a Vec does not fail; were it to, the empty frame is one more input.
    if written.is_err() {
        frame.clear();
    }
    frame
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
    let attributes = item.attributes();
    let as_json = dynamorator::__bench::decode_attributes(attributes.clone(), MAX_INFLATED);
    let as_typed =
        dynamorator::__bench::decode_attributes::<Typed>(attributes, MAX_INFLATED).map(|_| ());
    Some(Decoded { as_json, as_typed })
}
