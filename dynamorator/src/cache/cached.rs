//! The [`Cached`] trait: a type that knows its cache settings, usually derived.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::registry::shared_cache;
use crate::{Cache, CacheConfig, Store};

/// A type with cache settings of its own, so `Product::cache(&store)` gives a
/// [`Cache<Product>`](Cache).
///
/// Derive it with `#[derive(Cached)]` (the default `derive` feature) and configure it with
/// `#[cache(...)]`:
///
/// | key | value | default |
/// |---|---|---|
/// | `ttl_days` / `ttl_hours` / `ttl_mins` / `ttl_secs` | positive number (`*_secs`: whole), up to 1,000 years; one of them | 1 day |
/// | `stale_days` / `stale_hours` / `stale_mins` / `stale_secs` | as `ttl_*`: the [`stale_for`](CacheConfig::stale_for) window | none |
/// | `fail_safe_days` / `fail_safe_hours` / `fail_safe_mins` / `fail_safe_secs` | as `ttl_*`: [`fail_safe_max`](CacheConfig::fail_safe_max) | none |
/// | `fail_safe_throttle_mins` / `fail_safe_throttle_secs` | as `ttl_*`: [`fail_safe_throttle`](CacheConfig::fail_safe_throttle) | 30 s |
/// | `jitter_mins` / `jitter_secs` | as `ttl_*`: [`jitter`](CacheConfig::jitter) | none |
/// | `soft_timeout_ms`, `hard_timeout_ms` | whole milliseconds ≥ 1, hard longer than soft: [`soft_timeout`](CacheConfig::soft_timeout), [`hard_timeout`](CacheConfig::hard_timeout) | none |
/// | `refresh_window_ms` | whole milliseconds ≥ 1: [`refresh_window`](CacheConfig::refresh_window) | 10 ms |
/// | `refresh_batch_max` | whole number ≥ 1: [`refresh_batch_max`](CacheConfig::refresh_batch_max) | 100 |
/// | `lease_mins` / `lease_secs` | as `ttl_*`: one load per key across processes, with leases this long ([`leases`](CacheConfig::leases)) | off |
/// | `fleet_clear_mins` / `fleet_clear_secs` | as `ttl_*`: [`Cache::clear`] for the fleet, each process checking this often ([`fleet_clear`](CacheConfig::fleet_clear)) | off |
/// | `coherent_l1_ms` | whole milliseconds ≥ 1: other processes' writes reach this L1 within this poll ([`coherent_l1`](CacheConfig::coherent_l1)) | off |
/// | `compress` | flag | the store's setting |
/// | `compress_threshold` | whole bytes; implies `compress` | the store's (1024) |
/// | `zstd` | flag: compress with zstd instead of gzip (implies `compress`; see [`CacheConfig::zstd`](crate::CacheConfig::zstd)) | the store's setting |
/// | `zstd_level` | whole number, 1 to 22; implies `zstd` | the store's (3) |
/// | `split` | flag: store values past 400 KB as parts (see [`CacheConfig::split`](crate::CacheConfig::split)) | the store's setting |
/// | `split_max_bytes` | whole bytes ≥ 1; implies `split` | the store's (32 MiB) |
/// | `prefix` | string; `""` stores keys as given | the type name in snake_case |
/// | `version` | whole number ≥ 1, part of the stored key | none |
/// | `name` | string: the cache's name in metrics and spans ([`name`](CacheConfig::name)) | the prefix (and version) |
/// | `l1` | flag, or `l1(max_bytes = N, max_entries = N, ttl_secs = N, negative_ttl_secs = N)` | no L1 |
/// | `crate` | string: the path of the dynamorator crate in generated code, for one renamed in `Cargo.toml` or re-exported (`crate = "my_dynamorator"`) | `::dynamorator` |
///
/// Stored keys are `{prefix}:{key}`, `{prefix}:v{version}:{key}` with a version, `v{version}:{key}`
/// or `{key}` with an empty prefix. Works on structs (named, tuple, unit), enums and generic
/// types; a misused key is a compile error on that key.
///
/// ```
/// use dynamorator::{Cached, Store};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Serialize, Deserialize, Cached)]
/// #[cache(ttl_days = 7, compress, version = 2)]
/// struct Product {
///     asin: String,
///     title: String,
///     price_cents: u64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// let store = Store::embedded();
/// let products = Product::cache(&store);
/// products.put("B00X", &Product { asin: "B00X".into(), title: "Kettle".into(), price_cents: 2999 }).await?;
/// assert_eq!(products.stored_key("B00X"), "product:v2:B00X");
/// assert_eq!(products.get("B00X").await?.map(|p| p.price_cents), Some(2999));
/// # Ok(()) }
/// ```
pub trait Cached: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The type's cache settings, as `#[cache(...)]` gives them.
    ///
    /// ```
    /// # use dynamorator::Cached;
    /// # #[derive(serde::Serialize, serde::Deserialize, Cached)]
    /// # #[cache(ttl_hours = 2, prefix = "thing")]
    /// # struct Thing;
    /// assert_eq!(Thing::config().key_prefix(), "thing:");
    /// ```
    fn config() -> CacheConfig;

    /// The store's cache for this type. Every call with the same store returns a handle to the
    /// same cache, so its L1, statistics and stampede protection are shared process-wide.
    /// See the trait's example.
    fn cache(store: &Store) -> Cache<Self>
    where
        Self: Sized,
    {
        shared_cache::<Self>(store)
    }
}
