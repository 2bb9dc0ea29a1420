//! The database in the file and every operation on it, each one redb transaction. These calls
//! block (they read the file and wait for `fsync`): they run on blocking threads, never on the
//! async runtime's.
//!
//! Two tables, kept in step by every write: `items` (key → [`record`](super::record)) and
//! `expiry` ((expires_at, key) → ()), so the sweep finds what has expired without reading
//! every item.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::open::{OpenInProcess, fail, open};
use super::record;
use crate::backend::embedded::condition_holds;
use crate::backend::item::{Payload, SplitHead, StoredItem};
use crate::backend::{BatchGetPage, Condition, ItemPage, ScanPage, WriteOp};
use crate::{Clock, Error};

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
const EXPIRY: TableDefinition<(i64, &str), ()> = TableDefinition::new("expiry");

const READ: &str = "cannot be read";
const WRITE: &str = "cannot be written";
const SWEEP: &str = "cannot be swept of expired items";

/// How long an expired item stays in the file before it is removed: a day. A miss all the
/// while, and described by `item_info` as expired, as DynamoDB keeps expired items until its
/// TTL process deletes them (within days); meanwhile a cache's fail-safe
/// (`CacheConfig::fail_safe_max`) can answer with it when its loader fails.
pub(super) const EXPIRED_GRACE_SECS: i64 = 86_400;

/// The open database.
pub(super) struct Db {
    database: Database,
    path: PathBuf,
    clock: Clock,
    /// Dropped after `database`, so the path is free again only once the file is closed.
    _open: OpenInProcess,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (or creates) the file at `path`; expiry is judged by `clock`.
    pub(super) fn open(path: PathBuf, clock: Clock) -> Result<Db, Error> {
        let (database, registered) = open(&path, &[ITEMS], EXPIRY)?;
        Ok(Db {
            database,
            path,
            clock,
            _open: registered,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Items that expired at or before this are removed.
    fn removable_until(&self) -> i64 {
        self.clock
            .now_epoch_secs()
            .saturating_sub(EXPIRED_GRACE_SECS)
    }

    /// An error about the file, caused by a redb error.
    fn fails<E: Into<redb::Error>>(&self, reason: &'static str) -> impl FnOnce(E) -> Error + '_ {
        fail(&self.path, reason)
    }

    fn corrupt(key: &str) -> impl FnOnce(crate::CorruptReason) -> Error + '_ {
        move |reason| Error::corrupt(key, reason)
    }

    /// One item; an item long expired is removed instead of returned.
    pub(super) fn get(&self, key: &str) -> Result<Option<StoredItem>, Error> {
        let item = {
            let read = self.database.begin_read().map_err(self.fails(READ))?;
            let items = read.open_table(ITEMS).map_err(self.fails(READ))?;
            let Some(found) = items.get(key).map_err(self.fails(READ))? else {
                return Ok(None);
            };
            record::decode(key, found.value()).map_err(Self::corrupt(key))?
        };
        if item.expires_at <= self.removable_until() {
            self.remove_expired_keys(&[key])?;
            return Ok(None);
        }
        Ok(Some(item))
    }

    /// Up to 100 items in one read; items long expired are removed instead of returned.
    pub(super) fn batch_get(&self, keys: &[String]) -> Result<BatchGetPage, Error> {
        let removable_until = self.removable_until();
        let mut page = BatchGetPage::default();
        let mut expired = Vec::new();
        {
            let read = self.database.begin_read().map_err(self.fails(READ))?;
            let items = read.open_table(ITEMS).map_err(self.fails(READ))?;
            for key in keys {
                let Some(found) = items.get(key.as_str()).map_err(self.fails(READ))? else {
                    continue;
                };
                match record::decode(key, found.value()) {
                    Ok(item) if item.expires_at <= removable_until => expired.push(key.as_str()),
                    Ok(item) => page.items.push(Ok(item)),
                    Err(reason) => page
                        .items
                        .push(Err(Box::new((key.clone(), Error::corrupt(key, reason))))),
                }
            }
        }
        if !expired.is_empty() {
            self.remove_expired_keys(&expired)?;
        }
        Ok(page)
    }

    /// Applies writes in one transaction, durable when this returns.
    pub(super) fn write<'w>(
        &self,
        writes: impl IntoIterator<Item = &'w WriteOp>,
    ) -> Result<(), Error> {
        let transaction = self.database.begin_write().map_err(self.fails(WRITE))?;
        {
            let mut items = transaction.open_table(ITEMS).map_err(self.fails(WRITE))?;
            let mut expiry = transaction.open_table(EXPIRY).map_err(self.fails(WRITE))?;
            for write in writes {
                let key = write.key();
                let replaced = match write {
                    WriteOp::Put(item) => items.insert(key, record::encode(item).as_slice()),
                    WriteOp::Delete(_) => items.remove(key),
                }
                .map_err(self.fails(WRITE))?
                .map(|old| {
                    (
                        record::expires_at(old.value()),
                        record::split_head(old.value()),
                    )
                });
                if let Some((old_expiry, old_head)) = replaced {
                    // A replaced record that does not decode leaves its index entry behind;
                    // the sweep drops such entries.
                    if let Ok(old) = old_expiry {
                        expiry.remove((old, key)).map_err(self.fails(WRITE))?;
                    }
                    if let Some(head) = old_head {
                        remove_parts(&mut items, &mut expiry, key, &head)
                            .map_err(self.fails(WRITE))?;
                    }
                }
                if let WriteOp::Put(item) = write {
                    expiry
                        .insert((item.expires_at, key), ())
                        .map_err(self.fails(WRITE))?;
                }
            }
        }
        transaction.commit().map_err(self.fails(WRITE))
    }

    /// Writes `item` if the stored one meets `condition`, checked and written in one write
    /// transaction (redb runs one at a time, so no write comes between).
    pub(super) fn put_if(&self, item: &StoredItem, condition: &Condition) -> Result<bool, Error> {
        let transaction = self.database.begin_write().map_err(self.fails(WRITE))?;
        {
            let mut items = transaction.open_table(ITEMS).map_err(self.fails(WRITE))?;
            let mut expiry = transaction.open_table(EXPIRY).map_err(self.fails(WRITE))?;
            let key = item.key.as_str();
            // An unreadable record counts as absent: only a write that needs no value (a
            // version over nothing) replaces it.
            let (stored, old_expiry) = match items.get(key).map_err(self.fails(WRITE))? {
                Some(found) => (
                    record::decode(key, found.value()).ok(),
                    record::expires_at(found.value()).ok(),
                ),
                None => (None, None),
            };
            if !condition_holds(condition, stored.as_ref(), item.version) {
                return Ok(false);
            }
            if let Some(StoredItem {
                payload: Payload::Head(head),
                ..
            }) = &stored
            {
                remove_parts(&mut items, &mut expiry, key, head).map_err(self.fails(WRITE))?;
            }
            items
                .insert(key, record::encode(item).as_slice())
                .map_err(self.fails(WRITE))?;
            if let Some(old) = old_expiry {
                expiry.remove((old, key)).map_err(self.fails(WRITE))?;
            }
            expiry
                .insert((item.expires_at, key), ())
                .map_err(self.fails(WRITE))?;
        }
        transaction.commit().map_err(self.fails(WRITE))?;
        Ok(true)
    }

    /// One page of at most `limit` whole items after `start`, in key order, expired ones
    /// included; records that do not decode are reported, not skipped.
    pub(super) fn scan_items(&self, limit: u32, start: Option<&str>) -> Result<ItemPage, Error> {
        let (items, last_key) = self.page(limit, start, |key, record| {
            record::decode(&key, record)
                .map_err(|reason| Box::new((key.clone(), Error::corrupt(&key, reason))))
        })?;
        Ok(ItemPage { items, last_key })
    }

    /// One page of at most `limit` keys after `start`, in key order, with their expiry; parts
    /// of split values count toward the limit but are left out, as DynamoDB's filter does.
    pub(super) fn scan(&self, limit: u32, start: Option<&str>) -> Result<ScanPage, Error> {
        let (keys, last_key) = self.page(limit, start, |key, record| {
            (!record::is_part(record)).then(|| (key, record::expires_at(record).ok()))
        })?;
        Ok(ScanPage {
            keys: keys.into_iter().flatten().collect(),
            last_key,
        })
    }

    /// At most `limit` entries after `start`, in key order, each made by `each` from its key
    /// and record; and the key to resume after, when more follow. Unlike some servers, a page
    /// that ends exactly at the last key says so.
    fn page<R>(
        &self,
        limit: u32,
        start: Option<&str>,
        each: impl Fn(String, &[u8]) -> R,
    ) -> Result<(Vec<R>, Option<String>), Error> {
        let read = self.database.begin_read().map_err(self.fails(READ))?;
        let items = read.open_table(ITEMS).map_err(self.fails(READ))?;
        let lower = start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut range = items
            .range::<&str>((lower, Bound::Unbounded))
            .map_err(self.fails(READ))?;
        let mut page = Vec::new();
        let mut last = None;
        for entry in range.by_ref().take(limit as usize) {
            let (key, found) = entry.map_err(self.fails(READ))?;
            let key = key.value().to_owned();
            last = Some(key.clone());
            page.push(each(key, found.value()));
        }
        let last_key = match range.next() {
            Some(_) => last,
            None => None,
        };
        Ok((page, last_key))
    }

    /// Removes those of `keys` whose items are long expired (checked again: another write may
    /// have replaced them since they were read).
    fn remove_expired_keys(&self, keys: &[&str]) -> Result<(), Error> {
        let removable_until = self.removable_until();
        let transaction = self.database.begin_write().map_err(self.fails(WRITE))?;
        {
            let mut items = transaction.open_table(ITEMS).map_err(self.fails(WRITE))?;
            let mut expiry = transaction.open_table(EXPIRY).map_err(self.fails(WRITE))?;
            for key in keys {
                let expires_at = items
                    .get(*key)
                    .map_err(self.fails(WRITE))?
                    .and_then(|found| record::expires_at(found.value()).ok());
                if let Some(at) = expires_at.filter(|at| *at <= removable_until) {
                    items.remove(*key).map_err(self.fails(WRITE))?;
                    expiry.remove((at, *key)).map_err(self.fails(WRITE))?;
                }
            }
        }
        transaction.commit().map_err(self.fails(WRITE))
    }

    /// Removes at most `limit` long-expired items, in order of expiry, in one transaction;
    /// returns how many index entries it went through (a full `limit`: there may be more).
    pub(super) fn sweep(&self, limit: usize) -> Result<usize, Error> {
        let removable_until = self.removable_until();
        let transaction = self.database.begin_write().map_err(self.fails(SWEEP))?;
        let due = {
            let mut items = transaction.open_table(ITEMS).map_err(self.fails(SWEEP))?;
            let mut expiry = transaction.open_table(EXPIRY).map_err(self.fails(SWEEP))?;
            let mut due: Vec<(i64, String)> = Vec::new();
            let entries = match removable_until.checked_add(1) {
                Some(end) => expiry.range(..(end, "")),
                None => expiry.range::<(i64, &str)>(..),
            }
            .map_err(self.fails(SWEEP))?;
            for entry in entries.take(limit) {
                let (index, ()) = entry
                    .map(|(k, v)| (k, v.value()))
                    .map_err(self.fails(SWEEP))?;
                let (at, key) = index.value();
                due.push((at, key.to_owned()));
            }
            for (at, key) in &due {
                expiry
                    .remove((*at, key.as_str()))
                    .map_err(self.fails(SWEEP))?;
                let current = items
                    .get(key.as_str())
                    .map_err(self.fails(SWEEP))?
                    .map(|found| record::expires_at(found.value()));
                // An entry left behind by a replaced item points at nothing to remove.
                if current == Some(Ok(*at)) {
                    items.remove(key.as_str()).map_err(self.fails(SWEEP))?;
                }
            }
            due.len()
        };
        transaction.commit().map_err(self.fails(SWEEP))?;
        Ok(due)
    }
}

/// Removes the parts of the split value `head` under `key` (replaced or deleted), from both
/// tables, in the caller's transaction.
fn remove_parts(
    items: &mut redb::Table<&str, &[u8]>,
    expiry: &mut redb::Table<(i64, &str), ()>,
    key: &str,
    head: &SplitHead,
) -> Result<(), redb::StorageError> {
    for part in head.part_keys(key).unwrap_or_default() {
        let removed = items
            .remove(part.as_str())?
            .map(|old| record::expires_at(old.value()));
        if let Some(Ok(at)) = removed {
            expiry.remove((at, part.as_str()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::backend::item::Payload;

    /// A database on a fresh file, on a manual clock; removes the file when dropped.
    struct Fixture {
        db: Option<Db>,
        clock: Clock,
    }

    impl Fixture {
        fn new() -> Fixture {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let folder = std::env::var_os("DYNAMORATOR_TEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            let path = folder.join(format!(
                "dynamorator-unit-{}-{}.redb",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let clock = Clock::manual();
            let db = Db::open(path, clock.clone()).unwrap();
            Fixture {
                db: Some(db),
                clock,
            }
        }

        fn db(&self) -> &Db {
            self.db.as_ref().unwrap()
        }

        fn put(&self, key: &str, ttl_secs: i64) {
            let item = StoredItem {
                key: key.to_owned(),
                payload: Payload::Json("1".to_owned()),
                expires_at: self.clock.now_epoch_secs() + ttl_secs,
                created_at: None,
                fresh_until: None,
                generation: None,
                version: None,
            };
            self.db().write(&[WriteOp::Put(item)]).unwrap();
        }

        /// Every key in the file, expired or not.
        fn keys(&self) -> Vec<String> {
            let page = self.db().scan(u32::MAX, None).unwrap();
            page.keys.into_iter().map(|(key, _)| key).collect()
        }

        /// How many expiry index entries the sweep could still go through, at most 10,000.
        fn index_entries(&self) -> usize {
            let read = self.db().database.begin_read().unwrap();
            let expiry = read.open_table(EXPIRY).unwrap();
            expiry.iter().unwrap().take(10_000).count()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            if let Some(db) = self.db.take() {
                let path = db.path.clone();
                drop(db);
                let _ = std::fs::remove_file(path);
            }
        }
    }

    #[test]
    fn a_read_removes_an_item_only_once_its_grace_is_over() {
        let f = Fixture::new();
        f.put("k", 10);
        f.clock.advance(Duration::from_secs(10));
        // Expired (the store's reads call that a miss) but kept, as DynamoDB would for a while.
        assert!(f.db().get("k").unwrap().is_some());
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64 - 1));
        assert!(f.db().get("k").unwrap().is_some());
        assert_eq!(f.keys(), ["k"]);
        f.clock.advance(Duration::from_secs(1));
        assert!(f.db().get("k").unwrap().is_none());
        assert!(f.keys().is_empty(), "removed from the file");
        assert_eq!(f.index_entries(), 0, "and from the expiry index");
    }

    #[test]
    fn a_batch_read_removes_what_it_meets_and_returns_the_rest() {
        let f = Fixture::new();
        f.put("old", 1);
        f.put("new", 1_000);
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64 + 1));
        let keys = ["old".to_owned(), "new".to_owned(), "absent".to_owned()];
        let page = f.db().batch_get(&keys).unwrap();
        let found: Vec<String> = page.items.into_iter().map(|i| i.unwrap().key).collect();
        assert_eq!(found, ["new"]);
        assert_eq!(f.keys(), ["new"]);
        assert_eq!(f.index_entries(), 1);
    }

    #[test]
    fn the_sweep_removes_long_expired_items_a_bounded_batch_at_a_time() {
        let f = Fixture::new();
        let batch: Vec<WriteOp> = (0..2_500)
            .map(|i| {
                WriteOp::Put(StoredItem {
                    key: format!("old{i:05}"),
                    payload: Payload::Json("1".to_owned()),
                    expires_at: f.clock.now_epoch_secs() + 1 + i64::from(i % 7),
                    created_at: None,
                    fresh_until: None,
                    generation: None,
                    version: None,
                })
            })
            .collect();
        f.db().write(&batch).unwrap();
        f.put("kept", 10 * EXPIRED_GRACE_SECS);
        f.put("just-expired", EXPIRED_GRACE_SECS + 100);
        // The old items are past their grace now; `just-expired` has just expired.
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64 + 100));
        assert_eq!(f.db().sweep(1_000).unwrap(), 1_000);
        assert_eq!(f.keys().len(), 1_502);
        assert_eq!(f.db().sweep(1_000).unwrap(), 1_000);
        assert_eq!(f.db().sweep(1_000).unwrap(), 500, "less than a batch: done");
        assert_eq!(f.db().sweep(1_000).unwrap(), 0);
        // Expired a moment ago: within its grace, kept until a later round.
        assert_eq!(f.keys(), ["just-expired", "kept"]);
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64));
        assert_eq!(f.db().sweep(1_000).unwrap(), 1);
        assert_eq!(f.keys(), ["kept"]);
        assert_eq!(f.index_entries(), 1);
    }

    #[test]
    fn replacing_or_deleting_an_item_moves_its_index_entry() {
        let f = Fixture::new();
        f.put("replaced", 1);
        f.put("replaced", 3_600);
        f.put("deleted", 1);
        f.db()
            .write(&[WriteOp::Delete("deleted".to_owned())])
            .unwrap();
        assert_eq!(f.index_entries(), 1);
        f.clock.advance(Duration::from_secs(600));
        assert_eq!(f.db().sweep(1_000).unwrap(), 0);
        assert_eq!(f.keys(), ["replaced"], "the newer write is not swept");
    }

    #[test]
    fn a_record_that_does_not_decode_is_corrupt_and_can_be_replaced() {
        let f = Fixture::new();
        let transaction = f.db().database.begin_write().unwrap();
        transaction
            .open_table(ITEMS)
            .unwrap()
            .insert("bad", &[9u8, 0, 1][..])
            .unwrap();
        transaction.commit().unwrap();
        let error = f.db().get("bad").unwrap_err();
        assert!(
            matches!(&error, Error::Corrupt { key, .. } if key == "bad"),
            "{error:?}"
        );
        let page = f.db().batch_get(&["bad".to_owned()]).unwrap();
        assert!(matches!(&page.items[..], [Err(unreadable)] if unreadable.0 == "bad"));
        assert_eq!(
            f.db().scan(10, None).unwrap().keys,
            [("bad".to_owned(), None)]
        );
        f.put("bad", 10);
        assert!(f.db().get("bad").unwrap().is_some());
    }
}
