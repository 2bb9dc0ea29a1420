//! Stampede protection for batch read-through: while one call loads a set of keys, calls that
//! miss any of them wait for it to end and then read what it stored, instead of asking the
//! loader for the same keys again.
//!
//! Waiters hold no claim while they wait, so two calls can never wait on each other. A loaded
//! value reaches a waiter through the L1 or the store, so values need not be `Clone`; when the
//! store could not take them (it is down: fail-open), the waiter finds them missing and loads
//! them itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

/// The keys that batch loads are loading, each with a channel that closes when its load ends.
#[derive(Default)]
pub(crate) struct BatchFlights {
    loading: Mutex<HashMap<String, watch::Receiver<()>>>,
    /// How many loads have ended: a caller that read before a load ended and claims after it
    /// must read again, or it would load what that load just stored.
    ended: AtomicU64,
}

/// What [`BatchFlights::claim`] gave.
pub(crate) enum Claim<'a> {
    /// Every key is this caller's to load until the lease is dropped.
    Lead(Lease<'a>),
    /// Other calls are loading these keys: wait for the channels to close, then read the keys.
    Wait {
        keys: Vec<String>,
        ends: Vec<watch::Receiver<()>>,
    },
}

impl BatchFlights {
    /// A mark to pass to [`claim`](Self::claim), taken before reading the store.
    pub(crate) fn mark(&self) -> u64 {
        self.ended.load(Ordering::Acquire)
    }

    /// Claims all of `keys` if none is being loaded; otherwise claims none and says which to
    /// wait for.
    pub(crate) fn claim(&self, keys: &[String]) -> Claim<'_> {
        let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        let (waited, ends): (Vec<String>, Vec<watch::Receiver<()>>) = keys
            .iter()
            .filter_map(|key| Some((key.clone(), loading.get(key)?.clone())))
            .unzip();
        if !waited.is_empty() {
            return Claim::Wait { keys: waited, ends };
        }
        let (end, receiver) = watch::channel(());
        for key in keys {
            loading.insert(key.clone(), receiver.clone());
        }
        Claim::Lead(Lease {
            flights: self,
            keys: keys.to_vec(),
            _end: end,
        })
    }

    /// Whether a load has ended since `mark`.
    pub(crate) fn ended_since(&self, mark: u64) -> bool {
        self.mark() != mark
    }

    #[cfg(test)]
    fn loading(&self) -> usize {
        self.loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A caller's claim on the keys it loads. Dropping it (after the values are stored, on a loader
/// error, or when the caller is cancelled) wakes the waiters.
pub(crate) struct Lease<'a> {
    flights: &'a BatchFlights,
    keys: Vec<String>,
    /// Dropped after `drop` has run, which closes the waiters' channels.
    _end: watch::Sender<()>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut loading = self
            .flights
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            loading.remove(key);
        }
        self.flights.ended.fetch_add(1, Ordering::AcqRel);
    }
}

/// Waits until every channel is closed: the loads they belong to have ended.
pub(crate) async fn wait_for(ends: Vec<watch::Receiver<()>>) {
    for mut end in ends {
        // No value is ever sent: `changed` returns when the sender is dropped.
        while end.changed().await.is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|k| (*k).to_owned()).collect()
    }

    #[tokio::test]
    async fn a_claim_on_a_loading_key_waits_and_claims_nothing() {
        let flights = BatchFlights::default();
        let Claim::Lead(lease) = flights.claim(&keys(&["a", "b"])) else {
            panic!("the first claim leads");
        };
        let Claim::Wait { keys: waited, ends } = flights.claim(&keys(&["b", "c"])) else {
            panic!("a claim on a loading key waits");
        };
        assert_eq!(waited, vec!["b".to_owned()]);
        assert_eq!(flights.loading(), 2, "c was not claimed");
        let mark = flights.mark();
        drop(lease);
        wait_for(ends).await;
        assert!(flights.ended_since(mark));
        assert_eq!(flights.loading(), 0);
        assert!(matches!(flights.claim(&keys(&["b", "c"])), Claim::Lead(_)));
    }

    #[tokio::test]
    async fn disjoint_claims_both_lead() {
        let flights = BatchFlights::default();
        let first = flights.claim(&keys(&["a"]));
        let second = flights.claim(&keys(&["b"]));
        assert!(matches!(first, Claim::Lead(_)) && matches!(second, Claim::Lead(_)));
        assert_eq!(flights.loading(), 2);
    }
}
