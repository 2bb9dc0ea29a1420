//! Typed caches from `#[derive(Cached)]`, on every backend: attribute forms, TTLs, compression,
//! versions, read-through, stampede protection and fail-open.

mod support;

on_every_backend!(suite:
    named_struct_round_trips_under_its_prefix,
    tuple_struct_with_hours_round_trips,
    enum_with_seconds_round_trips,
    generic_type_round_trips,
    empty_prefix_stores_raw_keys_readable_by_the_store,
    ttl_is_honoured,
    per_call_ttl_override_applies,
    compression_is_applied_above_the_threshold,
    a_version_bump_turns_old_items_into_misses,
    another_schema_under_the_key_is_a_miss,
    many_keys_round_trip,
    delete_and_delete_many_remove,
    get_or_insert_with_loads_once_then_hits,
    concurrent_read_through_runs_the_loader_once,
    loader_errors_are_returned_and_nothing_is_stored,
    batch_read_through_calls_the_loader_once_with_exactly_the_misses,
    concurrent_batch_read_throughs_load_each_key_once,
    a_failed_batch_load_leaves_its_keys_to_the_waiting_calls,
    derived_caches_share_state_per_store,
    a_cache_lists_only_its_own_keys,
);

mod suite {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use dynamorator::{Cached, Clock, Error, Ttl};
    use futures_util::future::join_all;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    use super::gate::Gate;
    use crate::support::TestBackend;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_days = 7, compress)]
    struct Product {
        asin: String,
        title: String,
        price_cents: u64,
    }

    fn product(asin: &str) -> Product {
        Product {
            asin: asin.into(),
            title: format!("Product {asin} – ünïcode"),
            price_cents: 1_999,
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_hours = 1.5, prefix = "geo")]
    struct Point(i32, i32);

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_secs = 90)]
    enum Status {
        Active { since: u32 },
        Retired,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_days = 0.5, prefix = "page")]
    struct Page<T> {
        items: Vec<T>,
        next: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(prefix = "", ttl_days = 1)]
    struct Raw {
        n: u32,
    }

    async fn lifetime_of<T: Cached>(cache: &dynamorator::Cache<T>, key: &str) -> i64 {
        let info = cache
            .store()
            .item_info(&cache.stored_key(key))
            .await
            .unwrap()
            .unwrap();
        info.expires_at - info.created_at.unwrap()
    }

    pub async fn named_struct_round_trips_under_its_prefix(backend: TestBackend) {
        let store = backend.store().await;
        let products = Product::cache(&store);
        products.put("B00X", &product("B00X")).await.unwrap();
        assert_eq!(products.stored_key("B00X"), "product:B00X");
        assert_eq!(products.get("B00X").await.unwrap(), Some(product("B00X")));
        assert_eq!(lifetime_of(&products, "B00X").await, 7 * 86_400);
        // The store sees the namespaced key, as plain JSON.
        let raw: Value = store.get("product:B00X").await.unwrap().unwrap();
        assert_eq!(raw["asin"], "B00X");
    }

    pub async fn tuple_struct_with_hours_round_trips(backend: TestBackend) {
        let points = Point::cache(&backend.store().await);
        points.put("home", &Point(3, -4)).await.unwrap();
        assert_eq!(points.stored_key("home"), "geo:home");
        assert_eq!(points.get("home").await.unwrap(), Some(Point(3, -4)));
        assert_eq!(lifetime_of(&points, "home").await, 5_400);
    }

    pub async fn enum_with_seconds_round_trips(backend: TestBackend) {
        let statuses = Status::cache(&backend.store().await);
        statuses
            .put("a", &Status::Active { since: 2020 })
            .await
            .unwrap();
        statuses.put("b", &Status::Retired).await.unwrap();
        assert_eq!(statuses.stored_key("a"), "status:a");
        assert_eq!(
            statuses.get("a").await.unwrap(),
            Some(Status::Active { since: 2020 })
        );
        assert_eq!(statuses.get("b").await.unwrap(), Some(Status::Retired));
        assert_eq!(lifetime_of(&statuses, "a").await, 90);
    }

    pub async fn generic_type_round_trips(backend: TestBackend) {
        let store = backend.store().await;
        let pages = Page::<u32>::cache(&store);
        let page = Page {
            items: vec![1, 2, 3],
            next: Some("t".into()),
        };
        pages.put("p1", &page).await.unwrap();
        assert_eq!(pages.get("p1").await.unwrap(), Some(page));
        let words = Page::<String>::cache(&store);
        let page = Page {
            items: vec!["a".to_owned()],
            next: None,
        };
        words.put("w1", &page).await.unwrap();
        assert_eq!(words.get("w1").await.unwrap(), Some(page));
    }

    pub async fn empty_prefix_stores_raw_keys_readable_by_the_store(backend: TestBackend) {
        let store = backend.store().await;
        let raws = Raw::cache(&store);
        raws.put("user:1", &Raw { n: 5 }).await.unwrap();
        assert_eq!(raws.stored_key("user:1"), "user:1");
        let value: Value = store.get("user:1").await.unwrap().unwrap();
        assert_eq!(value, serde_json::json!({"n": 5}));
        store
            .put("user:2", &serde_json::json!({"n": 6}), Ttl::days(1))
            .await
            .unwrap();
        assert_eq!(raws.get("user:2").await.unwrap(), Some(Raw { n: 6 }));
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_secs = 1)]
    struct Fleeting(u8);

    pub async fn ttl_is_honoured(backend: TestBackend) {
        let clock = Clock::manual();
        let fleeting = Fleeting::cache(&backend.build(|b| b.clock(clock.clone())).await);
        fleeting.put("k", &Fleeting(1)).await.unwrap();
        assert_eq!(lifetime_of(&fleeting, "k").await, 1);
        // Written at second t, expiring at t+1: there until then, a miss from then on.
        assert_eq!(fleeting.get("k").await.unwrap(), Some(Fleeting(1)));
        assert_eq!(fleeting.get_many(["k"]).await.unwrap().found.len(), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(fleeting.get("k").await.unwrap(), None);
        let read = fleeting.get_many(["k"]).await.unwrap();
        assert!(read.found.is_empty() && read.is_complete(), "{read:?}");
        // Read-through sees the miss too, and loads a fresh value with a fresh TTL.
        let reloaded = fleeting
            .get_or_insert_with("k", || async { Ok::<_, std::io::Error>(Fleeting(2)) })
            .await
            .unwrap();
        assert_eq!(reloaded, Fleeting(2));
        assert_eq!(fleeting.stats().loader_calls, 1);
        assert_eq!(fleeting.get("k").await.unwrap(), Some(Fleeting(2)));
    }

    pub async fn per_call_ttl_override_applies(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        products
            .with_ttl(Ttl::hours(2))
            .put("short", &product("short"))
            .await
            .unwrap();
        assert_eq!(lifetime_of(&products, "short").await, 7_200);
        let loaded = products
            .with_ttl(Ttl::secs(600))
            .get_or_insert_with("loaded", || async {
                Ok::<_, std::io::Error>(product("loaded"))
            })
            .await
            .unwrap();
        assert_eq!(loaded, product("loaded"));
        assert_eq!(lifetime_of(&products, "loaded").await, 600);
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(compress_threshold = 64)]
    struct Document {
        body: String,
    }

    pub async fn compression_is_applied_above_the_threshold(backend: TestBackend) {
        let store = backend.store().await;
        let documents = Document::cache(&store);
        let long = Document {
            body: "lorem ipsum ".repeat(50),
        };
        let short = Document { body: "hi".into() };
        documents.put("long", &long).await.unwrap();
        documents.put("short", &short).await.unwrap();
        let info = |key: &'static str| {
            let store = store.clone();
            async move {
                store
                    .item_info(&format!("document:{key}"))
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        assert!(info("long").await.compressed);
        assert!(!info("short").await.compressed);
        assert_eq!(documents.get("long").await.unwrap(), Some(long.clone()));
        let many = documents.get_many(["long", "short"]).await.unwrap();
        assert_eq!(many.found["long"], long);
        assert_eq!(many.found["short"], short);
        // The derive's compression applies whatever the store's setting: the store itself
        // writes plain JSON.
        store.put("plain", &long, Ttl::days(1)).await.unwrap();
        assert!(!store.item_info("plain").await.unwrap().unwrap().compressed);
    }

    mod v1 {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
        #[cache(prefix = "profile", version = 1)]
        pub struct Profile {
            pub name: String,
        }
    }

    mod v2 {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
        #[cache(prefix = "profile", version = 2)]
        pub struct Profile {
            pub name: String,
            pub age: u32,
        }
    }

    pub async fn a_version_bump_turns_old_items_into_misses(backend: TestBackend) {
        let store = backend.store().await;
        let old = v1::Profile::cache(&store);
        let new = v2::Profile::cache(&store);
        old.put("ann", &v1::Profile { name: "Ann".into() })
            .await
            .unwrap();
        assert_eq!(old.stored_key("ann"), "profile:v1:ann");
        assert_eq!(new.stored_key("ann"), "profile:v2:ann");
        assert_eq!(new.get("ann").await.unwrap(), None, "a miss, not an error");
        let loaded = new
            .get_or_insert_with("ann", || async {
                Ok::<_, std::io::Error>(v2::Profile {
                    name: "Ann".into(),
                    age: 40,
                })
            })
            .await
            .unwrap();
        assert_eq!(loaded.age, 40);
        assert!(
            old.get("ann").await.unwrap().is_some(),
            "old items untouched"
        );
    }

    pub async fn another_schema_under_the_key_is_a_miss(backend: TestBackend) {
        let store = backend.store().await;
        store
            .put("product:odd", &serde_json::json!({"asin": 5}), Ttl::days(1))
            .await
            .unwrap();
        // The store reports the mismatch; the cache reads it as a miss and counts it.
        assert!(matches!(
            store.get::<Product>("product:odd").await,
            Err(Error::TypeMismatch { .. })
        ));
        let products = Product::cache(&store);
        assert_eq!(products.get("odd").await.unwrap(), None);
        let read = products.get_many(["odd"]).await.unwrap();
        assert!(read.found.is_empty(), "{read:?}");
        assert!(read.is_complete(), "a miss, not a failure: {read:?}");
        let stats = products.stats();
        assert_eq!((stats.undecodable, stats.store_misses), (2, 2), "{stats:?}");
        assert_eq!(stats.store_errors, 0, "{stats:?}");
        // Read-through replaces it with a value of the right shape.
        let loaded = products
            .get_or_insert_with("odd", || async { Ok::<_, std::io::Error>(product("odd")) })
            .await
            .unwrap();
        assert_eq!(loaded, product("odd"));
        assert_eq!(products.get("odd").await.unwrap(), Some(product("odd")));
        assert_eq!(
            products.stats().undecodable,
            3,
            "the read-through's read counted too"
        );
    }

    pub async fn many_keys_round_trip(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let items: Vec<(String, Product)> = (0..120)
            .map(|i| (format!("p{i}"), product(&format!("p{i}"))))
            .collect();
        products
            .put_many(items.iter().map(|(k, v)| (k, v)))
            .await
            .unwrap();
        let mut keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
        keys.push("absent".into());
        let read = products.get_many(&keys).await.unwrap();
        assert!(read.is_complete());
        assert_eq!(read.found.len(), 120);
        assert_eq!(read.found, items.into_iter().collect::<HashMap<_, _>>());
    }

    pub async fn delete_and_delete_many_remove(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let p = product("x");
        products
            .put_many([("a", &p), ("b", &p), ("c", &p)])
            .await
            .unwrap();
        products.delete("a").await.unwrap();
        products.delete_many(["b", "never"]).await.unwrap();
        let left = products.get_many(["a", "b", "c"]).await.unwrap();
        assert_eq!(left.found.keys().collect::<Vec<_>>(), vec!["c"]);
        products.delete("c").await.unwrap();
        products.delete_many(["c"]).await.unwrap();
        assert_eq!(products.get("c").await.unwrap(), None);
    }

    pub async fn get_or_insert_with_loads_once_then_hits(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let calls = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let calls = calls.clone();
            let value = products
                .get_or_insert_with("B01", move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(product("B01"))
                })
                .await
                .unwrap();
            assert_eq!(value, product("B01"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stats = products.stats();
        assert_eq!(
            (stats.loader_calls, stats.store_hits, stats.store_misses),
            (1, 2, 1)
        );
    }

    pub async fn concurrent_read_through_runs_the_loader_once(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let calls = Arc::new(AtomicUsize::new(0));
        let arrived = AtomicUsize::new(0);
        let gate = Gate::closed();
        // Twenty callers polled by one task: each counts itself arrived and calls the cache in
        // the same poll, which starts the read and load or joins the one in flight. The loader
        // cannot finish before all twenty are in, so without coalescing each would read the
        // store and run its own loader.
        let callers = join_all((0..20).map(|_| async {
            arrived.fetch_add(1, Ordering::SeqCst);
            let (calls, gate) = (calls.clone(), gate.clone());
            products
                .get_or_insert_with("hot", move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    gate.passed().await;
                    Ok::<_, std::io::Error>(product("hot"))
                })
                .await
        }));
        let (answers, ()) = tokio::join!(
            callers,
            gate.open_when(|| arrived.load(Ordering::SeqCst) == 20)
        );
        for answer in answers {
            assert_eq!(answer.unwrap(), product("hot"));
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the loader ran once for 20 callers"
        );
        let stats = products.stats();
        assert_eq!(
            (stats.loader_calls, stats.store_misses, stats.store_hits),
            (1, 1, 0),
            "one store read and one load, shared by all 20: {stats:?}"
        );
    }

    pub async fn loader_errors_are_returned_and_nothing_is_stored(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let result = products
            .get_or_insert_with("bad", || async {
                Err::<Product, _>(std::io::Error::other("upstream is down"))
            })
            .await;
        match &result {
            Err(Error::Loader(error)) => assert_eq!(error.to_string(), "upstream is down"),
            other => panic!("expected a loader error, got {other:?}"),
        }
        let upstream = result
            .unwrap_err()
            .loader_error::<std::io::Error>()
            .expect("the loader's own error, typed");
        assert_eq!(upstream.to_string(), "upstream is down");
        assert_eq!(products.get("bad").await.unwrap(), None);
        let batch = products
            .get_many_or_insert_with(["x", "y"], |_| async {
                Err::<HashMap<String, Product>, _>(std::io::Error::other("no"))
            })
            .await;
        assert!(matches!(batch, Err(Error::Loader(_))), "{batch:?}");
        let upstream = batch
            .unwrap_err()
            .loader_error::<std::io::Error>()
            .expect("the loader's own error, typed");
        assert_eq!(upstream.to_string(), "no");
        assert!(
            products
                .get_many(["x", "y"])
                .await
                .unwrap()
                .found
                .is_empty()
        );
        assert_eq!(products.stats().loader_errors, 2);
    }

    pub async fn batch_read_through_calls_the_loader_once_with_exactly_the_misses(
        backend: TestBackend,
    ) {
        let products = Product::cache(&backend.store().await);
        let cached: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let fresh: Vec<String> = (0..60).map(|i| format!("f{i}")).collect();
        let values: Vec<(String, Product)> =
            cached.iter().map(|k| (k.clone(), product(k))).collect();
        products
            .put_many(values.iter().map(|(k, v)| (k, v)))
            .await
            .unwrap();
        let mut keys: Vec<String> = cached.iter().chain(&fresh).cloned().collect();
        keys.push("c0".into()); // a duplicate is asked once
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (loader_calls, loader_asked) = (calls.clone(), asked.clone());
        let all = products
            .get_many_or_insert_with(&keys, move |missing| {
                loader_calls.fetch_add(1, Ordering::SeqCst);
                loader_asked.lock().unwrap().extend(missing.clone());
                async move {
                    // The upstream knows all but one.
                    Ok::<_, std::io::Error>(
                        missing
                            .iter()
                            .filter(|k| k.as_str() != "f59")
                            .map(|k| (k.clone(), product(k)))
                            .chain([("unasked".to_owned(), product("unasked"))])
                            .collect::<HashMap<_, _>>(),
                    )
                }
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let asked: BTreeSet<String> = asked.lock().unwrap().iter().cloned().collect();
        assert_eq!(asked, fresh.iter().cloned().collect::<BTreeSet<_>>());
        assert_eq!(all.len(), 150 + 59);
        assert!(!all.contains_key("unasked") && !all.contains_key("f59"));
        assert_eq!(all["f3"], product("f3"));
        // Everything loaded was stored: a second pass needs the loader only for f59.
        let again = products
            .get_many_or_insert_with(&keys, |missing| async move {
                assert_eq!(missing, vec!["f59".to_owned()]);
                Ok::<_, std::io::Error>(HashMap::<String, Product>::new())
            })
            .await
            .unwrap();
        assert_eq!(again.len(), 209);
        assert_eq!(
            products.get("unasked").await.unwrap(),
            None,
            "extras are not stored"
        );
        let stats = products.stats();
        assert_eq!(stats.loader_calls, 2);
    }

    async fn shared_stats<T: Cached + DeserializeOwned>(store: &dynamorator::Store) -> u64 {
        T::cache(store).stats().store_misses
    }

    /// Records what was asked, and loads `missing` once the gate is open.
    async fn gated_upstream(
        asked: Arc<Mutex<Vec<String>>>,
        gate: Gate,
        missing: Vec<String>,
    ) -> Result<HashMap<String, Product>, std::io::Error> {
        asked.lock().unwrap().extend(missing.iter().cloned());
        gate.passed().await;
        Ok(missing.iter().map(|k| (k.clone(), product(k))).collect())
    }

    pub async fn concurrent_batch_read_throughs_load_each_key_once(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate::closed();
        // Eight calls: ten keys they all want, two each of their own.
        let keys = |i: usize| -> Vec<String> {
            (0..10)
                .map(|k| format!("shared{k}"))
                .chain([format!("own{i}a"), format!("own{i}b")])
                .collect()
        };
        let callers = join_all((0..8).map(|i| {
            let (asked, gate) = (asked.clone(), gate.clone());
            let products = &products;
            async move {
                let keys = keys(i);
                let found = products
                    .get_many_or_insert_with(&keys, move |missing| {
                        gated_upstream(asked, gate, missing)
                    })
                    .await;
                (keys, found)
            }
        }));
        // A call counts its read's 12 misses and claims its keys (or queues for them) in one
        // poll of this task. So once all 8 × 12 misses are counted, every call has claimed,
        // and only then may a load finish: without coalescing every call would load the
        // shared keys.
        let (answers, ()) = tokio::join!(
            callers,
            gate.open_when(|| products.stats().store_misses == 8 * 12)
        );
        for (keys, found) in answers {
            let found = found.unwrap();
            assert_eq!(found.len(), keys.len());
            for key in &keys {
                assert_eq!(found[key], product(key));
            }
        }
        let asked = asked.lock().unwrap().clone();
        let distinct: BTreeSet<&String> = asked.iter().collect();
        assert_eq!(
            asked.len(),
            distinct.len(),
            "a key went to the loader twice: {asked:?}"
        );
        assert_eq!(distinct.len(), 10 + 8 * 2);
        let stats = products.stats();
        assert_eq!(stats.loader_calls, 8, "one loader call per call");
        assert_eq!(
            (stats.store_misses, stats.store_hits),
            (8 * 12, 7 * 10),
            "every call missed all its keys; the seven that waited read the shared ten back: \
             {stats:?}"
        );
    }

    pub async fn a_failed_batch_load_leaves_its_keys_to_the_waiting_calls(backend: TestBackend) {
        let products = Product::cache(&backend.store().await);
        let calls = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate::closed();
        let keys = ["p", "q"];
        let callers = join_all((0..2).map(|_| {
            let (calls, events, gate) = (calls.clone(), events.clone(), gate.clone());
            products.get_many_or_insert_with(keys, move |mut missing| async move {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                missing.sort();
                events
                    .lock()
                    .unwrap()
                    .push(format!("load {call}: {missing:?}"));
                gate.passed().await;
                if call == 0 {
                    events.lock().unwrap().push("load 0 failed".to_owned());
                    return Err(std::io::Error::other("upstream is down"));
                }
                Ok(missing.iter().map(|k| (k.clone(), product(k))).collect())
            })
        }));
        // Both calls have read (2 × 2 misses) and claimed before the first load may fail, so
        // the second is waiting for its keys when they are handed over.
        let (answers, ()) = tokio::join!(
            callers,
            gate.open_when(|| products.stats().store_misses == 2 * 2)
        );
        let mut failed = 0;
        for answer in answers {
            match answer {
                Ok(found) => {
                    assert_eq!(found.len(), 2);
                    assert_eq!(found["q"], product("q"));
                }
                Err(error @ Error::Loader(_)) => {
                    let upstream = error
                        .loader_error::<std::io::Error>()
                        .expect("the loader's own error, typed");
                    assert_eq!(upstream.to_string(), "upstream is down");
                    failed += 1;
                }
                Err(other) => panic!("expected a loader error, got {other:?}"),
            }
        }
        assert_eq!(failed, 1, "only the failing load's own call fails");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            *events.lock().unwrap(),
            [
                r#"load 0: ["p", "q"]"#,
                "load 0 failed",
                r#"load 1: ["p", "q"]"#
            ],
            "the waiting call loaded the keys only once they were handed to it"
        );
        assert_eq!(products.get("p").await.unwrap(), Some(product("p")));
    }

    pub async fn derived_caches_share_state_per_store(backend: TestBackend) {
        let store = backend.store().await;
        assert_eq!(Product::cache(&store).get("none").await.unwrap(), None);
        assert_eq!(
            shared_stats::<Product>(&store).await,
            1,
            "one cache per type and store"
        );
        assert_eq!(
            shared_stats::<Point>(&store).await,
            0,
            "another type has its own"
        );
        let other_store = backend.store().await;
        assert_eq!(shared_stats::<Product>(&other_store).await, 0);
    }

    /// `list_keys` and `keys()` through a cache show its keys, as given, and no other cache's
    /// or the store's.
    pub async fn a_cache_lists_only_its_own_keys(backend: TestBackend) {
        use futures_util::TryStreamExt;

        let store = backend.store().await;
        store.put("plain", &0, Ttl::days(1)).await.unwrap();
        let mine =
            dynamorator::Cache::<u32>::new(&store, dynamorator::CacheConfig::new().prefix("mine"));
        let theirs = dynamorator::Cache::<u32>::new(
            &store,
            dynamorator::CacheConfig::new().prefix("theirs"),
        );
        let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
        mine.put_many(keys.iter().map(|k| (k.as_str(), &1)))
            .await
            .unwrap();
        theirs.put("k0", &2).await.unwrap();
        let mut listed = BTreeSet::new();
        let mut token = None;
        for _ in 0..100 {
            let page = mine.list_keys(7, token.as_deref()).await.unwrap();
            listed.extend(page.keys);
            token = page.last_key;
            if token.is_none() {
                break;
            }
        }
        assert!(token.is_none(), "the listing ended within 100 pages");
        assert_eq!(listed, keys.iter().cloned().collect::<BTreeSet<_>>());
        let streamed: BTreeSet<String> = mine.keys().try_collect().await.unwrap();
        assert_eq!(streamed, listed);
        let theirs_keys: Vec<String> = theirs.keys().try_collect().await.unwrap();
        assert_eq!(theirs_keys, ["k0"]);
    }
}

/// A gate loaders wait at until the test opens it: how these tests make calls overlap without
/// sleeping.
mod gate {
    use tokio::sync::watch;

    #[derive(Clone)]
    pub struct Gate(std::sync::Arc<watch::Sender<bool>>);

    impl Gate {
        pub fn closed() -> Gate {
            Gate(std::sync::Arc::new(watch::channel(false).0))
        }

        /// Returns once the gate is open.
        pub async fn passed(&self) {
            let mut open = self.0.subscribe();
            open.wait_for(|open| *open)
                .await
                .expect("the gate outlives its waiters");
        }

        /// Opens the gate once `ready` holds, checking it each time the futures polled beside
        /// this one have had their turn. Fails the test if that takes a minute of real time.
        pub async fn open_when(&self, ready: impl Fn() -> bool) {
            let started = std::time::Instant::now();
            while !ready() {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(60),
                    "the calls never all arrived"
                );
                tokio::task::yield_now().await;
            }
            self.0.send_replace(true);
        }
    }
}

/// Read-through keeps serving computed values while DynamoDB is unreachable. Needs no server:
/// it points at a loopback port where nothing listens.
mod fail_open {
    use std::collections::HashMap;

    use dynamorator::{Cache, CacheConfig, Error, Store, Ttl};

    use crate::support::sdk_config;

    async fn unreachable_store() -> Store {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        Store::builder()
            .table("unreachable")
            .create_table(false)
            .max_attempts(1)
            .sdk_config(sdk_config(&endpoint).await)
            .build()
            .await
            .expect("building without table creation makes no call")
    }

    #[tokio::test]
    async fn read_through_computes_and_returns_values_when_the_store_is_down() {
        let cache: Cache<u64> = Cache::new(
            &unreachable_store().await,
            CacheConfig::new().ttl(Ttl::days(1)),
        );
        let value = cache
            .get_or_insert_with("k", || async { Ok::<_, std::io::Error>(42) })
            .await
            .unwrap();
        assert_eq!(value, 42);
        let many = cache
            .get_many_or_insert_with(["a", "b"], |missing| async move {
                Ok::<_, std::io::Error>(
                    missing
                        .into_iter()
                        .map(|k| (k, 7))
                        .collect::<HashMap<_, _>>(),
                )
            })
            .await
            .unwrap();
        assert_eq!(
            many,
            HashMap::from([("a".to_owned(), 7), ("b".to_owned(), 7)])
        );
        let stats = cache.stats();
        assert_eq!(stats.loader_calls, 2);
        // k: failed read and failed write; a, b: failed batch read and failed batch write.
        assert_eq!(stats.store_errors, 6);
        // Plain reads and writes say why they failed, and count it.
        let read = cache.get("k").await;
        assert!(matches!(read, Err(Error::Unreachable { .. })), "{read:?}");
        let write = cache.put("k", &1).await;
        assert!(matches!(write, Err(Error::Unreachable { .. })), "{write:?}");
        assert_eq!(cache.stats().store_errors, 8);
    }
}
