//! Entry points for the workspace's codec benchmarks, fuzz target and split-value tests, and
//! the sizes the soak benchmark samples ([`EngineSizes`]), behind the hidden `__bench-hooks`
//! feature. Not public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::format::{Payload, StoredItem};
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

/// Decodes the item of a GetItem response body (DynamoDB JSON) as a stored value, as every
/// read path does (the body parser, attribute checks, base64, capped gunzip or zstd, JSON; a
/// split value's head checked, its parts found among the GetItem bodies `parts` by key,
/// checked and joined): for the fuzz target. `max_inflated` caps inflation and a split value's
/// length. An item without a value is a missing attribute; a missing part is an error here (a
/// miss to a store).
#[cfg(feature = "dynamodb")]
pub fn decode_item_body<V: DeserializeOwned>(
    body: &[u8],
    parts: &[Vec<u8>],
    max_inflated: usize,
) -> Result<V, Error> {
    use crate::CorruptReason;
    use crate::format::split::{Joining, join, part_keys, take_parts};

    let missing_data = || Error::corrupt("", CorruptReason::MissingAttribute("data"));
    let item = read_item_body(body)?.ok_or_else(missing_data)?;
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
        let response = crate::backend::dynamodb::parse_body("GetItem", Some(part), "")?;
        match response.item.map(|part| part.into_item()) {
            Some(Ok(Some(part))) => {
                fetched.insert(part.key.clone(), Ok(part));
            }
            Some(Ok(None)) | None => {}
            Some(Err(unreadable)) => {
                let (key, error) = *unreadable;
                fetched.insert(key, Err(error));
            }
        }
    }
    match join(&item.key, head, take_parts(&keys, &mut fetched))? {
        Joining::Joined(joined) => codec.decode_joined(&item.key, &joined),
        Joining::Missing { .. } => Err(Error::corrupt(
            &item.key,
            CorruptReason::Split("a part is missing"),
        )),
    }
}

/// The item of a GetItem response body: `Ok(None)` when there is none or it holds no value.
#[cfg(feature = "dynamodb")]
fn read_item_body(body: &[u8]) -> Result<Option<StoredItem>, Error> {
    let response = crate::backend::dynamodb::parse_body("GetItem", Some(body), "")?;
    match response.item {
        Some(item) => item.into_item().map_err(|unreadable| unreadable.1),
        None => Ok(None),
    }
}

/// The keys of the parts of the split value under `key`, as its head names them (`None` when
/// no split value is there): for the split-value tests, which check parts are removed.
pub async fn part_keys(store: &Store, key: &str) -> Result<Option<Vec<String>>, Error> {
    let Some(backend) = store.backend() else {
        return Ok(None);
    };
    Ok(backend.get(key).await?.and_then(|item| match item.payload {
        Payload::Head(head) => head.part_keys(key),
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

/// One item as the DynamoDB backend read it from a response body.
#[cfg(feature = "dynamodb")]
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ParsedItem {
    pub key: String,
    /// `data` (empty for a zstd item).
    pub data: String,
    /// Gzip or zstd.
    pub compressed: bool,
    /// The `zstd` frame, for a zstd item.
    pub zstd: Option<Vec<u8>>,
    /// The part count, for a split value's head.
    pub parts: Option<u32>,
    /// The place, for a part of a split value.
    pub part_index: Option<u32>,
    pub expires_at: i64,
    pub created_at: Option<i64>,
    pub fresh_until: Option<i64>,
    pub generation: Option<u64>,
    pub version: Option<u64>,
}

#[cfg(feature = "dynamodb")]
impl From<StoredItem> for ParsedItem {
    fn from(item: StoredItem) -> Self {
        let (mut data, mut compressed, mut zstd) = (String::new(), false, None);
        let (mut parts, mut part_index) = (None, None);
        match item.payload {
            Payload::Json(text) => data = text,
            Payload::Gzip(text) => (data, compressed) = (text, true),
            Payload::Zstd(frame) => (zstd, compressed) = (Some(frame), true),
            Payload::Head(head) => parts = Some(head.parts),
            Payload::Part(part) => part_index = Some(part.index),
        }
        ParsedItem {
            key: item.key,
            data,
            compressed,
            zstd,
            parts,
            part_index,
            expires_at: item.expires_at,
            created_at: item.created_at,
            fresh_until: item.fresh_until,
            generation: item.generation,
            version: item.version,
        }
    }
}

/// A read response body as the DynamoDB backend parses it for `table`: each item read
/// (`Ok(None)` for an item without `data`), or why it could not be.
#[cfg(feature = "dynamodb")]
#[derive(Debug)]
#[allow(missing_docs)]
pub struct ParsedBody {
    /// GetItem's `Item`.
    pub item: Option<Result<Option<ParsedItem>, Error>>,
    /// Scan's `Items`, or BatchGetItem's `Responses` of the table.
    pub items: Vec<Result<Option<ParsedItem>, Error>>,
    /// The keys of BatchGetItem's `UnprocessedKeys` (`None` for one without a string key).
    pub unprocessed_keys: Vec<Option<String>>,
    /// Scan's `LastEvaluatedKey`'s key.
    pub last_evaluated_key: Option<Option<String>>,
    /// `ConsumedCapacity` entries: table and units.
    pub consumed: Vec<(Option<String>, Option<f64>)>,
}

/// Parses a read response body as the DynamoDB backend does: for the parser's fuzz target and
/// its tests on bodies captured from real servers.
#[cfg(feature = "dynamodb")]
pub fn parse_response_body(body: &[u8], table: &str) -> Result<ParsedBody, Error> {
    use crate::backend::Unreadable;
    let read = |item: Result<Option<StoredItem>, Unreadable>| {
        item.map(|found| found.map(ParsedItem::from))
            .map_err(|unreadable| unreadable.1)
    };
    let response = crate::backend::dynamodb::parse_body("BatchGetItem", Some(body), table)?;
    Ok(ParsedBody {
        item: response.item.map(|item| read(item.into_item())),
        items: response
            .items
            .into_iter()
            .map(|item| read(item.into_item()))
            .collect(),
        unprocessed_keys: response
            .unprocessed_keys
            .into_iter()
            .map(|key| key.into_key())
            .collect(),
        last_evaluated_key: response.last_evaluated_key.map(|key| key.into_key()),
        consumed: response
            .consumed
            .into_iter()
            .map(|c| (c.table.map(|t| t.into_owned()), c.units))
            .collect(),
    })
}

/// One BatchGetItem of `keys` on `table`, sent as the DynamoDB backend sends it (the library's
/// request body, its parser); the number of items read: for the batch-read benchmark.
#[cfg(feature = "dynamodb")]
pub async fn batch_get_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: &[String],
) -> Result<usize, Error> {
    use crate::backend::Backend;
    let backend =
        crate::backend::dynamodb::DynamoDbBackend::new(client.clone(), table.to_owned(), false);
    Ok(backend.batch_get(keys).await?.items.len())
}

/// How many entries each per-key map of a [`Cache`](crate::Cache) holds, from
/// `Cache::__engine_sizes`: what the soak benchmark (`scripts/soak`) samples to show that none
/// grows without bound.
///
/// Leases have no map: on DynamoDB a lease is a conditional write on the key's item, and this
/// process keeps nothing of it in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineSizes {
    /// Keys with a single-key read-through load in flight (the loads' coalescer).
    pub loads: usize,
    /// Keys with a store read in flight through the L1 (the L1's read coalescer).
    pub l1_reads: usize,
    /// Keys held by batch read-through calls (the batch claims).
    pub claims: usize,
    /// Keys being refreshed or loaded in the background.
    pub refreshing: usize,
    /// Keys paused after a failed load, lapsed pauses included until they are dropped.
    pub paused: usize,
    /// Of those, the keys still paused now.
    pub paused_in_force: usize,
    /// Stale keys waiting in the open batch refresh window.
    pub refresh_window: usize,
    /// Background tasks (refreshes, loads past a soft timeout, window timers) running or
    /// waiting to start.
    pub background: usize,
    /// Entries in the L1 (values and remembered misses); 0 without one.
    pub l1_entries: u64,
}
