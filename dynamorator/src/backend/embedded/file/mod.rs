//! The embedded backend kept in a file: a SQLite database in WAL mode (crash-safe, read from
//! disk as needed, never loaded whole), which any number of processes on the machine open at
//! once. Conditions, leases and fleet-wide clears are evaluated inside the file's write
//! transactions, so they hold between processes as they do on DynamoDB.
//!
//! Reads, writes, leases and conditional writes run on the caller's thread first, with
//! connections that never wait for a lock: they take microseconds (a SQLite reader in WAL mode
//! never waits for a writer, and a commit does not sync), and a hand-off to a blocking thread
//! and back would cost several times that. One that meets a lock (another process writing)
//! runs again on tokio's blocking threads, where it may wait; so do scans, and the checkpoints
//! and sweeps of the store's housekeeping thread, which sync the file. A write is acknowledged
//! once it is committed to the file's write-ahead log: it survives the process being killed
//! (see `open.rs` on sync). Expired items are misses at once (the store decides that); a day
//! after expiry they are removed by the read that meets them or by the sweep, which runs when
//! the store opens and then every minute.

mod db;
mod failure;
mod open;
mod record;
mod sweep;

use std::path::PathBuf;
use std::sync::Arc;

use crate::backend::{Backend, BatchGetPage, BoxFuture, ItemPage, LeaseRequest, ScanPage, WriteOp};
use crate::format::StoredItem;
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};
use crate::{Clock, Error};
use db::Db;
use failure::{Failure, Outcome, Wait};
use sweep::Sweeper;

/// The store's file, open.
#[derive(Debug)]
pub(crate) struct FileBackend {
    db: Arc<Db>,
    /// Holds a handle of `db` too; stopped when the backend is dropped.
    _sweeper: Sweeper,
}

impl FileBackend {
    /// Opens (or creates, owner-only) the file at `path`, and starts its sweep. Expiry is
    /// judged by `clock`.
    pub(crate) async fn open(path: PathBuf, clock: Clock) -> Result<FileBackend, Error> {
        let db = blocking(path.clone(), move || Db::open(path, clock)).await?;
        let db = Arc::new(db);
        let sweeper = Sweeper::start(db.clone())?;
        Ok(FileBackend {
            db,
            _sweeper: sweeper,
        })
    }

    /// What an operation tried on the caller's thread came to: its answer, or, when it met a
    /// lock, `later` (the same operation, allowed to wait) on a blocking thread.
    fn settle<T: Send + 'static>(
        &self,
        now: Outcome<T>,
        later: impl FnOnce() -> Box<dyn FnOnce(&Db) -> Outcome<T> + Send>,
    ) -> BoxFuture<'static, Result<T, Error>> {
        match now {
            Ok(answer) => Box::pin(std::future::ready(Ok(answer))),
            Err(Failure::Error(error)) => Box::pin(std::future::ready(Err(error))),
            Err(Failure::Busy) => self.run(later()),
        }
    }

    /// Runs `op` on the database on a blocking thread, where it may wait for locks.
    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Db) -> Outcome<T> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let db = self.db.clone();
        Box::pin(blocking(db.path().to_owned(), move || {
            op(&db).map_err(|failure| failure.into_error(db.path()))
        }))
    }

    /// Writes, tried on the caller's thread first.
    fn write(&self, writes: Vec<WriteOp>) -> BoxFuture<'static, Result<(), Error>> {
        let now = self.db.write(&writes, Wait::No);
        self.settle(now, || Box::new(move |db| db.write(&writes, Wait::Yes)))
    }
}

/// Runs `op` on tokio's blocking threads (outside a runtime, where no async worker can be held
/// up, on the caller's thread). A panic in it is an error about the file, never the caller's
/// panic; so is a runtime that no longer runs it.
async fn blocking<T: Send + 'static>(
    path: PathBuf,
    op: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return op();
    };
    match runtime.spawn_blocking(op).await {
        Ok(result) => result,
        Err(error) => Err(Error::Embedded {
            path,
            reason: if error.is_panic() {
                "could not be used: its database call panicked"
            } else {
                "could not be used: the async runtime is shutting down"
            },
            source: Some(Arc::new(std::io::Error::other(error))),
        }),
    }
}

impl Backend for FileBackend {
    fn set_expiry<'a>(
        &'a self,
        key: &'a str,
        expires_at: i64,
        require: Require,
        _learn_parts: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, Error>> {
        let now = self.db.set_expiry(key, expires_at, &require, Wait::No);
        self.settle(now, || {
            let key = key.to_owned();
            Box::new(move |db| db.set_expiry(&key, expires_at, &require, Wait::Yes))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        let now = self.db.get(key, Wait::No);
        self.settle(now, || {
            let key = key.to_owned();
            Box::new(move |db| db.get(&key, Wait::Yes))
        })
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        self.write(vec![WriteOp::Put(item)])
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.write(vec![WriteOp::Delete(key.to_owned())])
    }

    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>> {
        let now = self.db.batch_get(keys, Wait::No);
        self.settle(now, || {
            let keys = keys.to_vec();
            Box::new(move |db| db.batch_get(&keys, Wait::Yes))
        })
    }

    fn batch_write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<Vec<WriteOp>, Error>> {
        let written = self.write(writes);
        Box::pin(async move { written.await.map(|()| Vec::new()) })
    }

    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>> {
        let start = start.map(str::to_owned);
        self.run(move |db| db.scan(limit, start.as_deref()))
    }

    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        let start = start.map(str::to_owned);
        self.run(move |db| db.scan_items(limit, start.as_deref()))
    }

    fn put_if(&self, item: StoredItem, require: Require) -> BoxFuture<'_, Result<bool, Error>> {
        let now = self.db.put_if(&item, &require, Wait::No);
        self.settle(now, || {
            Box::new(move |db| db.put_if(&item, &require, Wait::Yes))
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        lease: LeaseRequest<'a>,
        require: Require,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let now = self.db.acquire_lease(&lease, &require, Wait::No);
        self.settle(now, || {
            let (key, owner) = (lease.key.to_owned(), lease.owner.to_owned());
            Box::new(move |db| {
                db.acquire_lease(
                    &LeaseRequest {
                        key: &key,
                        owner: &owner,
                        ..lease
                    },
                    &require,
                    Wait::Yes,
                )
            })
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let now = self.db.release_lease(key, owner, Wait::No);
        self.settle(now, || {
            let (key, owner) = (key.to_owned(), owner.to_owned());
            Box::new(move |db| db.release_lease(&key, &owner, Wait::Yes))
        })
    }

    fn feed_append<'a>(&'a self, append: &'a FeedAppend) -> BoxFuture<'a, Result<Appended, Error>> {
        let now = self.db.feed_append(append, Wait::No);
        self.settle(now, || {
            let append = append.clone();
            Box::new(move |db| db.feed_append(&append, Wait::Yes))
        })
    }

    fn feed_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<FeedItem>, Error>> {
        let now = self.db.feed_read(keys, Wait::No);
        self.settle(now, || {
            let keys = keys.to_vec();
            Box::new(move |db| db.feed_read(&keys, Wait::Yes))
        })
    }
}
