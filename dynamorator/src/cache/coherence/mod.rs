//! Coherent L1s across processes ([`CacheConfig::coherent_l1`](crate::CacheConfig::coherent_l1)):
//! every write through a cache appends its keys to a change feed kept in the same table
//! (`layout.rs`), and every process polls the feed before it answers from its L1, at most
//! every poll interval, dropping the keys others wrote. A process that cannot vouch for its L1
//! (a poll failed, it fell further behind than the feed reaches back, an item overflowed)
//! empties it instead. Nothing here fails a caller's operation: the feed is fail-open.

mod layout;
mod poll;
mod publish;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// One cache's feed state, shared by its handles.
pub(crate) struct Coherence {
    /// This cache's id in the entries it writes, so its own writes are not dropped from its L1.
    writer: String,
    /// This cache's write calls so far: each one's entries carry the next count.
    writes: AtomicU64,
    /// Epoch milliseconds of the last poll's start (failed ones too); `i64::MIN` before the
    /// first. Read on every L1 answer, so lock-free.
    attempted_at: AtomicI64,
    /// One poll at a time; what the polls have read.
    reader: tokio::sync::Mutex<Reader>,
    /// Items this process found full, by second and shard: it appends no more to them (their
    /// overflow is recorded, and readers empty their L1 at every poll until the second is
    /// over), which bounds the writes one item takes.
    full: Mutex<HashSet<(i64, u64)>>,
    /// Recent invalidation delays, for the fleet benchmark (`__bench-hooks`).
    #[cfg(feature = "__bench-hooks")]
    delays: Mutex<Vec<u32>>,
}

/// What the polls have read.
#[derive(Default)]
struct Reader {
    /// The start of the last poll that read the feed (epoch milliseconds); `None` before the
    /// first and after a failed one, when the L1 cannot be vouched for.
    synced_since: Option<i64>,
    /// Whether a poll has run (the first one finds an empty L1: nothing to drop or reset).
    started: bool,
    /// Per feed item still in the poll window: how much of it was applied.
    seen: HashMap<String, Seen>,
}

/// How much of one feed item a process has applied.
#[derive(Default)]
struct Seen {
    overflow: u64,
    entries: HashSet<String>,
}

impl Default for Coherence {
    fn default() -> Self {
        Coherence {
            writer: layout::writer_id(),
            writes: AtomicU64::new(0),
            attempted_at: AtomicI64::new(i64::MIN),
            reader: tokio::sync::Mutex::default(),
            full: Mutex::default(),
            #[cfg(feature = "__bench-hooks")]
            delays: Mutex::default(),
        }
    }
}

impl Coherence {
    /// Whether a poll is due at `now` (epoch milliseconds) with polls every `poll_ms`.
    fn due(&self, now: i64, poll_ms: i64) -> bool {
        let attempted = self.attempted_at.load(Ordering::Acquire);
        attempted == i64::MIN || now.saturating_sub(attempted) >= poll_ms
    }

    /// Keeps an invalidation delay for the fleet benchmark (the most recent 100,000).
    #[cfg(feature = "__bench-hooks")]
    fn record_delay(&self, ms: u32) {
        let mut delays = self
            .delays
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if delays.len() < 100_000 {
            delays.push(ms);
        }
    }

    #[cfg(not(feature = "__bench-hooks"))]
    fn record_delay(&self, _: u32) {}

    /// Takes the delays kept so far.
    #[cfg(feature = "__bench-hooks")]
    pub(crate) fn take_delays(&self) -> Vec<u32> {
        std::mem::take(
            &mut *self
                .delays
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}
