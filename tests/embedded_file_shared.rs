//! One embedded file, many processes: real OS processes (this test binary run again as
//! workers, `--exact shared_file_worker`, told what to do by `DYNAMORATOR_SHARED_*`
//! variables) read and write one file at once, are killed mid-write, memoise the same keys,
//! exit without closing it; every acknowledged write is read back, nobody gets an error.
//!
//! Every wait on a worker is bounded (a worker that misses its deadline is killed and the test
//! fails); nothing asserts how long anything took.

#![cfg(unix)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dynamorator_testkit::workers::{Worker, Workers};
use serde_json::{Value, json};

use support::{test_dir, unique_file, unique_table_name};

const WORKERS: Workers = Workers {
    entry: "shared_file_worker",
    prefix: "DYNAMORATOR_SHARED_",
    tag: "SHARED",
};

/// A worker on `file` in `role`, with more variables.
fn start(name: &str, file: &std::path::Path, role: &str, vars: &[(&str, String)]) -> Worker {
    let mut all = vec![
        ("FILE", file.display().to_string()),
        ("ROLE", role.to_owned()),
    ];
    all.extend(vars.iter().cloned());
    WORKERS.start(name, &all)
}

fn minutes(n: u64) -> Instant {
    Instant::now() + Duration::from_secs(60 * n)
}

/// Reads every key of `expected` in a fresh process and checks its value (`null`: absent).
fn read_back(file: &std::path::Path, expected: &HashMap<String, Value>) {
    let keys: Vec<&String> = expected.keys().collect();
    let mut reader = start("reader", file, "read", &[("KEYS", json!(keys).to_string())]);
    let seen = reader.expect("values", minutes(2));
    reader.finish(minutes(3));
    let mut lost = Vec::new();
    for (key, want) in expected {
        if &seen[key] != want {
            lost.push(format!("{key}: wanted {want}, read {}", seen[key]));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} keys read back wrong: {:?}",
        lost.len(),
        expected.len(),
        &lost[..lost.len().min(10)]
    );
}

/// 8 processes × 2,000 mixed reads, writes, batch writes and deletes on one file, at once:
/// no error, every read of a process's own keys is what it last wrote, every read of the
/// shared keys is a value some process wrote; then a fresh process reads every process's
/// last acknowledged write.
#[test]
fn eight_processes_share_one_file_and_lose_no_acknowledged_write() {
    let file = unique_file();
    let go = test_dir().join(format!("{}.go", unique_table_name()));
    let mut workers: Vec<Worker> = (0..8)
        .map(|i| {
            let vars = [
                ("INDEX", i.to_string()),
                ("OPS", "2000".to_owned()),
                ("GO_FILE", go.display().to_string()),
            ];
            start(&format!("worker {i}"), &file, "mixed", &vars)
        })
        .collect();
    for worker in &mut workers {
        worker.expect("ready", minutes(2));
    }
    std::fs::write(&go, b"go").unwrap();
    let mut expected = HashMap::new();
    for worker in &mut workers {
        let result = worker.expect("result", minutes(5));
        assert_eq!(result["wrong"], 0, "{result}");
        assert_eq!(result["ops"], 2000, "{result}");
        for (key, value) in result["last"].as_object().unwrap() {
            expected.insert(key.clone(), value.clone());
        }
    }
    for worker in workers {
        worker.finish(minutes(6));
    }
    assert!(expected.len() >= 8 * 50, "{} keys", expected.len());
    read_back(&file, &expected);
}

/// A writer of batches of 25 is killed (SIGKILL) 20 times, each time while it writes; two
/// other processes read and write all along. They never get an error, the file opens again
/// every time, and every batch a killed writer was told was written is there.
#[test]
fn a_writer_killed_mid_batch_20_times_loses_nothing_and_stops_nobody() {
    let file = unique_file();
    let stop = test_dir().join(format!("{}.stop", unique_table_name()));
    let mut steady: Vec<Worker> = (0..2)
        .map(|i| {
            let vars = [
                ("INDEX", (100 + i).to_string()),
                ("OPS", "1000000".to_owned()),
                ("STOP_FILE", stop.display().to_string()),
            ];
            start(&format!("steady {i}"), &file, "mixed", &vars)
        })
        .collect();
    for worker in &mut steady {
        worker.expect("ready", minutes(2));
    }
    let mut expected = HashMap::new();
    for round in 0..20 {
        let mut writer = start(
            &format!("writer {round}"),
            &file,
            "batches",
            &[("INDEX", round.to_string())],
        );
        // Killed after its third acknowledged batch, while it writes the next ones.
        for _ in 0..3 {
            writer.expect("acked", minutes(2));
        }
        let acked = writer.kill("acked");
        for batch in (0..3).map(|n| json!(format!("r{round}-b{n}"))).chain(acked) {
            for j in 0..25 {
                let key = format!("{}-{j:02}", batch.as_str().unwrap());
                expected.insert(key.clone(), json!({"key": key, "pad": "x".repeat(300)}));
            }
        }
    }
    std::fs::write(&stop, b"stop").unwrap();
    for worker in &mut steady {
        let result = worker.expect("result", minutes(3));
        assert_eq!(result["wrong"], 0, "{result}");
        for (key, value) in result["last"].as_object().unwrap() {
            expected.insert(key.clone(), value.clone());
        }
    }
    for worker in steady {
        worker.finish(minutes(4));
    }
    read_back(&file, &expected);
}

/// Four processes memoise the same 200 keys with `#[memoize]` and leases on one file: each key
/// is computed once across them, give or take a few.
#[test]
fn four_processes_memoising_200_keys_with_leases_compute_at_most_205_times() {
    let file = unique_file();
    let go = test_dir().join(format!("{}.go", unique_table_name()));
    let mut workers: Vec<Worker> = (0..4)
        .map(|i| {
            let vars = [("GO_FILE", go.display().to_string())];
            start(&format!("memoiser {i}"), &file, "memoize", &vars)
        })
        .collect();
    for worker in &mut workers {
        worker.expect("ready", minutes(2));
    }
    std::fs::write(&go, b"go").unwrap();
    let mut computed = 0;
    for worker in &mut workers {
        let result = worker.expect("result", minutes(5));
        assert_eq!(result["wrong"], 0, "{result}");
        computed += result["computed"].as_u64().unwrap();
    }
    for worker in workers {
        worker.finish(minutes(6));
    }
    println!("memoised 200 keys in 4 processes: {computed} computations");
    assert!((200..=205).contains(&computed), "{computed} computations");
}

/// A process that keeps its store in a `static` never closes the file; the next process opens
/// it with no repair and no warning, and finds every value.
#[test]
fn a_process_whose_store_is_a_static_exits_and_the_next_open_is_clean() {
    let file = unique_file();
    let mut worker = start("static", &file, "static", &[]);
    let result = worker.expect("result", minutes(2));
    worker.finish(minutes(3));
    assert_eq!(result["written"], 1000);
    let expected: HashMap<String, Value> = (0..1000)
        .map(|i| (format!("s{i:04}"), json!({"i": i})))
        .collect();
    let mut reader = start(
        "reader",
        &file,
        "read",
        &[(
            "KEYS",
            json!(expected.keys().collect::<Vec<_>>()).to_string(),
        )],
    );
    let seen = reader.expect("values", minutes(2));
    let warnings = reader.expect("warnings", minutes(2));
    reader.finish(minutes(3));
    assert_eq!(warnings, json!([]), "the open warned");
    for (key, want) in &expected {
        assert_eq!(&seen[key], want, "{key}");
    }
}

/// The worker the tests above start: returns at once (a passing test) unless
/// `DYNAMORATOR_SHARED_ROLE` is set.
#[test]
fn shared_file_worker() {
    worker::main();
}

mod worker {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::Duration;

    use dynamorator::{Store, Ttl, memoize};
    use dynamorator_testkit::workers::wait_for_file;
    use futures_util::stream::{self, StreamExt};
    use serde_json::{Value, json};

    fn var(name: &str) -> String {
        std::env::var(format!("DYNAMORATOR_SHARED_{name}"))
            .unwrap_or_else(|_| panic!("DYNAMORATOR_SHARED_{name} is not set"))
    }

    fn number(name: &str) -> u64 {
        var(name).parse().unwrap()
    }

    fn say(event: &str, json: Value) {
        println!("SHARED {event} {json}");
    }

    /// Warnings the library logged, as text.
    static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Collect;

    impl std::io::Write for Collect {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let text = String::from_utf8_lossy(bytes).into_owned();
            eprint!("{text}");
            WARNINGS.lock().unwrap().push(text);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub fn main() {
        let Ok(role) = std::env::var("DYNAMORATOR_SHARED_ROLE") else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Collect)
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            match role.as_str() {
                "mixed" => mixed(open().await).await,
                "batches" => batches(open().await).await,
                "read" => read(open().await).await,
                "memoize" => memoise().await,
                "static" => in_a_static().await,
                other => panic!("unknown role {other}"),
            }
        });
    }

    async fn open() -> Store {
        Store::builder()
            .embedded_file(var("FILE"))
            .build()
            .await
            .expect("a store on the shared file")
    }

    fn value(index: u64, seq: u64) -> Value {
        json!({"writer": index, "seq": seq, "pad": "y".repeat(200)})
    }

    /// `OPS` operations (or until `STOP_FILE` appears): puts, batch puts and deletes of this
    /// process's 100 keys, each checked by reads; puts and reads of 20 keys every process
    /// writes. Reports what it last wrote to its own keys.
    async fn mixed(store: Store) {
        let index = number("INDEX");
        let ops = number("OPS");
        let stop = std::env::var_os("DYNAMORATOR_SHARED_STOP_FILE").map(std::path::PathBuf::from);
        let own = |n: u64| format!("w{index}-{n:03}");
        let mut last: HashMap<String, Value> = HashMap::new();
        let mut wrong = 0u64;
        say("ready", json!({}));
        if let Ok(go) = std::env::var("DYNAMORATOR_SHARED_GO_FILE") {
            wait_for_file(std::path::Path::new(&go)).await;
        }
        let mut done = 0;
        for seq in 0..ops {
            if stop.as_ref().is_some_and(|stop| stop.exists()) {
                break;
            }
            let key = own(fastrand::u64(0..100));
            match fastrand::u32(0..100) {
                0..35 => {
                    let v = value(index, seq);
                    store.put(&key, &v, Ttl::hours(1)).await.unwrap();
                    last.insert(key, v);
                }
                35..45 => {
                    store.delete(&key).await.unwrap();
                    last.insert(key, Value::Null);
                }
                45..50 => {
                    let start = fastrand::u64(0..90);
                    let batch: Vec<(String, Value)> = (start..start + 10)
                        .map(|n| (own(n), value(index, seq)))
                        .collect();
                    store.put_many(batch.clone(), Ttl::hours(1)).await.unwrap();
                    last.extend(batch);
                }
                50..60 => {
                    let shared = format!("shared-{:02}", fastrand::u32(0..20));
                    store
                        .put(&shared, &value(index, seq), Ttl::hours(1))
                        .await
                        .unwrap();
                }
                60..70 => {
                    let shared = format!("shared-{:02}", fastrand::u32(0..20));
                    let found: Option<Value> = store.get(&shared).await.unwrap();
                    if found.is_some_and(|v| v["pad"] != "y".repeat(200)) {
                        wrong += 1;
                    }
                }
                70..80 => {
                    let keys: Vec<String> = (0..10).map(|_| own(fastrand::u64(0..100))).collect();
                    let read = store.get_many::<Value, _>(&keys).await.unwrap();
                    assert!(read.is_complete(), "{:?}", read.failed);
                    for key in keys {
                        let want = last.get(&key).cloned().unwrap_or(Value::Null);
                        if read.found.get(&key).cloned().unwrap_or(Value::Null) != want {
                            wrong += 1;
                        }
                    }
                }
                _ => {
                    let found: Option<Value> = store.get(&key).await.unwrap();
                    let want = last.get(&key).cloned().unwrap_or(Value::Null);
                    if found.unwrap_or(Value::Null) != want {
                        wrong += 1;
                    }
                }
            }
            done += 1;
        }
        say("result", json!({"ops": done, "wrong": wrong, "last": last}));
    }

    /// Writes batches of 25 until killed, saying which batch was acknowledged.
    async fn batches(store: Store) {
        let round = number("INDEX");
        for n in 0..100_000 {
            let batch = format!("r{round}-b{n}");
            let items: Vec<(String, Value)> = (0..25)
                .map(|j| {
                    let key = format!("{batch}-{j:02}");
                    let v = json!({"key": key, "pad": "x".repeat(300)});
                    (key, v)
                })
                .collect();
            store.put_many(items, Ttl::hours(1)).await.unwrap();
            say("acked", json!(batch));
        }
    }

    /// Reads `KEYS` and prints their values (`null`: absent), then the warnings logged.
    async fn read(store: Store) {
        let keys: Vec<String> = serde_json::from_str(&var("KEYS")).unwrap();
        let read = store.get_many::<Value, _>(&keys).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        let values: HashMap<&String, Value> = keys
            .iter()
            .map(|k| (k, read.found.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        say("values", json!(values));
        say("warnings", json!(*WARNINGS.lock().unwrap()));
    }

    static STORE: OnceLock<Store> = OnceLock::new();
    static COMPUTED: AtomicU64 = AtomicU64::new(0);

    fn store() -> &'static Store {
        STORE.get().expect("set before the first call")
    }

    #[memoize(store = store(), ttl_secs = 3600, prefix = "square", lease_secs = 30)]
    async fn square(n: u64) -> Result<u64, std::io::Error> {
        COMPUTED.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(n * n)
    }

    /// 200 keys, shuffled, 16 calls at a time, through `#[memoize]` with leases.
    async fn memoise() {
        let _ = STORE.set(open().await);
        say("ready", json!({}));
        wait_for_file(std::path::Path::new(&var("GO_FILE"))).await;
        let mut order: Vec<u64> = (0..200).collect();
        fastrand::shuffle(&mut order);
        let wrong = Arc::new(AtomicU64::new(0));
        stream::iter(order)
            .for_each_concurrent(16, |n| {
                let wrong = wrong.clone();
                async move {
                    if square(n).await.unwrap() != n * n {
                        wrong.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
            .await;
        say(
            "result",
            json!({"computed": COMPUTED.load(Ordering::SeqCst), "wrong": wrong.load(Ordering::SeqCst)}),
        );
    }

    /// Writes 1,000 items through a store kept in a `static`, then exits without dropping it.
    async fn in_a_static() {
        let _ = STORE.set(open().await);
        for i in 0..1000 {
            store()
                .put(&format!("s{i:04}"), &json!({"i": i}), Ttl::hours(1))
                .await
                .unwrap();
        }
        say("result", json!({"written": 1000}));
        std::process::exit(0);
    }
}
