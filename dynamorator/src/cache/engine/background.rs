//! A cache's background work: refreshes and loads that outlive the call that started them.
//! Tasks run on the caller's tokio runtime and are counted, so
//! [`Cache::wait_for_refreshes`](crate::Cache::wait_for_refreshes) can wait for them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The count of a cache's background tasks, and a signal when it falls to zero.
#[derive(Default)]
pub(crate) struct Background {
    tasks: AtomicUsize,
    idle: Notify,
}

/// Counts one task from its start to its end, however it ends (a panic or a runtime shutting
/// down drops it).
struct Running(Arc<Background>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Background {
    /// Runs `task` in the background on the current tokio runtime. Outside one there is
    /// nowhere to run it: it is handed back so the caller can run it in place.
    pub(crate) fn spawn<F>(self: &Arc<Self>, task: F) -> Result<(), F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(task);
        };
        self.tasks.fetch_add(1, Ordering::AcqRel);
        let running = Running(self.clone());
        runtime.spawn(async move {
            let _running = running;
            task.await;
        });
        Ok(())
    }

    /// Runs `task` in the background, or in place when there is no runtime to run it on.
    pub(crate) async fn spawn_or_run<F>(self: &Arc<Self>, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if let Err(task) = self.spawn(task) {
            task.await;
        }
    }

    /// How many background tasks are running or waiting to start: for the soak benchmark's
    /// sizes.
    #[cfg(feature = "__bench-hooks")]
    pub(crate) fn running(&self) -> usize {
        self.tasks.load(Ordering::Acquire)
    }

    /// Returns once no background task is running.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the count is read, so a task ending in between still wakes us.
            notified.as_mut().enable();
            if self.tasks.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}
