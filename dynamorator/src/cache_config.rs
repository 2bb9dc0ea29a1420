//! [`CacheConfig`] and [`L1Config`]: a typed cache's settings, as `#[cache(...)]` writes them.
//! Both are built in `const` context, so a type's settings are a constant.

use std::time::Duration;

use crate::Ttl;

/// The settings of a [`Cache`](crate::Cache): TTL, compression, stored-key format and the
/// optional in-process L1.
///
/// `#[derive(Cached)]` builds one from `#[cache(...)]`; build one yourself for
/// [`Cache::new`](crate::Cache::new).
///
/// Stored keys are `{prefix}:{key}`, or `{prefix}:v{version}:{key}` with a version, or just
/// `v{version}:{key}` / `{key}` when the prefix is empty.
///
/// ```
/// use dynamorator::{CacheConfig, Ttl};
///
/// const PRODUCTS: CacheConfig = CacheConfig::new(Ttl::days(7.0)).prefix("product").version(2);
/// assert_eq!(PRODUCTS.key_prefix(), "product:v2:");
/// assert_eq!(CacheConfig::new(Ttl::days(1.0)).key_prefix(), "");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheConfig {
    pub(crate) ttl: Ttl,
    pub(crate) compress: Option<bool>,
    pub(crate) compress_threshold: Option<usize>,
    pub(crate) prefix: &'static str,
    pub(crate) version: Option<u32>,
    pub(crate) l1: Option<L1Config>,
}

impl CacheConfig {
    /// One day, no prefix, the store's compression, no L1: what `#[cache]` without a TTL key
    /// gets (the derive then sets the prefix from the type name).
    pub const DEFAULT: CacheConfig = CacheConfig::new(Ttl::days(1.0));

    /// Settings with this TTL; everything else as in [`DEFAULT`](CacheConfig::DEFAULT).
    pub const fn new(ttl: Ttl) -> Self {
        CacheConfig {
            ttl,
            compress: None,
            compress_threshold: None,
            prefix: "",
            version: None,
            l1: None,
        }
    }

    /// The TTL of items written through the cache.
    pub const fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// Compress this type's values whatever the store's setting (or never, with `false`).
    pub const fn compress(mut self, enabled: bool) -> Self {
        self.compress = Some(enabled);
        self
    }

    /// Compress JSON text longer than this many bytes (overrides the store's threshold).
    pub const fn compress_threshold(mut self, bytes: usize) -> Self {
        self.compress_threshold = Some(bytes);
        self
    }

    /// The namespace of this type's keys in the table. `""` stores keys as given, as the
    /// Python package does.
    pub const fn prefix(mut self, prefix: &'static str) -> Self {
        self.prefix = prefix;
        self
    }

    /// The schema version in the stored key: bump it when the type changes incompatibly and
    /// old items become misses instead of decode errors.
    pub const fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// An in-process L1 in front of the store (with the `l1` feature; ignored without it).
    pub const fn l1(mut self, l1: L1Config) -> Self {
        self.l1 = Some(l1);
        self
    }

    /// What the cache puts in front of each key: `prefix:`, `prefix:vN:`, `vN:` or nothing.
    pub fn key_prefix(&self) -> String {
        let mut out = String::new();
        if !self.prefix.is_empty() {
            out.push_str(self.prefix);
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
/// An entry never outlives its item's TTL in the table, nor `ttl` after it was loaded.
///
/// ```
/// use std::time::Duration;
/// use dynamorator::L1Config;
///
/// let l1 = L1Config::DEFAULT.max_bytes(64 << 20).ttl(Duration::from_secs(60));
/// assert_eq!(l1.max_bytes, Some(64 << 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct L1Config {
    /// Bound on entries; used when `max_bytes` is `None`.
    pub max_entries: Option<u64>,
    /// Bound on the sum of the entries' stored (encoded) sizes, in bytes.
    pub max_bytes: Option<u64>,
    /// How long an entry stays after it was loaded or written, at most.
    pub ttl: Duration,
    /// How long a miss is remembered (`None`: misses are not cached).
    pub negative_ttl: Option<Duration>,
}

impl L1Config {
    /// 64 MiB of stored size, entries kept up to 60 s, misses not remembered.
    pub const DEFAULT: L1Config = L1Config {
        max_entries: None,
        max_bytes: Some(64 << 20),
        ttl: Duration::from_secs(60),
        negative_ttl: None,
    };

    /// Bound the L1 by entries instead of bytes.
    pub const fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = Some(entries);
        self.max_bytes = None;
        self
    }

    /// Bound the L1 by the stored size of its entries, in bytes.
    pub const fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self.max_entries = None;
        self
    }

    /// Keep entries at most this long after they were loaded or written.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// [`ttl`](L1Config::ttl) in seconds, for `#[cache(l1(ttl_secs = 60))]`.
    pub const fn ttl_secs(self, secs: u64) -> Self {
        self.ttl(Duration::from_secs(secs))
    }

    /// Remember misses for this long, so repeated lookups of absent keys stay in-process.
    pub const fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// [`negative_ttl`](L1Config::negative_ttl) in seconds.
    pub const fn negative_ttl_secs(self, secs: u64) -> Self {
        self.negative_ttl(Duration::from_secs(secs))
    }
}

impl Default for L1Config {
    fn default() -> Self {
        L1Config::DEFAULT
    }
}
