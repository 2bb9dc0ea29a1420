//! Read-through memoisation: get a value, or compute it once, store it and return it.
//!
//! Fail-open: when the store fails, the value is still computed and returned (the failure is
//! logged and counted). A loader error is returned and nothing is stored. Concurrent calls for
//! one key in one process run the loader once; concurrent batch calls load each key once.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::WriteOp;
use crate::batch_flights::{self, Claim, Lease};
use crate::cache::unwrap_or_clone;
use crate::cache_write::Written;
use crate::stats::Counters;
use crate::ttl::now_epoch_secs;
use crate::{BatchFailure, Cache, Error};

/// What a loader's error becomes: any `std::error::Error + Send + Sync`, `anyhow::Error`,
/// `String` or `&str` converts.
type LoaderError = Box<dyn std::error::Error + Send + Sync>;

/// How many times a batch read-through waits for other calls' loads before it loads without a
/// claim (each round ends when those loads end; new ones can only start in between).
const MAX_WAIT_ROUNDS: usize = 4;

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Returns the value under `key`, or runs `loader`, stores what it returns (with the
    /// cache's TTL) and returns that. Concurrent calls for the same key share one run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    ///
    /// let squares: Cache<u64> = Cache::new(&Store::embedded(), CacheConfig::new(Ttl::days(1.0)));
    /// let value = squares.get_or_insert_with("12", || async { Ok::<_, std::io::Error>(144) }).await?;
    /// assert_eq!(value, 144);
    /// // The second call is a hit: the loader is not called.
    /// let again = squares.get_or_insert_with("12", || async { Err("not called") }).await?;
    /// assert_eq!(again, 144);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Loader`] when the loader fails (nothing is stored), or an invalid key. Store
    /// failures are not errors here: they are logged, counted, and the loader runs.
    pub async fn get_or_insert_with<F, Fut, E>(&self, key: &str, loader: F) -> Result<T, Error>
    where
        T: Clone,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<LoaderError>,
    {
        self.get_arc_or_insert_with(key, loader)
            .await
            .map(unwrap_or_clone)
    }

    /// [`get_or_insert_with`](Cache::get_or_insert_with) returning the shared value, for types
    /// that are not `Clone` or are costly to clone.
    ///
    /// # Errors
    ///
    /// As [`get_or_insert_with`](Cache::get_or_insert_with).
    pub async fn get_arc_or_insert_with<F, Fut, E>(
        &self,
        key: &str,
        loader: F,
    ) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<LoaderError>,
    {
        self.validate(key)?;
        #[cfg(feature = "l1")]
        let mut known_absent = false;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            match l1.lookup(self, key) {
                crate::l1::Lookup::Hit(value) => return Ok(value),
                crate::l1::Lookup::Absent => known_absent = true,
                crate::l1::Lookup::Unknown => {}
            }
        }
        self.flights()
            .run(key, || async {
                // A remembered miss goes straight to the loader.
                #[cfg(feature = "l1")]
                if known_absent {
                    return self.load_and_store(key, loader).await;
                }
                self.read_or_load(key, loader).await
            })
            .await
    }

    /// The store, then the loader: one flight's work.
    async fn read_or_load<F, Fut, E>(&self, key: &str, loader: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<LoaderError>,
    {
        match self.fetch_from_store(key).await {
            Ok(Some(fetched)) => {
                let value = Arc::new(fetched.value);
                #[cfg(feature = "l1")]
                if let Some(l1) = self.l1() {
                    l1.insert(
                        key.to_owned(),
                        value.clone(),
                        fetched.expires_at,
                        fetched.size,
                    );
                }
                return Ok(value);
            }
            Ok(None) => {}
            // Fail-open: the loader still runs. Another shape under the key is a miss that the
            // loader's value will replace.
            Err(error) => self.report("get_or_insert_with", key, &error),
        }
        self.load_and_store(key, loader).await
    }

    async fn load_and_store<F, Fut, E>(&self, key: &str, loader: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<LoaderError>,
    {
        let value = Arc::new(self.call_loader(loader()).await?);
        let stored = match self.encode(key, &value, now_epoch_secs()) {
            Ok(item) => {
                let written = Written::new(key.to_owned(), value.as_ref(), &item);
                self.store().put_item(item).await.map(|()| written)
            }
            Err(error) => Err(error),
        };
        match stored {
            Ok(_written) =>
            {
                #[cfg(feature = "l1")]
                if let Some(l1) = self.l1() {
                    l1.insert(
                        key.to_owned(),
                        value.clone(),
                        _written.expires_at(),
                        _written.size(),
                    );
                }
            }
            Err(error) => {
                Counters::add(&self.counters().store_errors, 1);
                self.report("get_or_insert_with", key, &error);
            }
        }
        Ok(value)
    }

    /// Runs a loader, counting the call and its failure.
    async fn call_loader<V, E: Into<LoaderError>>(
        &self,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Error> {
        let counters = self.counters();
        Counters::add(&counters.loader_calls, 1);
        load.await.map_err(|error| {
            Counters::add(&counters.loader_errors, 1);
            Error::Loader(Arc::from(error.into()))
        })
    }

    /// The batch read-through of a product cache: reads every key, calls `loader` **once** with
    /// exactly the keys that were missing, stores what it returns in batch writes and returns
    /// everything found and loaded. Keys the loader does not return are left out; keys it
    /// returns that were not asked for are ignored. The loader is not called when nothing is
    /// missing.
    ///
    /// Concurrent calls in one process share loads: a call whose missing keys another call is
    /// loading waits for that load to end and reads what it stored (through the L1 when there
    /// is one), then calls its loader with only what is still missing. Each key goes to a
    /// loader once, unless the load fails or the store cannot take its values: then the
    /// waiting calls load those keys themselves.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use std::collections::HashMap;
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    ///
    /// let prices: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new(Ttl::days(1.0)));
    /// prices.put("a", &1).await;
    /// let all = prices
    ///     .get_many_or_insert_with(["a", "b"], |missing| async move {
    ///         assert_eq!(missing, vec!["b".to_owned()]);
    ///         Ok::<_, std::io::Error>(HashMap::from([("b".to_owned(), 2)]))
    ///     })
    ///     .await?;
    /// assert_eq!(all, HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key before anything else; [`Error::Loader`] when the loader fails (nothing is
    /// stored). Store failures are logged and counted; keys the store could not read count as
    /// missing.
    pub async fn get_many_or_insert_with<K, F, Fut, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        loader: F,
    ) -> Result<HashMap<String, T>, Error>
    where
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>, E>>,
        E: Into<LoaderError>,
    {
        let keys = self.distinct_keys(keys)?;
        let mark = self.batch_flights().mark();
        let mut result = self.read_many_fail_open(keys.clone()).await;
        let mut missing: Vec<String> = keys
            .into_iter()
            .filter(|key| !result.contains_key(key))
            .collect();
        let lease = self.claim_or_wait(&mut missing, &mut result, mark).await;
        if missing.is_empty() {
            return Ok(result);
        }
        let wanted: HashSet<String> = missing.iter().cloned().collect();
        let mut loaded = self.call_loader(loader(missing)).await?;
        loaded.retain(|key, _| wanted.contains(key));
        self.store_loaded(&loaded).await;
        // Only now may waiters read: what was loaded is in the L1 and the store.
        drop(lease);
        result.extend(loaded);
        Ok(result)
    }

    /// Stampede protection for `missing`: waits for other calls loading any of these keys and
    /// reads what they stored, until this call can claim what is still missing. After a few
    /// rounds of newcomers it loads without a claim: correct, only not coalesced.
    async fn claim_or_wait(
        &self,
        missing: &mut Vec<String>,
        result: &mut HashMap<String, T>,
        mark: u64,
    ) -> Option<Lease<'_>> {
        for _ in 0..MAX_WAIT_ROUNDS {
            if missing.is_empty() {
                return None;
            }
            match self.batch_flights().claim(missing) {
                Claim::Lead(lease) => {
                    // A load that ended after this call read may have stored some of them.
                    if self.batch_flights().ended_since(mark) {
                        self.read_again(missing.clone(), missing, result).await;
                    }
                    return Some(lease);
                }
                Claim::Wait { keys, ends } => {
                    batch_flights::wait_for(ends).await;
                    self.read_again(keys, missing, result).await;
                }
            }
        }
        None
    }

    /// Reads `keys` again, moving what is found out of `missing` into `result`.
    async fn read_again(
        &self,
        keys: Vec<String>,
        missing: &mut Vec<String>,
        result: &mut HashMap<String, T>,
    ) {
        let found = self.read_many_fail_open(keys).await;
        missing.retain(|key| !found.contains_key(key));
        result.extend(found);
    }

    /// Batch read through the L1 (when there is one) and the store; failures are logged and
    /// their keys count as missing.
    async fn read_many_fail_open(&self, keys: Vec<String>) -> HashMap<String, T> {
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let (found, failed) = l1.get_many_or_fetch(self, keys).await;
            self.report_read_failures(&failed);
            return found
                .into_iter()
                .map(|(k, v)| (k, l1.to_owned(v)))
                .collect();
        }
        let (found, failed) = self.fetch_many_from_store(keys).await;
        self.report_read_failures(&failed);
        found.into_iter().map(|(k, f)| (k, f.value)).collect()
    }

    fn report_read_failures(&self, failed: &[BatchFailure]) {
        for failure in failed {
            self.store()
                .report_batch("get_many_or_insert_with", failure);
        }
    }

    /// Writes loaded values in batches, fail-open.
    async fn store_loaded(&self, loaded: &HashMap<String, T>) {
        let now = now_epoch_secs();
        let mut writes = Vec::with_capacity(loaded.len());
        let mut written = Vec::with_capacity(loaded.len());
        for (key, value) in loaded {
            match self.encode(key, value, now) {
                Ok(item) => {
                    written.push(Written::new(key.clone(), value, &item));
                    writes.push(WriteOp::Put(item));
                }
                Err(error) => {
                    Counters::add(&self.counters().store_errors, 1);
                    self.report("get_many_or_insert_with", key, &error);
                }
            }
        }
        if let Err(error) = self.write_batch(writes, written).await {
            self.report_write_error("get_many_or_insert_with", &error);
        }
    }
}
