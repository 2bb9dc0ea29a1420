//! A store's identity that does not keep it open: what a memoised function's call site keys
//! its cache by, so a dropped store's backend (an open file, a client) goes when its last
//! handle does.

use std::sync::{Arc, Weak};

use super::{Inner, Store};

/// Names one store (all its clones) without keeping it alive. While this exists the store's
/// allocation is not reused, so no later store can be mistaken for it.
pub(crate) struct StoreId(Weak<Inner>);

impl Store {
    /// This store's identity.
    pub(crate) fn id(&self) -> StoreId {
        StoreId(Arc::downgrade(&self.inner))
    }

    /// Whether `id` names this store (or a clone of it).
    pub(crate) fn is(&self, id: &StoreId) -> bool {
        std::ptr::eq(id.0.as_ptr(), Arc::as_ptr(&self.inner))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn a_store_and_its_clones_share_one_identity() {
        let store = Store::embedded();
        let id = store.id();
        assert!(store.clone().is(&id));
        assert!(!Store::embedded().is(&id));
    }

    #[test]
    fn a_dropped_stores_identity_names_no_later_store() {
        let id = Store::embedded().id();
        // Made after the first is gone: its allocation cannot be the first's.
        let later = Store::embedded();
        assert!(!later.is(&id));
    }
}
