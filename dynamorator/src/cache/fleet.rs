//! Across processes: the cache's generation, so one process can clear the cache for all of
//! them with one write. (Leases, so a fleet loads each key once, are read-through's: see
//! `engine::leases`.)

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use crate::Error;

/// The key, in a cache's key space, of the item holding its generation.
pub(crate) const GENERATION_KEY: &str = "__dynamorator_generation__";

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
    /// The generation as last read.
    pub(crate) fn current(&self) -> u64 {
        self.current.load(Ordering::Acquire)
    }

    /// Whether a value written under `written` counts: one written under an older generation
    /// (before the cache was last cleared) is a miss.
    pub(crate) fn admits(&self, written: u64) -> bool {
        written >= self.current()
    }
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
        if self.freshness.generation_poll.is_none() {
            return 0;
        }
        if !self.generation_due() {
            return self.shared.generation.current();
        }
        // Boxed: every read awaits this, and only a read past the poll interval carries the
        // poll's (large) state; the others stay a few moves long.
        Box::pin(self.poll_generation()).await
    }

    /// Reads the generation from the store, one caller at a time.
    async fn poll_generation(&self) -> u64 {
        let state = &self.shared.generation;
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
}
