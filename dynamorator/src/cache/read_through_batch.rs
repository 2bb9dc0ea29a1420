//! Batch read-through (`get_many_or_insert_with`, `get_many_or_insert_values`): one loader
//! call for a call's missing keys, shared key by key with concurrent calls and, with leases,
//! with other processes; stale keys met by separate calls refreshed together in a window. The
//! flow is the read-through engine's (`engine::batch`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Cache;
use super::engine::BatchLoad;
use super::loaded::Loaded;
use crate::Error;
use crate::error::LoaderError;
use crate::store::distinct_keys;

/// Batch read-through.
impl<T> Cache<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The batch read-through of a product cache: reads every key, calls `loader` **once** with
    /// exactly the keys that are missing (and no other call in this process is loading), stores
    /// what it returns in batch writes and returns everything found and loaded. Keys the loader
    /// does not return are left out; keys it returns that were not asked for are ignored. The
    /// loader is not called when nothing is missing or stale.
    ///
    /// Concurrent calls in this process share loads key by key: each key goes to one loader
    /// while its load is in flight, however calls overlap. A call whose missing keys another
    /// call is loading waits for that load and reads what it stored; if that load fails (or
    /// the store could not take its values), the key is handed to the oldest waiting call,
    /// which loads it in its one loader call.
    ///
    /// With a [stale window](crate::CacheConfig::stale_for), stale values are returned; a call
    /// with missing keys loads its stale keys with them, in its one loader call; a call with
    /// only stale keys hands them, and its loader, to a background batch refresh, which other
    /// calls' stale keys join within the [refresh window](crate::CacheConfig::refresh_window).
    /// So a refresh may load keys another call met, with this call's loader: a cache's batch
    /// loaders must be interchangeable (they load the same thing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use std::collections::HashMap;
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let prices: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// prices.put("a", &1).await?;
    /// let all = prices
    ///     .get_many_or_insert_with(["a", "b"], |missing| async move {
    ///         assert_eq!(missing, vec!["b".to_owned()]);
    ///         Ok::<_, std::io::Error>(HashMap::from([("b".to_owned(), 2)]))
    ///     })
    ///     .await?;
    /// assert_eq!(all, HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key before anything else; [`Error::Loader`] when the loader fails, or
    /// [`Error::LoaderTimeout`] at the hard timeout, unless every key it was loading has a
    /// fallback value (nothing is stored). Store failures are logged and counted; keys the
    /// store could not read count as missing.
    #[must_use = "the values, or the loader's error"]
    #[tracing::instrument(
        name = "dynamorator.read_through",
        level = "info",
        skip_all,
        fields(dynamorator.cache = %self.counters().name, dynamorator.keys)
    )]
    pub async fn get_many_or_insert_with<K, F, Fut, V, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        loader: F,
    ) -> Result<HashMap<String, T>, Error>
    where
        T: Clone,
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<String, V>, E>> + Send + 'static,
        V: Into<Loaded<T>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let keys = distinct_keys(keys, |key| self.keys.validate(key))?;
        tracing::Span::current().record("dynamorator.keys", keys.len());
        let values = self
            .read_through_many(keys, user_batch_load(loader))
            .await?;
        Ok(into_values(values))
    }
    /// [`get_many_or_insert_with`](Cache::get_many_or_insert_with) for a loader that returns
    /// the values themselves, `HashMap<String, T>`: the compiler then knows the values' type
    /// inside the loader, which a loader free to return `T` or [`Loaded<T>`] does not tell it
    /// (`k.parse().unwrap()` as a value needs no annotation here).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use std::collections::HashMap;
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// let numbers: Cache<u64> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let read = numbers
    ///     .get_many_or_insert_values(["1", "22"], |missing| async move {
    ///         let mut loaded = HashMap::new();
    ///         for key in missing {
    ///             let parsed = key.parse().map_err(std::io::Error::other)?;
    ///             loaded.insert(key, parsed);
    ///         }
    ///         Ok::<_, std::io::Error>(loaded)
    ///     })
    ///     .await?;
    /// assert_eq!(read["22"], 22);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_many_or_insert_with`](Cache::get_many_or_insert_with).
    #[must_use = "the values, or the loader's error"]
    pub async fn get_many_or_insert_values<K, F, Fut, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        loader: F,
    ) -> Result<HashMap<String, T>, Error>
    where
        T: Clone,
        K: AsRef<str>,
        F: FnOnce(Vec<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<HashMap<String, T>, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.get_many_or_insert_with(keys, loader).await
    }
}

/// A batch loader boxed, so a refresh window can keep it whatever its type.
fn user_batch_load<T, F, Fut, V, E>(loader: F) -> BatchLoad<T>
where
    F: FnOnce(Vec<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<HashMap<String, V>, E>> + Send + 'static,
    V: Into<Loaded<T>>,
    E: std::error::Error + Send + Sync + 'static,
{
    Box::new(move |keys| {
        Box::pin(async move {
            match loader(keys).await {
                Ok(values) => Ok(values
                    .into_iter()
                    .map(|(key, value)| (key, value.into()))
                    .collect()),
                Err(error) => Err(Error::Loader(LoaderError::new(error))),
            }
        })
    })
}

fn into_values<T: Clone>(values: HashMap<String, Arc<T>>) -> HashMap<String, T> {
    values
        .into_iter()
        .map(|(key, value)| (key, Arc::unwrap_or_clone(value)))
        .collect()
}
