//! Conditional writes: ordered writes (a value replaces only an older version) and the
//! compare-and-set a typed cache's generation counter is bumped with. Each rule is written
//! here once, as data ([`Require`]); each backend renders it.

use serde::Serialize;

use super::Store;
use crate::codec::{Codec, Horizons, ItemMeta, validate_key};
use crate::format::StoredItem;
use crate::format::condition::{Attr, Op, Require};
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
    pub(super) async fn put_item_if_older(&self, item: StoredItem) -> Result<bool, Error> {
        let require = older_version(item.version.unwrap_or(0));
        if needs_split(&item) {
            return self
                .write_split(item, |head| self.put_item_if(head, require))
                .await;
        }
        self.put_item_if(item, require).await
    }

    /// Writes an encoded item if the stored one meets `require`.
    async fn put_item_if(&self, item: StoredItem, require: Require) -> Result<bool, Error> {
        let Some(backend) = self.backend() else {
            return Ok(true);
        };
        backend.put_if(item, require).await
    }

    /// Adds one to the counter stored as a JSON number under `key` (0 when absent), with a
    /// compare-and-set that retries when another writer got there first. Returns the new
    /// value. The counter is an ordinary item (its `data` is the number, never compressed), so
    /// every reader, the Python package included, can read it; its `version` carries the same
    /// number, which the compare-and-set compares ([`counted`]).
    pub(crate) async fn increment(&self, key: &str) -> Result<u64, Error> {
        let Some(backend) = self.backend() else {
            return Ok(0);
        };
        validate_key(key)?;
        // Plain JSON text, which writers of earlier releases compare as they increment.
        let codec = Codec {
            compress: false,
            ..self.codec()
        };
        // Each failed round means another writer incremented it: bounded by the writers.
        for _ in 0..64 {
            let stored = backend.get(key).await?;
            let now = self.now();
            let (current, require) = counted(stored.as_ref(), &codec, now)?;
            let next = current.saturating_add(1);
            let meta = ItemMeta {
                horizons: Horizons::after(now, Ttl::MAX, None, 0),
                generation: None,
                version: Some(next),
            };
            let item = codec.encode_item(key, &next, meta, now)?;
            if self.put_item_if(item, require).await? {
                return Ok(next);
            }
        }
        Err(Error::Unprocessed {
            operation: "PutItem",
            attempts: 64,
        })
    }
}

/// When a write may replace the stored item with one of `version`: there is no item, or its
/// version is absent or lower.
pub(crate) fn older_version(version: u64) -> Require {
    Require::not(Require::compare(Attr::Version, Op::Ge, version))
}

/// The count a counter's stored item holds, and what a write of the next count requires of it:
/// that it is still that item.
///
/// - No value there: 0, and still no value.
/// - A count in `version` (this release's counters): that count, and the same `version`.
/// - No `version` (a counter written by an earlier release, whose compare-and-set compared
///   `data` text): the count in `data`, and an item with a value, still no `version`, and the
///   same `ttl` and `created_at`. Those are whole seconds, so an earlier release's increment in
///   the same second as this one's can be lost while both run side by side; the generation
///   still moves past every value written before either increment. Once this release has
///   written the counter, it carries `version`, and an earlier release's writes (which drop
///   it) fall back to this case.
pub(crate) fn counted(
    stored: Option<&StoredItem>,
    codec: &Codec,
    now: i64,
) -> Result<(u64, Require), Error> {
    let Some(item) = stored.filter(|item| item.payload.is_value()) else {
        return Ok((0, Require::not(Require::HoldsValue)));
    };
    if let Some(count) = item.version {
        return Ok((count, Require::compare(Attr::Version, Op::Eq, count)));
    }
    // An expired counter counts from 0 again, replacing the item it was.
    let count = codec
        .decode_item::<u64>(item, now, 0)?
        .map_or(0, |decoded| decoded.value);
    let created = match item.created_at {
        Some(created) => Require::compare(Attr::CreatedAt, Op::Eq, created),
        None => Require::not(Require::Exists(Attr::CreatedAt)),
    };
    let same_item = Require::All(vec![
        Require::HoldsValue,
        Require::not(Require::Exists(Attr::Version)),
        Require::compare(Attr::Ttl, Op::Eq, item.expires_at),
        created,
    ]);
    Ok((count, same_item))
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
    async fn a_counter_of_an_earlier_release_counts_on_and_gains_its_version() {
        let store = Store::embedded();
        // As earlier releases wrote it: the count in `data` only.
        store.put("n", &41u64, Ttl::MAX).await.unwrap();
        assert_eq!(store.increment("n").await.unwrap(), 42);
        let backend = store.backend().unwrap();
        let item = backend.get("n").await.unwrap().unwrap();
        assert_eq!(item.version, Some(42));
        assert_eq!(store.get::<u64>("n").await.unwrap(), Some(42));
        // An earlier release's next increment drops `version` again; this one's still counts.
        store.put("n", &43u64, Ttl::MAX).await.unwrap();
        assert_eq!(store.increment("n").await.unwrap(), 44);
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
