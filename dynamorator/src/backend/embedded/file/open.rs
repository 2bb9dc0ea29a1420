//! Opening the file: one store per file (refused by name in this process, by redb's file lock
//! in another), created readable by its owner only, and a clear error for a file that is not
//! ours, such as an earlier version's JSON-lines journal.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redb::{Database, DatabaseError, TableDefinition};

use crate::Error;

/// The page cache redb keeps in memory. Opening reads no values, so this bounds what a large
/// file costs in memory; hot items stay in it.
const CACHE_BYTES: usize = 64 << 20;

/// An embedded-file error about `path`, caused by `error`.
pub(super) fn fail<'a, E: Into<redb::Error>>(
    path: &'a Path,
    reason: &'static str,
) -> impl FnOnce(E) -> Error + 'a {
    move |error| Error::Embedded {
        path: path.to_owned(),
        reason,
        source: Some(Arc::new(io_error(error.into()))),
    }
}

/// redb's error as the I/O error the `Embedded` variant carries: the operating system's own
/// when there is one, else redb's inside.
fn io_error(error: redb::Error) -> std::io::Error {
    match error {
        redb::Error::Io(error) => error,
        other => std::io::Error::other(other),
    }
}

/// Opens (or creates) the database at `path`, with `tables` created in it, registered as open
/// in this process until the returned guard is dropped.
pub(super) fn open(
    path: &Path,
    tables: &[TableDefinition<'_, &str, &[u8]>],
    index: TableDefinition<'_, (i64, &str), ()>,
) -> Result<(Database, OpenInProcess), Error> {
    // A second store of this process is refused here, by name, before any file lock is tried.
    let registered = OpenInProcess::register(path)?;
    let file = owner_only()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| fail(path, "cannot be opened")(redb::Error::Io(e)))?;
    refuse_a_journal(path, &file)?;
    let backend = redb::backends::FileBackend::new(file).map_err(fail(path, "cannot be opened"))?;
    let warned = AtomicBool::new(false);
    let shown = path.to_owned();
    let database = redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        // A repair reads the whole file: say why the open takes long.
        .set_repair_callback(move |_| {
            if !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    path = %shown.display(),
                    "dynamorator: the embedded store's file was not closed cleanly (a crash?); \
                     checking and repairing it, which reads the whole file"
                );
            }
        })
        .create_with_backend(backend)
        .map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
                fail(path, "is in use by another process")(error)
            }
            DatabaseError::Storage(redb::StorageError::Io(_)) => {
                fail(path, "cannot be opened")(error)
            }
            _ => fail(
                path,
                "is not a dynamorator embedded store file, or is damaged; move it away or \
                 delete it (the cache fills again)",
            )(error),
        })?;
    let write = database
        .begin_write()
        .map_err(fail(path, "cannot be written"))?;
    for table in tables {
        write
            .open_table(*table)
            .map_err(fail(path, "is not a dynamorator embedded store file"))?;
    }
    write
        .open_table(index)
        .map_err(fail(path, "is not a dynamorator embedded store file"))?;
    write.commit().map_err(fail(path, "cannot be written"))?;
    Ok((database, registered))
}

/// An earlier version kept the store in a JSON-lines journal; this version does not read it.
/// Such a file starts with `{`, which no redb file does.
fn refuse_a_journal(path: &Path, mut file: &File) -> Result<(), Error> {
    let mut first = [0u8; 1];
    let read = file
        .read(&mut first)
        .map_err(|e| fail(path, "cannot be read")(redb::Error::Io(e)))?;
    if read == 1 && first[0] == b'{' {
        return Err(Error::Embedded {
            path: path.to_owned(),
            reason: "is the JSON-lines journal of an earlier dynamorator version, which this \
                     version does not read; delete it (the cache fills again) or choose another \
                     path",
            source: None,
        });
    }
    Ok(())
}

/// Files the library creates hold users' data: readable and writable by their owner only.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The store files open in this process, so a second store on one file is refused with a
/// message that says so.
static OPEN_PATHS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A path registered in [`OPEN_PATHS`] until dropped.
#[derive(Debug)]
pub(super) struct OpenInProcess(PathBuf);

impl OpenInProcess {
    fn register(path: &Path) -> Result<Self, Error> {
        let absolute = std::path::absolute(path)
            .map_err(|e| fail(path, "cannot be resolved")(redb::Error::Io(e)))?;
        let mut open = OPEN_PATHS.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(absolute.clone()) {
            return Err(Error::Embedded {
                path: path.to_owned(),
                reason: "is already open in another store of this process; share that store \
                         (clones are cheap)",
                source: None,
            });
        }
        Ok(OpenInProcess(absolute))
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
