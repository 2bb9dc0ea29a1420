//! [`Cache<T>`]: a typed view of a store for one type, with its own TTL, key namespace,
//! compression and optional L1.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::batch_flights::BatchFlights;
use crate::coalesce::Coalescer;
use crate::codec::Codec;
use crate::error::BatchFailure;
use crate::stats::{CacheStats, Counters};
use crate::store::Fetched;
use crate::{BatchGet, CacheConfig, Error, Store, Ttl};

/// What every handle of one cache shares: statistics, loads in flight, the L1.
pub(crate) struct Shared<T> {
    pub(crate) counters: Counters,
    pub(crate) flights: Coalescer<Arc<T>>,
    pub(crate) batch_flights: BatchFlights,
    #[cfg(feature = "l1")]
    pub(crate) l1: Option<crate::l1::L1<T>>,
}

impl<T: Send + Sync + 'static> Shared<T> {
    /// State without an L1.
    pub(crate) fn new() -> Self {
        Shared {
            counters: Counters::default(),
            flights: Coalescer::default(),
            batch_flights: BatchFlights::default(),
            #[cfg(feature = "l1")]
            l1: None,
        }
    }

    /// State with an L1 (`clone` makes owned values from its shared ones).
    #[cfg(feature = "l1")]
    pub(crate) fn with_l1(config: crate::L1Config, clone: fn(&T) -> T) -> Self {
        Shared {
            l1: Some(crate::l1::L1::new(config, clone)),
            ..Shared::new()
        }
    }
}

/// A typed cache: values of `T` by string key, on a [`Store`].
///
/// Get one from a `#[derive(Cached)]` type (`Product::cache(&store)`) or build one with
/// [`Cache::new`]. Handles are cheap to clone and share the cache's statistics, in-flight
/// loads and L1.
///
/// Like the store, each operation has a never-fail form (`get`, `put`, …: failures are logged
/// and counted) and a fallible `try_` form. Values stored under a key that do not decode as
/// `T` (another schema) are misses with a warning in the never-fail forms and
/// [`Error::TypeMismatch`] in the fallible ones.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Cache, CacheConfig, Store, Ttl};
///
/// let store = Store::embedded();
/// let scores: Cache<u64> = Cache::new(&store, CacheConfig::new(Ttl::hours(1.0)).prefix("score"));
/// scores.put("alice", &100).await;
/// assert_eq!(scores.get("alice").await, Some(100));
/// // The store sees the namespaced key.
/// assert_eq!(store.try_get::<u64>("score:alice").await?, Some(100));
/// # Ok(()) }
/// ```
pub struct Cache<T> {
    store: Store,
    ttl: Ttl,
    codec: Codec,
    key_prefix: Arc<str>,
    shared: Arc<Shared<T>>,
    _values: PhantomData<fn() -> T>,
}

impl<T> Clone for Cache<T> {
    fn clone(&self) -> Self {
        Cache {
            store: self.store.clone(),
            ttl: self.ttl,
            codec: self.codec,
            key_prefix: self.key_prefix.clone(),
            shared: self.shared.clone(),
            _values: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("type", &std::any::type_name::<T>())
            .field("key_prefix", &self.key_prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A new, independent cache on `store` with these settings and its own statistics. For a
    /// `#[derive(Cached)]` type, `T::cache(&store)` returns the store's shared one instead.
    ///
    /// The L1 of `config` is not set up here (it needs `T: Clone`): add it with
    /// [`with_l1`](Cache::with_l1).
    pub fn new(store: &Store, config: CacheConfig) -> Self {
        Cache::with_shared(store, &config, Arc::new(Shared::new()))
    }

    /// This cache with other shared state (statistics, flights, L1).
    #[cfg_attr(not(feature = "l1"), allow(dead_code))]
    pub(crate) fn with_shared_state(&self, shared: Arc<Shared<T>>) -> Self {
        Cache {
            shared,
            ..self.clone()
        }
    }

    pub(crate) fn with_shared(store: &Store, config: &CacheConfig, shared: Arc<Shared<T>>) -> Self {
        let mut codec = store.settings().codec;
        if let Some(compress) = config.compress {
            codec.compress = compress;
        }
        if let Some(threshold) = config.compress_threshold {
            codec.threshold = threshold;
        }
        Cache {
            store: store.clone(),
            ttl: config.ttl,
            codec,
            key_prefix: config.key_prefix().into(),
            shared,
            _values: PhantomData,
        }
    }

    /// This cache with another TTL for its writes (read-through included): a per-call
    /// override, `cache.with_ttl(Ttl::hours(1.0)).put(k, &v)`. Shares everything else.
    pub fn with_ttl(&self, ttl: impl Into<Ttl>) -> Self {
        Cache {
            ttl: ttl.into(),
            ..self.clone()
        }
    }

    /// The key under which `key` is stored in the table.
    pub fn stored_key(&self, key: &str) -> String {
        let mut stored = String::with_capacity(self.key_prefix.len() + key.len());
        stored.push_str(&self.key_prefix);
        stored.push_str(key);
        stored
    }

    pub(crate) fn codec(&self) -> &Codec {
        &self.codec
    }

    pub(crate) fn ttl(&self) -> Ttl {
        self.ttl
    }

    /// The store this cache writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What the cache has done so far.
    pub fn stats(&self) -> CacheStats {
        #[cfg_attr(not(feature = "l1"), allow(unused_mut))]
        let mut stats = self.shared.counters.snapshot();
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (entries, weighted) = l1.size();
            stats.l1_entries = entries;
            stats.l1_weighted_size = weighted;
        }
        stats
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub(crate) fn flights(&self) -> &Coalescer<Arc<T>> {
        &self.shared.flights
    }

    pub(crate) fn batch_flights(&self) -> &BatchFlights {
        &self.shared.batch_flights
    }

    #[cfg(feature = "l1")]
    pub(crate) fn l1(&self) -> Option<&crate::l1::L1<T>> {
        self.shared.l1.as_ref()
    }

    pub(crate) fn report(&self, operation: &'static str, key: &str, error: &Error) {
        self.store.report(operation, key, error);
    }

    /// Reads the value under `key`; `Ok(None)` when absent or expired.
    ///
    /// # Errors
    ///
    /// An invalid key, a store failure, a corrupt item, or [`Error::TypeMismatch`].
    pub async fn try_get(&self, key: &str) -> Result<Option<T>, Error> {
        self.validate(key)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            return Ok(l1.get_or_fetch(self, key).await?.map(|v| l1.to_owned(v)));
        }
        Ok(self.fetch_from_store(key).await?.map(|f| f.value))
    }

    /// [`try_get`](Cache::try_get) returning the shared value: an L1 hit is then a reference
    /// count, not a copy.
    ///
    /// # Errors
    ///
    /// As [`try_get`](Cache::try_get).
    pub async fn try_get_arc(&self, key: &str) -> Result<Option<Arc<T>>, Error> {
        self.validate(key)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            return l1.get_or_fetch(self, key).await;
        }
        Ok(self.fetch_from_store(key).await?.map(|f| Arc::new(f.value)))
    }

    /// [`try_get`](Cache::try_get), logging failures and returning `None` for them.
    pub async fn get(&self, key: &str) -> Option<T> {
        self.try_get(key).await.unwrap_or_else(|error| {
            self.report("get", key, &error);
            None
        })
    }

    /// [`try_get_arc`](Cache::try_get_arc), logging failures and returning `None` for them.
    pub async fn get_arc(&self, key: &str) -> Option<Arc<T>> {
        self.try_get_arc(key).await.unwrap_or_else(|error| {
            self.report("get", key, &error);
            None
        })
    }

    /// Reads many keys; duplicates are read once.
    ///
    /// # Errors
    ///
    /// An invalid key, before any request. Failures of single keys are in
    /// [`BatchGet::failed`], under the keys as given (not as stored).
    pub async fn try_get_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<BatchGet<T>, Error> {
        let keys = self.distinct_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (found, failed) = l1.get_many_or_fetch(self, keys).await;
            let found = found
                .into_iter()
                .map(|(k, v)| (k, l1.to_owned(v)))
                .collect();
            return Ok(BatchGet { found, failed });
        }
        let (found, failed) = self.fetch_many_from_store(keys).await;
        let found = found.into_iter().map(|(k, f)| (k, f.value)).collect();
        Ok(BatchGet { found, failed })
    }

    /// [`try_get_many`](Cache::try_get_many) returning shared values.
    ///
    /// # Errors
    ///
    /// As [`try_get_many`](Cache::try_get_many).
    pub async fn try_get_many_arc<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<BatchGet<Arc<T>>, Error> {
        let keys = self.distinct_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (found, failed) = l1.get_many_or_fetch(self, keys).await;
            return Ok(BatchGet { found, failed });
        }
        let (found, failed) = self.fetch_many_from_store(keys).await;
        let found = found
            .into_iter()
            .map(|(k, f)| (k, Arc::new(f.value)))
            .collect();
        Ok(BatchGet { found, failed })
    }

    /// [`try_get_many`](Cache::try_get_many) returning what was found; invalid keys are skipped
    /// and failures logged.
    pub async fn get_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> HashMap<String, T> {
        let valid: Vec<K> = keys
            .into_iter()
            .filter(|key| match self.validate(key.as_ref()) {
                Ok(()) => true,
                Err(error) => {
                    self.report("get_many", key.as_ref(), &error);
                    false
                }
            })
            .collect();
        match self.try_get_many(valid).await {
            Ok(read) => {
                for failure in &read.failed {
                    self.store.report_batch("get_many", failure);
                }
                read.found
            }
            Err(error) => {
                self.report("get_many", "", &error);
                HashMap::new()
            }
        }
    }

    /// One store read, counted.
    pub(crate) async fn fetch_from_store(&self, key: &str) -> Result<Option<Fetched<T>>, Error> {
        let counters = self.counters();
        match self.store.fetch::<T>(&self.stored_key(key)).await {
            Ok(Some(fetched)) => {
                Counters::add(&counters.store_hits, 1);
                Ok(Some(fetched))
            }
            Ok(None) => {
                Counters::add(&counters.store_misses, 1);
                Ok(None)
            }
            Err(error) => {
                self.count_read_error(&error, 1);
                Err(error)
            }
        }
    }

    /// One batch read, counted; keys in and out are the caller's, not the stored ones.
    pub(crate) async fn fetch_many_from_store(
        &self,
        keys: Vec<String>,
    ) -> (HashMap<String, Fetched<T>>, Vec<BatchFailure>) {
        let asked = keys.len();
        let stored = keys.iter().map(|key| self.stored_key(key)).collect();
        let (found, failed) = self.store.fetch_many::<T>(stored).await;
        let counters = self.counters();
        let mut failed_keys = 0;
        for failure in &failed {
            self.count_read_error(&failure.error, failure.keys.len());
            failed_keys += failure.keys.len();
        }
        Counters::add(&counters.store_hits, found.len());
        Counters::add(
            &counters.store_misses,
            asked.saturating_sub(found.len() + failed_keys),
        );
        let found = found
            .into_iter()
            .map(|(stored, fetched)| (self.unprefix(stored), fetched))
            .collect();
        (found, self.unprefix_failures(failed))
    }

    /// Counts a failed read: a value of another shape is a miss, anything else a store error.
    pub(crate) fn count_read_error(&self, error: &Error, keys: usize) {
        let counters = self.counters();
        match error {
            Error::TypeMismatch { .. } => Counters::add(&counters.store_misses, keys),
            _ => Counters::add(&counters.store_errors, keys),
        }
    }

    /// Checks that `key` makes a valid stored key, without building it: the prefix and the key
    /// together must be 1 to 2048 bytes.
    pub(crate) fn validate(&self, key: &str) -> Result<(), Error> {
        match self.key_prefix.len() + key.len() {
            0 => Err(Error::EmptyKey),
            len if len > crate::key::MAX_KEY_BYTES => Err(Error::KeyTooLong { len }),
            _ => Ok(()),
        }
    }

    /// The distinct keys among `keys`, in first-seen order, every one validated.
    pub(crate) fn distinct_keys<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<String>, Error> {
        crate::batch_read::distinct_keys(keys, |key| self.validate(key))
    }

    /// The caller's key for a stored key.
    pub(crate) fn unprefix(&self, stored: String) -> String {
        match stored.strip_prefix(&*self.key_prefix) {
            Some(key) if !self.key_prefix.is_empty() => key.to_owned(),
            _ => stored,
        }
    }

    /// Batch failures with the caller's keys instead of the stored ones.
    pub(crate) fn unprefix_failures(&self, failures: Vec<BatchFailure>) -> Vec<BatchFailure> {
        if self.key_prefix.is_empty() {
            return failures;
        }
        failures
            .into_iter()
            .map(|f| BatchFailure {
                keys: f.keys.into_iter().map(|k| self.unprefix(k)).collect(),
                error: f.error,
            })
            .collect()
    }
}

/// The value out of its `Arc`, cloning only when it is shared.
pub(crate) fn unwrap_or_clone<T: Clone>(value: Arc<T>) -> T {
    Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
}
