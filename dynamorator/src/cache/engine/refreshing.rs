//! Background refreshes of stale values: one key at a time for single-key calls, and for
//! batch calls the stale keys met within the refresh window gathered into one loader call.
//! With leases, a key another process is refreshing is left to it.

use super::TARGET;
use std::collections::HashSet;
use std::future::Future;

use futures_util::future::{self, Either};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fail_open::warn_fail_open;
use super::leases::LeaseWait;
use super::policy::KeyState;
use super::refresh::{BatchLoad, Taken, Window};
use super::single::user_load;
use crate::cache::Cache;
use crate::cache::loaded::Loaded;
use crate::codec::Freshness;

/// Background refreshes.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Refreshes one stale key in the background with `loader`, unless it is refreshing or
    /// paused already.
    pub(super) async fn refresh_one_later<F, Fut, V, E>(&self, key: &str, loader: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let taken = self
            .engine()
            .refreshes
            .take(vec![key.to_owned()], self.store.now());
        if taken.is_empty() {
            return;
        }
        // With leases the refresh counts once it holds the key's lease.
        if self.freshness.lease.is_none() {
            self.counters().refreshes_started.add(1);
        }
        let cache = self.clone();
        let refresh = async move { cache.refresh_one(taken, loader).await };
        self.engine().background.spawn_or_run(refresh).await;
    }

    /// Loads one stale key and keeps the new value.
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
            let state = KeyState {
                loading: true,
                ..KeyState::held(Some(Freshness::Stale))
            };
            if let LeaseWait::Elsewhere = self.lease_or_wait(&key, state).await {
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
                tracing::warn!(target: TARGET, key, %error, "dynamorator: background refresh failed; the stale value stays");
            }
        }
    }

    /// Hands stale keys, with the loader, to a background batch refresh.
    pub(super) async fn refresh_later(&self, stale: Vec<String>, load: BatchLoad<T>, now: i64) {
        let taken = self.engine().refreshes.take(stale, now);
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
    pub(super) async fn leased_for_refresh(&self, mut taken: Taken<T>) -> Taken<T> {
        if self.freshness.lease.is_none() || taken.is_empty() {
            return taken;
        }
        let (ours, _) = self.take_leases(taken.keys().to_vec()).await;
        let ours: HashSet<String> = ours.into_iter().collect();
        taken.retain(|key| ours.contains(key));
        taken
    }

    /// Puts taken stale keys, with the loader, in the refresh window; starts what is due.
    pub(super) async fn gather_refresh(&self, keys: Vec<String>, load: BatchLoad<T>) {
        let max = self.freshness.refresh_batch_max;
        let (due, opened) = self.engine().refreshes.gather(keys, load, max);
        for window in due {
            let cache = self.clone();
            let refresh = async move { cache.refresh_window(window).await };
            self.engine().background.spawn_or_run(refresh).await;
        }
        if let Some(timer) = opened {
            let cache = self.clone();
            let wait = self.freshness.refresh_window;
            let close = async move {
                let elapsed = std::pin::pin!(tokio::time::sleep(wait));
                // A window taken early (full) ends its timer: nothing is left to wait for.
                if let Either::Left(_) = future::select(elapsed, timer.taken).await
                    && let Some(window) = cache.engine().refreshes.close(timer.id)
                {
                    cache.refresh_window(window).await;
                }
            };
            self.engine().background.spawn_or_run(close).await;
        }
    }

    /// One batch refresh: the gathered keys, one call of the loader that opened the window.
    async fn refresh_window(&self, window: Window<T>) {
        let taken = self.engine().refreshes.adopt(window.keys);
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
