//! Which fault, if any, a request gets: a seeded draw per request, so a run can be repeated.

use std::sync::Mutex;
use std::time::Duration;

/// What the proxy does to one request instead of forwarding it faithfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Close the client's connection without forwarding the request.
    DropBeforeForward,
    /// Forward the request (the server acts on it), then close without answering.
    DropAfterForward,
    /// Answer HTTP 500 without forwarding.
    InternalError,
    /// Answer HTTP 503 without forwarding.
    Unavailable,
    /// Answer DynamoDB's throttling error (HTTP 400) without forwarding.
    Throttle,
    /// Hold the request for the stall time (past the client's timeout), then close without
    /// forwarding it. Forwarding it that late could apply it after the client's later writes,
    /// a reordering no client can guard against, so it is dropped.
    Stall,
    /// Forward, then send only the first half of the response and close.
    CutResponse,
}

impl Fault {
    /// Every fault, in a fixed order.
    pub const ALL: [Fault; 7] = [
        Fault::DropBeforeForward,
        Fault::DropAfterForward,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Throttle,
        Fault::Stall,
        Fault::CutResponse,
    ];
}

/// Which faults to inject, how often, and with which seed.
#[derive(Debug)]
pub struct Faults {
    rate: f64,
    kinds: Vec<Fault>,
    /// Only requests of these DynamoDB operations (`UpdateItem`, ...) are drawn for; empty:
    /// every request.
    operations: Vec<String>,
    pub(crate) stall: Duration,
    rng: Mutex<fastrand::Rng>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::only(&[], 0.0, 0)
    }

    /// Every kind of fault, each equally likely, on `rate` (0.0–1.0) of requests.
    pub fn all(rate: f64, seed: u64) -> Self {
        Faults::only(&Fault::ALL, rate, seed)
    }

    /// Only these kinds, on `rate` of requests.
    pub fn only(kinds: &[Fault], rate: f64, seed: u64) -> Self {
        Faults {
            rate: rate.clamp(0.0, 1.0),
            kinds: kinds.to_vec(),
            operations: Vec::new(),
            stall: Duration::from_secs(2),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// How long a stalled request is held before its connection is closed (default 2 s). Set
    /// it past the client's attempt timeout to see timeouts.
    pub fn stall_for(mut self, duration: Duration) -> Self {
        self.stall = duration;
        self
    }

    /// Faults only requests of these DynamoDB operations (their `X-Amz-Target`, e.g.
    /// `UpdateItem`); the others pass untouched.
    pub fn on_operations(mut self, operations: &[&str]) -> Self {
        self.operations = operations
            .iter()
            .map(|op| op.to_ascii_lowercase())
            .collect();
        self
    }

    /// Draws the fate of the next request, of `operation` (lowercase) if known.
    pub(crate) fn draw(&self, operation: Option<&str>) -> Option<Fault> {
        if self.kinds.is_empty() || self.rate <= 0.0 {
            return None;
        }
        if !self.operations.is_empty()
            && !operation.is_some_and(|op| self.operations.iter().any(|o| o == op))
        {
            return None;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rng.f64() >= self.rate {
            return None;
        }
        Some(self.kinds[rng.usize(..self.kinds.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_and_the_seed_hold() {
        let draws = |seed| {
            let faults = Faults::all(0.1, seed);
            (0..10_000).map(|_| faults.draw(None)).collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7), "same seed, same faults");
        let injected = first.iter().filter(|f| f.is_some()).count();
        assert!((800..1_200).contains(&injected), "{injected} of 10,000");
        assert!(Faults::none().draw(None).is_none());
    }

    #[test]
    fn faults_on_operations_leave_the_others_alone() {
        let faults = Faults::all(1.0, 1).on_operations(&["UpdateItem"]);
        assert!(faults.draw(Some("updateitem")).is_some());
        assert!(faults.draw(Some("putitem")).is_none());
        assert!(faults.draw(None).is_none());
    }
}
