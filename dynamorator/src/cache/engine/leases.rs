//! Leases across processes: a fleet loads each key once. Taking one is a conditional write
//! that only one process wins while the lease is unexpired (the store renders it for its
//! backend); the others wait for the value, or answer with their fallback.

use super::TARGET;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::policy::{Action, KeyState, decide};
use crate::Error;
use crate::cache::Cache;
use crate::cache::l1::Held;
use crate::codec::Freshness;

/// The first pause of a call waiting for another process's lease, doubled each round.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
/// The longest pause between two looks at a key another process holds.
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// This process's name on its leases: its id and a random part, so a restarted process with a
/// reused id is another owner.
pub(crate) fn owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| format!("{}-{:016x}", std::process::id(), fastrand::u64(..)))
}

/// What taking a key's lease came to.
pub(crate) enum LeaseWait<T> {
    /// This process holds the lease: load the key, and the value's write ends it.
    Hold,
    /// Another process stored the value meanwhile.
    Found(Held<T>),
    /// Another process holds the lease and the caller has a value to answer with.
    Elsewhere,
    /// No lease: the store failed, or the wait reached its bound. Load without one.
    Unavailable,
}

/// Leases.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Takes the lease on `key` before loading it. When another process holds it, the policy
    /// decides from `state`: answer with what is held ([`LeaseWait::Elsewhere`]), or wait for
    /// that process, polling with backoff until the value appears or the lease can be taken,
    /// for the lease's length and one longest pause at most.
    pub(super) async fn lease_or_wait(&self, key: &str, state: KeyState) -> LeaseWait<T> {
        let elsewhere = decide(KeyState {
            leased_elsewhere: true,
            ..state
        });
        let Some(length) = self.freshness.lease else {
            return LeaseWait::Hold;
        };
        // Waiting needs tokio's timer; outside a runtime the load goes ahead without a lease.
        if tokio::runtime::Handle::try_current().is_err() {
            return LeaseWait::Unavailable;
        }
        let stored = self.keys.stored(key);
        let give_up = Instant::now() + length + MAX_PAUSE;
        let mut pause = FIRST_PAUSE;
        let mut waited = false;
        loop {
            let generation = self.shared.generation.current();
            match self
                .store
                .acquire_lease(&stored, owner(), length, generation)
                .await
            {
                Ok(true) => {
                    self.counters().leases_taken.add(1);
                    return LeaseWait::Hold;
                }
                Ok(false) if elsewhere != Action::Wait => return LeaseWait::Elsewhere,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(target: TARGET, key, %error, "dynamorator: could not take a lease; loading without one");
                    return LeaseWait::Unavailable;
                }
            }
            if !waited {
                waited = true;
                self.counters().lease_waits.add(1);
            }
            if Instant::now() >= give_up {
                return LeaseWait::Unavailable;
            }
            tokio::time::sleep(jittered(pause)).await;
            pause = (pause * 2).min(MAX_PAUSE);
            if let Some(held) = self.read_one_fail_open(key).await
                && held.freshness != Freshness::Expired
            {
                return LeaseWait::Found(held);
            }
        }
    }

    /// Takes the leases of `keys` for a batch load, one conditional write each, sent
    /// concurrently, in one round: returns the keys this call may load (leased, or the store
    /// failed) and the keys another process holds or has just stored.
    pub(super) async fn take_leases(&self, keys: Vec<String>) -> (Vec<String>, Vec<String>) {
        let Some(length) = self.freshness.lease else {
            return (keys, Vec::new());
        };
        let generation = self.shared.generation.current();
        let concurrency = self.store.settings().batch_concurrency;
        let attempts: Vec<(String, Result<bool, Error>)> = stream::iter(keys)
            .map(|key| async move {
                let stored = self.keys.stored(&key);
                let taken = self
                    .store
                    .acquire_lease(&stored, owner(), length, generation)
                    .await;
                (key, taken)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let (mut ours, mut elsewhere) = (Vec::new(), Vec::new());
        for (key, taken) in attempts {
            match taken {
                Ok(true) => ours.push(key),
                Ok(false) => elsewhere.push(key),
                Err(error) => {
                    tracing::warn!(target: TARGET, key, %error, "dynamorator: could not take a lease; loading without one");
                    ours.push(key);
                }
            }
        }
        self.counters().leases_taken.add(ours.len());
        (ours, elsewhere)
    }

    /// Waits for values other processes are loading under their leases: reads them again with
    /// backoff until they appear, for the lease's length and one longest pause at most. Keys
    /// whose value does not appear in that time are left out (their holder failed or is slow;
    /// a later call takes their lease).
    pub(super) async fn wait_for_others(&self, keys: Vec<String>) -> HashMap<String, Arc<T>> {
        let mut found = HashMap::new();
        let Some(length) = self.freshness.lease else {
            return found;
        };
        if keys.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return found;
        }
        let give_up = Instant::now() + length + MAX_PAUSE;
        let mut pause = FIRST_PAUSE;
        let mut pending = keys;
        while !pending.is_empty() && Instant::now() < give_up {
            tokio::time::sleep(jittered(pause)).await;
            pause = (pause * 2).min(MAX_PAUSE);
            let stored = self.read_usable(pending.clone()).await;
            pending.retain(|key| !stored.contains_key(key));
            found.extend(stored);
        }
        found
    }

    /// Ends this process's leases on keys whose load failed, so others need not wait.
    pub(super) async fn release_leases(&self, keys: &[String]) {
        if self.freshness.lease.is_none() {
            return;
        }
        for key in keys {
            if let Err(error) = self
                .store
                .release_lease(&self.keys.stored(key), owner())
                .await
            {
                tracing::warn!(target: TARGET, key, %error, "dynamorator: could not release a lease; it expires on its own");
            }
        }
    }
}

/// A pause of 50 to 100 % of `pause`, so waiting processes do not poll in step.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(0.5 + fastrand::f64() * 0.5)
}
