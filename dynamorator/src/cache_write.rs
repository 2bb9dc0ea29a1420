//! Writes through a [`Cache<T>`]: puts and deletes, single and batched, keeping the L1 in step
//! with the store.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::WriteOp;
use crate::batch_write::last_write_wins;
use crate::error::BatchFailure;
use crate::item::StoredItem;
use crate::stats::Counters;
use crate::ttl::now_epoch_secs;
use crate::{Cache, Error};

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Stores `value` under `key` with the cache's TTL (and in the L1).
    ///
    /// # Errors
    ///
    /// An invalid key, an unstorable value, an item over 400 KB, or a store failure.
    pub async fn try_put(&self, key: &str, value: &T) -> Result<(), Error> {
        self.validate(key)?;
        let item = self.encode(key, value, now_epoch_secs())?;
        let written = Written::new(key.to_owned(), value, &item);
        let result = self.store().put_item(item).await;
        if result.is_err() {
            Counters::add(&self.counters().store_errors, 1);
        }
        let failed = result.as_ref().err().map(|_| key);
        self.write_through(vec![written], failed.into_iter());
        result
    }

    /// [`try_put`](Cache::try_put), logging any failure.
    pub async fn put(&self, key: &str, value: &T) {
        if let Err(error) = self.try_put(key, value).await {
            self.report("put", key, &error);
        }
    }

    /// Stores many values with the cache's TTL in batch writes; a repeated key keeps its last
    /// value.
    ///
    /// # Errors
    ///
    /// Any invalid key or value before anything is written; then [`Error::Incomplete`] naming
    /// the keys (as given) that were not written.
    pub async fn try_put_many<'a, K: AsRef<str>>(
        &self,
        items: impl IntoIterator<Item = (K, &'a T)>,
    ) -> Result<(), Error>
    where
        T: 'a,
    {
        let now = now_epoch_secs();
        let mut writes = Vec::new();
        let mut written = Vec::new();
        for (key, value) in items {
            let key = key.as_ref();
            self.validate(key)?;
            let item = self.encode(key, value, now)?;
            written.push(Written::new(key.to_owned(), value, &item));
            writes.push(WriteOp::Put(item));
        }
        self.write_batch(last_write_wins(writes), written).await
    }

    /// [`try_put_many`](Cache::try_put_many), logging failures.
    pub async fn put_many<'a, K: AsRef<str>>(&self, items: impl IntoIterator<Item = (K, &'a T)>)
    where
        T: 'a,
    {
        if let Err(error) = self.try_put_many(items).await {
            self.report_write_error("put_many", &error);
        }
    }

    /// Deletes the value under `key`, from the store and the L1.
    ///
    /// # Errors
    ///
    /// An invalid key or a store failure.
    pub async fn try_delete(&self, key: &str) -> Result<(), Error> {
        self.validate(key)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            l1.invalidate(key);
        }
        let result = self.store().try_delete(&self.stored_key(key)).await;
        if result.is_err() {
            Counters::add(&self.counters().store_errors, 1);
        }
        result
    }

    /// [`try_delete`](Cache::try_delete), logging any failure.
    pub async fn delete(&self, key: &str) {
        if let Err(error) = self.try_delete(key).await {
            self.report("delete", key, &error);
        }
    }

    /// Deletes many keys, from the store and the L1.
    ///
    /// # Errors
    ///
    /// An invalid key before anything is deleted; then [`Error::Incomplete`] naming the keys
    /// (as given) that were not deleted.
    pub async fn try_delete_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<(), Error> {
        let keys = self.distinct_keys(keys)?;
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            keys.iter().for_each(|key| l1.invalidate(key));
        }
        let deletes = keys
            .iter()
            .map(|key| WriteOp::Delete(self.stored_key(key)))
            .collect();
        self.write_batch(deletes, Vec::new()).await
    }

    /// [`try_delete_many`](Cache::try_delete_many), logging failures.
    pub async fn delete_many<K: AsRef<str>>(&self, keys: impl IntoIterator<Item = K>) {
        if let Err(error) = self.try_delete_many(keys).await {
            self.report_write_error("delete_many", &error);
        }
    }

    /// Sends batch writes, then brings the L1 in step and counts failures. Errors name the
    /// caller's keys.
    pub(crate) async fn write_batch(
        &self,
        writes: Vec<WriteOp>,
        written: Vec<Written<'_, T>>,
    ) -> Result<(), Error> {
        let result = self.store().write_all(writes).await;
        let result = result.map_err(|error| match error {
            Error::Incomplete {
                attempted,
                failures,
            } => Error::Incomplete {
                attempted,
                failures: self.unprefix_failures(failures),
            },
            other => other,
        });
        let failures: &[BatchFailure] = match &result {
            Err(Error::Incomplete { failures, .. }) => failures,
            _ => &[],
        };
        let failed = failures
            .iter()
            .flat_map(|f| f.keys.iter().map(String::as_str));
        Counters::add(&self.counters().store_errors, failed.clone().count());
        self.write_through(written, failed);
        result
    }

    /// The L1 holds what was written and forgets what was not, so it never serves a value the
    /// store does not have.
    fn write_through<'k>(
        &self,
        written: Vec<Written<'_, T>>,
        failed: impl Iterator<Item = &'k str>,
    ) {
        #[cfg(feature = "l1")]
        if let Some(l1) = self.l1() {
            let failed: std::collections::HashSet<&str> = failed.collect();
            for w in written {
                if failed.contains(w.key.as_str()) {
                    l1.invalidate(&w.key);
                } else {
                    l1.insert_value(w.key, w.value, w.expires_at, w.size);
                }
            }
        }
        #[cfg(not(feature = "l1"))]
        let _ = (written, failed.count());
    }

    pub(crate) fn report_write_error(&self, operation: &'static str, error: &Error) {
        match error {
            Error::Incomplete { failures, .. } => {
                for failure in failures {
                    self.store().report_batch(operation, failure);
                }
            }
            other => self.report(operation, "", other),
        }
    }

    /// The item for `value` under `key` (as given), written at `now` with the cache's TTL.
    pub(crate) fn encode(&self, key: &str, value: &T, now: i64) -> Result<StoredItem, Error> {
        self.store()
            .encode_item(self.codec(), &self.stored_key(key), value, self.ttl(), now)
    }
}

/// A value just sent to the store, for the L1's write-through (unused without the L1).
#[cfg_attr(not(feature = "l1"), allow(dead_code))]
pub(crate) struct Written<'a, T> {
    key: String,
    value: &'a T,
    expires_at: i64,
    size: usize,
}

impl<'a, T> Written<'a, T> {
    #[cfg(feature = "l1")]
    pub(crate) fn expires_at(&self) -> i64 {
        self.expires_at
    }

    #[cfg(feature = "l1")]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn new(key: String, value: &'a T, item: &StoredItem) -> Self {
        Written {
            key,
            value,
            expires_at: item.expires_at,
            size: item.encoded_size(),
        }
    }
}
