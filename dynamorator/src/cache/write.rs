//! Writes through a [`Cache<T>`]: puts and deletes, single and batched, keeping the L1 in step
//! with the store.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::Error;
use crate::codec::{Horizons, ItemMeta};
use crate::store::{Encoded, distinct_keys};

/// A value just encoded for the store, for the L1's write-through.
pub(super) struct Written<'a, T> {
    pub(super) key: String,
    pub(super) value: &'a T,
    pub(super) horizons: Horizons,
}

/// Writing and deleting.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Stores `value` under `key` with the cache's TTL (and in the L1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put("a", &1).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, an unstorable value, an item over 400 KB, or a store failure.
    #[must_use = "a failed write is only seen in this Result"]
    pub async fn put(&self, key: &str, value: &T) -> Result<(), Error>
    where
        T: Clone,
    {
        self.generation().await;
        let (item, written) = self.encode(key, value, None)?;
        let result = self.store.put_encoded(item).await;
        if result.is_err() {
            self.counters().store_errors.add(1);
        }
        let failed: HashSet<&str> = result.as_ref().err().map(|_| key).into_iter().collect();
        self.write_through(vec![written], &failed);
        // A failed write may still have landed (a timeout): others drop the key all the same.
        self.publish([key]).await;
        result
    }

    /// Stores many values with the cache's TTL in batch writes; a repeated key keeps its last
    /// value. Values are given as [`Store::put_many`](crate::Store::put_many) takes them: by
    /// reference or by value.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put_many([("a", &1), ("b", &2)]).await?;
    /// // Owned values, e.g. straight from a loader's map:
    /// cache.put_many(vec![("c".to_owned(), 3)]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any invalid key or value before anything is written; then [`Error::Incomplete`] naming
    /// the keys (as given) that were not written.
    #[must_use = "a failed write is only seen in this Result"]
    pub async fn put_many<K, V>(&self, items: impl IntoIterator<Item = (K, V)>) -> Result<(), Error>
    where
        T: Clone,
        K: AsRef<str>,
        V: Borrow<T>,
    {
        self.generation().await;
        let items: Vec<(K, V)> = items.into_iter().collect();
        let mut items_out = Vec::with_capacity(items.len());
        let mut written = Vec::with_capacity(items.len());
        for (key, value) in &items {
            let (item, write) = self.encode(key.as_ref(), value.borrow(), None)?;
            items_out.push(item);
            written.push(write);
        }
        self.store_written(items_out, written).await
    }

    /// Stores `value` under `key` only if the stored value is older: it has no version, or a
    /// lower one than `version` (a source's version or timestamp). Returns whether it was
    /// written. So a slow writer cannot put back an older value over a newer one; the L1 takes
    /// the value only if it was written, and forgets the key otherwise.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let prices: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// assert!(prices.put_versioned("kettle", &2999, 7).await?);
    /// assert!(!prices.put_versioned("kettle", &2499, 6).await?, "version 6 came late");
    /// assert_eq!(prices.get("kettle").await?, Some(2999));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, an unstorable value, an item over 400 KB, or a store failure. A newer
    /// stored version is `Ok(false)`, not an error.
    #[must_use = "whether the value was written, or why it could not be"]
    pub async fn put_versioned(&self, key: &str, value: &T, version: u64) -> Result<bool, Error>
    where
        T: Clone,
    {
        self.generation().await;
        let (item, written) = self.encode(key, value, Some(version))?;
        let result = self.store.put_encoded_if_older(item).await;
        match result {
            Ok(true) => self.write_through(vec![written], &HashSet::new()),
            Ok(false) => self.shared.l1.invalidate(key),
            Err(_) => {
                self.counters().store_errors.add(1);
                self.shared.l1.invalidate(key);
            }
        }
        // A newer version refused this one: nothing changed, nothing to tell.
        if !matches!(result, Ok(false)) {
            self.publish([key]).await;
        }
        result
    }

    /// Deletes the value under `key`, from the store and the L1.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put("a", &1).await?;
    /// cache.delete("a").await?;
    /// assert_eq!(cache.get("a").await?, None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key or a store failure.
    #[must_use = "a failed delete is only seen in this Result"]
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        self.keys.validate(key)?;
        self.shared.l1.invalidate(key);
        let result = self.store.delete(&self.keys.stored(key)).await;
        if result.is_err() {
            self.counters().store_errors.add(1);
        }
        self.publish([key]).await;
        result
    }

    /// Deletes many keys, from the store and the L1. The parts of split values go with them,
    /// as [`Store::delete_many`](crate::Store::delete_many) says: with the cache's `split` on,
    /// after one round of batch reads of the keys.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.delete_many(["a", "b"]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key before anything is deleted; then [`Error::Incomplete`] naming the keys
    /// (as given) that were not deleted.
    #[must_use = "a failed delete is only seen in this Result"]
    pub async fn delete_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<(), Error> {
        let keys = distinct_keys(keys, |key| self.keys.validate(key))?;
        keys.iter().for_each(|key| self.shared.l1.invalidate(key));
        let stored = keys.iter().map(|key| self.keys.stored(key)).collect();
        let result = self
            .store
            .delete_keys(stored, self.codec.split)
            .await
            .map(drop);
        let result = result.map_err(|error| self.keys.unprefix_error(error));
        self.counters().store_errors.add(failed_keys(&result).len());
        self.publish(keys.iter().map(String::as_str)).await;
        result
    }

    /// Sends encoded items in batch writes, then brings the L1 in step and counts failures.
    /// Errors name the caller's keys.
    pub(super) async fn store_written(
        &self,
        items: Vec<Encoded>,
        written: Vec<Written<'_, T>>,
    ) -> Result<(), Error>
    where
        T: Clone,
    {
        let result = self.store.put_many_encoded(items).await;
        let result = result.map_err(|error| self.keys.unprefix_error(error));
        // A call that failed as a whole wrote nothing.
        let failed: HashSet<String> = match &result {
            Err(Error::Incomplete { .. }) | Ok(()) => failed_keys(&result)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Err(_) => written.iter().map(|w| w.key.clone()).collect(),
        };
        self.counters().store_errors.add(failed.len());
        // The keys outlive `written` only when the feed needs them.
        let keys: Vec<String> = match self.freshness.feed_poll {
            Some(_) => written.iter().map(|w| w.key.clone()).collect(),
            None => Vec::new(),
        };
        self.write_through(written, &failed.iter().map(String::as_str).collect());
        self.publish(keys.iter().map(String::as_str)).await;
        result
    }

    /// The L1 holds what was written and forgets what was not, so it never serves a value the
    /// store does not have.
    fn write_through(&self, written: Vec<Written<'_, T>>, failed: &HashSet<&str>)
    where
        T: Clone,
    {
        if !self.shared.l1.is_on() {
            return;
        }
        for w in written {
            if failed.contains(w.key.as_str()) {
                self.shared.l1.invalidate(&w.key);
            } else {
                let value = Arc::new(w.value.clone());
                self.shared.l1.insert(w.key, value, w.horizons);
            }
        }
    }

    /// `value` under `key` (as given) encoded by the store with the cache's options, written
    /// now with the cache's horizons (and `version`, for an ordered write).
    pub(super) fn encode<'v>(
        &self,
        key: &str,
        value: &'v T,
        version: Option<u64>,
    ) -> Result<(Encoded, Written<'v, T>), Error> {
        self.keys.validate(key)?;
        let horizons =
            self.freshness
                .horizons(self.store.now(), self.ttl, self.freshness.stale_for);
        let meta = ItemMeta {
            horizons,
            generation: self.write_generation(),
            version,
        };
        let item = self
            .store
            .encode(&self.codec, &self.keys.stored(key), value, meta)?;
        let written = Written {
            key: key.to_owned(),
            value,
            horizons,
        };
        Ok((item, written))
    }
}

/// The keys a batch write reports as not written.
fn failed_keys(result: &Result<(), Error>) -> HashSet<&str> {
    match result {
        Err(Error::Incomplete { failures, .. }) => failures
            .iter()
            .flat_map(|f| f.keys.iter().map(String::as_str))
            .collect(),
        _ => HashSet::new(),
    }
}
