//! The file's errors as the crate's [`Error::Embedded`]: what failed, in words about the file,
//! with SQLite's or the system's error kept as the source. And the one failure that is not an
//! error: a lock another connection holds, met by an operation that may not wait for it.

use std::path::Path;
use std::sync::Arc;

use rusqlite::ErrorCode;

use crate::Error;

/// Whether an operation may wait for a lock another connection holds. Operations first run
/// on the caller's thread without waiting (most take microseconds, and a SQLite reader in WAL
/// mode never waits for a writer); only one that finds a lock taken goes to a blocking thread
/// to wait for it, so no async worker ever sleeps on a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    No,
    Yes,
}

/// Why an operation did not complete.
#[derive(Debug)]
pub(super) enum Failure {
    /// A lock was taken and the operation could not wait (`Wait::No`); nothing was changed.
    Busy,
    Error(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Error(error)
    }
}

/// What an operation on the file came to.
pub(super) type Outcome<T> = Result<T, Failure>;

impl Failure {
    /// As the crate's error: a busy file that could not wait is one that waited too long.
    pub(super) fn into_error(self, path: &Path) -> Error {
        match self {
            Failure::Error(error) => error,
            Failure::Busy => refused(path, BUSY),
        }
    }
}

const BUSY: &str =
    "is busy: another process held its write lock longer than the wait for it (10 s)";

/// A SQLite error on `path` while doing what `reason` says: [`Failure::Busy`] for a lock
/// met without waiting, else an error, in more precise words when SQLite's code has them.
pub(super) fn fail(
    path: &Path,
    reason: &'static str,
    wait: Wait,
) -> impl FnOnce(rusqlite::Error) -> Failure {
    move |error| match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) if wait == Wait::No => {
            Failure::Busy
        }
        _ => Failure::Error(Error::Embedded {
            path: path.to_owned(),
            reason: refined(&error).unwrap_or(reason),
            source: Some(Arc::new(std::io::Error::other(error))),
        }),
    }
}

/// A SQLite error on `path` while opening it, as the crate's error.
pub(super) fn fail_open(
    path: &Path,
    reason: &'static str,
) -> impl FnOnce(rusqlite::Error) -> Error {
    move |error| fail(path, reason, Wait::Yes)(error).into_error(path)
}

/// An embedded-file error about `path` caused by the system.
pub(super) fn fail_io(path: &Path, reason: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |error| Error::Embedded {
        path: path.to_owned(),
        reason,
        source: Some(Arc::new(error)),
    }
}

/// An embedded-file error about `path` with no cause beyond `reason`.
pub(super) fn refused(path: &Path, reason: &'static str) -> Error {
    Error::Embedded {
        path: path.to_owned(),
        reason,
        source: None,
    }
}

/// What an error's SQLite code says that the operation's own reason would not.
fn refined(error: &rusqlite::Error) -> Option<&'static str> {
    match error.sqlite_error_code()? {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(BUSY),
        ErrorCode::DatabaseCorrupt => Some("is damaged (SQLite finds it malformed)"),
        ErrorCode::NotADatabase => Some(
            "is not a dynamorator embedded store file, or is damaged; choose another path or \
             move it away",
        ),
        ErrorCode::DiskFull => Some("cannot be written: the disk is full"),
        ErrorCode::ReadOnly => Some("cannot be written: it, or its folder, is read-only"),
        ErrorCode::PermissionDenied => Some("cannot be opened: permission denied"),
        _ => None,
    }
}
