//! [`Ttl`], the crate's one time-to-live type, and the epoch-second arithmetic of the table
//! format.

use std::num::NonZeroU64;
use std::time::Duration;

use crate::Error;

/// How long a stored item lives: a whole number of seconds, from 1 to [`Ttl::MAX_SECS`].
///
/// A `Ttl` is checked when it is made, so every `Ttl` can be stored: no call fails later for
/// its TTL. The `const` constructors take whole units and are meant for constants, where a
/// zero or too large value is a compile error; the `try_` constructors take values made at run
/// time (including the Python package's fractional days) and return [`Error::InvalidTtl`].
///
/// ```
/// use std::time::Duration;
/// use dynamorator::Ttl;
///
/// const WEEK: Ttl = Ttl::days(7);
/// assert_eq!(WEEK.as_secs(), 604_800);
/// assert_eq!(Ttl::try_from_days(0.5)?.as_secs(), 43_200);
/// assert_eq!(Ttl::try_from(Duration::from_secs(90))?, Ttl::secs(90));
/// assert!(Ttl::try_from_days(f64::NAN).is_err());
/// assert!(Ttl::try_from(Duration::from_millis(500)).is_err());
/// # Ok::<(), dynamorator::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(NonZeroU64);

impl Ttl {
    /// The longest TTL accepted: 1,000 years of 365 days. Longer ones are almost certainly a
    /// unit mistake, and keep every expiry time far inside `i64`. `#[cache(...)]` checks
    /// against this same constant.
    pub const MAX_SECS: u64 = 1_000 * 365 * 86_400;

    /// The longest TTL, [`MAX_SECS`](Ttl::MAX_SECS).
    pub const MAX: Ttl = Ttl::secs(Ttl::MAX_SECS);

    /// A TTL of `secs` seconds.
    ///
    /// # Panics
    ///
    /// When `secs` is 0 or over [`MAX_SECS`](Ttl::MAX_SECS); in a `const` that is a compile
    /// error. Use [`try_from_secs`](Ttl::try_from_secs) for values made at run time.
    ///
    /// ```
    /// const MINUTE: dynamorator::Ttl = dynamorator::Ttl::secs(60);
    /// ```
    pub const fn secs(secs: u64) -> Ttl {
        match Ttl::checked(secs) {
            Ok(ttl) => ttl,
            Err(_) => panic!("a TTL must be 1 second to 1,000 years"),
        }
    }

    /// A TTL of `minutes` minutes; panics as [`secs`](Ttl::secs) does.
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::minutes(2).as_secs(), 120);
    /// ```
    pub const fn minutes(minutes: u64) -> Ttl {
        Ttl::secs(minutes.saturating_mul(60))
    }

    /// A TTL of `hours` hours; panics as [`secs`](Ttl::secs) does.
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::hours(2).as_secs(), 7_200);
    /// ```
    pub const fn hours(hours: u64) -> Ttl {
        Ttl::secs(hours.saturating_mul(3_600))
    }

    /// A TTL of `days` days; panics as [`secs`](Ttl::secs) does.
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::days(7).as_secs(), 604_800);
    /// ```
    pub const fn days(days: u64) -> Ttl {
        Ttl::secs(days.saturating_mul(86_400))
    }

    /// A TTL of `secs` seconds made at run time.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTtl`] for 0 or over [`MAX_SECS`](Ttl::MAX_SECS).
    ///
    /// ```
    /// assert!(dynamorator::Ttl::try_from_secs(0).is_err());
    /// ```
    pub fn try_from_secs(secs: u64) -> Result<Ttl, Error> {
        Ttl::checked(secs).map_err(|reason| Error::InvalidTtl { reason })
    }

    /// A TTL of `days` days, fractions allowed, as the Python package takes it: fractions of a
    /// second are dropped (`int(ttl_days * 86400)`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTtl`] for NaN, infinite, negative, under one second, or over
    /// [`MAX_SECS`](Ttl::MAX_SECS).
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::try_from_days(1.5)?.as_secs(), 129_600);
    /// # Ok::<(), dynamorator::Error>(())
    /// ```
    pub fn try_from_days(days: f64) -> Result<Ttl, Error> {
        Ttl::try_from_secs_f64(days * 86_400.0)
    }

    /// A TTL of `secs` seconds, fractions dropped.
    ///
    /// # Errors
    ///
    /// As [`try_from_days`](Ttl::try_from_days).
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::try_from_secs_f64(1.9)?.as_secs(), 1);
    /// # Ok::<(), dynamorator::Error>(())
    /// ```
    pub fn try_from_secs_f64(secs: f64) -> Result<Ttl, Error> {
        let invalid = |reason| Err(Error::InvalidTtl { reason });
        if secs.is_nan() {
            return invalid("TTL is NaN");
        }
        if secs.is_infinite() {
            return invalid("TTL is infinite");
        }
        if secs < 0.0 {
            return invalid("TTL is negative");
        }
        if secs > Ttl::MAX_SECS as f64 {
            return invalid("TTL is longer than 1,000 years");
        }
        // Truncation, like Python's int(): 1.9 s is 1 s. In range, so the cast is exact.
        Ttl::try_from_secs(secs.trunc() as u64)
    }

    /// The one range check of every constructor (and of `#[cache(...)]`, through `secs`).
    const fn checked(secs: u64) -> Result<Ttl, &'static str> {
        if secs > Ttl::MAX_SECS {
            return Err("TTL is longer than 1,000 years");
        }
        match NonZeroU64::new(secs) {
            Some(secs) => Ok(Ttl(secs)),
            None => Err("TTL is under one second, so the item would expire as it is written"),
        }
    }

    /// The TTL in whole seconds.
    ///
    /// ```
    /// assert_eq!(dynamorator::Ttl::minutes(1).as_secs(), 60);
    /// ```
    pub const fn as_secs(self) -> u64 {
        self.0.get()
    }

    /// The TTL as a [`Duration`].
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(dynamorator::Ttl::secs(5).as_duration(), Duration::from_secs(5));
    /// ```
    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0.get())
    }

    /// The expiry time, in epoch seconds, of an item written at `now`.
    pub(crate) fn expires_at(self, now: i64) -> i64 {
        // At most MAX_SECS, so the conversion cannot fail; saturation keeps a clock at the end
        // of time from wrapping.
        now.saturating_add(i64::try_from(self.as_secs()).unwrap_or(i64::MAX))
    }
}

impl TryFrom<Duration> for Ttl {
    type Error = Error;

    /// Whole seconds of the duration; under one second or over the maximum is an error.
    fn try_from(duration: Duration) -> Result<Ttl, Error> {
        Ttl::try_from_secs(duration.as_secs())
    }
}

impl From<Ttl> for Duration {
    fn from(ttl: Ttl) -> Duration {
        ttl.as_duration()
    }
}

/// Whether an item with this expiry is expired at `now`: DynamoDB deletes expired items lazily,
/// so every read checks for itself.
pub(crate) fn is_expired(expires_at: i64, now: i64) -> bool {
    expires_at <= now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_fractional_seconds_like_python() {
        assert_eq!(Ttl::try_from_days(1.9 / 86_400.0).unwrap().as_secs(), 1);
        assert_eq!(Ttl::try_from_days(7.0).unwrap(), Ttl::days(7));
    }

    #[test]
    fn refuses_unstorable_ttls_where_they_are_made() {
        for days in [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e300, 0.1 / 86_400.0] {
            assert!(
                matches!(Ttl::try_from_days(days), Err(Error::InvalidTtl { .. })),
                "{days}"
            );
        }
        for secs in [0, Ttl::MAX_SECS + 1, u64::MAX] {
            assert!(Ttl::try_from_secs(secs).is_err(), "{secs}");
        }
        assert!(Ttl::try_from(Duration::from_millis(999)).is_err());
        assert_eq!(Ttl::try_from_secs(Ttl::MAX_SECS).unwrap(), Ttl::MAX);
    }

    #[test]
    #[should_panic(expected = "1 second to 1,000 years")]
    fn a_zero_constant_panics() {
        let _ = Ttl::hours(std::hint::black_box(0));
    }

    #[test]
    fn unit_constructors_saturate_into_the_check() {
        assert!(std::panic::catch_unwind(|| Ttl::days(u64::MAX)).is_err());
    }

    #[test]
    fn expiry_is_now_plus_whole_seconds() {
        assert_eq!(Ttl::hours(1).expires_at(1_000), 4_600);
        assert!(is_expired(4_600, 4_600));
        assert!(!is_expired(4_601, 4_600));
        assert_eq!(Ttl::MAX.expires_at(i64::MAX), i64::MAX);
    }
}
