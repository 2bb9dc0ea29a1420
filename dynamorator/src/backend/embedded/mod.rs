//! The embedded backend: the table kept in this process, with DynamoDB's semantics (item
//! replacement, key-ordered pages with a resume key), so everything runs with no server.
//! Kept in a file across runs, it is the [`file`](mod@file) backend instead, with the same semantics.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, PoisonError, RwLock};

mod condition;
pub(crate) mod file;
mod leases;

use crate::Error;
use crate::backend::{Backend, BatchGetPage, BoxFuture, ItemPage, LeaseRequest, ScanPage, WriteOp};
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};
use crate::format::{Payload, StoredItem};
pub(crate) use condition::holds;
use leases::Leases;

/// Past this many change feed items, those long expired are dropped.
const FEED_PRUNE_AT: usize = 4096;
/// How long before the newest feed item's expiry an expired one is still kept.
const FEED_KEEP_SECS: i64 = 600;

/// Items by key, in key order so pages resume where they stopped.
#[derive(Debug, Default)]
pub(crate) struct EmbeddedBackend {
    items: RwLock<BTreeMap<String, StoredItem>>,
    leases: Leases,
    /// Change feed items with their `ttl`, apart from the values, as DynamoDB's scans of
    /// values skip them.
    feed: Mutex<HashMap<String, (FeedItem, i64)>>,
}

impl EmbeddedBackend {
    /// Items in memory only.
    pub(crate) fn new() -> Self {
        EmbeddedBackend::default()
    }

    // Every change is one insert or remove, so a lock poisoned by a panic elsewhere still
    // guards a consistent map.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StoredItem>> {
        self.items.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies writes, each one insert or remove; a write ends its key's lease, and removes
    /// the parts of a split value it replaces.
    fn apply(&self, writes: Vec<WriteOp>) {
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        for write in writes {
            self.leases.written(write.key());
            let replaced = match write {
                WriteOp::Put(item) => items.insert(item.key.clone(), item),
                WriteOp::Delete(key) => items.remove(&key),
            };
            remove_parts_of(&mut items, replaced);
        }
    }

    fn page(&self, limit: u32, start: Option<&str>) -> ScanPage {
        let items = self.read();
        let lower = start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = items.range::<str, _>((lower, Bound::Unbounded));
        let mut keys = Vec::new();
        let mut last = None;
        // Parts count toward the page's limit but are left out of it, as DynamoDB's filter
        // leaves items out of a page after its limit.
        for (key, item) in range.by_ref().take(limit as usize) {
            last = Some(key);
            if item.payload.is_value() {
                keys.push((key.clone(), Some(item.expires_at)));
            }
        }
        // Unlike some servers, a page that ends exactly at the last key says so.
        let last_key = match range.next() {
            Some(_) => last.cloned(),
            None => None,
        };
        ScanPage { keys, last_key }
    }

    fn item_page(&self, limit: u32, start: Option<&str>) -> ItemPage {
        let items = self.read();
        let lower = start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = items.range::<str, _>((lower, Bound::Unbounded));
        let page: Vec<StoredItem> = range
            .by_ref()
            .take(limit as usize)
            .map(|(_, item)| item.clone())
            .collect();
        let last_key = match range.next() {
            Some(_) => page.last().map(|item| item.key.clone()),
            None => None,
        };
        ItemPage {
            items: page.into_iter().map(Ok).collect(),
            last_key,
        }
    }
}

/// Removes the parts of `replaced`, if it was a split value's head.
fn remove_parts_of(items: &mut BTreeMap<String, StoredItem>, replaced: Option<StoredItem>) {
    if let Some(StoredItem {
        key,
        payload: Payload::Head(head),
        ..
    }) = replaced
    {
        for part in head.part_keys(&key).unwrap_or_default() {
            items.remove(&part);
        }
    }
}

impl Backend for EmbeddedBackend {
    fn set_expiry<'a>(
        &'a self,
        key: &'a str,
        expires_at: i64,
        require: Require,
        _learn_parts: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, Error>> {
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        let lease_until = self.leases.until(key);
        if !holds(&require, items.get(key), lease_until) {
            return Box::pin(async { Ok(None) });
        }
        let part_keys = match items.get_mut(key) {
            Some(item) => {
                item.expires_at = expires_at;
                match &item.payload {
                    Payload::Head(head) => head.part_keys(key).unwrap_or_default(),
                    _ => Vec::new(),
                }
            }
            _ => return Box::pin(async { Ok(None) }),
        };
        // The parts in the same step, under the same lock.
        for part_key in part_keys {
            if let Some(part) = items.get_mut(&part_key) {
                part.expires_at = expires_at;
            }
        }
        Box::pin(async { Ok(Some(Vec::new())) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        let item = self.read().get(key).cloned();
        Box::pin(async move { Ok(item) })
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        self.apply(vec![WriteOp::Put(item)]);
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.apply(vec![WriteOp::Delete(key.to_owned())]);
        Box::pin(async { Ok(()) })
    }

    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>> {
        let items = self.read();
        let found = keys
            .iter()
            .filter_map(|key| items.get(key).map(|item| Ok(item.clone())))
            .collect();
        drop(items);
        Box::pin(async move {
            Ok(BatchGetPage {
                items: found,
                unprocessed: Vec::new(),
            })
        })
    }

    fn batch_write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<Vec<WriteOp>, Error>> {
        self.apply(writes);
        Box::pin(async { Ok(Vec::new()) })
    }

    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>> {
        let page = self.page(limit, start);
        Box::pin(async move { Ok(page) })
    }

    fn put_if(&self, item: StoredItem, require: Require) -> BoxFuture<'_, Result<bool, Error>> {
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        let lease_until = self.leases.until(&item.key);
        let applies = holds(&require, items.get(&item.key), lease_until);
        if applies {
            self.leases.written(&item.key);
            let replaced = items.insert(item.key.clone(), item);
            remove_parts_of(&mut items, replaced);
        }
        Box::pin(async move { Ok(applies) })
    }

    fn acquire_lease<'a>(
        &'a self,
        lease: LeaseRequest<'a>,
        require: Require,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let items = self.read();
        let taken = self.leases.acquire(&lease, &require, items.get(lease.key));
        Box::pin(async move { Ok(taken) })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.leases.release(key, owner);
        Box::pin(async { Ok(()) })
    }

    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        let page = self.item_page(limit, start);
        Box::pin(async move { Ok(page) })
    }

    fn feed_append<'a>(&'a self, append: &'a FeedAppend) -> BoxFuture<'a, Result<Appended, Error>> {
        let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        if feed.len() >= FEED_PRUNE_AT {
            // Feed items are written in time order: those that expired well before the newest
            // one's expiry are read by nobody (no clock needed to tell).
            let horizon = append.expires_at.saturating_sub(FEED_KEEP_SECS);
            feed.retain(|_, (_, expires_at)| *expires_at >= horizon);
        }
        let (item, expires_at) = feed.entry(append.key.clone()).or_insert_with(|| {
            let item = FeedItem {
                key: append.key.clone(),
                ..FeedItem::default()
            };
            (item, append.expires_at)
        });
        *expires_at = append.expires_at;
        let appended = item.apply(append);
        Box::pin(async move { Ok(appended) })
    }

    fn feed_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<FeedItem>, Error>> {
        let feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        let items = keys
            .iter()
            .filter_map(|key| feed.get(key).map(|(item, _)| item.clone()))
            .collect();
        Box::pin(async move { Ok(items) })
    }
}
