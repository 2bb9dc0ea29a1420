//! Across processes: leases (one load per key for a fleet), fleet-wide `clear()` and ordered
//! writes (`put_versioned`).
//!
//! - In one process, on every backend: two `Cache::new` on one store share no in-process
//!   stampede protection, so they meet only through the store, as two processes do. Loaders
//!   that must stay in flight wait at a gate the test opens once the other cache is seen
//!   waiting (its `lease_waits`); time is the store's manual clock where it matters.
//! - Across real OS processes, on moto, dynalite and one embedded file shared by every
//!   process: the workers are this test binary run again (`--exact fleet_worker`), told what to do by `DYNAMORATOR_FLEET_*` variables; they
//!   print one `FLEET <event> <json>` line per step, which the parent reads. Every wait on a
//!   child is bounded: past its deadline the child is killed and the test fails.
//!
//! Nothing asserts how long anything took; the only real durations are lease lengths a
//! process must wait out (a killed holder's), and deadlines that fail a hung test.

mod support;

on_every_backend!(suite:
    a_second_cache_waits_for_the_lease_and_answers_with_the_first_ones_value,
    batch_calls_of_two_caches_load_each_key_once,
    a_stale_value_answers_and_the_cache_without_the_lease_does_not_load,
    clear_reaches_another_cache_once_its_poll_is_due,
    a_value_not_to_be_stored_ends_its_lease,
    clear_needs_fleet_clear,
    ordered_writes_keep_the_highest_version_under_8_concurrent_writers,
    a_lease_taken_after_another_cache_stored_the_value_does_not_load_it_again,
    a_batch_call_loads_the_keys_it_holds_while_it_waits_for_the_others,
);

/// Real OS processes, on moto and dynalite (a module of its own: the suite above already has
/// `moto` and `dynalite` modules).
#[cfg(feature = "server-tests")]
mod across_processes {
    use super::processes;

    crate::on_every_server!(processes:
        four_processes_with_leases_load_200_cold_keys_at_most_210_times,
        four_processes_without_leases_load_200_cold_keys_at_least_once_each,
        four_processes_with_leases_and_batches_of_20_load_at_most_210_keys,
        a_killed_holder_blocks_nobody_past_its_lease,
        clear_in_one_process_reaches_another_once_its_poll_is_due,
        ordered_writes_of_four_processes_keep_the_highest_version,
        python_reads_a_table_with_leases_in_it,
    );
}

/// Real OS processes sharing one embedded file: the same tests, the same semantics, with the
/// conditions evaluated in the file's transactions.
mod across_processes_on_one_file {
    use super::processes;
    use crate::support::TestBackend;

    macro_rules! on_the_file {
        ($($test:ident),+ $(,)?) => {$(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                processes::$test(TestBackend::EmbeddedFile).await
            }
        )+};
    }

    on_the_file!(
        four_processes_with_leases_load_200_cold_keys_at_most_210_times,
        four_processes_without_leases_load_200_cold_keys_at_least_once_each,
        four_processes_with_leases_and_batches_of_20_load_at_most_210_keys,
        a_killed_holder_blocks_nobody_past_its_lease,
        clear_in_one_process_reaches_another_once_its_poll_is_due,
        ordered_writes_of_four_processes_keep_the_highest_version,
    );
}

/// The worker the multi-process tests start: returns at once (a passing test) unless
/// `DYNAMORATOR_FLEET_ROLE` is set.
#[test]
fn fleet_worker() {
    worker::main();
}

/// Gates, waits and bounds, shared with the other concurrency suites.
mod helpers {
    pub use dynamorator_testkit::waits::*;
}

mod suite {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Clock, Error, L1Config, Loaded, Ttl};
    use futures_util::TryStreamExt;
    use futures_util::future::join_all;

    use super::helpers::{Gate, bounded, until};
    use crate::support::TestBackend;

    /// Long enough that no wait in these tests reaches it.
    const LEASE: Duration = Duration::from_secs(30);

    fn leased() -> CacheConfig {
        CacheConfig::new().prefix("fl").leases(LEASE)
    }

    type Loader = Box<
        dyn FnOnce() -> futures_util::future::BoxFuture<'static, Result<String, std::io::Error>>
            + Send,
    >;

    /// Counts its calls, waits at `gate`, returns `value`.
    fn gated(calls: &Arc<AtomicUsize>, gate: &Gate, value: &str) -> Loader {
        let (calls, gate, value) = (calls.clone(), gate.clone(), value.to_owned());
        Box::new(move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                gate.passed().await;
                Ok(value)
            })
        })
    }

    /// Counts its calls, returns `value` at once.
    fn counting(calls: &Arc<AtomicUsize>, value: &str) -> Loader {
        let (calls, value) = (calls.clone(), value.to_owned());
        Box::new(move || {
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(value)
            })
        })
    }

    pub async fn a_second_cache_waits_for_the_lease_and_answers_with_the_first_ones_value(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        let a: Cache<String> = Cache::new(&store, leased());
        let b: Cache<String> = Cache::new(&store, leased());
        let (a_calls, b_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let gate = Gate::closed();

        let first = tokio::spawn({
            let (a, loader) = (a.clone(), gated(&a_calls, &gate, "from-a"));
            async move { a.get_or_insert_with("k", loader).await }
        });
        until("a's loader runs, holding the lease", || {
            a_calls.load(Ordering::SeqCst) == 1
        })
        .await;
        let second = tokio::spawn({
            let (b, loader) = (b.clone(), counting(&b_calls, "from-b"));
            async move { b.get_or_insert_with("k", loader).await }
        });
        until("b waits on a's lease", || b.stats().lease_waits == 1).await;
        gate.open();

        let first = bounded("a's call", first).await.unwrap().unwrap();
        let second = bounded("b's call", second).await.unwrap().unwrap();
        assert_eq!(first, "from-a");
        assert_eq!(second, "from-a", "b answers with the value a stored");
        assert_eq!(a_calls.load(Ordering::SeqCst), 1);
        assert_eq!(b_calls.load(Ordering::SeqCst), 0, "b never loads");
        let (a_stats, b_stats) = (a.stats(), b.stats());
        assert_eq!(
            (
                a_stats.leases_taken,
                a_stats.lease_waits,
                a_stats.loader_calls
            ),
            (1, 0, 1)
        );
        assert_eq!(
            (
                b_stats.leases_taken,
                b_stats.lease_waits,
                b_stats.loader_calls
            ),
            (0, 1, 0)
        );
        // The lease ended with a's write: a third cache reads the value, no lease involved.
        let c: Cache<String> = Cache::new(&store, leased());
        let third = c
            .get_or_insert_with("k", counting(&b_calls, "from-c"))
            .await
            .unwrap();
        assert_eq!(third, "from-a");
        assert_eq!(c.stats().leases_taken + c.stats().lease_waits, 0);
    }

    /// Every batch loader call: whose, and the keys it was given.
    type Calls = Arc<Mutex<Vec<(&'static str, Vec<String>)>>>;

    pub async fn batch_calls_of_two_caches_load_each_key_once(backend: TestBackend) {
        let store = backend.store().await;
        let a: Cache<u64> = Cache::new(&store, leased());
        let b: Cache<u64> = Cache::new(&store, leased());
        let calls: Calls = Arc::default();
        let gate = Gate::closed();
        let keys =
            |range: std::ops::Range<u64>| range.map(|i| format!("k{i:02}")).collect::<Vec<_>>();
        let loader = |name: &'static str, gate: Option<Gate>| {
            let calls = calls.clone();
            move |mut missing: Vec<String>| async move {
                missing.sort();
                calls.lock().unwrap().push((name, missing.clone()));
                if let Some(gate) = gate {
                    gate.passed().await;
                }
                Ok::<_, std::io::Error>(
                    missing
                        .iter()
                        .map(|k| (k.clone(), k[1..].parse::<u64>().unwrap()))
                        .collect::<HashMap<_, _>>(),
                )
            }
        };

        let first = tokio::spawn({
            let (a, load) = (a.clone(), loader("a", Some(gate.clone())));
            let asked = keys(0..10);
            async move { a.get_many_or_insert_with(asked, load).await }
        });
        until("a's loader runs, holding 10 leases", || {
            calls.lock().unwrap().len() == 1
        })
        .await;
        let second = tokio::spawn({
            let (b, load) = (b.clone(), loader("b", None));
            let asked = keys(5..15);
            async move { b.get_many_or_insert_with(asked, load).await }
        });
        until("b waits on the 5 keys a holds", || {
            b.stats().lease_waits == 5
        })
        .await;
        gate.open();

        let first = bounded("a's call", first).await.unwrap().unwrap();
        let second = bounded("b's call", second).await.unwrap().unwrap();
        let expect = |range: std::ops::Range<u64>| {
            range
                .map(|i| (format!("k{i:02}"), i))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(first, expect(0..10));
        assert_eq!(second, expect(5..15));
        let calls = calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![("a", keys(0..10)), ("b", keys(10..15))],
            "each key loaded once"
        );
        assert_eq!((a.stats().leases_taken, a.stats().lease_waits), (10, 0));
        assert_eq!((b.stats().leases_taken, b.stats().lease_waits), (5, 5));
    }

    /// The deterministic form of the race that makes 4 processes load more than 200 keys:
    /// a call that saw the key missing takes its lease after another cache stored the value
    /// (the write ended the other's lease), and loads again. Here b "saw it missing" through
    /// its L1's remembered miss; across processes it is a read just before the other's write.
    pub async fn a_lease_taken_after_another_cache_stored_the_value_does_not_load_it_again(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        let a: Cache<String> = Cache::new(&store, leased());
        let b: Cache<String> = Cache::new(
            &store,
            leased().l1(L1Config::new().negative_ttl(Ttl::secs(60))),
        );
        let (a_calls, b_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        assert_eq!(b.get("k").await.unwrap(), None, "b sees k missing");
        let stored = a
            .get_or_insert_with("k", counting(&a_calls, "from-a"))
            .await
            .unwrap();
        assert_eq!(stored, "from-a");
        let answer = bounded(
            "b's read-through",
            b.get_or_insert_with("k", counting(&b_calls, "from-b")),
        )
        .await
        .unwrap();
        assert_eq!(
            (
                answer.as_str(),
                b_calls.load(Ordering::SeqCst),
                b.stats().leases_taken
            ),
            ("from-a", 0, 0),
            "b took a lease on a key whose value a had stored, and loaded it again"
        );
    }

    /// The deterministic form of what makes batch read-through across processes load ~750
    /// keys for 200: a batch call takes the leases it can, then waits for the keys others hold
    /// before loading its own, so two batches holding each other's keys wait for each other
    /// until the wait's bound (lease + 500 ms), then both load everything.
    pub async fn a_batch_call_loads_the_keys_it_holds_while_it_waits_for_the_others(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        // Short leases: with the fault, a's wait ends at its bound (2.5 s) and the test fails
        // then; without it, nothing waits on a lease's end.
        let config = CacheConfig::new()
            .prefix("fl")
            .leases(Duration::from_secs(2));
        let a: Cache<u64> = Cache::new(&store, config.clone());
        let b: Cache<u64> = Cache::new(&store, config);
        let gate = Gate::closed();
        let b_calls = Arc::new(AtomicUsize::new(0));
        let held = tokio::spawn({
            let (b, gate, b_calls) = (b.clone(), gate.clone(), b_calls.clone());
            async move {
                b.get_or_insert_with("k2", move || async move {
                    b_calls.fetch_add(1, Ordering::SeqCst);
                    gate.passed().await;
                    Ok::<_, std::io::Error>(2)
                })
                .await
            }
        });
        until("b holds k2's lease and loads it", || {
            b_calls.load(Ordering::SeqCst) == 1
        })
        .await;

        let a_calls: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let batch = tokio::spawn({
            let (a, a_calls) = (a.clone(), a_calls.clone());
            async move {
                a.get_many_or_insert_with(
                    ["k1", "k2"],
                    move |mut missing: Vec<String>| async move {
                        missing.sort();
                        a_calls.lock().unwrap().push(missing.clone());
                        Ok::<_, std::io::Error>(
                            missing
                                .into_iter()
                                .map(|k| {
                                    let v = k[1..].parse::<u64>().unwrap();
                                    (k, v)
                                })
                                .collect::<HashMap<_, _>>(),
                        )
                    },
                )
                .await
            }
        });
        until("a's batch loader is called", || {
            !a_calls.lock().unwrap().is_empty()
        })
        .await;
        gate.open();
        let answer = bounded("a's batch call", batch).await.unwrap().unwrap();
        bounded("b's call", held).await.unwrap().unwrap();
        assert_eq!(
            answer,
            HashMap::from([("k1".to_owned(), 1), ("k2".to_owned(), 2)])
        );
        let calls = a_calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![vec!["k1".to_owned()]],
            "a loads k1 (its lease) without waiting for k2 (b's): it must not hold an unloaded \
             lease while it waits"
        );
    }

    /// A loader that says "do not store this" (`Loaded::uncached`: an error page, a private
    /// answer) ends its lease at once, single and batch: no write will, and another cache
    /// must not wait the lease out.
    pub async fn a_value_not_to_be_stored_ends_its_lease(backend: TestBackend) {
        let store = backend.store().await;
        let a: Cache<String> = Cache::new(&store, leased());
        let b: Cache<String> = Cache::new(&store, leased());
        let answer = a
            .get_or_insert_with("u", || async {
                Ok::<_, std::io::Error>(Loaded::uncached("private".to_owned()))
            })
            .await
            .unwrap();
        assert_eq!(answer, "private");
        let many = a
            .get_many_or_insert_with(["m1", "m2"], |keys: Vec<String>| async move {
                let values = keys
                    .into_iter()
                    .map(|key| (key, Loaded::uncached("private".to_owned())))
                    .collect::<HashMap<_, _>>();
                Ok::<_, std::io::Error>(values)
            })
            .await
            .unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(a.stats().leases_taken, 3);

        let calls = Arc::new(AtomicUsize::new(0));
        let single = bounded(
            "b's load of u",
            b.get_or_insert_with("u", counting(&calls, "b's")),
        )
        .await
        .unwrap();
        assert_eq!(single, "b's");
        let batch = bounded(
            "b's load of m1 and m2",
            b.get_many_or_insert_with(["m1", "m2"], |keys: Vec<String>| async move {
                Ok::<_, std::io::Error>(
                    keys.into_iter()
                        .map(|key| (key, "b's".to_owned()))
                        .collect::<HashMap<_, _>>(),
                )
            }),
        )
        .await
        .unwrap();
        assert_eq!(batch.len(), 2);
        let stats = b.stats();
        assert_eq!(
            (stats.leases_taken, stats.lease_waits),
            (3, 0),
            "b takes the leases a ended, waiting for none"
        );
    }

    pub async fn a_stale_value_answers_and_the_cache_without_the_lease_does_not_load(
        backend: TestBackend,
    ) {
        let store = backend.build(|b| b.clock(Clock::manual())).await;
        let config = leased().ttl(Ttl::secs(60)).stale_for(Ttl::secs(600));
        let a: Cache<String> = Cache::new(&store, config.clone());
        let b: Cache<String> = Cache::new(&store, config);
        a.put("k", &"old".to_owned()).await.unwrap();
        a.put("j", &"old-j".to_owned()).await.unwrap();
        store.clock().advance(Duration::from_secs(61));
        let (a_calls, b_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let gate = Gate::closed();

        // a's stale read answers at once; its refresh takes the lease and waits at the gate.
        let answer = bounded(
            "a's stale read",
            a.get_or_insert_with("k", gated(&a_calls, &gate, "new")),
        )
        .await
        .unwrap();
        assert_eq!(answer, "old");
        until("a's refresh holds the lease and loads", || {
            a_calls.load(Ordering::SeqCst) == 1
        })
        .await;

        // b: the stale value, and no load of its own (a holds the lease).
        let answer = bounded(
            "b's stale read",
            b.get_or_insert_with("k", counting(&b_calls, "b's")),
        )
        .await
        .unwrap();
        assert_eq!(answer, "old");
        bounded("b's refreshes", b.wait_for_refreshes()).await;
        assert_eq!(
            b_calls.load(Ordering::SeqCst),
            0,
            "b does not load a key a is refreshing"
        );
        let stats = b.stats();
        assert_eq!(stats.stale_hits, 1);
        assert_eq!(
            (
                stats.leases_taken,
                stats.refreshes_started,
                stats.loader_calls
            ),
            (0, 0, 0)
        );

        // The batch form: a holds "j" through a gated single-key refresh; b's batch call
        // answers "j" stale and its batch refresh leaves it to a.
        let gate_j = Gate::closed();
        let a_calls_j = Arc::new(AtomicUsize::new(0));
        let answer = a
            .get_or_insert_with("j", gated(&a_calls_j, &gate_j, "new-j"))
            .await
            .unwrap();
        assert_eq!(answer, "old-j");
        until("a's refresh of j holds its lease", || {
            a_calls_j.load(Ordering::SeqCst) == 1
        })
        .await;
        let b_batch_calls = Arc::new(AtomicUsize::new(0));
        let answer = bounded(
            "b's stale batch read",
            b.get_many_or_insert_with(["j"], {
                let calls = b_batch_calls.clone();
                move |missing: Vec<String>| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(
                        missing
                            .into_iter()
                            .map(|k| (k, "b's".to_owned()))
                            .collect::<HashMap<_, _>>(),
                    )
                }
            }),
        )
        .await
        .unwrap();
        assert_eq!(
            answer,
            HashMap::from([("j".to_owned(), "old-j".to_owned())])
        );
        bounded("b's batch refresh", b.wait_for_refreshes()).await;
        assert_eq!(
            b_batch_calls.load(Ordering::SeqCst),
            0,
            "b's batch refresh leaves j to a"
        );
        assert_eq!(b.stats().loader_calls, 0);

        gate.open();
        gate_j.open();
        bounded("a's refreshes", a.wait_for_refreshes()).await;
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("new"));
        assert_eq!(b.get("j").await.unwrap().as_deref(), Some("new-j"));
        assert_eq!(a.stats().leases_taken, 2);
    }

    pub async fn clear_reaches_another_cache_once_its_poll_is_due(backend: TestBackend) {
        let store = backend.build(|b| b.clock(Clock::manual())).await;
        let config = CacheConfig::new()
            .prefix("cl")
            .fleet_clear(Duration::from_secs(1));
        let a: Cache<String> = Cache::new(&store, config.clone());
        let b: Cache<String> = Cache::new(&store, config.l1(L1Config::new()));
        a.put("k", &"before".to_owned()).await.unwrap();
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("before"));
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("before"));
        assert_eq!(b.stats().l1_hits, 1, "b's second read is an L1 hit");

        assert_eq!(a.clear().await.unwrap(), 1);
        assert_eq!(a.get("k").await.unwrap(), None, "a misses at once");
        // b has not polled since: it still hits, until its clock passes the poll.
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("before"));
        store.clock().advance(Duration::from_millis(1_000));
        assert_eq!(
            b.get("k").await.unwrap(),
            None,
            "b misses once its poll is due"
        );
        assert_eq!(
            b.stats().l1_entries,
            0,
            "the generation change emptied b's L1"
        );

        // Written after the clear: hits for both.
        a.put("k", &"after".to_owned()).await.unwrap();
        b.put("k2", &"after-2".to_owned()).await.unwrap();
        for cache in [&a, &b] {
            assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("after"));
            assert_eq!(cache.get("k2").await.unwrap().as_deref(), Some("after-2"));
        }
        // A second clear, from b this time, reaches a after its poll.
        assert_eq!(b.clear().await.unwrap(), 2);
        assert_eq!(a.get("k").await.unwrap().as_deref(), Some("after"));
        store.clock().advance(Duration::from_millis(1_000));
        assert_eq!(a.get("k").await.unwrap(), None);

        // The generation item is in the table, and hidden from the cache's key listings.
        b.put("k3", &"x".to_owned()).await.unwrap();
        let mut keys: Vec<String> = a.keys().try_collect().await.unwrap();
        keys.sort();
        assert_eq!(
            keys,
            ["k", "k2", "k3"],
            "old items stay until their TTL; no generation key"
        );
        let mut page = a.list_keys(100, None).await.unwrap().keys;
        page.sort();
        assert_eq!(page, ["k", "k2", "k3"]);
        let stored: Vec<String> = store.keys().try_collect().await.unwrap();
        assert!(
            stored.contains(&"cl:__dynamorator_generation__".to_owned()),
            "the store lists the generation item: {stored:?}"
        );
        assert_eq!(
            store
                .get::<u64>("cl:__dynamorator_generation__")
                .await
                .unwrap(),
            Some(2)
        );
    }

    pub async fn clear_needs_fleet_clear(backend: TestBackend) {
        let store = backend.store().await;
        let cache: Cache<String> = Cache::new(&store, CacheConfig::new().prefix("nc"));
        cache.put("k", &"v".to_owned()).await.unwrap();
        match cache.clear().await {
            Err(Error::InvalidConfig { reason }) => {
                assert!(reason.contains("fleet_clear"), "{reason}")
            }
            other => panic!("clear without fleet_clear: {other:?}"),
        }
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some("v"),
            "nothing was cleared"
        );
    }

    pub async fn ordered_writes_keep_the_highest_version_under_8_concurrent_writers(
        backend: TestBackend,
    ) {
        const WRITERS: u64 = 8;
        const VERSIONS: u64 = 64;
        let store = backend.store().await;
        let cache: Cache<String> =
            Cache::new(&store, CacheConfig::new().prefix("ov").l1(L1Config::new()));

        // Writer w writes versions w+1, w+1+8, ... in a shuffled order: through one cache
        // (with an L1) on "k", through the store on "raw".
        let writers = (0..WRITERS).map(|w| {
            let (cache, store) = (cache.clone(), store.clone());
            tokio::spawn(async move {
                let mut versions: Vec<u64> = (1..=VERSIONS).filter(|v| v % WRITERS == w).collect();
                fastrand::shuffle(&mut versions);
                let mut written = 0;
                for version in versions {
                    let value = format!("v{version}");
                    if cache.put_versioned("k", &value, version).await.unwrap() {
                        written += 1;
                    }
                    if store
                        .put_versioned("raw", &value, Ttl::hours(1), version)
                        .await
                        .unwrap()
                    {
                        written += 1;
                    }
                    tokio::task::yield_now().await;
                }
                written
            })
        });
        let written: u64 = bounded("8 writers", join_all(writers))
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert!(
            written >= 2,
            "at least the highest version was written on each key"
        );

        let top = format!("v{VERSIONS}");
        assert_eq!(
            store.get::<String>("ov:k").await.unwrap(),
            Some(top.clone())
        );
        assert_eq!(store.get::<String>("raw").await.unwrap(), Some(top.clone()));
        assert_eq!(
            cache.get("k").await.unwrap(),
            Some(top.clone()),
            "the writers' L1 agrees"
        );
        let fresh: Cache<String> = Cache::new(&store, CacheConfig::new().prefix("ov"));
        assert_eq!(fresh.get("k").await.unwrap(), Some(top.clone()));

        // Older and equal versions are refused; a newer one is written.
        assert!(
            !cache
                .put_versioned("k", &"late".to_owned(), 10)
                .await
                .unwrap()
        );
        assert!(
            !cache
                .put_versioned("k", &"same".to_owned(), VERSIONS)
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_versioned("raw", &"late", Ttl::hours(1), 1)
                .await
                .unwrap()
        );
        assert_eq!(
            cache.get("k").await.unwrap(),
            Some(top.clone()),
            "a refused write leaves the L1 right"
        );
        assert!(
            cache
                .put_versioned("k", &"next".to_owned(), VERSIONS + 1)
                .await
                .unwrap()
        );
        assert_eq!(fresh.get("k").await.unwrap().as_deref(), Some("next"));
        // A plain put (no version) is overwritten by any versioned write.
        store
            .put("plain", &"unversioned", Ttl::hours(1))
            .await
            .unwrap();
        assert!(
            store
                .put_versioned("plain", &"v1", Ttl::hours(1), 1)
                .await
                .unwrap()
        );
        assert_eq!(
            store.get::<String>("plain").await.unwrap().as_deref(),
            Some("v1")
        );
    }
}

/// The parent's side of the multi-process tests: starting workers, reading their lines.
mod children {
    pub use dynamorator_testkit::workers::Worker;
    use dynamorator_testkit::workers::Workers;

    const FLEET: Workers = Workers {
        entry: "fleet_worker",
        prefix: "DYNAMORATOR_FLEET_",
        tag: "FLEET",
    };

    /// Starts this test binary as a worker with `vars` (`DYNAMORATOR_FLEET_*`).
    pub fn start(name: &str, vars: &[(&str, String)]) -> Worker {
        FLEET.start(name, vars)
    }
}

mod processes {
    use std::time::{Duration, Instant};

    use dynamorator::{Cache, CacheConfig, Clock, Ttl};
    use serde_json::Value;
    #[cfg(feature = "server-tests")]
    use serde_json::json;

    use super::children::{Worker, start};
    #[cfg(feature = "server-tests")]
    use super::helpers::{Gate, bounded, until};
    use crate::support::{TestBackend, test_dir, unique_file, unique_table_name};
    #[cfg(feature = "server-tests")]
    use crate::support::{python, raw};

    const PROCESSES: usize = 4;
    const KEYS: usize = 200;
    const LOADER_MS: u64 = 50;
    /// Leases long enough that no loader outlives one, even when four processes and the
    /// server share a loaded machine (a lease that ran out would let a second process load).
    const LEASE_MS: u64 = 30_000;

    /// A fresh table (or, on the embedded file, a fresh file), created (and waited for)
    /// before any worker starts, and its name (the file's path).
    async fn table(backend: TestBackend) -> (dynamorator::Store, String) {
        table_with(backend, Clock::system()).await
    }

    async fn table_with(backend: TestBackend, clock: Clock) -> (dynamorator::Store, String) {
        if backend == TestBackend::EmbeddedFile {
            let path = unique_file();
            let store = dynamorator::Store::builder()
                .embedded_file(&path)
                .clock(clock)
                .build()
                .await
                .expect("a store on a fresh file");
            return (store, path.display().to_string());
        }
        let name = unique_table_name();
        let store = backend.build(|b| b.table(name.clone()).clock(clock)).await;
        (store, name)
    }

    /// What a worker needs to reach the table: a server's endpoint and the table, or the file.
    fn common(backend: TestBackend, table: &str) -> Vec<(&'static str, String)> {
        if backend == TestBackend::EmbeddedFile {
            return vec![("FILE", table.to_owned())];
        }
        vec![
            ("ENDPOINT", backend.endpoint()),
            ("TABLE", table.to_owned()),
        ]
    }

    /// Starts 4 workers in `role` on `table` (worker `i` with `vars(i)` too), lets them go
    /// together once every one has its store, and returns their results.
    fn together(
        backend: TestBackend,
        table: &str,
        role: &str,
        vars: impl Fn(usize) -> Vec<(&'static str, String)>,
    ) -> Vec<Value> {
        let go = test_dir().join(format!("{}.go", unique_table_name()));
        let mut workers: Vec<Worker> = (0..PROCESSES)
            .map(|i| {
                let mut all = common(backend, table);
                all.extend(vars(i));
                all.extend([
                    ("ROLE", role.to_owned()),
                    ("GO_FILE", go.display().to_string()),
                ]);
                start(&format!("{role} worker {i}"), &all)
            })
            .collect();
        let ready_by = Instant::now() + Duration::from_secs(60);
        for worker in &mut workers {
            worker.expect("ready", ready_by);
        }
        std::fs::write(&go, b"go").expect("write the start file");
        let done_by = Instant::now() + Duration::from_secs(120);
        let results: Vec<Value> = workers
            .iter_mut()
            .map(|w| w.expect("result", done_by))
            .collect();
        for worker in workers {
            worker.finish(done_by + Duration::from_secs(10));
        }
        let _ = std::fs::remove_file(&go);
        results
    }

    /// Starts 4 load workers, lets them go together, and returns their results.
    async fn run_fleet(backend: TestBackend, lease_ms: u64, mode: &str) -> Vec<Value> {
        let (_store, table) = table(backend).await;
        let results = together(backend, &table, "load", |_| {
            vec![
                ("MODE", mode.to_owned()),
                ("LEASE_MS", lease_ms.to_string()),
                ("KEYS", KEYS.to_string()),
                ("LOADER_MS", LOADER_MS.to_string()),
            ]
        });
        for result in &results {
            assert_eq!(
                result["wrong"], 0,
                "every answer is its key's value: {result}"
            );
            assert_eq!(result["answered"], KEYS, "every key answered: {result}");
        }
        results
    }

    fn total(results: &[Value], field: &str) -> u64 {
        results.iter().map(|r| r[field].as_u64().unwrap()).sum()
    }

    fn report(backend: TestBackend, what: &str, results: &[Value]) {
        let per: Vec<u64> = results
            .iter()
            .map(|r| r["loaded"].as_u64().unwrap())
            .collect();
        println!(
            "fleet {backend:?} {what}: {} keys loaded in total (per process {per:?}), \
             leases taken {}, lease waits {}",
            total(results, "loaded"),
            total(results, "leases_taken"),
            total(results, "lease_waits"),
        );
    }

    pub async fn four_processes_with_leases_load_200_cold_keys_at_most_210_times(
        backend: TestBackend,
    ) {
        let results = run_fleet(backend, LEASE_MS, "single").await;
        report(backend, "single-key, leases on", &results);
        let loaded = total(&results, "loaded");
        assert!(
            (KEYS as u64..=210).contains(&loaded),
            "{loaded} loads of {KEYS} keys"
        );
        assert!(total(&results, "leases_taken") >= KEYS as u64);
    }

    pub async fn four_processes_without_leases_load_200_cold_keys_at_least_once_each(
        backend: TestBackend,
    ) {
        let results = run_fleet(backend, 0, "single").await;
        report(backend, "single-key, leases off", &results);
        assert!(
            total(&results, "loaded") >= KEYS as u64,
            "not a target: only reported"
        );
        assert_eq!(
            total(&results, "leases_taken") + total(&results, "lease_waits"),
            0
        );
    }

    pub async fn four_processes_with_leases_and_batches_of_20_load_at_most_210_keys(
        backend: TestBackend,
    ) {
        let results = run_fleet(backend, LEASE_MS, "batch").await;
        report(backend, "batches of 20, leases on", &results);
        let loaded = total(&results, "loaded");
        assert!(
            (KEYS as u64..=210).contains(&loaded),
            "{loaded} keys loaded of {KEYS}"
        );
    }

    pub async fn a_killed_holder_blocks_nobody_past_its_lease(backend: TestBackend) {
        let (_store, table) = table(backend).await;
        let holder_lease = Duration::from_secs(3);
        let go = test_dir().join(format!("{table}.go"));
        // The taker starts first and waits for the start file: its start-up (seconds on a
        // loaded machine) must not eat the holder's lease before it reads.
        // The taker's own lease is longer, so its wait (lease + one pause) outlasts the
        // holder's lease: it must take the lease over, not give up on it.
        let mut vars = common(backend, &table);
        vars.extend([
            ("ROLE", "take".to_owned()),
            ("LEASE_MS", LEASE_MS.to_string()),
            ("GO_FILE", go.display().to_string()),
        ]);
        let mut taker = start("taker", &vars);
        taker.expect("ready", Instant::now() + Duration::from_secs(60));

        let mut vars = common(backend, &table);
        vars.extend([
            ("ROLE", "hold".to_owned()),
            ("LEASE_MS", holder_lease.as_millis().to_string()),
        ]);
        let mut holder = start("holder", &vars);
        holder.expect("loading", Instant::now() + Duration::from_secs(60));
        std::fs::write(&go, b"go").expect("write the start file");
        holder.kill("loading");
        // A bound, not a measurement: the holder's lease, plus a generous 10 s.
        let deadline = Instant::now() + holder_lease + Duration::from_secs(10);
        let result = taker.expect("result", deadline);
        taker.finish(deadline + Duration::from_secs(10));
        let _ = std::fs::remove_file(&go);
        println!("fleet {backend:?} killed holder: taker {result}");
        assert_eq!(
            result["value"], "from-taker",
            "the taker loaded the key itself"
        );
        assert_eq!(result["loader_calls"], 1);
        assert_eq!(
            result["lease_waits"], 1,
            "it waited on the dead holder's lease"
        );
        assert_eq!(
            result["leases_taken"], 1,
            "then took the lease once it expired"
        );
    }

    /// Four processes write 400 versions of one key, each a quarter of them in its own order:
    /// the highest version stays, whichever process wrote last.
    pub async fn ordered_writes_of_four_processes_keep_the_highest_version(backend: TestBackend) {
        const VERSIONS: u64 = 400;
        let (store, table) = table(backend).await;
        let results = together(backend, &table, "versions", |i| {
            vec![("INDEX", i.to_string()), ("VERSIONS", VERSIONS.to_string())]
        });
        let written = total(&results, "written");
        println!("fleet {backend:?} ordered writes: {written} of {VERSIONS} written");
        assert!((1..=VERSIONS).contains(&written), "{results:?}");
        let stored: Value = store.get("v").await.unwrap().expect("a value");
        assert_eq!(
            stored["version"],
            VERSIONS - 1,
            "the highest version: {stored}"
        );
        assert_eq!(stored["writer"], (VERSIONS - 1) % 4);
    }

    pub async fn clear_in_one_process_reaches_another_once_its_poll_is_due(backend: TestBackend) {
        let (store, name) = table_with(backend, Clock::manual()).await;
        let config = CacheConfig::new()
            .prefix("fc")
            .ttl(Ttl::hours(1))
            .fleet_clear(Duration::from_secs(1));
        let here: Cache<String> = Cache::new(&store, config);
        here.put("k", &"before".to_owned()).await.unwrap();
        assert_eq!(here.get("k").await.unwrap().as_deref(), Some("before"));

        let mut vars = common(backend, &name);
        vars.push(("ROLE", "clear".to_owned()));
        let mut clearer = start("clearer", &vars);
        let deadline = Instant::now() + Duration::from_secs(60);
        let result = clearer.expect("result", deadline);
        clearer.finish(deadline);
        assert_eq!(
            result["before"], "before",
            "the other process saw the value: {result}"
        );
        assert_eq!(result["generation"], 1);
        assert_eq!(result["after"], Value::Null, "it misses at once");

        assert_eq!(
            here.get("k").await.unwrap().as_deref(),
            Some("before"),
            "not polled yet"
        );
        store.clock().advance(Duration::from_millis(1_000));
        assert_eq!(
            here.get("k").await.unwrap(),
            None,
            "a miss once the poll is due"
        );
        here.put("k", &"after".to_owned()).await.unwrap();
        assert_eq!(here.get("k").await.unwrap().as_deref(), Some("after"));
    }

    #[cfg(feature = "server-tests")]
    pub async fn python_reads_a_table_with_leases_in_it(backend: TestBackend) {
        let (store, table) = table(backend).await;
        store
            .put("plain-a", &json!({"a": 1}), Ttl::hours(1))
            .await
            .unwrap();
        store
            .put("plain-b", &json!([1, 2]), Ttl::hours(1))
            .await
            .unwrap();
        // "leased": a lease and no value yet, taken by a read-through whose loader waits.
        let cache: Cache<Value> =
            Cache::new(&store, CacheConfig::new().leases(Duration::from_secs(60)));
        let gate = Gate::closed();
        let called = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = tokio::spawn({
            let (cache, gate, called) = (cache.clone(), gate.clone(), called.clone());
            async move {
                cache
                    .get_or_insert_with("leased", move || async move {
                        called.store(true, std::sync::atomic::Ordering::SeqCst);
                        gate.passed().await;
                        Ok::<_, std::io::Error>(json!({"loaded": true}))
                    })
                    .await
            }
        });
        until("the lease is taken", || {
            called.load(std::sync::atomic::Ordering::SeqCst)
        })
        .await;
        // The lease item as stored: a key, a lease and an expiry, no `data`.
        let client = raw::client(backend).await;
        let item = raw::get(&client, &table, "leased")
            .await
            .expect("the lease item");
        println!(
            "fleet {backend:?} the lease item: {item:?} (now {} s)",
            raw::now()
        );
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["cache_id", "lease_owner", "lease_until", "ttl"]);
        // "value-leased": a value with a lease on it (a refresh in flight elsewhere).
        store
            .put("value-leased", &json!("value"), Ttl::hours(1))
            .await
            .unwrap();
        let mut item = raw::get(&client, &table, "value-leased")
            .await
            .expect("the item");
        let until = raw::now() * 1_000 + 60_000;
        item.insert("lease_until".to_owned(), raw::n(until));
        item.insert("lease_owner".to_owned(), raw::s("another-process"));
        raw::put(&client, &table, item).await;
        let script = "print(json.dumps({'get': store.get('leased'), \
                      'batch': store.batch_get(['leased', 'plain-a', 'plain-b', 'value-leased']), \
                      'get_value': store.get('value-leased'), \
                      'list': store.list_keys(limit=100)}))";
        let seen = python::run(backend, &table, false, 1024, script);
        println!("fleet {backend:?} python with a lease item: {seen}");
        assert_eq!(
            seen["get"],
            Value::Null,
            "a leased key with no value is a miss"
        );
        assert_eq!(
            seen["get_value"], "value",
            "a value with a lease on it reads as usual"
        );
        assert_eq!(
            seen["batch"],
            json!({"plain-a": {"a": 1}, "plain-b": [1, 2], "value-leased": "value"}),
            "the lease item is left out, the values are there"
        );
        let mut listed: Vec<String> = seen["list"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            ["leased", "plain-a", "plain-b", "value-leased"],
            "list_keys shows the lease item's key"
        );
        let mut rust_listed = store.list_keys(100, None).await.unwrap().keys;
        rust_listed.sort();
        println!("fleet {backend:?} Store::list_keys with a lease item: {rust_listed:?}");
        assert_eq!(
            rust_listed,
            ["plain-a", "plain-b", "value-leased"],
            "Rust's list_keys leaves out the item without data"
        );

        gate.open();
        let loaded = bounded("the leased load", load).await.unwrap().unwrap();
        assert_eq!(loaded, json!({"loaded": true}));
        let seen = python::run(
            backend,
            &table,
            false,
            1024,
            "print(json.dumps(store.get('leased')))",
        );
        assert_eq!(
            seen,
            json!({"loaded": true}),
            "the value replaced the lease item"
        );
    }
}

/// The worker side: one process of a fleet, run by the multi-process tests.
mod worker {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Store};
    use dynamorator_testkit::workers::wait_for_file;
    use futures_util::stream::{self, StreamExt};
    use serde_json::json;

    use crate::support::sdk_config;

    fn var(name: &str) -> String {
        std::env::var(format!("DYNAMORATOR_FLEET_{name}"))
            .unwrap_or_else(|_| panic!("DYNAMORATOR_FLEET_{name} is not set"))
    }

    fn number(name: &str) -> u64 {
        var(name)
            .parse()
            .unwrap_or_else(|e| panic!("DYNAMORATOR_FLEET_{name}: {e}"))
    }

    fn say(event: &str, json: serde_json::Value) {
        println!("FLEET {event} {json}");
    }

    pub fn main() {
        let Ok(role) = std::env::var("DYNAMORATOR_FLEET_ROLE") else {
            return;
        };
        // The library's warnings (a lease it could not take, ...) go to the worker's stderr.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let store = match std::env::var("DYNAMORATOR_FLEET_FILE") {
                Ok(file) => Store::builder()
                    .embedded_file(file)
                    .build()
                    .await
                    .expect("the worker's store on the shared file"),
                Err(_) => server_store().await,
            };
            match role.as_str() {
                "load" => load(store).await,
                "hold" => hold(store).await,
                "take" => take(store).await,
                "clear" => clear(store).await,
                "versions" => versions(store).await,
                other => panic!("unknown role {other}"),
            }
        });
    }

    /// The worker's store on the server and table the test named.
    async fn server_store() -> Store {
        let endpoint = var("ENDPOINT");
        assert!(
            endpoint.starts_with("http://127.0.0.1:"),
            "loopback only: {endpoint}"
        );
        // Four processes at once can keep a local server busy for seconds: a generous
        // attempt timeout keeps a slow lease request from counting as a failed one (which
        // loads without a lease, by design), so the counts measure the leases.
        Store::builder()
            .table(var("TABLE"))
            .sdk_config(sdk_config(&endpoint).await)
            .endpoint_url(endpoint)
            .attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(60))
            .batch_concurrency(4)
            .build()
            .await
            .expect("the worker's store")
    }

    /// Writes versions `INDEX`, `INDEX + 4`, ... below `VERSIONS` of "v", shuffled, with
    /// `put_versioned`; reports how many were written.
    async fn versions(store: Store) {
        let (index, count) = (number("INDEX"), number("VERSIONS"));
        let mut mine: Vec<u64> = (index..count).step_by(4).collect();
        fastrand::shuffle(&mut mine);
        say("ready", json!({}));
        wait_for_start_file().await;
        let mut written = 0;
        for version in mine {
            let value = json!({"version": version, "writer": index});
            if store
                .put_versioned("v", &value, dynamorator::Ttl::hours(1), version)
                .await
                .expect("an ordered write")
            {
                written += 1;
            }
        }
        say("result", json!({"written": written}));
    }

    fn leases(config: CacheConfig) -> CacheConfig {
        match number("LEASE_MS") {
            0 => config,
            ms => config.leases(Duration::from_millis(ms)),
        }
    }

    /// Read-through over the keys, shuffled, 16 calls at a time (or batches of 20).
    async fn load(store: Store) {
        let cache: Cache<u64> = Cache::new(&store, leases(CacheConfig::new().prefix("fleet")));
        let keys = number("KEYS") as usize;
        let loader_latency = Duration::from_millis(number("LOADER_MS"));
        let batch = var("MODE") == "batch";
        say("ready", json!({}));
        wait_for_start_file().await;

        let loaded = Arc::new(AtomicUsize::new(0));
        let mut order: Vec<u64> = (0..keys as u64).collect();
        fastrand::shuffle(&mut order);
        let answers: Vec<(u64, u64)> = if batch {
            let batches: Vec<Vec<u64>> = order.chunks(20).map(<[u64]>::to_vec).collect();
            stream::iter(batches)
                .map(|batch| {
                    let (cache, loaded) = (cache.clone(), loaded.clone());
                    async move {
                        let asked: Vec<String> = batch.iter().map(|i| format!("k{i}")).collect();
                        let found = cache
                            .get_many_or_insert_with(asked, move |missing| async move {
                                loaded.fetch_add(missing.len(), Ordering::SeqCst);
                                tokio::time::sleep(loader_latency).await;
                                Ok::<_, std::io::Error>(
                                    missing
                                        .into_iter()
                                        .map(|k| {
                                            let v = k[1..].parse::<u64>().unwrap();
                                            (k, v)
                                        })
                                        .collect::<HashMap<_, _>>(),
                                )
                            })
                            .await
                            .expect("a batch read-through");
                        found
                            .into_iter()
                            .map(|(k, v)| (k[1..].parse::<u64>().unwrap(), v))
                            .collect::<Vec<_>>()
                    }
                })
                .buffer_unordered(16)
                .flat_map(stream::iter)
                .collect()
                .await
        } else {
            stream::iter(order)
                .map(|i| {
                    let (cache, loaded) = (cache.clone(), loaded.clone());
                    async move {
                        let value = cache
                            .get_or_insert_with(&format!("k{i}"), move || async move {
                                loaded.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(loader_latency).await;
                                Ok::<_, std::io::Error>(i)
                            })
                            .await
                            .expect("a read-through");
                        (i, value)
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await
        };
        let wrong = answers.iter().filter(|(i, v)| i != v).count();
        let stats = cache.stats();
        say(
            "result",
            json!({
                "loaded": loaded.load(Ordering::SeqCst),
                "answered": answers.len(),
                "wrong": wrong,
                "loader_calls": stats.loader_calls,
                "leases_taken": stats.leases_taken,
                "lease_waits": stats.lease_waits,
            }),
        );
    }

    /// Waits (a minute at most) for the test to write the start file, so workers start
    /// together, or a taker reads right after the holder took its lease.
    async fn wait_for_start_file() {
        wait_for_file(std::path::Path::new(&var("GO_FILE"))).await;
    }

    /// Takes the lease on "victim" and never finishes loading it.
    async fn hold(store: Store) {
        let cache: Cache<String> = Cache::new(&store, leases(CacheConfig::new().prefix("kill")));
        let _ = cache
            .get_or_insert_with("victim", || async {
                say("loading", json!({}));
                std::future::pending::<()>().await;
                Ok::<_, std::io::Error>("from-holder".to_owned())
            })
            .await;
        unreachable!("the holder's loader never ends");
    }

    /// Reads "victim" through, loading it itself if nobody else does.
    async fn take(store: Store) {
        let cache: Cache<String> = Cache::new(&store, leases(CacheConfig::new().prefix("kill")));
        say("ready", json!({}));
        wait_for_start_file().await;
        let value = tokio::time::timeout(
            Duration::from_secs(60),
            cache.get_or_insert_with("victim", || async {
                Ok::<_, std::io::Error>("from-taker".to_owned())
            }),
        )
        .await
        .expect("bounded")
        .expect("a read-through");
        let stats = cache.stats();
        say(
            "result",
            json!({
                "value": value,
                "loader_calls": stats.loader_calls,
                "leases_taken": stats.leases_taken,
                "lease_waits": stats.lease_waits,
            }),
        );
    }

    /// Reads "k", clears the cache for everyone, reads "k" again.
    async fn clear(store: Store) {
        let config = CacheConfig::new()
            .prefix("fc")
            .fleet_clear(Duration::from_secs(1));
        let cache: Cache<String> = Cache::new(&store, config);
        let before = cache.get("k").await.expect("a read");
        let generation = cache.clear().await.expect("clear");
        let after = cache.get("k").await.expect("a read");
        say(
            "result",
            json!({"before": before, "generation": generation, "after": after}),
        );
    }
}
