//! Read-through memoisation: get a value, or compute it once, store it and return it; with
//! stale-while-revalidate, fail-safe fallbacks and loader timeouts.
//!
//! Fail-open: when the store fails, the value is still computed and returned (the failure is
//! logged and counted). How concurrent calls share loads is the `stampede` module's subject.
//! This file has the single-key form and what both forms share; `read_through_batch` the
//! batch form.
//!
//! Where a key is on its timeline decides what a read does:
//! - fresh: the value is returned;
//! - stale (past the TTL, inside the stale window): the value is returned at once and one
//!   background refresh loads a new one (single-key calls refresh with their own loader, one
//!   refresh per key at a time; batch calls gather stale keys met within the refresh window
//!   into one batch loader call);
//! - expired, or absent: the loader runs while the caller waits; an expired value still
//!   stored within the fail-safe maximum is the fallback if the load fails or times out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::Cache;
use super::fleet::LeaseWait;
use super::l1::{Held, Lookup};
use super::loaded::Loaded;
use super::refresh::Taken;
use crate::Error;
use crate::codec::Freshness;
use crate::error::LoaderError;

/// Read-through.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Returns the value under `key`, or runs `loader`, stores what it returns and returns
    /// that. Concurrent calls for the same key in this process share one run of one loader.
    ///
    /// With a [stale window](crate::CacheConfig::stale_for), a stale value is returned at once
    /// and `loader` refreshes it in the background; so the loader is `Send + 'static` (move
    /// what it needs into it). It returns `T`, or a [`Loaded<T>`] to choose its own horizons
    /// or not to be stored.
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
    ///     .get_or_insert_with("12", || async { Err::<u64, _>(std::io::Error::other("not called")) })
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
    /// [`Error::Loader`] when the loader fails, or [`Error::LoaderTimeout`] when it passes the
    /// hard timeout, and there is no fallback value (nothing is stored; [`Error::loader_error`]
    /// gives the loader's error back typed); an invalid key. Store failures are not errors
    /// here: they are logged, counted, and the loader's value is returned.
    #[must_use = "the value, or the loader's error"]
    pub async fn get_or_insert_with<F, Fut, V, E>(&self, key: &str, loader: F) -> Result<T, Error>
    where
        T: Clone,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
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
    #[tracing::instrument(
        name = "dynamorator.read_through",
        level = "info",
        skip_all,
        fields(dynamorator.cache = %self.counters().name, dynamorator.keys = 1)
    )]
    pub async fn get_arc_or_insert_with<F, Fut, V, E>(
        &self,
        key: &str,
        loader: F,
    ) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.keys.validate(key)?;
        self.generation().await;
        let known_absent = match self.shared.l1.lookup(key, self.counters()) {
            Lookup::Hit(held) => return Ok(self.answer(key, held, loader).await),
            Lookup::Absent => true,
            Lookup::Unknown => false,
        };
        self.shared
            .loads
            .run(key, move || async move {
                let mut fallback = None;
                // A remembered miss goes straight to the loader.
                if !known_absent && let Some(held) = self.read_one_fail_open(key).await {
                    if held.freshness == Freshness::Expired {
                        fallback = Some(held.value);
                    } else {
                        return Ok(self.answer(key, held, loader).await);
                    }
                }
                self.load_in_front(key, loader, fallback).await
            })
            .await
    }

    /// What [`get_arc_or_insert_with`](Cache::get_arc_or_insert_with) answers for `key` when
    /// it answers at once from the L1 (a valid key, no generation poll due, a fresh value held),
    /// counted and traced as that call; `None` when it would do anything else, which then
    /// decides. For callers that keep their loader unbuilt until it may run (`#[memoize]`).
    pub(crate) fn fresh_hit(&self, key: &str) -> Option<Arc<T>> {
        if self.keys.validate(key).is_err() || self.generation_due() {
            return None;
        }
        let value = self.shared.l1.fresh(key, self.counters())?;
        // The span the full call has, for the same answer.
        let _span = tracing::info_span!(
            "dynamorator.read_through",
            dynamorator.cache = %self.counters().name,
            dynamorator.keys = 1
        );
        Some(value)
    }

    /// A fresh or stale value read; a stale one starts its refresh.
    async fn answer<F, Fut, V, E>(&self, key: &str, held: Held<T>, loader: F) -> Arc<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        if held.freshness == Freshness::Stale {
            self.counters().stale_hits.add(1);
            let taken = self
                .shared
                .refreshes
                .take(vec![key.to_owned()], self.store.now());
            if !taken.is_empty() {
                // With leases the refresh counts once it holds the key's lease.
                if self.freshness.lease.is_none() {
                    self.counters().refreshes_started.add(1);
                }
                let cache = self.clone();
                let refresh = async move { cache.refresh_one(taken, loader).await };
                self.shared.background.spawn_or_run(refresh).await;
            }
        }
        held.value
    }

    /// Loads one stale key in the background and keeps the new value.
    async fn refresh_one<F, Fut, V, E>(&self, taken: Taken<T>, loader: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let Some(key) = taken.keys().first().cloned() else {
            return;
        };
        if self.freshness.lease.is_some() {
            // Another process refreshing it, or having refreshed it, is as good: read what it
            // stored (the L1 takes it if it is there), else the stale value stays until then.
            if let LeaseWait::Elsewhere = self.lease_or_wait(&key, true).await {
                self.read_one_fail_open(&key).await;
                return;
            }
            self.counters().refreshes_started.add(1);
        }
        match self.run_load(user_load(loader)).await {
            Ok(loaded) => {
                self.keep_one(&key, loaded).await;
                self.counters().refreshes_succeeded.add(1);
            }
            Err(error) => {
                self.counters().refreshes_failed.add(1);
                self.pause(std::slice::from_ref(&key));
                self.release_leases(std::slice::from_ref(&key)).await;
                tracing::warn!(key, %error, "dynamorator: background refresh failed; the stale value stays");
            }
        }
    }

    /// Loads a key the caller waits for: absent, or expired with `fallback` still stored.
    async fn load_in_front<F, Fut, V, E>(
        &self,
        key: &str,
        loader: F,
        fallback: Option<Arc<T>>,
    ) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        if let Some(fallback) = &fallback {
            let refreshes = &self.shared.refreshes;
            // A load of it is already under way (past a soft timeout), or it failed a moment
            // ago: the fallback answers rather than another load.
            if refreshes.is_in_flight(key) || refreshes.is_paused(key, self.store.now()) {
                self.counters().fail_safe_hits.add(1);
                return Ok(fallback.clone());
            }
        }
        match self.lease_or_wait(key, fallback.is_some()).await {
            LeaseWait::Hold | LeaseWait::Unavailable => {}
            LeaseWait::Found(held) => return Ok(held.value),
            // Another process is loading it: the fallback answers meanwhile.
            LeaseWait::Elsewhere => {
                if let Some(fallback) = fallback {
                    self.counters().fail_safe_hits.add(1);
                    return Ok(fallback);
                }
            }
        }
        match (fallback, self.freshness.soft_timeout) {
            (Some(fallback), Some(soft)) => Ok(self.load_within(key, loader, fallback, soft).await),
            (fallback, _) => match self.run_load(user_load(loader)).await {
                Ok(loaded) => Ok(self.keep_one(key, loaded).await.0),
                Err(error) => {
                    self.release_leases(&[key.to_owned()]).await;
                    match fallback {
                        Some(fallback) => Ok(self.fail_safe(key, fallback, Some(&error))),
                        None => Err(error),
                    }
                }
            },
        }
    }

    /// Loads in the background, waiting `soft` at most: past it the fallback answers and the
    /// load goes on, storing its value when it ends.
    async fn load_within<F, Fut, V, E>(
        &self,
        key: &str,
        loader: F,
        fallback: Arc<T>,
        soft: Duration,
    ) -> Arc<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        // Taken, so the callers after this one serve the fallback instead of loading again.
        let taken = self
            .shared
            .refreshes
            .take(vec![key.to_owned()], self.store.now());
        let (done, result) = oneshot::channel();
        let cache = self.clone();
        let owned_key = key.to_owned();
        let load = async move {
            let _taken = taken;
            let outcome = match cache.run_load(user_load(loader)).await {
                Ok(loaded) => Ok(cache.keep_one(&owned_key, loaded).await.0),
                Err(error) => {
                    cache.pause(std::slice::from_ref(&owned_key));
                    cache.release_leases(std::slice::from_ref(&owned_key)).await;
                    Err(error)
                }
            };
            // The caller may have gone with its fallback; the value is kept all the same.
            let _ = done.send(outcome);
        };
        self.shared.background.spawn_or_run(load).await;
        match tokio::time::timeout(soft, result).await {
            Ok(Ok(Ok(value))) => value,
            Ok(Ok(Err(error))) => self.fail_safe(key, fallback, Some(&error)),
            Ok(Err(_)) => self.fail_safe(key, fallback, None),
            Err(_) => {
                self.counters().soft_timeouts.add(1);
                self.fail_safe(key, fallback, None)
            }
        }
    }

    /// Answers with a fallback after a failed or slow load, pausing the key's loads.
    fn fail_safe(&self, key: &str, fallback: Arc<T>, error: Option<&Error>) -> Arc<T> {
        self.counters().fail_safe_hits.add(1);
        if let Some(error) = error {
            self.pause(&[key.to_owned()]);
            tracing::warn!(key, %error, "dynamorator: load failed; answering with the stale value");
        }
        fallback
    }

    /// No load of these keys for the fail-safe throttle.
    pub(super) fn pause(&self, keys: &[String]) {
        let now = self.store.now();
        let until = self.freshness.throttled_until(now);
        self.shared.refreshes.pause(keys, until, now);
    }

    /// Runs a load, counting the call and its failure, abandoned at the hard timeout.
    pub(super) async fn run_load<V>(
        &self,
        load: impl Future<Output = Result<V, Error>>,
    ) -> Result<V, Error> {
        let counters = self.counters();
        counters.loader_calls.add(1);
        let load = counters.loader_duration.time(load);
        let result = match self.freshness.hard_timeout {
            // tokio's timer needs a runtime; outside one the load runs without the limit.
            Some(limit) if tokio::runtime::Handle::try_current().is_ok() => {
                match tokio::time::timeout(limit, load).await {
                    Ok(result) => result,
                    Err(_) => {
                        counters.hard_timeouts.add(1);
                        return Err(Error::LoaderTimeout { after: limit });
                    }
                }
            }
            _ => load.await,
        };
        if result.is_err() {
            counters.loader_errors.add(1);
        }
        result
    }
}

/// A single-key loader with its output made uniform.
async fn user_load<T, F, Fut, V, E>(loader: F) -> Result<Loaded<T>, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, E>>,
    V: Into<Loaded<T>>,
    E: std::error::Error + Send + Sync + 'static,
{
    match loader().await {
        Ok(value) => Ok(value.into()),
        Err(error) => Err(Error::Loader(LoaderError::new(error))),
    }
}
