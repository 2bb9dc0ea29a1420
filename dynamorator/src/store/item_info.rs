//! [`ItemInfo`]: what is known about a stored item without decoding its value.

use super::Store;
use crate::Error;
use crate::codec::validate_key;
use crate::format::{JoinedForm, Payload, StoredItem};
use crate::ttl::is_expired;

/// The stored form of an item: sizes, compression and times, not its value.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
///
/// let store = Store::builder().embedded().compress(true).compress_threshold(10).build().await?;
/// store.put("k", &"a value longer than ten bytes", Ttl::hours(1)).await?;
/// let info = store.item_info("k").await?.expect("just written");
/// assert!(info.compressed);
/// assert_eq!(info.encoding, dynamorator::Encoding::Gzip);
/// assert_eq!(info.expires_at - info.created_at.unwrap(), 3600);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemInfo {
    /// Whether the value is compressed (gzip + base64, or zstd).
    pub compressed: bool,
    /// How the value is stored: plain JSON, gzip + base64, or zstd (of a split value: its
    /// joined bytes).
    pub encoding: Encoding,
    /// The item's size as DynamoDB counts it, in bytes; of a split value, its head's and
    /// every part's.
    pub size: usize,
    /// Of a value past the item limit, split (README, "Values past 400 KB"): how many parts
    /// hold it. `None` for a value in one item.
    pub parts: Option<u32>,
    /// The `ttl` attribute: epoch seconds after which the item is a miss.
    pub expires_at: i64,
    /// The `created_at` attribute, when present.
    pub created_at: Option<i64>,
    /// The `fresh_until` attribute, when present: epoch seconds after which the item is stale
    /// (the Python package neither writes nor reads it).
    pub fresh_until: Option<i64>,
    /// Whether it has expired (DynamoDB may not have deleted it yet).
    pub expired: bool,
}

/// How an item's value is stored, each form in its own attributes (README, "Table format").
///
/// A table may hold every form at once; reads tell them apart item by item, whatever the
/// reader's settings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Encoding, Store, Ttl};
///
/// let store = Store::builder().embedded().zstd(true).compress_threshold(0).build().await?;
/// store.put("k", &[1, 2, 3], Ttl::hours(1)).await?;
/// assert_eq!(store.item_info("k").await?.map(|info| info.encoding), Some(Encoding::Zstd));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `data` (S): the JSON text. The Python package's plain form.
    Json,
    /// `data` (S) and `compressed` (BOOL, true): standard base64 of the gzip of the JSON
    /// text. The Python package's compressed form.
    Gzip,
    /// `zstd` (B), and no `data`: the zstd frame of the JSON text. This crate's own form: the
    /// Python package 0.1.7 reads such an item as a miss.
    Zstd,
}

impl Encoding {
    fn of(payload: &Payload) -> Encoding {
        match payload {
            Payload::Json(_) | Payload::Part(_) => Encoding::Json,
            Payload::Gzip(_) => Encoding::Gzip,
            Payload::Zstd(_) => Encoding::Zstd,
            Payload::Head(head) => match head.form {
                JoinedForm::Json => Encoding::Json,
                JoinedForm::Gzip => Encoding::Gzip,
                JoinedForm::Zstd => Encoding::Zstd,
            },
        }
    }

    /// A short lowercase name: `json`, `gzip` or `zstd`.
    ///
    /// ```
    /// assert_eq!(dynamorator::Encoding::Zstd.name(), "zstd");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }
}

/// Inspecting a stored item.
impl Store {
    /// Describes the item under `key` as stored, expired or not; `Ok(None)` when absent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).compress_threshold(10).build().await?;
    /// store.put("report", &"x".repeat(1_000), Ttl::days(1)).await?;
    /// let info = store.item_info("report").await?.expect("stored");
    /// assert!(info.compressed && info.size < 1_000 && !info.expired);
    /// assert!(store.item_info("absent").await?.is_none());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, a DynamoDB failure, or an item not in the table format. A split value
    /// is described from its head, without reading its parts; a part of one is no value, and
    /// `Ok(None)`.
    #[must_use = "the item's description, or why it could not be read"]
    pub async fn item_info(&self, key: &str) -> Result<Option<ItemInfo>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(None);
        };
        validate_key(key)?;
        let now = self.now();
        Ok(backend
            .get(key)
            .await?
            .filter(|item| item.payload.is_value())
            .map(|item| ItemInfo::of(&item, now)))
    }
}

impl ItemInfo {
    /// What `item` looks like at `now` (epoch seconds).
    pub(crate) fn of(item: &StoredItem, now: i64) -> ItemInfo {
        let parts = match &item.payload {
            Payload::Head(head) => Some(head.parts),
            _ => None,
        };
        ItemInfo {
            compressed: item.payload.is_compressed(),
            encoding: Encoding::of(&item.payload),
            size: item.stored_size(),
            parts,
            expires_at: item.expires_at,
            created_at: item.created_at,
            fresh_until: item.fresh_until,
            expired: is_expired(item.expires_at, now),
        }
    }
}
