//! Typed caches: [`Cache<T>`], values of one type on a store, with read-through, an optional
//! in-process L1, stampede protection and statistics. Everything here goes down through the
//! store; nothing below knows of it.

mod cached;
mod coherence;
mod config;
mod engine;
mod freshness;
mod keys;
mod l1;
mod loaded;
pub(crate) mod memoize;
mod registry;
mod stats;

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::{Store, Ttl};
use coherence::Coherence;
use engine::Engine;
use fleet::Generation;
use freshness::FreshnessSettings;
use keys::KeySpace;
use l1::L1;
use stats::Counters;

pub use cached::Cached;
pub use config::{CacheConfig, L1Config};
pub use loaded::Loaded;
pub use stats::CacheStats;

/// What every handle of one cache shares: statistics, the L1, the generation and the
/// read-through engine (loads in flight, refreshes, background work).
struct Shared<T> {
    counters: Counters,
    l1: L1<T>,
    /// The cache's generation, for fleet-wide clear.
    generation: Generation,
    /// The change feed's state, for coherent L1s.
    coherence: Coherence,
    engine: Engine<T>,
}

impl<T: Serialize + Send + Sync + 'static> Shared<T> {
    fn new(config: &CacheConfig, store: &Store) -> Self {
        Shared {
            counters: Counters::new(&config.metrics_name(), config.l1_weighs_bytes()),
            l1: L1::new(config.l1.as_ref(), store.clock()),
            generation: Generation::default(),
            coherence: Coherence::default(),
            engine: Engine::new(store),
        }
    }
}

/// A typed cache: values of `T` by string key, on a [`Store`].
///
/// Every operation returns `Result<_, Error>`. Values stored under a key that no longer decode
/// as `T` (another schema) or are corrupt are misses, counted in
/// [`CacheStats::undecodable`] and logged, never errors: a cache must not become the outage.
///
/// | task | method |
/// |---|---|
/// | make one | [`new`](Cache::new), `T::cache(&store)` with `#[derive(Cached)]`; [`with_ttl`](Cache::with_ttl) for a handle with another TTL |
/// | read one / many | [`get`](Cache::get), [`get_many`](Cache::get_many); [`get_arc`](Cache::get_arc), [`get_many_arc`](Cache::get_many_arc) clone no values |
/// | read, or load and store | [`get_or_insert_with`](Cache::get_or_insert_with), [`get_arc_or_insert_with`](Cache::get_arc_or_insert_with), [`get_many_or_insert_with`](Cache::get_many_or_insert_with) |
/// | write / delete | [`put`](Cache::put), [`put_many`](Cache::put_many), [`delete`](Cache::delete), [`delete_many`](Cache::delete_many) |
/// | write unless a newer version is stored | [`put_versioned`](Cache::put_versioned) |
/// | inspect | [`item_info`](Cache::item_info), [`list_keys`](Cache::list_keys), [`keys`](Cache::keys), [`stored_key`](Cache::stored_key), [`stats`](Cache::stats) |
/// | the L1 | [`invalidate`](Cache::invalidate), [`invalidate_all`](Cache::invalidate_all) |
/// | every process at once | [`clear`](Cache::clear) (with [`CacheConfig::fleet_clear`]) |
/// | background refreshes | [`wait_for_refreshes`](Cache::wait_for_refreshes) |
///
/// What handles share (statistics, loads in flight, the L1) follows from how they were made:
///
/// | made with | shares with |
/// |---|---|
/// | [`Cache::new`] | nothing: a new, independent cache |
/// | `clone()`, [`with_ttl`](Cache::with_ttl) | the handle it came from |
/// | `T::cache(&store)` (`#[derive(Cached)]`) | every `T::cache` of the same store |
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Cache, CacheConfig, Store, Ttl};
///
/// let store = Store::embedded();
/// let scores: Cache<u64> = Cache::new(&store, CacheConfig::new().ttl(Ttl::hours(1)).prefix("score"));
/// scores.put("alice", &100).await?;
/// assert_eq!(scores.get("alice").await?, Some(100));
/// // The store sees the namespaced key.
/// assert_eq!(store.get::<u64>("score:alice").await?, Some(100));
/// # Ok(()) }
/// ```
pub struct Cache<T> {
    store: Store,
    ttl: Ttl,
    freshness: FreshnessSettings,
    codec: Codec,
    keys: KeySpace,
    shared: Arc<Shared<T>>,
    _values: PhantomData<fn() -> T>,
}

impl<T> Clone for Cache<T> {
    fn clone(&self) -> Self {
        Cache {
            store: self.store.clone(),
            ttl: self.ttl,
            freshness: self.freshness,
            codec: self.codec,
            keys: self.keys.clone(),
            shared: self.shared.clone(),
            _values: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("type", &std::any::type_name::<T>())
            .field("key_prefix", &self.keys.prefix())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Making caches and handles.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A new, independent cache on `store` with these settings (its L1 included) and its own
    /// statistics and loads in flight. For a `#[derive(Cached)]` type, `T::cache(&store)`
    /// returns the store's shared one instead.
    ///
    /// ```
    /// use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
    ///
    /// let config = CacheConfig::new().ttl(Ttl::days(1)).prefix("session").l1(L1Config::new());
    /// let sessions: Cache<String> = Cache::new(&Store::embedded(), config);
    /// ```
    pub fn new(store: &Store, config: CacheConfig) -> Self {
        Cache::with_shared(store, &config, Arc::new(Shared::new(&config, store)))
    }

    fn with_shared(store: &Store, config: &CacheConfig, shared: Arc<Shared<T>>) -> Self {
        let codec = config.codec.apply(store.codec_options()).codec();
        Cache {
            store: store.clone(),
            ttl: config.ttl,
            freshness: config.freshness,
            codec,
            keys: KeySpace::new(config.key_prefix()),
            shared,
            _values: PhantomData,
        }
    }

    /// A handle of this cache that writes with another TTL (read-through included); it shares
    /// everything else.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store, Ttl};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.with_ttl(Ttl::minutes(5)).put("brief", &1).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_ttl(&self, ttl: Ttl) -> Self {
        Cache {
            ttl,
            ..self.clone()
        }
    }

    /// The key under which `key` is stored in the table.
    ///
    /// ```
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new().prefix("p"));
    /// assert_eq!(cache.stored_key("k"), "p:k");
    /// ```
    pub fn stored_key(&self, key: &str) -> String {
        self.keys.stored(key)
    }

    /// The store this cache reads and writes.
    ///
    /// ```
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// assert!(cache.store().is_enabled());
    /// ```
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What the cache has done so far, per layer, shared by every handle of this cache. With
    /// the `metrics` feature it also sets the L1 size gauges.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(7) }).await?;
    /// cache.get_or_insert_with("k", || async { Ok::<_, std::io::Error>(8) }).await?;
    /// let stats = cache.stats();
    /// assert_eq!((stats.loader_calls, stats.store_hits, stats.store_misses), (1, 1, 1));
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> CacheStats {
        let mut stats = self.shared.counters.snapshot();
        let size = self.shared.l1.size();
        (stats.l1_entries, stats.l1_weighted_size) = size;
        self.shared.counters.l1_size(size);
        stats
    }

    /// Drops `key` from the L1 (not from the store), so the next read goes to the store: how
    /// a process sees another's write before the L1 entry expires. Without an L1 it does
    /// nothing.
    ///
    /// ```
    /// use dynamorator::{Cache, CacheConfig, L1Config, Store};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new().l1(L1Config::new()));
    /// cache.invalidate("k");
    /// ```
    pub fn invalidate(&self, key: &str) {
        self.shared.l1.invalidate(key);
    }

    /// Empties the L1 (not the store). Without an L1 it does nothing.
    ///
    /// ```
    /// use dynamorator::{Cache, CacheConfig, L1Config, Store};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new().l1(L1Config::new()));
    /// cache.invalidate_all();
    /// assert_eq!(cache.stats().l1_entries, 0);
    /// ```
    pub fn invalidate_all(&self) {
        self.shared.l1.invalidate_all();
    }

    /// Returns once no background refresh of this cache is running or waiting to start: for
    /// a graceful shutdown, or a test that reads what a refresh stored.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<u8> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// cache.wait_for_refreshes().await;
    /// # }
    /// ```
    pub async fn wait_for_refreshes(&self) {
        self.shared.engine.idle().await;
    }

    /// Not public API: how many entries each of this cache's per-key maps holds now, for the
    /// soak benchmark (`__bench-hooks`). Each count takes its map's lock once, so the figures
    /// are not one instant's; counting the pauses in force walks the paused keys.
    #[cfg(feature = "__bench-hooks")]
    #[doc(hidden)]
    pub fn __engine_sizes(&self) -> crate::__bench::EngineSizes {
        crate::__bench::EngineSizes {
            l1_reads: self.shared.l1.reads_in_flight(),
            l1_entries: self.shared.l1.size().0,
            ..self.engine().sizes(self.store.now())
        }
    }

    /// Not public API: the invalidation delays (milliseconds) this cache measured since the
    /// last call, up to 100,000, for the fleet benchmark (`__bench-hooks`).
    #[cfg(feature = "__bench-hooks")]
    #[doc(hidden)]
    pub fn __take_invalidation_delays(&self) -> Vec<u32> {
        self.shared.coherence.take_delays()
    }

    fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    fn engine(&self) -> &Engine<T> {
        &self.shared.engine
    }
}

// The `impl Cache` blocks by task, declared after the one above in the order the docs should
// show them: rustdoc lists a type's impl blocks in the order it meets them.
mod read;

mod read_through;

mod read_through_batch;

mod write;

mod fleet;
