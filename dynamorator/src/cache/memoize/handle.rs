//! A memoised function's cache: one per stored prefix per store, kept in the store's
//! extensions; and the handle of it each call site keeps, built once per store and thread, so
//! a call that finds its value in the L1 takes no lock and builds nothing.
//!
//! The site's handle names its store by [`StoreId`], which does not keep the store open, and
//! holds the shared state weakly: a dropped store takes its caches with it. A site called with
//! another store (or, in a generic impl, for another `Self` or value type) looks that one up in
//! the store's registry and keeps it instead; the previous one is built again when it comes
//! back.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::LocalKey;

use super::call::BodyFailed;
use crate::__private::CacheValue;
use crate::cache::{Cache, CacheStats, FreshnessSettings, KeySpace, Shared};
use crate::codec::Codec;
use crate::store::StoreId;
use crate::{CacheConfig, Error, Store, Ttl};

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

/// What a call does with the cache. [`cache`] returns it where `V`'s bounds hold, so the calls
/// after it need none: an unmet bound is one error, on the value type. Statically dispatched.
pub trait MemoOps: Send + Sync {
    /// The memoised function's value type.
    type Value;

    /// The value for `key`, from the cache or from `load`, which runs the body.
    fn read_through<'a, F, Fut>(
        &'a self,
        key: &'a str,
        load: F,
    ) -> impl Future<Output = Result<Self::Value, Error>> + Send + 'a
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Arc<Self::Value>, BodyFailed>> + Send + 'static;

    /// Deletes the value stored for `key`, from the store and the L1.
    fn delete<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<(), Error>> + Send + 'a;

    /// The cache's statistics.
    fn stats(&self) -> CacheStats;

    /// A copy of a value the body returned, for its caller.
    fn clone_value(&self, value: &Self::Value) -> Self::Value;
}

impl<V: CacheValue + Clone> MemoOps for Cache<V> {
    type Value = V;

    fn read_through<'a, F, Fut>(
        &'a self,
        key: &'a str,
        load: F,
    ) -> impl Future<Output = Result<V, Error>> + Send + 'a
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Arc<V>, BodyFailed>> + Send + 'static,
    {
        self.get_or_insert_with(key, move || async move {
            load().await.map(Arc::unwrap_or_clone)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        Cache::delete(self, key)
    }

    fn stats(&self) -> CacheStats {
        Cache::stats(self)
    }

    fn clone_value(&self, value: &V) -> V {
        value.clone()
    }
}

/// Where a generated function keeps its cache's handle, one per thread (generated code
/// declares it with `thread_local!`): read without a lock or an atomic read-modify-write of a
/// line other threads write.
pub struct Site(RefCell<Option<Kept>>);

impl Site {
    /// Nothing kept yet.
    pub const fn new() -> Self {
        Site(RefCell::new(None))
    }
}

impl Default for Site {
    fn default() -> Self {
        Site::new()
    }
}

/// The handle a site keeps: for which store and which `Self` (`variant`), and the cache
/// without its store (a `Detached<V>`).
struct Kept {
    store: StoreId,
    variant: &'static str,
    cache: Box<dyn Any>,
}

/// A cache without its store, whose shared state the store's registry owns.
struct Detached<V> {
    ttl: Ttl,
    freshness: FreshnessSettings,
    codec: Codec,
    keys: KeySpace,
    shared: Weak<Shared<V>>,
}

impl<V: 'static> Detached<V> {
    fn of(cache: &Cache<V>) -> Self {
        Detached {
            ttl: cache.ttl,
            freshness: cache.freshness,
            codec: cache.codec,
            keys: cache.keys.clone(),
            shared: Arc::downgrade(&cache.shared),
        }
    }

    /// The cache on `store`, unless the store has dropped it since.
    fn attach(&self, store: &Store) -> Option<Cache<V>> {
        Some(Cache {
            store: store.clone(),
            ttl: self.ttl,
            freshness: self.freshness,
            codec: self.codec,
            keys: self.keys.clone(),
            shared: self.shared.upgrade()?,
            _values: PhantomData,
        })
    }
}

impl Site {
    fn find<V: 'static>(&self, store: &Store, variant: &'static str) -> Option<Cache<V>> {
        let kept = self.0.borrow();
        let kept = kept.as_ref()?;
        if !store.is(&kept.store) || kept.variant != variant {
            return None;
        }
        kept.cache.downcast_ref::<Detached<V>>()?.attach(store)
    }

    fn keep<V: 'static>(&self, store: &Store, variant: &'static str, cache: &Cache<V>) {
        *self.0.borrow_mut() = Some(Kept {
            store: store.id(),
            variant,
            cache: Box::new(Detached::of(cache)),
        });
    }
}

/// The store's cache for the memoised function whose settings `config` makes, shared by every
/// call on that store; kept at `site` for the next call. `variant` tells apart what one site
/// serves in a generic impl (`Self`'s type name; empty elsewhere). The one call of generated
/// code that needs the value type's bounds: every generated function makes it first, on the
/// value type's token, so an unmet bound is the same error in each and reported once.
pub fn cache<V: CacheValue + Clone>(
    site: &'static LocalKey<Site>,
    store: &Store,
    variant: &'static str,
    config: impl FnOnce() -> CacheConfig,
) -> impl MemoOps<Value = V> {
    // `try_with` fails only while the thread's locals are destroyed: then the registry answers.
    if let Some(cache) = site
        .try_with(|site| site.find::<V>(store, variant))
        .ok()
        .flatten()
    {
        return cache;
    }
    let cache = registered::<V>(store, &config());
    let _ = site.try_with(|site| site.keep(store, variant, &cache));
    cache
}

/// The function's cache on `store`, from the store's registry of memoised functions' caches.
fn registered<V: CacheValue>(store: &Store, config: &CacheConfig) -> Cache<V> {
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
    Cache::with_shared(store, config, shared)
}

/// The key as stored in the table: the cache's prefix, then the digest.
pub fn stored_key(config: &CacheConfig, key: Result<String, Error>) -> Result<String, Error> {
    key.map(|digest| format!("{}{digest}", config.key_prefix()))
}

/// Deletes the value stored for one set of arguments, from the store and the L1.
pub async fn invalidate<C: MemoOps>(cache: C, key: Result<String, Error>) -> Result<(), Error> {
    cache.delete(&key?).await
}

/// The statistics of the function's cache.
pub fn stats<C: MemoOps>(cache: &C) -> CacheStats {
    cache.stats()
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SITE: Site = const { Site::new() };
    }

    fn config() -> CacheConfig {
        CacheConfig::new().prefix("site_test")
    }

    #[test]
    fn a_site_keeps_its_stores_shared_cache_for_that_store_and_variant_only() {
        let site = Site::new();
        let (one, two) = (Store::embedded(), Store::embedded());
        let cache = registered::<u32>(&one, &config());
        site.keep(&one, "", &cache);
        let found = site.find::<u32>(&one.clone(), "");
        assert!(found.is_some_and(|found| Arc::ptr_eq(&found.shared, &cache.shared)));
        assert!(site.find::<u32>(&two, "").is_none());
        assert!(site.find::<u64>(&one, "").is_none());
        assert!(site.find::<u32>(&one, "Other").is_none());
        // Two functions with one stored prefix on one store: one shared state.
        let twin = registered::<u32>(&one, &config());
        assert!(Arc::ptr_eq(&twin.shared, &cache.shared));
    }

    #[test]
    fn the_second_call_on_a_store_builds_nothing() {
        let store = Store::embedded();
        let _ = cache::<u32>(&SITE, &store, "", config);
        let _ = cache::<u32>(&SITE, &store, "", || unreachable!("kept at the site"));
        // Another store is looked up, then kept in its place.
        let other = Store::embedded();
        let _ = cache::<u32>(&SITE, &other, "", config);
        let _ = cache::<u32>(&SITE, &other, "", || unreachable!("kept at the site"));
    }

    #[test]
    fn a_dropped_stores_cache_is_not_kept_alive_by_the_site() {
        let site = Site::new();
        let store = Store::embedded();
        let cache = registered::<u32>(&store, &config());
        site.keep(&store, "", &cache);
        let shared = Arc::downgrade(&cache.shared);
        drop((cache, store));
        assert!(shared.upgrade().is_none());
    }
}
