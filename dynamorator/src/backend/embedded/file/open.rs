//! Opening the file: created readable by its owner only, recognised before SQLite touches it
//! (an earlier version's redb file or journal, a JSON-lines export, another program's
//! database: each refused by name and left as it is), its tables made once, and one store per
//! file in this process (other processes share it freely).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::failure::{Wait, fail_io, fail_open as fail, refused};
use crate::Error;

/// `PRAGMA application_id` of a store file: "dyna". `file(1)` and the `sqlite3` tool show it.
const APPLICATION_ID: i32 = 0x6479_6e61;
/// `PRAGMA user_version`: the schema below. A file of a later schema is refused, never changed.
const SCHEMA_VERSION: i32 = 1;

/// The tables. `items` keeps each record (`record.rs`) with its expiry and form beside it, so
/// listings, the sweep and writes over split values read no records. A rowid table, not one
/// clustered by key (`WITHOUT ROWID`): with records of a kilobyte and more, that one measured
/// 3.3 times the size on disk and slower reads and writes. `leases` are the fleet's leases on
/// keys, shared by every process on the file.
const SCHEMA: &str = "
    CREATE TABLE items (
        key TEXT PRIMARY KEY NOT NULL,
        expires_at INTEGER NOT NULL,
        form INTEGER NOT NULL,
        record BLOB NOT NULL
    ) STRICT;
    CREATE INDEX items_by_expiry ON items (expires_at);
    CREATE TABLE leases (
        key TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        until_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
";

/// The change feed's items (coherent L1s: `format/feed.rs`), apart from the values as
/// DynamoDB's scans of values skip them; `entries` is a JSON array of strings. Added to files
/// of schema 1 when they are opened: a table earlier versions never look at, so the schema's
/// version stays 1 and they still open the file.
const FEED_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS feed (
        key TEXT PRIMARY KEY NOT NULL,
        expires_at INTEGER NOT NULL,
        count INTEGER NOT NULL,
        overflow INTEGER NOT NULL,
        entries TEXT NOT NULL
    ) STRICT;
";

/// SQLite's page cache per connection, in KiB (a negative `cache_size`): hot pages stay in
/// memory, opening reads none. Small: a process holds several connections, and a reader's
/// pages are dropped whenever another connection writes; the system's page cache keeps the
/// file's hot pages for all of them.
const CACHE_KIB: i64 = 4 * 1024;
/// The write-ahead log's file is cut back to this once a checkpoint has emptied it.
const WAL_KEEP_BYTES: i64 = 64 << 20;

/// Waits for another connection's write lock: short pauses first (most transactions here
/// take microseconds), then 2 ms ones, for about 10 s in all; then the operation fails as busy.
const LOCK_FIRST_PAUSE_US: u64 = 20;
const LOCK_MAX_PAUSE_US: u64 = 2_000;
const LOCK_MAX_ATTEMPTS: i32 = 5_000;

/// The file is ready for [`connect`]: created if missing (owner-only), registered as open in
/// this process until the guard is dropped, and recognised as a store file or an empty one.
/// Returns the guard and the file's canonical path, which every connection opens.
///
/// The registry is checked before this process opens the file at all: closing any descriptor
/// of a file drops every POSIX lock the process holds on it, SQLite's included, so a file
/// already open in a store of this process must not be opened and closed again here.
pub(super) fn prepare(path: &Path) -> Result<(OpenInProcess, PathBuf), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => create(path)?,
        Err(error) => return Err(fail_io(path, "cannot be opened")(error)),
    }
    let canonical = std::fs::canonicalize(path).map_err(fail_io(path, "cannot be resolved"))?;
    let registered = OpenInProcess::register(path, &canonical)?;
    let file = File::open(&canonical).map_err(fail_io(path, "cannot be opened"))?;
    recognise(path, &file)?;
    Ok((registered, canonical))
}

/// Creates an empty file at `path`, readable and writable by its owner only.
fn create(path: &Path) -> Result<(), Error> {
    match owner_only().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        // Another process made it a moment ago: it is there to open.
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => Err(fail_io(
            path,
            "cannot be created: its folder does not exist (create the folder first)",
        )(error)),
        Err(error) => Err(fail_io(path, "cannot be created")(error)),
    }
}

/// What the file's first bytes say it is; anything but an empty file or a SQLite database is
/// refused here, before SQLite opens it, so it is left exactly as it is.
fn recognise(path: &Path, mut file: &File) -> Result<(), Error> {
    let mut start = [0u8; 256];
    let mut read = 0;
    while read < start.len() {
        match file.read(&mut start[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(fail_io(path, "cannot be read")(error)),
        }
    }
    let start = &start[..read];
    if start.is_empty() || start.starts_with(b"SQLite format 3\0") {
        return Ok(());
    }
    if start.starts_with(b"redb") {
        return Err(refused(
            path,
            "is the redb file of an earlier dynamorator version, which this version does not \
             read (nor change); carry its items over with that version's command-line tool \
             (`dynamorator --embedded-file OLD export > items.jsonl`, then this version's \
             `dynamorator --embedded-file NEW import items.jsonl`), or delete it (the cache \
             fills again)",
        ));
    }
    let text = start.trim_ascii_start();
    if text.starts_with(b"{\"key\"") {
        return Err(refused(
            path,
            "is a JSON-lines export of the dynamorator command-line tool, not a store file; \
             keep it, and load it into a store with the tool's `import`",
        ));
    }
    if text.starts_with(b"{") {
        return Err(refused(
            path,
            "is the JSON-lines journal of an earlier dynamorator version, which this version \
             does not read; delete it (the cache fills again) or choose another path",
        ));
    }
    Err(refused(
        path,
        "is not a dynamorator embedded store file, or is damaged; choose another path or move \
         it away",
    ))
}

/// A new connection to the prepared file (its canonical path `file`; `path` as the store was
/// given it, for messages), set up as every connection of a store is; one that may `wait`
/// waits for other connections' locks (about 10 s at most), one that may not fails at once as
/// busy.
pub(super) fn connect(file: &Path, path: &Path, wait: Wait) -> Result<Connection, Error> {
    // No mutex in SQLite: each connection is used by one thread at a time (db.rs).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection =
        Connection::open_with_flags(file, flags).map_err(fail(path, "cannot be opened"))?;
    // rusqlite's own default is to wait 5 s: set either way.
    match wait {
        Wait::Yes => connection.busy_handler(Some(wait_for_lock)),
        Wait::No => connection.busy_timeout(Duration::ZERO),
    }
    .map_err(fail(path, "cannot be opened"))?;
    // NORMAL in WAL mode: a commit is in the operating system's hands when it returns, so it
    // survives the process being killed at any moment; only a power loss can take the last
    // commits back (never leaving the file inconsistent). Enough for a cache, and no fsync
    // per write.
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .and_then(|()| connection.pragma_update(None, "cache_size", -CACHE_KIB))
        .and_then(|()| connection.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES))
        .map_err(fail(path, "cannot be opened"))?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// Makes the file a store on its first open (WAL mode, the tables, the ids), or checks that it
/// is one; another program's database is refused and left as it is.
pub(super) fn initialise(connection: &mut Connection, path: &Path) -> Result<(), Error> {
    // The ids and the tables read in one snapshot: another process may be making the store
    // at this moment, and does it in one transaction.
    let (application, version, tables) = {
        let snapshot = connection
            .unchecked_transaction()
            .map_err(fail(path, "cannot be read"))?;
        let (application, version) = ids(&snapshot).map_err(fail(path, "cannot be read"))?;
        let tables = has_tables(&snapshot).map_err(fail(path, "cannot be read"))?;
        snapshot.commit().map_err(fail(path, "cannot be read"))?;
        (application, version, tables)
    };
    match (application, version) {
        (APPLICATION_ID, SCHEMA_VERSION) | (0, _) => {}
        (APPLICATION_ID, _) => {
            return Err(refused(
                path,
                "was written by a later dynamorator version, whose format this version does \
                 not know; upgrade, or choose another path",
            ));
        }
        _ => return Err(not_ours(path)),
    }
    if application == 0 && tables {
        return Err(not_ours(path));
    }
    // WAL: readers never wait for the writer, and processes share the file. Persistent in the
    // file, set again in case something else changed it; set outside any transaction.
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(fail(path, "cannot be written"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(refused(
            path,
            "cannot be shared: its file system does not allow SQLite's WAL mode",
        ));
    }
    if application == APPLICATION_ID {
        return add_feed(connection, path);
    }
    // Another process may be making the tables at this moment: look again under the lock.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail(path, "cannot be written"))?;
    let (application, _) = ids(&transaction).map_err(fail(path, "cannot be read"))?;
    if application != APPLICATION_ID {
        transaction
            .execute_batch(SCHEMA)
            .and_then(|()| transaction.execute_batch(FEED_SCHEMA))
            .and_then(|()| transaction.pragma_update(None, "application_id", APPLICATION_ID))
            .and_then(|()| transaction.pragma_update(None, "user_version", SCHEMA_VERSION))
            .map_err(fail(path, "cannot be written"))?;
    }
    transaction
        .commit()
        .map_err(fail(path, "cannot be written"))
}

/// Adds the feed's table to a store file made before it existed (under the write lock, once:
/// a file that has it is only read).
fn add_feed(connection: &mut Connection, path: &Path) -> Result<(), Error> {
    let has_feed = |connection: &Connection| {
        connection.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'feed'",
            [],
            |row| row.get::<_, bool>(0),
        )
    };
    if has_feed(connection).map_err(fail(path, "cannot be read"))? {
        return Ok(());
    }
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail(path, "cannot be written"))?;
    transaction
        .execute_batch(FEED_SCHEMA)
        .map_err(fail(path, "cannot be written"))?;
    transaction
        .commit()
        .map_err(fail(path, "cannot be written"))
}

fn not_ours(path: &Path) -> Error {
    refused(
        path,
        "is a SQLite database of another program, not a dynamorator store; choose another path",
    )
}

fn ids(connection: &Connection) -> rusqlite::Result<(i32, i32)> {
    let application = connection.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok((application, version))
}

fn has_tables(connection: &Connection) -> rusqlite::Result<bool> {
    connection.query_row("SELECT count(*) > 0 FROM sqlite_master", [], |row| {
        row.get(0)
    })
}

/// SQLite's busy handler: `true` to try again after a pause, `false` to give up (busy).
fn wait_for_lock(attempts: i32) -> bool {
    if attempts >= LOCK_MAX_ATTEMPTS {
        return false;
    }
    let doublings = attempts.clamp(0, 10) as u32;
    let pause = (LOCK_FIRST_PAUSE_US << doublings).min(LOCK_MAX_PAUSE_US);
    std::thread::sleep(Duration::from_micros(pause));
    true
}

/// Files the library creates hold users' data: readable and writable by their owner only.
/// SQLite gives the files it makes beside it (`-wal`, `-shm`) the database file's mode.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// What tells one file from another: its device and inode where there are such (so hard links,
/// symlinks and `dir/../file` are one file), else its canonical path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

#[cfg(unix)]
fn file_id(canonical: &Path) -> std::io::Result<FileId> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(canonical)?;
    Ok(FileId((metadata.dev(), metadata.ino())))
}

#[cfg(not(unix))]
fn file_id(canonical: &Path) -> std::io::Result<FileId> {
    Ok(FileId(canonical.to_owned()))
}

/// The store files open in this process, with the process that opened them: an entry of
/// another process id was inherited across a `fork` and holds nothing here.
static OPEN_FILES: Mutex<BTreeMap<FileId, u32>> = Mutex::new(BTreeMap::new());

/// A file registered in [`OPEN_FILES`] until dropped.
#[derive(Debug)]
pub(super) struct OpenInProcess(FileId);

impl OpenInProcess {
    fn register(path: &Path, canonical: &Path) -> Result<Self, Error> {
        let id = file_id(canonical).map_err(fail_io(path, "cannot be opened"))?;
        let mut open = OPEN_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        let process = std::process::id();
        if open.get(&id) == Some(&process) {
            return Err(refused(
                path,
                "is already open in another store of this process; share that store (clones \
                 are cheap)",
            ));
        }
        open.insert(id.clone(), process);
        Ok(OpenInProcess(id))
    }
}

impl Drop for OpenInProcess {
    fn drop(&mut self) {
        let mut open = OPEN_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        if open.get(&self.0) == Some(&std::process::id()) {
            open.remove(&self.0);
        }
    }
}
