//! The L1 layer with the `l1` feature: a moka cache of decoded values, each entry living the
//! sooner of the L1's TTL and its item's expiry, bounded by the memory its entries occupy or
//! by entries.
//!
//! moka ends every entry at one lifetime (`time_to_live`, the longest an entry may live). An
//! entry that must end sooner (its item expires first, or a remembered miss's shorter TTL)
//! carries its deadline, checked on each hit against the store's clock. moka's per-entry
//! expiry did the same with a timer wheel, and cost a hit 15 % more (`cargo bench --bench l1`).

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache as Moka;
use serde::Serialize;

use super::Held;
use super::footprint::{allocation, heap_bytes};
use crate::cache::config::L1Bound;
use crate::cache::engine::Coalescer;
use crate::codec::{Freshness, Horizons};
use crate::{Clock, L1Config, Ttl};

/// An L1 entry: a value, or a remembered miss (`None`), with the time it may live.
struct Entry<T> {
    value: Option<Arc<T>>,
    /// When the value goes stale; `i64::MAX` when it never does before the entry ends.
    fresh_until: i64,
    /// The memory the entry occupies, for the byte bound (0 when bounded by entries).
    weight: u32,
    /// When it ends, in epoch seconds of the store's clock: the sooner of its TTL in the L1
    /// and the item's own expiry.
    deadline: i64,
    /// Whether it ends before moka's lifetime would end it, so a hit checks the deadline.
    ends_early: bool,
}

// By hand: cloning an entry clones the `Arc`, whether or not `T` is `Clone`.
impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Entry {
            value: self.value.clone(),
            fresh_until: self.fresh_until,
            weight: self.weight,
            deadline: self.deadline,
            ends_early: self.ends_early,
        }
    }
}

/// What moka and this layer allocate for an entry besides its key and value: moka's hash
/// table slot, entry, key and value wrappers, access order and timer wheel nodes, frequency
/// sketch share, and this `Entry`. Measured: 400,000 entries of a short key and a `u64` grow
/// the process by about 414 bytes an entry more than the key's and the `Arc<u64>`'s
/// allocations (`tests/l1_memory.rs`, which checks the whole weight against the resident
/// set); rounded up, so the bound errs on the side of memory. That was measured with moka's
/// per-entry expiry and its timer nodes; with one lifetime for all entries an entry takes
/// less, so the bound errs further the same way (`tests/l1_memory.rs` still holds the weight
/// within 1.5× of the resident growth).
const ENTRY_OVERHEAD: usize = 448;

/// The longest lifetime handed to moka, in seconds.
const HUNDRED_YEARS: u64 = 100 * 365 * 24 * 60 * 60;

/// An `Arc<T>`'s allocation holds two counts before the value.
const ARC_COUNTS: usize = 2 * std::mem::size_of::<usize>();

/// The moka cache behind a cache's L1, keyed by the caller's keys (one cache, one key space:
/// no prefix to build on the hit path).
pub(crate) struct Layer<T> {
    entries: Moka<String, Entry<T>>,
    config: L1Config,
    /// moka's lifetime for every entry: the longer of the L1's TTL and the negative TTL.
    longest: Ttl,
    clock: Clock,
    /// Store reads in flight, so concurrent misses of one key make one read.
    reads: Coalescer<Option<Held<T>>>,
}

impl<T: Serialize + Send + Sync + 'static> Layer<T> {
    pub(crate) fn new(config: &L1Config, clock: &Clock) -> Option<Self> {
        let longest = config
            .negative_ttl
            .map_or(config.ttl, |negative| negative.max(config.ttl));
        // moka refuses lifetimes past 1,000 years; no entry needs one past a hundred.
        let lifetime = longest.as_secs().min(HUNDRED_YEARS);
        let builder = Moka::builder().time_to_live(Duration::from_secs(lifetime));
        let entries = match config.bound {
            L1Bound::Bytes(bytes) => builder
                .max_capacity(bytes)
                .weigher(|_key: &String, entry: &Entry<T>| entry.weight)
                .build(),
            L1Bound::Entries(entries) => builder.max_capacity(entries).build(),
        };
        Some(Layer {
            entries,
            config: *config,
            longest,
            clock: clock.clone(),
            reads: Coalescer::default(),
        })
    }

    /// `Some(Some(held))`, `Some(None)` for a remembered miss, `None` when not held.
    pub(crate) fn get(&self, key: &str) -> Option<Option<Held<T>>> {
        let entry = self.entries.get(key)?;
        // The system clock is not read for entries that cannot go stale and that moka ends in
        // time: that hit path pays nothing for a clock. A manual clock's time is not moka's.
        let now = (entry.ends_early || entry.fresh_until != i64::MAX || self.clock.is_manual())
            .then(|| self.clock.now_epoch_secs());
        if let Some(now) = now
            && entry.deadline <= now
        {
            self.entries.invalidate(key);
            return None;
        }
        let stale = now.is_some_and(|now| now >= entry.fresh_until);
        Some(entry.value.map(|value| Held {
            value,
            freshness: if stale {
                Freshness::Stale
            } else {
                Freshness::Fresh
            },
        }))
    }

    pub(crate) fn reads(&self) -> &Coalescer<Option<Held<T>>> {
        &self.reads
    }

    /// Holds `value` for the key, until the sooner of the L1's TTL and the item's expiry; it
    /// reads as stale past the item's fresh horizon.
    pub(crate) fn insert(&self, key: String, value: Arc<T>, horizons: Horizons) {
        let weight = self.weigh(&key, || {
            allocation(ARC_COUNTS + std::mem::size_of::<T>()).saturating_add(heap_bytes(&*value))
        });
        self.hold(key, Some(value), weight, self.config.ttl, Some(horizons));
    }

    /// Remembers that the store does not have `key`, if negative caching is on.
    pub(crate) fn insert_absent(&self, key: String) {
        if let Some(ttl) = self.config.negative_ttl {
            let weight = self.weigh(&key, || 0);
            self.hold(key, None, weight, ttl, None);
        }
    }

    /// Whether misses are remembered (negative caching is on).
    pub(crate) fn remembers_misses(&self) -> bool {
        self.config.negative_ttl.is_some()
    }

    /// The memory an entry of `key` occupies, its value's being `value()`, when the L1 is
    /// bounded in bytes (only then is the value walked).
    fn weigh(&self, key: &str, value: impl FnOnce() -> usize) -> u32 {
        let L1Bound::Bytes(_) = self.config.bound else {
            return 0;
        };
        let bytes = ENTRY_OVERHEAD
            .saturating_add(allocation(key.len()))
            .saturating_add(value());
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    fn hold(
        &self,
        key: String,
        value: Option<Arc<T>>,
        weight: u32,
        ttl: Ttl,
        horizons: Option<Horizons>,
    ) {
        let now = self.clock.now_epoch_secs();
        let own = ttl.expires_at(now);
        let deadline = horizons.map_or(own, |horizons| own.min(horizons.expires_at));
        let fresh_until = horizons
            .map(|horizons| horizons.fresh_until())
            .filter(|fresh_until| *fresh_until < deadline)
            .unwrap_or(i64::MAX);
        if deadline <= now {
            self.entries.invalidate(&key);
            return;
        }
        let entry = Entry {
            value,
            fresh_until,
            weight,
            deadline,
            ends_early: deadline < self.longest.expires_at(now),
        };
        self.entries.insert(key, entry);
    }

    pub(crate) fn invalidate(&self, key: &str) {
        self.entries.invalidate(key);
    }

    pub(crate) fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }

    /// The keys held now (a walk of every entry).
    pub(crate) fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(key, _)| (*key).clone()).collect()
    }

    /// Entries and weighted size now.
    pub(crate) fn size(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}
