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

/// Decodes the item of a GetItem response body (DynamoDB JSON) as a stored value, as every
/// read path does (the body parser, attribute checks, base64, capped gunzip, JSON): for the
/// fuzz target. `max_inflated` caps inflation. An item without `data` is a missing attribute.
#[cfg(feature = "dynamodb")]
pub fn decode_item_body<V: DeserializeOwned>(body: &[u8], max_inflated: usize) -> Result<V, Error> {
    let response = crate::backend::dynamodb::parse_body("GetItem", Some(body), "")?;
    let missing_data = || Error::corrupt("", crate::CorruptReason::MissingAttribute("data"));
    let item = response
        .item
        .ok_or_else(missing_data)?
        .into_item()
        .map_err(|unreadable| unreadable.1)?
        .ok_or_else(missing_data)?;
    let codec = Codec {
        max_inflated,
        ..Codec::default()
    };
    codec.decode(&item)
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
    pub expires_at: i64,
    pub created_at: Option<i64>,
    pub fresh_until: Option<i64>,
    pub generation: Option<u64>,
    pub version: Option<u64>,
}

#[cfg(feature = "dynamodb")]
impl From<StoredItem> for ParsedItem {
    fn from(item: StoredItem) -> Self {
        let (data, compressed, zstd) = match item.payload {
            crate::backend::item::Payload::Json(text) => (text, false, None),
            crate::backend::item::Payload::Gzip(text) => (text, true, None),
            crate::backend::item::Payload::Zstd(frame) => (String::new(), true, Some(frame)),
        };
        ParsedItem {
            key: item.key,
            data,
            compressed,
            zstd,
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
