//! Exponential backoff with full jitter, for the keys and items a batch request leaves
//! unprocessed (the SDK retries whole requests; only we can retry what a success left out).

use std::time::Duration;

/// How a batch chunk retries what DynamoDB left unprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Requests per chunk, the first included.
    pub(crate) max_attempts: u32,
    /// The delay ceiling before the second request; it doubles for each one after.
    pub(crate) base: Duration,
    /// No delay exceeds this.
    pub(crate) max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_attempts: 8,
            base: Duration::from_millis(25),
            max: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The pause after failed attempt `attempt` (1-based): a random time up to
    /// `min(max, base × 2^(attempt-1))`, so clients that were throttled together spread out.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let backoff = Backoff {
            max_attempts: 40,
            base: Duration::from_millis(10),
            max: Duration::from_millis(300),
        };
        for attempt in 1..40 {
            let ceiling = Duration::from_millis(10)
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(Duration::from_millis(300));
            for _ in 0..50 {
                assert!(backoff.delay(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn delays_are_jittered() {
        let backoff = Backoff::default();
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff.delay(5)).collect();
        assert!(delays.len() > 1);
    }
}
