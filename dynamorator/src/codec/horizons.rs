//! An item's two horizons: fresh until `fresh_until`, then stale (still served, refreshed in
//! the background) until `expires_at`, the `ttl` attribute, after which it is a miss.

use crate::Ttl;

/// When an item stops being fresh and when it expires, in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Horizons {
    /// `None`: fresh until it expires (no stale window; the Python package's items).
    pub(crate) fresh_until: Option<i64>,
    pub(crate) expires_at: i64,
}

/// Where an item is on its timeline at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    Fresh,
    /// Past its fresh horizon, before its expiry: served while it is refreshed.
    Stale,
    /// Past its expiry, yet still stored: only a fail-safe fallback.
    Expired,
}

impl Horizons {
    /// Fresh for `ttl`, then stale for `stale` (if any), from `now`, both shifted by `jitter`
    /// seconds (so items written together do not expire together).
    pub(crate) fn after(now: i64, ttl: Ttl, stale: Option<Ttl>, jitter: u64) -> Horizons {
        let start = now.saturating_add(i64::try_from(jitter).unwrap_or(i64::MAX));
        let fresh_until = ttl.expires_at(start);
        match stale {
            None => Horizons {
                fresh_until: None,
                expires_at: fresh_until,
            },
            Some(stale) => Horizons {
                fresh_until: Some(fresh_until),
                expires_at: stale.expires_at(fresh_until),
            },
        }
    }

    /// The end of the fresh window; never past the expiry, whatever an item says.
    pub(crate) fn fresh_until(&self) -> i64 {
        self.fresh_until
            .map_or(self.expires_at, |fresh| fresh.min(self.expires_at))
    }

    pub(crate) fn freshness(&self, now: i64) -> Freshness {
        if now >= self.expires_at {
            Freshness::Expired
        } else if now >= self.fresh_until() {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_stale_window_an_item_is_fresh_until_it_expires() {
        let h = Horizons::after(1_000, Ttl::secs(60), None, 0);
        assert_eq!(
            h,
            Horizons {
                fresh_until: None,
                expires_at: 1_060
            }
        );
        assert_eq!(h.freshness(1_059), Freshness::Fresh);
        assert_eq!(h.freshness(1_060), Freshness::Expired);
    }

    #[test]
    fn a_stale_window_follows_the_fresh_one() {
        let h = Horizons::after(1_000, Ttl::secs(60), Some(Ttl::secs(30)), 0);
        assert_eq!(h.fresh_until, Some(1_060));
        assert_eq!(h.expires_at, 1_090);
        assert_eq!(h.freshness(1_059), Freshness::Fresh);
        assert_eq!(h.freshness(1_060), Freshness::Stale);
        assert_eq!(h.freshness(1_089), Freshness::Stale);
        assert_eq!(h.freshness(1_090), Freshness::Expired);
    }

    #[test]
    fn jitter_shifts_both_horizons() {
        let h = Horizons::after(1_000, Ttl::secs(60), Some(Ttl::secs(30)), 7);
        assert_eq!((h.fresh_until, h.expires_at), (Some(1_067), 1_097));
    }

    #[test]
    fn a_fresh_horizon_past_the_expiry_is_cut_to_it() {
        let h = Horizons {
            fresh_until: Some(5_000),
            expires_at: 2_000,
        };
        assert_eq!(h.fresh_until(), 2_000);
        assert_eq!(h.freshness(1_999), Freshness::Fresh);
    }
}
