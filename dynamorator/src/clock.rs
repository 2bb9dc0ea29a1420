//! [`Clock`]: where a store reads the time from, so expiry can be tested without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time a store writes expiries with and reads them against: the system's, or a manual
/// clock that only moves when told to, for tests.
///
/// Everything that decides whether an item has expired asks the store's clock: reads, key
/// listings, item descriptions, the L1, and the embedded file when it removes expired items. A
/// manual clock makes those tests exact and instant: write, [`advance`](Clock::advance) past
/// the TTL, read a miss. (DynamoDB's own TTL deletion runs on AWS's clock, not this one.)
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use std::time::Duration;
/// use dynamorator::{Clock, Store, Ttl};
///
/// let clock = Clock::manual();
/// let store = Store::builder().embedded().clock(clock.clone()).build().await?;
/// store.put("k", &1, Ttl::minutes(1)).await?;
/// clock.advance(Duration::from_secs(59));
/// assert_eq!(store.get::<i32>("k").await?, Some(1));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(store.get::<i32>("k").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Epoch milliseconds of a manual clock; `None` for the system's.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock (the default).
    ///
    /// ```
    /// assert!(dynamorator::Clock::system().now_epoch_secs() > 1_700_000_000);
    /// ```
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A manual clock, starting at the system's time now and moving only with
    /// [`advance`](Clock::advance) and [`set`](Clock::set). Clones share it.
    ///
    /// ```
    /// let clock = dynamorator::Clock::manual();
    /// let start = clock.now_epoch_secs();
    /// clock.advance(std::time::Duration::from_secs(10));
    /// assert_eq!(clock.now_epoch_secs(), start + 10);
    /// ```
    pub fn manual() -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(
                system_epoch_secs().saturating_mul(1_000),
            ))),
        }
    }

    /// Moves a manual clock forward (to the millisecond; expiries are whole seconds, so a
    /// second passes once the moves add up to one); does nothing to the system clock.
    ///
    /// ```
    /// let clock = dynamorator::Clock::manual();
    /// clock.advance(std::time::Duration::from_secs(3_600));
    /// ```
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.manual {
            let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            // Saturating: a clock moved past the end of time stays there.
            let _ = now.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(millis))
            });
        }
    }

    /// Sets a manual clock to `epoch_secs`; does nothing to the system clock.
    ///
    /// ```
    /// let clock = dynamorator::Clock::manual();
    /// clock.set(2_000_000_000);
    /// assert_eq!(clock.now_epoch_secs(), 2_000_000_000);
    /// ```
    pub fn set(&self, epoch_secs: i64) {
        if let Some(now) = &self.manual {
            now.store(epoch_secs.saturating_mul(1_000), Ordering::Release);
        }
    }

    /// Whole epoch seconds now, as the table format stores them.
    ///
    /// ```
    /// let now = dynamorator::Clock::system().now_epoch_secs();
    /// ```
    pub fn now_epoch_secs(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::Acquire).div_euclid(1_000),
            None => system_epoch_secs(),
        }
    }

    /// Epoch milliseconds now: what leases between processes are timed with.
    ///
    /// ```
    /// let clock = dynamorator::Clock::manual();
    /// clock.set(2_000_000_000);
    /// clock.advance(std::time::Duration::from_millis(250));
    /// assert_eq!(clock.now_epoch_millis(), 2_000_000_000_250);
    /// ```
    pub fn now_epoch_millis(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::Acquire),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
        }
    }

    /// Whether this is a manual clock.
    ///
    /// ```
    /// assert!(dynamorator::Clock::manual().is_manual());
    /// assert!(!dynamorator::Clock::system().is_manual());
    /// ```
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}

/// Whole epoch seconds by the system clock.
fn system_epoch_secs() -> i64 {
    // A clock before 1970 is a broken host; treating it as 0 makes everything look expired,
    // which is a miss, never a crash.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual();
        let start = clock.now_epoch_secs();
        clock.advance(Duration::from_millis(1_999));
        assert_eq!(clock.now_epoch_secs(), start + 1);
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            clock.now_epoch_secs(),
            start + 2,
            "moves add up to the millisecond"
        );
        clock.set(i64::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_epoch_millis(), i64::MAX);
    }

    #[test]
    fn the_system_clock_ignores_moves() {
        let clock = Clock::system();
        clock.advance(Duration::from_secs(1_000_000));
        clock.set(0);
        assert!(clock.now_epoch_secs() > 1_700_000_000);
    }
}
