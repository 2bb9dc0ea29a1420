//! Time-to-live values and the epoch-second arithmetic of the table format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Error;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// How long a stored item lives: it expires `whole seconds` after it is written.
///
/// Build it from days (fractional allowed, as in the Python package), hours, seconds or a
/// [`Duration`]. Fractions of a second are dropped, as the Python package does
/// (`now + int(ttl_days * 86400)`). The value is checked when it is used: NaN, infinite,
/// negative, zero-second and over-[`Ttl::MAX_SECS`] TTLs are refused with
/// [`Error::InvalidTtl`].
///
/// ```
/// use std::time::Duration;
/// use dynamorator::Ttl;
///
/// assert_eq!(Ttl::days(0.5).as_secs().ok(), Some(43_200));
/// assert_eq!(Ttl::hours(2.0).as_secs().ok(), Some(7_200));
/// assert_eq!(Ttl::from(Duration::from_secs(90)).as_secs().ok(), Some(90));
/// assert!(Ttl::days(f64::NAN).as_secs().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ttl(TtlRepr);

#[derive(Debug, Clone, Copy, PartialEq)]
enum TtlRepr {
    Seconds(f64),
    Exact(u64),
}

impl Ttl {
    /// The longest TTL accepted: 1,000 years of 365 days. Longer ones are almost certainly a
    /// unit mistake, and keep every expiry time far inside `i64`.
    pub const MAX_SECS: u64 = 1_000 * 365 * 86_400;

    /// A TTL of `days` days; fractions allowed (`0.5` is twelve hours).
    pub const fn days(days: f64) -> Self {
        Ttl(TtlRepr::Seconds(days * SECONDS_PER_DAY))
    }

    /// A TTL of `hours` hours; fractions allowed.
    pub const fn hours(hours: f64) -> Self {
        Ttl(TtlRepr::Seconds(hours * 3_600.0))
    }

    /// A TTL of `secs` whole seconds.
    pub const fn secs(secs: u64) -> Self {
        Ttl(TtlRepr::Exact(secs))
    }

    /// The TTL in whole seconds, or why it cannot be stored.
    pub fn as_secs(&self) -> Result<u64, Error> {
        let secs = match self.0 {
            TtlRepr::Exact(secs) => secs,
            TtlRepr::Seconds(secs) => {
                if secs.is_nan() {
                    return Err(Error::InvalidTtl {
                        reason: "TTL is NaN",
                    });
                }
                if secs.is_infinite() {
                    return Err(Error::InvalidTtl {
                        reason: "TTL is infinite",
                    });
                }
                if secs < 0.0 {
                    return Err(Error::InvalidTtl {
                        reason: "TTL is negative",
                    });
                }
                if secs > Ttl::MAX_SECS as f64 {
                    return Err(Error::InvalidTtl {
                        reason: "TTL is longer than 1,000 years",
                    });
                }
                // Truncation, like Python's int(): 1.9 s is 1 s.
                secs.trunc() as u64
            }
        };
        if secs == 0 {
            return Err(Error::InvalidTtl {
                reason: "TTL is under one second, so the item would expire as it is written",
            });
        }
        if secs > Ttl::MAX_SECS {
            return Err(Error::InvalidTtl {
                reason: "TTL is longer than 1,000 years",
            });
        }
        Ok(secs)
    }

    /// The expiry time, in epoch seconds, of an item written at `now`.
    pub(crate) fn expires_at(&self, now: i64) -> Result<i64, Error> {
        let secs = self.as_secs()?;
        // as_secs caps at MAX_SECS, far below i64::MAX, so neither conversion nor sum can fail;
        // the checked forms keep that true if the cap ever changes.
        i64::try_from(secs)
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .ok_or(Error::InvalidTtl {
                reason: "expiry time overflows",
            })
    }
}

impl From<Duration> for Ttl {
    fn from(duration: Duration) -> Self {
        Ttl::secs(duration.as_secs())
    }
}

/// Whole epoch seconds now, as the table format stores them.
pub(crate) fn now_epoch_secs() -> i64 {
    // A clock before 1970 is a broken host; treating it as 0 makes everything look expired,
    // which is a miss, never a crash.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
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
        assert_eq!(Ttl::days(1.0 / 86_400.0 * 1.9).as_secs().ok(), Some(1));
        assert_eq!(Ttl::days(7.0).as_secs().ok(), Some(604_800));
    }

    #[test]
    fn refuses_unstorable_ttls() {
        for ttl in [
            Ttl::days(f64::NAN),
            Ttl::days(f64::INFINITY),
            Ttl::days(-1.0),
            Ttl::days(0.0),
            Ttl::secs(0),
            Ttl::days(1e300),
            Ttl::secs(u64::MAX),
        ] {
            assert!(
                matches!(ttl.as_secs(), Err(Error::InvalidTtl { .. })),
                "{ttl:?}"
            );
        }
    }

    #[test]
    fn expiry_is_now_plus_whole_seconds() {
        assert_eq!(Ttl::hours(1.0).expires_at(1_000).ok(), Some(4_600));
        assert!(is_expired(4_600, 4_600));
        assert!(!is_expired(4_601, 4_600));
    }

    #[test]
    fn the_largest_ttl_does_not_overflow_at_the_largest_time() {
        assert!(Ttl::secs(Ttl::MAX_SECS).expires_at(i64::MAX).is_err());
        assert!(
            Ttl::secs(Ttl::MAX_SECS)
                .expires_at(now_epoch_secs())
                .is_ok()
        );
    }
}
