//! The embedded backend: the table kept in this process, with DynamoDB's semantics (item
//! replacement, key-ordered pages with a resume key), so everything runs with no server.
//! Optionally kept in a journal file across runs (see `journal`).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

mod journal;

use crate::Error;
use crate::backend::item::StoredItem;
use crate::backend::{
    Backend, BatchGetPage, BoxFuture, Condition, ItemPage, LeaseRequest, ScanPage, WriteOp,
};
use journal::{Journal, apply};

/// Items by key, in key order so pages resume where they stopped.
#[derive(Debug, Default)]
pub(crate) struct EmbeddedBackend {
    items: RwLock<BTreeMap<String, StoredItem>>,
    /// The file writes go to first, when the store is kept across runs.
    journal: Option<Mutex<Journal>>,
    /// Leases by key: owner and until when (epoch milliseconds). In memory: one process uses
    /// an embedded store, and a lease outlives no process.
    leases: Mutex<HashMap<String, (String, i64)>>,
}

impl EmbeddedBackend {
    /// Items in memory only.
    pub(crate) fn new() -> Self {
        EmbeddedBackend::default()
    }

    /// Items in memory, kept in the journal at `path`; returns how many unreadable lines the
    /// journal had. Items expired at `now` are dropped.
    pub(crate) fn open(path: &Path, now: i64) -> Result<(Self, usize), Error> {
        let replayed = Journal::open(path, now)?;
        let backend = EmbeddedBackend {
            items: RwLock::new(replayed.items),
            journal: Some(Mutex::new(replayed.journal)),
            leases: Mutex::default(),
        };
        Ok((backend, replayed.skipped))
    }

    // Every change is one insert or remove, so a lock poisoned by a panic elsewhere still
    // guards a consistent map.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StoredItem>> {
        self.items.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies writes: to the journal first (so a failed file write changes nothing), then to
    /// memory. A write ends the key's lease, as a DynamoDB `PutItem` replaces its attributes.
    fn apply(&self, writes: Vec<WriteOp>) -> Result<(), Error> {
        self.apply_if(writes, |_| true).map(|_| ())
    }

    /// Applies writes if `check` holds for the items as they are, atomically; whether it did.
    fn apply_if(
        &self,
        writes: Vec<WriteOp>,
        check: impl FnOnce(&BTreeMap<String, StoredItem>) -> bool,
    ) -> Result<bool, Error> {
        // The journal lock is held across every step so the file and memory see writes in the
        // same order, and no write comes between the check and the change.
        let mut journal = self
            .journal
            .as_ref()
            .map(|journal| journal.lock().unwrap_or_else(PoisonError::into_inner));
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        if !check(&items) {
            return Ok(false);
        }
        if let Some(journal) = journal.as_mut() {
            journal.append(&writes)?;
        }
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        for write in writes {
            leases.remove(write.key());
            apply(&mut items, write);
        }
        drop(leases);
        if let Some(journal) = journal.as_mut() {
            journal.compact_if_large(&items)?;
        }
        Ok(true)
    }

    fn page(&self, limit: u32, start: Option<&str>) -> ScanPage {
        let items = self.read();
        let lower = start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = items.range::<str, _>((lower, Bound::Unbounded));
        let keys: Vec<(String, Option<i64>)> = range
            .by_ref()
            .take(limit as usize)
            .map(|(key, item)| (key.clone(), Some(item.expires_at)))
            .collect();
        // Unlike some servers, a page that ends exactly at the last key says so.
        let last_key = match range.next() {
            Some(_) => keys.last().map(|(key, _)| key.clone()),
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

impl Backend for EmbeddedBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        let item = self.read().get(key).cloned();
        Box::pin(async move { Ok(item) })
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.apply(vec![WriteOp::Put(item)]);
        Box::pin(async move { result })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let result = self.apply(vec![WriteOp::Delete(key.to_owned())]);
        Box::pin(async move { result })
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
        let result = self.apply(writes).map(|()| Vec::new());
        Box::pin(async move { result })
    }

    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>> {
        let page = self.page(limit, start);
        Box::pin(async move { Ok(page) })
    }

    fn put_if(&self, item: StoredItem, condition: Condition) -> BoxFuture<'_, Result<bool, Error>> {
        let key = item.key.clone();
        let version = item.version.unwrap_or(0);
        let result = self.apply_if(vec![WriteOp::Put(item)], |items| {
            let stored = items.get(&key);
            match &condition {
                Condition::DataIs(Some(data)) => stored.is_some_and(|s| &s.data == data),
                Condition::DataIs(None) => stored.is_none(),
                Condition::OlderVersion => stored
                    .and_then(|s| s.version)
                    .is_none_or(|stored| stored < version),
            }
        });
        Box::pin(async move { result })
    }

    fn acquire_lease<'a>(&'a self, lease: LeaseRequest<'a>) -> BoxFuture<'a, Result<bool, Error>> {
        // The items' lock first, as writes take it: a value stored since the caller's read
        // needs no load.
        let items = self.read();
        let second = lease.now_ms.div_euclid(1_000);
        let fresh = items.get(lease.key).is_some_and(|item| {
            item.expires_at > second
                && item.fresh_until.is_none_or(|fresh| fresh > second)
                && item.generation.unwrap_or(0) >= lease.generation
        });
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        drop(items);
        let taken = match leases.get(lease.key) {
            _ if fresh => false,
            Some((_, until)) if *until > lease.now_ms => false,
            _ => {
                leases.insert(
                    lease.key.to_owned(),
                    (lease.owner.to_owned(), lease.until_ms),
                );
                true
            }
        };
        // Lapsed leases of keys never written would otherwise stay.
        if leases.len() > 10_000 {
            leases.retain(|_, (_, until)| *until > lease.now_ms);
        }
        Box::pin(async move { Ok(taken) })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        if leases.get(key).is_some_and(|(holder, _)| holder == owner) {
            leases.remove(key);
        }
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
}
