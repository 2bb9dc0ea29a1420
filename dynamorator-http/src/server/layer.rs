//! [`ResponseCacheLayer`]: the tower layer, and what its services share.

use std::sync::Arc;

use dynamorator::{Cache, CacheStats, Clock, Store};
use tower_layer::Layer;

use super::cached_response::CachedResponse;
use super::config::ResponseCacheConfig;
use super::service::ResponseCache;
use super::stats::{Counters, ResponseCacheStats};

/// The key prefix of cached responses when the config names none.
const DEFAULT_PREFIX: &str = "http-response";

/// A [`tower_layer::Layer`] that caches responses in a typed cache on a store: one handler run
/// per key (per fleet with [leases](dynamorator::CacheConfig::leases)), stale and fail-safe
/// answers as [`ResponseCacheConfig::cache`] sets them, `Age` and `x-cache` headers.
///
/// A request is for the cache when its method is one of the config's (`GET`, `HEAD`) and it
/// has no `Range` and no `Authorization` (unless the key holds it). Its key is its method,
/// path, query and the [chosen headers](ResponseCacheConfig::vary_on). The first request of a
/// key runs the handler; the response is stored when its status and headers allow it (a 2xx,
/// no `no-store`, `no-cache` or `private`, no `Set-Cookie`, no `Vary` on a header the key
/// does not hold: see [`ResponseCacheConfig`]),
/// else it goes to that request alone. A 5xx is a failed load: a stale or fail-safe value
/// answers instead when there is one, else the 5xx itself.
///
/// The cache never fails a request: when the store fails, the handler answers (the failure is
/// logged and counted in [`stats`](Self::stats)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::get};
/// use dynamorator::Store;
/// use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
/// use tower::ServiceExt as _;
///
/// let layer = ResponseCacheLayer::new(&Store::embedded(), ResponseCacheConfig::new());
/// let app = Router::new().route("/hello", get(|| async { "hello" })).layer(layer.clone());
///
/// let request = || http::Request::get("/hello").body(axum::body::Body::empty());
/// let first = app.clone().oneshot(request()?).await?;
/// assert_eq!(first.headers()["x-cache"], "MISS");
/// let second = app.oneshot(request()?).await?;
/// assert_eq!(second.headers()["x-cache"], "HIT");
/// assert_eq!(layer.stats().hits, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ResponseCacheLayer {
    shared: Arc<Shared>,
}

/// What a layer and all its services share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ResponseCacheConfig,
    pub(crate) cache: Cache<CachedResponse>,
    pub(crate) clock: Clock,
    pub(crate) counters: Counters,
}

impl ResponseCacheLayer {
    /// A layer caching in `store` with these settings.
    ///
    /// ```
    /// use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
    /// let layer = ResponseCacheLayer::new(&dynamorator::Store::embedded(), ResponseCacheConfig::new());
    /// ```
    pub fn new(store: &Store, config: ResponseCacheConfig) -> Self {
        let mut cache_config = config.cache.clone().ttl(config.ttl).split(true);
        if cache_config.key_prefix().is_empty() {
            cache_config = cache_config.prefix(DEFAULT_PREFIX);
        }
        ResponseCacheLayer {
            shared: Arc::new(Shared {
                cache: Cache::new(store, cache_config),
                clock: store.clock().clone(),
                counters: Counters::default(),
                config,
            }),
        }
    }

    /// How the layer's services answered so far.
    ///
    /// ```
    /// # use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
    /// let layer = ResponseCacheLayer::new(&dynamorator::Store::embedded(), ResponseCacheConfig::new());
    /// assert_eq!(layer.stats().misses, 0);
    /// ```
    pub fn stats(&self) -> ResponseCacheStats {
        self.shared.counters.snapshot()
    }

    /// The statistics of the typed cache under the layer (handler runs are its
    /// `loader_calls`; store errors, stale and fail-safe answers, refreshes).
    ///
    /// ```
    /// # use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
    /// let layer = ResponseCacheLayer::new(&dynamorator::Store::embedded(), ResponseCacheConfig::new());
    /// assert_eq!(layer.cache_stats().loader_calls, 0);
    /// ```
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.cache.stats()
    }

    /// Waits until the background refreshes started so far (stale-while-revalidate) are done.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
    /// let layer = ResponseCacheLayer::new(&dynamorator::Store::embedded(), ResponseCacheConfig::new());
    /// layer.wait_for_refreshes().await;
    /// # }
    /// ```
    pub async fn wait_for_refreshes(&self) {
        self.shared.cache.wait_for_refreshes().await;
    }
}

impl<S> Layer<S> for ResponseCacheLayer {
    type Service = ResponseCache<S>;

    fn layer(&self, inner: S) -> ResponseCache<S> {
        ResponseCache::new(inner, self.shared.clone())
    }
}
