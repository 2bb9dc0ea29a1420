//! scripts/bench-coherent's driver: coherent L1s across processes (BENCHMARKS.md, "Coherent
//! L1"), measured with the feed off and on.
//!
//! 4 OS processes (this binary started again as workers) share one table on dynalite, behind a
//! loopback proxy that counts requests. Each has a cache of 1,000 keys with an L1 of one hour,
//! and runs a zipfian workload at a fixed rate for a fixed time: 99 % `get`, 1 % writes. A
//! write is `put_versioned` with a version taken from the clock, so the table always holds the
//! highest version written. Every read and write is logged with its time (one machine: one
//! clock), and the parent counts the reads that returned a version older than one whose write
//! had completed more than the bound (poll + 200 ms) before the read began: stale reads past
//! the bound. Also reported: store reads and feed requests per process per second, and the
//! invalidation delays the workers measured (write to drop).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use dynamorator::{Cache, CacheConfig, L1Config, Ttl};
use dynamorator_testkit::proxy::Proxy;
use dynamorator_testkit::soak::zipf::Zipf;
use dynamorator_testkit::workers::{Worker, Workers};
use dynamorator_testkit::{table_builder, unique_table_name};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "stale reads, store reads and feed cost of a fleet's L1s, feed off and on")]
struct Args {
    /// dynalite's endpoint (loopback).
    #[arg(long)]
    dynalite: String,
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    processes: usize,
    /// Keys of the cache.
    #[arg(long, default_value_t = 1_000)]
    keys: usize,
    /// Operations per second per process.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// The share of operations that are writes.
    #[arg(long, default_value_t = 0.01)]
    write_share: f64,
    /// How long each run lasts, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The feed's poll interval, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    poll_ms: u64,
    /// The zipf exponent of key popularity.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
}

const WORKERS: Workers = Workers {
    entry: "",
    prefix: "DYNAMORATOR_COHERENT_BENCH_",
    tag: "COHERENT_BENCH",
};

/// Tasks per worker issuing operations.
const TASKS: u64 = 4;

/// One value: the version (epoch microseconds of the write's start) it was written with.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Versioned {
    version: u64,
}

/// What a worker logs: reads as (key, start ms, version read or `None`), writes as (key,
/// version, completion ms, written).
#[derive(Default, Serialize, Deserialize)]
struct Log {
    reads: Vec<(u32, i64, Option<u64>)>,
    writes: Vec<(u32, u64, i64)>,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    if std::env::var(format!("{}TABLE", WORKERS.prefix)).is_ok() {
        runtime.block_on(worker());
        return;
    }
    let args = Args::parse();
    if let Err(error) = runtime.block_on(parent(args)) {
        eprintln!("bench-coherent: {error}");
        std::process::exit(1);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One run's figures.
struct Row {
    feed: bool,
    reads: usize,
    writes: usize,
    stale_past_bound: usize,
    stale_within_bound: usize,
    store_reads_per_process_second: f64,
    feed_requests_per_process_second: f64,
    requests_per_process_second: f64,
    l1_hit_ratio: f64,
    resets: u64,
    feed_errors: u64,
    delays: Vec<u32>,
}

async fn parent(args: Args) -> Result<(), String> {
    let proxy = Proxy::in_front_of(&args.dynalite).await?;
    let mut rows = Vec::new();
    for feed in [false, true] {
        rows.push(run(&args, &proxy, feed).await?);
    }
    let bound = args.poll_ms + 200;
    println!(
        "\n{} processes on dynalite, {} keys (zipf {}), {} operations/s per process for {} s, \
         {:.0} % writes (`put_versioned`), L1 TTL 1 h, poll {} ms; stale past the bound: a \
         read older than a write completed {bound} ms before it began.\n",
        args.processes,
        args.keys,
        args.zipf,
        args.rate,
        args.seconds,
        args.write_share * 100.0,
        args.poll_ms
    );
    println!(
        "| feed | reads | writes | stale reads past the bound | stale reads within it | L1 hit ratio | store reads /s per process | feed requests /s per process | all requests /s per process | L1 resets | feed errors | invalidation delay p50 / p99 / max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let mut delays = row.delays.clone();
        delays.sort_unstable();
        let at = |q: f64| {
            if delays.is_empty() {
                return "–".to_owned();
            }
            let index = ((delays.len() - 1) as f64 * q).round() as usize;
            format!("{} ms", delays[index])
        };
        let delay = if delays.is_empty() {
            "–".to_owned()
        } else {
            format!("{} / {} / {}", at(0.5), at(0.99), at(1.0))
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} | {:.1} | {} | {} | {delay} |",
            if row.feed { "on" } else { "off" },
            row.reads,
            row.writes,
            row.stale_past_bound,
            row.stale_within_bound,
            row.l1_hit_ratio,
            row.store_reads_per_process_second,
            row.feed_requests_per_process_second,
            row.requests_per_process_second,
            row.resets,
            row.feed_errors,
        );
    }
    Ok(())
}

async fn run(args: &Args, proxy: &Proxy, feed: bool) -> Result<Row, String> {
    let table = unique_table_name();
    // Made and seeded directly, not through the proxy: version 0 of every key.
    let store = table_builder(&args.dynalite, table.clone())
        .await
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let seed: Cache<Versioned> = Cache::new(&store, config(false, args.poll_ms));
    let values: Vec<(String, Versioned)> = (0..args.keys)
        .map(|i| (format!("k{i:04}"), Versioned { version: 0 }))
        .collect();
    seed.put_many(values).await.map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("{table}-coherent"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let go = dir.join("go");
    let mut workers: Vec<Worker> = (0..args.processes)
        .map(|i| {
            let vars = [
                ("ENDPOINT", proxy.url()),
                ("TABLE", table.clone()),
                ("INDEX", i.to_string()),
                ("FEED", u8::from(feed).to_string()),
                ("KEYS", args.keys.to_string()),
                ("RATE", args.rate.to_string()),
                ("WRITE_SHARE", args.write_share.to_string()),
                ("SECONDS", args.seconds.to_string()),
                ("POLL_MS", args.poll_ms.to_string()),
                ("ZIPF", args.zipf.to_string()),
                ("GO_FILE", go.display().to_string()),
                (
                    "LOG_FILE",
                    dir.join(format!("{i}.json")).display().to_string(),
                ),
            ];
            WORKERS.start_binary(&format!("worker {i}"), &vars)
        })
        .collect();
    let ready_by = Instant::now() + Duration::from_secs(60);
    for worker in &mut workers {
        worker.expect("ready", ready_by);
    }
    let before = proxy.stats().requests;
    std::fs::write(&go, b"go").map_err(|e| e.to_string())?;
    let done_by = Instant::now() + Duration::from_secs(args.seconds + 120);
    let results: Vec<Value> = workers
        .iter_mut()
        .map(|worker| worker.expect("result", done_by))
        .collect();
    let requests = proxy.stats().requests - before;
    for worker in workers {
        worker.finish(done_by);
    }
    let mut logs = Vec::new();
    for i in 0..args.processes {
        let path = dir.join(format!("{i}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        logs.push(serde_json::from_str::<Log>(&text).map_err(|e| e.to_string())?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let bound = i64::try_from(args.poll_ms).unwrap_or(i64::MAX) + 200;
    let (stale_past_bound, stale_within_bound) = stale_reads(&logs, bound);
    let sum = |field: &str| -> u64 { results.iter().map(|r| r[field].as_u64().unwrap_or(0)).sum() };
    let per_process_second = |n: u64| n as f64 / (args.processes as f64 * args.seconds as f64);
    let delays = results
        .iter()
        .flat_map(|r| r["delays"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d.as_u64().and_then(|d| u32::try_from(d).ok()))
        .collect();
    let reads: usize = logs.iter().map(|log| log.reads.len()).sum();
    Ok(Row {
        feed,
        reads,
        writes: logs.iter().map(|log| log.writes.len()).sum(),
        stale_past_bound,
        stale_within_bound,
        store_reads_per_process_second: per_process_second(sum("store_reads")),
        feed_requests_per_process_second: per_process_second(
            sum("feed_polls") + sum("feed_appends"),
        ),
        requests_per_process_second: per_process_second(requests),
        l1_hit_ratio: sum("l1_hits") as f64 / reads.max(1) as f64,
        resets: sum("l1_resets"),
        feed_errors: sum("feed_errors"),
        delays,
    })
}

/// Reads that returned an older version than one whose write had completed `bound` ms (past
/// the bound) or 0 ms (within it) before the read began.
fn stale_reads(logs: &[Log], bound: i64) -> (usize, usize) {
    // Per key, writes by completion time, with the highest version completed so far.
    let mut writes: HashMap<u32, Vec<(i64, u64)>> = HashMap::new();
    for log in logs {
        for &(key, version, done) in &log.writes {
            writes.entry(key).or_default().push((done, version));
        }
    }
    for list in writes.values_mut() {
        list.sort_unstable();
        let mut highest = 0;
        for entry in list.iter_mut() {
            highest = highest.max(entry.1);
            entry.1 = highest;
        }
    }
    let highest_by = |key: u32, time: i64| -> u64 {
        let Some(list) = writes.get(&key) else {
            return 0;
        };
        let done = list.partition_point(|(at, _)| *at <= time);
        if done == 0 { 0 } else { list[done - 1].1 }
    };
    let (mut past, mut within) = (0, 0);
    for log in logs {
        for &(key, started, read) in &log.reads {
            let read = read.unwrap_or(0);
            if read < highest_by(key, started - bound) {
                past += 1;
            } else if read < highest_by(key, started) {
                within += 1;
            }
        }
    }
    (past, within)
}

fn config(feed: bool, poll_ms: u64) -> CacheConfig {
    let config = CacheConfig::new()
        .prefix("bench")
        .ttl(Ttl::days(1))
        .l1(L1Config::new().ttl(Ttl::hours(1)));
    if feed {
        config.coherent_l1(Duration::from_millis(poll_ms))
    } else {
        config
    }
}

fn var(name: &str) -> String {
    std::env::var(format!("{}{name}", WORKERS.prefix)).unwrap_or_else(|_| panic!("{name} unset"))
}

fn number<T: std::str::FromStr>(name: &str) -> T {
    var(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

fn say(event: &str, json: Value) {
    println!("{} {event} {json}", WORKERS.tag);
}

/// One process of the fleet: the workload for the run's time, then its log and counts.
async fn worker() {
    let endpoint = var("ENDPOINT");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only");
    let store = table_builder(&endpoint, var("TABLE"))
        .await
        .build()
        .await
        .expect("the worker's store");
    let index: u64 = number("INDEX");
    let feed = number::<u8>("FEED") == 1;
    let cache: Cache<Versioned> = Cache::new(&store, config(feed, number("POLL_MS")));
    let zipf = Arc::new(Zipf::new(number("KEYS"), number("ZIPF")));
    let (rate, seconds): (u64, u64) = (number("RATE"), number("SECONDS"));
    let write_share: f64 = number("WRITE_SHARE");
    let log = Arc::new(Mutex::new(Log::default()));
    say("ready", json!({}));
    let go = std::path::PathBuf::from(var("GO_FILE"));
    dynamorator_testkit::workers::wait_for_file(&go).await;
    let end = Instant::now() + Duration::from_secs(seconds);
    let interval = Duration::from_secs_f64(TASKS as f64 / rate.max(1) as f64);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (cache, zipf, log) = (cache.clone(), zipf.clone(), log.clone());
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(index * 1_000 + task);
            let mut next = tokio::time::Instant::now();
            // Bounded by the run's end, and by count (a rate times the seconds, doubled).
            for _ in 0..(rate * seconds * 2) {
                if Instant::now() >= end {
                    break;
                }
                next += interval;
                tokio::time::sleep_until(next).await;
                let key_index = zipf.sample(&mut rng);
                let key = format!("k{key_index:04}");
                let key_number = u32::try_from(key_index).unwrap_or(u32::MAX);
                if rng.f64() < write_share {
                    let version = now_us();
                    let written = cache
                        .put_versioned(&key, &Versioned { version }, version)
                        .await;
                    if matches!(written, Ok(true)) {
                        let done = now_ms();
                        log_lock(&log).writes.push((key_number, version, done));
                    }
                } else {
                    let started = now_ms();
                    let read = cache.get(&key).await;
                    let version = read.ok().flatten().map(|v| v.version);
                    log_lock(&log).reads.push((key_number, started, version));
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let log = std::mem::take(&mut *log_lock(&log));
    let text = serde_json::to_string(&log).expect("the log");
    std::fs::write(var("LOG_FILE"), text).expect("the log file");
    let stats = cache.stats();
    say(
        "result",
        json!({
            "store_reads": stats.store_hits + stats.store_misses,
            "l1_hits": stats.l1_hits,
            "feed_polls": stats.feed_polls,
            // One append per write call here (single-key writes).
            "feed_appends": if feed { log.writes.len() } else { 0 },
            "l1_resets": stats.l1_resets,
            "feed_errors": stats.feed_errors,
            "delays": cache.__take_invalidation_delays(),
        }),
    );
}

fn log_lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
