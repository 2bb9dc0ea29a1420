//! The writer: one thread of the store that applies its writes, committing in one transaction
//! the writes that queued up while the previous commit was made durable (group commit). Each
//! commit waits for the disk (`fsync`); concurrent writers share that wait instead of queueing
//! for one each. A caller waits for its commit on one of tokio's blocking threads, never on an
//! async worker; that also tells tokio work is under way, so a paused test clock does not jump
//! past it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::blocking;
use super::db::Db;
use crate::Error;
use crate::backend::WriteOp;

/// Writes in one transaction at most, so one commit stays short.
const MAX_GROUP_WRITES: usize = 5_000;

/// A caller's writes and where their outcome goes.
struct Request {
    writes: Vec<WriteOp>,
    done: mpsc::SyncSender<Result<(), Error>>,
}

/// The writer thread; stopped and joined when dropped, so the file is closed once the store is.
#[derive(Debug)]
pub(super) struct Writer {
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    path: std::path::PathBuf,
}

impl Writer {
    pub(super) fn start(db: Arc<Db>) -> Result<Writer, Error> {
        let (queue, requests) = mpsc::channel();
        let path = db.path().to_owned();
        let thread = std::thread::Builder::new()
            .name("dynamorator-writer".to_owned())
            .spawn(move || write_until_stopped(&db, &requests))
            .map_err(|error| Error::Embedded {
                path: path.clone(),
                reason: "cannot start its writer thread",
                source: Some(Arc::new(error)),
            })?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
            path,
        })
    }

    /// Applies `writes` in one transaction (maybe with other callers' writes); `Ok` once it is
    /// durable.
    pub(super) async fn write(&self, writes: Vec<WriteOp>) -> Result<(), Error> {
        let queue = self.queue.clone();
        let path = self.path.clone();
        let stopped = move || Error::Embedded {
            path,
            reason: "cannot be written: its writer thread has stopped",
            source: None,
        };
        blocking(self.path.clone(), move || {
            let (done, outcome) = mpsc::sync_channel(1);
            let request = Request { writes, done };
            if queue.is_none_or(|queue| queue.send(request).is_err()) {
                return Err(stopped());
            }
            outcome.recv().unwrap_or_else(|_| Err(stopped()))
        })
        .await
    }
}

fn write_until_stopped(db: &Db, requests: &mpsc::Receiver<Request>) {
    // Ends when the store drops its sender.
    while let Ok(first) = requests.recv() {
        let mut count = first.writes.len();
        let mut group = vec![first];
        while count < MAX_GROUP_WRITES {
            let Ok(next) = requests.try_recv() else { break };
            count += next.writes.len();
            group.push(next);
        }
        let writes = group.iter().flat_map(|request| &request.writes);
        // A panic in the database (a damaged file) fails these writes, not the thread.
        let outcome = catch_unwind(AssertUnwindSafe(|| db.write(writes))).unwrap_or_else(|_| {
            Err(Error::Embedded {
                path: db.path().to_owned(),
                reason: "could not be written: its database call panicked",
                source: None,
            })
        });
        for request in group {
            // A caller that stopped waiting has nothing to be told.
            let _ = request.done.send(outcome.clone());
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            // Waits out the commit under way, if any.
            let _ = thread.join();
        }
    }
}
