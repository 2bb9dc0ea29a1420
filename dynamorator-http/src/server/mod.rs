//! The server side: a tower layer that caches a service's responses in a typed cache.
//!
//! A request flows: [`layer`] (makes the service) → [`service`] (per request: eligible or not,
//! its key, one read-through of the cache) → [`load`] (runs the inner service for a miss and
//! asks [`policy`] whether its response may be stored) → [`cached_response`] (the stored form)
//! → [`body`] (what the caller's response carries).

mod body;
mod cached_response;
mod config;
mod key;
mod layer;
mod load;
mod policy;
mod service;
mod stats;
mod status;

pub use body::ResponseBody;
pub use config::ResponseCacheConfig;
pub use layer::ResponseCacheLayer;
pub use service::ResponseCache;
pub use stats::ResponseCacheStats;
pub use status::CacheStatus;
