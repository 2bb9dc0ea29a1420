//! Reads through a [`Cache<T>`]: the L1 first when there is one, then the store, every result
//! counted; undecodable values are misses.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::{Stream, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use super::fleet::GENERATION_KEY;
use super::l1::{Held, Lookup};
use crate::codec::{Decoded, Freshness};
use crate::{BatchFailure, Error, GetMany, ItemInfo, KeyPage};

/// Reading.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Reads the value under `key`; `Ok(None)` when absent, expired or undecodable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<String> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put("k", &"v".to_owned()).await?;
    /// assert_eq!(cache.get("k").await?.as_deref(), Some("v"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, or a store failure.
    #[must_use = "the value read, or why it could not be"]
    pub async fn get(&self, key: &str) -> Result<Option<T>, Error>
    where
        T: Clone,
    {
        Ok(self.get_arc(key).await?.map(Arc::unwrap_or_clone))
    }

    /// [`get`](Cache::get) returning the shared value: an L1 hit is then a reference count,
    /// not a copy, and `T` need not be `Clone`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, L1Config, Store};
    /// let cache: Cache<Vec<u8>> = Cache::new(&Store::embedded(), CacheConfig::new().l1(L1Config::new()));
    /// cache.put("blob", &vec![1, 2, 3]).await?;
    /// let blob = cache.get_arc("blob").await?.expect("just written");
    /// assert_eq!(blob.len(), 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get`](Cache::get).
    #[must_use = "the value read, or why it could not be"]
    pub async fn get_arc(&self, key: &str) -> Result<Option<Arc<T>>, Error> {
        self.keys.validate(key)?;
        self.catch_up().await;
        // The hit returns here, before the miss path's future is made.
        match self.shared.l1.lookup(key, self.counters()) {
            Lookup::Hit(held) => return Ok(Some(held.value)),
            Lookup::Absent => return Ok(None),
            Lookup::Unknown => {}
        }
        let held = self
            .shared
            .l1
            .fetch(key, self.store.now(), || self.fetch_from_store(key, 0))
            .await?;
        Ok(held.map(|held| held.value))
    }

    /// Reads many keys; duplicates are read once. Keys the L1 holds are not asked of the
    /// store; the rest go in one batch read.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put_many([("a", &1), ("b", &2)]).await?;
    /// let read = cache.get_many(["a", "b", "c"]).await?;
    /// assert_eq!(read.found.len(), 2);
    /// assert!(read.is_complete());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, before any request. Failures of single keys are in
    /// [`GetMany::failed`], under the keys as given (not as stored).
    #[must_use = "the values read, and the keys that could not be"]
    pub async fn get_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<GetMany<T>, Error>
    where
        T: Clone,
    {
        self.read_many(keys, |held| Arc::unwrap_or_clone(held.value))
            .await
    }

    /// [`get_many`](Cache::get_many) returning shared values: no value is cloned, and `T` need
    /// not be `Clone`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.put("a", &1).await?;
    /// let read = cache.get_many_arc(["a"]).await?;
    /// assert_eq!(read.found.get("a").map(|v| **v), Some(1));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_many`](Cache::get_many).
    #[must_use = "the values read, and the keys that could not be"]
    pub async fn get_many_arc<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<GetMany<Arc<T>>, Error> {
        self.read_many(keys, |held| held.value).await
    }

    /// `get_many` and `get_many_arc`: the keys checked (all of them, before any request), then
    /// read through the layers into a map of what `keep` makes of each value, built once.
    async fn read_many<K: AsRef<str>, O>(
        &self,
        keys: impl IntoIterator<Item = K>,
        keep: impl Fn(Held<T>) -> O,
    ) -> Result<GetMany<O>, Error> {
        // Borrowed as given: repeats are found once by the map, not by a set of every key.
        let keys: Vec<K> = keys.into_iter().collect();
        for key in &keys {
            self.keys.validate(key.as_ref())?;
        }
        self.catch_up().await;
        let (found, failed) = self
            .shared
            .l1
            .get_many_or_fetch(
                &keys,
                self.counters(),
                self.store.now(),
                |missing| self.fetch_many_from_store(missing, 0),
                keep,
            )
            .await;
        Ok(GetMany { found, failed })
    }

    /// Distinct, valid keys read through the L1, then one batch read of the store for the
    /// rest; items expired up to `grace` seconds ago come back as fallbacks.
    pub(super) async fn read_layers(
        &self,
        keys: Vec<String>,
        grace: i64,
    ) -> (HashMap<String, Held<T>>, Vec<BatchFailure>) {
        self.shared
            .l1
            .get_many_or_fetch(
                &keys,
                self.counters(),
                self.store.now(),
                |missing| self.fetch_many_from_store(missing, grace),
                |held| held,
            )
            .await
    }

    /// Describes the stored item under `key` (compression, size, times), expired or not.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new().ttl(Ttl::hours(1)));
    /// cache.put("a", &1).await?;
    /// let info = cache.item_info("a").await?.expect("just written");
    /// assert!(!info.compressed && !info.expired);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, a store failure, or an item not in the table format.
    #[must_use = "the item's description, or why it could not be read"]
    pub async fn item_info(&self, key: &str) -> Result<Option<ItemInfo>, Error> {
        self.keys.validate(key)?;
        self.store.item_info(&self.keys.stored(key)).await
    }

    /// Lists this cache's keys (as given, without the prefix), a page of the table at a time:
    /// `limit` items of the table are scanned and the ones of this cache kept, so a page can
    /// hold fewer keys than `limit`, even none, while `last_key` is still `Some`. The token is
    /// the table's (a stored key); pass it back as it is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    /// let store = Store::embedded();
    /// store.put("not-mine", &0, Ttl::hours(1)).await?;
    /// let cache: Cache<u32> = Cache::new(&store, CacheConfig::new().prefix("mine"));
    /// cache.put("a", &1).await?;
    /// let page = cache.list_keys(100, None).await?;
    /// assert_eq!(page.keys, ["a"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Store::list_keys`](crate::Store::list_keys).
    #[must_use = "the page read, or why it could not be"]
    pub async fn list_keys(&self, limit: u32, last_key: Option<&str>) -> Result<KeyPage, Error> {
        let page = self.store.list_keys(limit, last_key).await?;
        let keys = page
            .keys
            .iter()
            .filter_map(|stored| self.keys.caller_key(stored))
            .filter(|key| !key.is_empty() && *key != GENERATION_KEY)
            .map(str::to_owned)
            .collect();
        Ok(KeyPage {
            keys,
            last_key: page.last_key,
        })
    }

    /// Every key of this cache (as given, without the prefix; expired items left out), as a
    /// stream that scans the table a page at a time, like [`Store::keys`](crate::Store::keys).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.put("someone-else", &0, Ttl::hours(1)).await?;
    /// let cache: Cache<u32> = Cache::new(&store, CacheConfig::new().prefix("mine"));
    /// cache.put_many([("a", &1), ("b", &2)]).await?;
    /// let mut keys: Vec<String> = cache.keys().try_collect().await?;
    /// keys.sort();
    /// assert_eq!(keys, ["a", "b"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's items: as [`Store::keys`](crate::Store::keys), a page that could not be
    /// read is an `Err`, and the stream ends after it.
    pub fn keys(&self) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        let space = self.keys.clone();
        self.store.keys().try_filter_map(move |stored| {
            let key = space
                .caller_key(&stored)
                .filter(|key| !key.is_empty() && *key != GENERATION_KEY)
                .map(str::to_owned);
            std::future::ready(Ok(key))
        })
    }

    /// One store read, counted; an undecodable value is a logged miss. Items expired up to
    /// `grace` seconds ago are returned (fallbacks), counted as misses.
    pub(super) async fn fetch_from_store(
        &self,
        key: &str,
        grace: i64,
    ) -> Result<Option<Decoded<T>>, Error> {
        let counters = self.counters();
        let now = self.store.now();
        match self.store.fetch::<T>(&self.keys.stored(key), grace).await {
            // Written before the cache was last cleared.
            Ok(Some(decoded)) if !self.shared.generation.admits(decoded.generation) => {
                counters.store_misses.add(1);
                Ok(None)
            }
            Ok(Some(decoded)) if decoded.horizons.freshness(now) == Freshness::Expired => {
                counters.store_misses.add(1);
                Ok(Some(decoded))
            }
            Ok(Some(decoded)) => {
                counters.store_hits.add(1);
                Ok(Some(decoded))
            }
            Ok(None) => {
                counters.store_misses.add(1);
                Ok(None)
            }
            Err(error) if error.is_undecodable() => {
                self.count_undecodable(&error, 1);
                Ok(None)
            }
            Err(error) => {
                counters.store_errors.add(1);
                Err(error)
            }
        }
    }

    /// One batch read, counted; keys in and out are the caller's, not the stored ones.
    /// Undecodable values are logged misses, not failures.
    pub(super) async fn fetch_many_from_store(
        &self,
        keys: Vec<String>,
        grace: i64,
    ) -> (HashMap<String, Decoded<T>>, Vec<BatchFailure>) {
        let asked = keys.len();
        let now = self.store.now();
        let stored = keys.iter().map(|key| self.keys.stored(key)).collect();
        let (mut found, failed) = self
            .store
            .fetch_many::<T, _>(stored, grace, |stored, decoded| {
                (self.keys.unprefix(stored), decoded)
            })
            .await;
        // Values written before the cache was last cleared are misses.
        let generation = &self.shared.generation;
        found.retain(|_, decoded| generation.admits(decoded.generation));
        let expired = found
            .values()
            .filter(|decoded| decoded.horizons.freshness(now) == Freshness::Expired)
            .count();
        let counters = self.counters();
        let (undecodable, failed): (Vec<_>, Vec<_>) = failed
            .into_iter()
            .partition(|failure| failure.error.is_undecodable());
        let mut missed = asked.saturating_sub(found.len());
        for failure in &undecodable {
            self.count_undecodable(&failure.error, failure.keys.len());
        }
        for failure in &failed {
            counters.store_errors.add(failure.keys.len());
            missed = missed.saturating_sub(failure.keys.len());
        }
        counters.store_hits.add(found.len() - expired);
        // Undecodable keys were counted as misses already.
        let undecodable_keys: usize = undecodable.iter().map(|f| f.keys.len()).sum();
        counters
            .store_misses
            .add(missed.saturating_sub(undecodable_keys));
        (found, self.keys.unprefix_failures(failed))
    }

    /// Counts and logs stored values that did not decode: misses, never errors.
    fn count_undecodable(&self, error: &Error, keys: usize) {
        let counters = self.counters();
        counters.undecodable.add(keys);
        counters.store_misses.add(keys);
        tracing::warn!(%error, keys, "dynamorator: stored value not readable as the cache's type; treated as a miss");
    }
}
