//! The in-process L1: decoded values (`Arc<T>`) in a moka cache in front of a typed cache's
//! reads. A hit is a hash lookup: no network call, no JSON parse.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::Expiry;
use moka::sync::Cache as Moka;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::coalesce::Coalescer;
use crate::error::BatchFailure;
use crate::stats::Counters;
use crate::{Cache, Error, L1Config};

/// An L1 entry: a value with the time it may live, or a remembered miss.
enum Entry<T> {
    Present {
        value: Arc<T>,
        /// The item's stored size, for the byte bound.
        weight: u32,
        /// How long it may stay: the sooner of the L1's TTL and the item's own expiry.
        lifetime: Duration,
    },
    Absent {
        lifetime: Duration,
    },
}

// By hand: cloning an entry clones the `Arc`, whether or not `T` is `Clone`.
impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        match self {
            Entry::Present {
                value,
                weight,
                lifetime,
            } => Entry::Present {
                value: value.clone(),
                weight: *weight,
                lifetime: *lifetime,
            },
            Entry::Absent { lifetime } => Entry::Absent {
                lifetime: *lifetime,
            },
        }
    }
}

impl<T> Entry<T> {
    fn lifetime(&self) -> Duration {
        match self {
            Entry::Present { lifetime, .. } | Entry::Absent { lifetime } => *lifetime,
        }
    }
}

/// Each entry expires after its own lifetime, counted from its last write.
struct PerEntryLifetime;

impl<T> Expiry<String, Entry<T>> for PerEntryLifetime {
    fn expire_after_create(&self, _: &String, entry: &Entry<T>, _: Instant) -> Option<Duration> {
        Some(entry.lifetime())
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry<T>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.lifetime())
    }
}

/// What the L1 knows about a key.
pub(crate) enum Lookup<T> {
    Hit(Arc<T>),
    /// A remembered miss: the store did not have it a moment ago.
    Absent,
    Unknown,
}

/// The L1 of one typed cache, keyed by the caller's keys (one cache, one key space: no
/// prefix to build on the hit path).
pub(crate) struct L1<T> {
    entries: Moka<String, Entry<T>>,
    config: L1Config,
    /// How to get an owned `T` out of a shared one (`T: Clone` was required to build an L1).
    clone: fn(&T) -> T,
    /// Store reads in flight, so concurrent misses of one key make one read.
    reads: Coalescer<Option<Arc<T>>>,
}

impl<T: Send + Sync + 'static> L1<T> {
    pub(crate) fn new(config: L1Config, clone: fn(&T) -> T) -> Self {
        let builder = Moka::builder().expire_after(PerEntryLifetime);
        let entries = match config.max_bytes {
            Some(bytes) => builder
                .max_capacity(bytes)
                .weigher(|_key: &String, entry: &Entry<T>| match entry {
                    Entry::Present { weight, .. } => *weight,
                    // A remembered miss costs about its key; count it as a small item.
                    Entry::Absent { .. } => 64,
                })
                .build(),
            None => builder
                .max_capacity(config.max_entries.unwrap_or(10_000))
                .build(),
        };
        L1 {
            entries,
            config,
            clone,
            reads: Coalescer::default(),
        }
    }

    /// An owned value out of a shared one, cloning only when it is shared.
    pub(crate) fn to_owned(&self, value: Arc<T>) -> T {
        Arc::try_unwrap(value).unwrap_or_else(|shared| (self.clone)(&shared))
    }

    /// Entries and weighted size now.
    pub(crate) fn size(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }

    /// Holds `value` for the key, until the sooner of the L1's TTL and the item's expiry.
    pub(crate) fn insert(&self, key: String, value: Arc<T>, expires_at: i64, size: usize) {
        let lifetime = self.config.ttl.min(until_epoch(expires_at));
        if lifetime.is_zero() {
            self.entries.invalidate(&key);
            return;
        }
        let entry = Entry::Present {
            value,
            weight: u32::try_from(size).unwrap_or(u32::MAX),
            lifetime,
        };
        self.entries.insert(key, entry);
    }

    /// [`insert`](L1::insert) from a borrowed value (write-through).
    pub(crate) fn insert_value(&self, key: String, value: &T, expires_at: i64, size: usize) {
        self.insert(key, Arc::new((self.clone)(value)), expires_at, size);
    }

    /// Remembers that the store does not have `key`, if negative caching is on.
    fn insert_absent(&self, key: String) {
        if let Some(lifetime) = self.config.negative_ttl {
            self.entries.insert(key, Entry::Absent { lifetime });
        }
    }

    pub(crate) fn invalidate(&self, key: &str) {
        self.entries.invalidate(key);
    }

    pub(crate) fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }

    fn peek(&self, key: &str) -> Lookup<T> {
        match self.entries.get(key) {
            Some(Entry::Present { value, .. }) => Lookup::Hit(value),
            Some(Entry::Absent { .. }) => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }
}

impl<T> L1<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Looks `key` up, counting the hit or miss.
    pub(crate) fn lookup(&self, cache: &Cache<T>, key: &str) -> Lookup<T> {
        let found = self.peek(key);
        let counters = cache.counters();
        match found {
            Lookup::Hit(_) | Lookup::Absent => Counters::add(&counters.l1_hits, 1),
            Lookup::Unknown => Counters::add(&counters.l1_misses, 1),
        }
        found
    }

    /// The L1's value, or the store's (one read for concurrent misses), which then fills it.
    pub(crate) async fn get_or_fetch(
        &self,
        cache: &Cache<T>,
        key: &str,
    ) -> Result<Option<Arc<T>>, Error> {
        match self.lookup(cache, key) {
            Lookup::Hit(value) => return Ok(Some(value)),
            Lookup::Absent => return Ok(None),
            Lookup::Unknown => {}
        }
        // Boxed so the hit path above carries none of the miss path's (large) future state:
        // one allocation on a miss, which is a network call anyway.
        Box::pin(self.fetch_coalesced(cache, key)).await
    }

    /// One store read per key at a time; its result fills the L1.
    async fn fetch_coalesced(&self, cache: &Cache<T>, key: &str) -> Result<Option<Arc<T>>, Error> {
        self.reads
            .run(key, || async {
                // A read that finished just before this flight began has filled the L1.
                match self.peek(key) {
                    Lookup::Hit(value) => return Ok(Some(value)),
                    Lookup::Absent => return Ok(None),
                    Lookup::Unknown => {}
                }
                match cache.fetch_from_store(key).await? {
                    Some(fetched) => {
                        let value = Arc::new(fetched.value);
                        self.insert(
                            key.to_owned(),
                            value.clone(),
                            fetched.expires_at,
                            fetched.size,
                        );
                        Ok(Some(value))
                    }
                    None => {
                        self.insert_absent(key.to_owned());
                        Ok(None)
                    }
                }
            })
            .await
    }

    /// Many keys: the L1's hits, and one batch read of the rest, which then fills it.
    pub(crate) async fn get_many_or_fetch(
        &self,
        cache: &Cache<T>,
        keys: Vec<String>,
    ) -> (HashMap<String, Arc<T>>, Vec<BatchFailure>) {
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match self.lookup(cache, &key) {
                Lookup::Hit(value) => {
                    found.insert(key, value);
                }
                Lookup::Absent => {}
                Lookup::Unknown => missing.push(key),
            }
        }
        if missing.is_empty() {
            return (found, Vec::new());
        }
        let (fetched, failed) = cache.fetch_many_from_store(missing.clone()).await;
        let mut absent: std::collections::HashSet<String> = missing.into_iter().collect();
        for failure in &failed {
            for key in &failure.keys {
                absent.remove(key);
            }
        }
        for (key, item) in fetched {
            absent.remove(&key);
            let value = Arc::new(item.value);
            self.insert(key.clone(), value.clone(), item.expires_at, item.size);
            found.insert(key, value);
        }
        for key in absent {
            self.insert_absent(key);
        }
        (found, failed)
    }
}

/// The time from now until an epoch-seconds expiry (zero if it has passed).
fn until_epoch(expires_at: i64) -> Duration {
    let Ok(expires_at) = u64::try_from(expires_at) else {
        return Duration::ZERO;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(expires_at).saturating_sub(now)
}

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// This cache with an in-process L1 in front of its reads (a new cache: its own L1 and
    /// statistics). Needs `T: Clone` to hand out owned values from shared ones; hot paths can
    /// use [`get_arc`](Cache::get_arc) to skip the clone.
    ///
    /// Reads go L1 → store; what the store returns fills the L1 (an entry never outlives its
    /// item's TTL, nor the L1's own). Writes and deletes through this cache update the L1 too.
    /// Other processes' writes are seen once the L1 entry expires, as with DAX's item cache;
    /// [`invalidate`](Cache::invalidate) drops an entry sooner.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
    ///
    /// let cache: Cache<String> = Cache::new(&Store::embedded(), CacheConfig::new(Ttl::days(1.0)))
    ///     .with_l1(L1Config::DEFAULT.max_bytes(64 << 20).ttl(Duration::from_secs(60)));
    /// cache.put("k", &"v".to_owned()).await;
    /// assert_eq!(cache.get("k").await.as_deref(), Some("v"));
    /// assert_eq!(cache.stats().l1_hits, 1);
    /// # }
    /// ```
    pub fn with_l1(&self, config: L1Config) -> Self {
        let shared = crate::cache::Shared::with_l1(config, T::clone);
        self.with_shared_state(Arc::new(shared))
    }
}

impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Drops `key` from the L1 (not from the store), so the next read goes to the store.
    pub fn invalidate(&self, key: &str) {
        if let Some(l1) = self.l1() {
            l1.invalidate(key);
        }
    }

    /// Empties the L1 (not the store).
    pub fn invalidate_all(&self) {
        if let Some(l1) = self.l1() {
            l1.invalidate_all();
        }
    }
}
