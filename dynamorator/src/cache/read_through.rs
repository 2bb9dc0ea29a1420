//! Read-through memoisation: get a value, or compute it once, store it and return it.
//!
//! Fail-open: when the store fails, the value is still computed and returned (the failure is
//! logged and counted). A loader error is returned and nothing is stored. How concurrent calls
//! share loads is the `stampede` module's subject.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use super::l1::Lookup;
use super::stats::Counters;
use crate::error::LoaderError;
use crate::store::distinct_keys;
use crate::{BatchFailure, Error};

/// Read-through.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Returns the value under `key`, or runs `loader`, stores what it returns (with the
    /// cache's TTL) and returns that. Concurrent calls for the same key in this process share
    /// one run of one loader.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let squares: Cache<u64> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let value = squares.get_or_insert_with("12", || async { Ok::<_, std::io::Error>(144) }).await?;
    /// assert_eq!(value, 144);
    /// // The second call is a hit: the loader is not called.
    /// let again = squares
    ///     .get_or_insert_with("12", || async { Err(std::io::Error::other("not called")) })
    ///     .await?;
    /// assert_eq!(again, 144);
    /// # Ok(()) }
    /// ```
    ///
    /// The loader's error type is any `std::error::Error + Send + Sync + 'static`; an
    /// `anyhow::Error` goes through `std::io::Error::other`.
    ///
    /// # Errors
    ///
    /// [`Error::Loader`] when the loader fails (nothing is stored; [`Error::loader_error`]
    /// gives the loader's error back typed), or an invalid key. Store failures are not errors
    /// here: they are logged, counted, and the loader's value is returned.
    #[must_use = "the value, or the loader's error"]
    pub async fn get_or_insert_with<F, Fut, E>(&self, key: &str, loader: F) -> Result<T, Error>
    where
        T: Clone,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.get_arc_or_insert_with(key, loader)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`get_or_insert_with`](Cache::get_or_insert_with) returning the shared value, for types
    /// that are not `Clone` or are costly to clone.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<Vec<u8>> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let blob = cache
    ///     .get_arc_or_insert_with("blob", || async { Ok::<_, std::io::Error>(vec![0; 1024]) })
    ///     .await?;
    /// assert_eq!(blob.len(), 1024);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_or_insert_with`](Cache::get_or_insert_with).
    #[must_use = "the value, or the loader's error"]
    pub async fn get_arc_or_insert_with<F, Fut, E>(
        &self,
        key: &str,
        loader: F,
    ) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.keys.validate(key)?;
        let known_absent = match self.shared.l1.lookup(key, self.counters()) {
            Lookup::Hit(value) => return Ok(value),
            Lookup::Absent => true,
            Lookup::Unknown => false,
        };
        self.shared
            .loads
            .run(key, || async {
                // A remembered miss goes straight to the loader.
                if !known_absent {
                    match self.fetch_from_store(key).await {
                        Ok(Some(decoded)) => {
                            let value = Arc::new(decoded.value);
                            self.shared.l1.insert(
                                key.to_owned(),
                                value.clone(),
                                decoded.expires_at,
                                decoded.size,
                            );
                            return Ok(value);
                        }
                        Ok(None) => {}
                        // Fail-open: the loader still runs.
                        Err(error) => warn_fail_open("get_or_insert_with", key, &error),
                    }
                }
                self.load_and_store(key, loader).await
            })
            .await
    }

    async fn load_and_store<F, Fut, E>(&self, key: &str, loader: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let value = Arc::new(self.call_loader(loader()).await?);
        let stored = match self.encode(key, &value, self.store.now()) {
            Ok((item, written)) => {
                let (expires_at, size) = (written.expires_at, written.size);
                self.store.put_item(item).await.map(|()| (expires_at, size))
            }
            Err(error) => Err(error),
        };
        match stored {
            Ok((expires_at, size)) => {
                self.shared
                    .l1
                    .insert(key.to_owned(), value.clone(), expires_at, size);
            }
            Err(error) => {
                Counters::add(&self.counters().store_errors, 1);
                warn_fail_open("get_or_insert_with", key, &error);
            }
        }
        Ok(value)
    }

    /// Runs a loader, counting the call and its failure.
    async fn call_loader<V, E>(&self, load: impl Future<Output = Result<V, E>>) -> Result<V, Error>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let counters = self.counters();
        Counters::add(&counters.loader_calls, 1);
        load.await.map_err(|error| {
            Counters::add(&counters.loader_errors, 1);
            Error::Loader(LoaderError::new(error))
        })
    }

    /// The batch read-through of a product cache: reads every key, calls `loader` **once** with
    /// exactly the keys that are missing (and no other call in this process is loading), stores
    /// what it returns in batch writes and returns everything found and loaded. Keys the loader
    /// does not return are left out; keys it returns that were not asked for are ignored. The
    /// loader is not called when nothing is missing.
    ///
    /// Concurrent calls in this process share loads key by key: each key goes to one loader
    /// while its load is in flight, however calls overlap. A call whose missing keys another
    /// call is loading waits for that load and reads what it stored; if that load fails (or
    /// the store could not take its values), the key is handed to the oldest waiting call,
    /// which loads it in its one loader call. The `stampede` module docs give the protocol.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use std::collections::HashMap;
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let prices: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// prices.put("a", &1).await?;
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
    #[must_use = "the values, or the loader's error"]
    pub async fn get_many_or_insert_with<K, F, Fut, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        loader: F,
    ) -> Result<HashMap<String, T>, Error>
    where
        T: Clone,
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, T>, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let keys = distinct_keys(keys, |key| self.keys.validate(key))?;
        let mark = self.shared.claims.mark();
        let mut result = self.read_many_fail_open(keys.clone()).await;
        let missing: Vec<String> = keys
            .into_iter()
            .filter(|key| !result.contains_key(key))
            .collect();
        if missing.is_empty() {
            return Ok(result);
        }
        let mut claims = self.shared.claims.claim(missing);
        // A load that ended between this call's read and its claim may have stored keys it now
        // holds: read those again rather than load them a second time.
        if claims.released_since(mark) && !claims.held().is_empty() {
            let found = self.read_many_fail_open(claims.held().to_vec()).await;
            claims.release_found(&found.keys().cloned().collect());
            result.extend(found);
        }
        let stored_by_others = claims.wait().await;
        if !stored_by_others.is_empty() {
            let found = self.read_many_fail_open(stored_by_others.clone()).await;
            let unread: Vec<String> = stored_by_others
                .into_iter()
                .filter(|key| !found.contains_key(key))
                .collect();
            result.extend(found);
            for key in claims.claim_again(unread) {
                tracing::warn!(
                    key,
                    "dynamorator: a loaded value could not be read back and another call is \
                     loading it now; left out of this answer"
                );
            }
        }
        if claims.held().is_empty() {
            return Ok(result);
        }
        let wanted: HashSet<String> = claims.held().iter().cloned().collect();
        // On a loader error `claims` is dropped, which hands its keys to the waiting calls.
        let mut loaded = self.call_loader(loader(claims.held().to_vec())).await?;
        loaded.retain(|key, _| wanted.contains(key));
        let stored = self.store_loaded(&loaded).await;
        // Only now may waiters read: what was stored is in the L1 and the store.
        claims.release(&stored);
        result.extend(loaded);
        Ok(result)
    }

    /// Batch read through the L1 and the store; failures are logged and their keys count as
    /// missing.
    async fn read_many_fail_open(&self, keys: Vec<String>) -> HashMap<String, T>
    where
        T: Clone,
    {
        let (found, failed) = self.read_layers(keys).await;
        for failure in &failed {
            warn_batch_fail_open(failure);
        }
        found
            .into_iter()
            .map(|(key, value)| (key, Arc::unwrap_or_clone(value)))
            .collect()
    }

    /// Writes loaded values in batches, fail-open; returns the keys that were stored.
    async fn store_loaded(&self, loaded: &HashMap<String, T>) -> HashSet<String>
    where
        T: Clone,
    {
        let now = self.store.now();
        let mut items = Vec::with_capacity(loaded.len());
        let mut written = Vec::with_capacity(loaded.len());
        for (key, value) in loaded {
            match self.encode(key, value, now) {
                Ok((item, write)) => {
                    items.push(item);
                    written.push(write);
                }
                Err(error) => {
                    Counters::add(&self.counters().store_errors, 1);
                    warn_fail_open("get_many_or_insert_with", key, &error);
                }
            }
        }
        let mut stored: HashSet<String> = written.iter().map(|w| w.key.clone()).collect();
        match self.store_written(items, written).await {
            Ok(()) => {}
            Err(Error::Incomplete { failures, .. }) => {
                for failure in &failures {
                    warn_batch_fail_open(failure);
                    failure.keys.iter().for_each(|key| {
                        stored.remove(key);
                    });
                }
            }
            Err(error) => {
                warn_fail_open("get_many_or_insert_with", "", &error);
                stored.clear();
            }
        }
        stored
    }
}

/// Logs a store failure that read-through answered past.
fn warn_fail_open(operation: &'static str, key: &str, error: &Error) {
    tracing::warn!(operation, key, %error, "dynamorator: store failed; answering from the loader");
}

/// Logs a batch failure that read-through answered past, naming how many keys it cost.
fn warn_batch_fail_open(failure: &BatchFailure) {
    let first = failure.keys.first().map(String::as_str).unwrap_or_default();
    tracing::warn!(
        operation = "get_many_or_insert_with",
        first_key = first,
        keys = failure.keys.len(),
        error = %failure.error,
        "dynamorator: store failed; answering from the loader"
    );
}
