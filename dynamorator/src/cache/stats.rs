//! Cache statistics: lock-free counters on the hot path, a plain snapshot for callers.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`Cache`](crate::Cache) has done since it was created, per layer.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Cache, CacheConfig, Store};
///
/// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
/// cache.put("a", &1).await?;
/// cache.get("a").await?;
/// cache.get("b").await?;
/// let stats = cache.stats();
/// assert_eq!((stats.store_hits, stats.store_misses), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Keys served from the in-process L1 (negative entries included).
    pub l1_hits: u64,
    /// Keys the L1 did not have.
    pub l1_misses: u64,
    /// Keys found in the store.
    pub store_hits: u64,
    /// Keys the store did not have (absent, expired, or undecodable).
    pub store_misses: u64,
    /// Stored values that did not decode as the cache's type (another schema) or were corrupt:
    /// counted in `store_misses` too, and logged.
    pub undecodable: u64,
    /// Calls to read-through loaders.
    pub loader_calls: u64,
    /// Loader calls that returned an error.
    pub loader_errors: u64,
    /// Store operations that failed (reads and writes; fail-open paths included).
    pub store_errors: u64,
    /// Stale values served by read-through while a refresh loads a new one (L1 or store).
    pub stale_hits: u64,
    /// Background refreshes started (a batch refresh counts its keys).
    pub refreshes_started: u64,
    /// Keys background refreshes loaded and stored.
    pub refreshes_succeeded: u64,
    /// Keys whose background refresh failed, timed out or returned nothing.
    pub refreshes_failed: u64,
    /// Read-through answers from a stale or expired value because a load failed, timed out or was throttled after failing.
    pub fail_safe_hits: u64,
    /// Loads that passed the soft timeout: the caller got its fallback, the load went on.
    pub soft_timeouts: u64,
    /// Loads abandoned at the hard timeout.
    pub hard_timeouts: u64,
    /// Times this cache's store failures opened the store's circuit breaker.
    pub circuit_trips: u64,
    /// Read-through store requests skipped because the circuit breaker was open.
    pub store_skipped: u64,
    /// Leases this cache took in the store before loading (one load per key across processes).
    pub leases_taken: u64,
    /// Keys a call waited for because another process held their lease.
    pub lease_waits: u64,
    /// Entries in the L1 now (approximate while it is being written).
    pub l1_entries: u64,
    /// The L1's weighted size now: stored bytes, or entries when bounded by entries.
    pub l1_weighted_size: u64,
}

/// The live counters behind [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) l1_hits: AtomicU64,
    pub(crate) l1_misses: AtomicU64,
    pub(crate) store_hits: AtomicU64,
    pub(crate) store_misses: AtomicU64,
    pub(crate) undecodable: AtomicU64,
    pub(crate) loader_calls: AtomicU64,
    pub(crate) loader_errors: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) stale_hits: AtomicU64,
    pub(crate) refreshes_started: AtomicU64,
    pub(crate) refreshes_succeeded: AtomicU64,
    pub(crate) refreshes_failed: AtomicU64,
    pub(crate) fail_safe_hits: AtomicU64,
    pub(crate) soft_timeouts: AtomicU64,
    pub(crate) hard_timeouts: AtomicU64,
    pub(crate) circuit_trips: AtomicU64,
    pub(crate) store_skipped: AtomicU64,
    pub(crate) leases_taken: AtomicU64,
    pub(crate) lease_waits: AtomicU64,
}

impl Counters {
    /// Adds `n` to a counter. Relaxed: counters are independent tallies, never used to
    /// synchronise anything.
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        if n == 0 {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            l1_hits: read(&self.l1_hits),
            l1_misses: read(&self.l1_misses),
            store_hits: read(&self.store_hits),
            store_misses: read(&self.store_misses),
            undecodable: read(&self.undecodable),
            loader_calls: read(&self.loader_calls),
            loader_errors: read(&self.loader_errors),
            store_errors: read(&self.store_errors),
            stale_hits: read(&self.stale_hits),
            refreshes_started: read(&self.refreshes_started),
            refreshes_succeeded: read(&self.refreshes_succeeded),
            refreshes_failed: read(&self.refreshes_failed),
            fail_safe_hits: read(&self.fail_safe_hits),
            soft_timeouts: read(&self.soft_timeouts),
            hard_timeouts: read(&self.hard_timeouts),
            circuit_trips: read(&self.circuit_trips),
            store_skipped: read(&self.store_skipped),
            leases_taken: read(&self.leases_taken),
            lease_waits: read(&self.lease_waits),
            l1_entries: 0,
            l1_weighted_size: 0,
        }
    }
}
