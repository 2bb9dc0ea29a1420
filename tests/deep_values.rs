//! A value nested deeper than any reader reads (serde_json reads 127 levels) is refused on
//! the way in, with an error, never a stack overflow: `put`, `put_many`, a typed cache's `put`,
//! a memoised function's result and its arguments, from a default tokio worker, on every
//! backend.

mod support;

on_every_backend!(suite:
    writes_refuse_a_value_nested_ten_thousand_deep,
    a_value_nested_to_the_limit_is_written_and_read_back,
);

mod suite {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use dynamorator::{Cache, CacheConfig, Error, Store, Ttl, memoize};
    use serde::de::IgnoredAny;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Value, json};

    use crate::support::TestBackend;

    /// `[[[...1...]]]`, `levels` deep, built without recursion.
    fn nested(levels: usize) -> Value {
        let mut value = json!(1);
        for _ in 0..levels {
            value = Value::Array(vec![value]);
        }
        value
    }

    /// Takes a nested value apart level by level, so dropping it does not recurse.
    fn dismantle(mut value: Value) {
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }

    fn refused<T: std::fmt::Debug>(outcome: Result<T, Error>) {
        match outcome {
            Err(error @ Error::Serialize(_)) => {
                let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
                assert!(chain.contains("127 levels"), "{chain}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// A caller's type that serialises `.0` levels deep (by recursion, as any nested type
    /// does): cheap to clone and drop, however deep.
    #[derive(Debug, Clone, PartialEq)]
    struct Deep(usize);

    impl Serialize for Deep {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if self.0 == 0 {
                return serializer.serialize_u64(1);
            }
            let mut seq = serializer.serialize_seq(Some(1))?;
            seq.serialize_element(&Deep(self.0 - 1))?;
            seq.end()
        }
    }

    impl<'de> Deserialize<'de> for Deep {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            IgnoredAny::deserialize(deserializer).map(|_| Deep(0))
        }
    }

    static STORE: OnceLock<Store> = OnceLock::new();
    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn store() -> &'static Store {
        STORE.get().expect("set by the test")
    }

    #[memoize(store = store(), ttl_secs = 60, prefix = "deep")]
    async fn deep_result(levels: usize) -> Result<Deep, std::io::Error> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(Deep(levels))
    }

    #[memoize(store = store(), ttl_secs = 60, prefix = "deep-arg")]
    async fn one_for(value: Deep) -> Result<usize, std::io::Error> {
        let _ = value;
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(1)
    }

    pub async fn writes_refuse_a_value_nested_ten_thousand_deep(backend: TestBackend) {
        let store = backend.store().await;
        let deep = nested(10_000);
        refused(store.put("deep", &deep, Ttl::hours(1)).await);
        refused(
            store
                .put_many([("a", &json!(1)), ("deep", &deep)], Ttl::hours(1))
                .await,
        );
        let cache: Cache<Value> = Cache::new(&store, CacheConfig::new().prefix("typed"));
        refused(cache.put("deep", &deep).await);
        assert_eq!(
            store.get::<Value>("deep").await.unwrap(),
            None,
            "nothing written"
        );
        dismantle(deep);

        let typed: Cache<Deep> = Cache::new(&store, CacheConfig::new().prefix("deep-typed"));
        refused(typed.put("deep", &Deep(10_000)).await);
        refused(store.put("deep", &Deep(10_000), Ttl::hours(1)).await);

        // A memoised function (one store for the whole binary: the embedded one's test): a
        // deep result is returned to its caller and not stored, so the next call computes it
        // again; a deep argument makes no key, so the body runs without the cache.
        if backend == TestBackend::Embedded {
            let _ = STORE.set(store.clone());
            assert_eq!(deep_result(10_000).await.unwrap(), Deep(10_000));
            assert_eq!(deep_result(10_000).await.unwrap(), Deep(10_000));
            assert_eq!(CALLS.load(Ordering::SeqCst), 2, "nothing was stored");
            assert_eq!(one_for(Deep(10_000)).await.unwrap(), 1);
            assert_eq!(CALLS.load(Ordering::SeqCst), 3);
        }
    }

    pub async fn a_value_nested_to_the_limit_is_written_and_read_back(backend: TestBackend) {
        let store = backend.store().await;
        // 127 levels: as deep as serde_json's reader reads, on every backend's read path.
        let deepest = nested(127);
        store.put("deepest", &deepest, Ttl::hours(1)).await.unwrap();
        assert_eq!(store.get::<Value>("deepest").await.unwrap(), Some(deepest));
    }
}
