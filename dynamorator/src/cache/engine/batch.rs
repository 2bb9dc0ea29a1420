//! The batch flow of read-through (`get_many_or_insert_with`), in phases: read and class every
//! key by the policy; claim the keys to load from concurrent calls of this process; take their
//! leases from other processes; load what this call holds, once, and answer.

use super::TARGET;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::policy::{Action, AfterFailure, KeyState, Waiting, after_failure, decide, waiting};
use super::refresh::{BatchLoad, Taken};
use super::stampede::Claims;
use crate::Error;
use crate::cache::Cache;
use crate::codec::Freshness;

/// Where a batch call stands: what it answers with so far, and what it still has to load.
struct Batch<T> {
    /// Values the call answers with: fresh, stale, fallbacks the policy chose, loaded ones.
    answer: HashMap<String, Arc<T>>,
    /// Expired values still stored, of keys the call loads: the answer if their load fails.
    fallbacks: HashMap<String, Arc<T>>,
}

/// The batch flow.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Batch read-through of distinct, checked keys: one call of `load` at most, with the keys
    /// this call holds and its stale keys.
    pub(crate) async fn read_through_many(
        &self,
        keys: Vec<String>,
        load: BatchLoad<T>,
    ) -> Result<HashMap<String, Arc<T>>, Error> {
        self.catch_up().await;
        let mark = self.engine().claims.mark();
        let now = self.store.now();
        let (mut batch, stale, missing) = self.read_and_class(keys, now).await;
        if missing.is_empty() {
            self.refresh_later(stale, load, now).await;
            return Ok(batch.answer);
        }
        let refreshing = self
            .leased_for_refresh(self.engine().refreshes.take(stale, now))
            .await;
        self.counters().refreshes_started.add(refreshing.len());
        let mut claims = self.claim(&mut batch, missing, mark).await;
        let others = self.lease(&mut batch, &mut claims).await;
        if claims.held().is_empty() {
            // Everything missing was loaded elsewhere: the stale keys need not hold this call
            // up, they go to a background refresh.
            if !refreshing.is_empty() {
                self.gather_refresh(refreshing.into_keys(), load).await;
            }
            batch.answer.extend(self.wait_for_others(others).await);
            return Ok(batch.answer);
        }
        self.load_and_answer(batch, claims, refreshing, load, others)
            .await
    }

    /// Phase 1: reads every key (L1, then one batch read of the store) and classes each by
    /// the policy. Returns the call so far, the stale keys to refresh and the keys to load.
    async fn read_and_class(
        &self,
        keys: Vec<String>,
        now: i64,
    ) -> (Batch<T>, Vec<String>, Vec<String>) {
        let mut batch = Batch {
            answer: HashMap::with_capacity(keys.len()),
            fallbacks: HashMap::new(),
        };
        let mut stale = Vec::new();
        let mut stale_hits = 0;
        for (key, held) in self.read_many_fail_open(keys.clone()).await {
            if held.freshness == Freshness::Stale {
                stale_hits += 1;
            }
            let state = self.engine().state_of(&key, Some(held.freshness), || now);
            match decide(state) {
                Action::Serve => {}
                Action::ServeAndRefresh => stale.push(key.clone()),
                Action::FallBack => self.counters().fail_safe_hits.add(1),
                Action::Load | Action::Wait => {
                    batch.fallbacks.insert(key, held.value);
                    continue;
                }
            }
            batch.answer.insert(key, held.value);
        }
        self.counters().stale_hits.add(stale_hits);
        let missing = keys
            .into_iter()
            .filter(|key| !batch.answer.contains_key(key))
            .collect();
        (batch, stale, missing)
    }

    /// Phase 2: claims the missing keys no other call of this process is loading, and waits
    /// for the calls loading the others, reading back what they stored.
    async fn claim(&self, batch: &mut Batch<T>, missing: Vec<String>, mark: u64) -> Claims {
        let mut claims = self.engine().claims.claim(missing);
        // A load that ended between this call's read and its claim may have stored keys it now
        // holds: read those again rather than load them a second time.
        if claims.released_since(mark) && !claims.held().is_empty() {
            let found = self.read_usable(claims.held().to_vec()).await;
            claims.release_found(&found.keys().cloned().collect());
            batch.answer.extend(found);
        }
        let stored_by_others = claims.wait().await;
        if !stored_by_others.is_empty() {
            let found = self.read_usable(stored_by_others.clone()).await;
            let unread: Vec<String> = stored_by_others
                .into_iter()
                .filter(|key| !found.contains_key(key))
                .collect();
            batch.answer.extend(found);
            for key in claims.claim_again(unread) {
                tracing::warn!(
                    target: TARGET,
                    key,
                    "dynamorator: a loaded value could not be read back and another call is \
                     loading it now; left out of this answer"
                );
            }
        }
        claims
    }

    /// Phase 3: takes the leases of the keys this call holds. Keys other processes hold leave
    /// the call's claims: the policy answers them with their fallback, or they are waited for
    /// beside this call's own load (returned), so two calls never wait on each other's leases.
    async fn lease(&self, batch: &mut Batch<T>, claims: &mut Claims) -> Vec<String> {
        let mut others = Vec::new();
        if claims.held().is_empty() {
            return others;
        }
        let (_, elsewhere) = self.take_leases(claims.held().to_vec()).await;
        for key in &elsewhere {
            let fallback = batch.fallbacks.get(key);
            let state = KeyState {
                leased_elsewhere: true,
                ..KeyState::held(fallback.map(|_| Freshness::Expired))
            };
            match (decide(state), fallback) {
                (Action::FallBack, Some(fallback)) => {
                    self.counters().fail_safe_hits.add(1);
                    batch.answer.insert(key.clone(), fallback.clone());
                }
                _ => others.push(key.clone()),
            }
        }
        self.counters().lease_waits.add(others.len());
        claims.release_found(&elsewhere.into_iter().collect());
        others
    }

    /// Phase 4: one loader call for the keys this call holds and its stale keys, beside the
    /// wait for keys other processes load; then the answer, with fallbacks if the load failed
    /// and every key it loaded has one.
    async fn load_and_answer(
        &self,
        mut batch: Batch<T>,
        claims: Claims,
        refreshing: Taken<T>,
        load: BatchLoad<T>,
        others: Vec<String>,
    ) -> Result<HashMap<String, Arc<T>>, Error> {
        let held = claims.held().to_vec();
        let covered = held.iter().all(|key| batch.fallbacks.contains_key(key));
        let soft = self.freshness.soft_timeout;
        let own_load = async {
            match (waiting(covered, soft.is_some()), soft) {
                (Waiting::UpToSoftTimeout, Some(soft)) => {
                    // Past the soft timeout the fallbacks answer, and the load goes on in the
                    // background, storing what it loads.
                    let (done, finished) = oneshot::channel();
                    let cache = self.clone();
                    let background = async move {
                        let _ = done.send(cache.load_claimed(claims, refreshing, load).await);
                    };
                    self.engine().background.spawn_or_run(background).await;
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
        batch.answer.extend(loaded_elsewhere);
        let error = match outcome {
            Ok(values) => {
                batch.answer.extend(values);
                return Ok(batch.answer);
            }
            Err(error) => error,
        };
        match (after_failure(covered), error) {
            (AfterFailure::Fail, Some(error)) => Err(error),
            (_, error) => {
                self.counters().fail_safe_hits.add(held.len());
                if let Some(error) = error {
                    self.pause(&held);
                    tracing::warn!(target: TARGET, keys = held.len(), %error, "dynamorator: batch load failed; answering with stale values");
                }
                for key in held {
                    if let Some(fallback) = batch.fallbacks.remove(&key) {
                        batch.answer.insert(key, fallback);
                    }
                }
                Ok(batch.answer)
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
}
