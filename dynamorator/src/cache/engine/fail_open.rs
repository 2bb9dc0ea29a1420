//! The store as read-through uses it: fail-open (a failure is logged, counted and answered
//! past), behind the circuit breaker, with loaded values kept in the L1 even when
//! the store cannot take them.

use super::TARGET;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::Cache;
use crate::cache::l1::{Held, Lookup};
use crate::cache::loaded::{Keep, Loaded};
use crate::codec::{Freshness, Horizons, ItemMeta};
use crate::{BatchFailure, Error};

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Whether read-through may use the store now; a refusal is counted.
    fn store_admits(&self) -> bool {
        let admits = self.engine().circuit.admits(self.store.now());
        if !admits {
            self.counters().store_skipped.add(1);
        }
        admits
    }

    /// Tells the circuit breaker how a store request went.
    fn record_store(&self, outcome: Result<(), &Error>) {
        if self.engine().circuit.record(outcome, self.store.now()) {
            self.counters().circuit_trips.add(1);
            tracing::warn!(
                    target: TARGET,
                "dynamorator: store failing; read-through skips it for the circuit breaker's \
                 cool-down"
            );
        }
    }

    /// One key from the store (not the L1), fail-open: expired values within the fail-safe
    /// maximum come back as fallbacks, and the L1 is filled with the others.
    pub(super) async fn read_one_fail_open(&self, key: &str) -> Option<Held<T>> {
        if !self.store_admits() {
            return None;
        }
        let now = self.store.now();
        let before = self.shared.l1.changes();
        match self.fetch_from_store(key, self.freshness.grace()).await {
            Ok(found) => {
                self.record_store(Ok(()));
                let decoded = found?;
                let horizons = decoded.horizons;
                let held = Held::read(decoded, now);
                if held.freshness != Freshness::Expired {
                    self.shared.l1.insert_read(
                        before,
                        key.to_owned(),
                        held.value.clone(),
                        horizons,
                    );
                }
                Some(held)
            }
            Err(error) => {
                self.record_store(Err(&error));
                warn_fail_open("read-through", key, &error);
                None
            }
        }
    }

    /// Many keys through the L1 and the store, fail-open: keys the store could not read are
    /// missing; with the circuit open only the L1 answers.
    pub(super) async fn read_many_fail_open(&self, keys: Vec<String>) -> HashMap<String, Held<T>> {
        if !self.store_admits() {
            return keys
                .into_iter()
                .filter_map(|key| match self.shared.l1.lookup(&key, self.counters()) {
                    Lookup::Hit(held) => Some((key, held)),
                    Lookup::Absent | Lookup::Unknown => None,
                })
                .collect();
        }
        let (found, failed) = self.read_layers(keys, self.freshness.grace()).await;
        let request_failure = failed
            .iter()
            .map(|failure| &failure.error)
            .find(|error| error.is_request_failure());
        self.record_store(request_failure.map_or(Ok(()), Err));
        for failure in &failed {
            warn_batch_fail_open(failure);
        }
        found
    }

    /// Fresh or stale values of these keys (no fallbacks), fail-open.
    pub(super) async fn read_usable(&self, keys: Vec<String>) -> HashMap<String, Arc<T>> {
        self.read_many_fail_open(keys)
            .await
            .into_iter()
            .filter(|(_, held)| held.freshness != Freshness::Expired)
            .map(|(key, held)| (key, held.value))
            .collect()
    }

    /// The horizons of a loaded value written now: the loader's choice, else the cache's.
    fn horizons_of(
        &self,
        ttl: Option<crate::Ttl>,
        stale_for: Option<Option<crate::Ttl>>,
    ) -> Horizons {
        self.freshness.horizons(
            self.store.now(),
            ttl.unwrap_or(self.ttl),
            stale_for.unwrap_or(self.freshness.stale_for),
        )
    }

    /// Stores a loaded value (unless the loader said not to) and holds it in the L1, even when
    /// the store fails or is skipped. Returns the value, and whether the store has it. A value
    /// the loader said not to store ends this process's lease on the key (with leases on): no
    /// write will end it, and others need not wait it out.
    pub(super) async fn keep_one(&self, key: &str, loaded: Loaded<T>) -> (Arc<T>, bool) {
        let value = Arc::new(loaded.value);
        let Keep::Stored { ttl, stale_for } = loaded.keep else {
            self.release_leases(&[key.to_owned()]).await;
            return (value, false);
        };
        let horizons = self.horizons_of(ttl, stale_for);
        let meta = ItemMeta {
            horizons,
            generation: self.write_generation(),
            version: None,
        };
        let item = match self
            .store
            .encode(&self.codec, &self.keys.stored(key), &*value, meta)
        {
            Ok(item) => item,
            Err(error) => {
                self.counters().store_errors.add(1);
                warn_fail_open("read-through", key, &error);
                return (value, false);
            }
        };
        let mut stored = false;
        if self.store_admits() {
            let result = self.store.put_encoded(item).await;
            self.record_store(result.as_ref().map(|_| ()));
            match result {
                Ok(()) => stored = true,
                Err(error) => {
                    self.counters().store_errors.add(1);
                    warn_fail_open("read-through", key, &error);
                }
            }
            self.publish([key]).await;
        }
        self.shared
            .l1
            .insert(key.to_owned(), value.clone(), horizons);
        (value, stored)
    }

    /// Stores loaded values in batch writes (all but the uncached ones) and holds them in the
    /// L1; ends this process's leases on the uncached ones. Returns every value, and the keys
    /// the store has.
    pub(super) async fn keep_many(
        &self,
        loaded: HashMap<String, Loaded<T>>,
    ) -> (HashMap<String, Arc<T>>, HashSet<String>) {
        let mut values = HashMap::with_capacity(loaded.len());
        let mut items = Vec::with_capacity(loaded.len());
        let mut held = Vec::with_capacity(loaded.len());
        let mut uncached = Vec::new();
        for (key, loaded) in loaded {
            let value = Arc::new(loaded.value);
            if let Keep::Uncached = loaded.keep {
                uncached.push(key.clone());
            }
            if let Keep::Stored { ttl, stale_for } = loaded.keep {
                let horizons = self.horizons_of(ttl, stale_for);
                let meta = ItemMeta {
                    horizons,
                    generation: self.write_generation(),
                    version: None,
                };
                match self
                    .store
                    .encode(&self.codec, &self.keys.stored(&key), &*value, meta)
                {
                    Ok(item) => {
                        held.push((key.clone(), value.clone(), horizons));
                        items.push(item);
                    }
                    Err(error) => {
                        self.counters().store_errors.add(1);
                        warn_fail_open("read-through", &key, &error);
                    }
                }
            }
            values.insert(key, value);
        }
        let mut stored: HashSet<String> = HashSet::new();
        if !items.is_empty() && self.store_admits() {
            stored = held.iter().map(|(key, ..)| key.clone()).collect();
            let result = self.store.put_many_encoded(items).await;
            let result = result.map_err(|error| self.keys.unprefix_error(error));
            match &result {
                Ok(()) => self.record_store(Ok(())),
                Err(Error::Incomplete { failures, .. }) => {
                    let request_failure = failures
                        .iter()
                        .map(|failure| &failure.error)
                        .find(|error| error.is_request_failure());
                    self.record_store(request_failure.map_or(Ok(()), Err));
                    for failure in failures {
                        warn_batch_fail_open(failure);
                        self.counters().store_errors.add(failure.keys.len());
                        for key in &failure.keys {
                            stored.remove(key);
                        }
                    }
                }
                Err(error) => {
                    self.record_store(Err(error));
                    self.counters().store_errors.add(stored.len());
                    warn_fail_open("read-through", "", error);
                    stored.clear();
                }
            }
            self.publish(held.iter().map(|(key, ..)| key.as_str()))
                .await;
        }
        for (key, value, horizons) in held {
            self.shared.l1.insert(key, value, horizons);
        }
        // As `keep_one`: the leases of the keys not to be stored end here.
        self.release_leases(&uncached).await;
        (values, stored)
    }
}

/// Logs a store failure that read-through answered past.
pub(crate) fn warn_fail_open(operation: &'static str, key: &str, error: &Error) {
    tracing::warn!(target: TARGET, operation, key, %error, "dynamorator: store failed; answering without it");
}

/// Logs a batch failure that read-through answered past, naming how many keys it cost.
fn warn_batch_fail_open(failure: &BatchFailure) {
    let first = failure.keys.first().map(String::as_str).unwrap_or_default();
    tracing::warn!(
                    target: TARGET,
        operation = "read-through",
        first_key = first,
        keys = failure.keys.len(),
        error = %failure.error,
        "dynamorator: store failed; answering without it"
    );
}
