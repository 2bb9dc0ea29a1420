//! Gates, waits and bounds: how the concurrency tests make calls overlap without sleeping
//! for a set time, and never hang.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The longest any wait in the tests may take before it fails the test.
pub const LIMIT: Duration = Duration::from_secs(60);

/// A gate that loaders wait at until the test opens it. Clones share the gate.
#[derive(Clone)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Gate {
    /// A gate that holds its waiters until [`open`](Gate::open).
    pub fn closed() -> Gate {
        Gate(Arc::new(watch::channel(false).0))
    }

    /// Returns once the gate is open.
    pub async fn passed(&self) {
        let mut open = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = open.wait_for(|open| *open).await;
    }

    /// Lets every waiter, present and future, through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

/// Waits until `ready` holds, checking it between yields, at most 100,000 times and for at
/// most [`LIMIT`]: otherwise the test fails, naming `what`.
pub async fn until(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    for _ in 0..100_000 {
        if ready() {
            return;
        }
        assert!(started.elapsed() < LIMIT, "never happened: {what}");
        tokio::task::yield_now().await;
        // Background tasks run on other workers (or processes): give them a moment.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened: {what}");
}

/// `future`'s output, or a failed test naming `what` if it takes longer than [`LIMIT`] (a
/// hang).
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("did not end within {LIMIT:?}: {what}"),
    }
}
