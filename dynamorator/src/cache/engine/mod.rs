//! The read-through engine: everything that turns a miss into a load, in one place. The
//! [`policy`] decides what a call does with each key; the engine's state carries it out:
//!
//! | state | what it tracks |
//! |---|---|
//! | `loads` | single-key loads in flight in this process ([`Coalescer`]) |
//! | `claims` | the keys batch calls are loading ([`KeyClaims`]) |
//! | `refreshes` | keys refreshing or paused, and the batch refresh window ([`Refreshes`]) |
//! | `background` | refreshes and loads that outlive their call ([`Background`]) |
//! | `circuit` | whether the store is answering ([`Circuit`], one per store) |
//!
//! Leases across processes are the `leases` file's; the single-key and batch flows are
//! `single` and `batch`, both over the same policy, and background refreshes are
//! `refreshing`'s. The public methods that enter them are in `read_through` and
//! `read_through_batch`.

mod background;
pub(crate) mod circuit;
mod fail_open;
pub(crate) mod leases;
pub(crate) mod policy;
pub(crate) mod refresh;
mod refreshing;
mod stampede;

mod batch;
mod single;

use std::sync::Arc;

use background::Background;
use circuit::Circuit;
use refresh::Refreshes;
use stampede::KeyClaims;

use crate::Store;
use crate::codec::Freshness;
use policy::KeyState;

pub(crate) use fail_open::warn_fail_open;
pub(crate) use refresh::BatchLoad;
pub(crate) use stampede::Coalescer;

/// The `tracing` target of read-through's events, whichever file sends them: a stable name
/// to filter on (`RUST_LOG=dynamorator::cache::read_through=error`).
pub(crate) const TARGET: &str = "dynamorator::cache::read_through";

/// The read-through state one cache's handles share.
pub(crate) struct Engine<T> {
    /// Single-key read-through loads in flight.
    loads: Coalescer<single::Answer<T>>,
    /// Batch read-through claims.
    claims: Arc<KeyClaims>,
    /// Keys refreshing or paused, and the batch refresh window.
    refreshes: Arc<Refreshes<T>>,
    background: Arc<Background>,
    /// The store's breaker, shared with every cache of the store.
    pub(in crate::cache) circuit: Arc<Circuit>,
}

impl<T> Engine<T> {
    pub(crate) fn new(store: &Store) -> Self {
        Engine {
            loads: Coalescer::default(),
            claims: Arc::default(),
            refreshes: Arc::default(),
            background: Arc::default(),
            circuit: Circuit::of(store),
        }
    }

    /// What the policy needs to know of `key` besides its held value: whether it is loading
    /// here or paused.
    /// Asked only of stale and expired values: for the others the answer cannot change what
    /// the policy decides, and a fresh hit takes no lock.
    /// `now` is asked for only then too: a fresh hit reads no clock.
    fn state_of(&self, key: &str, held: Option<Freshness>, now: impl FnOnce() -> i64) -> KeyState {
        let mut state = KeyState::held(held);
        if matches!(held, Some(Freshness::Stale | Freshness::Expired)) {
            state.loading = self.refreshes.is_in_flight(key);
            state.paused = self.refreshes.is_paused(key, now());
        }
        state
    }

    /// The sizes of the engine's per-key state at `now` (the L1's are the cache's to fill in).
    #[cfg(feature = "__bench-hooks")]
    pub(crate) fn sizes(&self, now: i64) -> crate::__bench::EngineSizes {
        let [refreshing, paused, paused_in_force, refresh_window] = self.refreshes.sizes(now);
        crate::__bench::EngineSizes {
            loads: self.loads.in_flight(),
            claims: self.claims.held(),
            refreshing,
            paused,
            paused_in_force,
            refresh_window,
            background: self.background.running(),
            ..crate::__bench::EngineSizes::default()
        }
    }

    /// Returns once no background work of this cache is running or waiting to start.
    pub(crate) async fn idle(&self) {
        self.background.idle().await;
    }
}
