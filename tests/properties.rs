//! Properties over generated inputs, on every backend: any JSON value round-trips, plain and
//! compressed; any key of 1 to 2048 bytes round-trips; TTL arithmetic never overflows and
//! refuses what cannot be stored; any item expires at exactly its TTL, by the store's clock.

mod support;

on_every_backend!(suite:
    any_json_value_round_trips_plain_and_compressed,
    any_key_of_1_to_2048_bytes_round_trips,
    any_ttl_is_stored_exactly_or_refused,
    any_item_expires_exactly_when_its_ttl_is_up,
);

mod suite {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use dynamorator::{Clock, Error, Store, Ttl};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::Value;

    use crate::support::TestBackend;

    /// Fewer cases over the network than in memory: the property is the same, the cost is not.
    fn runner(backend: TestBackend) -> TestRunner {
        let cases = if backend.is_dynamodb() { 48 } else { 256 };
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        })
    }

    /// Runs an async check from inside proptest's synchronous runner.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN or infinities", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::btree_map(".{0,12}", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    pub async fn any_json_value_round_trips_plain_and_compressed(backend: TestBackend) {
        let plain = backend.store().await;
        let compressed = backend
            .build(|b| b.compress(true).compress_threshold(0))
            .await;
        let case = AtomicUsize::new(0);
        let result = runner(backend).run(&json(), |value| {
            let key = format!("v{}", case.fetch_add(1, Ordering::Relaxed));
            for store in [&plain, &compressed] {
                let back: Option<Value> = block_on(async {
                    store.put(&key, &value, Ttl::days(1)).await.unwrap();
                    store.get(&key).await.unwrap()
                });
                prop_assert_eq!(back.as_ref(), Some(&value));
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }

    /// Keys of any characters, cut to at most 2048 UTF-8 bytes.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof!["\\PC{1,700}", ".{1,40}", "[a-z]{2048}", "[€]{682}ab",]
            .prop_map(|key: String| {
                let mut end = key.len().min(2048);
                while !key.is_char_boundary(end) {
                    end -= 1;
                }
                key[..end].to_owned()
            })
            .prop_filter("keys are not empty", |key| !key.is_empty())
    }

    pub async fn any_key_of_1_to_2048_bytes_round_trips(backend: TestBackend) {
        let store: Store = backend.store().await;
        let result = runner(backend).run(&key(), |key| {
            let (one, many) = block_on(async {
                store.put(&key, &key.len(), Ttl::days(1)).await.unwrap();
                let one: Option<usize> = store.get(&key).await.unwrap();
                let many = store.get_many::<usize, _>([&key]).await.unwrap();
                (one, many)
            });
            prop_assert_eq!(one, Some(key.len()));
            prop_assert!(many.is_complete(), "{:?}", many.failed);
            prop_assert_eq!(many.found.get(&key), Some(&key.len()));
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }

    fn ttl_days() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -10.0..1e6f64,
            0.0..0.001f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(365_000.0),
            Just(365_000.000_1),
        ]
    }

    pub async fn any_ttl_is_stored_exactly_or_refused(backend: TestBackend) {
        let store = backend.store().await;
        let mut runner = runner(backend);
        let result = runner.run(&ttl_days(), |days| {
            // A TTL is checked where it is made: one that is made can always be stored.
            let outcome = Ttl::try_from_days(days).map(|ttl| {
                block_on(async {
                    store.put("t", &1, ttl).await.unwrap();
                    (ttl, store.item_info("t").await.unwrap().unwrap())
                })
            });
            let storable = days.is_finite()
                && days > 0.0
                && (days * 86_400.0).trunc() >= 1.0
                && days * 86_400.0 <= Ttl::MAX_SECS as f64;
            match outcome {
                Ok((ttl, info)) => {
                    prop_assert!(storable, "{days} days was stored");
                    let secs = (days * 86_400.0).trunc() as i64;
                    prop_assert_eq!(ttl.as_secs(), secs as u64);
                    prop_assert_eq!(info.expires_at - info.created_at.unwrap(), secs);
                }
                Err(Error::InvalidTtl { .. }) => prop_assert!(!storable, "{days} days was refused"),
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }

    /// TTLs in whole seconds: short ones, any, and the longest.
    fn ttl_secs() -> impl Strategy<Value = u64> {
        prop_oneof![1..=120u64, 1..=Ttl::MAX_SECS, Just(Ttl::MAX_SECS)]
    }

    pub async fn any_item_expires_exactly_when_its_ttl_is_up(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.clock(clock.clone())).await;
        let case = AtomicUsize::new(0);
        let result = runner(backend).run(&ttl_secs(), |secs| {
            let key = format!("e{}", case.fetch_add(1, Ordering::Relaxed));
            let ttl = Ttl::try_from_secs(secs).expect("a TTL in range");
            // Read a second before the TTL is up, then as it is up.
            let reads = block_on(async {
                store.put(&key, &secs, ttl).await.unwrap();
                let mut reads = Vec::new();
                for step in [secs - 1, 1] {
                    clock.advance(Duration::from_secs(step));
                    let one: Option<u64> = store.get(&key).await.unwrap();
                    let many = store.get_many::<u64, _>([&key]).await.unwrap();
                    reads.push((one, many.found.get(&key).copied()));
                }
                reads
            });
            prop_assert_eq!(reads[0], (Some(secs), Some(secs)), "a second before");
            prop_assert_eq!(reads[1], (None, None), "when the TTL is up");
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}
