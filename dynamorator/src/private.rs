//! What `#[derive(Cached)]` expands to reaches the crate through here. Not public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Cache, Cached, Store};

/// The bounds a cached value needs, in one name for the generated `where` clause.
pub trait CacheValue: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> CacheValue for T {}

/// `T::cache(store)` for a type whose `#[cache(...)]` asks for an L1 (which needs `Clone`).
pub fn cache_with_l1<T: Cached + Clone>(store: &Store) -> Cache<T> {
    #[cfg(feature = "l1")]
    if let Some(l1) = T::CONFIG.l1 {
        return store.shared_cache::<T>(|| crate::cache::Shared::with_l1(l1, T::clone));
    }
    store.shared_cache::<T>(crate::cache::Shared::new)
}
