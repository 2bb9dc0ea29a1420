//! The registry behind `T::cache(&store)`: one shared cache per `Cached` type per store, kept
//! in the store's opaque extensions.

use std::sync::Arc;

use super::{Cache, Cached, Shared};
use crate::Store;

/// The shared state of `T`'s cache on one store.
struct Registered<T>(Arc<Shared<T>>);

/// The store's cache for `T`, sharing its state with every other call for `T` on the store.
pub(crate) fn shared_cache<T: Cached>(store: &Store) -> Cache<T> {
    let config = T::config();
    let registered = store
        .extensions()
        .get_or_insert_with(|| Registered::<T>(Arc::new(Shared::new(&config, store))));
    Cache::with_shared(store, &config, registered.0.clone())
}
