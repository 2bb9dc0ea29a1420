//! The file's errors as the crate's [`Error::Embedded`]: what failed, in words about the file,
//! with SQLite's or the system's error kept as the source.

use std::path::Path;
use std::sync::Arc;

use rusqlite::ErrorCode;

use crate::Error;

/// An embedded-file error about `path`: `reason`, or what SQLite's code says more precisely.
pub(super) fn fail(path: &Path, reason: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |error| Error::Embedded {
        path: path.to_owned(),
        reason: refined(&error).unwrap_or(reason),
        source: Some(Arc::new(std::io::Error::other(error))),
    }
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
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            Some("is busy: another process held its write lock longer than the wait for it (10 s)")
        }
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
