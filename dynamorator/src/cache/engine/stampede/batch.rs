//! Key claims for batch read-through; the protocol is described in the parent module.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// What a holder tells a waiter when it releases a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The value is stored: read it back.
    Stored,
    /// The load did not store it: the waiter holds the key now.
    HandedOver,
}

/// A call waiting for a key, by its ticket.
struct Waiter {
    ticket: u64,
    outcome: oneshot::Sender<Outcome>,
}

/// Who holds a key, and who waits for it (oldest first).
struct Held {
    holder: u64,
    waiters: Vec<Waiter>,
}

/// The keys batch loads hold, per cache.
#[derive(Default)]
pub(crate) struct KeyClaims {
    keys: Mutex<HashMap<String, Held>>,
    next_ticket: AtomicU64,
    /// How many releases there have been: a call that read before a release and claims after
    /// it must read again, or it would load what that release just stored.
    releases: AtomicU64,
}

impl KeyClaims {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A mark to pass to [`Claims::released_since`], taken before reading the store.
    pub(crate) fn mark(&self) -> u64 {
        self.releases.load(Ordering::Acquire)
    }

    /// Claims every key of `keys` that no call holds, and queues for the others, in one step.
    pub(crate) fn claim(self: &Arc<Self>, keys: Vec<String>) -> Claims {
        let mut held_keys = self.lock();
        // Tickets are taken under the lock, so ticket order is claim order.
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut held = Vec::new();
        let mut waiting = Vec::new();
        for key in keys {
            match held_keys.get_mut(&key) {
                Some(other) => {
                    let (outcome, receiver) = oneshot::channel();
                    other.waiters.push(Waiter { ticket, outcome });
                    waiting.push((key, receiver));
                }
                None => {
                    held_keys.insert(
                        key.clone(),
                        Held {
                            holder: ticket,
                            waiters: Vec::new(),
                        },
                    );
                    held.push(key);
                }
            }
        }
        Claims {
            claims: self.clone(),
            ticket,
            held,
            waiting,
        }
    }

    /// Releases `key` held by `ticket`: to its waiters as stored, or to the oldest live waiter.
    fn release(&self, held_keys: &mut HashMap<String, Held>, key: &str, ticket: u64, stored: bool) {
        let Some(entry) = held_keys.get_mut(key) else {
            return;
        };
        if entry.holder != ticket {
            return;
        }
        if stored {
            if let Some(entry) = held_keys.remove(key) {
                for waiter in entry.waiters {
                    // A waiter that went away no longer needs to know.
                    let _ = waiter.outcome.send(Outcome::Stored);
                }
            }
        } else {
            loop {
                if entry.waiters.is_empty() {
                    held_keys.remove(key);
                    break;
                }
                let next = entry.waiters.remove(0);
                if next.outcome.send(Outcome::HandedOver).is_ok() {
                    entry.holder = next.ticket;
                    break;
                }
            }
        }
        self.releases.fetch_add(1, Ordering::AcqRel);
    }

    /// How many keys batch calls hold (for tests and the soak benchmark's sizes).
    #[cfg(any(test, feature = "__bench-hooks"))]
    pub(crate) fn held(&self) -> usize {
        self.lock().len()
    }
}

/// One call's claims: the keys it holds, and the keys it waits for. Owned, so a load can
/// carry them into the background.
pub(crate) struct Claims {
    claims: Arc<KeyClaims>,
    ticket: u64,
    held: Vec<String>,
    waiting: Vec<(String, oneshot::Receiver<Outcome>)>,
}

impl Claims {
    /// The keys this call holds: its to load.
    pub(crate) fn held(&self) -> &[String] {
        &self.held
    }

    /// Whether another call has released keys since `mark`.
    pub(crate) fn released_since(&self, mark: u64) -> bool {
        self.claims.mark() != mark
    }

    /// Waits until every key this call waits for is released. Returns the keys that were
    /// stored (read them back); keys handed over join [`held`](Claims::held).
    pub(crate) async fn wait(&mut self) -> Vec<String> {
        let mut stored = Vec::new();
        // Taken one by one, so a cancelled wait leaves the rest for `drop` to settle.
        while let Some((key, receiver)) = self.waiting.last_mut() {
            let outcome = receiver.await;
            let key = std::mem::take(key);
            self.waiting.pop();
            match outcome {
                Ok(Outcome::HandedOver) => self.held.push(key),
                // A holder always says which; a closed channel is treated as stored, so the
                // key is read back and, if absent, claimed again.
                Ok(Outcome::Stored) | Err(_) => stored.push(key),
            }
        }
        stored
    }

    /// Claims keys again after a wait (their read back found nothing): the free ones join
    /// [`held`](Claims::held); the ones another call has taken since are returned.
    pub(crate) fn claim_again(&mut self, keys: Vec<String>) -> Vec<String> {
        let mut held_keys = self.claims.lock();
        let mut taken = Vec::new();
        for key in keys {
            if held_keys.contains_key(&key) {
                taken.push(key);
            } else {
                held_keys.insert(
                    key.clone(),
                    Held {
                        holder: self.ticket,
                        waiters: Vec::new(),
                    },
                );
                self.held.push(key);
            }
        }
        taken
    }

    /// Drops held keys that turned out not to need loading (another call stored them): their
    /// waiters read them back.
    pub(crate) fn release_found(&mut self, found: &HashSet<String>) {
        let mut held_keys = self.claims.lock();
        self.held.retain(|key| {
            if found.contains(key) {
                self.claims.release(&mut held_keys, key, self.ticket, true);
                false
            } else {
                true
            }
        });
    }

    /// Releases every held key: the ones in `stored` to their waiters as stored, the others to
    /// the oldest waiter.
    pub(crate) fn release(mut self, stored: &HashSet<String>) {
        let held = std::mem::take(&mut self.held);
        let mut held_keys = self.claims.lock();
        for key in held {
            let was_stored = stored.contains(&key);
            self.claims
                .release(&mut held_keys, &key, self.ticket, was_stored);
        }
    }
}

impl Drop for Claims {
    /// A call that ends early (a loader error, cancellation) hands on everything it holds,
    /// including keys handed to it that it has not yet taken from the channel.
    fn drop(&mut self) {
        let mut held_keys = self.claims.lock();
        for (key, mut receiver) in self.waiting.drain(..) {
            // Under the lock no holder can send now: either the hand-over is already here, or a
            // later send fails because the receiver is gone, and the key goes to the next waiter.
            if let Ok(Outcome::HandedOver) = receiver.try_recv() {
                self.held.push(key);
            }
        }
        for key in self.held.drain(..) {
            self.claims
                .release(&mut held_keys, &key, self.ticket, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|k| (*k).to_owned()).collect()
    }

    #[tokio::test]
    async fn free_keys_are_claimed_and_held_ones_waited_for() {
        let claims = Arc::new(KeyClaims::default());
        let first = claims.claim(keys(&["a", "b"]));
        let mut second = claims.claim(keys(&["b", "c"]));
        assert_eq!(first.held(), ["a", "b"]);
        assert_eq!(second.held(), ["c"]);
        first.release(&keys(&["a", "b"]).into_iter().collect());
        assert_eq!(second.wait().await, ["b"]);
        assert_eq!(second.held(), ["c"]);
        drop(second);
        assert_eq!(claims.held(), 0);
    }

    #[tokio::test]
    async fn a_failed_load_hands_the_key_to_the_oldest_waiter() {
        let claims = Arc::new(KeyClaims::default());
        let leader = claims.claim(keys(&["k"]));
        let mut older = claims.claim(keys(&["k"]));
        let mut younger = claims.claim(keys(&["k"]));
        drop(leader); // the load failed
        assert!(older.wait().await.is_empty());
        assert_eq!(older.held(), ["k"], "the oldest waiter holds it now");
        // A newcomer waits for the new holder instead of taking the key.
        let newcomer = claims.claim(keys(&["k"]));
        assert!(newcomer.held().is_empty());
        older.release(&keys(&["k"]).into_iter().collect());
        assert_eq!(younger.wait().await, ["k"]);
        assert!(younger.held().is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_waiter_is_skipped_at_hand_over() {
        let claims = Arc::new(KeyClaims::default());
        let leader = claims.claim(keys(&["k"]));
        let gone = claims.claim(keys(&["k"]));
        let mut next = claims.claim(keys(&["k"]));
        drop(gone);
        drop(leader);
        assert!(next.wait().await.is_empty());
        assert_eq!(next.held(), ["k"]);
        drop(next);
        assert_eq!(claims.held(), 0);
    }

    #[tokio::test]
    async fn a_waiter_dropped_after_its_hand_over_passes_the_key_on() {
        let claims = Arc::new(KeyClaims::default());
        let leader = claims.claim(keys(&["k"]));
        let handed = claims.claim(keys(&["k"]));
        let mut last = claims.claim(keys(&["k"]));
        drop(leader); // `handed` now holds "k" but never looked
        drop(handed);
        assert!(last.wait().await.is_empty());
        assert_eq!(last.held(), ["k"]);
    }

    #[test]
    fn releases_move_the_mark() {
        let claims = Arc::new(KeyClaims::default());
        let mark = claims.mark();
        let first = claims.claim(keys(&["a"]));
        assert!(!first.released_since(mark));
        first.release(&HashSet::new());
        assert_ne!(claims.mark(), mark);
    }
}
