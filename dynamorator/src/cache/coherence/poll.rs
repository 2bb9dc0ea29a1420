//! The reading side of the feed: before a cache answers from its L1, it polls the feed if the
//! last poll is older than the poll interval, and drops the keys other processes wrote.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Reader;
use super::layout::{self, Entry, HORIZON_SECS, SHARDS};
use crate::Cache;
use crate::format::feed::FeedItem;

/// Why a poll emptied the L1 (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reset {
    /// A poll failed: changes may be missed until the next one succeeds.
    PollFailed,
    /// Polls succeed again after failing: what was held meanwhile cannot be vouched for.
    Resumed,
    /// The last poll is further back than a poll reads (the process was paused or starved).
    Behind,
    /// A feed item overflowed: some of its changes are not named.
    Overflow,
}

/// Polling the feed.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Brings what the L1 may answer up to date before a read: the change feed, then the
    /// generation (each when due). Returns the generation.
    pub(in crate::cache) async fn catch_up(&self) -> u64 {
        if self.feed_due() {
            // Boxed: only a read past the poll interval carries the poll's state.
            Box::pin(self.poll_feed()).await;
        }
        self.generation().await
    }

    /// Whether a poll of the feed is due before the L1 answers: with
    /// [`coherent_l1`](crate::CacheConfig::coherent_l1) and an L1, when the last poll is at
    /// least the poll interval old.
    pub(in crate::cache) fn feed_due(&self) -> bool {
        let Some(poll) = self.freshness.feed_poll else {
            return false;
        };
        if !self.shared.l1.is_on() {
            return false;
        }
        let poll_ms = i64::try_from(poll.as_millis()).unwrap_or(i64::MAX);
        let now = self.store.clock().now_epoch_millis();
        self.shared.coherence.due(now, poll_ms)
    }

    /// Polls the feed if it is due (one caller polls; the others wait for it, so none answers
    /// from an L1 older than the bound).
    pub(in crate::cache) async fn poll_feed(&self) {
        let coherence = &self.shared.coherence;
        let mut reader = coherence.reader.lock().await;
        if !self.feed_due() {
            return;
        }
        let clock = self.store.clock();
        let now = clock.now_epoch_millis();
        coherence.attempted_at.store(now, Ordering::Release);
        let resuming = reader.started && reader.synced_since.is_none();
        let behind = reader
            .synced_since
            .is_some_and(|since| now.saturating_sub(since) > HORIZON_SECS * 1_000);
        // Further back than one poll reads, the window starts now: the reset covers the rest.
        let since = match reader.synced_since {
            Some(since) if !behind => since,
            _ => now,
        };
        let buckets: Vec<i64> = layout::window(since, now).collect();
        let keys: Vec<String> = buckets
            .iter()
            .flat_map(|bucket| (0..SHARDS).map(move |shard| layout::item_key(*bucket, shard)))
            .map(|key| self.keys.stored(&key))
            .collect();
        self.counters().feed_polls.add(1);
        // With the breaker open the store is failing: the poll is not tried, and fails.
        let read = if self.engine().circuit.admits_quietly(self.store.now()) {
            self.store
                .feed_read(&keys)
                .await
                .map_err(|error| error.to_string())
        } else {
            Err("the store's circuit breaker is open".to_owned())
        };
        match read {
            Err(error) => {
                self.counters().feed_errors.add(1);
                tracing::warn!(
                    cache = %self.counters().name,
                    error,
                    "dynamorator: could not read the change feed; the L1 is emptied and falls \
                     back to its TTL until a poll succeeds"
                );
                if reader.synced_since.is_some() {
                    self.reset_l1(&reader, Reset::PollFailed);
                }
                reader.synced_since = None;
            }
            Ok(items) => {
                let reset = if resuming {
                    Some(Reset::Resumed)
                } else if behind {
                    Some(Reset::Behind)
                } else {
                    None
                };
                if let Some(why) = reset {
                    self.reset_l1(&reader, why);
                }
                // After a reset, and on the first poll (an empty L1), the items are only
                // learnt: there is nothing in the L1 they could make stale.
                let apply = reader.started && reset.is_none();
                let prefix = self.keys.stored(layout::FEED_KEY);
                self.apply_feed(&mut reader, items, apply, since, &prefix);
                let oldest = buckets.first().copied().unwrap_or(i64::MIN);
                reader.seen.retain(|key, _| {
                    bucket_of_item(key, &prefix).is_some_and(|bucket| bucket >= oldest)
                });
                reader.synced_since = Some(now);
            }
        }
        reader.started = true;
    }

    /// Applies the feed items a poll read: drops from the L1 every key another writer
    /// changed that this process has not applied yet; empties it when an item overflowed
    /// since the last poll, or overflowed before and could still take writes after the last
    /// poll began (`since`): writers append nothing more to a full item, so until its second
    /// is over every poll must assume changes it cannot name.
    fn apply_feed(
        &self,
        reader: &mut Reader,
        items: Vec<FeedItem>,
        apply: bool,
        since: i64,
        prefix: &str,
    ) {
        let coherence = &self.shared.coherence;
        let applied_at = self.store.clock().now_epoch_millis();
        let mut drop_keys: HashSet<String> = HashSet::new();
        let mut digests: HashSet<String> = HashSet::new();
        let mut overflowed = false;
        let mut delays: Vec<i64> = Vec::new();
        for item in items {
            let second = bucket_of_item(&item.key, prefix);
            let seen = reader.seen.entry(item.key).or_default();
            let open = second.is_some_and(|second| layout::still_open(second, since));
            if item.overflow > seen.overflow || (item.overflow > 0 && open) {
                seen.overflow = item.overflow;
                overflowed = true;
            }
            for text in item.entries {
                if seen.entries.contains(&text) {
                    continue;
                }
                match Entry::parse(&text) {
                    // Another version's entry, or a damaged one: a change not named.
                    None => overflowed = true,
                    Some(entry) if entry.writer == coherence.writer => {}
                    Some(entry) => {
                        if let Some(second) = second {
                            let written = second * layout::BUCKET_MS + entry.offset_ms;
                            delays.push(applied_at.saturating_sub(written).max(0));
                        }
                        if entry.token.starts_with('#') {
                            digests.insert(entry.token.to_owned());
                        } else {
                            drop_keys.insert(entry.token.to_owned());
                        }
                    }
                }
                seen.entries.insert(text);
            }
        }
        if !apply {
            return;
        }
        if overflowed {
            self.reset_l1(reader, Reset::Overflow);
            return;
        }
        let received = drop_keys.len() + digests.len();
        if received == 0 {
            return;
        }
        let counters = self.counters();
        counters.invalidations_received.add(received);
        for delay in delays {
            coherence.record_delay(u32::try_from(delay).unwrap_or(u32::MAX));
            counters
                .feed_delay_ms
                .add(usize::try_from(delay).unwrap_or(usize::MAX));
            counters.feed_delay.record_ms(delay);
        }
        self.shared.l1.drop_changed(drop_keys.iter());
        if !digests.is_empty() {
            self.shared.l1.drop_changed_where(|key| {
                layout::goes_by_digest(key) && digests.contains(&layout::digest_token(key))
            });
        }
    }

    /// Empties the L1: it can no longer be vouched for.
    fn reset_l1(&self, reader: &Reader, why: Reset) {
        if !reader.started {
            return;
        }
        self.counters().feed_resets.add(1);
        tracing::info!(
            cache = %self.counters().name,
            reason = ?why,
            "dynamorator: the L1 is emptied: it may hold values other processes changed"
        );
        self.shared.l1.reset();
    }
}

/// The second of a feed item's key (`{prefix}{second}/{shard}`).
fn bucket_of_item(key: &str, prefix: &str) -> Option<i64> {
    let rest = key.strip_prefix(prefix)?;
    rest.split_once('/')?.0.parse().ok()
}
