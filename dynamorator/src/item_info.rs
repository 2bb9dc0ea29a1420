//! [`ItemInfo`]: what is known about a stored item without decoding its value.

use crate::Error;
use crate::key::validate_key;
use crate::store::Store;

/// The stored form of an item: sizes, compression and times, not its value.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
///
/// let store = Store::builder().embedded().compress(true).compress_threshold(10).build().await?;
/// store.try_put("k", &"a value longer than ten bytes", Ttl::hours(1.0)).await?;
/// let info = store.try_item_info("k").await?.unwrap();
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
    /// Whether it has expired (DynamoDB may not have deleted it yet).
    pub expired: bool,
}

impl Store {
    /// Describes the item under `key` as stored, expired or not; `Ok(None)` when absent.
    ///
    /// # Errors
    ///
    /// An invalid key, a DynamoDB failure, or an item not in the table format.
    pub async fn try_item_info(&self, key: &str) -> Result<Option<ItemInfo>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(None);
        };
        validate_key(key)?;
        let now = crate::ttl::now_epoch_secs();
        Ok(backend.get(key).await?.map(|item| ItemInfo {
            compressed: item.compressed,
            size: item.encoded_size(),
            expires_at: item.expires_at,
            created_at: item.created_at,
            expired: crate::ttl::is_expired(item.expires_at, now),
        }))
    }
}
