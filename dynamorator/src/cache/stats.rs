//! Cache statistics: lock-free counters on the hot path, a plain snapshot for callers.

use std::sync::Arc;

use crate::observe::{Labels, Level, Tally, Timing, names};

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
    /// Of `l1_hits`, remembered misses ([`L1Config::negative_ttl`](crate::L1Config::negative_ttl)).
    pub l1_negative_hits: u64,
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
    /// Stale values served by read-through while a refresh loads a new one (L1 or store), one
    /// per caller served: 32 concurrent callers that share one store read count 32.
    pub stale_hits: u64,
    /// Background refreshes started (a batch refresh counts its keys).
    pub refreshes_started: u64,
    /// Keys background refreshes loaded and stored.
    pub refreshes_succeeded: u64,
    /// Keys whose background refresh failed, timed out or returned nothing.
    pub refreshes_failed: u64,
    /// Read-through answers from a stale or expired value because a load failed, timed out,
    /// was throttled after failing or runs in another process: one per caller (or batch
    /// key) served so.
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
    /// Keys this cache told other processes' L1s about through the change feed
    /// ([`CacheConfig::coherent_l1`](crate::CacheConfig::coherent_l1)).
    pub invalidations_sent: u64,
    /// Keys other processes changed that this cache dropped from its L1 (read from the feed; a
    /// key changed several times between two polls counts once).
    pub invalidations_received: u64,
    /// Polls of the change feed (each one read of a few feed items).
    pub feed_polls: u64,
    /// Change feed reads and writes that failed or were skipped by the open circuit breaker:
    /// the L1 then falls back to its TTL; never an error to the caller.
    pub feed_errors: u64,
    /// Times the L1 was emptied because it could not be vouched for: a failed poll, polls
    /// resuming after failing, a process further behind than the feed reaches back (paused),
    /// or a feed item too full to name every change.
    pub l1_resets: u64,
    /// The sum of the invalidation delays of the changes received, in milliseconds: from each
    /// write (by the writer's clock) to its key being dropped here (a key written twice
    /// between two polls counts two delays). With the `metrics` feature the delays are also a
    /// histogram, `dynamorator_cache_invalidation_delay_seconds`, for percentiles.
    pub invalidation_delay_ms_total: u64,
    /// Entries in the L1 now (approximate while it is being written).
    pub l1_entries: u64,
    /// The L1's weighted size now: the bytes of memory its entries occupy (estimated; see
    /// [`L1Config`](crate::L1Config)), or its entries when bounded by entries.
    pub l1_weighted_size: u64,
}

/// The live tallies behind [`CacheStats`], each exported with the `metrics` feature under
/// the cache's `cache` label (the names are in `crate::observe::names`).
#[derive(Debug)]
pub(crate) struct Counters {
    /// The cache's `cache` label, also the `dynamorator.cache` field of its spans.
    pub(crate) name: Arc<str>,
    pub(crate) l1_hits: Tally,
    pub(crate) l1_misses: Tally,
    /// Remembered misses among `l1_hits`.
    pub(crate) l1_negative_hits: Tally,
    pub(crate) store_hits: Tally,
    pub(crate) store_misses: Tally,
    pub(crate) undecodable: Tally,
    pub(crate) loader_calls: Tally,
    pub(crate) loader_errors: Tally,
    pub(crate) store_errors: Tally,
    pub(crate) stale_hits: Tally,
    pub(crate) refreshes_started: Tally,
    pub(crate) refreshes_succeeded: Tally,
    pub(crate) refreshes_failed: Tally,
    pub(crate) fail_safe_hits: Tally,
    pub(crate) soft_timeouts: Tally,
    pub(crate) hard_timeouts: Tally,
    pub(crate) circuit_trips: Tally,
    pub(crate) store_skipped: Tally,
    pub(crate) leases_taken: Tally,
    pub(crate) lease_waits: Tally,
    pub(crate) invalidations_sent: Tally,
    pub(crate) invalidations_received: Tally,
    pub(crate) feed_polls: Tally,
    pub(crate) feed_errors: Tally,
    pub(crate) feed_resets: Tally,
    /// The sum of invalidation delays, in milliseconds.
    pub(crate) feed_delay_ms: Tally,
    /// Invalidation delays, as a histogram (with the `metrics` feature).
    pub(crate) feed_delay: Timing,
    /// Loader call durations.
    pub(crate) loader_duration: Timing,
    /// The L1's size, as gauges: set on every L1 miss and on [`Cache::stats`](crate::Cache::stats).
    pub(crate) l1_entries: Level,
    pub(crate) l1_bytes: Level,
    /// Whether the L1 weighs its entries in bytes (else its weighted size is its entries).
    l1_weighs_bytes: bool,
}

impl Counters {
    /// Tallies of the cache named `name` (its `cache` label), registered with the metrics
    /// recorder installed now, if any (a recorder installed later does not see them).
    pub(crate) fn new(name: &str, l1_weighs_bytes: bool) -> Self {
        let tally = |metric, labels| Tally::new(name, metric, labels);
        const L1: Labels = &[("layer", "l1")];
        const STORE: Labels = &[("layer", "store")];
        Counters {
            name: Arc::from(name),
            l1_hits: tally(names::CACHE_HITS, L1),
            l1_misses: tally(names::CACHE_MISSES, L1),
            l1_negative_hits: tally(names::CACHE_NEGATIVE_HITS, L1),
            store_hits: tally(names::CACHE_HITS, STORE),
            store_misses: tally(names::CACHE_MISSES, STORE),
            undecodable: tally(
                names::CACHE_ERRORS,
                &[("layer", "store"), ("kind", "undecodable")],
            ),
            loader_calls: tally(names::LOADER_CALLS, &[]),
            loader_errors: tally(
                names::CACHE_ERRORS,
                &[("layer", "loader"), ("kind", "error")],
            ),
            store_errors: tally(
                names::CACHE_ERRORS,
                &[("layer", "store"), ("kind", "request")],
            ),
            stale_hits: tally(names::CACHE_STALE_HITS, &[]),
            refreshes_started: tally(names::REFRESHES_STARTED, &[]),
            refreshes_succeeded: tally(names::REFRESHES, &[("result", "succeeded")]),
            refreshes_failed: tally(names::REFRESHES, &[("result", "failed")]),
            fail_safe_hits: tally(names::CACHE_FAIL_SAFE_HITS, &[]),
            soft_timeouts: tally(names::SOFT_TIMEOUTS, &[]),
            hard_timeouts: tally(
                names::CACHE_ERRORS,
                &[("layer", "loader"), ("kind", "hard_timeout")],
            ),
            circuit_trips: tally(names::CIRCUIT_TRIPS, &[]),
            store_skipped: tally(names::STORE_SKIPPED, &[]),
            leases_taken: tally(names::LEASES_TAKEN, &[]),
            lease_waits: tally(names::LEASE_WAITS, &[]),
            invalidations_sent: tally(names::INVALIDATIONS, &[("direction", "sent")]),
            invalidations_received: tally(names::INVALIDATIONS, &[("direction", "received")]),
            feed_polls: tally(names::FEED_POLLS, &[]),
            feed_errors: tally(
                names::CACHE_ERRORS,
                &[("layer", "feed"), ("kind", "request")],
            ),
            feed_resets: tally(names::FEED_RESETS, &[]),
            feed_delay_ms: Tally::local(),
            feed_delay: Timing::new(name, names::FEED_DELAY, &[]),
            loader_duration: Timing::new(name, names::LOADER_DURATION, &[]),
            l1_entries: Level::new(name, names::L1_ENTRIES, &[]),
            l1_bytes: Level::new(name, names::L1_BYTES, &[]),
            l1_weighs_bytes,
        }
    }

    /// The L1's entries and weighted size now, to the gauges.
    pub(crate) fn l1_size(&self, (entries, weighted): (u64, u64)) {
        self.l1_entries.set(entries);
        if self.l1_weighs_bytes {
            self.l1_bytes.set(weighted);
        }
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        CacheStats {
            l1_hits: self.l1_hits.get(),
            l1_misses: self.l1_misses.get(),
            l1_negative_hits: self.l1_negative_hits.get(),
            store_hits: self.store_hits.get(),
            store_misses: self.store_misses.get(),
            undecodable: self.undecodable.get(),
            loader_calls: self.loader_calls.get(),
            loader_errors: self.loader_errors.get(),
            store_errors: self.store_errors.get(),
            stale_hits: self.stale_hits.get(),
            refreshes_started: self.refreshes_started.get(),
            refreshes_succeeded: self.refreshes_succeeded.get(),
            refreshes_failed: self.refreshes_failed.get(),
            fail_safe_hits: self.fail_safe_hits.get(),
            soft_timeouts: self.soft_timeouts.get(),
            hard_timeouts: self.hard_timeouts.get(),
            circuit_trips: self.circuit_trips.get(),
            store_skipped: self.store_skipped.get(),
            leases_taken: self.leases_taken.get(),
            lease_waits: self.lease_waits.get(),
            invalidations_sent: self.invalidations_sent.get(),
            invalidations_received: self.invalidations_received.get(),
            feed_polls: self.feed_polls.get(),
            feed_errors: self.feed_errors.get(),
            l1_resets: self.feed_resets.get(),
            invalidation_delay_ms_total: self.feed_delay_ms.get(),
            l1_entries: 0,
            l1_weighted_size: 0,
        }
    }
}
