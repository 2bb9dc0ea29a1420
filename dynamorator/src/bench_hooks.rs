//! Entry points for the workspace's codec benchmarks and fuzz target, behind the hidden
//! `__bench-hooks` feature. Not public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backend::item::StoredItem;
use crate::codec::Codec;

/// A form to encode values in, for the codec benchmarks.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// Plain JSON text in `data`.
    Json,
    /// Gzip + base64 in `data`.
    Gzip,
    /// zstd at this level in `zstd`.
    Zstd(i32),
}

/// An encoded value, as an item under the key `k`.
#[derive(Debug, Clone)]
pub struct Encoded(StoredItem);

impl Encoded {
    /// The item's size as DynamoDB counts it (attribute names and values, `cache_id` and
    /// `ttl` included; no `created_at`).
    pub fn stored_bytes(&self) -> usize {
        self.0.encoded_size()
    }
}

/// Encodes a value in `form`, whatever its size (threshold 0): for the codec benchmarks.
pub fn encode<V: Serialize + ?Sized>(value: &V, form: Form) -> Result<Encoded, Error> {
    let mut codec = Codec {
        compress: !matches!(form, Form::Json),
        threshold: 0,
        ..Codec::default()
    };
    if let Form::Zstd(level) = form {
        codec.set_zstd_level(level);
    }
    let payload = codec.encode(value)?;
    Ok(Encoded(StoredItem {
        key: "k".to_owned(),
        payload,
        expires_at: 1_900_000_000,
        created_at: None,
        fresh_until: None,
        generation: None,
        version: None,
    }))
}

/// Decodes an encoded value, whatever its form: for the codec benchmarks.
pub fn decode<V: DeserializeOwned>(encoded: &Encoded) -> Result<V, Error> {
    Codec::default().decode(&encoded.0)
}

/// Decodes raw DynamoDB attributes as a stored value, as every read path does (attribute
/// checks, base64, capped gunzip, JSON): for the fuzz target. `max_inflated` caps inflation.
#[cfg(feature = "dynamodb")]
pub fn decode_attributes<V: DeserializeOwned>(
    attributes: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    max_inflated: usize,
) -> Result<V, Error> {
    let item = crate::backend::dynamodb::item_from_attributes(attributes)
        .map_err(|unreadable| unreadable.1)?
        .ok_or(Error::corrupt(
            "",
            crate::CorruptReason::MissingAttribute("data"),
        ))?;
    let codec = Codec {
        max_inflated,
        ..Codec::default()
    };
    codec.decode(&item)
}
