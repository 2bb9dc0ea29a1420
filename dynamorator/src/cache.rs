//! [`Cache<T>`]: a typed view of a store for one type, with its own TTL, key namespace,
//! compression and optional L1.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::WriteOp;
use crate::coalesce::Coalescer;
use crate::codec::Codec;
use crate::error::BatchFailure;
use crate::key::validate_key;
use crate::stats::{CacheStats, Counters};
use crate::store::Fetched;
use crate::ttl::now_epoch_secs;
use crate::{BatchGet, CacheConfig, Error, Store, Ttl};

/// What every handle of one cache shares: statistics, loads in flight, the L1.
pub(crate) struct Shared<T> {
    pub(crate) counters: Counters,
    pub(crate) flights: Coalescer<Arc<T>>,
    #[cfg(feature = "l1")]
    pub(crate) l1: Option<crate::l1::L1<T>>,
}

impl<T: Send + Sync + 'static> Shared<T> {
    /// State without an L1.
    pub(crate) fn new() -> Self {
        Shared {
            counters: Counters::default(),
            flights: Coalescer::default(),
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
        let stored = self.stored_key(key);
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            return Ok(l1
                .get_or_fetch(self, &stored)
                .await?
                .map(|v| l1.to_owned(v)));
        }
        Ok(self.fetch_from_store(&stored).await?.map(|f| f.value))
    }

    /// [`try_get`](Cache::try_get) returning the shared value: an L1 hit is then a reference
    /// count, not a copy.
    ///
    /// # Errors
    ///
    /// As [`try_get`](Cache::try_get).
    pub async fn try_get_arc(&self, key: &str) -> Result<Option<Arc<T>>, Error> {
        let stored = self.stored_key(key);
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            return l1.get_or_fetch(self, &stored).await;
        }
        self.fetch_from_store(&stored)
            .await
            .map(|found| found.map(|f| Arc::new(f.value)))
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

    /// One store read, counted.
    pub(crate) async fn fetch_from_store(&self, stored: &str) -> Result<Option<Fetched<T>>, Error> {
        let counters = self.counters();
        match self.store.fetch::<T>(stored).await {
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

    /// Counts a failed read: a value of another shape is a miss, anything else a store error.
    pub(crate) fn count_read_error(&self, error: &Error, keys: usize) {
        let counters = self.counters();
        match error {
            Error::TypeMismatch { .. } => Counters::add(&counters.store_misses, keys),
            _ => Counters::add(&counters.store_errors, keys),
        }
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
        let stored = self.stored_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (found, failed) = l1.get_many_or_fetch(self, stored).await;
            let found = found
                .into_iter()
                .map(|(k, v)| (k, l1.to_owned(v)))
                .collect();
            return Ok(self.unprefixed(found, failed));
        }
        let (found, failed) = self.fetch_many_from_store(stored).await;
        let found = found.into_iter().map(|(k, f)| (k, f.value)).collect();
        Ok(self.unprefixed(found, failed))
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
        let stored = self.stored_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (found, failed) = l1.get_many_or_fetch(self, stored).await;
            return Ok(self.unprefixed(found, failed));
        }
        let (found, failed) = self.fetch_many_from_store(stored).await;
        let found = found
            .into_iter()
            .map(|(k, f)| (k, Arc::new(f.value)))
            .collect();
        Ok(self.unprefixed(found, failed))
    }

    /// [`try_get_many`](Cache::try_get_many) returning what was found; invalid keys are skipped
    /// and failures logged.
    pub async fn get_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> HashMap<String, T> {
        let valid: Vec<String> = keys
            .into_iter()
            .filter_map(|key| {
                let stored = self.stored_key(key.as_ref());
                match validate_key(&stored) {
                    Ok(()) => Some(key.as_ref().to_owned()),
                    Err(error) => {
                        self.report("get_many", key.as_ref(), &error);
                        None
                    }
                }
            })
            .collect();
        match self.try_get_many(&valid).await {
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

    /// One batch read of stored keys, counted.
    pub(crate) async fn fetch_many_from_store(
        &self,
        stored: Vec<String>,
    ) -> (HashMap<String, Fetched<T>>, Vec<BatchFailure>) {
        let asked = stored.len();
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
        (found, failed)
    }

    /// Distinct stored keys for the given keys, every one validated.
    pub(crate) fn stored_keys<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<String>, Error> {
        crate::batch_read::distinct_valid_keys(
            keys.into_iter().map(|key| self.stored_key(key.as_ref())),
        )
    }

    /// The caller's key for a stored key.
    pub(crate) fn unprefix(&self, stored: String) -> String {
        match stored.strip_prefix(&*self.key_prefix) {
            Some(key) => key.to_owned(),
            None => stored,
        }
    }

    fn unprefixed<V>(&self, found: HashMap<String, V>, failed: Vec<BatchFailure>) -> BatchGet<V> {
        BatchGet {
            found: found
                .into_iter()
                .map(|(k, v)| (self.unprefix(k), v))
                .collect(),
            failed: failed
                .into_iter()
                .map(|f| BatchFailure {
                    keys: f.keys.into_iter().map(|k| self.unprefix(k)).collect(),
                    error: f.error,
                })
                .collect(),
        }
    }

    /// Stores `value` under `key` with the cache's TTL.
    ///
    /// # Errors
    ///
    /// An invalid key, an unstorable value, an item over 400 KB, or a store failure.
    pub async fn try_put(&self, key: &str, value: &T) -> Result<(), Error> {
        let stored = self.stored_key(key);
        let item =
            self.store
                .encode_item(&self.codec, &stored, value, self.ttl, now_epoch_secs())?;
        #[cfg(feature = "l1")]
        let (expires_at, size) = (item.expires_at, item.encoded_size());
        let result = self.store.put_item(item).await;
        if result.is_err() {
            Counters::add(&self.counters().store_errors, 1);
        }
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            // Write-through: on success the L1 holds the new value; on failure it must not
            // keep serving the old one.
            match &result {
                Ok(()) => l1.insert_value(stored, value, expires_at, size),
                Err(_) => l1.invalidate(&stored),
            }
        }
        result
    }

    /// [`try_put`](Cache::try_put), logging any failure.
    pub async fn put(&self, key: &str, value: &T) {
        if let Err(error) = self.try_put(key, value).await {
            self.report("put", key, &error);
        }
    }

    /// Stores many values with the cache's TTL in batch writes; a repeated key keeps its last
    /// value.
    ///
    /// # Errors
    ///
    /// Any invalid key or value before anything is written; then [`Error::Incomplete`] naming
    /// the keys (as given) that were not written.
    pub async fn try_put_many<'a, K: AsRef<str>>(
        &self,
        items: impl IntoIterator<Item = (K, &'a T)>,
    ) -> Result<(), Error>
    where
        T: 'a,
    {
        let now = now_epoch_secs();
        let mut writes = Vec::new();
        let mut written = Vec::new();
        for (key, value) in items {
            let stored = self.stored_key(key.as_ref());
            let item = self
                .store
                .encode_item(&self.codec, &stored, value, self.ttl, now)?;
            written.push(Written::new(stored, value, &item));
            writes.push(WriteOp::Put(item));
        }
        let result = self
            .store
            .write_all(crate::batch_write::last_write_wins(writes))
            .await;
        self.write_through(written, &result);
        self.count_write_result(&result);
        result.map_err(|error| self.unprefix_error(error))
    }

    /// [`try_put_many`](Cache::try_put_many), logging failures.
    pub async fn put_many<'a, K: AsRef<str>>(&self, items: impl IntoIterator<Item = (K, &'a T)>)
    where
        T: 'a,
    {
        if let Err(error) = self.try_put_many(items).await {
            self.report_write_error("put_many", &error);
        }
    }

    /// Deletes the value under `key`, from the store and the L1.
    ///
    /// # Errors
    ///
    /// An invalid key or a store failure.
    pub async fn try_delete(&self, key: &str) -> Result<(), Error> {
        let stored = self.stored_key(key);
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            l1.invalidate(&stored);
        }
        let result = self.store.try_delete(&stored).await;
        if result.is_err() {
            Counters::add(&self.counters().store_errors, 1);
        }
        result
    }

    /// [`try_delete`](Cache::try_delete), logging any failure.
    pub async fn delete(&self, key: &str) {
        if let Err(error) = self.try_delete(key).await {
            self.report("delete", key, &error);
        }
    }

    /// Deletes many keys, from the store and the L1.
    ///
    /// # Errors
    ///
    /// An invalid key before anything is deleted; then [`Error::Incomplete`] naming the keys
    /// (as given) that were not deleted.
    pub async fn try_delete_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<(), Error> {
        let stored = self.stored_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            for key in &stored {
                l1.invalidate(key);
            }
        }
        let result = self
            .store
            .write_all(stored.into_iter().map(WriteOp::Delete).collect())
            .await;
        self.count_write_result(&result);
        result.map_err(|error| self.unprefix_error(error))
    }

    /// [`try_delete_many`](Cache::try_delete_many), logging failures.
    pub async fn delete_many<K: AsRef<str>>(&self, keys: impl IntoIterator<Item = K>) {
        if let Err(error) = self.try_delete_many(keys).await {
            self.report_write_error("delete_many", &error);
        }
    }

    pub(crate) fn count_write_result(&self, result: &Result<(), Error>) {
        let failed = failed_keys(result).count();
        if failed > 0 {
            Counters::add(&self.counters().store_errors, failed);
        }
    }

    pub(crate) fn report_write_error(&self, operation: &'static str, error: &Error) {
        match error {
            Error::Incomplete { failures, .. } => {
                for failure in failures {
                    self.store.report_batch(operation, failure);
                }
            }
            other => self.report(operation, "", other),
        }
    }

    /// An `Incomplete` error with the caller's keys instead of the stored ones.
    pub(crate) fn unprefix_error(&self, error: Error) -> Error {
        match error {
            Error::Incomplete {
                attempted,
                failures,
            } => Error::Incomplete {
                attempted,
                failures: failures
                    .into_iter()
                    .map(|f| BatchFailure {
                        keys: f.keys.into_iter().map(|k| self.unprefix(k)).collect(),
                        error: f.error,
                    })
                    .collect(),
            },
            other => other,
        }
    }

    /// The encoded item for a value about to be written by read-through.
    pub(crate) fn encode(
        &self,
        stored: &str,
        value: &T,
        now: i64,
    ) -> Result<crate::item::StoredItem, Error> {
        self.store
            .encode_item(&self.codec, stored, value, self.ttl, now)
    }
}

/// A value just sent to the store, for the L1's write-through (unused without the L1).
#[cfg_attr(not(feature = "l1"), allow(dead_code))]
pub(crate) struct Written<'a, T> {
    stored: String,
    value: &'a T,
    expires_at: i64,
    size: usize,
}

impl<'a, T> Written<'a, T> {
    pub(crate) fn new(stored: String, value: &'a T, item: &crate::item::StoredItem) -> Self {
        Written {
            stored,
            value,
            expires_at: item.expires_at,
            size: item.encoded_size(),
        }
    }
}

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// After a batch write: the L1 holds what was written and forgets what was not, so it never
    /// serves a value the store does not have.
    pub(crate) fn write_through(&self, written: Vec<Written<'_, T>>, result: &Result<(), Error>) {
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let failed: std::collections::HashSet<&str> = failed_keys(result).collect();
            for w in written {
                if failed.contains(w.stored.as_str()) {
                    l1.invalidate(&w.stored);
                } else {
                    l1.insert_value(w.stored, w.value, w.expires_at, w.size);
                }
            }
        }
        #[cfg(not(feature = "l1"))]
        let _ = (written, result);
    }
}

/// The stored keys an `Incomplete` error names (none for success or other errors, which the
/// caller handles whole).
fn failed_keys(result: &Result<(), Error>) -> impl Iterator<Item = &str> {
    let failures: &[BatchFailure] = match result {
        Err(Error::Incomplete { failures, .. }) => failures,
        _ => &[],
    };
    failures
        .iter()
        .flat_map(|f| f.keys.iter().map(String::as_str))
}

/// The value out of its `Arc`, cloning only when it is shared.
pub(crate) fn unwrap_or_clone<T: Clone>(value: Arc<T>) -> T {
    Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
}
