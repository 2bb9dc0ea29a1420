//! Freshness in read-through, on every backend: stale-while-revalidate (one background refresh
//! per key, batch refreshes gathered in a window), fail-safe fallbacks and their throttle,
//! soft and hard loader timeouts, loader-chosen horizons (`Loaded`), jitter, items without a
//! `fresh_until` (the Python package's), the store's circuit breaker, and the Python package
//! reading items written with a stale window.
//!
//! Time is the store's manual clock, moved by the tests; loaders that must stay in flight wait
//! at a gate the test opens. The only real durations are soft and hard timeouts that a loader
//! blocked on a closed gate (or never finishing) is bound to pass; nothing asserts how long
//! anything took.

mod support;

on_every_backend!(suite:
    a_stale_read_answers_at_once_and_refreshes_once_in_the_background,
    a_stale_read_answers_at_once_and_refreshes_once_in_the_background_with_an_l1,
    concurrent_stale_reads_all_get_the_stale_value_and_share_one_refresh,
    stale_keys_of_separate_batch_calls_share_one_batch_refresh,
    a_failed_refresh_keeps_the_stale_value_and_pauses_refreshes_for_the_throttle,
    an_expired_value_within_fail_safe_max_answers_when_the_loader_fails,
    past_the_soft_timeout_the_fallback_answers_and_the_late_value_is_stored,
    past_the_soft_timeout_a_batch_call_answers_with_fallbacks_and_its_load_is_stored,
    past_the_hard_timeout_the_load_is_abandoned_and_a_fallback_answers_if_there_is_one,
    a_refresh_past_the_hard_timeout_fails_and_the_stale_value_stays,
    a_loader_chooses_not_to_store_or_its_own_horizons,
    a_batch_loader_chooses_not_to_store_or_its_own_horizons,
    jitter_spreads_expiries_over_the_jitter_range,
    an_item_without_fresh_until_is_fresh_until_its_ttl_then_a_miss,
    a_batch_call_loads_its_missing_and_stale_keys_in_one_loader_call,
);

mod suite {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Clock, Error, L1Config, Loaded, Store, Ttl};
    use futures_util::future::join_all;

    use super::helpers::{Gate, bounded, until};
    use crate::support::TestBackend;

    /// A store on a manual clock, which the tests move with `advance`.
    async fn store_on_a_manual_clock(backend: TestBackend) -> Store {
        backend.build(|b| b.clock(Clock::manual())).await
    }

    fn advance(store: &Store, secs: u64) {
        store.clock().advance(Duration::from_secs(secs));
    }

    fn now(store: &Store) -> i64 {
        store.clock().now_epoch_secs()
    }

    const TTL: u64 = 60;
    const STALE: u64 = 600;

    /// Fresh for a minute, then stale for ten.
    fn stale_window() -> CacheConfig {
        CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::secs(TTL))
            .stale_for(Ttl::secs(STALE))
    }

    /// What the store itself holds under the cache's key.
    async fn stored(store: &Store, key: &str) -> Option<String> {
        store.get::<String>(&format!("fr:{key}")).await.unwrap()
    }

    /// A loader that counts its calls, waits at `gate`, and returns `value`.
    fn gated(
        calls: &Arc<AtomicUsize>,
        gate: &Gate,
        value: &str,
    ) -> impl FnOnce() -> futures_util::future::BoxFuture<'static, Result<String, std::io::Error>>
    + Send
    + 'static {
        let (calls, gate, value) = (calls.clone(), gate.clone(), value.to_owned());
        move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                gate.passed().await;
                Ok(value)
            })
        }
    }

    /// A loader that counts its calls and returns `value` at once.
    fn counting(
        calls: &Arc<AtomicUsize>,
        value: &str,
    ) -> impl FnOnce() -> futures_util::future::BoxFuture<'static, Result<String, std::io::Error>>
    + Send
    + 'static {
        let (calls, value) = (calls.clone(), value.to_owned());
        move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(value)
            })
        }
    }

    /// A loader that counts its calls and fails.
    fn failing(
        calls: &Arc<AtomicUsize>,
    ) -> impl FnOnce() -> futures_util::future::BoxFuture<'static, Result<String, std::io::Error>>
    + Send
    + 'static {
        let calls = calls.clone();
        move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(std::io::Error::other("upstream is down"))
            })
        }
    }

    /// A loader that must not be called.
    fn not_called()
    -> impl FnOnce() -> futures_util::future::BoxFuture<'static, Result<String, std::io::Error>>
    + Send
    + 'static {
        || Box::pin(async { Err(std::io::Error::other("this loader must not be called")) })
    }

    pub async fn a_stale_read_answers_at_once_and_refreshes_once_in_the_background(
        backend: TestBackend,
    ) {
        stale_read_refreshes_once(backend, stale_window()).await;
    }

    pub async fn a_stale_read_answers_at_once_and_refreshes_once_in_the_background_with_an_l1(
        backend: TestBackend,
    ) {
        stale_read_refreshes_once(backend, stale_window().l1(L1Config::new())).await;
    }

    async fn stale_read_refreshes_once(backend: TestBackend, config: CacheConfig) {
        let store = store_on_a_manual_clock(backend).await;
        let cache: Cache<String> = Cache::new(&store, config);
        cache.put("k", &"old".to_owned()).await.unwrap();
        advance(&store, TTL);
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Gate::closed();
        // The refresh's loader waits at the closed gate: the read answers without it.
        let value = bounded(
            "the stale read waited for its refresh",
            cache.get_or_insert_with("k", gated(&calls, &gate, "new")),
        )
        .await
        .unwrap();
        assert_eq!(value, "old", "the stale value, at once");
        let stats = cache.stats();
        assert_eq!(
            (stats.stale_hits, stats.refreshes_started),
            (1, 1),
            "{stats:?}"
        );
        until("the refresh calls its loader", || {
            calls.load(Ordering::SeqCst) == 1
        })
        .await;
        // A second stale read while the refresh is in flight starts none.
        let again = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(again, "old");
        assert_eq!(
            stored(&store, "k").await.as_deref(),
            Some("old"),
            "nothing stored before the load ends"
        );
        gate.open();
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(stored(&store, "k").await.as_deref(), Some("new"));
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("new"));
        // The refreshed value is fresh again: a full stale window after a full TTL from now.
        let info = cache.item_info("k").await.unwrap().unwrap();
        assert_eq!(info.expires_at, now(&store) + (TTL + STALE) as i64);
        let fresh = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(fresh, "new");
        let stats = cache.stats();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            stats.stale_hits, 2,
            "the two reads before the refresh ended: {stats:?}"
        );
        assert_eq!(stats.refreshes_started, 1, "{stats:?}");
        assert_eq!(stats.refreshes_succeeded, 1, "{stats:?}");
        assert_eq!(stats.refreshes_failed, 0, "{stats:?}");
        assert_eq!(stats.loader_calls, 1, "{stats:?}");
        assert_eq!(stats.loader_errors, 0, "{stats:?}");
    }

    pub async fn concurrent_stale_reads_all_get_the_stale_value_and_share_one_refresh(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let cache: Cache<String> = Cache::new(&store, stale_window());
        cache.put("hot", &"old".to_owned()).await.unwrap();
        advance(&store, TTL);
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Gate::closed();
        // The gate stays closed until all 32 have answered: a refresh cannot end (and make the
        // value fresh) while they read, so each either starts the one refresh or meets it.
        let readers =
            join_all((0..32).map(|_| cache.get_or_insert_with("hot", gated(&calls, &gate, "new"))));
        let answers = bounded("the stale reads waited for the refresh", readers).await;
        for answer in answers {
            assert_eq!(answer.unwrap(), "old");
        }
        until("the refresh calls its loader", || {
            calls.load(Ordering::SeqCst) >= 1
        })
        .await;
        gate.open();
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one loader call for 32 readers"
        );
        assert_eq!(stored(&store, "hot").await.as_deref(), Some("new"));
        let stats = cache.stats();
        assert_eq!(
            (
                stats.refreshes_started,
                stats.refreshes_succeeded,
                stats.loader_calls
            ),
            (1, 1, 1),
            "{stats:?}"
        );
        // Readers that joined the leader's read share its answer, and each counts it.
        assert_eq!(stats.stale_hits, 32, "{stats:?}");
    }

    /// A batch loader that records the keys of each call and loads `new-{key}`.
    type Recorded = Arc<Mutex<Vec<Vec<String>>>>;

    fn recording_batch(
        recorded: &Recorded,
    ) -> impl FnOnce(
        Vec<String>,
    ) -> futures_util::future::BoxFuture<
        'static,
        Result<HashMap<String, String>, std::io::Error>,
    > + Send
    + 'static {
        let recorded = recorded.clone();
        move |keys: Vec<String>| {
            Box::pin(async move {
                recorded.lock().unwrap().push(keys.clone());
                Ok(keys
                    .into_iter()
                    .map(|k| (k.clone(), format!("new-{k}")))
                    .collect())
            })
        }
    }

    pub async fn stale_keys_of_separate_batch_calls_share_one_batch_refresh(backend: TestBackend) {
        const K: usize = 5;
        let store = store_on_a_manual_clock(backend).await;
        // The window never times out within the test: the K-th key fills it, deterministically.
        let config = stale_window()
            .refresh_window(Duration::from_secs(3600))
            .refresh_batch_max(K);
        let cache: Cache<String> = Cache::new(&store, config);
        let keys: Vec<String> = (0..K).map(|i| format!("s{i}")).collect();
        let old = "old".to_owned();
        cache
            .put_many(keys.iter().map(|k| (k, &old)))
            .await
            .unwrap();
        advance(&store, TTL);
        let recorded: Recorded = Arc::default();
        for key in &keys {
            let answer = bounded(
                "a stale batch read waited for its refresh",
                cache.get_many_or_insert_with([key], recording_batch(&recorded)),
            )
            .await
            .unwrap();
            assert_eq!(answer, HashMap::from([(key.clone(), old.clone())]));
        }
        until("the batch refresh ends", || {
            let stats = cache.stats();
            stats.refreshes_succeeded + stats.refreshes_failed == K as u64
        })
        .await;
        let calls = recorded.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "one batch loader call: {calls:?}");
        let asked: BTreeSet<String> = calls[0].iter().cloned().collect();
        assert_eq!(asked, keys.iter().cloned().collect::<BTreeSet<_>>());
        assert_eq!(calls[0].len(), K, "each key once: {calls:?}");
        for key in &keys {
            let refreshed = Some(format!("new-{key}"));
            assert_eq!(stored(&store, key).await, refreshed);
            assert_eq!(cache.get(key).await.unwrap(), refreshed);
        }
        let stats = cache.stats();
        assert_eq!(stats.stale_hits, K as u64, "{stats:?}");
        assert_eq!(stats.refreshes_started, K as u64, "{stats:?}");
        assert_eq!(stats.refreshes_succeeded, K as u64, "{stats:?}");
        assert_eq!(stats.loader_calls, 1, "{stats:?}");
        // The window's refresh has ended and nothing is waiting to start: waiting for
        // refreshes returns (it must not wait out the filled window's hour-long timer).
        bounded(
            "wait_for_refreshes after the filled window's refresh ended",
            cache.wait_for_refreshes(),
        )
        .await;
    }

    pub async fn a_failed_refresh_keeps_the_stale_value_and_pauses_refreshes_for_the_throttle(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let throttle = 30;
        let cache: Cache<String> = Cache::new(
            &store,
            stale_window().fail_safe_throttle(Ttl::secs(throttle)),
        );
        cache.put("k", &"old".to_owned()).await.unwrap();
        let expires_at = now(&store) + (TTL + STALE) as i64;
        advance(&store, TTL);
        let calls = Arc::new(AtomicUsize::new(0));
        let value = cache
            .get_or_insert_with("k", failing(&calls))
            .await
            .unwrap();
        assert_eq!(value, "old");
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        let stats = cache.stats();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            (
                stats.refreshes_started,
                stats.refreshes_failed,
                stats.loader_errors
            ),
            (1, 1, 1),
            "{stats:?}"
        );
        assert_eq!(
            stored(&store, "k").await.as_deref(),
            Some("old"),
            "the stale value stays"
        );
        // Within the throttle: the stale value answers and no refresh starts.
        advance(&store, throttle - 1);
        let value = cache
            .get_or_insert_with("k", counting(&calls, "too soon"))
            .await
            .unwrap();
        assert_eq!(value, "old");
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "throttled: the loader was not called"
        );
        let stats = cache.stats();
        assert_eq!(
            (
                stats.stale_hits,
                stats.refreshes_started,
                stats.loader_calls
            ),
            (2, 1, 1),
            "{stats:?}"
        );
        // Past the throttle, still inside the stale window: the next stale read refreshes.
        advance(&store, 1);
        assert!(now(&store) < expires_at, "still inside the stale window");
        let value = cache
            .get_or_insert_with("k", counting(&calls, "new"))
            .await
            .unwrap();
        assert_eq!(value, "old", "still the stale value, at once");
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(stored(&store, "k").await.as_deref(), Some("new"));
        let stats = cache.stats();
        assert_eq!(
            (
                stats.stale_hits,
                stats.refreshes_started,
                stats.refreshes_succeeded
            ),
            (3, 2, 1),
            "{stats:?}"
        );
    }

    pub async fn an_expired_value_within_fail_safe_max_answers_when_the_loader_fails(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let max = 3600;
        // No stale window: a value is fresh for its TTL, then expired.
        let config = CacheConfig::new().prefix("fr").ttl(Ttl::secs(TTL));
        let safe: Cache<String> = Cache::new(&store, config.clone().fail_safe_max(Ttl::secs(max)));
        let plain: Cache<String> = Cache::new(&store, config);
        safe.put("k", &"old".to_owned()).await.unwrap();
        advance(&store, TTL + 60);
        assert_eq!(
            safe.get("k").await.unwrap(),
            None,
            "expired for plain reads"
        );
        let calls = Arc::new(AtomicUsize::new(0));
        let value = safe.get_or_insert_with("k", failing(&calls)).await.unwrap();
        assert_eq!(
            value, "old",
            "the expired value answers instead of the error"
        );
        let stats = safe.stats();
        assert_eq!(
            (
                stats.fail_safe_hits,
                stats.loader_calls,
                stats.loader_errors
            ),
            (1, 1, 1),
            "{stats:?}"
        );
        // Without a fail-safe maximum the loader's error is returned.
        let error = plain
            .get_or_insert_with("k", failing(&calls))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Loader(_)), "{error:?}");
        assert_eq!(
            error.loader_error::<std::io::Error>().unwrap().to_string(),
            "upstream is down"
        );
        assert_eq!(plain.stats().fail_safe_hits, 0);
        // Past the fail-safe maximum (and the throttle) it is no fallback any more.
        advance(&store, max);
        let error = safe
            .get_or_insert_with("k", failing(&calls))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Loader(_)), "{error:?}");
        assert_eq!(safe.stats().fail_safe_hits, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    pub async fn past_the_soft_timeout_the_fallback_answers_and_the_late_value_is_stored(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let config = CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::secs(TTL))
            .fail_safe_max(Ttl::secs(3600))
            .soft_timeout(Duration::from_millis(50));
        let cache: Cache<String> = Cache::new(&store, config);
        cache.put("k", &"old".to_owned()).await.unwrap();
        advance(&store, TTL + 60);
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Gate::closed();
        // The loader waits at the closed gate, so it passes the soft timeout.
        let value = bounded(
            "the caller waited past the soft timeout",
            cache.get_or_insert_with("k", gated(&calls, &gate, "late")),
        )
        .await
        .unwrap();
        assert_eq!(value, "old", "the fallback answers");
        let stats = cache.stats();
        assert_eq!(
            (stats.soft_timeouts, stats.fail_safe_hits),
            (1, 1),
            "{stats:?}"
        );
        // The load goes on: another caller gets the fallback rather than a second load.
        let value = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(value, "old");
        assert_eq!(
            stored(&store, "k").await,
            None,
            "still expired in the store"
        );
        gate.open();
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(stored(&store, "k").await.as_deref(), Some("late"));
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("late"));
        let value = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(value, "late");
        let stats = cache.stats();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            (stats.loader_calls, stats.loader_errors, stats.hard_timeouts),
            (1, 0, 0),
            "{stats:?}"
        );
    }

    pub async fn past_the_soft_timeout_a_batch_call_answers_with_fallbacks_and_its_load_is_stored(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let config = CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::secs(TTL))
            .fail_safe_max(Ttl::secs(3600))
            .soft_timeout(Duration::from_millis(50));
        let cache: Cache<String> = Cache::new(&store, config);
        cache
            .put_many([("a", &"old a".to_owned()), ("b", &"old b".to_owned())])
            .await
            .unwrap();
        advance(&store, TTL + 60);
        cache.put("fresh", &"fresh".to_owned()).await.unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate::closed();
        let (loader_asked, loader_gate) = (asked.clone(), gate.clone());
        // Both expired keys have fallbacks; the loader waits at the closed gate.
        let answer = bounded(
            "the batch call waited past the soft timeout",
            cache.get_many_or_insert_with(["a", "b", "fresh"], move |mut missing| async move {
                missing.sort();
                loader_asked.lock().unwrap().push(missing.clone());
                loader_gate.passed().await;
                Ok::<_, std::io::Error>(
                    missing
                        .into_iter()
                        .map(|k| (k.clone(), format!("new {k}")))
                        .collect::<HashMap<_, _>>(),
                )
            }),
        )
        .await
        .unwrap();
        assert_eq!(
            answer,
            HashMap::from([
                ("a".to_owned(), "old a".to_owned()),
                ("b".to_owned(), "old b".to_owned()),
                ("fresh".to_owned(), "fresh".to_owned()),
            ]),
            "the fallbacks answer"
        );
        let stats = cache.stats();
        assert_eq!(
            (stats.soft_timeouts, stats.fail_safe_hits),
            (1, 2),
            "{stats:?}"
        );
        gate.open();
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(
            *asked.lock().unwrap(),
            [vec!["a".to_owned(), "b".to_owned()]]
        );
        assert_eq!(stored(&store, "a").await.as_deref(), Some("new a"));
        assert_eq!(stored(&store, "b").await.as_deref(), Some("new b"));
        // A key without a fallback keeps the caller waiting for the load, past any soft
        // timeout: there is nothing else to answer with.
        let waited = cache
            .get_many_or_insert_with(["c"], |missing| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<_, std::io::Error>(
                    missing
                        .into_iter()
                        .map(|k| (k, "new c".to_owned()))
                        .collect::<HashMap<_, _>>(),
                )
            })
            .await
            .unwrap();
        assert_eq!(waited["c"], "new c");
        assert_eq!(cache.stats().soft_timeouts, 1);
    }

    pub async fn past_the_hard_timeout_the_load_is_abandoned_and_a_fallback_answers_if_there_is_one(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let limit = Duration::from_millis(50);
        let config = CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::secs(TTL))
            .fail_safe_max(Ttl::secs(3600))
            .hard_timeout(limit);
        let cache: Cache<String> = Cache::new(&store, config);
        let never = || std::future::pending::<Result<String, std::io::Error>>();
        // Nothing to fall back on: the timeout is the answer, and nothing is stored.
        let error = bounded("the hard timeout", cache.get_or_insert_with("none", never))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::LoaderTimeout { after } if after == limit),
            "{error:?}"
        );
        let stats = cache.stats();
        assert_eq!(
            (
                stats.hard_timeouts,
                stats.loader_calls,
                stats.fail_safe_hits
            ),
            (1, 1, 0),
            "{stats:?}"
        );
        assert_eq!(stored(&store, "none").await, None);
        assert_eq!(cache.get("none").await.unwrap(), None);
        // The batch form: the same.
        let never_batch = |_: Vec<String>| {
            std::future::pending::<Result<HashMap<String, String>, std::io::Error>>()
        };
        let error = bounded(
            "the hard timeout",
            cache.get_many_or_insert_with(["none", "nor"], never_batch),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::LoaderTimeout { .. }), "{error:?}");
        assert_eq!(cache.stats().hard_timeouts, 2);
        assert!(
            cache
                .get_many(["none", "nor"])
                .await
                .unwrap()
                .found
                .is_empty()
        );
        // An expired value within the fail-safe maximum: it answers.
        cache.put("k", &"old".to_owned()).await.unwrap();
        advance(&store, TTL + 60);
        let value = bounded("the hard timeout", cache.get_or_insert_with("k", never))
            .await
            .unwrap();
        assert_eq!(value, "old");
        let stats = cache.stats();
        assert_eq!(
            (
                stats.hard_timeouts,
                stats.fail_safe_hits,
                stats.loader_calls
            ),
            (3, 1, 3),
            "{stats:?}"
        );
        assert_eq!(stored(&store, "k").await, None, "nothing new stored");
    }

    pub async fn a_refresh_past_the_hard_timeout_fails_and_the_stale_value_stays(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let cache: Cache<String> = Cache::new(
            &store,
            stale_window().hard_timeout(Duration::from_millis(50)),
        );
        cache.put("k", &"old".to_owned()).await.unwrap();
        advance(&store, TTL);
        let never = || std::future::pending::<Result<String, std::io::Error>>();
        let value = bounded(
            "the stale read waited for its refresh",
            cache.get_or_insert_with("k", never),
        )
        .await
        .unwrap();
        assert_eq!(value, "old");
        // The refresh ends at the hard timeout.
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        let stats = cache.stats();
        assert_eq!(
            (
                stats.refreshes_started,
                stats.refreshes_failed,
                stats.hard_timeouts
            ),
            (1, 1, 1),
            "{stats:?}"
        );
        assert_eq!(
            stored(&store, "k").await.as_deref(),
            Some("old"),
            "the stale value stays"
        );
        // And the key is throttled: the next stale read starts no refresh.
        let value = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(value, "old");
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        let stats = cache.stats();
        assert_eq!(
            (
                stats.stale_hits,
                stats.refreshes_started,
                stats.loader_calls
            ),
            (2, 1, 1),
            "{stats:?}"
        );
    }

    pub async fn a_loader_chooses_not_to_store_or_its_own_horizons(backend: TestBackend) {
        let store = store_on_a_manual_clock(backend).await;
        // A day's TTL, an L1 (which must not hold an uncached value either).
        let config = CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::days(1))
            .l1(L1Config::new().ttl(Ttl::days(1)));
        let cache: Cache<String> = Cache::new(&store, config);
        let calls = Arc::new(AtomicUsize::new(0));
        let uncached = |calls: &Arc<AtomicUsize>| {
            let calls = calls.clone();
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Loaded::uncached("error page".to_owned()))
            }
        };
        let value = cache
            .get_or_insert_with("u", uncached(&calls))
            .await
            .unwrap();
        assert_eq!(value, "error page");
        assert_eq!(stored(&store, "u").await, None, "not stored");
        assert_eq!(cache.get("u").await.unwrap(), None, "nor in the L1");
        let value = cache
            .get_or_insert_with("u", uncached(&calls))
            .await
            .unwrap();
        assert_eq!(value, "error page");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the next call loads again");
        // Its own TTL: 10 s on a cache of a day.
        let brief = |value: &'static str| {
            move || async move {
                Ok::<_, std::io::Error>(Loaded::new(value.to_owned()).ttl(Ttl::secs(10)))
            }
        };
        let value = cache.get_or_insert_with("t", brief("brief")).await.unwrap();
        assert_eq!(value, "brief");
        let info = cache.item_info("t").await.unwrap().unwrap();
        assert_eq!(info.expires_at, now(&store) + 10);
        advance(&store, 9);
        assert_eq!(cache.get("t").await.unwrap().as_deref(), Some("brief"));
        advance(&store, 1);
        assert_eq!(
            cache.get("t").await.unwrap(),
            None,
            "expired after its 10 s"
        );
        assert_eq!(stored(&store, "t").await, None);
        let value = cache.get_or_insert_with("t", brief("again")).await.unwrap();
        assert_eq!(value, "again", "loaded again");
        // On a cache with a stale window: the loader's own stale window, or none.
        let stale_cache: Cache<String> = Cache::new(&store, stale_window().prefix("fs"));
        let no_stale = || async { Ok::<_, std::io::Error>(Loaded::new("n".to_owned()).no_stale()) };
        stale_cache.get_or_insert_with("n", no_stale).await.unwrap();
        let own_stale = || async {
            Ok::<_, std::io::Error>(Loaded::new("s".to_owned()).stale_for(Ttl::secs(5)))
        };
        stale_cache
            .get_or_insert_with("s", own_stale)
            .await
            .unwrap();
        let plain = || async { Ok::<_, std::io::Error>("p".to_owned()) };
        stale_cache.get_or_insert_with("p", plain).await.unwrap();
        let expiry = |key: &'static str| {
            let stale_cache = stale_cache.clone();
            async move {
                stale_cache
                    .item_info(key)
                    .await
                    .unwrap()
                    .unwrap()
                    .expires_at
            }
        };
        let t = now(&store);
        assert_eq!(expiry("n").await, t + TTL as i64, "no stale window");
        assert_eq!(
            expiry("s").await,
            t + TTL as i64 + 5,
            "its own stale window"
        );
        assert_eq!(expiry("p").await, t + (TTL + STALE) as i64, "the cache's");
    }

    pub async fn a_batch_loader_chooses_not_to_store_or_its_own_horizons(backend: TestBackend) {
        let store = store_on_a_manual_clock(backend).await;
        let config = CacheConfig::new().prefix("fr").ttl(Ttl::days(1));
        let cache: Cache<String> = Cache::new(&store, config);
        let calls = Arc::new(AtomicUsize::new(0));
        let loader = |calls: &Arc<AtomicUsize>| {
            let calls = calls.clone();
            move |keys: Vec<String>| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let mut loaded = HashMap::new();
                for key in keys {
                    let value = match key.as_str() {
                        "brief" => Loaded::new("b".to_owned()).ttl(Ttl::secs(10)),
                        "uncached" => Loaded::uncached("u".to_owned()),
                        _ => Loaded::new("d".to_owned()),
                    };
                    loaded.insert(key, value);
                }
                Ok::<_, std::io::Error>(loaded)
            }
        };
        let keys = ["brief", "uncached", "day"];
        let all = cache
            .get_many_or_insert_with(keys, loader(&calls))
            .await
            .unwrap();
        let expected = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            all,
            expected(&[("brief", "b"), ("uncached", "u"), ("day", "d")]),
            "every value is returned"
        );
        assert_eq!(stored(&store, "uncached").await, None, "not stored");
        assert_eq!(stored(&store, "brief").await.as_deref(), Some("b"));
        assert_eq!(
            cache.item_info("brief").await.unwrap().unwrap().expires_at,
            now(&store) + 10
        );
        advance(&store, 10);
        let read = cache.get_many(keys).await.unwrap();
        assert_eq!(
            read.found,
            expected(&[("day", "d")]),
            "the brief one expired after 10 s, the uncached one was never stored"
        );
        // The next call loads what is not stored.
        let recorded: Recorded = Arc::default();
        let all = cache
            .get_many_or_insert_with(keys, recording_batch(&recorded))
            .await
            .unwrap();
        let asked: BTreeSet<String> = recorded.lock().unwrap().concat().into_iter().collect();
        assert_eq!(
            asked,
            BTreeSet::from(["brief".to_owned(), "uncached".to_owned()])
        );
        assert_eq!(all["day"], "d");
        assert_eq!(all["brief"], "new-brief");
    }

    pub async fn jitter_spreads_expiries_over_the_jitter_range(backend: TestBackend) {
        let store = store_on_a_manual_clock(backend).await;
        let ttl = 3600;
        let jitter = 100;
        let config = CacheConfig::new()
            .prefix("fr")
            .ttl(Ttl::secs(ttl))
            .jitter(Ttl::secs(jitter));
        let cache: Cache<u32> = Cache::new(&store, config);
        let keys: Vec<String> = (0..50).map(|i| format!("j{i}")).collect();
        let values: Vec<u32> = (0..50).collect();
        cache.put_many(keys.iter().zip(&values)).await.unwrap();
        let start = now(&store) + ttl as i64;
        let mut expiries = BTreeSet::new();
        for key in &keys {
            let info = cache.item_info(key).await.unwrap().unwrap();
            assert!(
                (start..=start + jitter as i64).contains(&info.expires_at),
                "{key} expires at {}, outside [{start}, {}]",
                info.expires_at,
                start + jitter as i64
            );
            expiries.insert(info.expires_at);
        }
        // Each expiry is drawn uniformly from 101 seconds: the chance that all 50 are equal is
        // 101^-49, about 1e-98.
        assert!(expiries.len() > 1, "all 50 items expire at the same second");
    }

    pub async fn an_item_without_fresh_until_is_fresh_until_its_ttl_then_a_miss(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let cache: Cache<String> = Cache::new(&store, stale_window());
        // As the Python package writes: a ttl, no fresh_until.
        for key in ["k", "a", "b"] {
            store
                .put(&format!("fr:{key}"), &"python", Ttl::secs(TTL))
                .await
                .unwrap();
        }
        advance(&store, TTL - 1);
        let value = cache.get_or_insert_with("k", not_called()).await.unwrap();
        assert_eq!(value, "python");
        let recorded: Recorded = Arc::default();
        let both = cache
            .get_many_or_insert_with(["a", "b"], recording_batch(&recorded))
            .await
            .unwrap();
        assert_eq!(both.len(), 2);
        assert!(both.values().all(|v| v == "python"));
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        let stats = cache.stats();
        assert_eq!(
            (
                stats.stale_hits,
                stats.refreshes_started,
                stats.loader_calls
            ),
            (0, 0, 0),
            "fresh until its ttl: {stats:?}"
        );
        // At its ttl it expires: a miss, loaded in front, never a stale hit.
        advance(&store, 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let value = cache
            .get_or_insert_with("k", counting(&calls, "loaded"))
            .await
            .unwrap();
        assert_eq!(value, "loaded");
        let both = cache
            .get_many_or_insert_with(["a", "b"], recording_batch(&recorded))
            .await
            .unwrap();
        assert_eq!(both["a"], "new-a");
        let asked: BTreeSet<String> = recorded.lock().unwrap().concat().into_iter().collect();
        assert_eq!(asked, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
        let stats = cache.stats();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            (
                stats.stale_hits,
                stats.refreshes_started,
                stats.loader_calls
            ),
            (0, 0, 2),
            "{stats:?}"
        );
    }

    pub async fn a_batch_call_loads_its_missing_and_stale_keys_in_one_loader_call(
        backend: TestBackend,
    ) {
        let store = store_on_a_manual_clock(backend).await;
        let cache: Cache<String> = Cache::new(&store, stale_window());
        let old = "old".to_owned();
        cache.put_many([("s1", &old), ("s2", &old)]).await.unwrap();
        advance(&store, TTL);
        cache.put("fresh", &"fresh".to_owned()).await.unwrap();
        let recorded: Recorded = Arc::default();
        let all = cache
            .get_many_or_insert_with(
                ["s1", "s2", "m1", "m2", "fresh"],
                recording_batch(&recorded),
            )
            .await
            .unwrap();
        let calls = recorded.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "one loader call: {calls:?}");
        let asked: BTreeSet<String> = calls[0].iter().cloned().collect();
        let expected: BTreeSet<String> = ["s1", "s2", "m1", "m2"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        assert_eq!(
            asked, expected,
            "the missing and the stale keys, not the fresh one"
        );
        for key in ["s1", "s2", "m1", "m2"] {
            assert_eq!(
                all[key],
                format!("new-{key}"),
                "the new values are returned"
            );
            assert_eq!(stored(&store, key).await, Some(format!("new-{key}")));
        }
        assert_eq!(all["fresh"], "fresh");
        bounded("wait_for_refreshes", cache.wait_for_refreshes()).await;
        assert_eq!(
            recorded.lock().unwrap().len(),
            1,
            "no refresh after the call"
        );
        let stats = cache.stats();
        assert_eq!(stats.stale_hits, 2, "{stats:?}");
        assert_eq!(
            (
                stats.refreshes_started,
                stats.refreshes_succeeded,
                stats.loader_calls
            ),
            (2, 2, 1),
            "{stats:?}"
        );
    }
}

/// The circuit breaker, on a store whose endpoint is a loopback port where nothing listens:
/// every request fails at once, so no server is needed.
mod circuit {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, CircuitBreaker, Clock, L1Config, Store, Ttl};

    use crate::support::sdk_config;

    async fn unreachable_store(breaker: CircuitBreaker) -> Store {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        Store::builder()
            .table("unreachable")
            .create_table(false)
            .max_attempts(1)
            .batch_max_attempts(1)
            .connect_timeout(Duration::from_secs(2))
            .sdk_config(sdk_config(&endpoint).await)
            .endpoint_url(endpoint)
            .clock(Clock::manual())
            .circuit_breaker(breaker)
            .build()
            .await
            .expect("building without table creation makes no call")
    }

    /// A loader returning `value`, counting its calls.
    fn load(
        calls: &Arc<AtomicUsize>,
        value: u64,
    ) -> impl FnOnce() -> futures_util::future::BoxFuture<'static, Result<u64, std::io::Error>>
    + Send
    + 'static {
        let calls = calls.clone();
        move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(value)
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_circuit_skips_the_store_until_the_cool_down_then_probes_once() {
        let store =
            unreachable_store(CircuitBreaker::new().failures(3).cool_down(Ttl::secs(30))).await;
        let cache: Cache<u64> = Cache::new(
            &store,
            CacheConfig::new()
                .ttl(Ttl::days(1))
                .l1(L1Config::new().ttl(Ttl::hours(1))),
        );
        let calls = Arc::new(AtomicUsize::new(0));
        // Read-through calls on new keys until the circuit opens: each store request fails
        // (the read, then the write of the loaded value), and the third failure in a row
        // opens it. Every call answers with its loader's value all the same.
        let mut tripped_after = None;
        for i in 0..3_u64 {
            let value = cache
                .get_or_insert_with(&format!("k{i}"), load(&calls, i))
                .await
                .unwrap();
            assert_eq!(value, i);
            let stats = cache.stats();
            assert_eq!(
                stats.circuit_trips,
                u64::from(stats.store_errors >= 3),
                "the third store failure in a row opens it, not before: {stats:?}"
            );
            if stats.circuit_trips == 1 {
                tripped_after = Some(i + 1);
                break;
            }
        }
        let tripped_after = tripped_after.expect("the circuit opened within three calls");
        let at_trip = cache.stats();
        assert_eq!(at_trip.store_errors, 3, "{at_trip:?}");
        // Open: read-through calls do not touch the store, and answer with the loader's value.
        for i in 10..15_u64 {
            let value = cache
                .get_or_insert_with(&format!("k{i}"), load(&calls, i))
                .await
                .unwrap();
            assert_eq!(value, i);
        }
        let open = cache.stats();
        assert_eq!(
            open.store_errors, 3,
            "no store request while open: {open:?}"
        );
        assert_eq!(open.circuit_trips, 1, "{open:?}");
        assert!(
            open.store_skipped >= at_trip.store_skipped + 5,
            "each call skipped the store: {open:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), tripped_after as usize + 5);
        // The batch form too.
        let many = cache
            .get_many_or_insert_with(["b1", "b2"], |missing| async move {
                Ok::<_, std::io::Error>(missing.into_iter().map(|k| (k, 7)).collect())
            })
            .await
            .unwrap();
        assert_eq!(many.len(), 2);
        let open = cache.stats();
        assert_eq!(open.store_errors, 3, "{open:?}");
        // What was loaded is in the L1: a failing loader is not even called.
        let failing = || async { Err::<u64, _>(std::io::Error::other("not called")) };
        assert_eq!(cache.get_or_insert_with("k12", failing).await.unwrap(), 12);
        assert_eq!(cache.get_or_insert_with("k0", failing).await.unwrap(), 0);
        assert_eq!(cache.get_or_insert_with("b1", failing).await.unwrap(), 7);
        let stats = cache.stats();
        assert_eq!(stats.loader_errors, 0, "{stats:?}");
        assert_eq!(stats.store_errors, 3, "{stats:?}");
        // Still inside the cool-down: still skipped.
        store.clock().advance(Duration::from_secs(29));
        cache
            .get_or_insert_with("k20", load(&calls, 20))
            .await
            .unwrap();
        assert_eq!(cache.stats().store_errors, 3);
        // Past the cool-down one call probes the store; its failure opens the circuit again.
        store.clock().advance(Duration::from_secs(1));
        let value = cache
            .get_or_insert_with("k21", load(&calls, 21))
            .await
            .unwrap();
        assert_eq!(value, 21);
        let probed = cache.stats();
        assert_eq!(probed.store_errors, 4, "one probe request: {probed:?}");
        assert_eq!(probed.circuit_trips, 2, "{probed:?}");
        let value = cache
            .get_or_insert_with("k22", load(&calls, 22))
            .await
            .unwrap();
        assert_eq!(value, 22);
        assert_eq!(
            cache.stats().store_errors,
            4,
            "open again after the failed probe"
        );
    }
}

/// The Python package (0.1.7, which knows nothing of stale windows) reads items written by a
/// Rust cache with one: it serves them until their `ttl`, the end of the stale window.
#[cfg(feature = "server-tests")]
mod interop {
    crate::on_every_server!(suite: python_reads_items_written_with_a_stale_window);

    mod suite {
        use std::time::Duration;

        use dynamorator::{Cache, CacheConfig, Clock, Ttl};
        use serde_json::json;

        use crate::support::{TestBackend, python, raw};

        pub async fn python_reads_items_written_with_a_stale_window(backend: TestBackend) {
            let clock = Clock::manual();
            let store = backend.build(|b| b.clock(clock.clone())).await;
            let table = store.table_name().unwrap().to_owned();
            let cache: Cache<serde_json::Value> = Cache::new(
                &store,
                CacheConfig::new()
                    .ttl(Ttl::minutes(1))
                    .stale_for(Ttl::days(1)),
            );
            // Written now: fresh for Python's clock (the system's).
            cache.put("fresh", &json!({"v": 1})).await.unwrap();
            cache.put("fresh2", &json!([1, 2])).await.unwrap();
            // Written an hour ago: by the system clock past its fresh horizon, inside its
            // stale window.
            clock.set(clock.now_epoch_secs() - 3600);
            cache.put("stale", &json!("old")).await.unwrap();
            clock.advance(Duration::from_secs(3600));
            let item = raw::get(&raw::client(backend).await, &table, "stale")
                .await
                .unwrap();
            assert!(item.contains_key("fresh_until"), "{item:?}");
            assert!(item.contains_key("ttl"), "{item:?}");
            let read = python::run(
                backend,
                &table,
                false,
                1024,
                "print(json.dumps({'get': [store.get('fresh'), store.get('stale')], \
                 'batch': store.batch_get(['fresh', 'fresh2', 'stale', 'absent'])}))",
            );
            assert_eq!(read["get"], json!([{"v": 1}, "old"]));
            assert_eq!(
                read["batch"],
                json!({"fresh": {"v": 1}, "fresh2": [1, 2], "stale": "old"})
            );
        }
    }
}

/// Gates, waits and bounds, shared with the other concurrency suites.
mod helpers {
    pub use dynamorator_testkit::waits::*;
}
