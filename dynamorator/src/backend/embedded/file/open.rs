//! Opening the file: created readable by its owner only, recognised before SQLite touches it
//! (an earlier version's redb file or journal, a JSON-lines export, another program's
//! database: each refused by name and left as it is), its tables made once, and one store per
//! file in this process (other processes share it freely).

use std::collections::BTreeSet;
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
    );
    CREATE INDEX items_by_expiry ON items (expires_at);
    CREATE TABLE leases (
        key TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        until_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
";

/// SQLite's page cache per connection, in KiB (a negative `cache_size`): hot pages stay in
/// memory; opening reads none.
const CACHE_KIB: i64 = 16 * 1024;

/// Waits for another connection's write lock: short pauses first (most transactions here
/// take microseconds), then 2 ms ones, for about 10 s in all; then the operation fails as busy.
const LOCK_FIRST_PAUSE_US: u64 = 20;
const LOCK_MAX_PAUSE_US: u64 = 2_000;
const LOCK_MAX_ATTEMPTS: i32 = 5_000;

/// The file is ready for [`connect`]: created if missing (owner-only), recognised as a store
/// file or an empty one, and registered as open in this process until the guard is dropped.
pub(super) fn prepare(path: &Path) -> Result<OpenInProcess, Error> {
    let file = owner_only()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| match error.kind() {
            ErrorKind::NotFound => missing_folder(path, error),
            _ => fail_io(path, "cannot be opened")(error),
        })?;
    recognise(path, &file)?;
    OpenInProcess::register(path)
}

/// A file that cannot be created because its folder does not exist: the error names the folder.
fn missing_folder(path: &Path, error: std::io::Error) -> Error {
    let folder = path.parent().unwrap_or(Path::new("."));
    fail_io(
        path,
        "cannot be created: the folder it would be in does not exist",
    )(std::io::Error::new(
        error.kind(),
        format!("no folder {}", folder.display()),
    ))
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

/// A new connection to the prepared file at `path`, set up as every connection of a store is;
/// one that may `wait` waits for other connections' locks (about 10 s at most), one that may
/// not fails at once as busy.
pub(super) fn connect(path: &Path, wait: Wait) -> Result<Connection, Error> {
    // No mutex in SQLite: each connection is used by one thread at a time (db.rs).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection =
        Connection::open_with_flags(path, flags).map_err(fail(path, "cannot be opened"))?;
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
        .map_err(fail(path, "cannot be opened"))?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// Makes the file a store on its first open (WAL mode, the tables, the ids), or checks that it
/// is one; another program's database is refused and left as it is.
pub(super) fn initialise(connection: &mut Connection, path: &Path) -> Result<(), Error> {
    let not_ours = || {
        refused(
            path,
            "is a SQLite database of another program, not a dynamorator store; choose another \
             path",
        )
    };
    let (application, version) = ids(connection).map_err(fail(path, "cannot be read"))?;
    match (application, version) {
        (APPLICATION_ID, SCHEMA_VERSION) => return Ok(()),
        (APPLICATION_ID, _) => {
            return Err(refused(
                path,
                "was written by a later dynamorator version, whose format this version does \
                 not know; upgrade, or choose another path",
            ));
        }
        (0, _) if has_tables(connection).map_err(fail(path, "cannot be read"))? => {
            return Err(not_ours());
        }
        (0, _) => {}
        _ => return Err(not_ours()),
    }
    // WAL: readers never wait for the writer, and processes share the file. Persistent in the
    // file; set outside any transaction.
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(fail(path, "cannot be written"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(refused(
            path,
            "cannot be shared: its file system does not allow SQLite's WAL mode",
        ));
    }
    // Another process may be making the tables at this moment: look again under the lock.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail(path, "cannot be written"))?;
    let (application, _) = ids(&transaction).map_err(fail(path, "cannot be read"))?;
    if application != APPLICATION_ID {
        transaction
            .execute_batch(SCHEMA)
            .and_then(|()| transaction.pragma_update(None, "application_id", APPLICATION_ID))
            .and_then(|()| transaction.pragma_update(None, "user_version", SCHEMA_VERSION))
            .map_err(fail(path, "cannot be written"))?;
    }
    transaction
        .commit()
        .map_err(fail(path, "cannot be written"))
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

/// The store files open in this process, by canonical path, so a second store on one file is
/// refused with a message that says so (share the first: clones are cheap).
static OPEN_PATHS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A path registered in [`OPEN_PATHS`] until dropped.
#[derive(Debug)]
pub(super) struct OpenInProcess(PathBuf);

impl OpenInProcess {
    fn register(path: &Path) -> Result<Self, Error> {
        // The file exists by now: a symlink or `dir/../file` resolves to the one path.
        let canonical = std::fs::canonicalize(path).map_err(fail_io(path, "cannot be resolved"))?;
        let mut open = OPEN_PATHS.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(canonical.clone()) {
            return Err(refused(
                path,
                "is already open in another store of this process; share that store (clones \
                 are cheap)",
            ));
        }
        Ok(OpenInProcess(canonical))
    }
}

impl Drop for OpenInProcess {
    fn drop(&mut self) {
        OPEN_PATHS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}
