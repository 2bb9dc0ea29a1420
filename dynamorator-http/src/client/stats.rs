//! The manager's counters: what http-cache asked and what the store answered.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`DynamoratorManager`](crate::DynamoratorManager) did since it was made (clones
/// share the counts).
///
/// ```
/// let stats = dynamorator_http::ManagerStats::default();
/// assert_eq!(stats.store_failures, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// Lookups that found a stored response (fresh or not: http-cache decides).
    pub hits: u64,
    /// Lookups that found nothing (absent, expired, or undecodable).
    pub misses: u64,
    /// Responses written to the store.
    pub stored: u64,
    /// Responses http-cache offered that were not kept: nothing left to keep them for.
    pub not_stored: u64,
    /// Store reads, writes and deletes that failed: each answered as if there were no cache.
    pub store_failures: u64,
}

/// The shared counters behind [`ManagerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) stored: AtomicU64,
    pub(crate) not_stored: AtomicU64,
    pub(crate) store_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ManagerStats {
        ManagerStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            not_stored: self.not_stored.load(Ordering::Relaxed),
            store_failures: self.store_failures.load(Ordering::Relaxed),
        }
    }
}
