//! The store's housekeeping thread: it removes long-expired items a bounded batch at a time, so
//! a file does not keep what nobody reads again, and runs the checkpoints the writes ask for
//! (folding the write-ahead log into the file syncs it: no caller waits for that). Reads remove
//! the expired items they meet; the sweep finds the rest through the expiry index, never by
//! reading every item.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use super::db::Db;
use crate::Error;

/// Items removed in one transaction at most, so writers never wait long behind a sweep.
pub(super) const SWEEP_BATCH: usize = 1_000;
/// Between rounds that found less than a full batch.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Between rounds while a backlog drains, leaving the writer to others in between.
const BACKLOG_PAUSE: Duration = Duration::from_millis(50);

/// What the thread is asked to do.
pub(super) enum Task {
    Checkpoint,
    Stop,
}

/// Where a database asks its housekeeping thread for a checkpoint; set once the thread runs.
#[derive(Debug, Default)]
pub(super) struct Tasks(OnceLock<SyncSender<Task>>);

impl Tasks {
    /// Asks for a checkpoint; one already asked for and not yet run covers this one.
    pub(super) fn checkpoint(&self) -> bool {
        match self.0.get() {
            Some(tasks) => match tasks.try_send(Task::Checkpoint) {
                Ok(()) | Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => false,
            },
            None => false,
        }
    }
}

/// The housekeeping thread; stopped and joined when dropped.
#[derive(Debug)]
pub(super) struct Sweeper {
    tasks: SyncSender<Task>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts the thread on `db`: a first sweep at once (what expired while the store was
    /// closed), then one a minute, and checkpoints when `db` asks for them.
    pub(super) fn start(db: Arc<Db>) -> Result<Sweeper, Error> {
        // One task waiting at most: a second checkpoint asked for meanwhile is the same one.
        let (tasks, received) = mpsc::sync_channel(1);
        db.tasks().0.get_or_init(|| tasks.clone());
        let path = db.path().to_owned();
        let thread = std::thread::Builder::new()
            .name("dynamorator-sweep".to_owned())
            .spawn(move || run_until_stopped(&db, &received))
            .map_err(|error| Error::Embedded {
                path,
                reason: "cannot start its housekeeping thread",
                source: Some(Arc::new(error)),
            })?;
        Ok(Sweeper {
            tasks,
            thread: Some(thread),
        })
    }
}

fn run_until_stopped(db: &Db, tasks: &mpsc::Receiver<Task>) {
    let mut pause = Duration::ZERO;
    loop {
        match tasks.recv_timeout(pause) {
            Ok(Task::Checkpoint) => {
                db.checkpoint();
                continue;
            }
            Ok(Task::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        pause = match db.sweep(SWEEP_BATCH) {
            Ok(seen) if seen == SWEEP_BATCH => BACKLOG_PAUSE,
            Ok(_) => SWEEP_EVERY,
            Err(failure) => {
                let error = failure.into_error(db.path());
                tracing::warn!(
                    path = %db.path().display(),
                    %error,
                    "dynamorator: the embedded store's sweep of expired items failed"
                );
                SWEEP_EVERY
            }
        };
        // What the sweep wrote is checkpointed like any other write.
        db.checkpoint_if_due();
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        // Blocks only while a checkpoint asked for is waiting, until the thread takes it.
        let _ = self.tasks.send(Task::Stop);
        if let Some(thread) = self.thread.take() {
            // Waits out at most one bounded round. A sweep that panicked has nothing to report.
            let _ = thread.join();
        }
    }
}
