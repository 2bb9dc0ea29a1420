//! The in-process L1 in front of a typed cache, on every backend: hits without the store,
//! TTL caps, the byte bound, write-through, invalidation, coalescing, negative caching and
//! exact statistics.

mod support;

on_every_backend!(suite:
    a_hit_is_served_without_the_store_and_without_decoding,
    an_entry_never_outlives_its_item,
    an_entry_never_outlives_the_l1_ttl,
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
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Cached, Clock, Error, L1Config, Store, Ttl};
    use futures_util::future::join_all;
    use serde::{Deserialize, Serialize};

    use crate::support::TestBackend;

    /// A store on a manual clock, which the tests move with `store.clock().advance(..)`.
    async fn store_on_a_manual_clock(backend: TestBackend) -> Store {
        backend.build(|b| b.clock(Clock::manual())).await
    }

    fn advance(store: &Store, secs: u64) {
        store.clock().advance(Duration::from_secs(secs));
    }

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
        let store = store_on_a_manual_clock(backend).await;
        // The item lives 2 s; the L1 would keep it a minute.
        let cache = cache(&store, minute()).with_ttl(Ttl::secs(2));
        cache.put("k", &"v".to_owned()).await.unwrap();
        assert!(cache.get("k").await.unwrap().is_some());
        advance(&store, 1);
        assert!(cache.get("k").await.unwrap().is_some(), "a second left");
        assert_eq!(cache.stats().l1_hits, 2);
        advance(&store, 1);
        assert_eq!(cache.get("k").await.unwrap(), None);
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (2, 1), "gone from the L1");
        assert_eq!(stats.store_misses, 1, "and expired in the store");
    }

    pub async fn an_entry_never_outlives_the_l1_ttl(backend: TestBackend) {
        let store = store_on_a_manual_clock(backend).await;
        // The item lives a day; the L1 keeps it 5 s.
        let cache = cache(&store, L1Config::new().ttl(Ttl::secs(5)));
        cache.put("k", &"one".to_owned()).await.unwrap();
        // Another process writes the same key.
        store.put("l1:k", &"two", Ttl::days(1)).await.unwrap();
        advance(&store, 4);
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some("one"),
            "the L1 still serves its copy"
        );
        advance(&store, 1);
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some("two"),
            "the L1's TTL is up: read from the store"
        );
        let stats = cache.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (1, 1), "{stats:?}");
        assert_eq!(stats.store_hits, 1, "{stats:?}");
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
        // Twenty readers polled by one task: each one's first poll looks in the L1 and, on a
        // miss, starts the store read or joins the one in flight. However many miss, there is
        // one store read; without coalescing there would be one per miss.
        //
        // On a server the read is usually still in flight while the others arrive, so all
        // twenty miss and share it: a round in which two or more missed shows the sharing.
        // Sometimes the response is back before the first reader's poll ends (a debug build of
        // the SDK is slow, a local server fast), and that round shows nothing; so it takes up
        // to ten rounds, with fresh L1s, to see one. In memory a read always ends in the poll
        // that starts it, so there is never one in flight to share: the first reader fills the
        // L1 and the other nineteen hit it. On the embedded file a read runs on a blocking
        // thread and is back within microseconds: whether the others meet it in flight or find
        // the L1 filled depends on timing, and either way there is one store read.
        let rounds = if backend.is_dynamodb() { 10 } else { 1 };
        let mut shared = None;
        for _ in 0..rounds {
            let cache = cache(&store, minute());
            let readers = join_all((0..20).map(|_| cache.get("hot")));
            for read in readers.await {
                assert_eq!(read.unwrap().as_deref(), Some("v"));
            }
            let stats = cache.stats();
            assert_eq!(stats.store_hits + stats.store_misses, 1, "{stats:?}");
            assert_eq!(stats.l1_hits + stats.l1_misses, 20, "{stats:?}");
            if stats.l1_misses > 1 || !backend.is_dynamodb() {
                shared = Some(stats);
                break;
            }
        }
        let stats = shared.expect("in some round the readers arrived while the read was in flight");
        if backend == TestBackend::Embedded {
            assert_eq!((stats.l1_hits, stats.l1_misses), (19, 1), "{stats:?}");
        }
    }

    pub async fn negative_caching_remembers_misses_only_when_on(backend: TestBackend) {
        let store = store_on_a_manual_clock(backend).await;
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
        // A negative entry expires on its own, after its TTL by the store's clock.
        let brief = cache(&store, minute().negative_ttl(Ttl::secs(2)));
        assert_eq!(brief.get("later").await.unwrap(), None);
        store.put("l1:later", &"v", Ttl::days(1)).await.unwrap();
        advance(&store, 1);
        assert_eq!(
            brief.get("later").await.unwrap(),
            None,
            "remembered for its 2 s"
        );
        advance(&store, 1);
        assert_eq!(brief.get("later").await.unwrap().as_deref(), Some("v"));
        let stats = brief.stats();
        assert_eq!((stats.l1_hits, stats.l1_misses), (1, 2), "{stats:?}");
        assert_eq!((stats.store_misses, stats.store_hits), (1, 1), "{stats:?}");
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
        let loaded = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = tokio::sync::watch::channel(false);
        let callers = join_all((0..6).map(|_| {
            let (loaded, mut gate) = (loaded.clone(), gate.clone());
            cache.get_many_or_insert_with(&keys, move |missing| async move {
                loaded.lock().unwrap().extend(missing.iter().cloned());
                gate.wait_for(|open| *open).await.unwrap();
                Ok::<_, std::io::Error>(missing.into_iter().map(|k| (k.clone(), k)).collect())
            })
        }));
        // A call counts its read's 20 misses and claims the keys (or queues for them) in one
        // poll of this task: once all 6 × 20 misses are counted every call has claimed, and
        // only then may the load finish. Without coalescing all six would load all 20 keys.
        let opener = async {
            let started = std::time::Instant::now();
            while cache.stats().store_misses < 6 * 20 {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the calls never all read"
                );
                tokio::task::yield_now().await;
            }
            open.send_replace(true);
        };
        let (answers, ()) = tokio::join!(callers, opener);
        for found in answers {
            let found = found.unwrap();
            assert_eq!(found.len(), 20);
            assert_eq!(found["b7"], "b7");
        }
        assert_eq!(loaded.lock().unwrap().len(), 20, "each key loaded once");
        let stats = cache.stats();
        assert_eq!(stats.loader_calls, 1);
        assert_eq!(stats.l1_entries, 20, "the load filled the L1");
        assert_eq!(stats.store_misses, 6 * 20, "{stats:?}");
        assert_eq!(
            (stats.l1_hits, stats.store_hits),
            (5 * 20, 0),
            "the five calls that waited read the loaded values from the L1: {stats:?}"
        );
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
