//! [`DynamoratorManager`]: http-cache's storage, on a store.

use std::sync::Arc;
use std::time::SystemTime;

use dynamorator::{Cache, Store};
use http_cache::{CacheManager, HttpResponse};
use http_cache_semantics::CachePolicy;

use super::entry::StoredExchange;
use super::options::ManagerOptions;
use super::stats::{Counters, ManagerStats};
use crate::stored_key::stored_key;

/// The key prefix of client responses when the options name none.
const DEFAULT_PREFIX: &str = "http-client";

/// An [`http_cache::CacheManager`] that keeps responses in a [`Store`]: every client on the
/// same table (or embedded file) shares one HTTP cache.
///
/// http-cache decides what is fresh, what to revalidate and what `Vary` means; this manager
/// keeps each response for as long as its policy leaves it fresh, plus a
/// [revalidation window](ManagerOptions::revalidation_window) when it can be revalidated.
/// A failing store is never the request's failure: a read that fails is a miss, a write or
/// delete that fails is skipped, each logged and counted ([`stats`](Self::stats)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use dynamorator::Store;
/// use dynamorator_http::DynamoratorManager;
/// use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
/// use reqwest_middleware::ClientBuilder;
///
/// let store = Store::embedded(); // a fleet: Store::builder().table("http-cache").build().await?
/// let manager = DynamoratorManager::new(&store);
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(Cache(HttpCache {
///         mode: CacheMode::Default,
///         manager: manager.clone(),
///         options: HttpCacheOptions::default(),
///     }))
///     .build();
/// // client.get("http://api.internal/products/1").send().await? — shared by every process.
/// # let _ = client;
/// assert_eq!(manager.stats().store_failures, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamoratorManager {
    responses: Cache<StoredExchange>,
    options: Arc<ManagerOptions>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for DynamoratorManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoratorManager")
            .field("responses", &self.responses)
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish()
    }
}

impl DynamoratorManager {
    /// A manager on `store` with the default [`ManagerOptions`].
    ///
    /// ```
    /// let manager = dynamorator_http::DynamoratorManager::new(&dynamorator::Store::embedded());
    /// ```
    pub fn new(store: &Store) -> Self {
        DynamoratorManager::with_options(store, ManagerOptions::new())
    }

    /// A manager on `store` with these options.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dynamorator_http::{DynamoratorManager, ManagerOptions};
    ///
    /// let options = ManagerOptions::new().revalidation_window(Duration::from_secs(600));
    /// let manager = DynamoratorManager::with_options(&dynamorator::Store::embedded(), options);
    /// ```
    pub fn with_options(store: &Store, options: ManagerOptions) -> Self {
        let mut config = options.cache.clone().split(true);
        if config.key_prefix().is_empty() {
            config = config.prefix(DEFAULT_PREFIX);
        }
        DynamoratorManager {
            responses: Cache::new(store, config),
            options: Arc::new(options),
            counters: Arc::default(),
        }
    }

    /// What this manager (and its clones) did so far.
    ///
    /// ```
    /// let manager = dynamorator_http::DynamoratorManager::new(&dynamorator::Store::embedded());
    /// assert_eq!(manager.stats().hits, 0);
    /// ```
    pub fn stats(&self) -> ManagerStats {
        self.counters.snapshot()
    }

    /// The stored key of http-cache's key.
    fn key(cache_key: &str) -> String {
        stored_key(cache_key.as_bytes())
    }
}

impl CacheManager for DynamoratorManager {
    async fn get(
        &self,
        cache_key: &str,
    ) -> http_cache::Result<Option<(HttpResponse, CachePolicy)>> {
        match self.responses.get(&Self::key(cache_key)).await {
            Ok(Some(entry)) => {
                Counters::add(&self.counters.hits);
                Ok(Some(entry.into_parts()))
            }
            Ok(None) => {
                Counters::add(&self.counters.misses);
                Ok(None)
            }
            Err(error) => {
                Counters::add(&self.counters.store_failures);
                tracing::warn!(%error, "http cache read failed; answering as a miss");
                Ok(None)
            }
        }
    }

    async fn put(
        &self,
        cache_key: String,
        response: HttpResponse,
        policy: CachePolicy,
    ) -> http_cache::Result<HttpResponse> {
        let fresh = policy.time_to_live(SystemTime::now());
        let has_validator = response.headers.get("etag").is_some()
            || response.headers.get("last-modified").is_some();
        let Some(ttl) = self.options.keep_for(fresh, has_validator) else {
            Counters::add(&self.counters.not_stored);
            return Ok(response);
        };
        let entry = StoredExchange::new(response, policy);
        match self
            .responses
            .with_ttl(ttl)
            .put(&Self::key(&cache_key), &entry)
            .await
        {
            Ok(()) => Counters::add(&self.counters.stored),
            Err(error) => {
                Counters::add(&self.counters.store_failures);
                tracing::warn!(%error, "http cache write failed; the response is not cached");
            }
        }
        Ok(entry.into_parts().0)
    }

    async fn delete(&self, cache_key: &str) -> http_cache::Result<()> {
        if let Err(error) = self.responses.delete(&Self::key(cache_key)).await {
            Counters::add(&self.counters.store_failures);
            tracing::warn!(%error, "http cache delete failed");
        }
        Ok(())
    }
}
