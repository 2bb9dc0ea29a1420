//! The embedded backend: the table kept in this process, with DynamoDB's semantics (item
//! replacement, key-ordered pages with a resume key), so everything runs with no server.
//! Optionally kept in a journal file across runs (see `journal`).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

mod journal;

use crate::Error;
use crate::backend::item::StoredItem;
use crate::backend::{Backend, BatchGetPage, BoxFuture, ItemPage, ScanPage, WriteOp};
use journal::{Journal, apply};

/// Items by key, in key order so pages resume where they stopped.
#[derive(Debug, Default)]
pub(crate) struct EmbeddedBackend {
    items: RwLock<BTreeMap<String, StoredItem>>,
    /// The file writes go to first, when the store is kept across runs.
    journal: Option<Mutex<Journal>>,
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
        };
        Ok((backend, replayed.skipped))
    }

    // Every change is one insert or remove, so a lock poisoned by a panic elsewhere still
    // guards a consistent map.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StoredItem>> {
        self.items.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies writes: to the journal first (so a failed file write changes nothing), then to
    /// memory.
    fn apply(&self, writes: Vec<WriteOp>) -> Result<(), Error> {
        let Some(journal) = &self.journal else {
            let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
            writes
                .into_iter()
                .for_each(|write| apply(&mut items, write));
            return Ok(());
        };
        // The journal lock is held across both steps so the file and memory see writes in the
        // same order.
        let mut journal = journal.lock().unwrap_or_else(PoisonError::into_inner);
        journal.append(&writes)?;
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        writes
            .into_iter()
            .for_each(|write| apply(&mut items, write));
        journal.compact_if_large(&items)
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

    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        let page = self.item_page(limit, start);
        Box::pin(async move { Ok(page) })
    }
}
