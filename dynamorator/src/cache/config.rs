//! [`CacheConfig`] and [`L1Config`]: a typed cache's settings, built alike (a `Default`, then
//! one method per setting), as `#[cache(...)]` writes them.

use std::borrow::Cow;

use crate::Ttl;

/// The settings of a [`Cache`](crate::Cache): TTL, compression, stored-key format and the
/// optional in-process L1.
///
/// `#[derive(Cached)]` builds one from `#[cache(...)]`; build one yourself for
/// [`Cache::new`](crate::Cache::new). Every setting has a default:
///
/// | setting | default |
/// |---|---|
/// | [`ttl`](CacheConfig::ttl) | 1 day |
/// | [`compress`](CacheConfig::compress), [`compress_threshold`](CacheConfig::compress_threshold) | the store's |
/// | [`prefix`](CacheConfig::prefix) | none: keys stored as given |
/// | [`version`](CacheConfig::version) | none |
/// | [`l1`](CacheConfig::l1) | no L1 |
///
/// Stored keys are `{prefix}:{key}`, or `{prefix}:v{version}:{key}` with a version, or just
/// `v{version}:{key}` / `{key}` when the prefix is empty.
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
    pub(crate) compress: Option<bool>,
    pub(crate) compress_threshold: Option<usize>,
    prefix: Cow<'static, str>,
    version: Option<u32>,
    pub(crate) l1: Option<L1Config>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Ttl::days(1),
            compress: None,
            compress_threshold: None,
            prefix: Cow::Borrowed(""),
            version: None,
            l1: None,
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

    /// The TTL of items written through the cache. Default: 1 day.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().ttl(dynamorator::Ttl::hours(6));
    /// ```
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// Compress this type's values whatever the store's setting (or never, with `false`).
    /// Default: the store's setting.
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.compress = Some(enabled);
        self
    }

    /// Compress JSON text longer than this many bytes (overrides the store's threshold).
    /// Default: the store's (1024).
    ///
    /// ```
    /// let config = dynamorator::CacheConfig::new().compress(true).compress_threshold(256);
    /// ```
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.compress_threshold = Some(bytes);
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
/// | bound | [`max_bytes`](L1Config::max_bytes) 64 MiB of stored (encoded) size, or [`max_entries`](L1Config::max_entries) |
/// | [`ttl`](L1Config::ttl) | 60 s |
/// | [`negative_ttl`](L1Config::negative_ttl) | none: misses are not remembered |
///
/// An entry never outlives its item's TTL in the table, nor `ttl` after it was loaded.
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

    /// Bound the L1 by the stored size of its entries, in bytes. Default: 64 MiB.
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
