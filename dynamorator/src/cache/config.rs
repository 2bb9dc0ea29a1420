//! [`CacheConfig`] and [`L1Config`]: a typed cache's settings, built alike (a `Default`, then
//! one method per setting), as `#[cache(...)]` writes them.

use std::borrow::Cow;
use std::time::Duration;

use super::freshness::FreshnessSettings;
use crate::codec::CodecOverrides;
use crate::{CodecOptions, Ttl};

/// The settings of a [`Cache`](crate::Cache): freshness, compression, stored-key format and
/// the optional in-process L1.
///
/// `#[derive(Cached)]` builds one from `#[cache(...)]`; build one yourself for
/// [`Cache::new`](crate::Cache::new). Every setting has a default:
///
/// | setting | default |
/// |---|---|
/// | [`ttl`](CacheConfig::ttl): how long a value is fresh | 1 day |
/// | [`stale_for`](CacheConfig::stale_for): then served stale while refreshed | none |
/// | [`fail_safe_max`](CacheConfig::fail_safe_max), [`fail_safe_throttle`](CacheConfig::fail_safe_throttle) | none, 30 s |
/// | [`jitter`](CacheConfig::jitter) | none |
/// | [`soft_timeout`](CacheConfig::soft_timeout), [`hard_timeout`](CacheConfig::hard_timeout) | none |
/// | [`refresh_window`](CacheConfig::refresh_window), [`refresh_batch_max`](CacheConfig::refresh_batch_max) | 10 ms, 100 keys |
/// | [`leases`](CacheConfig::leases): one load per key across processes | off |
/// | [`fleet_clear`](CacheConfig::fleet_clear): [`Cache::clear`](crate::Cache::clear) in O(1) | off |
/// | [`coherent_l1`](CacheConfig::coherent_l1): other processes' writes reach this L1 within a poll | off |
/// | [`codec`](CacheConfig::codec): whole [`CodecOptions`] | the store's |
/// | [`compress`](CacheConfig::compress), [`compress_threshold`](CacheConfig::compress_threshold), [`zstd`](CacheConfig::zstd), [`zstd_level`](CacheConfig::zstd_level): one setting of them | the store's |
/// | [`split`](CacheConfig::split), [`split_max_bytes`](CacheConfig::split_max_bytes): one setting of them | the store's |
/// | [`prefix`](CacheConfig::prefix) | none: keys stored as given |
/// | [`version`](CacheConfig::version) | none |
/// | [`name`](CacheConfig::name): the `cache` label of metrics and spans | the key prefix |
/// | [`l1`](CacheConfig::l1) | no L1 |
///
/// Stored keys are `{prefix}:{key}`, or `{prefix}:v{version}:{key}` with a version, or just
/// `v{version}:{key}` / `{key}` when the prefix is empty.
///
/// The freshness settings act in read-through
/// ([`get_or_insert_with`](crate::Cache::get_or_insert_with) and its batch form); the
/// crate's README shows the timeline.
///
/// ```
/// use dynamorator::{CacheConfig, Ttl};
///
/// let tenant = "acme";
/// let config = CacheConfig::new().ttl(Ttl::days(7)).prefix(format!("{tenant}-product")).version(2);
/// assert_eq!(config.key_prefix(), "acme-product:v2:");
/// assert_eq!(CacheConfig::default().key_prefix(), "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub(crate) ttl: Ttl,
    /// How this cache's codec differs from its store's.
    pub(crate) codec: CodecOverrides,
    prefix: Cow<'static, str>,
    version: Option<u32>,
    name: Option<Cow<'static, str>>,
    pub(crate) l1: Option<L1Config>,
    pub(crate) freshness: FreshnessSettings,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Ttl::days(1),
            codec: CodecOverrides::default(),
            prefix: Cow::Borrowed(""),
            version: None,
            name: None,
            l1: None,
            freshness: FreshnessSettings::default(),
        }
    }
}

impl CacheConfig {
    /// The defaults (see the table above); the same as [`CacheConfig::default`].
    ///
    /// ```
    /// assert_eq!(dynamorator::CacheConfig::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        CacheConfig::default()
    }

    /// How long a value written through the cache is fresh. Without a
    /// [`stale_for`](CacheConfig::stale_for) window it is the item's TTL. Default: 1 day.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().ttl(dynamorator::Ttl::hours(6));
    /// ```
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// Stale-while-revalidate: after [`ttl`](CacheConfig::ttl), a value stays in the store
    /// this much longer (the item's `ttl` attribute is the sum, so DynamoDB deletes it then),
    /// and read-through returns it at once while one background load refreshes it. Default:
    /// none (a value is a miss once its TTL has passed).
    ///
    /// ```
    /// use dynamorator::{CacheConfig, Ttl};
    /// // Fresh for 10 minutes, then served stale for up to a day while refreshed.
    /// let config = CacheConfig::new().ttl(Ttl::minutes(10)).stale_for(Ttl::days(1));
    /// ```
    pub fn stale_for(mut self, window: Ttl) -> Self {
        self.freshness.stale_for = Some(window);
        self
    }

    /// Fail-safe for expired values: when a read-through load fails or times out, a value
    /// that expired at most this long ago and is still stored (DynamoDB deletes expired items
    /// lazily, within days) answers instead of the error. Stale values are always a fallback.
    /// Default: none (only stale values are).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().fail_safe_max(dynamorator::Ttl::hours(6));
    /// ```
    pub fn fail_safe_max(mut self, max: Ttl) -> Self {
        self.freshness.fail_safe_max = Some(max);
        self
    }

    /// After a load fails and a fallback value answers, that key is not loaded again for
    /// this long (its fallback answers), so a failing source is not hammered. Default: 30 s.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().fail_safe_throttle(dynamorator::Ttl::secs(10));
    /// ```
    pub fn fail_safe_throttle(mut self, pause: Ttl) -> Self {
        self.freshness.fail_safe_throttle = pause;
        self
    }

    /// Moves each write's horizons later by a random 0 to `max` seconds, so values written
    /// together do not go stale or expire together. Default: none.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().jitter(dynamorator::Ttl::secs(30));
    /// ```
    pub fn jitter(mut self, max: Ttl) -> Self {
        self.freshness.jitter = Some(max);
        self
    }

    /// A caller that has a value to fall back on waits this long at most for a load: then it
    /// gets the fallback, and the load goes on in the background and is stored when it ends.
    /// Callers with nothing to fall back on wait for the load; a batch call waits unless
    /// every key it loads has a fallback. Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = dynamorator::CacheConfig::new().soft_timeout(Duration::from_millis(100));
    /// ```
    pub fn soft_timeout(mut self, timeout: Duration) -> Self {
        self.freshness.soft_timeout = Some(timeout);
        self
    }

    /// A load still running after this long is abandoned (and counted): the caller gets its
    /// fallback value if there is one, else [`Error::LoaderTimeout`](crate::Error::LoaderTimeout).
    /// Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = dynamorator::CacheConfig::new().hard_timeout(Duration::from_secs(5));
    /// ```
    pub fn hard_timeout(mut self, timeout: Duration) -> Self {
        self.freshness.hard_timeout = Some(timeout);
        self
    }

    /// Stale keys that separate batch read-through calls meet within this window are
    /// refreshed together, with one call of a batch loader. Default: 10 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = dynamorator::CacheConfig::new().refresh_window(Duration::from_millis(25));
    /// ```
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.freshness.refresh_window = window;
        self
    }

    /// One load per key across processes: before loading a missing key (or refreshing a
    /// stale one), a process takes a lease on it in the store, held for `length` at most. The
    /// others serve the stale value if there is one, or wait (polling with backoff) until the
    /// value appears or the lease expires, then try to take it themselves; a crashed holder
    /// blocks nobody past its lease. Costs one conditional write per load. Default: off (see
    /// the README's "Across processes" for the measurements behind it).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = dynamorator::CacheConfig::new().leases(Duration::from_secs(10));
    /// ```
    pub fn leases(mut self, length: Duration) -> Self {
        self.freshness.lease = Some(length);
        self
    }

    /// Turns on [`Cache::clear`](crate::Cache::clear): a generation per cache, kept in one
    /// item of the store, which each process reads again at most every `poll`; values written
    /// under an older generation are misses, and the L1 is emptied when it changes. Costs one
    /// small read per process per `poll`, not per request. Default: off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = dynamorator::CacheConfig::new().fleet_clear(Duration::from_secs(1));
    /// ```
    pub fn fleet_clear(mut self, poll: Duration) -> Self {
        self.freshness.generation_poll = Some(poll);
        self
    }

    /// Coherent L1s across processes: every write, delete and read-through load through this
    /// cache (in any process, on DynamoDB or a shared file) is appended to a change feed kept
    /// in the same table, and before this process answers from its L1 it reads the feed if it
    /// last did `poll` ago or more, dropping the keys others changed. So no process serves a
    /// value from its L1 longer than `poll` plus one round trip after another process replaced
    /// or deleted it. Default: off (the L1 is stale across processes until its TTL).
    ///
    /// Every process of the cache must turn it on for its writes to be seen. The cost: one
    /// extra small write per write call (one per shard, of 4, a batch touches), and, per
    /// process with an L1 that is read, one strongly consistent read of 12 to 16 feed items
    /// per `poll` (a 1 s poll: about $4.50 a month on demand); an idle process reads nothing. A process that cannot vouch for its L1 (a
    /// poll failed, it was paused for more than 15 s, more than 64 keys of one shard changed
    /// in one second) empties it and goes on; the feed never fails an operation. The README's
    /// "Consistency model" says what a process sees, and the `fleet` guide what it costs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dynamorator::{CacheConfig, L1Config};
    /// let config = CacheConfig::new()
    ///     .l1(L1Config::new().ttl(dynamorator::Ttl::hours(1)))
    ///     .coherent_l1(Duration::from_secs(1));
    /// ```
    pub fn coherent_l1(mut self, poll: Duration) -> Self {
        self.freshness.feed_poll = Some(poll);
        self
    }

    /// A batch refresh starts at once when it holds this many keys (a call's own stale keys
    /// always go in one loader call). Default: 100.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().refresh_batch_max(500);
    /// ```
    pub fn refresh_batch_max(mut self, keys: usize) -> Self {
        self.freshness.refresh_batch_max = keys.max(1);
        self
    }

    /// This cache's [`CodecOptions`], whole: the store's are not used. Setters called after
    /// it change these options; the one-setting setters called before it are forgotten. To
    /// change one setting of the store's options instead, use the one-setting setters alone.
    /// Default: the store's options.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, CodecOptions, Encoding, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).build().await?;
    /// let plain = CacheConfig::new().codec(CodecOptions::new());
    /// let cache: Cache<String> = Cache::new(&store, plain);
    /// cache.put("k", &"x".repeat(2_000)).await?;
    /// let info = store.item_info("k").await?;
    /// assert_eq!(info.map(|info| info.encoding), Some(Encoding::Json));
    /// # Ok(()) }
    /// ```
    pub fn codec(mut self, options: CodecOptions) -> Self {
        self.codec = CodecOverrides::replace(options);
        self
    }

    /// Compress this type's values whatever the store's setting (or never, with `false`);
    /// the store's other codec settings stay. Default: the store's setting.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec.compress = Some(enabled);
        self
    }

    /// Compress JSON text longer than this many bytes (overrides the store's threshold).
    /// Default: the store's (1024).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().compress(true).compress_threshold(256);
    /// ```
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.codec.compress_threshold = Some(bytes);
        self
    }

    /// Compress this type's values with zstd instead of gzip (and turn compression on), or
    /// with `false` go back to gzip whatever the store's setting; see
    /// [`CodecOptions::zstd`] (the Python package 0.1.7 reads zstd values as misses).
    /// Default: the store's setting.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().zstd(true);
    /// ```
    pub fn zstd(mut self, enabled: bool) -> Self {
        self.codec.zstd = Some(enabled);
        self
    }

    /// zstd's compression level for this type's values (and zstd on): 1 fastest, 19 smallest,
    /// up to 22; clamped to zstd's range. Default: the store's (3).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().zstd_level(9);
    /// ```
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.codec.zstd_level = Some(level);
        self
    }

    /// Store this type's values too large for one DynamoDB item (400 KB) as parts and a head
    /// (README, "Values past 400 KB"), or with `false` refuse them, whatever the store's
    /// setting. Default: the store's setting (off).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().split(true);
    /// ```
    pub fn split(mut self, enabled: bool) -> Self {
        self.codec.split = Some(enabled);
        self
    }

    /// The most bytes one of this type's split values may store (and splitting on); see
    /// [`CodecOptions::split_max_bytes`]. Default: the store's (32 MiB).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().split_max_bytes(8 << 20);
    /// ```
    pub fn split_max_bytes(mut self, bytes: usize) -> Self {
        self.codec.split_max_bytes = Some(bytes);
        self
    }

    /// The namespace of this cache's keys in the table, any string, made at compile time or at
    /// run time. `""` (the default) stores keys as given, as the Python package does.
    ///
    /// ```
    /// let region = String::from("eu");
    /// let config = dynamorator::CacheConfig::new().prefix(format!("quote-{region}"));
    /// assert_eq!(config.key_prefix(), "quote-eu:");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The schema version in the stored key: bump it when the type changes incompatibly and
    /// old items become misses instead of decode errors. Default: none.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().prefix("user").version(3);
    /// assert_eq!(config.key_prefix(), "user:v3:");
    /// ```
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// An in-process L1 in front of the store. Default: none. Without the `l1` feature the
    /// setting is accepted and the cache runs without one.
    ///
    /// ```
    /// use dynamorator::{CacheConfig, L1Config};
    /// let config = CacheConfig::new().l1(L1Config::new().max_bytes(16 << 20));
    /// ```
    pub fn l1(mut self, l1: L1Config) -> Self {
        self.l1 = Some(l1);
        self
    }

    /// The cache's name in metrics (the `cache` label) and spans (`dynamorator.cache`).
    /// Default: the [key prefix](CacheConfig::key_prefix) without its trailing colon, e.g.
    /// `user:v3` (empty without prefix and version). Name caches apart when two share a
    /// prefix, and keep names few: each is a set of series.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().prefix("user").version(3);
    /// assert_eq!(config.metrics_name(), "user:v3");
    /// assert_eq!(config.name("users").metrics_name(), "users");
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The name the cache's metrics and spans carry: [`name`](CacheConfig::name), or the key
    /// prefix without its trailing colon.
    ///
    /// ```
    /// assert_eq!(dynamorator::CacheConfig::new().prefix("quote").metrics_name(), "quote");
    /// ```
    pub fn metrics_name(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => self.key_prefix().trim_end_matches(':').to_owned(),
        }
    }

    /// Whether the L1, if any, is bounded (and weighed) in bytes.
    pub(crate) fn l1_weighs_bytes(&self) -> bool {
        self.l1
            .is_some_and(|l1| matches!(l1.bound, L1Bound::Bytes(_)))
    }

    /// What the cache puts in front of each key: `prefix:`, `prefix:vN:`, `vN:` or nothing.
    ///
    /// ```
    /// assert_eq!(dynamorator::CacheConfig::new().version(2).key_prefix(), "v2:");
    /// ```
    pub fn key_prefix(&self) -> String {
        let mut out = String::new();
        if !self.prefix.is_empty() {
            out.push_str(&self.prefix);
            out.push(':');
        }
        if let Some(version) = self.version {
            out.push('v');
            out.push_str(&version.to_string());
            out.push(':');
        }
        out
    }
}

/// The settings of a cache's in-process L1: how much it holds and for how long.
///
/// | setting | default |
/// |---|---|
/// | bound | [`max_bytes`](L1Config::max_bytes) 64 MiB of memory, or [`max_entries`](L1Config::max_entries) |
/// | [`ttl`](L1Config::ttl) | 60 s |
/// | [`negative_ttl`](L1Config::negative_ttl) | none: misses are not remembered |
///
/// An entry never outlives its item's TTL in the table, nor `ttl` after it was loaded.
///
/// A byte bound is a bound on the memory the L1's entries occupy: each entry is weighed by an
/// estimate of its decoded value (walked with serde: strings, sequences and maps as
/// `serde_json` decodes them, allocations as glibc makes them), its key and a fixed cost of
/// the entry itself (measured on moka). The process's resident memory grows by about the
/// bound when the L1 is full: `tests/l1_memory.rs` feeds an L1 of 64 MiB 1 GiB of values and
/// checks that the process grows by at most 80 MiB. What serialization hides is not seen
/// (the inline size behind a `Box` or `Arc`, spare capacity a value was built with), so a
/// value full of those weighs less than it takes.
///
/// ```
/// use dynamorator::{L1Config, Ttl};
///
/// let l1 = L1Config::new().max_bytes(64 << 20).ttl(Ttl::secs(30)).negative_ttl(Ttl::secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1Config {
    pub(crate) bound: L1Bound,
    pub(crate) ttl: Ttl,
    pub(crate) negative_ttl: Option<Ttl>,
}

/// What an L1 is bounded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum L1Bound {
    Entries(u64),
    Bytes(u64),
}

impl Default for L1Config {
    fn default() -> Self {
        L1Config {
            bound: L1Bound::Bytes(64 << 20),
            ttl: Ttl::secs(60),
            negative_ttl: None,
        }
    }
}

impl L1Config {
    /// The defaults (see the table above); the same as [`L1Config::default`].
    ///
    /// ```
    /// assert_eq!(dynamorator::L1Config::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        L1Config::default()
    }

    /// Bound the L1 by entries instead of bytes.
    ///
    /// ```
    /// let l1 = dynamorator::L1Config::new().max_entries(10_000);
    /// ```
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.bound = L1Bound::Entries(entries);
        self
    }

    /// Bound the L1 by the memory its entries occupy, in bytes (each entry's value, key and
    /// bookkeeping, estimated as the type docs say). Default: 64 MiB.
    ///
    /// ```
    /// let l1 = dynamorator::L1Config::new().max_bytes(8 << 20);
    /// ```
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.bound = L1Bound::Bytes(bytes);
        self
    }

    /// Keep entries at most this long after they were loaded or written. Default: 60 s.
    ///
    /// ```
    /// let l1 = dynamorator::L1Config::new().ttl(dynamorator::Ttl::minutes(5));
    /// ```
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// Remember misses for this long, so repeated lookups of absent keys stay in-process.
    /// Default: misses are not remembered.
    ///
    /// ```
    /// let l1 = dynamorator::L1Config::new().negative_ttl(dynamorator::Ttl::secs(10));
    /// ```
    pub fn negative_ttl(mut self, ttl: Ttl) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }
}
