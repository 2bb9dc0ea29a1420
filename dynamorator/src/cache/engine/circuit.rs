//! Read-through's circuit breaker: after a run of failed requests, read-through stops asking
//! the store for a cool-down, so an unreachable DynamoDB costs a caller nothing instead of the
//! SDK's full retries on every call. Other operations always go to the store.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};

use crate::{CircuitBreaker, Error, Store};

/// A breaker's live state, shared by every cache of a store. Times are the store clock's
/// epoch seconds, so tests drive the cool-down with a manual clock.
#[derive(Debug, Default)]
pub(crate) struct Circuit {
    config: CircuitBreaker,
    failures_in_a_row: AtomicU32,
    /// 0 while closed; else the second the cool-down ends.
    open_until: AtomicI64,
    /// One call at a time probes an open circuit past its cool-down.
    probing: AtomicBool,
    trips: AtomicU64,
}

impl Circuit {
    /// The breaker of `store`'s caches: one per store, made on first use.
    pub(crate) fn of(store: &Store) -> std::sync::Arc<Circuit> {
        store
            .extensions()
            .get_or_insert_with(|| Circuit::new(store.settings().circuit_breaker))
    }

    pub(crate) fn new(config: CircuitBreaker) -> Self {
        Circuit {
            config,
            ..Circuit::default()
        }
    }

    /// Whether a read-through call may use the store at `now`.
    pub(crate) fn admits(&self, now: i64) -> bool {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 {
            return true;
        }
        // Past the cool-down: the first caller probes; the others keep skipping until it ends.
        now >= open_until && !self.probing.swap(true, Ordering::AcqRel)
    }

    /// Whether the circuit is closed at `now`, without taking the one probe of an open circuit
    /// past its cool-down (for requests that do not report their outcome: the change feed's).
    pub(crate) fn admits_quietly(&self, now: i64) -> bool {
        let open_until = self.open_until.load(Ordering::Acquire);
        open_until == 0 || now >= open_until
    }

    /// Records a store request's outcome; true when this failure opened the circuit.
    pub(crate) fn record(&self, outcome: Result<(), &Error>, now: i64) -> bool {
        match outcome {
            Err(error) if error.is_request_failure() => self.failed(now),
            _ => {
                self.failures_in_a_row.store(0, Ordering::Release);
                self.open_until.store(0, Ordering::Release);
                self.probing.store(false, Ordering::Release);
                false
            }
        }
    }

    fn failed(&self, now: i64) -> bool {
        if self.config.failures_to_open() == 0 {
            return false;
        }
        let in_a_row = self.failures_in_a_row.fetch_add(1, Ordering::AcqRel) + 1;
        let probe_failed = self.probing.swap(false, Ordering::AcqRel);
        let closed = self.open_until.load(Ordering::Acquire) == 0;
        if probe_failed || (closed && in_a_row >= self.config.failures_to_open()) {
            self.open_until.store(
                self.config.cool_down_length().expires_at(now).max(1),
                Ordering::Release,
            );
            self.trips.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// How many times it has opened.
    #[cfg(test)]
    pub(crate) fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ttl;

    fn unreachable() -> Error {
        Error::Unprocessed {
            operation: "GetItem",
            attempts: 1,
        }
    }

    #[test]
    fn opens_after_failures_in_a_row_and_probes_after_the_cool_down() {
        let circuit = Circuit::new(CircuitBreaker::new().failures(3).cool_down(Ttl::secs(10)));
        let error = unreachable();
        assert!(!circuit.record(Err(&error), 100));
        assert!(!circuit.record(Err(&error), 100));
        assert!(circuit.admits(100));
        assert!(
            circuit.record(Err(&error), 100),
            "the third failure opens it"
        );
        assert!(!circuit.admits(105));
        assert!(
            circuit.admits(110),
            "the first call after the cool-down probes"
        );
        assert!(!circuit.admits(110), "one probe at a time");
        assert!(
            circuit.record(Err(&error), 110),
            "a failed probe opens it again"
        );
        assert!(!circuit.admits(119));
        assert!(circuit.admits(120));
        assert!(!circuit.record(Ok(()), 120));
        assert!(circuit.admits(120) && circuit.admits(120), "closed");
        assert_eq!(circuit.trips(), 2);
    }

    #[test]
    fn a_success_resets_the_run_and_undecodable_values_are_not_failures() {
        let circuit = Circuit::new(CircuitBreaker::new().failures(2));
        let error = unreachable();
        circuit.record(Err(&error), 0);
        circuit.record(Ok(()), 0);
        assert!(!circuit.record(Err(&error), 0));
        let corrupt = Error::corrupt("k", crate::CorruptReason::Base64);
        assert!(!circuit.record(Err(&corrupt), 0));
        assert!(circuit.admits(0));
    }

    #[test]
    fn a_disabled_breaker_never_opens() {
        let circuit = Circuit::new(CircuitBreaker::disabled());
        for _ in 0..100 {
            assert!(!circuit.record(Err(&unreachable()), 0));
        }
        assert!(circuit.admits(0));
    }
}
