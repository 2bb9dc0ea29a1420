//! [`ItemInfo`]: what is known about a stored item without decoding its value.

use super::Store;
use crate::Error;
use crate::backend::item::StoredItem;
use crate::codec::validate_key;
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
/// assert_eq!(info.expires_at - info.created_at.unwrap(), 3600);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemInfo {
    /// Whether `data` is gzip + base64.
    pub compressed: bool,
    /// The item's size as DynamoDB counts it, in bytes.
    pub size: usize,
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
    /// An invalid key, a DynamoDB failure, or an item not in the table format.
    #[must_use = "the item's description, or why it could not be read"]
    pub async fn item_info(&self, key: &str) -> Result<Option<ItemInfo>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(None);
        };
        validate_key(key)?;
        let now = self.now();
        Ok(backend.get(key).await?.map(|item| ItemInfo::of(&item, now)))
    }
}

impl ItemInfo {
    /// What `item` looks like at `now` (epoch seconds).
    pub(crate) fn of(item: &StoredItem, now: i64) -> ItemInfo {
        ItemInfo {
            compressed: item.compressed,
            size: item.encoded_size(),
            expires_at: item.expires_at,
            created_at: item.created_at,
            fresh_until: item.fresh_until,
            expired: is_expired(item.expires_at, now),
        }
    }
}
