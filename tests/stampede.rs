//! Stampede protection of batch read-through: each key goes to exactly one loader while its
//! load is in flight, however calls overlap, and every call ends.
//!
//! Scenarios with a fixed order of events are played with gates: a call starts, or a loader
//! returns, once the previous step is observed to have happened (a loader was called, a call
//! read its keys and so claimed them), so they are exact on every backend and wait on no
//! clock. The sliding windows are a randomised stress instead: on the embedded backends they
//! run on tokio's paused clock, where loaders "take" virtual time and the schedule is exact;
//! on moto and dynalite (real network I/O, where a paused clock would fire the SDK's
//! timeouts) they run in real time with shorter steps, and the assertions hold under any
//! interleaving.

mod support;

use std::time::Duration;

/// How a suite's schedule is played: the length of one step, and how many rounds.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    step: Duration,
    rounds: usize,
}

/// Virtual time: steps cost nothing, so many rounds.
const PAUSED: Pace = Pace {
    step: Duration::from_millis(50),
    rounds: 200,
};

/// Real time against a server.
#[cfg(feature = "server-tests")]
const REAL: Pace = Pace {
    step: Duration::from_millis(20),
    rounds: 20,
};

macro_rules! on_backends {
    ($($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "current_thread", start_paused = true)]
                async fn $test() {
                    super::suite::$test(crate::support::TestBackend::Embedded, super::PAUSED).await
                }
            )+
        }
        mod embedded_file {
            $(
                #[tokio::test(flavor = "current_thread", start_paused = true)]
                async fn $test() {
                    super::suite::$test(crate::support::TestBackend::EmbeddedFile, super::PAUSED)
                        .await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::suite::$test(crate::support::TestBackend::Moto, super::REAL).await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod dynalite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::suite::$test(crate::support::TestBackend::Dynalite, super::REAL).await
                }
            )+
        }
    };
}

on_backends!(
    a_key_held_by_a_chain_of_loads_is_loaded_once,
    sliding_windows_load_every_key_once,
    a_failed_load_hands_its_keys_to_a_waiting_call,
    a_cancelled_load_hands_its_keys_to_a_waiting_call,
);

mod suite {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Error};
    use tokio::sync::watch;
    use tokio::time::{sleep, timeout};

    use super::Pace;
    use crate::support::TestBackend;

    /// Every loader call: which call made it and the keys it was given.
    type Calls = Arc<Mutex<Vec<(String, Vec<String>)>>>;

    /// No call may take longer than this (virtual time on the embedded backends).
    const DEADLINE: Duration = Duration::from_secs(120);

    fn keys(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("k{i}")).collect()
    }

    /// A batch read-through of `asked` by `name` that starts after `start` and whose loader
    /// takes `load`; returns what the call answered.
    async fn call(
        cache: Cache<u64>,
        calls: Calls,
        name: String,
        asked: Vec<String>,
        start: Duration,
        load: Duration,
    ) -> Result<HashMap<String, u64>, Error> {
        sleep(start).await;
        let read = cache.get_many_or_insert_with(asked, move |missing| async move {
            calls.lock().unwrap().push((name, missing.clone()));
            sleep(load).await;
            Ok::<_, std::io::Error>(value_of(&missing))
        });
        timeout(DEADLINE, read)
            .await
            .expect("the call ended in bounded time")
    }

    /// Returns once `ready` holds, checking it each time the futures polled beside this one
    /// have had their turn. Fails the test if that takes a minute of real time.
    async fn until(ready: impl Fn() -> bool) {
        let started = std::time::Instant::now();
        while !ready() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "a step of the scenario never happened"
            );
            tokio::task::yield_now().await;
        }
    }

    /// A gate loaders wait at until the test opens it.
    #[derive(Clone)]
    struct Gate(Arc<watch::Sender<bool>>);

    impl Gate {
        fn closed() -> Gate {
            Gate(Arc::new(watch::channel(false).0))
        }

        fn open() -> Gate {
            Gate(Arc::new(watch::channel(true).0))
        }

        async fn passed(&self) {
            let mut open = self.0.subscribe();
            open.wait_for(|open| *open)
                .await
                .expect("the gate outlives its waiters");
        }

        async fn open_when(&self, ready: impl Fn() -> bool) {
            until(ready).await;
            self.0.send_replace(true);
        }
    }

    /// A batch read-through of `asked` by `name` whose loader records its keys, then returns
    /// their values once `gate` is open.
    async fn gated_call(
        cache: &Cache<u64>,
        calls: &Calls,
        name: &str,
        asked: Vec<String>,
        gate: &Gate,
    ) -> Result<HashMap<String, u64>, Error> {
        let (calls, name, gate) = (calls.clone(), name.to_owned(), gate.clone());
        let read = cache.get_many_or_insert_with(asked, move |mut missing| async move {
            missing.sort();
            calls.lock().unwrap().push((name, missing.clone()));
            gate.passed().await;
            Ok::<_, std::io::Error>(value_of(&missing))
        });
        timeout(DEADLINE, read)
            .await
            .expect("the call ended in bounded time")
    }

    /// Whether `name` has called its loader.
    fn has_loaded(calls: &Calls, name: &str) -> bool {
        calls
            .lock()
            .unwrap()
            .iter()
            .any(|(caller, _)| caller == name)
    }

    fn value_of(keys: &[String]) -> HashMap<String, u64> {
        keys.iter()
            .map(|key| (key.clone(), key[1..].parse().unwrap()))
            .collect()
    }

    /// How many loader calls each key went to.
    fn loads_per_key(calls: &Calls) -> BTreeMap<String, Vec<String>> {
        let mut per_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (caller, keys) in calls.lock().unwrap().iter() {
            for key in keys {
                per_key.entry(key.clone()).or_default().push(caller.clone());
            }
        }
        per_key
    }

    fn fresh_cache(store: &dynamorator::Store, round: usize) -> Cache<u64> {
        Cache::new(store, CacheConfig::new().prefix(format!("round{round}")))
    }

    /// The sequence from the issue: B1 holds k1 while A asks k1..k5; B2..B5 each ask one of
    /// A's keys: B2 while A waits for B1, B3 while A loads, B4 as A's load returns, B5 after A
    /// ended. Before the fix A gave up waiting and loaded k5 while B5 held it.
    pub async fn a_key_held_by_a_chain_of_loads_is_loaded_once(backend: TestBackend, _pace: Pace) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let (b1_loads, a_loads, open) = (Gate::closed(), Gate::closed(), Gate::open());
        let a_returned = Arc::new(AtomicBool::new(false));
        let a_ended = AtomicBool::new(false);
        // Store reads that missed, one per key a call asked that was not stored yet: a call
        // has claimed its keys (or queued for them) in the poll that counts its misses.
        let misses = || cache.stats().store_misses;
        let b1 = gated_call(&cache, &calls, "B1", keys(1..2), &b1_loads);
        let a = async {
            until(|| has_loaded(&calls, "B1")).await;
            let (calls, a_loads, a_returned) = (calls.clone(), a_loads.clone(), a_returned.clone());
            let read = cache.get_many_or_insert_with(keys(1..6), move |mut missing| async move {
                missing.sort();
                calls
                    .lock()
                    .unwrap()
                    .push(("A".to_owned(), missing.clone()));
                a_loads.passed().await;
                a_returned.store(true, Ordering::SeqCst);
                Ok::<_, std::io::Error>(value_of(&missing))
            });
            let answer = timeout(DEADLINE, read).await.expect("A ended");
            a_ended.store(true, Ordering::SeqCst);
            answer
        };
        // A holds k2..k5 and waits for k1 once its five misses are counted.
        let b2 = async {
            until(|| misses() == 1 + 5).await;
            gated_call(&cache, &calls, "B2", keys(2..3), &open).await
        };
        let b3 = async {
            until(|| has_loaded(&calls, "A")).await;
            gated_call(&cache, &calls, "B3", keys(3..4), &open).await
        };
        let b4 = async {
            until(|| a_returned.load(Ordering::SeqCst)).await;
            gated_call(&cache, &calls, "B4", keys(4..5), &open).await
        };
        let b5 = async {
            until(|| a_ended.load(Ordering::SeqCst)).await;
            gated_call(&cache, &calls, "B5", keys(5..6), &open).await
        };
        let (b1, a, b2, b3, b4, b5, (), ()) = tokio::join!(
            b1,
            a,
            b2,
            b3,
            b4,
            b5,
            // B1's load returns once B2 has queued behind A; A's once B3 has.
            b1_loads.open_when(|| misses() == 1 + 5 + 1),
            a_loads.open_when(|| misses() == 1 + 5 + 1 + 1),
        );
        for (name, answer, asked) in [
            ("B1", b1, keys(1..2)),
            ("A", a, keys(1..6)),
            ("B2", b2, keys(2..3)),
            ("B3", b3, keys(3..4)),
            ("B4", b4, keys(4..5)),
            ("B5", b5, keys(5..6)),
        ] {
            assert_eq!(
                answer.unwrap(),
                value_of(&asked),
                "{name} got every key it asked for"
            );
        }
        for (key, callers) in loads_per_key(&calls) {
            assert_eq!(callers.len(), 1, "{key} went to the loaders of {callers:?}");
        }
        assert_eq!(
            *calls.lock().unwrap(),
            [("B1".to_owned(), keys(1..2)), ("A".to_owned(), keys(2..6))],
            "B1 loaded k1 and A the rest; B2..B5 read what A stored"
        );
        assert_eq!(cache.stats().loader_calls, 2);
    }

    /// Eight overlapping calls over sliding windows k_t..k_t+9, started a step apart in a
    /// shuffled order, many rounds: no key ever goes to two loaders.
    pub async fn sliding_windows_load_every_key_once(backend: TestBackend, pace: Pace) {
        let store = backend.store().await;
        let mut rng = fastrand::Rng::with_seed(20261129);
        for round in 0..pace.rounds {
            let cache = fresh_cache(&store, round);
            let calls = Calls::default();
            let mut order: Vec<usize> = (0..8).collect();
            rng.shuffle(&mut order);
            let tasks: Vec<_> = order
                .into_iter()
                .enumerate()
                .map(|(slot, t)| {
                    let asked = keys(t..t + 10);
                    let expected = value_of(&asked);
                    let load = pace.step * rng.u32(2..8);
                    let start = pace.step * slot as u32 / 2;
                    let task = tokio::spawn(call(
                        cache.clone(),
                        calls.clone(),
                        format!("C{t}"),
                        asked,
                        start,
                        load,
                    ));
                    (expected, task)
                })
                .collect();
            for (expected, task) in tasks {
                assert_eq!(task.await.unwrap().unwrap(), expected, "round {round}");
            }
            for (key, callers) in loads_per_key(&calls) {
                assert_eq!(
                    callers.len(),
                    1,
                    "round {round}: {key} went to the loaders of {callers:?}"
                );
            }
        }
    }

    /// A load that fails hands its keys to the oldest waiting call, which loads them in its
    /// one loader call; the failing call gets its loader's error.
    pub async fn a_failed_load_hands_its_keys_to_a_waiting_call(backend: TestBackend, _pace: Pace) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let gate = Gate::closed();
        let (failing_calls, failing_gate) = (calls.clone(), gate.clone());
        let failing = cache.get_many_or_insert_with(keys(1..3), move |mut missing| async move {
            missing.sort();
            failing_calls
                .lock()
                .unwrap()
                .push(("failing".into(), missing));
            failing_gate.passed().await;
            Err::<HashMap<String, u64>, _>(std::io::Error::other("upstream down"))
        });
        // The waiting call starts once the failing one holds k1 and k2.
        let waiting = async {
            until(|| has_loaded(&calls, "failing")).await;
            gated_call(&cache, &calls, "waiting", keys(1..4), &Gate::open()).await
        };
        // The failing load returns once the waiting call has read its three keys, and so
        // queued for k1 and k2 (and claimed k3).
        let (failed, waited, ()) = tokio::join!(
            failing,
            waiting,
            gate.open_when(|| cache.stats().store_misses == 2 + 3)
        );
        let error = failed.unwrap_err();
        let cause = error
            .loader_error::<std::io::Error>()
            .expect("the loader's own error");
        assert_eq!(cause.to_string(), "upstream down");
        assert_eq!(waited.unwrap(), value_of(&keys(1..4)));
        assert_eq!(
            *calls.lock().unwrap(),
            [
                ("failing".to_owned(), keys(1..3)),
                ("waiting".to_owned(), keys(1..4))
            ],
            "one failed loader call, then one call with its keys and the waiter's own"
        );
    }

    /// A call cancelled while it holds keys hands them on: the waiting call loads them and
    /// ends.
    pub async fn a_cancelled_load_hands_its_keys_to_a_waiting_call(
        backend: TestBackend,
        _pace: Pace,
    ) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let cancelled_calls = calls.clone();
        let mut cancelled = Box::pin(cache.get_many_or_insert_with(
            keys(1..3),
            move |mut missing| {
                missing.sort();
                cancelled_calls
                    .lock()
                    .unwrap()
                    .push(("cancelled".into(), missing));
                std::future::pending::<Result<HashMap<String, u64>, std::io::Error>>()
            },
        ));
        let mut waiting = Box::pin(async {
            until(|| has_loaded(&calls, "cancelled")).await;
            gated_call(&cache, &calls, "waiting", keys(1..3), &Gate::open()).await
        });
        // Both run until the waiting call has read its keys, and so queued for them.
        tokio::select! {
            _ = &mut cancelled => panic!("the cancelled call's loader never returns"),
            _ = &mut waiting => panic!("the waiting call ended while its keys were held"),
            () = until(|| cache.stats().store_misses == 2 + 2) => {}
        }
        assert!(!has_loaded(&calls, "waiting"), "it waits for the holder");
        drop(cancelled);
        assert_eq!(waiting.await.unwrap(), value_of(&keys(1..3)));
        assert_eq!(
            *calls.lock().unwrap(),
            [
                ("cancelled".to_owned(), keys(1..3)),
                ("waiting".to_owned(), keys(1..3))
            ]
        );
    }
}
