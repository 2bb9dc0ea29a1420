//! A typed, fast, never-crashing cache on Amazon DynamoDB.
//!
//! Derive a typed cache for a type, and read through it: the first read of a key runs your
//! loader and stores its value; later reads, in this process or any other sharing the table,
//! get it back. Concurrent misses of one key run one load; a stale value answers at once while
//! it is refreshed; when DynamoDB fails, the loader still answers. The same code runs on an
//! embedded backend (in memory, or a file) with no AWS account:
//!
//! ```
//! use dynamorator::{Cached, Store};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Serialize, Deserialize, Cached)]
//! #[cache(ttl_days = 7, stale_days = 1, compress, l1)]
//! struct Product { asin: String, title: String, price_cents: u64 }
//!
//! async fn fetch_product(asin: &str) -> Result<Product, std::io::Error> {
//!     // The expensive call: an HTTP API, a database, a computation.
//!     Ok(Product { asin: asin.into(), title: "Kettle".into(), price_cents: 2999 })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dynamorator::Error> {
//! // On DynamoDB: Store::builder().table("my-cache").build().await?
//! let store = Store::embedded();
//! let products = Product::cache(&store); // a Cache<Product>, keys "product:{asin}"
//!
//! let kettle = products.get_or_insert_with("B00X", || fetch_product("B00X")).await?;
//! let again = products.get("B00X").await?; // stored: no load
//! assert_eq!(again.map(|p| p.title), Some(kettle.title));
//! assert_eq!(products.stats().loader_calls, 1);
//!
//! // One batch read, then one loader call with exactly the missing keys.
//! let many = products
//!     .get_many_or_insert_with(["B00X", "B01Y"], |missing| async move {
//!         let mut loaded = std::collections::HashMap::new();
//!         for asin in missing {
//!             loaded.insert(asin.clone(), fetch_product(&asin).await?);
//!         }
//!         Ok::<_, std::io::Error>(loaded)
//!     })
//!     .await?;
//! assert_eq!(many.len(), 2);
//! # Ok(()) }
//! ```
//!
//! Under the typed cache is the untyped [`Store`]: any `Serialize` value by string key, each
//! with its own TTL, in the table layout of the Python package
//! [`dynamorator`](https://pypi.org/project/dynamorator/) 0.1.7, so Rust and Python services
//! share one table (values over a threshold gzipped as Python does, or, where no Python reader
//! needs them, stored as zstd in a binary attribute). Every operation returns
//! `Result<_, Error>`:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dynamorator::Error> {
//! use dynamorator::{Store, Ttl};
//! use serde_json::{json, Value};
//!
//! let store = Store::builder().embedded().compress(true).build().await?;
//! store.put("user:123", &json!({"name": "Alice", "score": 100}), Ttl::days(7)).await?;
//! let user: Option<Value> = store.get("user:123").await?;
//! assert_eq!(user.map(|u| u["name"].clone()), Some(json!("Alice")));
//! let read = store.get_many::<Value, _>(["user:123", "user:456"]).await?;
//! assert_eq!(read.found.len(), 1);
//! store.delete("user:123").await?;
//! # Ok(()) }
//! ```
//!
//! # What else it does
//!
//! - **Freshness**: a fresh and a stale horizon, background refresh, fail-safe answers from
//!   expired values when the source fails, soft and hard loader timeouts, jitter
//!   ([`CacheConfig::stale_for`], [guide](guide::freshness)).
//! - **Fleets**: one load per key across processes with leases, a fleet-wide
//!   [`Cache::clear`], ordered writes, all through conditional writes on the table
//!   ([`CacheConfig::leases`], [guide](guide::fleet)).
//! - **Settings as values**: how values are encoded is one [`CodecOptions`], set on a store
//!   and changed per cache ([`CacheConfig::codec`] or one setting at a time); a table's
//!   settings are one `DynamoDbOptions` (the `dynamodb` feature), which a store without
//!   a table refuses rather than ignores.
//! - **`#[memoize]`**: an `async fn` or method cached by its arguments with one attribute
//!   ([`memoize`](attr.memoize.html), [guide](guide::choosing)).
//! - **The L1**: decoded values in an in-process moka cache in front of the store, bounded in
//!   bytes or entries ([`L1Config`], [guide](guide::l1_sizing)).
//! - **Operating it**: counters, histograms and gauges through the `metrics` facade, spans
//!   through `tracing` (below), and the `dynamorator` command-line tool (crate
//!   `dynamorator-cli`: get, put, list, export, import, purge, stats).
//! - **Large values**: zstd in a binary attribute ([`StoreBuilder::zstd`]), and values past
//!   DynamoDB's 400 KB item limit stored as checked parts ([`StoreBuilder::split`]).
//! - **Embedded backend**: [`Store::embedded`] in memory, or
//!   [`StoreBuilder::embedded_file`], a crash-safe SQLite file that every process on one machine
//!   shares.
//!
//! # Guides
//!
//! [Choosing](guide::choosing) between `Store`, `Cache<T>` and `#[memoize]` ·
//! [freshness](guide::freshness) · [sizing the L1](guide::l1_sizing) ·
//! [running a fleet](guide::fleet) · [costs](guide::costs) ·
//! [migrating from the Python package](guide::migrating) ·
//! [HTTP caching](guide::http) for reqwest and axum (crate `dynamorator-http`).
//!
//! # Cargo features
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | `dynamodb` | yes | the DynamoDB backend (the AWS SDK, one HTTP/TLS stack); without it, the embedded backend only, and a build in a fraction of the time |
//! | `derive` | yes | `#[derive(Cached)]`, for the [`Cached`](trait@Cached) trait, and [`#[memoize]`](attr.memoize.html) |
//! | `l1` | yes | the in-process moka L1 ([`CacheConfig::l1`]); without it an L1 setting is accepted and ignored |
//! | `zlib-rs` | yes | gzip with zlib-rs (faster compression); without it, miniz_oxide |
//! | `metrics` | no | counters, histograms and gauges through the [`metrics`](https://docs.rs/metrics) facade, per cache (label `cache`, see [`CacheConfig::name`]) and per store operation; the README's "Operating it" lists them. Without it, [`Cache::stats`] only |
//!
//! # Errors, and what is not one
//!
//! Every operation returns `Result<_, Error>`, and nothing the network or the stored data
//! does makes it panic. A [`Store`] reports a corrupt item or a value of another shape as
//! [`Error::Corrupt`] or [`Error::TypeMismatch`]; a [`Cache<T>`] counts them as misses
//! ([`CacheStats::undecodable`]) and logs them, so a schema change is never an outage.
//! Read-through is fail-open: when the store fails, the loader's value is returned.
//!
//! # Table format and the Python package
//!
//! Items are `cache_id` (the key), `data` (compact JSON, or base64 of its gzip with
//! `compressed`), `ttl` (epoch seconds) and `created_at`, as the Python package writes them;
//! this crate reads what it writes and the reverse, and its extra attributes are ignored by
//! it. Values stored as zstd or split into parts (both opt-in) have no `data`: the Python
//! package reads them as misses. The README's "Table format" lists every attribute, and the
//! [migration guide](guide::migrating) what differs.
//!
//! Values are anything `serde` can serialise. For dates and times, turn on the `serde`
//! feature of `chrono` or `time`; chrono's types then store as RFC 3339 strings, which is what
//! the Python package writes for `datetime` (its ISO format) and reads back as text.
//!
//! # Testing expiry
//!
//! A [`Clock::manual`] given to [`StoreBuilder::clock`] decides every expiry (reads, listings,
//! the L1, the embedded file), so tests advance time instead of waiting for it.
//!
//! # Layers
//!
//! Data flows one way, and no module uses one above it:
//! `cache` ([`Cache<T>`], the L1, stats, and the read-through engine: its one policy, loads,
//! stampede protection, refreshes, leases, the circuit breaker) → `store` ([`Store`], its
//! builder, reads, writes, listing, the conditions of leases and ordered writes) → `codec`
//! (value ⇄ item: JSON, gzip, base64, zstd, expiry, limits) → `backend` (DynamoDB, embedded:
//! each renders the conditions it is given) → `format` (the table format: attribute names,
//! the item, payload forms, split values, the condition language).
//!
//! # Logging and tracing
//!
//! Events go through `tracing` with targets under `dynamorator` (for example
//! `dynamorator::cache::read_through`, the target of every read-through event): warnings when
//! a read-through answers past a failing store or a stored value does not decode, information
//! when a table is created. Filter them as any other target, e.g.
//! `RUST_LOG=dynamorator=error`. Keys appear in events; values never do.
//!
//! Spans: `dynamorator.store` (INFO) around every backend request, with OpenTelemetry's
//! database attributes (`db.system.name` = `aws.dynamodb` or `embedded`, `db.operation.name`,
//! `db.collection.name`, `db.operation.batch.size`, `db.response.returned_rows`,
//! `error.type`, and `dynamorator.capacity_units` with the DynamoDB backend's
//! `StoreBuilder::consumed_capacity`), and `dynamorator.read_through` (INFO) around every
//! read-through call (`dynamorator.cache`, `dynamorator.keys`). Keys only in DEBUG events
//! inside store spans; values never.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod cache;
mod clock;
mod codec;
mod error;
mod format;
mod observe;
mod store;
mod ttl;

pub mod guide;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "__bench-hooks")]
#[doc(hidden)]
#[path = "bench_hooks.rs"]
pub mod __bench;

// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

pub use cache::{Cache, CacheConfig, CacheStats, Cached, L1Config, Loaded};
pub use clock::Clock;
pub use codec::CodecOptions;
pub use error::{BatchFailure, CorruptReason, Error, LoaderError, Source};
pub use store::{
    CircuitBreaker, Encoding, GetMany, ItemInfo, KeyPage, Record, ScanOptions, ScannedItem, Store,
    StoreBuilder,
};
pub use ttl::Ttl;

/// Derives [`Cached`](trait@Cached) from `#[cache(...)]`; see the trait for the keys.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use dynamorator_derive::Cached;

/// Memoises an `async fn` in a [`Store`]: the first call with some arguments runs the body and
/// stores its value; later calls with equal arguments, in this process or any other sharing
/// the store, read it back. On a free function, or on a method or associated function of an
/// inherent `impl` block (see [*Methods*](#methods)).
///
/// ```
/// use std::sync::LazyLock;
/// use dynamorator::{Store, memoize};
///
/// static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);
///
/// #[memoize(store = STORE, ttl_hours = 6)]
/// async fn word_count(text: &str) -> usize {
///     text.split_whitespace().count()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// assert_eq!(word_count("the quick brown fox").await, 4);
/// assert_eq!(word_count("the quick brown fox").await, 4); // from the cache
/// assert_eq!(word_count::stats().loader_calls, 1);
/// word_count::invalidate("the quick brown fox").await?;
/// // {module path}::word_count:{64 hex digits}
/// assert!(word_count::key("the quick brown fox")?.contains("::word_count:"));
/// # Ok(()) }
/// ```
///
/// | key | value | default |
/// |---|---|---|
/// | `store` | an expression giving a `&Store` (a `static` with `LazyLock`/`OnceLock`, a function call; in a method, `self.store`); evaluated at each call | required |
/// | `key` | an expression of the arguments (and `self`) whose value (any `Serialize`) is hashed instead of the arguments | the arguments not skipped |
/// | `skip(a, b)`, `skip(self)` | arguments (or the receiver) left out of the key (handles: clients, pools); still passed to the body | none |
/// | `in_impl` | flag: an associated function without `self` (see *Methods*) | implied by `&self` |
/// | `prefix` | string | the function's path: its module path and name (`my_crate::reports::build`), or for a method its type's path and name (`my_crate::shop::Catalog::price`) |
/// | `version` | whole number ≥ 1, part of the stored key | none |
/// | `ttl_*`, `stale_*`, `fail_safe_*`, `fail_safe_throttle_*`, `jitter_*`, `lease_*`, `fleet_clear_*`, `coherent_l1_ms`, `soft_timeout_ms`, `hard_timeout_ms`, `compress`, `compress_threshold`, `zstd`, `zstd_level`, `split`, `split_max_bytes`, `name`, `l1` | as in [`Cached`](trait@Cached)'s `#[cache(...)]` (`hard_timeout_ms` only with a `Result` return) | as there |
/// | `crate` | string: the path of the dynamorator crate in generated code, for one renamed in `Cargo.toml` or re-exported (`crate = "my_dynamorator"`) | `::dynamorator` |
///
/// **The key** is `{prefix}:{hash}` (or `{prefix}:v{version}:{hash}`), where `hash` is the hex
/// SHA-256 of the canonical JSON of the key arguments: a JSON array of the arguments not
/// skipped, in declaration order, preceded by `self` for a method that does not skip it (or
/// the value of `key = ...`), written compactly with every object's keys sorted by their bytes.
/// It does not depend on the platform or the process, and is 64 characters whatever the
/// arguments. A `HashMap` argument is canonical too (its keys are sorted); a map whose keys do
/// not serialise as strings cannot be a key argument (the call then runs without the cache,
/// logged).
///
/// **The return type** is `Result<T, E>` (written with both parameters), whose `Err` is
/// returned and never stored, or a plain `T`; `T: Clone + Serialize + DeserializeOwned + Send +
/// Sync + 'static`. `E: Display + From<Error> + Send + 'static`: the caller whose body failed
/// gets its own `E` back by value; a caller that waited for another caller's failed load (or a
/// load past `hard_timeout_ms`) gets `E::from(Error::Loader(..))` with the same message.
/// `anyhow::Error`, `std::io::Error` and `Box<dyn Error + Send + Sync>` qualify. A store that
/// fails never becomes the function's error: the body runs and answers (fail-open).
///
/// **Arguments** are moved into the body, which may run in the background (a stale value's
/// refresh) after the call returned: an owned argument is moved, a `&U` argument is copied
/// with `ToOwned` and the body gets a reference to the copy. So every argument is `Send +
/// 'static` once owned; `&mut` arguments, `impl Trait` arguments and type parameters are
/// compile errors.
///
/// **The companion module** of the same name as a free function (modules and functions live
/// in different namespaces) has `key(args)`, the stored key; `invalidate(args).await`, which
/// deletes the stored value from the store and the L1; and `stats()`, the [`CacheStats`] of
/// the function's cache on its store. They take the arguments not skipped, with their types,
/// and evaluate the `store` expression (so it cannot use the arguments). Each memoised
/// function has one cache per store, shared by every call: its L1, statistics and stampede
/// protection (concurrent calls with equal arguments run the body once). Functions whose
/// stored prefix is the same (`prefix` and `version`) share it, as they share the stored keys.
///
/// # Methods
///
/// In an inherent `impl` block, on a method taking `&self` or on an associated function:
///
/// ```
/// use std::sync::LazyLock;
/// use dynamorator::{Store, memoize};
/// use serde::Serialize;
///
/// static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);
///
/// /// A price list: its region decides the prices, so `self` is part of the key.
/// #[derive(Clone, Serialize)]
/// struct PriceList {
///     region: String,
///     #[serde(skip)]
///     store: Store,
/// }
///
/// impl PriceList {
///     #[memoize(store = self.store, ttl_hours = 1)]
///     async fn price(&self, sku: &str) -> u64 {
///         sku.len() as u64 * if self.region == "eu" { 110 } else { 100 }
///     }
///
///     /// The same in every region: `self` is left out of the key.
///     #[memoize(store = self.store, skip(self))]
///     async fn weight(&self, sku: &str) -> u64 {
///         sku.len() as u64 * 10
///     }
///
///     /// No `self`: `in_impl` says it is in an `impl` block.
///     #[memoize(store = STORE, in_impl)]
///     async fn currency(region: String) -> String {
///         if region == "eu" { "EUR" } else { "USD" }.to_owned()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// let eu = PriceList { region: "eu".into(), store: Store::embedded() };
/// assert_eq!(eu.price("kettle").await, 660);
/// assert_eq!(eu.price("kettle").await, 660); // from the cache
/// assert_eq!(eu.price_stats().loader_calls, 1);
/// eu.price_invalidate("kettle").await?;
/// // {type path}::price:{sha256 of [{"region":"eu"},"kettle"]}
/// assert!(eu.price_key("kettle")?.contains("PriceList::price:"));
/// assert_eq!(PriceList::currency("eu".into()).await, "EUR");
/// # Ok(()) }
/// ```
///
/// - **`self` is part of the key** by default, as the first element of the array (as
///   `Serialize` writes it), so `Self` must be `Serialize`: a method's value usually depends on
///   its receiver, and a receiver silently left out would serve one value's answer to
///   another. A service handle (a client, a pool, the store) does not decide the value: leave
///   it out with `skip(self)`. Either way the body may run after the call returned (a stale
///   value's refresh), so it runs on a clone of `self`: `Self: Clone + Send + Sync + 'static`
///   (handles are cheap to clone: an `Arc` inside). Its body moves into a hidden method beside
///   it, unchanged, which the cache calls on that clone.
/// - **`&mut self`**, **`self` by value** and typed receivers (`self: Arc<Self>`) are compile
///   errors: when the value comes from the cache the body does not run, so nothing would be
///   written through `&mut self` nor consumed.
/// - **The companions** are associated functions beside the method (an attribute in an `impl`
///   block can add only associated items, so no module): `{name}_key(&self, args)`,
///   `{name}_invalidate(&self, args).await` and `{name}_stats(&self)`, taking `&self` when the
///   method does (its key or its `store` may use it), even with `skip(self)`.
/// - **The default prefix** is `Self`'s path, as [`std::any::type_name`] spells it, and the
///   method's name. In a generic impl each instantiation has its own (`my_crate::Repo<u32>::get`
///   and `my_crate::Repo<alloc::string::String>::get`), so its own keys and cache; a given
///   `prefix` is shared by all of them. Rust does not promise `type_name`'s text across
///   compiler versions: give `prefix` where the stored values must outlive a toolchain change
///   or be shared with services built by another one (a different text is only a cold cache,
///   never a wrong value).
/// - **An associated function without `self`** looks like a free function to the attribute,
///   which sees only the function: write `in_impl`, so it gets associated companions
///   (`Type::{name}_key(args)`, ...) and its type in its prefix. Without it the companion module
///   is refused by the compiler ("module is not supported in `trait`s or `impl`s").
/// - **Trait impls are not supported**: the companions and the hidden method are not members
///   of the trait (error E0407). Memoise an inherent method and call it from the trait impl.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use dynamorator_derive::memoize;

#[cfg(feature = "dynamodb")]
pub use store::DynamoDbOptions;

/// The SDK's retry modes, for [`DynamoDbOptions::retry_mode`].
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use aws_sdk_dynamodb::config::retry::RetryMode;
