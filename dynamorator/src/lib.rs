//! A typed, fast, never-crashing JSON cache on Amazon DynamoDB.
//!
//! `dynamorator` stores JSON values by string key with a time-to-live each, in a DynamoDB table
//! laid out exactly as the Python package [`dynamorator`](https://pypi.org/project/dynamorator/)
//! lays it out, so Rust and Python services can share one table. Values over a threshold can be
//! gzipped; batch reads take any number of keys and run concurrently; expired items are misses
//! even before DynamoDB deletes them; and nothing the network or the stored data does can make
//! it panic.
//!
//! Every operation returns `Result<_, Error>`. The same API runs on the embedded backend,
//! in-process, with no AWS account:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dynamorator::Error> {
//! use dynamorator::{Store, Ttl};
//! use serde_json::{json, Value};
//!
//! let store = Store::builder().embedded().compress(true).build().await?;
//!
//! store.put("user:123", &json!({"name": "Alice", "score": 100}), Ttl::days(7)).await?;
//! let user: Option<Value> = store.get("user:123").await?;
//! assert_eq!(user.unwrap()["name"], "Alice");
//!
//! let read = store.get_many::<Value, _>(["user:123", "user:456"]).await?;
//! assert_eq!(read.found.len(), 1);
//! store.delete("user:123").await?;
//! # Ok(()) }
//! ```
//!
//! On DynamoDB, build the store with a table name; it is created when missing:
//!
//! ```no_run
//! # async fn demo() -> Result<(), dynamorator::Error> {
//! let store = dynamorator::Store::builder().table("my-data-store").build().await?;
//! # Ok(()) }
//! ```
//!
//! Values are anything `serde` can serialise. For dates and times, turn on the `serde`
//! feature of `chrono` or `time`; chrono's types then store as RFC 3339 strings, which is what
//! the Python package writes for `datetime` (its ISO format) and reads back as text.
//!
//! # Cargo features
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | `dynamodb` | yes | the DynamoDB backend (the AWS SDK, one HTTP/TLS stack); without it, the embedded backend only |
//! | `derive` | yes | `#[derive(Cached)]`, for the [`Cached`](trait@Cached) trait |
//! | `l1` | yes | the in-process moka L1 ([`CacheConfig::l1`]); without it an L1 setting is accepted and ignored |
//! | `zlib-rs` | yes | gzip with zlib-rs (faster compression); without it, miniz_oxide |
//! | `metrics` | no | counters, histograms and gauges through the [`metrics`](https://docs.rs/metrics) facade, per cache (label `cache`, see [`CacheConfig::name`]) and per store operation; the README's "Operating it" lists them. Without it, [`Cache::stats`] only |
//!
//! # Testing expiry
//!
//! A [`Clock::manual`] given to [`StoreBuilder::clock`] decides every expiry (reads, listings,
//! the L1, the embedded file), so tests advance time instead of waiting for it.
//!
//! # Layers
//!
//! Data flows one way, and no module uses one above it:
//! `cache` ([`Cache<T>`], read-through, the L1, stampede protection, stats) → `store`
//! ([`Store`], its builder, reads, writes, listing) → `codec` (value ⇄ item: JSON, gzip,
//! base64, expiry, limits) → `backend` (DynamoDB, embedded).
//!
//! # Logging
//!
//! Events go through `tracing` with targets under `dynamorator` (for example
//! `dynamorator::cache::read_through`): warnings when a read-through answers past a failing
//! store or a stored value does not decode, information when a table is created. Filter them
//! as any other target, e.g. `RUST_LOG=dynamorator=error`. Keys appear in events; values never
//! do.
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
mod observe;
mod store;
mod ttl;

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
pub use error::{BatchFailure, CorruptReason, Error, LoaderError, Source};
pub use store::{CircuitBreaker, GetMany, ItemInfo, KeyPage, Store, StoreBuilder};
pub use ttl::Ttl;

/// Derives [`Cached`](trait@Cached) from `#[cache(...)]`; see the trait for the keys.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use dynamorator_derive::Cached;

/// The SDK's retry modes, for [`StoreBuilder::retry_mode`].
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use aws_sdk_dynamodb::config::retry::RetryMode;
