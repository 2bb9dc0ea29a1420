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
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::LocalKey;

use super::call::BodyFailed;
use super::key::MemoKey;
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

/// A boxed future borrowing the cache: only a call that does not find a fresh value in the L1
/// makes one.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A body's outcome as the cache loads it: shared with the caller, so in an `Arc`.
pub(super) type Load<V> = Boxed<'static, Result<Arc<V>, BodyFailed>>;

/// What a call does with the cache, fixed where `V`'s bounds hold ([`cache`]): the calls after
/// it need none, so an unmet bound is one error, on the value type. Implemented by a type with
/// no data, so the handle's box of it allocates nothing.
trait Operations<V>: Send + Sync {
    /// The value held fresh in the L1, as the full read-through would answer it.
    fn fresh(&self, cache: &Cache<V>, key: &str) -> Option<V>;
    fn read_through<'a>(
        &self,
        cache: &'a Cache<V>,
        key: &'a str,
        load: Load<V>,
    ) -> Boxed<'a, Result<V, Error>>;
    fn delete<'a>(&self, cache: &'a Cache<V>, key: &'a str) -> Boxed<'a, Result<(), Error>>;
    fn stats(&self, cache: &Cache<V>) -> CacheStats;
    fn clone_value(&self, value: &V) -> V;
}

/// The operations of a `V` whose bounds hold.
struct Bounded<V>(PhantomData<fn() -> V>);

impl<V: CacheValue + Clone> Operations<V> for Bounded<V> {
    fn fresh(&self, cache: &Cache<V>, key: &str) -> Option<V> {
        cache.fresh_hit(key).map(Arc::unwrap_or_clone)
    }

    fn read_through<'a>(
        &self,
        cache: &'a Cache<V>,
        key: &'a str,
        load: Load<V>,
    ) -> Boxed<'a, Result<V, Error>> {
        Box::pin(cache.get_or_insert_with(key, move || async move {
            load.await.map(Arc::unwrap_or_clone)
        }))
    }

    fn delete<'a>(&self, cache: &'a Cache<V>, key: &'a str) -> Boxed<'a, Result<(), Error>> {
        Box::pin(cache.delete(key))
    }

    fn stats(&self, cache: &Cache<V>) -> CacheStats {
        cache.stats()
    }

    fn clone_value(&self, value: &V) -> V {
        value.clone()
    }
}

/// A memoised function's cache on its store, as generated code holds it: a type whose use
/// asks nothing of `V`.
pub struct MemoCache<V> {
    cache: Cache<V>,
    operations: Box<dyn Operations<V>>,
}

impl<V> MemoCache<V> {
    pub(super) fn fresh(&self, key: &str) -> Option<V> {
        self.operations.fresh(&self.cache, key)
    }

    pub(super) fn read_through<'a>(
        &'a self,
        key: &'a str,
        load: Load<V>,
    ) -> Boxed<'a, Result<V, Error>> {
        self.operations.read_through(&self.cache, key, load)
    }

    pub(super) fn clone_value(&self, value: &V) -> V {
        self.operations.clone_value(value)
    }
}

impl<V: CacheValue + Clone> MemoCache<V> {
    fn new(cache: Cache<V>) -> Self {
        MemoCache {
            cache,
            operations: Box::new(Bounded(PhantomData)),
        }
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
) -> MemoCache<V> {
    // `try_with` fails only while the thread's locals are destroyed: then the registry answers.
    if let Some(cache) = site
        .try_with(|site| site.find::<V>(store, variant))
        .ok()
        .flatten()
    {
        return MemoCache::new(cache);
    }
    let cache = registered::<V>(store, &config());
    let _ = site.try_with(|site| site.keep(store, variant, &cache));
    MemoCache::new(cache)
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
pub fn stored_key(config: &CacheConfig, key: Result<MemoKey, Error>) -> Result<String, Error> {
    let key = key?;
    let prefix = config.key_prefix();
    let mut stored = String::with_capacity(prefix.len() + key.as_str().len());
    stored.push_str(&prefix);
    stored.push_str(key.as_str());
    Ok(stored)
}

/// The value of a call whose key finds it fresh in the L1, as the read-through would answer
/// it: what generated code checks first, before it copies the arguments for the body or
/// builds any future, so that such a call is the key, one L1 read and a clone of the value.
pub fn fresh<V>(cache: &MemoCache<V>, key: &Result<MemoKey, Error>) -> Option<V> {
    cache.fresh(key.as_ref().ok()?.as_str())
}

/// Deletes the value stored for one set of arguments, from the store and the L1.
pub async fn invalidate<V>(cache: MemoCache<V>, key: Result<MemoKey, Error>) -> Result<(), Error> {
    let key = key?;
    cache.operations.delete(&cache.cache, key.as_str()).await
}

/// The statistics of the function's cache.
pub fn stats<V>(cache: &MemoCache<V>) -> CacheStats {
    cache.operations.stats(&cache.cache)
}

#[cfg(test)]
mod tests {
    use super::super::KeyArgs;
    use super::*;
    use crate::L1Config;

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

    #[tokio::test(flavor = "current_thread")]
    async fn a_fresh_value_in_the_l1_answers_at_once_and_counts_one_hit() {
        let store = Store::embedded();
        let cached = || CacheConfig::new().prefix("fresh_test").l1(L1Config::new());
        let cache = cache::<u32>(&SITE, &store, "", cached);
        let key = KeyArgs::new().finish();
        assert_eq!(fresh(&cache, &key), None, "nothing held yet");
        let load: Load<u32> = Box::pin(async { Ok(Arc::new(7)) });
        let loaded = cache
            .read_through(key.as_ref().unwrap().as_str(), load)
            .await;
        assert_eq!(loaded.unwrap(), 7);
        let before = stats(&cache).l1_hits;
        assert_eq!(fresh(&cache, &key), Some(7));
        assert_eq!(stats(&cache).l1_hits, before + 1);
        // A key that could not be built is never an answer.
        let failed = Err(Error::EmptyKey);
        assert_eq!(fresh(&cache, &failed), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_due_generation_poll_leaves_the_answer_to_the_read_through() {
        let store = Store::embedded();
        let config = CacheConfig::new()
            .prefix("fleet_test")
            .l1(L1Config::new())
            .fleet_clear(std::time::Duration::from_secs(3600));
        let cache = MemoCache::new(registered::<u32>(&store, &config));
        let key = KeyArgs::new().finish();
        // Not polled yet: the poll is due, so the L1 alone cannot answer.
        assert!(cache.cache.generation_due());
        let load: Load<u32> = Box::pin(async { Ok(Arc::new(7)) });
        let loaded = cache
            .read_through(key.as_ref().unwrap().as_str(), load)
            .await;
        assert_eq!(loaded.unwrap(), 7);
        // Polled by that read-through: now the L1 answers.
        assert!(!cache.cache.generation_due());
        assert_eq!(fresh(&cache, &key), Some(7));
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
