//! Entry points for the workspace's codec benchmarks, fuzz target and split-value tests, behind
//! the hidden `__bench-hooks` feature. Not public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::item::{MAX_PARTS, Payload, StoredItem, part_key};
use crate::codec::Codec;
use crate::{Error, Store};

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

/// Raw DynamoDB attributes.
#[cfg(feature = "dynamodb")]
type Attributes = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Decodes raw DynamoDB attributes as a stored value, as every read path does (attribute
/// checks, base64, capped gunzip or zstd, JSON; a split value's head checked, its `parts`
/// found among `parts` by key, checked and joined): for the fuzz target. `max_inflated` caps
/// inflation and a split value's length. A missing part is an error here (a miss to a store).
#[cfg(feature = "dynamodb")]
pub fn decode_attributes<V: DeserializeOwned>(
    attributes: Attributes,
    parts: Vec<Attributes>,
    max_inflated: usize,
) -> Result<V, Error> {
    use crate::CorruptReason;
    use crate::backend::dynamodb::item_from_attributes;
    use crate::store::{Joining, join, part_keys};

    let item = item_from_attributes(attributes)
        .map_err(|unreadable| unreadable.1)?
        .ok_or(Error::corrupt("", CorruptReason::MissingAttribute("data")))?;
    let codec = Codec {
        max_inflated,
        ..Codec::default()
    };
    let Payload::Head(head) = &item.payload else {
        return codec.decode(&item);
    };
    let keys = part_keys(&item.key, head, max_inflated)?;
    let mut fetched = std::collections::HashMap::new();
    for part in parts {
        match item_from_attributes(part) {
            Ok(Some(part)) => {
                fetched.insert(part.key.clone(), Ok(part));
            }
            Ok(None) => {}
            Err(unreadable) => {
                let (key, error) = *unreadable;
                fetched.insert(key, Err(error));
            }
        }
    }
    match join(&item.key, head, &keys, &mut fetched)? {
        Joining::Joined(joined) => codec.decode_joined(&item.key, &joined),
        Joining::Missing { .. } => Err(Error::corrupt(
            &item.key,
            CorruptReason::Split("a part is missing"),
        )),
    }
}

/// The keys of the parts of the split value under `key`, as its head names them (`None` when
/// no split value is there): for the split-value tests, which check parts are removed.
pub async fn part_keys(store: &Store, key: &str) -> Result<Option<Vec<String>>, Error> {
    let Some(backend) = store.backend() else {
        return Ok(None);
    };
    Ok(backend.get(key).await?.and_then(|item| match item.payload {
        Payload::Head(head) => Some(
            (0..head.parts.min(MAX_PARTS))
                .map(|index| part_key(key, &head.write_id, index))
                .collect(),
        ),
        _ => None,
    }))
}

/// Whether an item of any kind (a part included) is under `key`: for the split-value tests.
pub async fn is_stored(store: &Store, key: &str) -> Result<bool, Error> {
    match store.backend() {
        Some(backend) => Ok(backend.get(key).await?.is_some()),
        None => Ok(false),
    }
}
