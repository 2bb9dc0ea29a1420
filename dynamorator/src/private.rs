//! What `#[derive(Cached)]` expands to reaches the crate through here. Not public API.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::dynamodb::item_from_attributes;
use crate::backend::item::StoredItem;
use crate::codec::Codec;
use crate::{Error, Ttl};

/// The bounds a cached value needs, in one name for the generated `where` clause.
pub trait CacheValue: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> CacheValue for T {}

/// A TTL of `secs` seconds in a `const`, so a value out of range is a compile error raised
/// by [`Ttl`]'s own check: the derive and the runtime share one limit.
pub const fn ttl_secs(secs: u64) -> Ttl {
    Ttl::secs(secs)
}

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
    };
    Codec::default().decode(&item)
}

/// Decodes raw DynamoDB attributes as a stored value, as every read path does (attribute
/// checks, base64, capped gunzip, JSON): for the fuzz target. `max_inflated` caps inflation.
pub fn decode_attributes<V: DeserializeOwned>(
    attributes: HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    max_inflated: usize,
) -> Result<V, Error> {
    let item = item_from_attributes(attributes).map_err(|unreadable| unreadable.1)?;
    let codec = Codec {
        max_inflated,
        ..Codec::default()
    };
    codec.decode(&item)
}
