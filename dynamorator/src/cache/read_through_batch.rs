//! Batch read-through (`get_many_or_insert_with`): one loader call for a call's missing keys,
//! shared key by key with concurrent calls (the `stampede` module's claims) and, with leases,
//! with other processes; stale keys met by separate calls refreshed together in a window.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use futures_util::future::{self, Either};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::Cache;
use super::fail_open::warn_fail_open;
use super::loaded::Loaded;
use super::refresh::{BatchLoad, Taken, Window};
use super::stampede::Claims;
use crate::Error;
use crate::codec::Freshness;
use crate::error::LoaderError;
use crate::store::distinct_keys;

/// Batch read-through.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The batch read-through of a product cache: reads every key, calls `loader` **once** with
    /// exactly the keys that are missing (and no other call in this process is loading), stores
    /// what it returns in batch writes and returns everything found and loaded. Keys the loader
    /// does not return are left out; keys it returns that were not asked for are ignored. The
    /// loader is not called when nothing is missing or stale.
    ///
    /// Concurrent calls in this process share loads key by key: each key goes to one loader
    /// while its load is in flight, however calls overlap. A call whose missing keys another
    /// call is loading waits for that load and reads what it stored; if that load fails (or
    /// the store could not take its values), the key is handed to the oldest waiting call,
    /// which loads it in its one loader call. The `stampede` module docs give the protocol.
    ///
    /// With a [stale window](crate::CacheConfig::stale_for), stale values are returned; a call
    /// with missing keys loads its stale keys with them, in its one loader call; a call with
    /// only stale keys hands them, and its loader, to a background batch refresh, which other
    /// calls' stale keys join within the [refresh window](crate::CacheConfig::refresh_window).
    /// So a refresh may load keys another call met, with this call's loader: a cache's batch
    /// loaders must be interchangeable (they load the same thing).
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
    /// An invalid key before anything else; [`Error::Loader`] when the loader fails, or
    /// [`Error::LoaderTimeout`] at the hard timeout, unless every key it was loading has a
    /// fallback value (nothing is stored). Store failures are logged and counted; keys the
    /// store could not read count as missing.
    #[must_use = "the values, or the loader's error"]
    #[tracing::instrument(
        name = "dynamorator.read_through",
        level = "info",
        skip_all,
        fields(dynamorator.cache = %self.counters().name, dynamorator.keys)
    )]
    pub async fn get_many_or_insert_with<K, F, Fut, V, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        loader: F,
    ) -> Result<HashMap<String, T>, Error>
    where
        T: Clone,
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<String, V>, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let keys = distinct_keys(keys, |key| self.keys.validate(key))?;
        tracing::Span::current().record("dynamorator.keys", keys.len());
        self.generation().await;
        let load = user_batch_load(loader);
        let mark = self.shared.claims.mark();
        let now = self.store.now();
        let mut result = HashMap::with_capacity(keys.len());
        let mut stale = Vec::new();
        let mut fallbacks = HashMap::new();
        for (key, held) in self.read_many_fail_open(keys.clone()).await {
            match held.freshness {
                Freshness::Fresh => {}
                Freshness::Stale => stale.push(key.clone()),
                Freshness::Expired => {
                    fallbacks.insert(key, held.value);
                    continue;
                }
            }
            result.insert(key, held.value);
        }
        self.counters().stale_hits.add(stale.len());
        // Expired keys whose last load failed a moment ago, or that are loading: fallbacks.
        let refreshes = &self.shared.refreshes;
        fallbacks.retain(|key, fallback| {
            if refreshes.is_in_flight(key) || refreshes.is_paused(key, now) {
                self.counters().fail_safe_hits.add(1);
                result.insert(key.clone(), fallback.clone());
                false
            } else {
                true
            }
        });
        let missing: Vec<String> = keys
            .into_iter()
            .filter(|key| !result.contains_key(key))
            .collect();
        if missing.is_empty() {
            self.refresh_later(stale, load, now).await;
            return Ok(into_values(result));
        }
        let refreshing = self
            .leased_for_refresh(self.shared.refreshes.take(stale, now))
            .await;
        self.counters().refreshes_started.add(refreshing.len());
        let mut claims = self.shared.claims.claim(missing);
        // A load that ended between this call's read and its claim may have stored keys it now
        // holds: read those again rather than load them a second time.
        if claims.released_since(mark) && !claims.held().is_empty() {
            let found = self.read_usable(claims.held().to_vec()).await;
            claims.release_found(&found.keys().cloned().collect());
            result.extend(found);
        }
        let stored_by_others = claims.wait().await;
        if !stored_by_others.is_empty() {
            let found = self.read_usable(stored_by_others.clone()).await;
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
        // Keys other processes hold: their fallbacks answer at once; the others are waited
        // for beside this call's own load, so two calls never wait on each other's leases.
        let mut others = Vec::new();
        if !claims.held().is_empty() {
            let (_, elsewhere) = self.take_leases(claims.held().to_vec()).await;
            for key in &elsewhere {
                if let Some(fallback) = fallbacks.get(key) {
                    self.counters().fail_safe_hits.add(1);
                    result.insert(key.clone(), fallback.clone());
                } else {
                    others.push(key.clone());
                }
            }
            self.counters().lease_waits.add(others.len());
            claims.release_found(&elsewhere.into_iter().collect());
        }
        if claims.held().is_empty() {
            // Everything missing was loaded elsewhere: the stale keys need not hold this call
            // up, they go to a background refresh.
            if !refreshing.is_empty() {
                self.gather_refresh(refreshing.into_keys(), load).await;
            }
            result.extend(self.wait_for_others(others).await);
            return Ok(into_values(result));
        }
        let held = claims.held().to_vec();
        let covered = held.iter().all(|key| fallbacks.contains_key(key));
        let own_load = async {
            match self.freshness.soft_timeout {
                Some(soft) if covered => {
                    // Every key it waits for has a fallback: past the soft timeout those answer,
                    // and the load goes on in the background, storing what it loads.
                    let (done, finished) = oneshot::channel();
                    let cache = self.clone();
                    let background = async move {
                        let _ = done.send(cache.load_claimed(claims, refreshing, load).await);
                    };
                    self.shared.background.spawn_or_run(background).await;
                    match tokio::time::timeout(soft, finished).await {
                        Ok(Ok(outcome)) => outcome.map_err(Some),
                        Ok(Err(_)) => Err(None),
                        Err(_) => {
                            self.counters().soft_timeouts.add(1);
                            Err(None)
                        }
                    }
                }
                _ => self
                    .load_claimed(claims, refreshing, load)
                    .await
                    .map_err(Some),
            }
        };
        let (outcome, loaded_elsewhere) =
            future::join(own_load, self.wait_for_others(others)).await;
        result.extend(loaded_elsewhere);
        match outcome {
            Ok(values) => {
                result.extend(values);
                Ok(into_values(result))
            }
            Err(Some(error)) if !covered => Err(error),
            Err(error) => {
                self.counters().fail_safe_hits.add(held.len());
                if let Some(error) = error {
                    self.pause(&held);
                    tracing::warn!(keys = held.len(), %error, "dynamorator: batch load failed; answering with stale values");
                }
                for key in held {
                    if let Some(fallback) = fallbacks.remove(&key) {
                        result.insert(key, fallback);
                    }
                }
                Ok(into_values(result))
            }
        }
    }

    /// One loader call for the keys a batch call holds and its stale keys; keeps what it
    /// returns, then releases the claims (on an error, dropping them hands the keys to the
    /// waiting calls). Stale keys that fail are paused.
    async fn load_claimed(
        &self,
        claims: Claims,
        refreshing: Taken<T>,
        load: BatchLoad<T>,
    ) -> Result<HashMap<String, Arc<T>>, Error> {
        let wanted: Vec<String> = claims
            .held()
            .iter()
            .chain(refreshing.keys())
            .cloned()
            .collect();
        let wanted_set: HashSet<&String> = wanted.iter().collect();
        match self.run_load(load(wanted.clone())).await {
            Ok(mut loaded) => {
                loaded.retain(|key, _| wanted_set.contains(key));
                let (values, stored) = self.keep_many(loaded).await;
                let refreshed = refreshing
                    .keys()
                    .iter()
                    .filter(|key| values.contains_key(*key))
                    .count();
                self.counters().refreshes_succeeded.add(refreshed);
                self.counters()
                    .refreshes_failed
                    .add(refreshing.len() - refreshed);
                // Only now may waiters read: what was stored is in the L1 and the store.
                claims.release(&stored);
                Ok(values)
            }
            Err(error) => {
                self.counters().refreshes_failed.add(refreshing.len());
                self.pause(refreshing.keys());
                self.release_leases(&wanted).await;
                Err(error)
            }
        }
    }

    /// Fresh or stale values of these keys (no fallbacks), fail-open.
    pub(super) async fn read_usable(&self, keys: Vec<String>) -> HashMap<String, Arc<T>> {
        self.read_many_fail_open(keys)
            .await
            .into_iter()
            .filter(|(_, held)| held.freshness != Freshness::Expired)
            .map(|(key, held)| (key, held.value))
            .collect()
    }

    /// Hands stale keys, with the loader, to a background batch refresh.
    async fn refresh_later(&self, stale: Vec<String>, load: BatchLoad<T>, now: i64) {
        let taken = self.shared.refreshes.take(stale, now);
        if taken.is_empty() {
            return;
        }
        // With leases, a key counts once its refresh holds the lease.
        if self.freshness.lease.is_none() {
            self.counters().refreshes_started.add(taken.len());
        }
        self.gather_refresh(taken.into_keys(), load).await;
    }

    /// With leases, keeps the stale keys whose lease this process takes: another process
    /// refreshing a key is as good, and its stale value answers meanwhile.
    async fn leased_for_refresh(&self, mut taken: Taken<T>) -> Taken<T> {
        if self.freshness.lease.is_none() || taken.is_empty() {
            return taken;
        }
        let (ours, _) = self.take_leases(taken.keys().to_vec()).await;
        let ours: HashSet<String> = ours.into_iter().collect();
        taken.retain(|key| ours.contains(key));
        taken
    }

    /// Puts taken stale keys, with the loader, in the refresh window; starts what is due.
    async fn gather_refresh(&self, keys: Vec<String>, load: BatchLoad<T>) {
        let max = self.freshness.refresh_batch_max;
        let (due, opened) = self.shared.refreshes.gather(keys, load, max);
        for window in due {
            let cache = self.clone();
            let refresh = async move { cache.refresh_window(window).await };
            self.shared.background.spawn_or_run(refresh).await;
        }
        if let Some(timer) = opened {
            let cache = self.clone();
            let wait = self.freshness.refresh_window;
            let close = async move {
                let elapsed = std::pin::pin!(tokio::time::sleep(wait));
                // A window taken early (full) ends its timer: nothing is left to wait for.
                if let Either::Left(_) = future::select(elapsed, timer.taken).await
                    && let Some(window) = cache.shared.refreshes.close(timer.id)
                {
                    cache.refresh_window(window).await;
                }
            };
            self.shared.background.spawn_or_run(close).await;
        }
    }

    /// One batch refresh: the gathered keys, one call of the loader that opened the window.
    async fn refresh_window(&self, window: Window<T>) {
        let taken = self.shared.refreshes.adopt(window.keys);
        let taken = if self.freshness.lease.is_some() {
            let taken = self.leased_for_refresh(taken).await;
            self.counters().refreshes_started.add(taken.len());
            if taken.is_empty() {
                return;
            }
            taken
        } else {
            taken
        };
        let asked = taken.len();
        match self.run_load((window.load)(taken.keys().to_vec())).await {
            Ok(mut loaded) => {
                let wanted: HashSet<&String> = taken.keys().iter().collect();
                loaded.retain(|key, _| wanted.contains(key));
                let (values, _) = self.keep_many(loaded).await;
                self.counters().refreshes_succeeded.add(values.len());
                self.counters().refreshes_failed.add(asked - values.len());
            }
            Err(error) => {
                self.counters().refreshes_failed.add(asked);
                self.pause(taken.keys());
                self.release_leases(taken.keys()).await;
                warn_fail_open("batch refresh", "", &error);
            }
        }
    }
}

/// A batch loader boxed, so a refresh window can keep it whatever its type.
fn user_batch_load<T, F, Fut, V, E>(loader: F) -> BatchLoad<T>
where
    F: FnOnce(Vec<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<HashMap<String, V>, E>> + Send + 'static,
    V: Into<Loaded<T>>,
    E: std::error::Error + Send + Sync + 'static,
{
    Box::new(move |keys| {
        Box::pin(async move {
            match loader(keys).await {
                Ok(values) => Ok(values
                    .into_iter()
                    .map(|(key, value)| (key, value.into()))
                    .collect()),
                Err(error) => Err(Error::Loader(LoaderError::new(error))),
            }
        })
    })
}

fn into_values<T: Clone>(values: HashMap<String, Arc<T>>) -> HashMap<String, T> {
    values
        .into_iter()
        .map(|(key, value)| (key, Arc::unwrap_or_clone(value)))
        .collect()
}
