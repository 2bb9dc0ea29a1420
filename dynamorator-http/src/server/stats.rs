//! The layer's counters, one per way a request was answered.

use std::sync::atomic::{AtomicU64, Ordering};

use super::status::CacheStatus;

/// What a [`ResponseCacheLayer`](crate::ResponseCacheLayer) and its services answered so far.
/// The typed cache under it has its own ([`ResponseCacheLayer::cache_stats`](crate::ResponseCacheLayer::cache_stats)).
///
/// ```
/// let stats = dynamorator_http::ResponseCacheStats::default();
/// assert_eq!(stats.hits + stats.misses, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseCacheStats {
    /// Fresh responses from the cache.
    pub hits: u64,
    /// Stale responses from the cache (refreshing, or standing in for a failed handler).
    pub stale: u64,
    /// Requests the handler answered.
    pub misses: u64,
    /// Requests not for the cache (method, `Range`, `Authorization`).
    pub bypassed: u64,
    /// Responses the handler gave that were not stored (status, `no-store`, `private`,
    /// `Set-Cookie`, too big, streaming error).
    pub not_stored: u64,
    /// Cache failures the request went on without (logged).
    pub cache_failures: u64,
}

/// The shared counters behind [`ResponseCacheStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    stale: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    not_stored: AtomicU64,
    cache_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn answered(&self, status: CacheStatus) {
        let counter = match status {
            CacheStatus::Hit => &self.hits,
            CacheStatus::Stale => &self.stale,
            CacheStatus::Miss => &self.misses,
            CacheStatus::Bypass => &self.bypassed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn not_stored(&self) {
        self.not_stored.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn cache_failed(&self) {
        self.cache_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ResponseCacheStats {
        ResponseCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
            not_stored: self.not_stored.load(Ordering::Relaxed),
            cache_failures: self.cache_failures.load(Ordering::Relaxed),
        }
    }
}
