//! Leases of the in-memory backend, kept beside its items: one process uses it, and no lease
//! outlives its process. The rules a lease and a conditional write follow are here too, for
//! the file, which keeps its leases in the file for every process that shares it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::backend::{Condition, LeaseRequest};
use crate::format::{Payload, StoredItem};

/// Past this many leases, lapsed ones of keys never written are dropped.
const PRUNE_AT: usize = 10_000;

/// Owner and end (epoch milliseconds) of each lease, by key.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    held: Mutex<HashMap<String, (String, i64)>>,
}

impl Leases {
    /// Takes the lease unless another unexpired one is there or `stored` is fresh (a value
    /// stored since the caller read its miss needs no load). The caller holds the items'
    /// lock, so no write comes between the look at `stored` and the lease.
    pub(crate) fn acquire(&self, lease: &LeaseRequest<'_>, stored: Option<&StoredItem>) -> bool {
        if is_fresh(stored, lease) {
            return false;
        }
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held
            .get(lease.key)
            .is_some_and(|(_, until)| *until > lease.now_ms)
        {
            return false;
        }
        held.insert(
            lease.key.to_owned(),
            (lease.owner.to_owned(), lease.until_ms),
        );
        if held.len() > PRUNE_AT {
            held.retain(|_, (_, until)| *until > lease.now_ms);
        }
        true
    }

    /// Ends `owner`'s lease on `key`, if it holds it.
    pub(crate) fn release(&self, key: &str, owner: &str) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.get(key).is_some_and(|(holder, _)| holder == owner) {
            held.remove(key);
        }
    }

    /// A write of `key` ends its lease, as a DynamoDB `PutItem` replaces the lease attributes.
    pub(crate) fn written(&self, key: &str) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// Whether a stored item is a fresh value for the lease's caller: not expired, not stale, and
/// of its generation or newer.
pub(crate) fn is_fresh(stored: Option<&StoredItem>, lease: &LeaseRequest<'_>) -> bool {
    let second = lease.now_ms.div_euclid(1_000);
    stored.is_some_and(|item| {
        item.expires_at > second
            && item.fresh_until.is_none_or(|fresh| fresh > second)
            && item.generation.unwrap_or(0) >= lease.generation
    })
}

/// Whether a conditional write of an item with `version` may replace `stored`.
pub(crate) fn condition_holds(
    condition: &Condition,
    stored: Option<&StoredItem>,
    version: Option<u64>,
) -> bool {
    match condition {
        Condition::DataIs(Some(data)) => {
            stored.is_some_and(|item| matches!(&item.payload, Payload::Json(text) if text == data))
        }
        Condition::DataIs(None) => stored.is_none(),
        Condition::OlderVersion => stored
            .and_then(|item| item.version)
            .is_none_or(|stored| stored < version.unwrap_or(0)),
    }
}
