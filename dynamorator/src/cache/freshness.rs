//! A typed cache's freshness settings: the stale window after the TTL, jitter, fail-safe,
//! loader timeouts and refresh batching. [`CacheConfig`](crate::CacheConfig) sets them.

use std::time::Duration;

use crate::Ttl;
use crate::codec::Horizons;

/// How long a failing key's refreshes pause by default after a fail-safe answer.
pub(crate) const DEFAULT_FAIL_SAFE_THROTTLE: Ttl = Ttl::secs(30);
/// How long stale keys met by separate calls wait to share one batch refresh by default.
pub(crate) const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_millis(10);
/// The most keys one batch refresh takes from other calls by default.
pub(crate) const DEFAULT_REFRESH_BATCH_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FreshnessSettings {
    /// After the TTL, how long a value is still served while it is refreshed.
    pub(crate) stale_for: Option<Ttl>,
    /// Up to how many seconds each write's horizons are moved later.
    pub(crate) jitter: Option<Ttl>,
    /// How long past its expiry a still-stored value may answer when the loader fails.
    pub(crate) fail_safe_max: Option<Ttl>,
    /// After a fail-safe answer, no new load of that key for this long.
    pub(crate) fail_safe_throttle: Ttl,
    /// A caller with a value to fall back on waits for the loader this long at most.
    pub(crate) soft_timeout: Option<Duration>,
    /// A load running this long is abandoned.
    pub(crate) hard_timeout: Option<Duration>,
    pub(crate) refresh_window: Duration,
    pub(crate) refresh_batch_max: usize,
    /// With `Some`, loads across processes go one per key, under leases this long.
    pub(crate) lease: Option<Duration>,
    /// With `Some`, the cache has a generation ([`Cache::clear`](crate::Cache::clear)) that
    /// each process reads again at most this often.
    pub(crate) generation_poll: Option<Duration>,
    /// With `Some`, writes go to the change feed, and a process polls it at most this often
    /// before its L1 answers (coherent L1s).
    pub(crate) feed_poll: Option<Duration>,
}

impl Default for FreshnessSettings {
    fn default() -> Self {
        FreshnessSettings {
            stale_for: None,
            jitter: None,
            fail_safe_max: None,
            fail_safe_throttle: DEFAULT_FAIL_SAFE_THROTTLE,
            soft_timeout: None,
            hard_timeout: None,
            refresh_window: DEFAULT_REFRESH_WINDOW,
            refresh_batch_max: DEFAULT_REFRESH_BATCH_MAX,
            lease: None,
            generation_poll: None,
            feed_poll: None,
        }
    }
}

impl FreshnessSettings {
    /// The horizons of a value written at `now`, fresh for `ttl` (and stale for `stale`, the
    /// cache's unless a loader chose), jittered when configured.
    pub(crate) fn horizons(&self, now: i64, ttl: Ttl, stale: Option<Ttl>) -> Horizons {
        let jitter = self
            .jitter
            .map_or(0, |jitter| fastrand::u64(0..=jitter.as_secs()));
        Horizons::after(now, ttl, stale, jitter)
    }

    /// How long past its expiry a stored value may still be read, as a fallback.
    pub(crate) fn grace(&self) -> i64 {
        self.fail_safe_max
            .map_or(0, |max| i64::try_from(max.as_secs()).unwrap_or(i64::MAX))
    }

    /// The epoch second until which a failed key is not loaded again.
    pub(crate) fn throttled_until(&self, now: i64) -> i64 {
        self.fail_safe_throttle.expires_at(now)
    }
}
