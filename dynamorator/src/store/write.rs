//! Writes: puts and deletes, one at a time or in requests of 25 sent concurrently, with
//! unprocessed items retried; the caller learns exactly which keys were not written.

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use std::collections::{HashMap, HashSet};

use super::Store;
use super::batch::{
    WRITES_PER_REQUEST, distinct_valid_keys, into_chunks, last_write_wins, write_chunk,
};
use super::parts::runtime_gone;
use crate::backend::WriteOp;
use crate::codec::{Horizons, validate_key};
use crate::format::StoredItem;
use crate::format::condition::{Attr, Op, Require};
use crate::format::split::{SplitWrite, needs_split, split};
use crate::{BatchFailure, Error, Ttl};

/// Writing and deleting.
impl Store {
    /// Stores `value` under `key` for `ttl`, replacing any value there. A disabled store does
    /// nothing and returns `Ok(())`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    /// let store = Store::embedded();
    /// store.put("greeting", &"hello", Ttl::minutes(5)).await?;
    /// // A write whose failure does not matter, said so:
    /// let _ = store.put("hint", &1, Ttl::minutes(5)).await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key or value, an item over 400 KB once encoded ([`Error::ItemTooLarge`]; with
    /// [`split`](crate::StoreBuilder::split) on, a value past its maximum,
    /// [`Error::ValueTooLarge`]), or a DynamoDB failure.
    #[must_use = "a failed write is only seen in this Result"]
    pub async fn put<V>(&self, key: &str, value: &V, ttl: Ttl) -> Result<(), Error>
    where
        V: Serialize + ?Sized,
    {
        if !self.is_enabled() {
            return Ok(());
        }
        let now = self.now();
        let horizons = Horizons::after(now, ttl, None, 0);
        let item = self.codec().encode_item(key, value, horizons, now)?;
        self.put_item(item).await
    }

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
    /// store.put_many([("a", 1), ("b", 2)], Ttl::hours(1)).await?;
    /// assert_eq!(store.get::<i32>("b").await?, Some(2));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any invalid key or value, or an item over 400 KB ([`Error::ItemTooLarge`]; with
    /// splitting on, a value past its maximum, [`Error::ValueTooLarge`]), before anything is
    /// written; then
    /// [`Error::Incomplete`] listing the keys that were not written (all others were).
    #[must_use = "a failed write is only seen in this Result"]
    pub async fn put_many<K, V>(
        &self,
        items: impl IntoIterator<Item = (K, V)>,
        ttl: Ttl,
    ) -> Result<(), Error>
    where
        K: AsRef<str>,
        V: Serialize,
    {
        if !self.is_enabled() {
            return Ok(());
        }
        let codec = self.codec();
        let now = self.now();
        let horizons = Horizons::after(now, ttl, None, 0);
        let items = items
            .into_iter()
            .map(|(key, value)| codec.encode_item(key.as_ref(), &value, horizons, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_items(items).await
    }

    /// Deletes the value under `key`; deleting an absent key is not an error. A split value's
    /// parts are deleted too (on DynamoDB, best effort: the delete returns the item it removed,
    /// and a part that cannot be deleted expires with it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::embedded();
    /// store.delete("never-written").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key or a DynamoDB failure.
    #[must_use = "a failed delete is only seen in this Result"]
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        validate_key(key)?;
        let removed = backend.delete_replacing(key).await?;
        self.remove_replaced_parts(removed).await;
        Ok(())
    }

    /// Deletes many keys, in requests of 25 sent concurrently. Absent keys are not an error.
    ///
    /// The parts of split values go with their heads on every backend. When the store has
    /// [`split`](crate::StoreBuilder::split) on, this costs one more round of requests first: a
    /// batch read of every key (the read units of a [`get_many`](Store::get_many) of the heads
    /// and whole values, not of the parts), which finds the heads whose parts are then deleted.
    /// A key whose read fails is not deleted (its parts would be left behind) and is named in
    /// the error. Without `split` there is no read: the embedded backends still remove parts in
    /// the delete, while on DynamoDB the parts of a split value another writer stored are left
    /// to their TTL (never read again, hidden from listings). [`delete_present`] always reads.
    ///
    /// [`delete_present`]: Store::delete_present
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    /// let store = Store::embedded();
    /// store.put_many([("a", 1), ("b", 2)], Ttl::hours(1)).await?;
    /// store.delete_many(["a", "b", "c"]).await?;
    /// assert_eq!(store.get::<i32>("a").await?, None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, before anything is deleted; then [`Error::Incomplete`] listing the keys
    /// that were not deleted.
    #[must_use = "a failed delete is only seen in this Result"]
    pub async fn delete_many<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<(), Error> {
        if !self.is_enabled() {
            return Ok(());
        }
        let keys = distinct_valid_keys(keys)?;
        self.delete_keys(keys, self.codec().split).await.map(drop)
    }

    /// Deletes many keys like [`delete_many`](Store::delete_many), and returns the ones that
    /// held a live value (not expired), in the order given: what `redis-cli DEL` counts. It
    /// always reads the keys first, one round of batch reads, whatever the store's `split`
    /// setting, so the parts of every split value among them are deleted too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    /// let store = Store::embedded();
    /// store.put_many([("a", 1), ("b", 2)], Ttl::hours(1)).await?;
    /// assert_eq!(store.delete_present(["a", "b", "never-written"]).await?, ["a", "b"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`delete_many`](Store::delete_many).
    #[must_use = "a failed delete is only seen in this Result"]
    pub async fn delete_present<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<String>, Error> {
        if !self.is_enabled() {
            return Ok(Vec::new());
        }
        let keys = distinct_valid_keys(keys)?;
        self.delete_keys(keys, true).await
    }

    /// Gives the live value under `key` a new TTL from now, without rewriting it: on DynamoDB
    /// one `UpdateItem` (and one per part of a split value, whose parts expire with it); the
    /// value, its compression and its other times stay as they are (a cache's fresh-until
    /// too: a stale window ends at the new expiry). Returns `false`, changing nothing, when
    /// there is no live value under `key` (absent or expired): what `redis-cli EXPIRE` does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    /// let store = Store::embedded();
    /// store.put("session", &"token", Ttl::minutes(5)).await?;
    /// assert!(store.expire("session", Ttl::hours(2)).await?);
    /// let info = store.item_info("session").await?.expect("stored");
    /// assert_eq!(info.expires_at, store.clock().now_epoch_secs() + 7_200);
    /// assert!(!store.expire("never-written", Ttl::hours(2)).await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key or a DynamoDB failure (on a split value, the head may then have its new
    /// expiry and some parts not yet).
    #[must_use = "whether the key was there, or why its expiry could not be changed"]
    pub async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        let Some(backend) = self.backend() else {
            return Ok(false);
        };
        validate_key(key)?;
        let now = self.now();
        let expires_at = ttl.expires_at(now);
        let Some(parts) = backend
            .set_expiry(key, expires_at, unexpired(now), true)
            .await?
        else {
            return Ok(false);
        };
        // A split value's parts on DynamoDB: one request each, concurrently; a part gone
        // meanwhile (a newer write replaced the value) is left out.
        let failures: Vec<Error> = stream::iter(parts)
            .map(|part| async move {
                backend
                    .set_expiry(&part, expires_at, unexpired(now), false)
                    .await
                    .err()
            })
            .buffer_unordered(self.settings().batch_concurrency)
            .filter_map(|failure| async move { failure })
            .collect()
            .await;
        match failures.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(true),
        }
    }

    /// Writes one encoded item, split into parts when too large for one (a no-op on a
    /// disabled store).
    pub(super) async fn put_item(&self, item: StoredItem) -> Result<(), Error> {
        match self.backend() {
            Some(_) if needs_split(&item) => self.put_split(item).await,
            Some(backend) => backend.put(item).await,
            None => Ok(()),
        }
    }

    /// Writes encoded items in batches, the last of a repeated key winning; `Err(Incomplete)`
    /// names the keys not written. Items too large for one are split: every part is written
    /// first, then the heads with the other items, so a value whose parts failed gets no head.
    pub(super) async fn put_items(&self, items: Vec<StoredItem>) -> Result<(), Error> {
        let writes = last_write_wins(items.into_iter().map(WriteOp::Put).collect());
        if !writes
            .iter()
            .any(|write| matches!(write, WriteOp::Put(item) if needs_split(item)))
        {
            return self.write_all(writes).await;
        }
        let attempted = writes.len();
        let (to_split, mut rest): (Vec<WriteOp>, Vec<WriteOp>) = writes
            .into_iter()
            .partition(|write| matches!(write, WriteOp::Put(item) if needs_split(item)));
        // Hashing and cutting hundreds of kilobytes a value takes milliseconds: off the async
        // workers, all of this call's values in one blocking task.
        let splits = tokio::task::spawn_blocking(move || {
            to_split
                .into_iter()
                .filter_map(|write| match write {
                    WriteOp::Put(item) => Some(split(item)),
                    WriteOp::Delete(_) => None,
                })
                .collect::<Vec<SplitWrite>>()
        })
        .await
        .map_err(|_| runtime_gone())?;
        let mut owners: HashMap<String, String> = HashMap::new();
        let mut parts = Vec::new();
        for SplitWrite {
            parts: its_parts,
            head,
        } in splits
        {
            for part in &its_parts {
                owners.insert(part.key.clone(), head.key.clone());
            }
            parts.extend(its_parts);
            rest.push(WriteOp::Put(head));
        }
        // A value with a part not written gets no head; its other parts are removed.
        let mut failures = Vec::new();
        if let Err(error) = self.write_parts(parts).await {
            let failed = owned_failures(error, &owners);
            let unwritten: HashSet<&str> = failed
                .iter()
                .flat_map(|f| f.keys.iter().map(String::as_str))
                .collect();
            let orphans = owners
                .iter()
                .filter(|(_, owner)| unwritten.contains(owner.as_str()))
                .map(|(part, _)| part.clone())
                .collect();
            rest.retain(|write| !unwritten.contains(write.key()));
            self.remove_parts(orphans).await;
            failures.extend(failed);
        }
        // A head not written leaves its parts unreachable: they are removed too.
        let (unwritten_heads, error): (HashSet<String>, _) = match self.write_all(rest).await {
            Ok(()) => (HashSet::new(), None),
            Err(Error::Incomplete { failures: more, .. }) => {
                let keys = more
                    .iter()
                    .flat_map(|failure| failure.keys.iter().cloned())
                    .collect();
                failures.extend(more);
                (keys, None)
            }
            Err(other) => (owners.values().cloned().collect(), Some(other)),
        };
        let orphans: Vec<String> = owners
            .iter()
            .filter(|(_, owner)| unwritten_heads.contains(owner.as_str()))
            .map(|(part, _)| part.clone())
            .collect();
        self.remove_parts(orphans).await;
        match error {
            Some(error) => Err(error),
            None => incomplete(attempted, failures),
        }
    }

    /// Deletes distinct, valid keys in batches; `Err(Incomplete)` names the keys not deleted.
    /// With `read_heads`, reads them first (one round of batch reads) and deletes the parts of
    /// the split values among them after their heads; returns the keys that held a live value
    /// (empty without `read_heads`: nothing was read).
    pub(crate) async fn delete_keys(
        &self,
        keys: Vec<String>,
        read_heads: bool,
    ) -> Result<Vec<String>, Error> {
        if !read_heads {
            return self
                .write_all(keys.into_iter().map(WriteOp::Delete).collect())
                .await
                .map(|()| Vec::new());
        }
        let attempted = keys.len();
        let heads = self.read_heads(keys.clone()).await;
        // A key not read is not deleted: the parts of a split value under it would be left.
        let unread: HashSet<&str> = heads
            .failed
            .iter()
            .flat_map(|failure| failure.keys.iter().map(String::as_str))
            .collect();
        let deletes = keys
            .iter()
            .filter(|key| !unread.contains(key.as_str()))
            .map(|key| WriteOp::Delete(key.clone()))
            .collect();
        let mut failures = heads.failed;
        let not_deleted: HashSet<String> = match self.write_all(deletes).await {
            Ok(()) => HashSet::new(),
            Err(Error::Incomplete { failures: more, .. }) => {
                let keys = more
                    .iter()
                    .flat_map(|failure| failure.keys.iter().cloned())
                    .collect();
                failures.extend(more);
                keys
            }
            Err(other) => return Err(other),
        };
        // The parts of the heads deleted, after them: a head never names a part already gone
        // while it is readable, and a part left by a failure here expires with its head.
        let parts = heads
            .parts
            .into_iter()
            .filter(|(head, _)| !not_deleted.contains(head))
            .flat_map(|(_, parts)| parts)
            .collect();
        self.remove_parts(parts).await;
        let present: HashSet<String> = heads.present.into_iter().collect();
        let deleted = keys
            .into_iter()
            .filter(|key| present.contains(key) && !not_deleted.contains(key))
            .collect();
        incomplete(attempted, failures).map(|()| deleted)
    }

    /// Sends writes with distinct keys; `Err(Incomplete)` names the keys not written.
    pub(super) async fn write_all(&self, writes: Vec<WriteOp>) -> Result<(), Error> {
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
        incomplete(attempted, failures)
    }
}

/// `Ok` when nothing failed, else `Err(Incomplete)` naming what did.
fn incomplete(attempted: usize, failures: Vec<BatchFailure>) -> Result<(), Error> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Incomplete {
            attempted,
            failures,
        })
    }
}

/// The failures of part writes, each naming the keys of the values whose parts they were
/// (once each), not the parts.
fn owned_failures(error: Error, owners: &HashMap<String, String>) -> Vec<BatchFailure> {
    let failures = match error {
        Error::Incomplete { failures, .. } => failures,
        other => vec![BatchFailure {
            keys: owners.keys().cloned().collect(),
            error: other,
        }],
    };
    let mut named = HashSet::new();
    failures
        .into_iter()
        .map(|failure| BatchFailure {
            keys: failure
                .keys
                .iter()
                .filter_map(|part| owners.get(part))
                .filter(|owner| named.insert((*owner).clone()))
                .cloned()
                .collect(),
            error: failure.error,
        })
        .filter(|failure| !failure.keys.is_empty())
        .collect()
}
/// When an item's expiry may change at `now` (epoch seconds): it holds a value or a part of
/// one, and has not expired.
pub(crate) fn unexpired(now: i64) -> Require {
    Require::All(vec![
        Require::Any(vec![Require::HoldsValue, Require::IsPart]),
        Require::compare(Attr::Ttl, Op::Gt, now),
    ])
}
