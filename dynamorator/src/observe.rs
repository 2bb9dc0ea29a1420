//! Observability shared by the layers: tallies that feed [`CacheStats`](crate::CacheStats)
//! and, with the `metrics` feature, the `metrics` facade; and the metrics of store requests.
//!
//! Without the `metrics` feature every exported handle here is a zero-sized type and every
//! recording function an empty one: no dependency, no cost beyond the local tallies.
//!
//! The README's "Operating it" section lists every name below with its labels; keep them in
//! step.

use std::sync::atomic::{AtomicU64, Ordering};

/// Metric names, in one place.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) mod names {
    pub(crate) const CACHE_HITS: &str = "dynamorator_cache_hits_total";
    pub(crate) const CACHE_MISSES: &str = "dynamorator_cache_misses_total";
    pub(crate) const CACHE_NEGATIVE_HITS: &str = "dynamorator_cache_negative_hits_total";
    pub(crate) const CACHE_STALE_HITS: &str = "dynamorator_cache_stale_hits_total";
    pub(crate) const CACHE_FAIL_SAFE_HITS: &str = "dynamorator_cache_fail_safe_hits_total";
    pub(crate) const CACHE_ERRORS: &str = "dynamorator_cache_errors_total";
    pub(crate) const LOADER_CALLS: &str = "dynamorator_cache_loader_calls_total";
    pub(crate) const LOADER_DURATION: &str = "dynamorator_cache_loader_duration_seconds";
    pub(crate) const SOFT_TIMEOUTS: &str = "dynamorator_cache_soft_timeouts_total";
    pub(crate) const REFRESHES_STARTED: &str = "dynamorator_cache_refreshes_started_total";
    pub(crate) const REFRESHES: &str = "dynamorator_cache_refreshes_total";
    pub(crate) const CIRCUIT_TRIPS: &str = "dynamorator_cache_circuit_trips_total";
    pub(crate) const STORE_SKIPPED: &str = "dynamorator_cache_store_skipped_total";
    pub(crate) const LEASES_TAKEN: &str = "dynamorator_cache_leases_taken_total";
    pub(crate) const LEASE_WAITS: &str = "dynamorator_cache_lease_waits_total";
    pub(crate) const INVALIDATIONS: &str = "dynamorator_cache_invalidations_total";
    pub(crate) const FEED_POLLS: &str = "dynamorator_cache_feed_polls_total";
    pub(crate) const FEED_RESETS: &str = "dynamorator_cache_l1_resets_total";
    pub(crate) const FEED_DELAY: &str = "dynamorator_cache_invalidation_delay_seconds";
    pub(crate) const L1_ENTRIES: &str = "dynamorator_cache_l1_entries";
    pub(crate) const L1_BYTES: &str = "dynamorator_cache_l1_bytes";

    pub(crate) const STORE_DURATION: &str = "dynamorator_store_request_duration_seconds";
    pub(crate) const STORE_ERRORS: &str = "dynamorator_store_errors_total";
    pub(crate) const STORE_BATCH_KEYS: &str = "dynamorator_store_batch_keys";
    pub(crate) const STORE_UNPROCESSED: &str = "dynamorator_store_unprocessed_keys_total";
    pub(crate) const STORE_READ_UNITS: &str = "dynamorator_store_read_capacity_units";
    pub(crate) const STORE_WRITE_UNITS: &str = "dynamorator_store_write_capacity_units";
}

/// Labels besides `cache` that a cache's series carry.
pub(crate) type Labels = &'static [(&'static str, &'static str)];

/// Builds the label set of one of a cache's series.
#[cfg(feature = "metrics")]
fn labels(cache: &str, extra: Labels) -> Vec<metrics::Label> {
    let mut labels = Vec::with_capacity(extra.len() + 1);
    labels.push(metrics::Label::new("cache", cache.to_owned()));
    labels.extend(
        extra
            .iter()
            .map(|(key, value)| metrics::Label::from_static_parts(key, value)),
    );
    labels
}

/// A tally of a cache: a local atomic for [`CacheStats`](crate::CacheStats) and, with the
/// `metrics` feature, a counter of the installed recorder, registered once with the cache's
/// labels so that counting never looks a name up.
#[derive(Debug)]
pub(crate) struct Tally {
    local: AtomicU64,
    #[cfg(feature = "metrics")]
    exported: metrics::Counter,
}

impl Tally {
    /// A tally exported as `name` with labels `cache` and `extra`.
    pub(crate) fn new(cache: &str, name: &'static str, extra: Labels) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = (cache, name, extra);
        Tally {
            local: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            exported: metrics::counter!(name, labels(cache, extra)),
        }
    }

    /// A tally for [`CacheStats`](crate::CacheStats) only, not exported (a sum the exported
    /// histogram beside it already carries).
    pub(crate) fn local() -> Self {
        Tally {
            local: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            exported: metrics::Counter::noop(),
        }
    }

    /// Adds `n`. Relaxed: tallies are independent, never used to synchronise anything.
    pub(crate) fn add(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.local.fetch_add(n as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.exported.increment(n as u64);
    }

    /// The local count so far.
    pub(crate) fn get(&self) -> u64 {
        self.local.load(Ordering::Relaxed)
    }
}

/// A level of a cache (the L1's entries or bytes): a gauge with the `metrics` feature,
/// nothing without.
#[derive(Debug)]
pub(crate) struct Level {
    #[cfg(feature = "metrics")]
    exported: metrics::Gauge,
}

impl Level {
    pub(crate) fn new(cache: &str, name: &'static str, extra: Labels) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = (cache, name, extra);
        Level {
            #[cfg(feature = "metrics")]
            exported: metrics::gauge!(name, labels(cache, extra)),
        }
    }

    pub(crate) fn set(&self, value: u64) {
        #[cfg(feature = "metrics")]
        self.exported.set(value as f64);
        #[cfg(not(feature = "metrics"))]
        let _ = value;
    }
}

/// Durations of a cache's calls (the loader's): a histogram in seconds with the `metrics`
/// feature; without it, nothing is timed.
#[derive(Debug)]
pub(crate) struct Timing {
    #[cfg(feature = "metrics")]
    exported: metrics::Histogram,
}

impl Timing {
    pub(crate) fn new(cache: &str, name: &'static str, extra: Labels) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = (cache, name, extra);
        Timing {
            #[cfg(feature = "metrics")]
            exported: metrics::histogram!(name, labels(cache, extra)),
        }
    }

    /// Awaits `work`, recording how long it took (however it ended). A future dropped before
    /// it ends (a timeout) records nothing.
    pub(crate) async fn time<F: Future>(&self, work: F) -> F::Output {
        let watch = Stopwatch::start();
        let output = work.await;
        #[cfg(feature = "metrics")]
        self.exported.record(watch.seconds());
        #[cfg(not(feature = "metrics"))]
        let _ = watch;
        output
    }
}

impl Timing {
    /// Records a duration measured elsewhere, in milliseconds.
    pub(crate) fn record_ms(&self, ms: i64) {
        #[cfg(feature = "metrics")]
        self.exported.record(ms as f64 / 1_000.0);
        #[cfg(not(feature = "metrics"))]
        let _ = ms;
    }
}

/// When something started, with the `metrics` feature; nothing without it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Stopwatch {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    #[cfg(feature = "metrics")]
    fn seconds(self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Metrics of store requests, one call per request. The facade's macros look the series up
/// per call: a request is a network round trip (or a lock on the embedded backend), far
/// costlier than the lookup, and the series follow a recorder installed after the store was
/// built.
pub(crate) mod store {
    use super::Stopwatch;
    #[cfg(feature = "metrics")]
    use super::names;

    /// A request ended after `watch` started, with `batch` keys if it was a batch request.
    pub(crate) fn request(operation: &'static str, table: &str, watch: Stopwatch) {
        #[cfg(feature = "metrics")]
        metrics::histogram!(names::STORE_DURATION, "operation" => operation, "table" => table.to_owned())
            .record(watch.seconds());
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, table, watch);
    }

    /// A batch request's size.
    pub(crate) fn batch(operation: &'static str, table: &str, keys: usize) {
        #[cfg(feature = "metrics")]
        metrics::histogram!(names::STORE_BATCH_KEYS, "operation" => operation, "table" => table.to_owned())
            .record(keys as f64);
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, table, keys);
    }

    /// A request failed, of this kind (`throttled` for throttling the SDK's retries did not
    /// get past).
    pub(crate) fn error(operation: &'static str, table: &str, kind: &'static str) {
        #[cfg(feature = "metrics")]
        metrics::counter!(
            names::STORE_ERRORS,
            "operation" => operation,
            "table" => table.to_owned(),
            "kind" => kind
        )
        .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, table, kind);
    }

    /// Keys a batch request left unprocessed (the store retries them with backoff).
    pub(crate) fn unprocessed(operation: &'static str, table: &str, keys: usize) {
        #[cfg(feature = "metrics")]
        metrics::counter!(names::STORE_UNPROCESSED, "operation" => operation, "table" => table.to_owned())
            .increment(keys as u64);
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, table, keys);
    }

    /// Capacity units DynamoDB says a request consumed (asked for with
    /// `StoreBuilder::consumed_capacity`): on the current span (the request's) and in the
    /// read or write histogram, by operation.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn consumed(operation: &'static str, table: &str, units: f64) {
        tracing::Span::current().record("dynamorator.capacity_units", units);
        #[cfg(feature = "metrics")]
        {
            let name = match operation {
                "GetItem" | "BatchGetItem" | "Scan" | "Query" => names::STORE_READ_UNITS,
                _ => names::STORE_WRITE_UNITS,
            };
            metrics::histogram!(name, "operation" => operation, "table" => table.to_owned())
                .record(units);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (operation, table);
    }
}

/// A low-cardinality name for what went wrong: the `kind` label of error counters and the
/// `error.type` of spans.
pub(crate) fn error_kind(error: &crate::Error) -> &'static str {
    use crate::Error;
    match error {
        Error::Throttled { .. } => "throttled",
        Error::Timeout { .. } => "timeout",
        Error::Unreachable { .. } => "unreachable",
        Error::Service { .. } => "service",
        Error::Unprocessed { .. } => "unprocessed",
        Error::Corrupt { .. } | Error::TypeMismatch { .. } => "corrupt",
        Error::Embedded { .. } => "embedded",
        _ => "other",
    }
}
