//! Batch writes: puts and deletes in requests of 25, sent concurrently, with unprocessed items
//! retried; the caller learns exactly which keys were not written.

use std::collections::HashMap;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::Error;
use crate::backend::{Backend, WriteOp};
use crate::backoff::Backoff;
use crate::batch_read::into_chunks;
use crate::error::BatchFailure;
use crate::key::validate_key;
use crate::store::Store;
use crate::ttl::{Ttl, now_epoch_secs};

/// DynamoDB's limit of writes per BatchWriteItem request (some servers accept more; DynamoDB
/// does not).
const WRITES_PER_REQUEST: usize = 25;

impl Store {
    /// Stores many values with one TTL, in requests of 25 sent
    /// [`batch_concurrency`](crate::StoreBuilder::batch_concurrency) at a time. When a key
    /// repeats, its last value wins.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.try_batch_put([("a", 1), ("b", 2)], Ttl::hours(1.0)).await?;
    /// assert_eq!(store.try_get::<i32>("b").await?, Some(2));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any invalid key, TTL or value, or an item over 400 KB, before anything is written; then
    /// [`Error::Incomplete`] listing the keys that were not written (all others were).
    pub async fn try_batch_put<K, V>(
        &self,
        items: impl IntoIterator<Item = (K, V)>,
        ttl: impl Into<Ttl>,
    ) -> Result<(), Error>
    where
        K: AsRef<str>,
        V: Serialize,
    {
        if !self.is_enabled() {
            return Ok(());
        }
        let (writes, rejected) = self.encode_puts(items, ttl.into());
        if let Some(failure) = rejected.into_iter().next() {
            return Err(failure.error);
        }
        self.write_all(writes).await
    }

    /// [`try_batch_put`](Store::try_batch_put) that writes every valid item, skips the invalid
    /// ones, and logs every failure.
    pub async fn batch_put<K, V>(
        &self,
        items: impl IntoIterator<Item = (K, V)>,
        ttl: impl Into<Ttl>,
    ) where
        K: AsRef<str>,
        V: Serialize,
    {
        if !self.is_enabled() {
            return;
        }
        let (writes, rejected) = self.encode_puts(items, ttl.into());
        for failure in &rejected {
            self.report_batch("batch_put", failure);
        }
        self.report_write_result("batch_put", self.write_all(writes).await);
    }

    /// Deletes many keys, in requests of 25 sent concurrently. Absent keys are not an error.
    ///
    /// # Errors
    ///
    /// An invalid key, before anything is deleted; then [`Error::Incomplete`] listing the keys
    /// that were not deleted.
    pub async fn try_batch_delete<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<(), Error> {
        if !self.is_enabled() {
            return Ok(());
        }
        let keys = crate::batch_read::distinct_valid_keys(keys)?;
        self.write_all(keys.into_iter().map(WriteOp::Delete).collect())
            .await
    }

    /// [`try_batch_delete`](Store::try_batch_delete) that skips invalid keys and logs every
    /// failure.
    pub async fn batch_delete<K: AsRef<str>>(&self, keys: impl IntoIterator<Item = K>) {
        if !self.is_enabled() {
            return;
        }
        let mut writes = Vec::new();
        for key in keys {
            let key = key.as_ref();
            match validate_key(key) {
                Ok(()) => writes.push(WriteOp::Delete(key.to_owned())),
                Err(error) => self.report("batch_delete", key, &error),
            }
        }
        self.report_write_result(
            "batch_delete",
            self.write_all(last_write_wins(writes)).await,
        );
    }

    fn report_write_result(&self, operation: &'static str, result: Result<(), Error>) {
        match result {
            Ok(()) => {}
            Err(Error::Incomplete { failures, .. }) => {
                for failure in &failures {
                    self.report_batch(operation, failure);
                }
            }
            Err(error) => self.report(operation, "", &error),
        }
    }

    /// Encodes every item; the ones that cannot be written come back as failures.
    fn encode_puts<K: AsRef<str>, V: Serialize>(
        &self,
        items: impl IntoIterator<Item = (K, V)>,
        ttl: Ttl,
    ) -> (Vec<WriteOp>, Vec<BatchFailure>) {
        let now = now_epoch_secs();
        let mut writes = Vec::new();
        let mut rejected = Vec::new();
        for (key, value) in items {
            let key = key.as_ref();
            match self.encode_item(&self.settings().codec, key, &value, ttl, now) {
                Ok(item) => writes.push(WriteOp::Put(item)),
                Err(error) => rejected.push(BatchFailure {
                    keys: vec![key.to_owned()],
                    error,
                }),
            }
        }
        (last_write_wins(writes), rejected)
    }

    /// Sends writes with distinct keys; `Err(Incomplete)` names the keys not written.
    pub(crate) async fn write_all(&self, writes: Vec<WriteOp>) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        let attempted = writes.len();
        let settings = self.settings();
        let backoff = settings.batch_backoff;
        let failures: Vec<BatchFailure> = stream::iter(into_chunks(writes, WRITES_PER_REQUEST))
            .map(|chunk| write_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency)
            .filter_map(|failure| async move { failure })
            .collect()
            .await;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Incomplete {
                attempted,
                failures,
            })
        }
    }
}

/// Writes one chunk of at most 25, retrying what comes back unprocessed.
async fn write_chunk(
    backend: &dyn Backend,
    mut pending: Vec<WriteOp>,
    backoff: Backoff,
) -> Option<BatchFailure> {
    for attempt in 1..=backoff.max_attempts {
        match backend.batch_write(pending.clone()).await {
            Ok(unprocessed) => pending = unprocessed,
            Err(error) => {
                return Some(BatchFailure {
                    keys: keys_of(&pending),
                    error,
                });
            }
        }
        if pending.is_empty() {
            return None;
        }
        if attempt < backoff.max_attempts {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
    }
    Some(BatchFailure {
        keys: keys_of(&pending),
        error: Error::Unprocessed {
            operation: "BatchWriteItem",
            attempts: backoff.max_attempts,
        },
    })
}

fn keys_of(writes: &[WriteOp]) -> Vec<String> {
    writes.iter().map(|w| w.key().to_owned()).collect()
}

/// Keeps one write per key, the last, at the position of the first: DynamoDB refuses a batch
/// that names a key twice.
pub(crate) fn last_write_wins(writes: Vec<WriteOp>) -> Vec<WriteOp> {
    let mut position: HashMap<String, usize> = HashMap::with_capacity(writes.len());
    let mut distinct: Vec<WriteOp> = Vec::with_capacity(writes.len());
    for write in writes {
        match position.get(write.key()) {
            Some(&index) => {
                if let Some(slot) = distinct.get_mut(index) {
                    *slot = write;
                }
            }
            None => {
                position.insert(write.key().to_owned(), distinct.len());
                distinct.push(write);
            }
        }
    }
    distinct
}
