//! Coherent L1s (`CacheConfig::coherent_l1`): a write or delete through one cache reaches every
//! other cache's L1 (another process's, or another cache of the same store) once that cache's
//! feed poll is due, on DynamoDB alone, on a shared file, and in memory.
//!
//! - In one process, on every backend: two `Cache::new` on one store have separate L1s and
//!   meet only through the store, as two processes do; time is the store's manual clock.
//! - On moto and dynalite through the fault proxy: a feed that cannot be written or read
//!   never fails a caller; the Python package 0.1.7 reads a table that holds feed items.
//! - Across real OS processes (moto, dynalite, one embedded file): 4 workers (this test
//!   binary run again, `--exact coherent_worker`) each hold 500 keys in an L1 of one hour;
//!   one rewrites 100 and deletes 50; the others see every change once their poll is due; on
//!   the servers, with the writer's feed appends failed by the fault proxy, nobody sees an
//!   error and the others keep their L1 until its TTL.
//!   Every worker runs on a manual clock the parent moves (one `time` command to all), so
//!   "once the poll is due" and "past the horizon" need no sleeping; one worker is SIGSTOPped
//!   while the others move on.
//!
//! Nothing asserts how long anything took; every wait on a worker has a deadline.

mod support;

on_every_backend!(suite:
    a_write_reaches_the_other_l1_once_its_poll_is_due,
    every_kind_of_write_reaches_the_other_l1,
    a_cache_keeps_its_own_writes_in_its_l1,
    long_keys_are_dropped_by_their_digest,
    a_full_feed_item_empties_the_other_l1s,
    a_cache_further_behind_than_the_feed_reaches_empties_its_l1,
    feed_items_are_hidden_from_listings,
    without_the_feed_the_l1_keeps_a_value_until_its_ttl,
);

/// Through the fault proxy, and with the Python package, on moto and dynalite.
#[cfg(feature = "server-tests")]
mod on_servers {
    use super::faults;

    crate::on_every_server!(faults:
        feed_writes_failing_leave_callers_unharmed_and_the_l1_on_its_ttl,
        feed_reads_failing_empty_the_l1_and_callers_see_no_error,
        python_reads_a_table_with_feed_items,
    );
}

/// Real OS processes, on moto and dynalite.
#[cfg(feature = "server-tests")]
mod across_processes {
    use super::processes;

    crate::on_every_server!(processes:
        four_processes_see_each_others_rewrites_and_deletes_once_their_poll_is_due,
        a_process_paused_past_the_horizon_empties_its_l1_when_it_resumes,
        a_feed_that_cannot_be_written_leaves_the_others_on_their_l1_ttl,
    );
}

/// Real OS processes sharing one embedded file.
mod across_processes_on_one_file {
    use super::processes;
    use crate::support::TestBackend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn four_processes_see_each_others_rewrites_and_deletes_once_their_poll_is_due() {
        processes::four_processes_see_each_others_rewrites_and_deletes_once_their_poll_is_due(
            TestBackend::EmbeddedFile,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_paused_past_the_horizon_empties_its_l1_when_it_resumes() {
        processes::a_process_paused_past_the_horizon_empties_its_l1_when_it_resumes(
            TestBackend::EmbeddedFile,
        )
        .await
    }
}

/// The worker the multi-process tests start: returns at once (a passing test) unless
/// `DYNAMORATOR_COHERENT_ROLE` is set.
#[test]
fn coherent_worker() {
    worker::main();
}

/// What every suite here shares.
mod common {
    use std::time::Duration;

    use dynamorator::{CacheConfig, L1Config, Ttl};

    /// The poll interval of every cache here.
    pub const POLL: Duration = Duration::from_secs(1);
    /// The epoch second every worker's manual clock starts at.
    pub const START_SECS: i64 = 2_000_000_000;

    /// A cache with an L1 of one hour and the feed on: another process's write can reach it
    /// only through the feed (or a reset), never by its L1 entry ending.
    pub fn coherent(prefix: &str) -> CacheConfig {
        CacheConfig::new()
            .prefix(prefix.to_owned())
            .ttl(Ttl::days(1))
            .l1(L1Config::new().ttl(Ttl::hours(1)))
            .coherent_l1(POLL)
    }
}

mod suite {
    use std::time::Duration;

    use dynamorator::{Cache, CacheConfig, Clock, L1Config, Ttl};
    use futures_util::TryStreamExt;

    use super::common::{POLL, coherent};
    use crate::support::TestBackend;

    /// A store on a manual clock, at the start of a second (so "within one second" holds).
    async fn manual(backend: TestBackend) -> dynamorator::Store {
        let store = backend.build(|b| b.clock(Clock::manual())).await;
        store.clock().set(store.clock().now_epoch_secs());
        store
    }

    fn text(value: &str) -> String {
        value.to_owned()
    }

    pub async fn a_write_reaches_the_other_l1_once_its_poll_is_due(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<String> = Cache::new(&store, coherent("co"));
        let b: Cache<String> = Cache::new(&store, coherent("co"));
        a.put("k", &text("v1")).await.unwrap();
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("v1"));
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("v1"));
        assert_eq!(b.stats().l1_hits, 1, "b holds k in its L1");

        a.put("k", &text("v2")).await.unwrap();
        // Within the bound: b's last poll is not a poll interval old, its L1 still answers.
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("v1"));
        store.clock().advance(POLL);
        assert_eq!(
            b.get("k").await.unwrap().as_deref(),
            Some("v2"),
            "b polls, drops k and reads the new value"
        );
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some("v2"));
        let (a_stats, b_stats) = (a.stats(), b.stats());
        assert_eq!(a_stats.invalidations_sent, 2);
        assert_eq!(b_stats.invalidations_received, 1);
        assert_eq!((b_stats.l1_resets, b_stats.feed_errors), (0, 0));
        assert_eq!(b_stats.feed_polls, 2, "one poll per interval, not per read");
        assert_eq!(
            b_stats.store_hits, 2,
            "k read from the store twice: first, then changed"
        );
        assert_eq!(b_stats.l1_hits, 3);
    }

    pub async fn every_kind_of_write_reaches_the_other_l1(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<String> = Cache::new(&store, coherent("kinds"));
        let b: Cache<String> = Cache::new(&store, coherent("kinds"));
        let keys = [
            "put",
            "many-1",
            "many-2",
            "del",
            "del-many-1",
            "del-many-2",
            "versioned",
        ];
        for key in keys {
            a.put(key, &text("old")).await.unwrap();
        }
        let held = b.get_many(keys).await.unwrap();
        assert_eq!(held.found.len(), keys.len());
        assert_eq!(
            b.get_or_insert_with("loaded", || async { Ok::<_, std::io::Error>(text("old")) })
                .await
                .unwrap(),
            "old"
        );

        a.put("put", &text("new")).await.unwrap();
        a.put_many([("many-1", text("new")), ("many-2", text("new"))])
            .await
            .unwrap();
        a.delete("del").await.unwrap();
        a.delete_many(["del-many-1", "del-many-2"]).await.unwrap();
        assert!(a.put_versioned("versioned", &text("new"), 2).await.unwrap());
        // A read-through load in `a` writes "loaded" (a's L1 and the store had none).
        a.invalidate("loaded");
        store.delete("kinds:loaded").await.unwrap();
        a.get_or_insert_with("loaded", || async { Ok::<_, std::io::Error>(text("new")) })
            .await
            .unwrap();

        store.clock().advance(POLL);
        let seen = b.get_many(keys).await.unwrap();
        for key in ["put", "many-1", "many-2", "versioned"] {
            assert_eq!(
                seen.found.get(key).map(String::as_str),
                Some("new"),
                "{key}"
            );
        }
        for key in ["del", "del-many-1", "del-many-2"] {
            assert_eq!(seen.found.get(key), None, "{key} was deleted");
        }
        assert_eq!(
            b.get_or_insert_with("loaded", || async { Ok::<_, std::io::Error>(text("b")) })
                .await
                .unwrap(),
            "new",
            "a's read-through load reached b"
        );
        assert_eq!(b.stats().invalidations_received, 8);
        assert_eq!(b.stats().l1_resets, 0);
    }

    pub async fn a_cache_keeps_its_own_writes_in_its_l1(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<String> = Cache::new(&store, coherent("own"));
        a.put("k", &text("mine")).await.unwrap();
        assert_eq!(a.get("k").await.unwrap().as_deref(), Some("mine"));
        store.clock().advance(POLL);
        assert_eq!(a.get("k").await.unwrap().as_deref(), Some("mine"));
        let stats = a.stats();
        assert_eq!(stats.l1_hits, 2, "both reads answered by the L1");
        assert_eq!(stats.store_hits, 0, "its own write is not dropped");
        assert_eq!(stats.invalidations_received, 0);
    }

    pub async fn long_keys_are_dropped_by_their_digest(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<String> = Cache::new(&store, coherent("long"));
        let b: Cache<String> = Cache::new(&store, coherent("long"));
        let long = "k".repeat(300);
        let keys = [long.as_str(), "#hash-key", "short"];
        for key in keys {
            a.put(key, &text("old")).await.unwrap();
            assert_eq!(b.get(key).await.unwrap().as_deref(), Some("old"));
        }
        for key in keys {
            a.put(key, &text("new")).await.unwrap();
        }
        store.clock().advance(POLL);
        for key in keys {
            assert_eq!(
                b.get(key).await.unwrap().as_deref(),
                Some("new"),
                "{key:.20}"
            );
        }
        assert_eq!(b.stats().invalidations_received, 3);
        assert_eq!(b.stats().l1_resets, 0);
    }

    pub async fn a_full_feed_item_empties_the_other_l1s(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<u32> = Cache::new(&store, coherent("full"));
        // b polls every 400 ms, so it polls twice within the second the items fill up.
        let quick = Duration::from_millis(400);
        let b: Cache<u32> = Cache::new(&store, coherent("full").coherent_l1(quick));
        a.put("held", &1).await.unwrap();
        assert_eq!(b.get("held").await.unwrap(), Some(1));
        // 400 keys in one second: more than the 4 shards' items take (64 entries each).
        let many: Vec<(String, u32)> = (0..400).map(|i| (format!("k{i}"), i)).collect();
        a.put_many(many).await.unwrap();
        assert!(
            a.stats().invalidations_sent < 400,
            "the full items took no more entries"
        );
        store.clock().advance(quick);
        let stores_before = b.stats().store_hits;
        assert_eq!(b.get("held").await.unwrap(), Some(1));
        let stats = b.stats();
        assert_eq!(
            stats.l1_resets, 1,
            "b cannot tell which keys changed: it empties its L1"
        );
        assert_eq!(
            stats.store_hits,
            stores_before + 1,
            "held is read from the store again"
        );

        // Still in that second, a writes `held` again: its item is full, so a appends nothing
        // (no more writes to a full item), and b empties its L1 again at its next poll.
        store.clock().advance(Duration::from_millis(200));
        let sent = a.stats().invalidations_sent;
        a.put("held", &2).await.unwrap();
        assert_eq!(
            a.stats().invalidations_sent,
            sent,
            "nothing appended to a full item"
        );
        store.clock().advance(Duration::from_millis(200));
        assert_eq!(b.get("held").await.unwrap(), Some(2));
        assert_eq!(b.stats().l1_resets, 2);
    }

    pub async fn a_cache_further_behind_than_the_feed_reaches_empties_its_l1(backend: TestBackend) {
        let store = manual(backend).await;
        let b: Cache<u32> = Cache::new(&store, coherent("behind"));
        b.put("k", &1).await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), Some(1));
        assert_eq!(b.stats().l1_resets, 0);
        // A process asleep for longer than one poll reads back (15 s): its L1 may hold
        // anything, so it starts again.
        store.clock().advance(Duration::from_secs(16));
        assert_eq!(b.get("k").await.unwrap(), Some(1));
        let stats = b.stats();
        assert_eq!(stats.l1_resets, 1);
        assert_eq!(
            stats.store_hits, 1,
            "k is read from the store after the reset"
        );
    }

    pub async fn feed_items_are_hidden_from_listings(backend: TestBackend) {
        let store = manual(backend).await;
        let a: Cache<u32> = Cache::new(&store, coherent("hidden"));
        let plain: Cache<u32> = Cache::new(&store, CacheConfig::new().coherent_l1(POLL));
        a.put_many([("a", 1), ("b", 2)]).await.unwrap();
        a.delete("b").await.unwrap();
        plain.put("p", &3).await.unwrap();
        assert_eq!(a.stats().invalidations_sent, 3);
        let mut listed = a.list_keys(100, None).await.unwrap().keys;
        listed.sort();
        assert_eq!(listed, ["a"]);
        let mut streamed: Vec<String> = a.keys().try_collect().await.unwrap();
        streamed.sort();
        assert_eq!(streamed, ["a"]);
        let mut everything: Vec<String> = store.keys().try_collect().await.unwrap();
        everything.sort();
        assert_eq!(everything, ["hidden:a", "p"], "the store lists values only");
        let mut plain_keys: Vec<String> = plain.keys().try_collect().await.unwrap();
        plain_keys.sort();
        assert_eq!(
            plain_keys,
            ["hidden:a", "p"],
            "a cache without a prefix sees no feed"
        );
    }

    pub async fn without_the_feed_the_l1_keeps_a_value_until_its_ttl(backend: TestBackend) {
        let store = manual(backend).await;
        // The writer has no L1 at all: with the feed on it still tells the others.
        let writer: Cache<u32> =
            Cache::new(&store, CacheConfig::new().prefix("ttl").coherent_l1(POLL));
        let coherent_reader: Cache<u32> = Cache::new(&store, coherent("ttl"));
        let l1 = L1Config::new().ttl(Ttl::hours(1));
        let plain_reader: Cache<u32> = Cache::new(&store, CacheConfig::new().prefix("ttl").l1(l1));
        writer.put("k", &1).await.unwrap();
        for reader in [&coherent_reader, &plain_reader] {
            assert_eq!(reader.get("k").await.unwrap(), Some(1));
        }
        writer.put("k", &2).await.unwrap();
        store.clock().advance(POLL);
        assert_eq!(coherent_reader.get("k").await.unwrap(), Some(2));
        assert_eq!(
            plain_reader.get("k").await.unwrap(),
            Some(1),
            "without the feed, another process's write is seen when the entry ends"
        );
        assert_eq!(plain_reader.stats().feed_polls, 0);
        store.clock().advance(Duration::from_secs(3_600));
        assert_eq!(plain_reader.get("k").await.unwrap(), Some(2));
    }
}

#[cfg(feature = "server-tests")]
mod faults {
    use std::time::Duration;

    use dynamorator::{Cache, Clock, Store, Ttl};
    use dynamorator_testkit::proxy::{Fault, Faults, Proxy};
    use serde_json::{Value, json};

    use super::common::{POLL, coherent};
    use crate::support::{TestBackend, python, raw, table_builder, unique_table_name};

    /// A store on `table` through `proxy`, on `clock`, with few retries.
    async fn through(proxy: &Proxy, table: &str, clock: &Clock) -> Store {
        table_builder(&proxy.url(), table)
            .await
            .max_attempts(2)
            .attempt_timeout(Duration::from_secs(2))
            .clock(clock.clone())
            .build()
            .await
            .expect("the store builds (faults are off while it does)")
    }

    pub async fn feed_writes_failing_leave_callers_unharmed_and_the_l1_on_its_ttl(
        backend: TestBackend,
    ) {
        let proxy = Proxy::in_front_of(&backend.endpoint()).await.unwrap();
        let (table, clock) = (unique_table_name(), Clock::manual());
        let writer_store = through(&proxy, &table, &clock).await;
        let reader_store = backend
            .build(|b| b.table(&table).clock(clock.clone()))
            .await;
        let writer: Cache<u32> = Cache::new(&writer_store, coherent("fw"));
        let reader: Cache<u32> = Cache::new(&reader_store, coherent("fw"));
        writer.put("k", &1).await.unwrap();
        assert_eq!(reader.get("k").await.unwrap(), Some(1));

        // Every UpdateItem fails (the feed's appends); PutItem, the value's write, goes through.
        proxy.set_faults(
            Faults::only(&[Fault::InternalError], 1.0, 7).on_operations(&["UpdateItem"]),
        );
        writer
            .put("k", &2)
            .await
            .expect("a failed feed write fails no caller");
        writer.delete("gone").await.expect("nor a delete");
        proxy.set_faults(Faults::none());
        assert_eq!(writer.stats().feed_errors, 2);
        assert!(proxy.stats().faults() >= 2);
        clock.advance(POLL);
        assert_eq!(
            reader.get("k").await.unwrap(),
            Some(1),
            "the change was never published: the reader's L1 keeps k until its TTL"
        );
        assert_eq!(reader.stats().l1_resets, 0);
        clock.advance(Duration::from_secs(3_600));
        assert_eq!(reader.get("k").await.unwrap(), Some(2), "the entry ended");
    }

    pub async fn feed_reads_failing_empty_the_l1_and_callers_see_no_error(backend: TestBackend) {
        let proxy = Proxy::in_front_of(&backend.endpoint()).await.unwrap();
        let (table, clock) = (unique_table_name(), Clock::manual());
        let reader_store = through(&proxy, &table, &clock).await;
        let writer_store = backend
            .build(|b| b.table(&table).clock(clock.clone()))
            .await;
        let writer: Cache<u32> = Cache::new(&writer_store, coherent("fr"));
        let reader: Cache<u32> = Cache::new(&reader_store, coherent("fr"));
        writer.put("k", &1).await.unwrap();
        assert_eq!(reader.get("k").await.unwrap(), Some(1));
        assert_eq!(reader.get("k").await.unwrap(), Some(1));
        assert_eq!(reader.stats().l1_hits, 1);

        // Every BatchGetItem fails (the feed's polls); GetItem, the value's read, goes through.
        proxy.set_faults(
            Faults::only(&[Fault::Unavailable], 1.0, 7).on_operations(&["BatchGetItem"]),
        );
        clock.advance(POLL);
        assert_eq!(
            reader
                .get("k")
                .await
                .expect("a failed poll fails no caller"),
            Some(1)
        );
        let stats = reader.stats();
        assert_eq!((stats.feed_errors, stats.l1_resets), (1, 1), "{stats:?}");
        assert_eq!(
            stats.store_hits, 2,
            "the emptied L1 sent the read to the store"
        );
        // Until a poll succeeds, the L1 is filled and answers as without the feed (its TTL).
        assert_eq!(reader.get("k").await.unwrap(), Some(1));
        assert_eq!(reader.stats().l1_hits, 2);
        writer.put("k", &2).await.unwrap();
        proxy.set_faults(Faults::none());
        clock.advance(POLL);
        assert_eq!(
            reader.get("k").await.unwrap(),
            Some(2),
            "polls resume: what the L1 took meanwhile is dropped"
        );
        let stats = reader.stats();
        assert_eq!((stats.feed_errors, stats.l1_resets), (1, 2), "{stats:?}");
    }

    pub async fn python_reads_a_table_with_feed_items(backend: TestBackend) {
        let table = unique_table_name();
        let store = backend.build(|b| b.table(&table)).await;
        let cache: Cache<Value> = Cache::new(&store, coherent(""));
        store
            .put("plain", &json!({"a": 1}), Ttl::hours(1))
            .await
            .unwrap();
        cache.put("written", &json!([1, 2])).await.unwrap();
        cache.delete("deleted").await.unwrap();
        // The feed items as stored: a key, entries, counts and an expiry, never `data`.
        let client = raw::client(backend).await;
        let feed_keys: Vec<String> = raw::scan_keys(&client, &table)
            .await
            .into_iter()
            .filter(|key| key.starts_with("__dynamorator_feed__/"))
            .collect();
        assert!(!feed_keys.is_empty(), "the writes made feed items");
        for key in &feed_keys {
            let item = raw::get(&client, &table, key).await.expect("the feed item");
            let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
            names.sort_unstable();
            assert_eq!(
                names,
                ["cache_id", "feed_count", "feed_entries", "ttl"],
                "{key}"
            );
        }
        let script = format!(
            "keys = {feed_keys:?}\n\
             print(json.dumps({{'get': [store.get(k) for k in keys], \
             'batch': store.batch_get(keys + ['plain', 'written']), \
             'list': sorted(store.list_keys(limit=100)['keys'])}}))"
        );
        let seen = python::run(backend, &table, false, 1024, &script);
        println!("coherent {backend:?} python with feed items: {seen}");
        assert!(
            seen["get"].as_array().unwrap().iter().all(Value::is_null),
            "a feed item is a miss to Python"
        );
        assert_eq!(
            seen["batch"],
            json!({"plain": {"a": 1}, "written": [1, 2]}),
            "Python's batch_get skips feed items and returns the values"
        );
        let listed = seen["list"].as_array().unwrap();
        assert!(listed.contains(&json!("plain")) && listed.contains(&json!("written")));
        assert_eq!(
            listed.len(),
            2 + feed_keys.len(),
            "Python's list_keys lists every item, feed items included (its own behaviour)"
        );
        let mut rust_listed = store.list_keys(100, None).await.unwrap().keys;
        rust_listed.sort();
        assert_eq!(
            rust_listed,
            ["plain", "written"],
            "Rust's listings leave them out"
        );
    }
}

mod processes {
    use std::time::{Duration, Instant};

    use dynamorator::{Cache, Clock, Store};
    use dynamorator_testkit::workers::{Worker, Workers};
    use serde_json::Value;

    use super::common::{START_SECS, coherent};
    use crate::support::{TestBackend, unique_file, unique_table_name};

    const WORKERS: Workers = Workers {
        entry: "coherent_worker",
        prefix: "DYNAMORATOR_COHERENT_",
        tag: "COHERENT",
    };
    const PROCESSES: usize = 4;
    const KEYS: usize = 500;
    const REWRITTEN: usize = 100;
    const DELETED: usize = 50;
    /// The epoch milliseconds every worker's manual clock starts at.
    const START_MS: i64 = START_SECS * 1_000;

    /// A fresh table (or file) holding `KEYS` values, and what a worker needs to reach it.
    /// Written a minute before the workers start, so the seed's feed items (full ones: 500
    /// keys in one second) are behind every poll the workers make.
    async fn seeded(backend: TestBackend) -> Vec<(&'static str, String)> {
        let clock = Clock::manual();
        clock.set(START_SECS - 60);
        let (store, vars) = if backend == TestBackend::EmbeddedFile {
            let path = unique_file();
            let store = Store::builder()
                .embedded_file(&path)
                .clock(clock)
                .build()
                .await
                .expect("a store on a fresh file");
            (store, vec![("FILE", path.display().to_string())])
        } else {
            let table = unique_table_name();
            let store = backend.build(|b| b.table(&table).clock(clock)).await;
            (
                store,
                vec![("ENDPOINT", backend.endpoint()), ("TABLE", table)],
            )
        };
        let cache: Cache<String> = Cache::new(&store, coherent("fleet"));
        let values: Vec<(String, String)> = (0..KEYS)
            .map(|i| (format!("k{i:03}"), "v1".to_owned()))
            .collect();
        cache.put_many(values).await.expect("the seed values");
        vars
    }

    fn start(vars: &[(&'static str, String)]) -> Vec<Worker> {
        start_each(|_| vars.to_vec())
    }

    /// Starts the workers, worker `i` with `vars_of(i)`, and waits until each has its store.
    fn start_each(vars_of: impl Fn(usize) -> Vec<(&'static str, String)>) -> Vec<Worker> {
        let mut workers: Vec<Worker> = (0..PROCESSES)
            .map(|i| WORKERS.start(&format!("coherent worker {i}"), &vars_of(i)))
            .collect();
        let by = Instant::now() + Duration::from_secs(60);
        for worker in &mut workers {
            worker.expect("ready", by);
        }
        workers
    }

    /// Tells `worker` to run `command` and returns its answer.
    fn ask(worker: &mut Worker, command: &str) -> Value {
        worker.tell(command);
        worker.expect("done", Instant::now() + Duration::from_secs(120))
    }

    fn count(answer: &Value, field: &str) -> u64 {
        answer[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {answer}"))
    }

    fn quit(workers: Vec<Worker>) {
        let by = Instant::now() + Duration::from_secs(30);
        for mut worker in workers {
            worker.tell("quit");
            worker.finish(by);
        }
    }

    /// Every worker reads every key: into its L1, then from it. Returns each one's last
    /// answer.
    fn fill(workers: &mut [Worker]) -> Vec<Value> {
        let mut answers = Vec::new();
        for worker in workers.iter_mut() {
            let first = ask(worker, "read");
            assert_eq!(count(&first, "v1"), KEYS as u64, "{first}");
            let second = ask(worker, "read");
            assert_eq!(count(&second, "v1"), KEYS as u64, "{second}");
            assert_eq!(
                count(&second, "l1_hits"),
                KEYS as u64,
                "the second read is all L1: {second}"
            );
            answers.push(second);
        }
        answers
    }

    pub async fn four_processes_see_each_others_rewrites_and_deletes_once_their_poll_is_due(
        backend: TestBackend,
    ) {
        let vars = seeded(backend).await;
        let mut workers = start(&vars);
        let mut last = fill(&mut workers);
        let written = ask(&mut workers[0], "rewrite");
        assert_eq!(
            count(&written, "invalidations_sent"),
            (REWRITTEN + DELETED) as u64
        );

        // Before the poll is due, the other L1s still answer: the bound is the poll.
        let early = ask(&mut workers[1], "read");
        assert_eq!(count(&early, "v1"), KEYS as u64, "{early}");
        last[1] = early;

        for worker in &mut workers {
            worker.tell(&format!("time {}", START_MS + 1_000));
        }
        for (i, worker) in workers.iter_mut().enumerate() {
            let seen = ask(worker, "read");
            println!("coherent {backend:?} worker {i} after the poll: {seen}");
            assert_eq!(count(&seen, "v2"), REWRITTEN as u64, "worker {i}: {seen}");
            assert_eq!(
                count(&seen, "missing"),
                DELETED as u64,
                "worker {i}: {seen}"
            );
            assert_eq!(
                count(&seen, "v1"),
                (KEYS - REWRITTEN - DELETED) as u64,
                "worker {i}: {seen}"
            );
            assert_eq!(count(&seen, "l1_resets"), 0, "worker {i}: {seen}");
            if i > 0 {
                assert_eq!(
                    count(&seen, "invalidations_received"),
                    (REWRITTEN + DELETED) as u64,
                    "worker {i}: {seen}"
                );
                assert_eq!(
                    count(&seen, "l1_hits") - count(&last[i], "l1_hits"),
                    (KEYS - REWRITTEN - DELETED) as u64,
                    "worker {i}: the unchanged keys stay in its L1: {seen}"
                );
            }
        }
        quit(workers);
    }

    /// Worker 0 writes through the fault proxy, which fails every `UpdateItem` (the feed's
    /// appends; the values go by `BatchWriteItem`): its writes succeed, the others keep the old
    /// values (their L1's TTL is the bound again), and nobody sees an error.
    #[cfg(feature = "server-tests")]
    pub async fn a_feed_that_cannot_be_written_leaves_the_others_on_their_l1_ttl(
        backend: TestBackend,
    ) {
        use dynamorator_testkit::proxy::{Fault, Faults, Proxy};

        let vars = seeded(backend).await;
        let proxy = Proxy::in_front_of(&backend.endpoint()).await.unwrap();
        let proxied = proxy.url();
        let mut workers = start_each(|i| {
            let mut vars = vars.clone();
            for (name, value) in &mut vars {
                if i == 0 && *name == "ENDPOINT" {
                    value.clone_from(&proxied);
                }
            }
            vars
        });
        fill(&mut workers);
        proxy.set_faults(
            Faults::only(&[Fault::InternalError], 1.0, 11).on_operations(&["UpdateItem"]),
        );
        let written = ask(&mut workers[0], "rewrite");
        proxy.set_faults(Faults::none());
        assert_eq!(count(&written, "invalidations_sent"), 0, "{written}");
        assert!(count(&written, "feed_errors") > 0, "{written}");
        for worker in &mut workers {
            worker.tell(&format!("time {}", START_MS + 1_000));
        }
        for worker in &mut workers[1..] {
            let seen = ask(worker, "read");
            assert_eq!(
                count(&seen, "v1"),
                KEYS as u64,
                "no change was published: {seen}"
            );
            assert_eq!(
                (count(&seen, "l1_resets"), count(&seen, "feed_errors")),
                (0, 0)
            );
        }
        // An hour later their L1 entries have ended (and they are behind the feed): the store
        // answers.
        for worker in &mut workers {
            worker.tell(&format!("time {}", START_MS + 3_601_000));
        }
        for worker in &mut workers[1..] {
            let seen = ask(worker, "read");
            assert_eq!(count(&seen, "v2"), REWRITTEN as u64, "{seen}");
            assert_eq!(count(&seen, "missing"), DELETED as u64, "{seen}");
        }
        quit(workers);
    }

    pub async fn a_process_paused_past_the_horizon_empties_its_l1_when_it_resumes(
        backend: TestBackend,
    ) {
        let vars = seeded(backend).await;
        let mut workers = start(&vars);
        fill(&mut workers);
        workers[3].pause();
        let later = START_MS + 20_000;
        for worker in &mut workers[..3] {
            worker.tell(&format!("time {later}"));
        }
        let written = ask(&mut workers[0], "rewrite");
        assert_eq!(
            count(&written, "invalidations_sent"),
            (REWRITTEN + DELETED) as u64
        );
        for worker in &mut workers[1..3] {
            let seen = ask(worker, "read");
            assert_eq!(count(&seen, "v2"), REWRITTEN as u64, "{seen}");
            assert_eq!(count(&seen, "l1_resets"), 1, "behind by 20 s: {seen}");
        }
        // The paused one wakes 20 s later, past what one poll reads back (15 s).
        workers[3].resume();
        workers[3].tell(&format!("time {later}"));
        let seen = ask(&mut workers[3], "read");
        println!("coherent {backend:?} the paused worker after it resumed: {seen}");
        assert_eq!(count(&seen, "l1_resets"), 1, "{seen}");
        assert_eq!(count(&seen, "v2"), REWRITTEN as u64, "{seen}");
        assert_eq!(count(&seen, "missing"), DELETED as u64, "{seen}");
        assert_eq!(
            count(&seen, "store_hits"),
            (KEYS * 2 - DELETED) as u64,
            "{seen}"
        );
        quit(workers);
    }
}

/// The worker side: one process with one coherent cache over the seeded keys, on a manual
/// clock, answering commands read from its standard input.
mod worker {
    use std::io::BufRead;
    use std::time::Duration;

    use dynamorator::{Cache, Clock, Store};
    use serde_json::json;

    use super::common::{START_SECS, coherent};
    use crate::support::table_builder;

    const KEYS: usize = 500;

    fn var(name: &str) -> Option<String> {
        std::env::var(format!("DYNAMORATOR_COHERENT_{name}")).ok()
    }

    fn say(event: &str, json: serde_json::Value) {
        println!("COHERENT {event} {json}");
    }

    pub fn main() {
        if var("ENDPOINT").is_none() && var("FILE").is_none() {
            return;
        }
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(run());
    }

    async fn run() {
        let clock = Clock::manual();
        clock.set(START_SECS);
        let store = match (var("FILE"), var("ENDPOINT"), var("TABLE")) {
            (Some(file), ..) => Store::builder().embedded_file(file),
            (None, Some(endpoint), Some(table)) => {
                assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only");
                table_builder(&endpoint, table)
                    .await
                    .attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(Duration::from_secs(60))
            }
            _ => panic!("a worker needs FILE, or ENDPOINT and TABLE"),
        }
        .clock(clock.clone())
        .build()
        .await
        .expect("the worker's store");
        let cache: Cache<String> = Cache::new(&store, coherent("fleet"));
        let keys: Vec<String> = (0..KEYS).map(|i| format!("k{i:03}")).collect();
        say("ready", json!({}));
        let stdin = std::io::stdin();
        // Bounded: a parent sends a handful of commands, then "quit" (or closes the pipe).
        for line in stdin.lock().lines().take(1_000) {
            let Ok(line) = line else { break };
            let mut words = line.split_whitespace();
            match words.next() {
                Some("quit") | None => break,
                Some("time") => {
                    let ms: i64 = words.next().and_then(|w| w.parse().ok()).expect("time MS");
                    let now = clock.now_epoch_millis();
                    clock.advance(Duration::from_millis(u64::try_from(ms - now).unwrap_or(0)));
                }
                Some("read") => {
                    let (mut v1, mut v2, mut missing) = (0, 0, 0);
                    for key in &keys {
                        match cache.get(key).await.expect("a read").as_deref() {
                            Some("v1") => v1 += 1,
                            Some("v2") => v2 += 1,
                            Some(other) => panic!("{key}: {other}"),
                            None => missing += 1,
                        }
                    }
                    let stats = cache.stats();
                    say(
                        "done",
                        json!({
                            "v1": v1, "v2": v2, "missing": missing,
                            "l1_hits": stats.l1_hits, "store_hits": stats.store_hits,
                            "invalidations_received": stats.invalidations_received,
                            "l1_resets": stats.l1_resets, "feed_polls": stats.feed_polls,
                            "feed_errors": stats.feed_errors,
                            "delay_ms_total": stats.invalidation_delay_ms_total,
                        }),
                    );
                }
                Some("rewrite") => {
                    let rewritten: Vec<(String, String)> = keys[..100]
                        .iter()
                        .map(|key| (key.clone(), "v2".to_owned()))
                        .collect();
                    cache.put_many(rewritten).await.expect("the rewrites");
                    cache
                        .delete_many(&keys[100..150])
                        .await
                        .expect("the deletes");
                    let stats = cache.stats();
                    say(
                        "done",
                        json!({"invalidations_sent": stats.invalidations_sent,
                               "feed_errors": stats.feed_errors}),
                    );
                }
                Some(other) => panic!("unknown command {other}"),
            }
        }
    }
}
