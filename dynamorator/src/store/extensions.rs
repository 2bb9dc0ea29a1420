//! An opaque map of values by type, kept per store for the layers above (as `http::Extensions`
//! is kept per request): the store stores them and knows nothing of what they are.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

type Entry = Arc<dyn Any + Send + Sync>;

/// Values by their type, one per type.
#[derive(Default)]
pub(crate) struct Extensions {
    values: Mutex<HashMap<TypeId, Entry>>,
}

impl Extensions {
    /// The value of type `V`, made by `make` the first time. `make` runs without the map's
    /// lock held, so it may itself look up other values (a cache's state takes the store's
    /// circuit breaker); when two callers make one at once, the first inserted wins.
    pub(crate) fn get_or_insert_with<V: Any + Send + Sync>(
        &self,
        make: impl FnOnce() -> V,
    ) -> Arc<V> {
        if let Some(value) = self.get::<V>() {
            return value;
        }
        let made = Arc::new(make());
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = values
            .get(&TypeId::of::<V>())
            .and_then(|entry| entry.clone().downcast::<V>().ok())
        {
            return value;
        }
        values.insert(TypeId::of::<V>(), made.clone() as Entry);
        made
    }

    fn get<V: Any + Send + Sync>(&self) -> Option<Arc<V>> {
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        // Keyed by the type, so the downcast holds; were it ever not to, the entry is replaced.
        values
            .get(&TypeId::of::<V>())
            .and_then(|entry| entry.clone().downcast::<V>().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type() {
        let extensions = Extensions::default();
        let a = extensions.get_or_insert_with(|| 1u32);
        let b = extensions.get_or_insert_with(|| 2u32);
        let c = extensions.get_or_insert_with(|| "text");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((*a, *c), (1, "text"));
    }

    #[test]
    fn making_a_value_may_look_up_another() {
        let extensions = Extensions::default();
        let outer =
            extensions.get_or_insert_with(|| u16::from(*extensions.get_or_insert_with(|| 7u8)) + 1);
        assert_eq!((*outer, *extensions.get_or_insert_with(|| 0u8)), (8, 7));
    }
}
