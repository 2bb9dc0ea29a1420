//! Leases on keys, for one load per key across processes: a conditional write on the key's
//! item that only one process wins while the lease is unexpired. The rule is written here,
//! once, as data ([`lease_rule`]); each backend renders it.

use std::time::Duration;

use super::Store;
use crate::Error;
use crate::backend::LeaseRequest;
use crate::format::condition::{Attr, Op, Require};

impl Store {
    /// Takes a lease on `key` for `owner`, for `length` from now by the store's clock;
    /// `Ok(false)` when another unexpired lease is there, or the stored value is fresh (of
    /// `generation` or newer). A disabled store grants every lease (there is nothing to share).
    /// The key was checked by the caller.
    pub(crate) async fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        length: Duration,
        generation: u64,
    ) -> Result<bool, Error> {
        let Some(backend) = self.backend() else {
            return Ok(true);
        };
        let clock = self.clock();
        let now_ms = clock.now_epoch_millis();
        let length_ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX);
        let until_ms = now_ms.saturating_add(length_ms);
        // A lease item of a key not loaded yet outlives its lease by a minute, then DynamoDB's
        // TTL deletion removes it if no value replaced it.
        let expires_at = until_ms.div_euclid(1_000).saturating_add(60);
        let lease = LeaseRequest {
            key,
            owner,
            until_ms,
            expires_at,
            now_ms,
        };
        backend
            .acquire_lease(lease, lease_rule(now_ms, generation))
            .await
    }

    /// Ends `owner`'s lease on `key` if it still holds it.
    pub(crate) async fn release_lease(&self, key: &str, owner: &str) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        backend.release_lease(key, owner).await
    }
}

/// When a lease may be taken at `now_ms` (epoch milliseconds): no unexpired lease is there, and
/// no fresh value is (one stored since the caller read its miss needs no load). A value is not
/// fresh when absent, expired or stale by the whole second, or, with a `generation` (0: any),
/// written under an older one.
pub(crate) fn lease_rule(now_ms: i64, generation: u64) -> Require {
    let second = now_ms.div_euclid(1_000);
    let mut not_fresh = vec![
        Require::not(Require::HoldsValue),
        Require::compare(Attr::Ttl, Op::Le, second),
        Require::compare(Attr::FreshUntil, Op::Le, second),
    ];
    if generation > 0 {
        not_fresh.push(Require::not(Require::compare(
            Attr::Generation,
            Op::Ge,
            generation,
        )));
    }
    Require::All(vec![
        Require::not(Require::compare(Attr::LeaseUntil, Op::Gt, now_ms)),
        Require::Any(not_fresh),
    ])
}
