//! A memoised function's cache: one per stored prefix per store, kept in the store's
//! extensions, and the handle generated code reaches it through.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use crate::__private::CacheValue;
use crate::cache::{Cache, CacheStats, Shared};
use crate::{CacheConfig, Error, Store};

/// The caches of memoised functions returning `V` on one store, by stored prefix (`prefix:` or
/// `prefix:v{version}:`): where the values are stored is what the cache is, so functions that
/// share a stored prefix share the cache too (and each instantiation of a generic impl, whose
/// default prefix names its type, has its own).
struct MemoCaches<V>(Mutex<HashMap<String, Arc<Shared<V>>>>);

impl<V> Default for MemoCaches<V> {
    fn default() -> Self {
        MemoCaches(Mutex::default())
    }
}

/// A boxed future borrowing the cache.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A body's outcome as the cache loads it: shared with the caller, so in an `Arc`.
pub(super) type Load<V> = Boxed<'static, Result<Arc<V>, super::call::BodyFailed>>;

/// What a call does with the cache, fixed where `V`'s bounds hold ([`cache`]): the calls after
/// it need none, so an unmet bound is one error, on the value type.
trait Operations<V>: Send + Sync {
    fn read_through<'a>(&'a self, key: &'a str, load: Load<V>) -> Boxed<'a, Result<V, Error>>;
    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), Error>>;
    fn stats(&self) -> CacheStats;
    fn clone_value(&self, value: &V) -> V;
}

impl<V: CacheValue + Clone> Operations<V> for Cache<V> {
    fn read_through<'a>(&'a self, key: &'a str, load: Load<V>) -> Boxed<'a, Result<V, Error>> {
        Box::pin(self.get_or_insert_with(key, move || async move {
            load.await.map(Arc::unwrap_or_clone)
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, Result<(), Error>> {
        Box::pin(Cache::delete(self, key))
    }

    fn stats(&self) -> CacheStats {
        Cache::stats(self)
    }

    fn clone_value(&self, value: &V) -> V {
        value.clone()
    }
}

/// A memoised function's cache on its store, as generated code holds it.
pub struct MemoCache<V>(Box<dyn Operations<V>>);

impl<V> MemoCache<V> {
    pub(super) fn read_through<'a>(
        &'a self,
        key: &'a str,
        load: Load<V>,
    ) -> Boxed<'a, Result<V, Error>> {
        self.0.read_through(key, load)
    }

    pub(super) fn clone_value(&self, value: &V) -> V {
        self.0.clone_value(value)
    }
}

/// The store's cache for the memoised function configured by `config`, shared by every call
/// on that store. The one call of generated code that needs the value type's bounds: every
/// generated function makes it first, on the value type's token, so an unmet bound is the
/// same error in each and reported once.
pub fn cache<V: CacheValue + Clone>(store: &Store, config: &CacheConfig) -> MemoCache<V> {
    let caches = store
        .extensions()
        .get_or_insert_with(MemoCaches::<V>::default);
    let shared = caches
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(config.key_prefix())
        .or_insert_with(|| Arc::new(Shared::new(config, store)))
        .clone();
    MemoCache(Box::new(Cache::with_shared(store, config, shared)))
}

/// The key as stored in the table: the cache's prefix, then the digest.
pub fn stored_key(config: &CacheConfig, key: Result<String, Error>) -> Result<String, Error> {
    key.map(|digest| format!("{}{digest}", config.key_prefix()))
}

/// Deletes the value stored for one set of arguments, from the store and the L1.
pub async fn invalidate<V>(cache: MemoCache<V>, key: Result<String, Error>) -> Result<(), Error> {
    cache.0.delete(&key?).await
}

/// The statistics of the function's cache.
pub fn stats<V>(cache: &MemoCache<V>) -> CacheStats {
    cache.0.stats()
}
