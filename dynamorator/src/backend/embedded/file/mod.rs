//! The embedded backend kept in a file: a redb database (ACID, crash-safe, read from disk as
//! needed, never loaded whole). One store per file at a time.
//!
//! Every database call blocks, so none runs on the runtime's workers: reads run on tokio's
//! blocking threads (`spawn_blocking`), writes on the store's writer thread, which commits
//! together the writes that arrive while it waits for the disk. A write is acknowledged once
//! its transaction is durable.
//! Expired items are misses at once (the store decides that); a day after expiry they are
//! removed by the read that meets them or by the background sweep.

mod db;
mod open;
mod record;
mod sweep;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use super::Leases;
use crate::backend::item::StoredItem;
use crate::backend::{
    Backend, BatchGetPage, BoxFuture, Condition, ItemPage, LeaseRequest, ScanPage, WriteOp,
};
use crate::{Clock, Error};
use db::Db;
use sweep::Sweeper;
use writer::Writer;

/// The store's file, open.
#[derive(Debug)]
pub(crate) struct FileBackend {
    db: Arc<Db>,
    writer: Writer,
    /// In memory: one process has the file, and no lease outlives it.
    leases: Arc<Leases>,
    /// Holds a handle of `db` too; stopped when the backend is dropped.
    _sweeper: Sweeper,
}

impl FileBackend {
    /// Opens (or creates, owner-only) the file at `path`, and starts its sweep. Expiry is
    /// judged by `clock`.
    pub(crate) async fn open(path: PathBuf, clock: Clock) -> Result<FileBackend, Error> {
        let db = blocking(path.clone(), move || Db::open(path, clock)).await?;
        let db = Arc::new(db);
        let writer = Writer::start(db.clone())?;
        let sweeper = Sweeper::start(db.clone())?;
        Ok(FileBackend {
            db,
            writer,
            leases: Arc::default(),
            _sweeper: sweeper,
        })
    }

    /// Writes through the writer thread; a write ends its key's lease, as a DynamoDB
    /// `PutItem` replaces the lease attributes. (A lease taken in the moment between the
    /// commit and this can be ended too: at worst one more load, never a wrong value.)
    fn write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<(), Error>> {
        let keys: Vec<String> = writes.iter().map(|w| w.key().to_owned()).collect();
        Box::pin(async move {
            self.writer.write(writes).await?;
            keys.iter().for_each(|key| self.leases.written(key));
            Ok(())
        })
    }

    /// Runs `op` on the database on a blocking thread.
    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Db) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let db = self.db.clone();
        Box::pin(blocking(db.path().to_owned(), move || op(&db)))
    }
}

/// Runs `op` on tokio's blocking threads. A panic in it (redb's, on a damaged file) is an
/// error about the file, never the caller's panic; so is a runtime that no longer runs it.
async fn blocking<T: Send + 'static>(
    path: PathBuf,
    op: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(op).await {
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
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        let key = key.to_owned();
        self.run(move |db| db.get(&key))
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        self.write(vec![WriteOp::Put(item)])
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.write(vec![WriteOp::Delete(key.to_owned())])
    }

    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>> {
        let keys = keys.to_vec();
        self.run(move |db| db.batch_get(&keys))
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

    fn put_if(&self, item: StoredItem, condition: Condition) -> BoxFuture<'_, Result<bool, Error>> {
        let leases = self.leases.clone();
        self.run(move |db| {
            let written = db.put_if(&item, &condition)?;
            if written {
                leases.written(&item.key);
            }
            Ok(written)
        })
    }

    fn acquire_lease<'a>(&'a self, lease: LeaseRequest<'a>) -> BoxFuture<'a, Result<bool, Error>> {
        let key = lease.key.to_owned();
        let stored = self.run(move |db| db.get(&key));
        Box::pin(async move {
            // An unreadable record is no fresh value: the lease may be taken to replace it.
            let stored = stored.await.or_else(|error| match error {
                Error::Corrupt { .. } => Ok(None),
                other => Err(other),
            })?;
            Ok(self.leases.acquire(&lease, stored.as_ref()))
        })
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.leases.release(key, owner);
        Box::pin(async { Ok(()) })
    }
}
