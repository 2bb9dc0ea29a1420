//! Across processes: leases, so a fleet loads each key once, and the cache's generation, so
//! one process can clear the cache for all of them with one write.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use super::l1::Held;
use crate::Error;
use crate::codec::Freshness;

/// The key, in a cache's key space, of the item holding its generation.
pub(crate) const GENERATION_KEY: &str = "__dynamorator_generation__";

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

/// A cache's generation as this process last read it, and when.
pub(crate) struct Generation {
    current: AtomicU64,
    /// Epoch milliseconds of the last read; `i64::MIN` before the first.
    checked_at: AtomicI64,
    /// One read of the store at a time.
    checking: tokio::sync::Mutex<()>,
}

impl Default for Generation {
    fn default() -> Self {
        Generation {
            current: AtomicU64::new(0),
            checked_at: AtomicI64::new(i64::MIN),
            checking: tokio::sync::Mutex::new(()),
        }
    }
}

impl Generation {
    /// The generation as last read: values written under an older one are misses.
    pub(crate) fn current(&self) -> u64 {
        self.current.load(Ordering::Acquire)
    }
}

/// What waiting on a key another process may hold came to.
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

/// Across processes.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The cache's generation, read again from the store when the last read is older than the
    /// poll interval; a newer one empties the L1. 0 without [`fleet_clear`].
    ///
    /// [`fleet_clear`]: crate::CacheConfig::fleet_clear
    pub(super) async fn generation(&self) -> u64 {
        let state = &self.shared.generation;
        if self.freshness.generation_poll.is_none() {
            return 0;
        }
        if !self.generation_due() {
            return state.current();
        }
        let _one = state.checking.lock().await;
        if !self.generation_due() {
            return state.current();
        }
        match self
            .store
            .get::<u64>(&self.keys.stored(GENERATION_KEY))
            .await
        {
            Ok(stored) => self.adopt_generation(stored.unwrap_or(0)),
            // Fail-open: the last known generation stands until the next poll.
            Err(error) => {
                tracing::warn!(%error, "dynamorator: could not read the cache's generation")
            }
        }
        state
            .checked_at
            .store(self.store.clock().now_epoch_millis(), Ordering::Release);
        state.current()
    }

    /// Whether [`generation`](Self::generation) would read the store: with [`fleet_clear`],
    /// when the last read is older than the poll interval (or there was none). Without it, never.
    ///
    /// [`fleet_clear`]: crate::CacheConfig::fleet_clear
    pub(super) fn generation_due(&self) -> bool {
        let Some(poll) = self.freshness.generation_poll else {
            return false;
        };
        let poll = i64::try_from(poll.as_millis()).unwrap_or(i64::MAX);
        let checked = self.shared.generation.checked_at.load(Ordering::Acquire);
        checked == i64::MIN
            || self
                .store
                .clock()
                .now_epoch_millis()
                .saturating_sub(checked)
                >= poll
    }

    /// Moves to `generation` if it is newer, emptying the L1.
    fn adopt_generation(&self, generation: u64) {
        let previous = self
            .shared
            .generation
            .current
            .fetch_max(generation, Ordering::AcqRel);
        if generation > previous {
            self.shared.l1.invalidate_all();
        }
    }

    /// The generation writes carry: `None` without fleet-wide clear, so items stay as they
    /// were.
    pub(super) fn write_generation(&self) -> Option<u64> {
        self.freshness
            .generation_poll
            .map(|_| self.shared.generation.current())
    }

    /// Clears the cache for every process in O(1): one conditional write moves its generation
    /// on, so every value written before is a miss, here at once and in other processes within
    /// their [`fleet_clear`](crate::CacheConfig::fleet_clear) poll. The old items stay until
    /// their TTL. Returns the new generation.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use std::time::Duration;
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let config = CacheConfig::new().prefix("quotes").fleet_clear(Duration::from_secs(1));
    /// let quotes: Cache<u32> = Cache::new(&Store::embedded(), config);
    /// quotes.put("a", &1).await?;
    /// quotes.clear().await?;
    /// assert_eq!(quotes.get("a").await?, None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] without [`fleet_clear`](crate::CacheConfig::fleet_clear); a
    /// store failure.
    #[must_use = "the new generation, or why the cache could not be cleared"]
    pub async fn clear(&self) -> Result<u64, Error> {
        if self.freshness.generation_poll.is_none() {
            return Err(Error::InvalidConfig {
                reason: "Cache::clear needs CacheConfig::fleet_clear (a generation per cache)"
                    .to_owned(),
            });
        }
        let generation = self
            .store
            .increment(&self.keys.stored(GENERATION_KEY))
            .await?;
        self.adopt_generation(generation);
        Ok(generation)
    }

    /// Takes the lease on `key` before loading it, or waits for the process that holds it:
    /// polling with backoff until the value appears or the lease can be taken, for the lease's
    /// length and one longest pause at most.
    pub(super) async fn lease_or_wait(&self, key: &str, has_fallback: bool) -> LeaseWait<T> {
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
                Ok(false) if has_fallback => return LeaseWait::Elsewhere,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(key, %error, "dynamorator: could not take a lease; loading without one");
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
                    tracing::warn!(key, %error, "dynamorator: could not take a lease; loading without one");
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
                tracing::warn!(key, %error, "dynamorator: could not release a lease; it expires on its own");
            }
        }
    }
}

/// A pause of 50 to 100 % of `pause`, so waiting processes do not poll in step.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(0.5 + fastrand::f64() * 0.5)
}
