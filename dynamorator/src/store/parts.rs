//! The parts of split values on the backend: fetched for heads (all of a call's heads in one
//! more round of batch reads), written before their heads, and removed once a head that named
//! them is replaced or deleted.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::Store;
use super::batch::{KEYS_PER_REQUEST, into_chunks, read_chunk};
use crate::backend::WriteOp;
use crate::format::Joined;
use crate::format::split::{Joining, SplitWrite, join, part_keys, split, take_parts};
use crate::format::{Payload, StoredItem};
use crate::{BatchFailure, Error};

/// Part keys per read request: 16 parts of 300 KB answer in under 5 MB, a third of
/// BatchGetItem's 16 MB, so DynamoDB answers them whole (a server that answers less leaves the
/// rest unprocessed, and it is retried).
const PARTS_PER_REQUEST: usize = 16;

/// What a read of keys about to be deleted found: the keys holding a live value, the split
/// values' heads with their parts' keys, and the keys that could not be read.
#[derive(Debug, Default)]
pub(crate) struct HeadsRead {
    pub(crate) present: Vec<String>,
    pub(crate) parts: Vec<(String, Vec<String>)>,
    pub(crate) failed: Vec<BatchFailure>,
}

/// A split value's head and what joining its parts gave: the joined bytes, `None` for a miss
/// (a part is gone), or why it could not be read.
pub(crate) type JoinedHead = (StoredItem, Result<Option<Joined>, Error>);

impl Store {
    /// Joins the parts of every head in `heads`, all fetched in one round of concurrent batch
    /// reads. A head that cannot be right (a part count out of range, a length past
    /// `max_inflated_bytes`) fetches nothing.
    pub(crate) async fn join_heads(&self, heads: Vec<StoredItem>) -> Vec<JoinedHead> {
        let max_len = self.codec().max_inflated;
        let planned: Vec<(StoredItem, Result<Vec<String>, Error>)> = heads
            .into_iter()
            .map(|item| {
                let keys = match &item.payload {
                    Payload::Head(head) => part_keys(&item.key, head, max_len),
                    _ => Ok(Vec::new()),
                };
                (item, keys)
            })
            .collect();
        let mut seen = HashSet::new();
        let wanted: Vec<String> = planned
            .iter()
            .filter_map(|(_, keys)| keys.as_ref().ok())
            .flatten()
            .filter(|key| seen.insert(key.as_str()))
            .cloned()
            .collect();
        let (mut fetched, failures) = self.fetch_parts(wanted).await;
        let failed: HashMap<&str, &Error> = failures
            .iter()
            .flat_map(|failure| {
                failure
                    .keys
                    .iter()
                    .map(|key| (key.as_str(), &failure.error))
            })
            .collect();
        let mut joined_heads = Vec::with_capacity(planned.len());
        for (item, keys) in planned {
            let parts =
                keys.and_then(
                    |keys| match keys.iter().find_map(|key| failed.get(key.as_str())) {
                        Some(error) => Err((*error).clone()),
                        None => Ok(take_parts(&keys, &mut fetched)),
                    },
                );
            let (item, result) = match parts {
                Ok(parts) => join_off_the_runtime(item, parts).await,
                Err(error) => (item, Err(error)),
            };
            joined_heads.push((item, result));
        }
        joined_heads
    }

    /// Reads `keys` (distinct) in batch reads of 100, concurrently, for what a delete of them
    /// must know: which hold a live value, and which are split values' heads and their parts.
    /// An item that does not decode is there (and no head this crate can name parts of).
    pub(crate) async fn read_heads(&self, keys: Vec<String>) -> HeadsRead {
        let mut read = HeadsRead::default();
        let Some(backend) = self.backend() else {
            return read;
        };
        let settings = self.settings();
        let backoff = settings.batch_backoff;
        let now = self.now();
        let mut reads = stream::iter(into_chunks(keys, KEYS_PER_REQUEST))
            .map(|chunk| read_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency);
        while let Some((items, failure)) = reads.next().await {
            for item in items {
                match item {
                    Ok(item) => {
                        if let Payload::Head(head) = &item.payload {
                            let parts = head.part_keys(&item.key).unwrap_or_default();
                            read.parts.push((item.key.clone(), parts));
                        }
                        if item.payload.is_value() && item.expires_at > now {
                            read.present.push(item.key);
                        }
                    }
                    Err(unreadable) => read.present.push(unreadable.0),
                }
            }
            read.failed.extend(failure);
        }
        read
    }

    /// Reads part keys in requests of [`PARTS_PER_REQUEST`], concurrently: each part found
    /// (or why its attributes do not read), and the keys whose requests failed.
    async fn fetch_parts(
        &self,
        keys: Vec<String>,
    ) -> (
        HashMap<String, Result<StoredItem, Error>>,
        Vec<BatchFailure>,
    ) {
        let mut found = HashMap::with_capacity(keys.len());
        let mut failed = Vec::new();
        let Some(backend) = self.backend() else {
            return (found, failed);
        };
        let settings = self.settings();
        let backoff = settings.batch_backoff;
        let mut reads = stream::iter(into_chunks(keys, PARTS_PER_REQUEST))
            .map(|chunk| read_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency);
        while let Some((items, failure)) = reads.next().await {
            for item in items {
                match item {
                    Ok(item) => {
                        found.insert(item.key.clone(), Ok(item));
                    }
                    Err(unreadable) => {
                        let (key, error) = *unreadable;
                        found.insert(key, Err(error));
                    }
                }
            }
            failed.extend(failure);
        }
        (found, failed)
    }

    /// Writes one item too large for one: its parts in batch writes, then its head (asking
    /// for the item it replaces, whose parts are then removed).
    pub(crate) async fn put_split(&self, item: StoredItem) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        self.write_split(item, |head| async move {
            let replaced = backend.put_replacing(head).await?;
            self.remove_replaced_parts(replaced).await;
            Ok(true)
        })
        .await
        .map(|_| ())
    }

    /// Writes a value too large for one item: its parts in batch writes, then its head with
    /// `write_head`, which says whether it wrote it. A value whose head was not written (an
    /// error, or `Ok(false)`) gets its parts removed, best effort.
    pub(crate) async fn write_split<F, Fut>(
        &self,
        item: StoredItem,
        write_head: F,
    ) -> Result<bool, Error>
    where
        F: FnOnce(StoredItem) -> Fut,
        Fut: Future<Output = Result<bool, Error>>,
    {
        // Hashing and cutting hundreds of kilobytes takes milliseconds: off the async workers.
        let SplitWrite { parts, head } = tokio::task::spawn_blocking(move || split(item))
            .await
            .map_err(|_| runtime_gone())?;
        let part_keys: Vec<String> = parts.iter().map(|part| part.key.clone()).collect();
        let written = match self.write_parts(parts).await {
            Ok(()) => write_head(head).await,
            Err(error) => Err(first_cause(error)),
        };
        if !matches!(written, Ok(true)) {
            self.remove_parts(part_keys).await;
        }
        written
    }

    /// Writes the parts of split values in batch writes.
    pub(crate) async fn write_parts(&self, parts: Vec<StoredItem>) -> Result<(), Error> {
        self.write_all(parts.into_iter().map(WriteOp::Put).collect())
            .await
    }

    /// Removes the parts of `replaced`, if it was a split value's head (the item a write or a
    /// delete replaced, as the backend told it).
    pub(crate) async fn remove_replaced_parts(&self, replaced: Option<StoredItem>) {
        if let Some(StoredItem {
            key,
            payload: Payload::Head(head),
            ..
        }) = replaced
        {
            self.remove_parts(head.part_keys(&key).unwrap_or_default())
                .await;
        }
    }

    /// Deletes part keys, best effort: a failure is logged, and the parts are left to expire
    /// with the head they belonged to (they are never read again).
    pub(crate) async fn remove_parts(&self, keys: Vec<String>) {
        if keys.is_empty() {
            return;
        }
        let count = keys.len();
        let writes = keys.into_iter().map(WriteOp::Delete).collect();
        if let Err(error) = self.write_all(writes).await {
            tracing::warn!(
                target: "dynamorator::store",
                parts = count,
                error = %error,
                "parts of a split value could not be deleted: they expire with it"
            );
        }
    }
}

/// Checks and joins a head's parts on tokio's blocking threads (hashing and copying hundreds
/// of kilobytes takes milliseconds); `Ok(None)` for a miss (a part is gone), with a warning.
async fn join_off_the_runtime(
    item: StoredItem,
    parts: Vec<Option<Result<StoredItem, Error>>>,
) -> JoinedHead {
    let Payload::Head(head) = &item.payload else {
        return (item, Ok(None));
    };
    let (key, split_head) = (item.key.clone(), head.clone());
    let parts_named = head.parts;
    let work = tokio::task::spawn_blocking(move || join(&key, &split_head, parts));
    let result = match work.await {
        Ok(Ok(Joining::Joined(joined))) => Ok(Some(joined)),
        Ok(Ok(Joining::Missing { index })) => {
            tracing::warn!(
                target: "dynamorator::store",
                key = %item.key,
                part = index,
                parts = parts_named,
                "a part of a split value is missing (replaced, deleted or expired): read as a \
                 miss"
            );
            Ok(None)
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(runtime_gone()),
    };
    (item, result)
}

/// A split value's hashing and copying that the runtime did not run: it is shutting down.
pub(crate) fn runtime_gone() -> Error {
    Error::InvalidArgument {
        reason: "a split value could not be handled: the async runtime is shutting down",
    }
}

/// The error of a single write from the batch writes it made: their first cause.
pub(crate) fn first_cause(error: Error) -> Error {
    match error {
        Error::Incomplete { failures, .. } => failures.into_iter().next().map_or(
            Error::Unprocessed {
                operation: "BatchWriteItem",
                attempts: 0,
            },
            |failure| failure.error,
        ),
        other => other,
    }
}
