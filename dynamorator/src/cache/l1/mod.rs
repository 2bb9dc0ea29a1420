//! The in-process L1: decoded values (`Arc<T>`) in front of a typed cache's store reads. A hit
//! is a hash lookup: no network call, no JSON parse. Bounded in bytes, it weighs each entry by
//! the memory it occupies (`footprint`), not by its stored size.
//!
//! The L1 is a layer of its own: it is handed the counters and a fetch closure for what it
//! does not hold, and never sees the cache. With the `l1` feature off, [`Layer`] is a type
//! that cannot be made, so a cache's L1 is always off; that, and the `footprint` weigher
//! only the moka layer uses, are the only places the feature appears.

#[cfg(not(feature = "l1"))]
#[path = "disabled.rs"]
mod layer;
#[cfg(feature = "l1")]
#[path = "moka.rs"]
mod layer;

#[cfg(feature = "l1")]
mod footprint;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::stats::Counters;
use crate::codec::{Decoded, Freshness, Horizons};
use crate::store::distinct;
use crate::{BatchFailure, Clock, Error, L1Config};
use layer::Layer;

/// A value a layer had, and where it is on its timeline.
pub(crate) struct Held<T> {
    pub(crate) value: Arc<T>,
    pub(crate) freshness: Freshness,
}

// By hand: cloning clones the `Arc`, whether or not `T` is `Clone`.
impl<T> Clone for Held<T> {
    fn clone(&self) -> Self {
        Held {
            value: self.value.clone(),
            freshness: self.freshness,
        }
    }
}

impl<T> Held<T> {
    /// A value read from the store at `now`.
    pub(crate) fn read(decoded: Decoded<T>, now: i64) -> Self {
        Held {
            freshness: decoded.horizons.freshness(now),
            value: Arc::new(decoded.value),
        }
    }
}

/// What the L1 knows about a key.
pub(crate) enum Lookup<T> {
    Hit(Held<T>),
    /// A remembered miss: the store did not have it a moment ago.
    Absent,
    Unknown,
}

/// What `layer` holds for `key`.
fn peek<T: Serialize + Send + Sync + 'static>(layer: &Layer<T>, key: &str) -> Lookup<T> {
    match layer.get(key) {
        Some(Some(held)) => Lookup::Hit(held),
        Some(None) => Lookup::Absent,
        None => Lookup::Unknown,
    }
}

/// A cache's L1, on or off.
pub(crate) struct L1<T> {
    layer: Option<Layer<T>>,
    /// Moves on whenever keys are dropped because another process changed them (or the whole
    /// L1 is): a store read that began before must not fill the L1 with what it read, which
    /// may be the value just replaced.
    changes: AtomicU64,
}

impl<T: Serialize + Send + Sync + 'static> L1<T> {
    /// An L1 with these settings, or none; its entries' deadlines follow `clock`.
    pub(crate) fn new(config: Option<&L1Config>, clock: &Clock) -> Self {
        L1 {
            layer: config.and_then(|config| Layer::new(config, clock)),
            changes: AtomicU64::new(0),
        }
    }

    /// Looks `key` up, counting the hit or miss; `Unknown` without counting when off.
    pub(crate) fn lookup(&self, key: &str, counters: &Counters) -> Lookup<T> {
        let Some(layer) = &self.layer else {
            return Lookup::Unknown;
        };
        let found = peek(layer, key);
        match found {
            Lookup::Hit(_) => counters.l1_hits.add(1),
            Lookup::Absent => {
                counters.l1_hits.add(1);
                counters.l1_negative_hits.add(1);
            }
            Lookup::Unknown => {
                counters.l1_misses.add(1);
                // A miss goes on to the store: a moment to refresh the size gauges.
                counters.l1_size(layer.size());
            }
        }
        found
    }

    /// The value held for `key` when it is fresh, counted as a hit; nothing is counted
    /// otherwise, so a caller that goes on to [`lookup`](Self::lookup) counts once.
    pub(crate) fn fresh(&self, key: &str, counters: &Counters) -> Option<Arc<T>> {
        match peek(self.layer.as_ref()?, key) {
            Lookup::Hit(held) if held.freshness == Freshness::Fresh => {
                counters.l1_hits.add(1);
                Some(held.value)
            }
            _ => None,
        }
    }

    /// `fetch`'s value at `now` for a key [`lookup`](Self::lookup) did not find (one fetch
    /// for concurrent misses of a key), which then fills the L1. Expired values `fetch`
    /// returns (fail-safe fallbacks) are returned, not held.
    pub(crate) async fn fetch<F, Fut>(
        &self,
        key: &str,
        now: i64,
        fetch: F,
    ) -> Result<Option<Held<T>>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Decoded<T>>, Error>>,
    {
        let Some(layer) = &self.layer else {
            return Ok(fetch().await?.map(|decoded| Held::read(decoded, now)));
        };
        // Boxed so a caller's future carries none of the miss path's (large) state: one
        // allocation on a miss, which is a network call anyway.
        Box::pin(layer.reads().run(key, || async {
            // A fetch that finished just before this one began has filled the L1.
            match peek(layer, key) {
                Lookup::Hit(value) => return Ok(Some(value)),
                Lookup::Absent => return Ok(None),
                Lookup::Unknown => {}
            }
            let before = self.changes();
            match fetch().await? {
                Some(decoded) => {
                    let horizons = decoded.horizons;
                    let held = Held::read(decoded, now);
                    if held.freshness != Freshness::Expired && self.unchanged_since(before) {
                        layer.insert(key.to_owned(), held.value.clone(), horizons);
                    }
                    Ok(Some(held))
                }
                None => {
                    if self.unchanged_since(before) {
                        layer.insert_absent(key.to_owned());
                    }
                    Ok(None)
                }
            }
        }))
        .await
    }

    /// Many keys (repeats allowed): the L1's hits, and one `fetch` of the distinct rest at
    /// `now`, which then fills the L1 (expired fallbacks are returned, not held). `keep` makes
    /// each value found what the caller returns, so the result map is built once.
    ///
    /// The hit path is a lookup and a map insert a key: counters are added once a call, and
    /// only misses pay for finding repeats.
    pub(crate) async fn get_many_or_fetch<K, O, F, Fut>(
        &self,
        keys: &[K],
        counters: &Counters,
        now: i64,
        fetch: F,
        keep: impl Fn(Held<T>) -> O,
    ) -> (HashMap<String, O>, Vec<BatchFailure>)
    where
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = (HashMap<String, Decoded<T>>, Vec<BatchFailure>)>,
    {
        let Some(layer) = &self.layer else {
            let asked = distinct(keys.iter().map(AsRef::as_ref));
            let (fetched, failed) = fetch(asked.into_iter().map(str::to_owned).collect()).await;
            let found = fetched
                .into_iter()
                .map(|(key, decoded)| (key, keep(Held::read(decoded, now))))
                .collect();
            return (found, failed);
        };
        let mut found = HashMap::with_capacity(keys.len());
        let mut absent = Vec::new();
        let mut missing = Vec::new();
        for key in keys {
            let key = key.as_ref();
            match peek(layer, key) {
                Lookup::Hit(held) => {
                    // A repeated key replaces its first value: the same one.
                    found.insert(key.to_owned(), keep(held));
                }
                Lookup::Absent => absent.push(key),
                Lookup::Unknown => missing.push(key),
            }
        }
        // Per distinct key, as a call with each key once would count them.
        let absent = if absent.len() > 1 {
            distinct(absent).len()
        } else {
            absent.len()
        };
        let missing = if missing.len() > 1 {
            distinct(missing)
        } else {
            missing
        };
        counters.l1_hits.add(found.len() + absent);
        counters.l1_negative_hits.add(absent);
        counters.l1_misses.add(missing.len());
        if missing.is_empty() {
            return (found, Vec::new());
        }
        // The call goes on to the store: a moment to refresh the size gauges.
        counters.l1_size(layer.size());
        let before = self.changes();
        let (fetched, failed) = fetch(missing.iter().map(|key| (*key).to_owned()).collect()).await;
        let fill = self.unchanged_since(before);
        if fill && layer.remembers_misses() {
            let unread: HashSet<&str> = failed
                .iter()
                .flat_map(|failure| failure.keys.iter().map(String::as_str))
                .collect();
            for key in missing {
                if !fetched.contains_key(key) && !unread.contains(key) {
                    layer.insert_absent(key.to_owned());
                }
            }
        }
        for (key, decoded) in fetched {
            let horizons = decoded.horizons;
            let held = Held::read(decoded, now);
            if fill && held.freshness != Freshness::Expired {
                layer.insert(key.clone(), held.value.clone(), horizons);
            }
            found.insert(key, keep(held));
        }
        (found, failed)
    }

    /// Where the L1's changes stand: taken before a store read whose value may fill it.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// Whether no key was dropped for another process's change since `before` was taken, so a
    /// value read meanwhile may be held.
    pub(crate) fn unchanged_since(&self, before: u64) -> bool {
        self.changes() == before
    }

    /// Holds a value read from the store if nothing was dropped for another process's change
    /// since the read began (`before`, from [`changes`](Self::changes)).
    pub(crate) fn insert_read(&self, before: u64, key: String, value: Arc<T>, horizons: Horizons) {
        if self.unchanged_since(before) {
            self.insert(key, value, horizons);
        }
    }

    /// Drops keys another process changed; reads in flight will not hold what they read.
    pub(crate) fn drop_changed<'k>(&self, keys: impl IntoIterator<Item = &'k String>) {
        let Some(layer) = &self.layer else {
            return;
        };
        self.changes.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            layer.invalidate(key);
        }
    }

    /// Drops every key for which `changed` says so (a walk of the L1: for keys named by their
    /// digest); reads in flight will not hold what they read.
    pub(crate) fn drop_changed_where(&self, changed: impl Fn(&str) -> bool) {
        let Some(layer) = &self.layer else {
            return;
        };
        self.changes.fetch_add(1, Ordering::AcqRel);
        for key in layer.keys() {
            if changed(&key) {
                layer.invalidate(&key);
            }
        }
    }

    /// Empties the L1 because it cannot be vouched for; reads in flight will not hold what
    /// they read.
    pub(crate) fn reset(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.invalidate_all();
    }

    /// Holds `value` for the key, until the sooner of the L1's TTL and the item's expiry;
    /// stale past its fresh horizon.
    pub(crate) fn insert(&self, key: String, value: Arc<T>, horizons: Horizons) {
        if let Some(layer) = &self.layer {
            layer.insert(key, value, horizons);
        }
    }

    /// Whether there is an L1 to fill (so callers can skip building what it would hold).
    pub(crate) fn is_on(&self) -> bool {
        self.layer.is_some()
    }

    /// Drops `key`, so the next read goes to the store.
    pub(crate) fn invalidate(&self, key: &str) {
        if let Some(layer) = &self.layer {
            layer.invalidate(key);
        }
    }

    /// Drops every entry.
    pub(crate) fn invalidate_all(&self) {
        if let Some(layer) = &self.layer {
            layer.invalidate_all();
        }
    }

    /// Entries and weighted size now.
    pub(crate) fn size(&self) -> (u64, u64) {
        self.layer.as_ref().map_or((0, 0), Layer::size)
    }

    /// How many keys have a store read in flight through the L1 (0 without one): for the soak
    /// benchmark's sizes.
    #[cfg(feature = "__bench-hooks")]
    pub(crate) fn reads_in_flight(&self) -> usize {
        self.layer
            .as_ref()
            .map_or(0, |layer| layer.reads().in_flight())
    }
}

#[cfg(all(test, feature = "l1"))]
mod tests {
    use super::*;
    use crate::Ttl;

    /// A value read at `now` (epoch seconds), fresh for an hour.
    fn decoded(value: u32, now: i64) -> Decoded<u32> {
        Decoded {
            value,
            horizons: Horizons::after(now, Ttl::hours(1), None, 0),
            generation: 0,
        }
    }

    #[tokio::test]
    async fn a_read_that_met_another_process_change_is_returned_but_not_held() {
        let clock = Clock::manual();
        let now = clock.now_epoch_secs();
        let l1: L1<u32> = L1::new(Some(&L1Config::new()), &clock);
        let counters = Counters::new("t", true);
        let held = l1
            .fetch("k", now, || async {
                // The feed drops `k` while its store read is in flight.
                l1.drop_changed(&["k".to_owned()]);
                Ok(Some(decoded(1, now)))
            })
            .await
            .unwrap();
        assert_eq!(
            held.map(|held| *held.value),
            Some(1),
            "the caller gets what was read"
        );
        assert!(
            matches!(l1.lookup("k", &counters), Lookup::Unknown),
            "not held"
        );

        let before = l1.changes();
        l1.reset();
        l1.insert_read(
            before,
            "k".to_owned(),
            Arc::new(2),
            decoded(2, now).horizons,
        );
        assert!(matches!(l1.lookup("k", &counters), Lookup::Unknown));
        let before = l1.changes();
        l1.insert_read(
            before,
            "k".to_owned(),
            Arc::new(3),
            decoded(3, now).horizons,
        );
        assert!(matches!(l1.lookup("k", &counters), Lookup::Hit(_)));
    }
}
