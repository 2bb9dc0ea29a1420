//! The single-key flow of read-through (`get_or_insert_with` and `get_arc_or_insert_with`):
//! the L1, then one store read shared by concurrent callers, then what the policy decides.

use super::TARGET;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::leases::LeaseWait;
use super::policy::{Action, AfterFailure, KeyState, Waiting, after_failure, decide, waiting};
use crate::Error;
use crate::cache::Cache;
use crate::cache::l1::{Held, Lookup};
use crate::cache::loaded::Loaded;
use crate::codec::Freshness;
use crate::error::LoaderError;

/// The single-key flow.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Read-through of one key, already checked: concurrent calls for it in this process
    /// share one store read and one load.
    pub(crate) async fn read_through_one<F, Fut, V, E>(
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
        self.catch_up().await;
        let known_absent = match self.shared.l1.lookup(key, self.counters()) {
            Lookup::Hit(held) => {
                let state = self
                    .engine()
                    .state_of(key, Some(held.freshness), || self.store.now());
                match decide(state) {
                    // A fresh hit answers here, before any other future is made.
                    Action::Serve if held.freshness == Freshness::Fresh => {
                        return Ok(held.value);
                    }
                    action @ (Action::Serve | Action::ServeAndRefresh) => {
                        let answer = self.serve(key, held, action, loader).await;
                        return Ok(self.counted(answer));
                    }
                    // The L1 ends its entries at expiry; were one met, the store decides.
                    _ => false,
                }
            }
            Lookup::Absent => true,
            Lookup::Unknown => false,
        };
        let answer = self
            .engine()
            .loads
            .run(key, move || async move {
                // A remembered miss goes straight to the loader.
                let held = match known_absent {
                    true => None,
                    false => self.read_one_fail_open(key).await,
                };
                let state =
                    self.engine()
                        .state_of(key, held.as_ref().map(|held| held.freshness), || {
                            self.store.now()
                        });
                match (decide(state), held) {
                    (action @ (Action::Serve | Action::ServeAndRefresh), Some(held)) => {
                        Ok(self.serve(key, held, action, loader).await)
                    }
                    (Action::FallBack, Some(held)) => Ok(Answer::fallback(held.value)),
                    (_, held) => {
                        self.load_in_front(key, loader, held.map(|held| held.value), state)
                            .await
                    }
                }
            })
            .await?;
        // Counted here, by each caller: concurrent callers share one answer.
        Ok(self.counted(answer))
    }

    /// Counts how `answer` was served (a stale value, a fail-safe fallback) for one caller.
    fn counted(&self, answer: Answer<T>) -> Arc<T> {
        match answer.served {
            Served::Current => {}
            Served::Stale => self.counters().stale_hits.add(1),
            Served::FailSafe => self.counters().fail_safe_hits.add(1),
        }
        answer.value
    }

    /// Answers with a value read; a stale one starts its refresh when the policy says so.
    async fn serve<F, Fut, V, E>(
        &self,
        key: &str,
        held: Held<T>,
        action: Action,
        loader: F,
    ) -> Answer<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        if action == Action::ServeAndRefresh {
            self.refresh_one_later(key, loader).await;
        }
        Answer {
            value: held.value,
            served: match held.freshness {
                Freshness::Stale => Served::Stale,
                _ => Served::Current,
            },
        }
    }

    /// Loads a key the caller waits for: absent, or expired with `fallback` still stored.
    async fn load_in_front<F, Fut, V, E>(
        &self,
        key: &str,
        loader: F,
        fallback: Option<Arc<T>>,
        state: KeyState,
    ) -> Result<Answer<T>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        match self.lease_or_wait(key, state).await {
            LeaseWait::Hold | LeaseWait::Unavailable => {}
            LeaseWait::Found(held) => return Ok(Answer::current(held.value)),
            // Another process is loading it: the fallback answers meanwhile.
            LeaseWait::Elsewhere => {
                if let Some(fallback) = fallback {
                    return Ok(Answer::fallback(fallback));
                }
            }
        }
        let soft = self.freshness.soft_timeout;
        match (waiting(fallback.is_some(), soft.is_some()), fallback, soft) {
            (Waiting::UpToSoftTimeout, Some(fallback), Some(soft)) => {
                Ok(self.load_within(key, loader, fallback, soft).await)
            }
            (_, fallback, _) => match self.run_load(user_load(loader)).await {
                Ok(loaded) => Ok(Answer::current(self.keep_one(key, loaded).await.0)),
                Err(error) => {
                    self.release_leases(&[key.to_owned()]).await;
                    match (after_failure(fallback.is_some()), fallback) {
                        (AfterFailure::FallBack, Some(fallback)) => {
                            Ok(self.fail_safe(key, fallback, Some(&error)))
                        }
                        _ => Err(error),
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
    ) -> Answer<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        // Taken, so the callers after this one serve the fallback instead of loading again.
        let taken = self
            .engine()
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
        self.engine().background.spawn_or_run(load).await;
        match tokio::time::timeout(soft, result).await {
            Ok(Ok(Ok(value))) => Answer::current(value),
            Ok(Ok(Err(error))) => self.fail_safe(key, fallback, Some(&error)),
            Ok(Err(_)) => self.fail_safe(key, fallback, None),
            Err(_) => {
                self.counters().soft_timeouts.add(1);
                self.fail_safe(key, fallback, None)
            }
        }
    }

    /// Answers with a fallback after a failed or slow load, pausing the key's loads.
    fn fail_safe(&self, key: &str, fallback: Arc<T>, error: Option<&Error>) -> Answer<T> {
        if let Some(error) = error {
            self.pause(&[key.to_owned()]);
            tracing::warn!(target: TARGET, key, %error, "dynamorator: load failed; answering with the stale value");
        }
        Answer::fallback(fallback)
    }

    /// No load of these keys for the fail-safe throttle.
    pub(super) fn pause(&self, keys: &[String]) {
        let now = self.store.now();
        let until = self.freshness.throttled_until(now);
        self.engine().refreshes.pause(keys, until, now);
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

/// What a single-key read-through answers, and how: concurrent callers share one, and each
/// counts how it was served.
pub(crate) struct Answer<T> {
    value: Arc<T>,
    served: Served,
}

// By hand: cloning clones the `Arc`, whether or not `T` is `Clone`.
impl<T> Clone for Answer<T> {
    fn clone(&self) -> Self {
        Answer {
            value: self.value.clone(),
            served: self.served,
        }
    }
}

impl<T> Answer<T> {
    fn current(value: Arc<T>) -> Self {
        Answer {
            value,
            served: Served::Current,
        }
    }

    fn fallback(value: Arc<T>) -> Self {
        Answer {
            value,
            served: Served::FailSafe,
        }
    }
}

/// How an answer was served, for the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// A fresh stored value, or one just loaded.
    Current,
    /// A stale value, while a refresh loads (`stale_hits`).
    Stale,
    /// A fallback after a load failed, timed out, was paused or runs in another process
    /// (`fail_safe_hits`).
    FailSafe,
}

/// A single-key loader with its output made uniform.
pub(super) async fn user_load<T, F, Fut, V, E>(loader: F) -> Result<Loaded<T>, Error>
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
