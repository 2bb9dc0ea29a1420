//! The database in the file and every operation on it, each one SQLite transaction.
//!
//! Every write is an `IMMEDIATE` transaction: it takes the file's write lock before it reads,
//! so a condition it checks (a lease, a version, a value) still holds when it writes, whichever
//! process writes next. Reads see the last commit of any process and never wait for a writer.
//!
//! Each operation runs with or without waiting for locks (`Wait`): the connections that may
//! not wait fail at once as busy, so the backend can run them on the caller's thread and send
//! only the rare operation that met a lock to a blocking thread, on the connections that wait.
//!
//! Checkpoints (folding the write-ahead log into the file, which syncs it) never run inside a
//! write: the writers' WAL hook counts the log's frames, and once there are enough a write
//! asks the store's housekeeping thread (`sweep.rs`) for one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::failure::{Failure, Outcome, Wait, fail, refused};
use super::open::{self, OpenInProcess};
use super::record;
use super::sweep::Tasks;
use crate::backend::embedded::holds;
use crate::backend::{BatchGetPage, ItemPage, LeaseRequest, ScanPage, WriteOp};
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};
use crate::format::{Payload, SplitHead, StoredItem};
use crate::{Clock, CorruptReason, Error};

const READ: &str = "cannot be read";
const WRITE: &str = "cannot be written";
const SWEEP: &str = "cannot be swept of expired items";

/// How long an expired item stays in the file before it is removed: a day. A miss all the
/// while, and described by `item_info` as expired, as DynamoDB keeps expired items until its
/// TTL process deletes them (within days); meanwhile a cache's fail-safe
/// (`CacheConfig::fail_safe_max`) can answer with it when its loader fails.
pub(super) const EXPIRED_GRACE_SECS: i64 = 86_400;

/// Reading connections of each kind kept for the next read; more are opened while more reads
/// run at once.
const IDLE_READERS: usize = 8;

/// Frames (pages) in the write-ahead log past which a checkpoint is due: 16 MiB of 4 KiB
/// pages. Four times SQLite's default, so a page written again and again (an index's root,
/// say) is copied into the file, and the file synced, a quarter as often.
const CHECKPOINT_FRAMES: i32 = 4_000;
/// Past this many frames, readers and writers of every process keep the log from being
/// emptied by passive checkpoints: the next one waits for them and cuts the log back.
const TRUNCATE_FRAMES: i32 = 4 * CHECKPOINT_FRAMES;

/// A writing connection, and the connections for reads, each used by one thread at a time.
struct Connections {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// The open database.
pub(super) struct Db {
    /// The path the store was given, for messages.
    path: PathBuf,
    /// Its canonical path, which every connection opens (a relative path stays this file).
    file: PathBuf,
    /// The process that opened it: SQLite connections must not be used across a `fork`.
    process: u32,
    clock: Clock,
    /// Connections that fail at once on a lock another connection holds.
    now: Connections,
    /// Connections that wait for such a lock (about 10 s at most).
    waiting: Connections,
    /// Frames in the write-ahead log after this process's last commit.
    wal_frames: Arc<AtomicI32>,
    /// A checkpoint is asked for or under way.
    checkpointing: AtomicBool,
    /// Where checkpoints are asked for.
    tasks: Tasks,
    /// Dropped after the connections, so the path is free again only once the file is closed.
    _open: OpenInProcess,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

/// A record as read: its key's item, or why it does not decode.
type Decoded = Result<StoredItem, CorruptReason>;

impl Db {
    /// Opens (or creates) the file at `path`; expiry is judged by `clock`.
    pub(super) fn open(path: PathBuf, clock: Clock) -> Result<Db, Error> {
        let (registered, file) = open::prepare(&path)?;
        let mut waiting = open::connect(&file, &path, Wait::Yes)?;
        open::initialise(&mut waiting, &path)?;
        let mut now = open::connect(&file, &path, Wait::No)?;
        let wal_frames = Arc::new(AtomicI32::new(0));
        for writer in [&mut waiting, &mut now] {
            let frames = wal_frames.clone();
            // Replaces SQLite's automatic checkpoint, which would sync inside a write.
            writer
                .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
                    frames.store(pages, Ordering::Relaxed);
                    Ok(())
                }))
                .map_err(|error| {
                    fail(&path, "cannot be opened", Wait::Yes)(error).into_error(&path)
                })?;
        }
        Ok(Db {
            path,
            file,
            process: std::process::id(),
            clock,
            now: Connections {
                writer: Mutex::new(now),
                readers: Mutex::new(Vec::new()),
            },
            waiting: Connections {
                writer: Mutex::new(waiting),
                readers: Mutex::new(Vec::new()),
            },
            wal_frames,
            checkpointing: AtomicBool::new(false),
            tasks: Tasks::default(),
            _open: registered,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// An error, in a process forked after the store was opened: its connections are the
    /// parent's, and SQLite's locks would not hold.
    fn same_process(&self) -> Outcome<()> {
        if std::process::id() == self.process {
            return Ok(());
        }
        Err(refused(
            &self.path,
            "was opened before this process was forked; open the store in each process after \
             the fork",
        )
        .into())
    }

    fn connections(&self, wait: Wait) -> &Connections {
        match wait {
            Wait::No => &self.now,
            Wait::Yes => &self.waiting,
        }
    }

    /// Items that expired at or before this are removed.
    fn removable_until(&self) -> i64 {
        self.clock
            .now_epoch_secs()
            .saturating_sub(EXPIRED_GRACE_SECS)
    }

    /// Runs `op` on a reading connection.
    fn read<T>(
        &self,
        wait: Wait,
        op: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Outcome<T> {
        self.same_process()?;
        let pool = &self.connections(wait).readers;
        let idle = lock(pool).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => open::connect(&self.file, &self.path, wait)?,
        };
        let outcome = op(&connection).map_err(fail(&self.path, READ, wait));
        let mut idle = lock(pool);
        if idle.len() < IDLE_READERS {
            idle.push(connection);
        }
        outcome
    }

    /// Runs `op` in a write transaction, committed if it returns `Ok`, rolled back otherwise.
    /// Without waiting, a writer of this process at work is a lock taken too.
    fn write_with<T>(
        &self,
        wait: Wait,
        reason: &'static str,
        op: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Outcome<T> {
        self.same_process()?;
        let writer = &self.connections(wait).writer;
        let mut connection = match wait {
            Wait::Yes => lock(writer),
            Wait::No => match writer.try_lock() {
                Ok(connection) => connection,
                Err(TryLockError::WouldBlock) => return Err(Failure::Busy),
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            },
        };
        let failed = fail(&self.path, reason, wait);
        let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Ok(transaction) => transaction,
            Err(error) => return Err(failed(error)),
        };
        let outcome = match op(&transaction) {
            Ok(outcome) => outcome,
            Err(error) => return Err(failed(error)),
        };
        transaction.commit().map_err(failed)?;
        drop(connection);
        self.checkpoint_if_due();
        Ok(outcome)
    }

    /// Asks the housekeeping thread for a checkpoint if the write-ahead log has grown enough
    /// and none is asked for already.
    pub(super) fn checkpoint_if_due(&self) {
        if self.wal_frames.load(Ordering::Relaxed) >= CHECKPOINT_FRAMES
            && !self.checkpointing.swap(true, Ordering::AcqRel)
            && !self.tasks.checkpoint()
        {
            // No thread to run it (being dropped): the next write asks again.
            self.checkpointing.store(false, Ordering::Release);
        }
    }

    /// Folds the write-ahead log into the file as far as readers allow (`PASSIVE`: it waits
    /// for nobody); past [`TRUNCATE_FRAMES`], waits for them and cuts the log back
    /// (`TRUNCATE`). Blocks: it syncs the file.
    pub(super) fn checkpoint(&self) {
        let mode = if self.wal_frames.load(Ordering::Relaxed) >= TRUNCATE_FRAMES {
            CheckpointMode::TRUNCATE
        } else {
            CheckpointMode::PASSIVE
        };
        let done = self.read(Wait::Yes, |connection| {
            connection.wal_checkpoint_v2(None::<&str>, mode)
        });
        self.wal_frames.store(0, Ordering::Relaxed);
        self.checkpointing.store(false, Ordering::Release);
        match done {
            // Frames left (readers on older pages) or another process's checkpoint under way:
            // a later one finishes the work.
            Ok(_) | Err(Failure::Busy) => {}
            Err(Failure::Error(error)) => tracing::debug!(
                path = %self.path.display(),
                %error,
                "dynamorator: a checkpoint of the embedded store's write-ahead log did not run"
            ),
        }
    }

    #[cfg(test)]
    fn wal_frames(&self) -> i32 {
        self.wal_frames.load(Ordering::Relaxed)
    }

    /// One item; an item long expired is removed instead of returned.
    pub(super) fn get(&self, key: &str, wait: Wait) -> Outcome<Option<StoredItem>> {
        let found = self.read(wait, |connection| select(connection, key))?;
        match found {
            None => Ok(None),
            Some((expires_at, _)) if expires_at <= self.removable_until() => {
                self.remove_expired_keys(&[key], wait)?;
                Ok(None)
            }
            Some((_, item)) => item
                .map(Some)
                .map_err(|reason| Error::corrupt(key, reason).into()),
        }
    }

    /// Up to 100 items, read at one moment; items long expired are removed instead of
    /// returned.
    pub(super) fn batch_get(&self, keys: &[String], wait: Wait) -> Outcome<BatchGetPage> {
        let removable_until = self.removable_until();
        let found = self.read(wait, |connection| {
            let snapshot = connection.unchecked_transaction()?;
            let found = keys
                .iter()
                .map(|key| Ok(select(&snapshot, key)?.map(|found| (key, found))))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            snapshot.commit()?;
            Ok(found)
        })?;
        let mut page = BatchGetPage::default();
        let mut expired = Vec::new();
        for (key, (expires_at, item)) in found.into_iter().flatten() {
            if expires_at <= removable_until {
                expired.push(key.as_str());
                continue;
            }
            page.items
                .push(item.map_err(|reason| Box::new((key.clone(), Error::corrupt(key, reason)))));
        }
        if !expired.is_empty() {
            self.remove_expired_keys(&expired, wait)?;
        }
        Ok(page)
    }

    /// Applies writes in one transaction; each ends its key's lease (as a DynamoDB `PutItem`
    /// replaces the lease attributes) and removes the parts of a split value it replaces.
    pub(super) fn write(&self, writes: &[WriteOp], wait: Wait) -> Outcome<()> {
        self.write_with(wait, WRITE, |transaction| {
            for write in writes {
                let key = write.key();
                remove_parts_of(transaction, key)?;
                match write {
                    WriteOp::Put(item) => upsert(transaction, item)?,
                    WriteOp::Delete(_) => {
                        transaction
                            .prepare_cached("DELETE FROM items WHERE key = ?1")?
                            .execute([key])?;
                    }
                }
                end_lease(transaction, key)?;
            }
            Ok(())
        })
    }

    /// Writes `item` if the stored one and its lease meet `require`, checked and written in
    /// one transaction under the file's write lock, so no write of any process comes between.
    pub(super) fn put_if(&self, item: &StoredItem, require: &Require, wait: Wait) -> Outcome<bool> {
        self.write_with(wait, WRITE, |transaction| {
            let key = item.key.as_str();
            // An unreadable record counts as absent: only a write that needs no value (a
            // version over nothing) replaces it.
            let stored = select(transaction, key)?.and_then(|(_, item)| item.ok());
            if !holds(require, stored.as_ref(), lease_until(transaction, key)?) {
                return Ok(false);
            }
            // The stored item is read already: its parts go without a second look.
            if let Some(StoredItem {
                payload: Payload::Head(head),
                ..
            }) = &stored
            {
                remove_parts(transaction, key, head)?;
            }
            upsert(transaction, item)?;
            end_lease(transaction, key)?;
            Ok(true)
        })
    }

    /// Gives the item under `key`, and a split value's parts, the expiry `expires_at` in one
    /// transaction, values and leases as they were, if the item and its lease meet `require`;
    /// `None` when they do not. The parts change in the same step: none are left to the caller.
    pub(super) fn set_expiry(
        &self,
        key: &str,
        expires_at: i64,
        require: &Require,
        wait: Wait,
    ) -> Outcome<Option<Vec<String>>> {
        self.write_with(wait, WRITE, |transaction| {
            // An unreadable record has no value whose expiry could change.
            let Some((_, Ok(mut item))) = select(transaction, key)? else {
                return Ok(None);
            };
            if !holds(require, Some(&item), lease_until(transaction, key)?) {
                return Ok(None);
            }
            let part_keys = match &item.payload {
                Payload::Head(head) => head.part_keys(key).unwrap_or_default(),
                _ => Vec::new(),
            };
            item.expires_at = expires_at;
            upsert(transaction, &item)?;
            for part_key in part_keys {
                if let Some((_, Ok(mut part))) = select(transaction, &part_key)? {
                    part.expires_at = expires_at;
                    upsert(transaction, &part)?;
                }
            }
            Ok(Some(Vec::new()))
        })
    }

    /// Takes the lease if the stored item and its lease meet `require`; looked at and taken
    /// under the file's write lock, so two processes never both take it.
    pub(super) fn acquire_lease(
        &self,
        lease: &LeaseRequest<'_>,
        require: &Require,
        wait: Wait,
    ) -> Outcome<bool> {
        self.write_with(wait, WRITE, |transaction| {
            // An unreadable record is no value (absent to the rule): the lease may be taken to
            // replace it.
            let stored = select(transaction, lease.key)?.and_then(|(_, item)| item.ok());
            if !holds(
                require,
                stored.as_ref(),
                lease_until(transaction, lease.key)?,
            ) {
                return Ok(false);
            }
            transaction
                .prepare_cached(
                    "INSERT INTO leases (key, owner, until_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET owner = excluded.owner,
                         until_ms = excluded.until_ms",
                )?
                .execute(params![lease.key, lease.owner, lease.until_ms])?;
            Ok(true)
        })
    }

    /// Ends `owner`'s lease on `key`, if it holds it.
    pub(super) fn release_lease(&self, key: &str, owner: &str, wait: Wait) -> Outcome<()> {
        self.write_with(wait, WRITE, |transaction| {
            transaction
                .prepare_cached("DELETE FROM leases WHERE key = ?1 AND owner = ?2")?
                .execute([key, owner])?;
            Ok(())
        })
    }

    /// One page of at most `limit` whole items after `start`, in key order, expired ones
    /// included; records that do not decode are reported, not skipped.
    pub(super) fn scan_items(&self, limit: u32, start: Option<&str>) -> Outcome<ItemPage> {
        let (items, last_key) =
            self.page("key, expires_at, form, record", limit, start, |key, row| {
                let record = row.get_ref(3)?.as_blob()?;
                Ok(decode(&key, row.get(1)?, record)
                    .map_err(|reason| Box::new((key.clone(), Error::corrupt(&key, reason)))))
            })?;
        Ok(ItemPage { items, last_key })
    }

    /// One page of at most `limit` keys after `start`, in key order, with their expiry; parts
    /// of split values count toward the limit but are left out, as DynamoDB's filter does.
    pub(super) fn scan(&self, limit: u32, start: Option<&str>) -> Outcome<ScanPage> {
        let (keys, last_key) = self.page("key, expires_at, form", limit, start, |key, row| {
            let part = row.get::<_, i64>(2).is_ok_and(record::is_part_form);
            Ok((!part).then_some((key, row.get(1).ok())))
        })?;
        Ok(ScanPage {
            keys: keys.into_iter().flatten().collect(),
            last_key,
        })
    }

    /// At most `limit` rows of `columns` after `start`, in key order, each made by `each` from
    /// its key and row; and the key to resume after, when more follow. Unlike some servers, a
    /// page that ends exactly at the last key says so. Pages are bulk work: they run where
    /// they may wait.
    fn page<R>(
        &self,
        columns: &str,
        limit: u32,
        start: Option<&str>,
        each: impl Fn(String, &rusqlite::Row<'_>) -> rusqlite::Result<R>,
    ) -> Outcome<(Vec<R>, Option<String>)> {
        // One more row than the page tells whether more follow.
        let fetch = i64::from(limit).saturating_add(1);
        self.read(Wait::Yes, |connection| {
            let mut statement = match start {
                Some(_) => connection.prepare_cached(&format!(
                    "SELECT {columns} FROM items WHERE key > ?1 ORDER BY key LIMIT ?2"
                ))?,
                None => connection.prepare_cached(&format!(
                    "SELECT {columns} FROM items ORDER BY key LIMIT ?1"
                ))?,
            };
            let mut rows = match start {
                Some(start) => statement.query(params![start, fetch])?,
                None => statement.query(params![fetch])?,
            };
            let mut page = Vec::new();
            let mut last = None;
            let mut more = false;
            while let Some(row) = rows.next()? {
                if page.len() == limit as usize {
                    more = true;
                    break;
                }
                let key: String = row.get(0)?;
                last = Some(key.clone());
                page.push(each(key, row)?);
            }
            Ok((page, if more { last } else { None }))
        })
    }

    /// Removes those of `keys` whose items are long expired (checked again under the write
    /// lock: another write, of any process, may have replaced them since they were read).
    /// Housekeeping a read does on the way: a lock met without waiting makes the whole read
    /// run again where it may wait (so the item is removed, as the read promised); any other
    /// failure leaves them to the sweep, and the read is a miss all the same.
    fn remove_expired_keys(&self, keys: &[&str], wait: Wait) -> Outcome<()> {
        let removable_until = self.removable_until();
        let removed = self.write_with(wait, WRITE, |transaction| {
            let mut remove = transaction
                .prepare_cached("DELETE FROM items WHERE key = ?1 AND expires_at <= ?2")?;
            for key in keys {
                remove.execute(params![key, removable_until])?;
            }
            Ok(())
        });
        match removed {
            Err(Failure::Busy) => Err(Failure::Busy),
            Err(Failure::Error(error)) => {
                tracing::debug!(
                    path = %self.path.display(),
                    %error,
                    "dynamorator: expired items the read met were left to the sweep"
                );
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Appends to a change feed item, in one transaction: the cap is checked against what
    /// every process appended.
    pub(super) fn feed_append(&self, append: &FeedAppend, wait: Wait) -> Outcome<Appended> {
        self.write_with(wait, WRITE, |transaction| {
            let mut item = select_feed(transaction, &append.key)?.unwrap_or_default();
            let appended = item.apply(append);
            let entries = serde_json::to_string(&item.entries).unwrap_or_else(|_| "[]".into());
            transaction
                .prepare_cached(
                    "INSERT INTO feed (key, expires_at, count, overflow, entries)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at,
                         count = excluded.count, overflow = excluded.overflow,
                         entries = excluded.entries",
                )?
                .execute(params![
                    append.key,
                    append.expires_at,
                    i64::try_from(item.count).unwrap_or(i64::MAX),
                    i64::try_from(item.overflow).unwrap_or(i64::MAX),
                    entries
                ])?;
            Ok(appended)
        })
    }

    /// Change feed items by key, read at one moment.
    pub(super) fn feed_read(&self, keys: &[String], wait: Wait) -> Outcome<Vec<FeedItem>> {
        self.read(wait, |connection| {
            let snapshot = connection.unchecked_transaction()?;
            let mut items = Vec::new();
            for key in keys {
                items.extend(select_feed(&snapshot, key)?);
            }
            snapshot.commit()?;
            Ok(items)
        })
    }

    /// Removes at most `limit` long-expired items, oldest expiry first, in one transaction,
    /// and the leases that have lapsed; returns how many items it removed (a full `limit`:
    /// there may be more).
    pub(super) fn sweep(&self, limit: usize) -> Outcome<usize> {
        let removable_until = self.removable_until();
        let now_ms = self.clock.now_epoch_millis();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write_with(Wait::Yes, SWEEP, |transaction| {
            let removed = transaction
                .prepare_cached(
                    "DELETE FROM items WHERE rowid IN (SELECT rowid FROM items
                     WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
                )?
                .execute(params![removable_until, limit])?;
            transaction
                .prepare_cached("DELETE FROM leases WHERE until_ms <= ?1")?
                .execute([now_ms])?;
            // Feed items are read only for seconds after they are written.
            transaction
                .prepare_cached("DELETE FROM feed WHERE expires_at <= ?1")?
                .execute([now_ms / 1000])?;
            Ok(removed)
        })
    }
}

/// The feed item under `key`. Entries that do not read as a list of strings count as all
/// missing (one overflow), so readers empty their L1 rather than trust what is left, and an
/// append over them keeps saying so.
fn select_feed(connection: &Connection, key: &str) -> rusqlite::Result<Option<FeedItem>> {
    let found = connection
        .prepare_cached("SELECT count, overflow, entries FROM feed WHERE key = ?1")?
        .query_row([key], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    Ok(found.map(|(count, overflow, entries)| {
        let entries: Option<Vec<String>> = serde_json::from_str(&entries).ok();
        FeedItem {
            key: key.to_owned(),
            overflow: u64::try_from(overflow)
                .unwrap_or(0)
                .saturating_add(u64::from(entries.is_none())),
            entries: entries.unwrap_or_default(),
            count: u64::try_from(count).unwrap_or(0),
        }
    }))
}

/// A mutex's guard; a panic elsewhere while it was held leaves nothing half-done here (every
/// change is a transaction SQLite rolls back), so a poisoned lock is taken as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The item under `key`: its expiry (from the index column) and the decoded record.
fn select(connection: &Connection, key: &str) -> rusqlite::Result<Option<(i64, Decoded)>> {
    connection
        .prepare_cached("SELECT expires_at, record FROM items WHERE key = ?1")?
        .query_row([key], |row| {
            let expires_at: i64 = row.get(0)?;
            let record = row.get_ref(1)?.as_blob()?;
            Ok((expires_at, decode(key, expires_at, record)))
        })
        .optional()
}

/// A record read under `key`, whose expiry column says `expires_at`: both must agree.
fn decode(key: &str, expires_at: i64, record: &[u8]) -> Decoded {
    let item = record::decode(key, record)?;
    if item.expires_at != expires_at {
        return Err(CorruptReason::Record(
            "its expiry does not match the file's index of it",
        ));
    }
    Ok(item)
}

/// Writes `item` over whatever is under its key.
fn upsert(transaction: &Transaction<'_>, item: &StoredItem) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO items (key, expires_at, form, record) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at,
                 form = excluded.form, record = excluded.record",
        )?
        .execute(params![
            item.key,
            item.expires_at,
            record::form(&item.payload),
            record::encode(item)
        ])?;
    Ok(())
}

/// The end of the lease on `key`, if there is one.
fn lease_until(connection: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    connection
        .prepare_cached("SELECT until_ms FROM leases WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()
}

/// A write of `key` ends any lease on it.
fn end_lease(transaction: &Transaction<'_>, key: &str) -> rusqlite::Result<()> {
    transaction
        .prepare_cached("DELETE FROM leases WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Removes the parts of the split value under `key`, if a split value's head is there (one
/// about to be replaced or deleted), in the caller's transaction. Only a head's record is read
/// (the form column decides), never a replaced value's; a head that does not decode leaves its
/// parts to expire with it.
fn remove_parts_of(transaction: &Transaction<'_>, key: &str) -> rusqlite::Result<()> {
    let head: Option<Vec<u8>> = transaction
        .prepare_cached("SELECT record FROM items WHERE key = ?1 AND form = ?2")?
        .query_row(params![key, record::HEAD_FORM], |row| row.get(0))
        .optional()?;
    match head.map(|bytes| record::decode(key, &bytes)) {
        Some(Ok(StoredItem {
            payload: Payload::Head(head),
            ..
        })) => remove_parts(transaction, key, &head),
        _ => Ok(()),
    }
}

/// Removes the parts of `head`, the split value under `key`, in the caller's transaction.
fn remove_parts(
    transaction: &Transaction<'_>,
    key: &str,
    head: &SplitHead,
) -> rusqlite::Result<()> {
    let mut remove = transaction.prepare_cached("DELETE FROM items WHERE key = ?1")?;
    for part in head.part_keys(key).unwrap_or_default() {
        remove.execute([part])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::format::condition::{Attr, Op};

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
                "dynamorator-unit-{}-{}.db",
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

        fn item(&self, key: &str, ttl_secs: i64) -> StoredItem {
            StoredItem {
                key: key.to_owned(),
                payload: Payload::Json("1".to_owned()),
                expires_at: self.clock.now_epoch_secs() + ttl_secs,
                created_at: None,
                fresh_until: None,
                generation: None,
                version: None,
            }
        }

        fn put(&self, key: &str, ttl_secs: i64) {
            let item = self.item(key, ttl_secs);
            self.db().write(&[WriteOp::Put(item)], Wait::Yes).unwrap();
        }

        /// Every key in the file, expired or not.
        fn keys(&self) -> Vec<String> {
            let page = self.db().scan(u32::MAX, None).unwrap();
            page.keys.into_iter().map(|(key, _)| key).collect()
        }

        fn lease(&self, key: &'static str, owner: &'static str) -> LeaseRequest<'static> {
            let now_ms = self.clock.now_epoch_millis();
            LeaseRequest {
                key,
                owner,
                now_ms,
                until_ms: now_ms + 10_000,
                expires_at: 0,
            }
        }

        /// A lease rule as the store's, in short: no unexpired lease, and no unexpired value.
        fn rule(&self) -> Require {
            let now_ms = self.clock.now_epoch_millis();
            Require::All(vec![
                Require::not(Require::compare(Attr::LeaseUntil, Op::Gt, now_ms)),
                Require::Any(vec![
                    Require::not(Require::HoldsValue),
                    Require::compare(Attr::Ttl, Op::Le, now_ms.div_euclid(1_000)),
                ]),
            ])
        }

        fn leases(&self) -> i64 {
            let writer = lock(&self.db().waiting.writer);
            writer
                .query_row("SELECT count(*) FROM leases", [], |row| row.get(0))
                .unwrap()
        }

        fn raw_put(&self, key: &str, expires_at: i64, record: &[u8]) {
            let writer = lock(&self.db().waiting.writer);
            writer
                .execute(
                    "INSERT OR REPLACE INTO items (key, expires_at, form, record)
                     VALUES (?1, ?2, 0, ?3)",
                    params![key, expires_at, record],
                )
                .unwrap();
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
        assert!(f.db().get("k", Wait::Yes).unwrap().is_some());
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64 - 1));
        assert!(f.db().get("k", Wait::Yes).unwrap().is_some());
        assert_eq!(f.keys(), ["k"]);
        f.clock.advance(Duration::from_secs(1));
        assert!(f.db().get("k", Wait::Yes).unwrap().is_none());
        assert!(f.keys().is_empty(), "removed from the file");
    }

    #[test]
    fn a_batch_read_removes_what_it_meets_and_returns_the_rest() {
        let f = Fixture::new();
        f.put("old", 1);
        f.put("new", 1_000);
        f.clock
            .advance(Duration::from_secs(EXPIRED_GRACE_SECS as u64 + 1));
        let keys = ["old".to_owned(), "new".to_owned(), "absent".to_owned()];
        let page = f.db().batch_get(&keys, Wait::Yes).unwrap();
        let found: Vec<String> = page.items.into_iter().map(|i| i.unwrap().key).collect();
        assert_eq!(found, ["new"]);
        assert_eq!(f.keys(), ["new"]);
    }

    #[test]
    fn the_sweep_removes_long_expired_items_a_bounded_batch_at_a_time() {
        let f = Fixture::new();
        let batch: Vec<WriteOp> = (0..2_500)
            .map(|i| {
                let mut item = f.item(&format!("old{i:05}"), 1 + i64::from(i % 7));
                item.payload = Payload::Json(i.to_string());
                WriteOp::Put(item)
            })
            .collect();
        f.db().write(&batch, Wait::Yes).unwrap();
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
    }

    #[test]
    fn a_replaced_item_is_swept_by_its_new_expiry() {
        let f = Fixture::new();
        f.put("replaced", 1);
        f.put("replaced", 10 * EXPIRED_GRACE_SECS);
        f.put("deleted", 1);
        f.db()
            .write(&[WriteOp::Delete("deleted".to_owned())], Wait::Yes)
            .unwrap();
        f.clock
            .advance(Duration::from_secs(2 * EXPIRED_GRACE_SECS as u64));
        assert_eq!(f.db().sweep(1_000).unwrap(), 0);
        assert_eq!(f.keys(), ["replaced"], "the newer write is not swept");
    }

    #[test]
    fn feed_entries_that_do_not_read_count_as_an_overflow_and_stay_counted() {
        let fixture = Fixture::new();
        let append = |entries: &[&str]| FeedAppend {
            key: "f".into(),
            entries: entries.iter().map(|e| (*e).to_owned()).collect(),
            cap: 64,
            expires_at: i64::MAX,
        };
        let db = fixture.db();
        assert_eq!(
            db.feed_append(&append(&["a"]), Wait::Yes).unwrap(),
            Appended::Entries
        );
        let read = db.feed_read(&["f".to_owned()], Wait::Yes).unwrap();
        assert_eq!(
            (read[0].entries.clone(), read[0].overflow),
            (vec!["a".to_owned()], 0)
        );
        lock(&db.waiting.writer)
            .execute("UPDATE feed SET entries = 'not json' WHERE key = 'f'", [])
            .unwrap();
        let read = db.feed_read(&["f".to_owned()], Wait::Yes).unwrap();
        assert_eq!((read[0].entries.len(), read[0].overflow), (0, 1));
        // An append keeps the overflow: readers still know entries were lost.
        db.feed_append(&append(&["b"]), Wait::Yes).unwrap();
        let read = db.feed_read(&["f".to_owned()], Wait::Yes).unwrap();
        assert_eq!(
            (read[0].entries.clone(), read[0].overflow),
            (vec!["b".to_owned()], 1)
        );
    }

    #[test]
    fn a_record_that_does_not_decode_is_corrupt_and_can_be_replaced() {
        let f = Fixture::new();
        let expires_at = f.clock.now_epoch_secs() + 100;
        f.raw_put("bad", expires_at, &[9u8, 0, 1]);
        let error = f.db().get("bad", Wait::Yes).unwrap_err();
        assert!(
            matches!(&error, Failure::Error(Error::Corrupt { key, .. }) if key == "bad"),
            "{error:?}"
        );
        let page = f.db().batch_get(&["bad".to_owned()], Wait::Yes).unwrap();
        assert!(matches!(&page.items[..], [Err(unreadable)] if unreadable.0 == "bad"));
        assert_eq!(
            f.db().scan(10, None).unwrap().keys,
            [("bad".to_owned(), Some(expires_at))]
        );
        f.put("bad", 10);
        assert!(f.db().get("bad", Wait::Yes).unwrap().is_some());
    }

    #[test]
    fn a_record_whose_expiry_disagrees_with_its_index_is_corrupt() {
        let f = Fixture::new();
        let item = f.item("k", 100);
        f.raw_put("k", item.expires_at + 1, &record::encode(&item));
        assert!(matches!(
            f.db().get("k", Wait::Yes),
            Err(Failure::Error(Error::Corrupt { .. }))
        ));
    }

    #[test]
    fn a_lease_is_taken_once_until_it_lapses_is_released_or_the_key_is_written() {
        let f = Fixture::new();
        assert!(
            f.db()
                .acquire_lease(&f.lease("k", "a"), &f.rule(), Wait::Yes)
                .unwrap()
        );
        assert!(
            !f.db()
                .acquire_lease(&f.lease("k", "b"), &f.rule(), Wait::Yes)
                .unwrap(),
            "held"
        );
        f.db().release_lease("k", "b", Wait::Yes).unwrap();
        assert!(
            !f.db()
                .acquire_lease(&f.lease("k", "b"), &f.rule(), Wait::Yes)
                .unwrap(),
            "not b's"
        );
        f.db().release_lease("k", "a", Wait::Yes).unwrap();
        assert!(
            f.db()
                .acquire_lease(&f.lease("k", "b"), &f.rule(), Wait::Yes)
                .unwrap(),
            "released"
        );
        f.clock.advance(Duration::from_secs(10));
        assert!(
            f.db()
                .acquire_lease(&f.lease("k", "c"), &f.rule(), Wait::Yes)
                .unwrap(),
            "lapsed"
        );
        f.put("k", 100);
        assert_eq!(f.leases(), 0, "the write ended it");
        assert!(
            !f.db()
                .acquire_lease(&f.lease("k", "d"), &f.rule(), Wait::Yes)
                .unwrap(),
            "a fresh value needs no load"
        );
        assert!(
            f.db()
                .acquire_lease(&f.lease("other", "d"), &f.rule(), Wait::Yes)
                .unwrap()
        );
        f.clock.advance(Duration::from_secs(10));
        f.db().sweep(10).unwrap();
        assert_eq!(f.leases(), 0, "the sweep drops lapsed leases");
    }

    #[test]
    fn conditional_writes_follow_their_condition() {
        let f = Fixture::new();
        let older = |version: u64| Require::not(Require::compare(Attr::Version, Op::Ge, version));
        let mut versioned = f.item("v", 100);
        versioned.version = Some(2);
        assert!(f.db().put_if(&versioned, &older(2), Wait::Yes).unwrap());
        versioned.version = Some(1);
        assert!(!f.db().put_if(&versioned, &older(1), Wait::Yes).unwrap());
        let item = f.item("d", 100);
        let absent = Require::not(Require::HoldsValue);
        assert!(f.db().put_if(&item, &absent, Wait::Yes).unwrap());
        assert!(!f.db().put_if(&item, &absent, Wait::Yes).unwrap());
        let counted = Require::compare(Attr::Ttl, Op::Eq, item.expires_at);
        assert!(f.db().put_if(&item, &counted, Wait::Yes).unwrap());
    }

    #[test]
    fn without_waiting_a_lock_held_elsewhere_is_busy_and_changes_nothing() {
        let f = Fixture::new();
        f.put("k", 100);
        let other = Connection::open(&f.db().path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let write = [WriteOp::Delete("k".to_owned())];
        assert!(matches!(f.db().write(&write, Wait::No), Err(Failure::Busy)));
        // A reader in WAL mode never waits for a writer.
        assert!(f.db().get("k", Wait::No).unwrap().is_some());
        other.execute_batch("COMMIT").unwrap();
        f.db().write(&write, Wait::No).unwrap();
        assert!(f.db().get("k", Wait::No).unwrap().is_none());
    }

    #[test]
    fn a_checkpoint_empties_the_log_the_writes_filled() {
        let f = Fixture::new();
        assert_eq!(f.db().wal_frames(), 0);
        // About 20 MB: more pages than a checkpoint waits for.
        let batch: Vec<WriteOp> = (0..4_000)
            .map(|i| {
                let mut item = f.item(&format!("k{i:05}"), 100);
                item.payload = Payload::Json(format!("\"{}\"", "x".repeat(5_000)));
                WriteOp::Put(item)
            })
            .collect();
        f.db().write(&batch, Wait::Yes).unwrap();
        assert!(
            f.db().wal_frames() >= CHECKPOINT_FRAMES,
            "{}",
            f.db().wal_frames()
        );
        // No housekeeping thread here: asking finds none, and nothing is left asked for.
        f.db().checkpoint_if_due();
        assert!(!f.db().checkpointing.load(Ordering::Acquire));
        f.db().checkpoint();
        assert_eq!(f.db().wal_frames(), 0);
        let (log, folded) = lock(&f.db().waiting.writer)
            .wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)
            .unwrap();
        assert_eq!(log, folded, "every frame is in the file");
        assert_eq!(f.keys().len(), 4_000);
    }

    #[test]
    fn a_new_expiry_keeps_the_value() {
        let f = Fixture::new();
        f.put("k", 100);
        let now = f.clock.now_epoch_secs();
        let unexpired = |now: i64| Require::compare(Attr::Ttl, Op::Gt, now);
        let changed = f
            .db()
            .set_expiry("k", now + 5_000, &unexpired(now), Wait::No)
            .unwrap();
        assert_eq!(changed, Some(Vec::new()));
        let item = f.db().get("k", Wait::No).unwrap().unwrap();
        assert_eq!(
            (item.expires_at, item.payload),
            (now + 5_000, Payload::Json("1".into()))
        );
        assert_eq!(
            f.db()
                .set_expiry("absent", now + 5, &unexpired(now), Wait::No)
                .unwrap(),
            None
        );
        f.clock.advance(std::time::Duration::from_secs(5_000));
        let later = f.clock.now_epoch_secs();
        assert_eq!(
            f.db()
                .set_expiry("k", later + 5, &unexpired(later), Wait::No)
                .unwrap(),
            None,
            "expired"
        );
    }

    #[test]
    fn a_read_that_cannot_remove_a_long_expired_item_now_runs_again_where_it_waits() {
        let f = Fixture::new();
        f.put("old", 1);
        f.clock.advance(std::time::Duration::from_secs(
            EXPIRED_GRACE_SECS as u64 + 1,
        ));
        let other = Connection::open(&f.db().path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert!(matches!(f.db().get("old", Wait::No), Err(Failure::Busy)));
        other.execute_batch("COMMIT").unwrap();
        assert!(f.db().get("old", Wait::Yes).unwrap().is_none());
        assert!(f.keys().is_empty(), "removed");
    }
}
