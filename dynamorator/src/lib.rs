//! A typed, fast, never-crashing JSON cache on Amazon DynamoDB.
//!
//! `dynamorator` stores JSON values by string key with a time-to-live each, in a DynamoDB table
//! laid out exactly as the Python package [`dynamorator`](https://pypi.org/project/dynamorator/)
//! lays it out, so Rust and Python services can share one table. Values over a threshold can be
//! gzipped; batch reads take any number of keys and run concurrently; expired items are misses
//! even before DynamoDB deletes them; and nothing the network or the stored data does can make
//! it panic.
//!
//! The same API runs on the embedded backend, in-process, with no AWS account:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dynamorator::Error> {
//! use dynamorator::{Store, Ttl};
//! use serde_json::{json, Value};
//!
//! let store = Store::builder().embedded().compress(true).build().await?;
//!
//! // Never-fail forms, like the Python package: failures are logged, not returned.
//! store.put("user:123", &json!({"name": "Alice", "score": 100}), Ttl::days(7.0)).await;
//! let user: Option<Value> = store.get("user:123").await;
//! assert_eq!(user.unwrap()["name"], "Alice");
//!
//! // Fallible forms say what went wrong.
//! let found = store.try_batch_get::<Value, _>(["user:123", "user:456"]).await?;
//! assert_eq!(found.found.len(), 1);
//! store.try_delete("user:123").await?;
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

#![warn(missing_docs)]

mod backend;
mod backoff;
mod batch_flights;
mod batch_read;
mod batch_write;
mod builder;
mod cache;
mod cache_config;
mod cache_write;
mod cached;
mod coalesce;
mod codec;
mod error;
mod item;
mod item_info;
mod key;
mod key_page;
#[cfg(feature = "l1")]
mod l1;
mod log;
mod read_through;
mod stats;
mod store;
mod ttl;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

pub use batch_read::BatchGet;
pub use builder::StoreBuilder;
pub use cache::Cache;
pub use cache_config::{CacheConfig, L1Config};
pub use cached::Cached;
pub use error::{BatchFailure, CorruptReason, Error};
pub use item_info::ItemInfo;
pub use key_page::KeyPage;
pub use stats::CacheStats;
pub use store::Store;
pub use ttl::Ttl;

/// Derives [`Cached`](trait@Cached) from `#[cache(...)]`; see the trait for the keys.
#[cfg(feature = "derive")]
pub use dynamorator_derive::Cached;

/// The SDK's retry modes, for [`StoreBuilder::retry_mode`].
pub use aws_sdk_dynamodb::config::retry::RetryMode;
