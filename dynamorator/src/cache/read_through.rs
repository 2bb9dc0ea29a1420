//! Read-through memoisation: get a value, or compute it once, store it and return it; with
//! stale-while-revalidate, fail-safe fallbacks and loader timeouts.
//!
//! Fail-open: when the store fails, the value is still computed and returned (the failure is
//! logged and counted). The methods here check their keys and enter the read-through engine
//! (`engine`), whose policy decides what happens to each key, as follows; `read_through_batch`
//! has the batch form.
//!
//! Where a key is on its timeline decides what a read does:
//! - fresh: the value is returned;
//! - stale (past the TTL, inside the stale window): the value is returned at once and one
//!   background refresh loads a new one (single-key calls refresh with their own loader, one
//!   refresh per key at a time; batch calls gather stale keys met within the refresh window
//!   into one batch loader call);
//! - expired, or absent: the loader runs while the caller waits; an expired value still
//!   stored within the fail-safe maximum is the fallback if the load fails or times out.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use super::loaded::Loaded;
use crate::Error;

/// Read-through.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Returns the value under `key`, or runs `loader`, stores what it returns and returns
    /// that. Concurrent calls for the same key in this process share one run of one loader.
    ///
    /// With a [stale window](crate::CacheConfig::stale_for), a stale value is returned at once
    /// and `loader` refreshes it in the background; so the loader is `Send + 'static` (move
    /// what it needs into it). It returns `T`, or a [`Loaded<T>`] to choose its own horizons
    /// or not to be stored.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let squares: Cache<u64> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let value = squares.get_or_insert_with("12", || async { Ok::<_, std::io::Error>(144) }).await?;
    /// assert_eq!(value, 144);
    /// // The second call is a hit: the loader is not called.
    /// let again = squares
    ///     .get_or_insert_with("12", || async { Err::<u64, _>(std::io::Error::other("not called")) })
    ///     .await?;
    /// assert_eq!(again, 144);
    /// # Ok(()) }
    /// ```
    ///
    /// The loader's error type is any `std::error::Error + Send + Sync + 'static`; an
    /// `anyhow::Error` goes through `std::io::Error::other`.
    ///
    /// # Errors
    ///
    /// [`Error::Loader`] when the loader fails, or [`Error::LoaderTimeout`] when it passes the
    /// hard timeout, and there is no fallback value (nothing is stored; [`Error::loader_error`]
    /// gives the loader's error back typed); an invalid key. Store failures are not errors
    /// here: they are logged, counted, and the loader's value is returned.
    #[must_use = "the value, or the loader's error"]
    pub async fn get_or_insert_with<F, Fut, V, E>(&self, key: &str, loader: F) -> Result<T, Error>
    where
        T: Clone,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.get_arc_or_insert_with(key, loader)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`get_or_insert_with`](Cache::get_or_insert_with) returning the shared value, for types
    /// that are not `Clone` or are costly to clone.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Cache, CacheConfig, Store};
    /// let cache: Cache<Vec<u8>> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let blob = cache
    ///     .get_arc_or_insert_with("blob", || async { Ok::<_, std::io::Error>(vec![0; 1024]) })
    ///     .await?;
    /// assert_eq!(blob.len(), 1024);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_or_insert_with`](Cache::get_or_insert_with).
    #[must_use = "the value, or the loader's error"]
    #[tracing::instrument(
        name = "dynamorator.read_through",
        level = "info",
        skip_all,
        fields(dynamorator.cache = %self.counters().name, dynamorator.keys = 1)
    )]
    pub async fn get_arc_or_insert_with<F, Fut, V, E>(
        &self,
        key: &str,
        loader: F,
    ) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.keys.validate(key)?;
        self.read_through_one(key, loader).await
    }

    /// What [`get_arc_or_insert_with`](Cache::get_arc_or_insert_with) answers for `key` when
    /// it answers at once from the L1 (a valid key, no generation or feed poll due, a fresh
    /// value held), counted and traced as that call; `None` when it would do anything else,
    /// which then decides. For callers that keep their loader unbuilt until it may run (`#[memoize]`).
    pub(crate) fn fresh_hit(&self, key: &str) -> Option<Arc<T>> {
        if self.keys.validate(key).is_err() || self.generation_due() || self.feed_due() {
            return None;
        }
        let value = self.shared.l1.fresh(key, self.counters())?;
        // The span the full call has, for the same answer.
        let _span = tracing::info_span!(
            "dynamorator.read_through",
            dynamorator.cache = %self.counters().name,
            dynamorator.keys = 1
        );
        Some(value)
    }
}
