//! The embedded backend's file: an append-only journal of writes, one JSON line each, replayed
//! and compacted when the store opens, so cached values survive restarts.
//!
//! Lines use the table format's attribute names (`cache_id`, `data`, `ttl`, `created_at`,
//! `compressed`); a delete is `{"cache_id": …, "deleted": true}`. The file is locked while a
//! store has it open: one process per file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::backend::WriteOp;
use crate::backend::item::StoredItem;
use crate::ttl::is_expired;

/// Compact once the journal holds this many more lines than live items (and twice as many).
const COMPACT_SLACK: usize = 10_000;

#[derive(Serialize, Deserialize)]
struct Line {
    cache_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fresh_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    compressed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl Line {
    fn of(write: &WriteOp) -> Line {
        match write {
            WriteOp::Put(item) => Line {
                cache_id: item.key.clone(),
                data: Some(item.data.clone()),
                ttl: Some(item.expires_at),
                created_at: item.created_at,
                fresh_until: item.fresh_until,
                generation: item.generation,
                version: item.version,
                compressed: item.compressed,
                deleted: false,
            },
            WriteOp::Delete(key) => Line {
                cache_id: key.clone(),
                data: None,
                ttl: None,
                created_at: None,
                fresh_until: None,
                generation: None,
                version: None,
                compressed: false,
                deleted: true,
            },
        }
    }

    fn into_write(self) -> Option<WriteOp> {
        if self.deleted {
            return Some(WriteOp::Delete(self.cache_id));
        }
        Some(WriteOp::Put(StoredItem {
            key: self.cache_id,
            data: self.data?,
            compressed: self.compressed,
            expires_at: self.ttl?,
            created_at: self.created_at,
            fresh_until: self.fresh_until,
            generation: self.generation,
            version: self.version,
        }))
    }
}

/// An open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
    /// Keeps the path registered as open in this process until the journal is dropped.
    _open: OpenInProcess,
}

/// What opening a journal found.
pub(crate) struct Replayed {
    pub(crate) journal: Journal,
    pub(crate) items: BTreeMap<String, StoredItem>,
    /// Lines that could not be read (a torn last write, say); they are dropped.
    pub(crate) skipped: usize,
}

/// An embedded-file error about `path`.
fn fail<'a>(path: &'a Path, reason: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |error| Error::Embedded {
        path: path.to_owned(),
        reason,
        source: Some(Arc::new(error)),
    }
}

impl Journal {
    /// Opens (or creates) the journal at `path`, replays it, drops items expired at `now` and
    /// rewrites it compacted.
    pub(crate) fn open(path: &Path, now: i64) -> Result<Replayed, Error> {
        // A file lock is per process on some systems: a second store of this process on the
        // same file is caught here, with its own message.
        let open = OpenInProcess::register(path)?;
        let mut items = BTreeMap::new();
        let mut skipped = 0;
        match File::open(path) {
            Ok(file) => {
                // Held until the compacted file replaces this one: another process has it
                // open if this fails.
                file.try_lock()
                    .map_err(|e| fail(path, "is in use by another process")(e.into()))?;
                let file = &file;
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(fail(path, "cannot be read"))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Line>(&line)
                        .ok()
                        .and_then(Line::into_write)
                    {
                        Some(write) => apply(&mut items, write),
                        None => skipped += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(path, "cannot be opened")(e)),
        }
        items.retain(|_, item: &mut StoredItem| !is_expired(item.expires_at, now));
        let journal = Journal {
            path: path.to_owned(),
            file: rewrite(path, &items)?,
            lines: items.len(),
            _open: open,
        };
        Ok(Replayed {
            journal,
            items,
            skipped,
        })
    }

    /// Appends writes, one line each, in one system call.
    pub(crate) fn append(&mut self, writes: &[WriteOp]) -> Result<(), Error> {
        let mut buffer = Vec::with_capacity(writes.len() * 128);
        for write in writes {
            // Writing JSON into a Vec cannot fail.
            let _ = write_line(&mut buffer, &Line::of(write));
        }
        self.file
            .write_all(&buffer)
            .map_err(fail(&self.path, "cannot be appended to"))?;
        self.lines += writes.len();
        Ok(())
    }

    /// Rewrites the journal when it has grown far past the live items.
    pub(crate) fn compact_if_large(
        &mut self,
        items: &BTreeMap<String, StoredItem>,
    ) -> Result<(), Error> {
        if self.lines > COMPACT_SLACK + 2 * items.len() {
            self.file = rewrite(&self.path, items)?;
            self.lines = items.len();
        }
        Ok(())
    }
}

/// Writes the live items to a new file that replaces the journal atomically, and opens it
/// for appending.
fn rewrite(path: &Path, items: &BTreeMap<String, StoredItem>) -> Result<File, Error> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".compacting");
    let temporary = PathBuf::from(temporary);
    let file = owner_only()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .map_err(fail(path, "cannot be rewritten"))?;
    let mut writer = BufWriter::new(file);
    for item in items.values() {
        write_line(&mut writer, &Line::of(&WriteOp::Put(item.clone())))
            .map_err(fail(path, "cannot be rewritten"))?;
    }
    writer
        .into_inner()
        .map_err(|e| fail(path, "cannot be rewritten")(e.into_error()))?
        .sync_all()
        .map_err(fail(path, "cannot be synced"))?;
    std::fs::rename(&temporary, path).map_err(fail(path, "cannot be replaced"))?;
    let file = owner_only()
        .append(true)
        .open(path)
        .map_err(fail(path, "cannot be opened for appending"))?;
    file.try_lock()
        .map_err(|e| fail(path, "is in use by another process")(e.into()))?;
    Ok(file)
}

/// Files the library creates hold users' data: readable and writable by their owner only.
fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The journal paths open in this process, so a second store on one file is refused with a
/// message that says so.
static OPEN_PATHS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A path registered in [`OPEN_PATHS`] until dropped.
#[derive(Debug)]
struct OpenInProcess(Option<PathBuf>);

impl OpenInProcess {
    fn register(path: &Path) -> Result<Self, Error> {
        let absolute = std::path::absolute(path).map_err(fail(path, "cannot be resolved"))?;
        let mut open = OPEN_PATHS.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(absolute.clone()) {
            return Err(Error::Embedded {
                path: path.to_owned(),
                reason: "is already open in another store of this process; share that store \
                         (clones are cheap)",
                source: None,
            });
        }
        Ok(OpenInProcess(Some(absolute)))
    }
}

impl Drop for OpenInProcess {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            OPEN_PATHS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&path);
        }
    }
}

fn write_line(writer: &mut impl Write, line: &Line) -> std::io::Result<()> {
    serde_json::to_writer(&mut *writer, line)?;
    writer.write_all(b"\n")
}

/// Applies one write to the items.
pub(crate) fn apply(items: &mut BTreeMap<String, StoredItem>, write: WriteOp) {
    match write {
        WriteOp::Put(item) => {
            items.insert(item.key.clone(), item);
        }
        WriteOp::Delete(key) => {
            items.remove(&key);
        }
    }
}
