//! The circuit breaker's settings, set on the store (every cache of a store shares one
//! breaker); the breaker itself is read-through's, in `cache::engine::circuit`.

use crate::Ttl;

/// When read-through stops asking a failing store, and for how long.
///
/// After [`failures`](CircuitBreaker::failures) store failures in a row, read-through
/// ([`get_or_insert_with`](crate::Cache::get_or_insert_with) and its batch form) skips the
/// store for [`cool_down`](CircuitBreaker::cool_down): it answers from the L1 and the loader
/// at once (values it loads go into the L1). After the cool-down one call probes the store;
/// success closes the circuit, failure opens it for another cool-down. Other operations
/// (`get`, `put`, …) always go to the store and return its errors. Failures are requests that
/// failed (unreachable, timed out, throttled, a service error), not undecodable values.
///
/// Default: on, 5 failures, 30 s.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{CircuitBreaker, Store, Ttl};
///
/// let store = Store::builder()
///     .embedded()
///     .circuit_breaker(CircuitBreaker::new().failures(3).cool_down(Ttl::secs(10)))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// 0: never opens.
    failures: u32,
    cool_down: Ttl,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker {
            failures: 5,
            cool_down: Ttl::secs(30),
        }
    }
}

impl CircuitBreaker {
    /// The defaults: 5 failures, 30 s.
    ///
    /// ```
    /// assert_eq!(dynamorator::CircuitBreaker::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        CircuitBreaker::default()
    }

    /// A breaker that never opens: every read-through call asks the store.
    ///
    /// ```
    /// let breaker = dynamorator::CircuitBreaker::disabled();
    /// ```
    pub fn disabled() -> Self {
        CircuitBreaker {
            failures: 0,
            ..CircuitBreaker::default()
        }
    }

    /// Opens after this many store failures in a row (0: never). Default: 5.
    ///
    /// ```
    /// let breaker = dynamorator::CircuitBreaker::new().failures(10);
    /// ```
    pub fn failures(mut self, failures: u32) -> Self {
        self.failures = failures;
        self
    }

    /// How long read-through skips the store once open. Default: 30 s.
    ///
    /// ```
    /// let breaker = dynamorator::CircuitBreaker::new().cool_down(dynamorator::Ttl::minutes(1));
    /// ```
    pub fn cool_down(mut self, cool_down: Ttl) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// Failures in a row that open it (0: never).
    pub(crate) fn failures_to_open(&self) -> u32 {
        self.failures
    }

    /// How long it stays open.
    pub(crate) fn cool_down_length(&self) -> Ttl {
        self.cool_down
    }
}
