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
    /// The value of type `V`, made by `make` the first time.
    pub(crate) fn get_or_insert_with<V: Any + Send + Sync>(
        &self,
        make: impl FnOnce() -> V,
    ) -> Arc<V> {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        // Keyed by the type, so the downcast holds; were it ever not to, the entry is replaced.
        if let Some(value) = values
            .get(&TypeId::of::<V>())
            .and_then(|entry| entry.clone().downcast::<V>().ok())
        {
            return value;
        }
        let value = Arc::new(make());
        values.insert(TypeId::of::<V>(), value.clone() as Entry);
        value
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
}
