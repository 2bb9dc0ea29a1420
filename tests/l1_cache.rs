//! The in-process L1 in front of a typed cache, on every backend: hits without the store,
//! TTL caps, the byte bound, write-through, invalidation, coalescing, negative caching and
//! exact statistics.

mod support;

on_every_backend!(suite:
    a_hit_is_served_without_the_store_and_without_decoding,
    an_entry_never_outlives_its_item,
    the_byte_bound_holds_under_ten_times_the_budget,
    writes_go_through_and_invalidation_drops_entries,
    concurrent_misses_make_one_store_read,
    negative_caching_remembers_misses_only_when_on,
    get_many_asks_the_store_only_for_misses,
    read_through_goes_l1_then_store_then_loader,
    concurrent_batch_read_throughs_load_each_key_once_and_fill_the_l1,
    stats_are_exact_for_a_scripted_sequence,
    the_derive_sets_up_the_l1,
);

mod suite {
    use std::sync::Arc;
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Cached, Error, L1Config, Store, Ttl};
    use serde::{Deserialize, Serialize};

    use crate::support::TestBackend;

    fn config() -> CacheConfig {
        CacheConfig::new().ttl(Ttl::days(1)).prefix("l1")
    }

    fn cache(store: &Store, l1: L1Config) -> Cache<String> {
        Cache::new(store, config().l1(l1))
    }

    fn minute() -> L1Config {
        L1Config::new().ttl(Ttl::secs(60))
    }

    pub async fn a_hit_is_served_without_the_store_and_without_decoding(backend: TestBackend) {
        let store = backend.store().await;
        let cache = cache(&store, minute());
        cache.put("k", &"v".to_owned()).await.unwrap();
        let first = cache.get_arc("k").await.unwrap().unwrap();
        let second = cache.get_arc("k").await.unwrap().unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "the same decoded value, shared"
        );
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (3, 0));
        assert_eq!(
            stats.store_hits + stats.store_misses,
            0,
            "the store was not asked"
        );
    }

    pub async fn an_entry_never_outlives_its_item(backend: TestBackend) {
        let store = backend.store().await;
        // The item lives 2 s; the L1 would keep it a minute.
        let cache = cache(&store, minute()).with_ttl(Ttl::secs(2));
        cache.put("k", &"v".to_owned()).await.unwrap();
        assert!(cache.get("k").await.unwrap().is_some());
        assert_eq!(cache.stats().l1_hits, 1);
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(cache.get("k").await.unwrap(), None);
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (1, 1), "gone from the L1");
        assert_eq!(stats.store_misses, 1, "and expired in the store");
    }

    pub async fn the_byte_bound_holds_under_ten_times_the_budget(backend: TestBackend) {
        let store = backend.store().await;
        let budget = 100_000;
        let cache = cache(&store, minute().max_bytes(budget));
        let value = "x".repeat(900);
        let keys: Vec<String> = (0..1_000).map(|i| format!("k{i}")).collect();
        // About 1,000 bytes an item: ten times the budget.
        cache
            .put_many(keys.iter().map(|k| (k, &value)))
            .await
            .unwrap();
        let stats = cache.stats();
        assert!(stats.l1_weighted_size <= budget, "{stats:?}");
        assert!(stats.l1_weighted_size > budget / 2, "it is used: {stats:?}");
        assert!(stats.l1_entries < 1_000, "{stats:?}");
        // Everything is still readable, from one layer or the other.
        assert_eq!(cache.get_many(&keys).await.unwrap().found.len(), 1_000);
        assert!(cache.stats().l1_weighted_size <= budget);
    }

    pub async fn writes_go_through_and_invalidation_drops_entries(backend: TestBackend) {
        let store = backend.store().await;
        let cache = cache(&store, minute());
        cache.put("k", &"one".to_owned()).await.unwrap();
        // Another process writes the same key.
        store.put("l1:k", &"two", Ttl::days(1)).await.unwrap();
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some("one"),
            "the L1 still serves its copy"
        );
        cache.invalidate("k");
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("two"));
        cache.put("k", &"three".to_owned()).await.unwrap();
        assert_eq!(
            store.get::<String>("l1:k").await.unwrap().as_deref(),
            Some("three")
        );
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("three"));
        cache.delete("k").await.unwrap();
        assert_eq!(
            cache.get("k").await.unwrap(),
            None,
            "deleted from both layers"
        );
        store.put("l1:other", &"x", Ttl::days(1)).await.unwrap();
        assert_eq!(cache.get("other").await.unwrap().as_deref(), Some("x"));
        store.put("l1:other", &"y", Ttl::days(1)).await.unwrap();
        cache.invalidate_all();
        assert_eq!(cache.get("other").await.unwrap().as_deref(), Some("y"));
    }

    pub async fn concurrent_misses_make_one_store_read(backend: TestBackend) {
        let store = backend.store().await;
        store.put("l1:hot", &"v", Ttl::days(1)).await.unwrap();
        let cache = cache(&store, minute());
        let readers = (0..20).map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get("hot").await })
        });
        for read in futures_util::future::join_all(readers).await {
            assert_eq!(read.unwrap().unwrap().as_deref(), Some("v"));
        }
        let stats = cache.stats();
        assert_eq!(stats.store_hits + stats.store_misses, 1, "{stats:?}");
        assert_eq!(stats.l1_hits + stats.l1_misses, 20);
    }

    pub async fn negative_caching_remembers_misses_only_when_on(backend: TestBackend) {
        let store = backend.store().await;
        let remembering = cache(&store, minute().negative_ttl(Ttl::secs(60)));
        let forgetting = cache(&store, minute());
        assert_eq!(remembering.get("absent").await.unwrap(), None);
        assert_eq!(forgetting.get("absent").await.unwrap(), None);
        store
            .put("l1:absent", &"now here", Ttl::days(1))
            .await
            .unwrap();
        assert_eq!(
            remembering.get("absent").await.unwrap(),
            None,
            "the miss is remembered"
        );
        assert_eq!(
            forgetting.get("absent").await.unwrap().as_deref(),
            Some("now here")
        );
        let stats = remembering.stats();
        assert_eq!((stats.l1_hits, stats.store_misses), (1, 1));
        remembering.invalidate("absent");
        assert_eq!(
            remembering.get("absent").await.unwrap().as_deref(),
            Some("now here")
        );
        // A negative entry expires on its own (a TTL is at least one second).
        let brief = cache(&store, minute().negative_ttl(Ttl::secs(1)));
        assert_eq!(brief.get("later").await.unwrap(), None);
        store.put("l1:later", &"v", Ttl::days(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        assert_eq!(brief.get("later").await.unwrap().as_deref(), Some("v"));
    }

    pub async fn get_many_asks_the_store_only_for_misses(backend: TestBackend) {
        let store = backend.store().await;
        let cache = cache(&store, minute());
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        let value = "v".to_owned();
        cache
            .put_many(keys[..90].iter().map(|k| (k, &value)))
            .await
            .unwrap();
        store
            .put_many(
                keys[90..].iter().map(|k| (format!("l1:{k}"), "w")),
                Ttl::days(1),
            )
            .await
            .unwrap();
        let read = cache.get_many(&keys).await.unwrap();
        assert_eq!(read.found.len(), 100);
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (90, 10));
        assert_eq!(stats.store_hits, 10, "only the misses went to the store");
        // What came back filled the L1.
        assert_eq!(cache.get_many(&keys).await.unwrap().found.len(), 100);
        assert_eq!(cache.stats().l1_hits, 190);
        assert_eq!(cache.stats().store_hits, 10);
    }

    pub async fn read_through_goes_l1_then_store_then_loader(backend: TestBackend) {
        let store = backend.store().await;
        store
            .put("l1:stored", &"from store", Ttl::days(1))
            .await
            .unwrap();
        let cache = cache(&store, minute());
        let load = |v: &'static str| move || async move { Ok::<_, std::io::Error>(v.to_owned()) };
        assert_eq!(
            cache
                .get_or_insert_with("stored", load("loaded"))
                .await
                .unwrap(),
            "from store"
        );
        assert_eq!(
            cache
                .get_or_insert_with("new", load("loaded"))
                .await
                .unwrap(),
            "loaded"
        );
        assert_eq!(
            cache
                .get_or_insert_with("new", load("again"))
                .await
                .unwrap(),
            "loaded"
        );
        assert_eq!(
            cache
                .get_or_insert_with("stored", load("again"))
                .await
                .unwrap(),
            "from store"
        );
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (2, 2));
        assert_eq!(
            (stats.store_hits, stats.store_misses, stats.loader_calls),
            (1, 1, 1)
        );
        let all = cache
            .get_many_or_insert_with(["stored", "new", "fresh"], |missing| async move {
                assert_eq!(missing, vec!["fresh".to_owned()]);
                Ok::<_, std::io::Error>(
                    missing
                        .into_iter()
                        .map(|k| (k, "batch".to_owned()))
                        .collect(),
                )
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            cache.get("fresh").await.unwrap().as_deref(),
            Some("batch"),
            "loaded values fill the L1"
        );
        assert_eq!(cache.stats().l1_hits, 5);
    }

    pub async fn concurrent_batch_read_throughs_load_each_key_once_and_fill_the_l1(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        let cache = cache(&store, minute());
        let keys: Vec<String> = (0..20).map(|i| format!("b{i}")).collect();
        let loaded = Arc::new(std::sync::Mutex::new(Vec::new()));
        let callers = (0..6).map(|_| {
            let (cache, keys, loaded) = (cache.clone(), keys.clone(), loaded.clone());
            tokio::spawn(async move {
                cache
                    .get_many_or_insert_with(&keys, |missing| async move {
                        loaded.lock().unwrap().extend(missing.iter().cloned());
                        // Slow, so the other calls arrive while it loads.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok::<_, std::io::Error>(
                            missing.into_iter().map(|k| (k.clone(), k)).collect(),
                        )
                    })
                    .await
            })
        });
        for joined in futures_util::future::join_all(callers).await {
            let found = joined.unwrap().unwrap();
            assert_eq!(found.len(), 20);
            assert_eq!(found["b7"], "b7");
        }
        assert_eq!(loaded.lock().unwrap().len(), 20, "each key loaded once");
        let stats = cache.stats();
        assert_eq!(stats.loader_calls, 1);
        assert_eq!(stats.l1_entries, 20, "the load filled the L1");
    }

    pub async fn stats_are_exact_for_a_scripted_sequence(backend: TestBackend) {
        let store = backend.store().await;
        let cache = cache(&store, minute());
        store.put("l1:c", &"c", Ttl::days(1)).await.unwrap();
        // write-through
        cache.put("a", &"a".to_owned()).await.unwrap();
        // L1 hit
        assert_eq!(cache.get("a").await.unwrap().as_deref(), Some("a"));
        // L1 miss, store miss
        assert_eq!(cache.get("b").await.unwrap(), None);
        // 1 L1 hit; 2 L1 misses → 1 store hit, 1 store miss
        let many = cache.get_many(["a", "b", "c"]).await.unwrap();
        assert_eq!(many.found.len(), 2);
        assert!(many.is_complete());
        // L1 miss, store miss, loader
        cache
            .get_or_insert_with("d", || async { Ok::<_, std::io::Error>("d".to_owned()) })
            .await
            .unwrap();
        // L1 hit
        assert_eq!(cache.get("d").await.unwrap().as_deref(), Some("d"));
        // L1 miss, store miss, loader error
        let failed = cache
            .get_or_insert_with("e", || async {
                Err::<String, _>(std::io::Error::other("down"))
            })
            .await;
        let error = failed.unwrap_err();
        assert!(matches!(error, Error::Loader(_)), "{error:?}");
        let down = error
            .loader_error::<std::io::Error>()
            .expect("the loader's own error, typed");
        assert_eq!(down.to_string(), "down");
        let stats = cache.stats();
        assert_eq!(stats.l1_hits, 3);
        assert_eq!(stats.l1_misses, 5);
        assert_eq!(stats.store_hits, 1);
        assert_eq!(stats.store_misses, 4);
        assert_eq!(stats.loader_calls, 2);
        assert_eq!(stats.loader_errors, 1);
        assert_eq!(stats.store_errors, 0);
        assert_eq!(stats.undecodable, 0);
        assert_eq!(stats.l1_entries, 3, "a, c and d");
        assert!(stats.l1_weighted_size > 0);
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
    #[cache(ttl_days = 1, l1(max_entries = 100, ttl_secs = 60))]
    struct Quote {
        symbol: String,
        cents: u64,
    }

    pub async fn the_derive_sets_up_the_l1(backend: TestBackend) {
        let store = backend.store().await;
        let quotes = Quote::cache(&store);
        let quote = Quote {
            symbol: "ACME".into(),
            cents: 12_345,
        };
        quotes.put("ACME", &quote).await.unwrap();
        assert_eq!(Quote::cache(&store).get("ACME").await.unwrap(), Some(quote));
        let stats = Quote::cache(&store).stats();
        assert_eq!((stats.l1_hits, stats.l1_entries), (1, 1));
    }
}
