//! Stampede protection of batch read-through: each key goes to exactly one loader while its
//! load is in flight, however calls overlap, and every call ends.
//!
//! On the embedded backends the tests run on tokio's paused clock: loaders "take" virtual
//! time, so the schedule below is exact and nothing waits on the wall clock. On moto and
//! dynalite (real network I/O, where a paused clock would fire the SDK's timeouts) they run
//! in real time with shorter steps; the assertions hold under any interleaving.

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
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Error};
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
        let read = cache.get_many_or_insert_with(asked, |missing| async move {
            calls.lock().unwrap().push((name, missing.clone()));
            sleep(load).await;
            Ok::<_, std::io::Error>(value_of(&missing))
        });
        timeout(DEADLINE, read)
            .await
            .expect("the call ended in bounded time")
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
    /// A's keys while A waits. Before the fix A gave up waiting and loaded k5 while B5 held it.
    pub async fn a_key_held_by_a_chain_of_loads_is_loaded_once(backend: TestBackend, pace: Pace) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let step = pace.step;
        let load = step * 6;
        let schedule = [
            ("B1", keys(1..2), 0),
            ("A", keys(1..6), 1),
            ("B2", keys(2..3), 4),
            ("B3", keys(3..4), 8),
            ("B4", keys(4..5), 12),
            ("B5", keys(5..6), 16),
        ];
        let tasks: Vec<_> = schedule
            .into_iter()
            .map(|(name, asked, at)| {
                let expected = value_of(&asked);
                let task = tokio::spawn(call(
                    cache.clone(),
                    calls.clone(),
                    name.to_owned(),
                    asked,
                    step * at,
                    load,
                ));
                (name, expected, task)
            })
            .collect();
        for (name, expected, task) in tasks {
            let answer = task.await.unwrap().unwrap();
            assert_eq!(answer, expected, "{name} got every key it asked for");
        }
        for (key, callers) in loads_per_key(&calls) {
            assert_eq!(callers.len(), 1, "{key} went to the loaders of {callers:?}");
        }
        assert_eq!(
            cache.stats().loader_calls,
            calls.lock().unwrap().len() as u64
        );
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
    pub async fn a_failed_load_hands_its_keys_to_a_waiting_call(backend: TestBackend, pace: Pace) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let failing = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_many_or_insert_with(keys(1..3), |missing| async move {
                        calls.lock().unwrap().push(("failing".into(), missing));
                        sleep(pace.step * 4).await;
                        Err::<HashMap<String, u64>, _>(std::io::Error::other("upstream down"))
                    })
                    .await
            })
        };
        let waiting = tokio::spawn(call(
            cache.clone(),
            calls.clone(),
            "waiting".into(),
            keys(1..4),
            pace.step,
            pace.step * 2,
        ));
        let error = failing.await.unwrap().unwrap_err();
        let cause = error
            .loader_error::<std::io::Error>()
            .expect("the loader's own error");
        assert_eq!(cause.to_string(), "upstream down");
        assert_eq!(waiting.await.unwrap().unwrap(), value_of(&keys(1..4)));
        let mut calls = calls.lock().unwrap().clone();
        calls.iter_mut().for_each(|(_, keys)| keys.sort());
        assert_eq!(
            calls,
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
        pace: Pace,
    ) {
        let store = backend.store().await;
        let cache = fresh_cache(&store, 0);
        let calls = Calls::default();
        let cancelled = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get_many_or_insert_with(keys(1..3), |missing| async move {
                        calls.lock().unwrap().push(("cancelled".into(), missing));
                        std::future::pending::<()>().await;
                        Ok::<HashMap<String, u64>, std::io::Error>(HashMap::new())
                    })
                    .await
            })
        };
        let waiting = tokio::spawn(call(
            cache.clone(),
            calls.clone(),
            "waiting".into(),
            keys(1..3),
            pace.step,
            pace.step,
        ));
        sleep(pace.step * 3).await;
        cancelled.abort();
        assert!(cancelled.await.unwrap_err().is_cancelled());
        assert_eq!(waiting.await.unwrap().unwrap(), value_of(&keys(1..3)));
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[1].0, "waiting");
    }
}
