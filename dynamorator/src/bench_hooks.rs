//! Entry points for the workspace's codec benchmarks and fuzz target, behind the hidden
//! `__bench-hooks` feature. Not public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backend::item::StoredItem;
use crate::codec::Codec;

/// Encodes a value as the `data` attribute (and whether it is compressed); with `compress`,
/// whatever its size: for the codec benchmarks.
pub fn encode_data<V: Serialize + ?Sized>(
    value: &V,
    compress: bool,
) -> Result<(String, bool), Error> {
    let codec = Codec {
        compress,
        threshold: 0,
        ..Codec::default()
    };
    codec.encode(value).map(|e| (e.data, e.compressed))
}

/// Decodes a `data` attribute: for the codec benchmarks.
pub fn decode_data<V: DeserializeOwned>(data: String, compressed: bool) -> Result<V, Error> {
    let item = StoredItem {
        key: "k".to_owned(),
        data,
        compressed,
        expires_at: i64::MAX,
        created_at: None,
        fresh_until: None,
        generation: None,
        version: None,
    };
    Codec::default().decode(&item)
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
