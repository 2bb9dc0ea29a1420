//! The background sweep: a thread of the store that removes long-expired items a bounded batch
//! at a time, so a file does not keep what nobody reads again. Reads remove what they meet; the
//! sweep finds the rest through the expiry index, never by reading every item.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
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

/// The sweep thread; stopped and joined when dropped, so the file is closed once the store is.
#[derive(Debug)]
pub(super) struct Sweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Starts sweeping `db`: a first round at once (what expired while the store was closed),
    /// then one a minute.
    pub(super) fn start(db: Arc<Db>) -> Result<Sweeper, Error> {
        let (stop, stopped) = mpsc::channel();
        let path = db.path().to_owned();
        let thread = std::thread::Builder::new()
            .name("dynamorator-sweep".to_owned())
            .spawn(move || sweep_until_stopped(&db, &stopped))
            .map_err(|error| Error::Embedded {
                path,
                reason: "cannot start its sweep thread",
                source: Some(Arc::new(error)),
            })?;
        Ok(Sweeper {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn sweep_until_stopped(db: &Db, stopped: &mpsc::Receiver<()>) {
    let mut pause = Duration::ZERO;
    // Dropping the sender disconnects the channel: the only message this loop gets.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(pause) {
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
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // Waits out at most one bounded round. A sweep that panicked has nothing to report.
            let _ = thread.join();
        }
    }
}
