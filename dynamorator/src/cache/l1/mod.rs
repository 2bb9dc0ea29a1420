//! The in-process L1: decoded values (`Arc<T>`) in front of a typed cache's store reads. A hit
//! is a hash lookup: no network call, no JSON parse.
//!
//! The L1 is a layer of its own: it is handed the counters and a fetch closure for what it
//! does not hold, and never sees the cache. With the `l1` feature off, [`Layer`] is a type
//! that cannot be made, so a cache's L1 is always off; that is the only place the feature
//! appears.

#[cfg(not(feature = "l1"))]
#[path = "disabled.rs"]
mod layer;
#[cfg(feature = "l1")]
#[path = "moka.rs"]
mod layer;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use super::stats::Counters;
use crate::codec::{Decoded, Freshness, Horizons};
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
fn peek<T: Send + Sync + 'static>(layer: &Layer<T>, key: &str) -> Lookup<T> {
    match layer.get(key) {
        Some(Some(held)) => Lookup::Hit(held),
        Some(None) => Lookup::Absent,
        None => Lookup::Unknown,
    }
}

/// A cache's L1, on or off.
pub(crate) struct L1<T> {
    layer: Option<Layer<T>>,
}

impl<T: Send + Sync + 'static> L1<T> {
    /// An L1 with these settings, or none; its entries' deadlines follow `clock`.
    pub(crate) fn new(config: Option<&L1Config>, clock: &Clock) -> Self {
        L1 {
            layer: config.and_then(|config| Layer::new(config, clock)),
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

    /// The L1's value, or `fetch`'s at `now` (one fetch for concurrent misses of a key), which
    /// then fills the L1. Expired values `fetch` returns (fail-safe fallbacks) are returned,
    /// not held.
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        counters: &Counters,
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
        match self.lookup(key, counters) {
            Lookup::Hit(value) => return Ok(Some(value)),
            Lookup::Absent => return Ok(None),
            Lookup::Unknown => {}
        }
        // Boxed so the hit path above carries none of the miss path's (large) future state:
        // one allocation on a miss, which is a network call anyway.
        Box::pin(layer.reads().run(key, || async {
            // A fetch that finished just before this one began has filled the L1.
            match peek(layer, key) {
                Lookup::Hit(value) => return Ok(Some(value)),
                Lookup::Absent => return Ok(None),
                Lookup::Unknown => {}
            }
            match fetch().await? {
                Some(decoded) => {
                    let (horizons, size) = (decoded.horizons, decoded.size);
                    let held = Held::read(decoded, now);
                    if held.freshness != Freshness::Expired {
                        layer.insert(key.to_owned(), held.value.clone(), horizons, size);
                    }
                    Ok(Some(held))
                }
                None => {
                    layer.insert_absent(key.to_owned());
                    Ok(None)
                }
            }
        }))
        .await
    }

    /// Many keys: the L1's hits, and one `fetch` of the rest at `now`, which then fills the
    /// L1 (expired fallbacks are returned, not held).
    pub(crate) async fn get_many_or_fetch<F, Fut>(
        &self,
        keys: Vec<String>,
        counters: &Counters,
        now: i64,
        fetch: F,
    ) -> (HashMap<String, Held<T>>, Vec<BatchFailure>)
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = (HashMap<String, Decoded<T>>, Vec<BatchFailure>)>,
    {
        let Some(layer) = &self.layer else {
            let (fetched, failed) = fetch(keys).await;
            let found = fetched
                .into_iter()
                .map(|(key, decoded)| (key, Held::read(decoded, now)))
                .collect();
            return (found, failed);
        };
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match self.lookup(&key, counters) {
                Lookup::Hit(value) => {
                    found.insert(key, value);
                }
                Lookup::Absent => {}
                Lookup::Unknown => missing.push(key),
            }
        }
        if missing.is_empty() {
            return (found, Vec::new());
        }
        let mut absent: HashSet<String> = missing.iter().cloned().collect();
        let (fetched, failed) = fetch(missing).await;
        for key in failed.iter().flat_map(|failure| &failure.keys) {
            absent.remove(key);
        }
        for (key, decoded) in fetched {
            absent.remove(&key);
            let (horizons, size) = (decoded.horizons, decoded.size);
            let held = Held::read(decoded, now);
            if held.freshness != Freshness::Expired {
                layer.insert(key.clone(), held.value.clone(), horizons, size);
            }
            found.insert(key, held);
        }
        for key in absent {
            layer.insert_absent(key);
        }
        (found, failed)
    }

    /// Holds `value` for the key, until the sooner of the L1's TTL and the item's expiry;
    /// stale past its fresh horizon.
    pub(crate) fn insert(&self, key: String, value: Arc<T>, horizons: Horizons, size: usize) {
        if let Some(layer) = &self.layer {
            layer.insert(key, value, horizons, size);
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
}
