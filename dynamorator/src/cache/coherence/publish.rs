//! The writing side of the feed: after a write or delete reaches the store, its keys are
//! appended to the feed item of their shard and second, one append per shard a call touched.

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::layout::{self, CAP, Entry, LATE_MS};
use crate::Cache;
use crate::format::feed::{Appended, FeedAppend};
use crate::store::distinct;

/// Publishing changes.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Tells the other processes (and caches) of this cache that `keys` (the caller's) changed:
    /// one append per shard, after the store write, so a reader that drops a key reads the new
    /// value. Without [`coherent_l1`](crate::CacheConfig::coherent_l1), nothing. Never fails: a
    /// feed that cannot be written is counted and logged, and other processes' L1s then keep
    /// the key until their TTL.
    pub(crate) async fn publish<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        if self.freshness.feed_poll.is_none() {
            return;
        }
        // A key repeated in one call (`put_many` allows it) is one change.
        let keys = distinct(keys);
        if keys.is_empty() {
            return;
        }
        // The breaker is open: the store is failing, and so would the feed. Other processes'
        // L1s keep these keys until their TTL (or until they fail a poll and empty theirs).
        if !self.engine().circuit.admits_quietly(self.store.now()) {
            self.counters().feed_errors.add(1);
            tracing::debug!(
                cache = %self.counters().name,
                "dynamorator: the circuit breaker is open; the change feed is not written"
            );
            return;
        }
        let clock = self.store.clock();
        let written_at = clock.now_epoch_millis();
        let complete = self.append(&keys, written_at).await;
        // A slow append (retries, a stalled connection) may land in a second that readers
        // have already read for the last time: it is made again in the current one.
        let now = clock.now_epoch_millis();
        if complete && now.saturating_sub(written_at) > LATE_MS {
            self.append(&keys, now).await;
        }
    }

    /// Appends `keys` as written at `at` (epoch milliseconds); whether every append was made
    /// (or found its item full, which readers see too).
    async fn append(&self, keys: &[&str], at: i64) -> bool {
        let coherence = &self.shared.coherence;
        let bucket = layout::bucket_of(at);
        let offset_ms = at - bucket * layout::BUCKET_MS;
        let write = coherence.writes.fetch_add(1, Ordering::Relaxed);
        let mut by_shard: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for key in keys {
            let token = layout::key_token(key);
            let entry = Entry {
                offset_ms,
                writer: &coherence.writer,
                write,
                token: &token,
            }
            .render();
            by_shard
                .entry(layout::shard_of(key))
                .or_default()
                .push(entry);
        }
        let mut appends = Vec::new();
        {
            let mut full = coherence
                .full
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Only the last seconds' items still take appends from this process.
            full.retain(|(second, _)| *second >= bucket - 2);
            for (shard, entries) in by_shard {
                if full.contains(&(bucket, shard)) {
                    continue;
                }
                // What one item can take goes in one append; the rest, in a second one that
                // can only overflow (it tells readers their L1 cannot be vouched for).
                let cap = usize::try_from(CAP).unwrap_or(usize::MAX);
                let (fits, rest) = entries.split_at(entries.len().min(cap));
                for chunk in [fits, rest].into_iter().filter(|chunk| !chunk.is_empty()) {
                    appends.push((
                        shard,
                        FeedAppend {
                            key: self.keys.stored(&layout::item_key(bucket, shard)),
                            entries: chunk.to_vec(),
                            cap: CAP,
                            expires_at: layout::expires_at(bucket),
                        },
                    ));
                }
            }
        }
        let results = join_all(
            appends
                .iter()
                .map(|(_, append)| self.store.feed_append(append)),
        )
        .await;
        let mut complete = true;
        for ((shard, append), result) in appends.iter().zip(results) {
            match result {
                Ok(Appended::Entries) => {
                    self.counters().invalidations_sent.add(append.entries.len());
                }
                Ok(Appended::Overflowed) => {
                    tracing::debug!(
                        item = %append.key,
                        "dynamorator: a change feed item is full; readers empty their L1"
                    );
                    coherence
                        .full
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((bucket, *shard));
                }
                Err(error) => {
                    complete = false;
                    self.counters().feed_errors.add(1);
                    tracing::warn!(
                        item = %append.key,
                        %error,
                        "dynamorator: could not write the change feed; other processes keep \
                         these keys in their L1 until its TTL"
                    );
                }
            }
        }
        complete
    }
}
