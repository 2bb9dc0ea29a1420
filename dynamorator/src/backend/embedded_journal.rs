//! The embedded backend's file: an append-only journal of writes, one JSON line each, replayed
//! and compacted when the store opens, so cached values survive restarts.
//!
//! Lines use the table format's attribute names (`cache_id`, `data`, `ttl`, `created_at`,
//! `compressed`); a delete is `{"cache_id": …, "deleted": true}`. The file is locked while a
//! store has it open: one process per file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::WriteOp;
use crate::Error;
use crate::item::StoredItem;
use crate::ttl::{is_expired, now_epoch_secs};

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
                compressed: item.compressed,
                deleted: false,
            },
            WriteOp::Delete(key) => Line {
                cache_id: key.clone(),
                data: None,
                ttl: None,
                created_at: None,
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
        }))
    }
}

/// An open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

/// What opening a journal found.
pub(crate) struct Replayed {
    pub(crate) journal: Journal,
    pub(crate) items: BTreeMap<String, StoredItem>,
    /// Lines that could not be read (a torn last write, say); they are dropped.
    pub(crate) skipped: usize,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, replays it, drops expired items and rewrites
    /// it compacted.
    pub(crate) fn open(path: &Path) -> Result<Replayed, Error> {
        let fail = |message: String| Error::Embedded {
            path: path.to_owned(),
            message,
        };
        let mut items = BTreeMap::new();
        let mut skipped = 0;
        match File::open(path) {
            Ok(file) => {
                // Held until the compacted file replaces this one: another store has it open
                // if this fails.
                file.try_lock()
                    .map_err(|e| fail(format!("in use by another process ({e})")))?;
                let file = &file;
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(|e| fail(format!("cannot read: {e}")))?;
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
            Err(e) => return Err(fail(format!("cannot open: {e}"))),
        }
        let now = now_epoch_secs();
        items.retain(|_, item: &mut StoredItem| !is_expired(item.expires_at, now));
        let journal = Journal::rewrite(path, &items)?;
        Ok(Replayed {
            journal,
            items,
            skipped,
        })
    }

    /// Writes the live items to a new file that replaces the journal atomically, and opens it
    /// for appending.
    fn rewrite(path: &Path, items: &BTreeMap<String, StoredItem>) -> Result<Journal, Error> {
        let fail = |message: String| Error::Embedded {
            path: path.to_owned(),
            message,
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".compacting");
        let temporary = PathBuf::from(temporary);
        let file = File::create(&temporary).map_err(|e| fail(format!("cannot create: {e}")))?;
        let mut writer = BufWriter::new(file);
        for item in items.values() {
            write_line(&mut writer, &Line::of(&WriteOp::Put(item.clone())))
                .map_err(|e| fail(format!("cannot write: {e}")))?;
        }
        writer
            .into_inner()
            .map_err(|e| fail(format!("cannot write: {e}")))?
            .sync_all()
            .map_err(|e| fail(format!("cannot sync: {e}")))?;
        std::fs::rename(&temporary, path).map_err(|e| fail(format!("cannot replace: {e}")))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| fail(format!("cannot open for appending: {e}")))?;
        file.try_lock()
            .map_err(|e| fail(format!("in use by another process ({e})")))?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            lines: items.len(),
        })
    }

    /// Appends writes, one line each, in one system call.
    pub(crate) fn append(&mut self, writes: &[WriteOp]) -> Result<(), Error> {
        let mut buffer = Vec::with_capacity(writes.len() * 128);
        for write in writes {
            // Writing JSON into a Vec cannot fail.
            let _ = write_line(&mut buffer, &Line::of(write));
        }
        self.file.write_all(&buffer).map_err(|e| Error::Embedded {
            path: self.path.clone(),
            message: format!("cannot append: {e}"),
        })?;
        self.lines += writes.len();
        Ok(())
    }

    /// Rewrites the journal when it has grown far past the live items.
    pub(crate) fn compact_if_large(
        &mut self,
        items: &BTreeMap<String, StoredItem>,
    ) -> Result<(), Error> {
        if self.lines > COMPACT_SLACK + 2 * items.len() {
            *self = Journal::rewrite(&self.path, items)?;
        }
        Ok(())
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
