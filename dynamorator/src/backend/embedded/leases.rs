//! Leases of the in-memory backend, kept beside its items: one process uses it, and no lease
//! outlives its process. Whether one may be taken is the caller's rule, evaluated here.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::condition::holds;
use crate::backend::LeaseRequest;
use crate::format::StoredItem;
use crate::format::condition::Require;

/// Past this many leases, lapsed ones of keys never written are dropped.
const PRUNE_AT: usize = 10_000;

/// Owner and end (epoch milliseconds) of each lease, by key.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    held: Mutex<HashMap<String, (String, i64)>>,
}

impl Leases {
    /// Takes the lease if `stored` and the lease there meet `require`. The caller holds the
    /// items' lock, so no write comes between the look at `stored` and the lease.
    pub(crate) fn acquire(
        &self,
        lease: &LeaseRequest<'_>,
        require: &Require,
        stored: Option<&StoredItem>,
    ) -> bool {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let until = held.get(lease.key).map(|(_, until)| *until);
        if !holds(require, stored, until) {
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

    /// The end of the lease on `key`, if there is one.
    pub(crate) fn until(&self, key: &str) -> Option<i64> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(key).map(|(_, until)| *until)
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
