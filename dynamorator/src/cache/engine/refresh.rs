//! Which keys are being refreshed, which are paused after a failure, and the window in which
//! stale keys met by separate batch calls gather for one batch refresh.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

use crate::Error;
use crate::cache::Loaded;

/// A batch loader, its output made uniform: `Loaded<T>` by key, or the loader's error.
pub(crate) type BatchLoad<T> = Box<
    dyn FnOnce(Vec<String>) -> BoxFuture<'static, Result<HashMap<String, Loaded<T>>, Error>> + Send,
>;

/// Keys whose value is being loaded in the background (or by a call, for its stale keys), and
/// keys paused after a failed load.
pub(crate) struct Refreshes<T> {
    in_flight: Mutex<HashSet<String>>,
    paused: Mutex<Paused>,
    window: Mutex<Option<Window<T>>>,
    next_window: AtomicU64,
}

impl<T> Default for Refreshes<T> {
    fn default() -> Self {
        Refreshes {
            in_flight: Mutex::default(),
            paused: Mutex::default(),
            window: Mutex::new(None),
            next_window: AtomicU64::new(0),
        }
    }
}

/// Keys paused after a failed load, and when lapsed pauses are next dropped.
#[derive(Default)]
struct Paused {
    /// Key → the epoch second its loads may resume.
    until: HashMap<String, i64>,
    /// The size at which the lapsed pauses are dropped: twice what the last sweep left (at
    /// least [`SWEEP_FROM`]), so the map holds about twice the pauses in force at most, for
    /// an amortised O(1) a pause. Without it a key paused once stayed until the map reached
    /// [`MAX_PAUSED`], however long ago its pause ended.
    sweep_at: usize,
}

/// Stale keys gathered for one batch refresh, with the loader of the call that opened it.
pub(crate) struct Window<T> {
    pub(crate) id: u64,
    pub(crate) keys: Vec<String>,
    pub(crate) load: BatchLoad<T>,
    /// Dropped with the window: its timer, if it is still waiting, ends then.
    _timer: Option<oneshot::Sender<()>>,
}

/// A window's timer: it closes the window at the end of the refresh window, unless the window
/// was taken first (full), which ends the timer at once.
pub(crate) struct Timer {
    pub(crate) id: u64,
    pub(crate) taken: oneshot::Receiver<()>,
}

/// Keys a caller has taken to refresh; they are free again when it is dropped.
pub(crate) struct Taken<T> {
    refreshes: Arc<Refreshes<T>>,
    keys: Vec<String>,
}

impl<T> Taken<T> {
    pub(crate) fn keys(&self) -> &[String] {
        &self.keys
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Frees the keys `keep` refuses.
    pub(crate) fn retain(&mut self, keep: impl Fn(&String) -> bool) {
        let (kept, freed): (Vec<String>, Vec<String>) =
            std::mem::take(&mut self.keys).into_iter().partition(keep);
        self.keys = kept;
        let mut in_flight = lock(&self.refreshes.in_flight);
        for key in freed {
            in_flight.remove(&key);
        }
    }

    /// The keys, left taken: whoever refreshes them frees them with [`Refreshes::adopt`].
    pub(crate) fn into_keys(mut self) -> Vec<String> {
        std::mem::take(&mut self.keys)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl<T> Drop for Taken<T> {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.refreshes.in_flight);
        for key in &self.keys {
            in_flight.remove(key);
        }
    }
}

/// The most keys kept paused; past it, lapsed pauses are dropped, then the oldest half.
const MAX_PAUSED: usize = 100_000;

/// The fewest paused keys at which lapsed pauses are dropped.
const SWEEP_FROM: usize = 64;

fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Refreshes<T> {
    /// Takes the keys that are neither being refreshed nor paused at `now`.
    pub(crate) fn take(self: &Arc<Self>, keys: Vec<String>, now: i64) -> Taken<T> {
        let paused = lock(&self.paused);
        let mut in_flight = lock(&self.in_flight);
        let keys = keys
            .into_iter()
            .filter(|key| paused.until.get(key).is_none_or(|until| *until <= now))
            .filter(|key| in_flight.insert(key.clone()))
            .collect();
        Taken {
            refreshes: self.clone(),
            keys,
        }
    }

    /// Keys taken earlier (and handed on with [`Taken::into_keys`]), freed when this is dropped.
    pub(crate) fn adopt(self: &Arc<Self>, keys: Vec<String>) -> Taken<T> {
        Taken {
            refreshes: self.clone(),
            keys,
        }
    }

    /// Whether a load of `key` is running in the background.
    pub(crate) fn is_in_flight(&self, key: &str) -> bool {
        lock(&self.in_flight).contains(key)
    }

    /// Whether loads of `key` are paused at `now` after a failure.
    pub(crate) fn is_paused(&self, key: &str, now: i64) -> bool {
        lock(&self.paused)
            .until
            .get(key)
            .is_some_and(|until| *until > now)
    }

    /// Pauses loads of these keys until `until`, after a failure answered by a fallback.
    pub(crate) fn pause<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k String>,
        until: i64,
        now: i64,
    ) {
        let mut paused = lock(&self.paused);
        let Paused {
            until: pauses,
            sweep_at,
        } = &mut *paused;
        if pauses.len() >= (*sweep_at).max(SWEEP_FROM) {
            pauses.retain(|_, resume| *resume > now);
            if pauses.len() >= MAX_PAUSED {
                let mut resumes: Vec<i64> = pauses.values().copied().collect();
                let (_, median, _) = resumes.select_nth_unstable(MAX_PAUSED / 2);
                let median = *median;
                pauses.retain(|_, resume| *resume > median);
            }
            *sweep_at = pauses.len().saturating_mul(2).min(MAX_PAUSED);
        }
        for key in keys {
            pauses.insert(key.clone(), until);
        }
    }

    /// Adds keys to the open window, or opens one with `load`. Returns the windows that are
    /// due now (full), and the timer of a newly opened window.
    pub(crate) fn gather(
        &self,
        mut keys: Vec<String>,
        load: BatchLoad<T>,
        max: usize,
    ) -> (Vec<Window<T>>, Option<Timer>) {
        let mut window = lock(&self.window);
        let mut due = Vec::new();
        if let Some(open) = window.as_mut() {
            let room = max.saturating_sub(open.keys.len());
            let joining = keys.len().min(room);
            open.keys.extend(keys.drain(..joining));
            if open.keys.len() >= max {
                due.extend(window.take());
            }
        }
        if keys.is_empty() {
            return (due, None);
        }
        // What did not fit opens a window of its own, with this call's loader; a call's own
        // keys are never split, so a window opened by a call may pass `max`.
        let id = self.next_window.fetch_add(1, Ordering::Relaxed);
        if keys.len() >= max {
            let full = Window {
                id,
                keys,
                load,
                _timer: None,
            };
            due.push(full);
            return (due, None);
        }
        let (timer, taken) = oneshot::channel();
        let opened = Window {
            id,
            keys,
            load,
            _timer: Some(timer),
        };
        if let Some(previous) = window.replace(opened) {
            due.push(previous);
        }
        (due, Some(Timer { id, taken }))
    }

    /// How many keys are refreshing, how many are paused (lapsed pauses included, until they
    /// are dropped) and how many of those are still paused at `now`, and how many wait in the
    /// open batch refresh window: for the soak benchmark's sizes.
    #[cfg(feature = "__bench-hooks")]
    pub(crate) fn sizes(&self, now: i64) -> [usize; 4] {
        let in_flight = lock(&self.in_flight).len();
        let (paused, in_force) = {
            let paused = lock(&self.paused);
            let in_force = paused.until.values().filter(|until| **until > now).count();
            (paused.until.len(), in_force)
        };
        let window = lock(&self.window)
            .as_ref()
            .map_or(0, |open| open.keys.len());
        [in_flight, paused, in_force, window]
    }

    /// Closes window `id` if it is still open (its timer ran out before it filled up).
    pub(crate) fn close(&self, id: u64) -> Option<Window<T>> {
        let mut window = lock(&self.window);
        if window.as_ref().is_some_and(|open| open.id == id) {
            window.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop_load() -> BatchLoad<u8> {
        Box::new(|_| Box::pin(async { Ok(HashMap::new()) }))
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn a_key_is_taken_once_and_freed_when_dropped() {
        let refreshes = Arc::new(Refreshes::<u8>::default());
        let first = refreshes.take(keys(&["a", "b"]), 0);
        assert_eq!(first.keys(), ["a", "b"]);
        let second = refreshes.take(keys(&["b", "c"]), 0);
        assert_eq!(second.keys(), ["c"]);
        assert!(refreshes.is_in_flight("a"));
        drop(first);
        assert!(!refreshes.is_in_flight("a"));
        assert_eq!(refreshes.take(keys(&["a"]), 0).keys(), ["a"]);
    }

    #[test]
    fn paused_keys_are_not_taken_until_the_pause_ends() {
        let refreshes = Arc::new(Refreshes::<u8>::default());
        refreshes.pause(&keys(&["a"]), 100, 0);
        assert!(refreshes.take(keys(&["a"]), 99).is_empty());
        assert!(refreshes.is_paused("a", 99));
        assert!(!refreshes.is_paused("a", 100));
        assert_eq!(refreshes.take(keys(&["a"]), 100).keys(), ["a"]);
    }

    #[test]
    fn lapsed_pauses_are_dropped_once_the_map_has_doubled() {
        let refreshes = Refreshes::<u8>::default();
        let size = || lock(&refreshes.paused).until.len();
        // 1,000 keys paused until second 10, one at a time.
        for key in 0..1_000 {
            refreshes.pause(&keys(&[&format!("old{key}")]), 10, 0);
        }
        assert!(size() >= 1_000);
        // Long after: new pauses sweep the lapsed ones out before the map doubles again.
        for key in 0..200 {
            refreshes.pause(&keys(&[&format!("new{key}")]), 200, 100);
        }
        assert!(
            size() <= 2 * 200,
            "{} keys kept for 200 pauses in force",
            size()
        );
        assert!(refreshes.is_paused("new0", 150) && !refreshes.is_paused("old0", 150));
        // Pauses in force are kept, however many.
        for key in 0..1_000 {
            refreshes.pause(&keys(&[&format!("more{key}")]), 300, 100);
        }
        assert_eq!(size(), 1_200);
    }

    #[test]
    fn windows_fill_to_the_maximum_and_calls_keep_their_keys_together() {
        let refreshes = Refreshes::<u8>::default();
        let (due, opened) = refreshes.gather(keys(&["a"]), noop_load(), 3);
        assert!(due.is_empty());
        let mut first = opened.unwrap();
        let (due, opened) = refreshes.gather(keys(&["b"]), noop_load(), 3);
        assert!(due.is_empty() && opened.is_none(), "joins the open window");
        let (due, opened) = refreshes.gather(keys(&["c", "d"]), noop_load(), 3);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].keys, ["a", "b", "c"]);
        let second = opened.unwrap();
        assert!(refreshes.close(first.id).is_none(), "already due");
        assert!(first.taken.try_recv().is_err(), "its timer still waits");
        drop(due);
        assert_eq!(
            first.taken.try_recv(),
            Err(oneshot::error::TryRecvError::Closed),
            "once the window is gone, its timer ends"
        );
        assert_eq!(refreshes.close(second.id).unwrap().keys, ["d"]);
        let (due, opened) = refreshes.gather(keys(&["1", "2", "3", "4"]), noop_load(), 3);
        assert_eq!(due.len(), 1);
        assert!(opened.is_none(), "a call over the maximum goes at once");
        assert_eq!(due[0].keys.len(), 4);
    }
}
