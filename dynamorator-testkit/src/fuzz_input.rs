//! The item decoder's fuzz input: bytes → a raw DynamoDB item of any shape (every form: `data`
//! plain or gzip + base64, `zstd`, a split value's head with its parts, tampered with or not),
//! decoded the way every read path decodes. Shared by the fuzz target (`fuzz/`) and the regression test that
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

/// The form a split value's head names.
#[derive(Arbitrary, Debug)]
enum SplitForm {
    Json,
    Gzip,
    Zstd,
    /// A name no reader knows.
    Other(String),
}

/// What is done to a split value's parts before they are read.
#[derive(Arbitrary, Debug)]
enum Tamper {
    Nothing,
    /// Part `n` (modulo the count) is not stored.
    Drop(u8),
    /// Part `n` names another write.
    OtherWrite(u8),
    /// Part `n` names another place.
    OtherIndex(u8, u32),
    /// Part `n` holds text, not bytes.
    NotBinary(u8),
    /// The head's checksum is of something else.
    Checksum,
}

/// A split value: a head naming its parts and the parts themselves, cut from the value's
/// bytes, then tampered with; the head's count and length as given, or the true ones.
#[derive(Arbitrary, Debug)]
struct RawSplit {
    form: SplitForm,
    /// The value's JSON text (compressed in the head's form).
    text: Vec<u8>,
    /// The lengths of the parts, in turn; the last part takes the rest.
    cuts: Vec<u16>,
    parts: Option<Attribute>,
    len: Option<Attribute>,
    tamper: Tamper,
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
    split: Option<RawSplit>,
    extra: Vec<(String, String)>,
}

/// A raw DynamoDB item: attribute names and values.
pub type Item = HashMap<String, AttributeValue>;

/// The write id of the split values the fuzzer makes.
const WRITE_ID: &str = "0123456789abcdef0123456789abcdef";

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
            if let Some(value) = attribute.value() {
                attributes.insert(name.to_owned(), value);
            }
        }
        for (name, value) in &self.extra {
            attributes
                .entry(name.clone())
                .or_insert_with(|| AttributeValue::S(value.clone()));
        }
        attributes
    }

    /// The item's attributes, with a split value's head in them when there is one, and the
    /// split value's parts.
    pub fn stored(
        &self,
    ) -> (
        HashMap<String, AttributeValue>,
        Vec<HashMap<String, AttributeValue>>,
    ) {
        let mut attributes = self.attributes();
        let Some(split) = &self.split else {
            return (attributes, Vec::new());
        };
        let key = self.key.clone().unwrap_or_default();
        let (head, parts) = split.head_and_parts(&key);
        for (name, value) in head {
            attributes.insert(name.to_owned(), value);
        }
        (attributes, parts)
    }
}

impl Attribute {
    fn value(&self) -> Option<AttributeValue> {
        Some(match self {
            Attribute::Missing => return None,
            Attribute::Bool(flag) => AttributeValue::Bool(*flag),
            Attribute::Number(text) => AttributeValue::N(text.clone()),
            Attribute::Whole(n) => AttributeValue::N(n.to_string()),
            Attribute::Text(text) => AttributeValue::S(text.clone()),
        })
    }
}

impl RawSplit {
    /// The head's attributes (added to the item's) and the parts' items, keyed as a reader
    /// looks for them.
    fn head_and_parts(&self, key: &str) -> (Vec<(&'static str, AttributeValue)>, Vec<Item>) {
        let (form, bytes) = match &self.form {
            SplitForm::Json => ("json".to_owned(), self.text.clone()),
            SplitForm::Gzip => ("gzip".to_owned(), gzip(&self.text)),
            SplitForm::Zstd => ("zstd".to_owned(), zstd_frame(&self.text, true)),
            SplitForm::Other(name) => (name.clone(), self.text.clone()),
        };
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut rest = bytes.as_slice();
        for cut in &self.cuts {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(usize::from(*cut).clamp(1, rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        if !rest.is_empty() || pieces.is_empty() {
            pieces.push(rest);
        }
        let count = pieces.len();
        let chosen = |n: u8| usize::from(n) % count;
        let checksum = match self.tamper {
            Tamper::Checksum => sha256_hex(b"something else"),
            _ => sha256_hex(&bytes),
        };
        let number = |attribute: &Option<Attribute>, exact: usize| match attribute {
            Some(attribute) => attribute.value(),
            None => Some(AttributeValue::N(exact.to_string())),
        };
        let mut head = vec![
            ("parts_id", AttributeValue::S(WRITE_ID.to_owned())),
            ("parts_sha256", AttributeValue::S(checksum)),
            ("parts_form", AttributeValue::S(form)),
        ];
        head.extend(number(&self.parts, count).map(|n| ("parts", n)));
        head.extend(number(&self.len, bytes.len()).map(|n| ("parts_len", n)));
        let parts = (0u32..)
            .zip(&pieces)
            .filter(|(index, _)| !matches!(self.tamper, Tamper::Drop(n) if chosen(n) == *index as usize))
            .map(|(index, piece)| {
                let this = |n: u8| chosen(n) == index as usize;
                let write_id = match self.tamper {
                    Tamper::OtherWrite(n) if this(n) => "ffffffffffffffffffffffffffffffff",
                    _ => WRITE_ID,
                };
                let named_index = match self.tamper {
                    Tamper::OtherIndex(n, other) if this(n) => other,
                    _ => index,
                };
                let value = match self.tamper {
                    Tamper::NotBinary(n) if this(n) => {
                        AttributeValue::S(String::from_utf8_lossy(piece).into_owned())
                    }
                    _ => AttributeValue::B(Blob::new(piece.to_vec())),
                };
                HashMap::from([
                    (
                        "cache_id".to_owned(),
                        AttributeValue::S(format!("{key}#part#{WRITE_ID}#{index}")),
                    ),
                    ("ttl".to_owned(), AttributeValue::N("1900000000".to_owned())),
                    ("part".to_owned(), value),
                    ("part_of".to_owned(), AttributeValue::S(write_id.to_owned())),
                    (
                        "part_index".to_owned(),
                        AttributeValue::N(named_index.to_string()),
                    ),
                ])
            })
            .collect();
        (head, parts)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
    let (attributes, parts) = item.stored();
    let as_json =
        dynamorator::__bench::decode_attributes(attributes.clone(), parts.clone(), MAX_INFLATED);
    let as_typed =
        dynamorator::__bench::decode_attributes::<Typed>(attributes, parts, MAX_INFLATED)
            .map(|_| ());
    Some(Decoded { as_json, as_typed })
}
