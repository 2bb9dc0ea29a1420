//! Leases on keys, for one load per key across processes: a conditional write on the key's
//! item that only one process wins while the lease is unexpired.

use std::time::Duration;

use super::Store;
use crate::Error;
use crate::backend::LeaseRequest;
use crate::codec::validate_key;

impl Store {
    /// Takes a lease on `key` for `owner`, for `length` from now by the store's clock;
    /// `Ok(false)` when another unexpired lease is there, or the stored value is fresh (of
    /// `generation` or newer). A disabled store grants every lease (there is nothing to share).
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
        validate_key(key)?;
        let clock = self.clock();
        let now_ms = clock.now_epoch_millis();
        let length_ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX);
        let until_ms = now_ms.saturating_add(length_ms);
        // A lease item of a key not loaded yet outlives its lease by a minute, then DynamoDB's
        // TTL deletion removes it if no value replaced it.
        let expires_at = until_ms.div_euclid(1_000).saturating_add(60);
        backend
            .acquire_lease(LeaseRequest {
                key,
                owner,
                now_ms,
                until_ms,
                generation,
                expires_at,
            })
            .await
    }

    /// Ends `owner`'s lease on `key` if it still holds it.
    pub(crate) async fn release_lease(&self, key: &str, owner: &str) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        validate_key(key)?;
        backend.release_lease(key, owner).await
    }
}
