//! Conditional writes: ordered writes (a value replaces only an older version) and the
//! compare-and-set a typed cache's generation counter is bumped with.

use serde::Serialize;

use super::Store;
use crate::backend::Condition;
use crate::codec::{Codec, Horizons, ItemMeta};
use crate::format::StoredItem;
use crate::format::split::needs_split;
use crate::{Error, Ttl};

/// Ordered writes.
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
    /// An invalid key or value, an item over 400 KB ([`Error::ItemTooLarge`]; with splitting
    /// on, a value past its maximum, [`Error::ValueTooLarge`]), or a store failure. A newer stored
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

    /// Writes an encoded item (with its version) if the stored one is older. An item too
    /// large for one is split: its parts first, then its head if the condition holds (else
    /// the parts are removed).
    pub(crate) async fn put_item_if_older(&self, item: StoredItem) -> Result<bool, Error> {
        if needs_split(&item) {
            return self
                .write_split(item, |head| self.put_item_if(head, Condition::OlderVersion))
                .await;
        }
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
            // Never compressed, so the stored text is the number's compact JSON, which the
            // condition compares.
            let codec = Codec {
                compress: false,
                ..self.codec()
            };
            let item =
                codec.encode_item(key, &next, Horizons::after(now, Ttl::MAX, None, 0), now)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_counter_counts_on_a_store_that_compresses_everything() {
        let store = Store::builder()
            .embedded()
            .compress(true)
            .compress_threshold(0)
            .build()
            .await
            .unwrap();
        assert_eq!(store.increment("n").await.unwrap(), 1);
        assert_eq!(store.increment("n").await.unwrap(), 2);
        assert_eq!(store.get::<u64>("n").await.unwrap(), Some(2));
    }

    #[tokio::test]
    async fn an_older_version_never_replaces_a_newer_one() {
        let store = Store::embedded();
        let ttl = Ttl::hours(1);
        assert!(store.put_versioned("k", &"v5", ttl, 5).await.unwrap());
        assert!(!store.put_versioned("k", &"v5 again", ttl, 5).await.unwrap());
        assert!(!store.put_versioned("k", &"v4", ttl, 4).await.unwrap());
        assert!(store.put_versioned("k", &"v6", ttl, 6).await.unwrap());
        assert_eq!(
            store.get::<String>("k").await.unwrap().as_deref(),
            Some("v6")
        );
        // An unversioned value (a plain put) is older than any version.
        store.put("plain", &"p", ttl).await.unwrap();
        assert!(store.put_versioned("plain", &"v1", ttl, 1).await.unwrap());
    }
}
