//! Conditional writes: ordered writes (a value replaces only an older version) and the
//! compare-and-set a typed cache's generation counter is bumped with.

use serde::Serialize;

use super::Store;
use crate::backend::Condition;
use crate::backend::item::StoredItem;
use crate::codec::{Horizons, ItemMeta};
use crate::{Error, Ttl};

impl Store {
    /// Stores `value` under `key` only if the stored item is older: it has no version, or a
    /// lower one than `version`. Returns whether it was written. So a slow writer cannot put
    /// back an older value over a newer one (use a source's version or timestamp).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    /// let store = Store::embedded();
    /// assert!(store.put_versioned("price", &12, Ttl::hours(1), 2).await?);
    /// // A late writer with version 1 does not replace version 2.
    /// assert!(!store.put_versioned("price", &10, Ttl::hours(1), 1).await?);
    /// assert_eq!(store.get::<u32>("price").await?, Some(12));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key or value, an item over 400 KB, or a store failure. A newer stored
    /// version is `Ok(false)`, not an error.
    #[must_use = "whether the value was written, or why it could not be"]
    pub async fn put_versioned<V>(
        &self,
        key: &str,
        value: &V,
        ttl: Ttl,
        version: u64,
    ) -> Result<bool, Error>
    where
        V: Serialize + ?Sized,
    {
        if !self.is_enabled() {
            return Ok(true);
        }
        let now = self.now();
        let meta = ItemMeta {
            horizons: Horizons::after(now, ttl, None, 0),
            generation: None,
            version: Some(version),
        };
        let item = self.codec().encode_item(key, value, meta, now)?;
        self.put_item_if_older(item).await
    }

    /// Writes an encoded item (with its version) if the stored one is older.
    pub(crate) async fn put_item_if_older(&self, item: StoredItem) -> Result<bool, Error> {
        self.put_item_if(item, Condition::OlderVersion).await
    }

    /// Writes an encoded item if the stored one meets `condition`.
    async fn put_item_if(&self, item: StoredItem, condition: Condition) -> Result<bool, Error> {
        let Some(backend) = self.backend() else {
            return Ok(true);
        };
        backend.put_if(item, condition).await
    }

    /// Adds one to the counter stored as a JSON number under `key` (0 when absent), with a
    /// compare-and-set that retries when another writer got there first. Returns the new
    /// value. The counter is an ordinary item (its `data` is the number), so every reader,
    /// the Python package included, can read it.
    pub(crate) async fn increment(&self, key: &str) -> Result<u64, Error> {
        if !self.is_enabled() {
            return Ok(0);
        }
        // Each failed round means another writer incremented it: bounded by the writers.
        for _ in 0..64 {
            let current = self.get::<u64>(key).await?;
            let next = current.unwrap_or(0).saturating_add(1);
            let now = self.now();
            let item = self.codec().encode_item(
                key,
                &next,
                Horizons::after(now, Ttl::MAX, None, 0),
                now,
            )?;
            // The stored text is what this crate writes for the number: compact JSON.
            let expected = current.map(|n| n.to_string());
            if self.put_item_if(item, Condition::DataIs(expected)).await? {
                return Ok(next);
            }
        }
        Err(Error::Unprocessed {
            operation: "PutItem",
            attempts: 64,
        })
    }
}
