//! HTTP caching on a [`dynamorator`] store, shared by every process that shares the
//! store: a DynamoDB table across a fleet, or an embedded file across the processes of one
//! machine.
//!
//! Two sides, one feature each (both on by default, with the library's DynamoDB backend):
//!
//! - **`client`**: [`DynamoratorManager`], an [`http_cache::CacheManager`] on a store, for the
//!   cache middleware of [`reqwest-middleware`](https://docs.rs/reqwest-middleware)
//!   ([`http-cache-reqwest`](https://docs.rs/http-cache-reqwest)). The HTTP semantics
//!   (freshness, `ETag`/`Last-Modified` revalidation, `Vary`) stay http-cache's; the manager
//!   keeps each response as long as its policy says, plus a window to revalidate it.
//! - **`server`**: [`ResponseCacheLayer`], a [`tower_layer::Layer`] that caches the responses
//!   of a service (an axum `Router` or route) in a typed [`Cache`](dynamorator::Cache): one
//!   handler run per key (across processes with leases), stale-while-revalidate and fail-safe
//!   answers as the typed cache gives them, and `Age` and `x-cache` headers.
//!
//! Both are fail-open: a store that fails is logged (`tracing`, target `dynamorator_http`) and
//! counted, and the request goes on as if there were no cache. Responses past DynamoDB's
//! 400 KB item limit are stored as split values.
//!
//! ```
//! # #[cfg(feature = "server")]
//! # {
//! use dynamorator::{CacheConfig, Store, Ttl};
//! use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
//!
//! let store = Store::embedded(); // or a table: Store::builder().table("http-cache").build().await?
//! let layer = ResponseCacheLayer::new(
//!     &store,
//!     ResponseCacheConfig::new()
//!         .ttl(Ttl::minutes(5))
//!         .cache(CacheConfig::new().stale_for(Ttl::hours(1)).fail_safe_max(Ttl::days(1))),
//! );
//! // axum: Router::new().route("/products", get(list)).layer(layer)
//! # let _ = layer;
//! # }
//! ```
//!
//! The [`guide`] says what each side keeps, for how long, and what a fleet sees.
//!
//! # Cargo features
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | `client` | yes | [`DynamoratorManager`] (http-cache, http-cache-semantics) |
//! | `server` | yes | [`ResponseCacheLayer`] (tower's `Layer` and `Service` traits, http-body-util) |
//! | `dynamodb` | yes | the library's DynamoDB backend (`dynamorator/dynamodb`), for stores on a table; without it, the embedded stores only (unless the library's feature is on elsewhere) |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "client")]
mod client;
pub mod guide;
#[cfg(feature = "server")]
mod server;
#[cfg(any(feature = "client", feature = "server"))]
mod stored_bytes;
#[cfg(any(feature = "client", feature = "server"))]
mod stored_key;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{DynamoratorManager, ManagerOptions, ManagerStats};
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use server::{
    CacheStatus, ResponseBody, ResponseCache, ResponseCacheConfig, ResponseCacheLayer,
    ResponseCacheStats,
};
