//! Stampede protection: concurrent loads of one key in one process share a single load.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::Error;

type Flight<V> = Arc<OnceCell<Result<V, Error>>>;

/// The loads in flight, by key. The first caller for a key runs its load; callers that arrive
/// while it runs wait and get a clone of its result. If the running caller is cancelled, a
/// waiting one takes over with its own load.
pub(crate) struct Coalescer<V> {
    flights: Mutex<HashMap<String, Flight<V>>>,
}

impl<V> Default for Coalescer<V> {
    fn default() -> Self {
        Coalescer {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Coalescer<V> {
    /// Runs `load` for `key`, unless a load of `key` is already running, whose result is
    /// returned instead.
    pub(crate) async fn run<F, Fut>(&self, key: &str, load: F) -> Result<V, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            flights.entry(key.to_owned()).or_default().clone()
        };
        // Removes the flight when this caller is done or dropped, so later calls start afresh
        // (and read what the load stored) rather than reuse a stale result.
        let _leave = Leave {
            coalescer: self,
            key,
            flight: &flight,
        };
        flight.get_or_init(load).await.clone()
    }

    /// How many keys have a load in flight (for tests and the soak benchmark's sizes).
    #[cfg(any(test, feature = "__bench-hooks"))]
    pub(crate) fn in_flight(&self) -> usize {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

struct Leave<'a, V> {
    coalescer: &'a Coalescer<V>,
    key: &'a str,
    flight: &'a Flight<V>,
}

impl<V> Drop for Leave<'_, V> {
    fn drop(&mut self) {
        let mut flights = self
            .coalescer
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only an uninitialised flight may have other callers still taking it over; a finished
        // one is done for everybody who joined it.
        let finished = self.flight.initialized();
        let ours = flights
            .get(self.key)
            .is_some_and(|current| Arc::ptr_eq(current, self.flight));
        if ours && (finished || Arc::strong_count(self.flight) <= 2) {
            flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    /// Polls `future` once with a waker that does nothing: how far it gets before it waits.
    fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_load() {
        let coalescer = Coalescer::<u32>::default();
        let loads = AtomicUsize::new(0);
        // The load cannot finish before the gate opens, which is after every caller is in.
        let (open, gate) = tokio::sync::watch::channel(false);
        let mut callers: Vec<_> = (0..10)
            .map(|_| {
                let (loads, mut gate) = (&loads, gate.clone());
                Box::pin(coalescer.run("k", move || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    gate.wait_for(|open| *open).await.expect("the gate is kept");
                    Ok(7)
                }))
            })
            .collect();
        // Each caller's first poll starts the load or joins it; none can finish yet.
        for caller in &mut callers {
            assert!(poll_once(caller.as_mut()).is_pending());
        }
        // Without coalescing each of the ten would be running its own load now.
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for ten callers");
        assert_eq!(coalescer.in_flight(), 1);
        open.send_replace(true);
        for caller in callers {
            assert_eq!(caller.await.unwrap(), 7);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(coalescer.in_flight(), 0);
    }

    #[tokio::test]
    async fn errors_are_shared_and_not_kept() {
        let coalescer = Coalescer::<u32>::default();
        let failed = coalescer
            .run("k", || async {
                Err(Error::Unprocessed {
                    operation: "BatchGetItem",
                    attempts: 1,
                })
            })
            .await;
        assert!(matches!(failed, Err(Error::Unprocessed { .. })));
        assert_eq!(coalescer.run("k", || async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(coalescer.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_loader_is_taken_over() {
        let coalescer = Coalescer::<u32>::default();
        let mut first = Box::pin(coalescer.run("k", || async {
            std::future::pending::<()>().await;
            Ok(1)
        }));
        let mut second = Box::pin(coalescer.run("k", || async { Ok(2) }));
        assert!(
            poll_once(first.as_mut()).is_pending(),
            "the first caller's load runs"
        );
        assert!(
            poll_once(second.as_mut()).is_pending(),
            "the second caller waits for it"
        );
        assert_eq!(coalescer.in_flight(), 1);
        // The first caller is cancelled mid-load: the waiting one takes over with its own.
        drop(first);
        assert_eq!(
            coalescer.in_flight(),
            1,
            "the waiter still needs the flight"
        );
        assert_eq!(second.await.unwrap(), 2);
        assert_eq!(coalescer.in_flight(), 0);
        // A cancelled caller with no one waiting leaves nothing behind.
        let mut lone = Box::pin(coalescer.run("k", || async {
            std::future::pending::<()>().await;
            Ok(3)
        }));
        assert!(poll_once(lone.as_mut()).is_pending());
        assert_eq!(coalescer.in_flight(), 1);
        drop(lone);
        assert_eq!(coalescer.in_flight(), 0);
        assert_eq!(coalescer.run("k", || async { Ok(4) }).await.unwrap(), 4);
    }
}
