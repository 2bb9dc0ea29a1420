//! The fuzz inputs of the read path, shared by the fuzz targets (`fuzz/`) and the regression
//! tests that replay what the fuzzers found (`tests/fuzz_regressions.rs`):
//!
//! - [`decode`]: bytes → a raw DynamoDB item of any shape (every form: `data` plain or gzip +
//!   base64, `zstd`, a split value's head with its parts, tampered with or not), in GetItem
//!   response bodies, decoded the way every read path decodes;
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

/// A raw DynamoDB item in DynamoDB JSON: attribute names and typed values.
pub type Item = Map<String, Value>;

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
    /// The item's attributes in DynamoDB JSON.
    pub fn attributes(&self) -> Item {
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
            Data::Binary(bytes) => Some(binary(bytes)),
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
                attributes.insert("zstd".to_owned(), json!({ "S": text }));
                None
            }
        };
        if let Some(frame) = zstd {
            attributes.insert("zstd".to_owned(), binary(&frame));
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
                .or_insert_with(|| json!({ "S": value }));
        }
        attributes
    }

    /// The item's attributes, with a split value's head in them when there is one, and the
    /// split value's parts.
    pub fn stored(&self) -> (Item, Vec<Item>) {
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

    /// GetItem response bodies: the item's, then its parts'.
    pub fn get_item_bodies(&self) -> (Vec<u8>, Vec<Vec<u8>>) {
        let (item, parts) = self.stored();
        let body = |item: Item| json!({ "Item": item }).to_string().into_bytes();
        (body(item), parts.into_iter().map(body).collect())
    }
}

impl Attribute {
    fn value(&self) -> Option<Value> {
        Some(match self {
            Attribute::Missing => return None,
            Attribute::Bool(flag) => json!({ "BOOL": flag }),
            Attribute::Number(text) => json!({ "N": text }),
            Attribute::Whole(n) => json!({ "N": n.to_string() }),
            Attribute::Text(text) => json!({ "S": text }),
        })
    }
}

impl RawSplit {
    /// The head's attributes (added to the item's) and the parts' items, keyed as a reader
    /// looks for them.
    fn head_and_parts(&self, key: &str) -> (Vec<(&'static str, Value)>, Vec<Item>) {
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
            None => Some(json!({ "N": exact.to_string() })),
        };
        let mut head = vec![
            ("parts_id", json!({ "S": WRITE_ID })),
            ("parts_sha256", json!({ "S": checksum })),
            ("parts_form", json!({ "S": form })),
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
                        json!({ "S": String::from_utf8_lossy(piece) })
                    }
                    _ => binary(piece),
                };
                let part = json!({
                    "cache_id": { "S": format!("{key}#part#{WRITE_ID}#{index}") },
                    "ttl": { "N": "1900000000" },
                    "part": value,
                    "part_of": { "S": write_id },
                    "part_index": { "N": named_index.to_string() },
                });
                match part {
                    Value::Object(attributes) => attributes,
                    _ => Map::new(),
                }
            })
            .collect();
        (head, parts)
    }
}

/// A binary (`B`) attribute: its bytes in base64, as DynamoDB's JSON carries them.
fn binary(bytes: &[u8]) -> Value {
    json!({ "B": BASE64.encode(bytes) })
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
    let (body, parts) = item.get_item_bodies();
    let as_json = dynamorator::__bench::decode_item_body(&body, &parts, MAX_INFLATED);
    let as_typed =
        dynamorator::__bench::decode_item_body::<Typed>(&body, &parts, MAX_INFLATED).map(|_| ());
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
