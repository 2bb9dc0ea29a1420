//! scripts/bench-fleet's driver: one load per key across processes (leases), measured.
//!
//! The same run as `tests/fleet.rs`: 4 OS processes (this binary started again as workers)
//! read 200 cold keys through, each over its own shuffled order, 16 calls at a time (or
//! `get_many_or_insert_with` in batches of 20), with a loader that takes 50 ms; leases on
//! (10 s) and off. All workers build their store, then start together. Reported: keys loaded
//! across processes (loader work), wall time from the start to the last worker's answer, and
//! the DynamoDB requests of that phase, counted at a loopback proxy in front of dynalite
//! (every HTTP request, all operations; store set-up excluded).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use dynamorator::{Cache, CacheConfig};
use dynamorator_testkit::proxy::Proxy;
use dynamorator_testkit::{table_builder, unique_table_name};
use futures_util_shim::{buffered, chunks};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "loader calls, wall time and DynamoDB requests of a fleet, leases on and off")]
struct Args {
    /// dynalite's endpoint (loopback).
    #[arg(long)]
    dynalite: String,
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    processes: usize,
    /// Cold keys every process reads.
    #[arg(long, default_value_t = 200)]
    keys: usize,
    /// The loader's latency, in milliseconds.
    #[arg(long, default_value_t = 50)]
    loader_ms: u64,
    /// Read-through calls in flight per process.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The lease length, in milliseconds, when leases are on.
    #[arg(long, default_value_t = 10_000)]
    lease_ms: u64,
    /// Which read-throughs to measure: `single`, `batch` (batches of 20) or both.
    #[arg(long, default_value = "single,batch")]
    modes: String,
}

/// The worker's settings, passed in its environment.
const WORKER: &str = "DYNAMORATOR_FLEET_BENCH_WORKER";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    if let Ok(settings) = std::env::var(WORKER) {
        let settings: Value = serde_json::from_str(&settings).expect("the worker's settings");
        runtime.block_on(worker(settings));
        return;
    }
    let args = Args::parse();
    if let Err(error) = runtime.block_on(parent(args)) {
        eprintln!("bench-fleet: {error}");
        std::process::exit(1);
    }
}

struct Row {
    mode: String,
    leases: bool,
    loaded: u64,
    wall: Duration,
    requests: u64,
    leases_taken: u64,
    lease_waits: u64,
}

async fn parent(args: Args) -> Result<(), String> {
    let proxy = Proxy::in_front_of(&args.dynalite).await?;
    let mut rows = Vec::new();
    for mode in args.modes.split(',').map(str::trim) {
        if mode != "single" && mode != "batch" {
            return Err(format!("unknown mode {mode}"));
        }
        for leases in [false, true] {
            rows.push(run(&args, &proxy, mode, leases).await?);
        }
    }
    println!(
        "\n{} processes, {} cold keys each, loader {} ms, {} calls in flight per process, \
         lease {} ms; dynalite behind a loopback proxy that counts requests.\n",
        args.processes, args.keys, args.loader_ms, args.concurrency, args.lease_ms
    );
    println!(
        "| read-through | leases | keys loaded (all processes) | wall time | DynamoDB requests | leases taken | lease waits |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let mode = match row.mode.as_str() {
            "single" => "`get_or_insert_with`".to_owned(),
            _ => "`get_many_or_insert_with`, batches of 20".to_owned(),
        };
        println!(
            "| {mode} | {} | {} | {:.2} s | {} | {} | {} |",
            if row.leases { "on" } else { "off" },
            row.loaded,
            row.wall.as_secs_f64(),
            row.requests,
            row.leases_taken,
            row.lease_waits,
        );
    }
    Ok(())
}

/// One run: a fresh table, the workers started, ready, let go together, and their results.
async fn run(args: &Args, proxy: &Proxy, mode: &str, leases: bool) -> Result<Row, String> {
    let table = unique_table_name();
    // The table is created directly, not through the proxy.
    table_builder(&args.dynalite, table.clone())
        .await
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let go = std::env::temp_dir().join(format!("{table}.go"));
    let settings = json!({
        "endpoint": proxy.url(),
        "table": table,
        "mode": mode,
        "lease_ms": if leases { args.lease_ms } else { 0 },
        "keys": args.keys,
        "loader_ms": args.loader_ms,
        "concurrency": args.concurrency,
        "go": go.display().to_string(),
    })
    .to_string();
    let mut workers: Vec<Worker> = (0..args.processes)
        .map(|i| Worker::start(i, &settings))
        .collect::<Result<_, _>>()?;
    let ready_by = Instant::now() + Duration::from_secs(60);
    for worker in &mut workers {
        worker.expect("ready", ready_by)?;
    }
    let before = proxy.stats().requests;
    let started = Instant::now();
    std::fs::write(&go, b"go").map_err(|e| e.to_string())?;
    let done_by = started + Duration::from_secs(300);
    let mut results = Vec::new();
    for worker in &mut workers {
        results.push(worker.expect("result", done_by)?);
    }
    let wall = started.elapsed();
    let requests = proxy.stats().requests - before;
    let _ = std::fs::remove_file(&go);
    for mut worker in workers {
        let _ = worker.child.wait();
    }
    let sum = |field: &str| results.iter().map(|r| r[field].as_u64().unwrap_or(0)).sum();
    let wrong: u64 = sum("wrong");
    if wrong > 0 {
        return Err(format!("{wrong} answers were not their key's value"));
    }
    Ok(Row {
        mode: mode.to_owned(),
        leases,
        loaded: sum("loaded"),
        wall,
        requests,
        leases_taken: sum("leases_taken"),
        lease_waits: sum("lease_waits"),
    })
}

/// A worker process; killed when dropped.
struct Worker {
    index: usize,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn start(index: usize, settings: &str) -> Result<Worker, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .env(WORKER, settings)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Worker {
            index,
            child,
            lines,
        })
    }

    /// The JSON of the next `FLEET <event>` line, before `deadline`.
    fn expect(&mut self, event: &str, deadline: Instant) -> Result<Value, String> {
        let prefix = format!("FLEET {event} ");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(json) = line.strip_prefix(&prefix) {
                        return serde_json::from_str(json).map_err(|e| e.to_string());
                    }
                }
                Err(_) => return Err(format!("worker {}: no `{event}` line", self.index)),
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One process of the fleet: read-through over the keys, then its counts.
async fn worker(settings: Value) {
    let text = |name: &str| settings[name].as_str().expect(name).to_owned();
    let number = |name: &str| settings[name].as_u64().expect(name);
    let endpoint = text("endpoint");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only");
    let store = table_builder(&endpoint, text("table"))
        .await
        .build()
        .await
        .expect("the worker's store");
    let mut config = CacheConfig::new().prefix("fleet");
    if number("lease_ms") > 0 {
        config = config.leases(Duration::from_millis(number("lease_ms")));
    }
    let cache: Cache<u64> = Cache::new(&store, config);
    let loader_latency = Duration::from_millis(number("loader_ms"));
    let concurrency = number("concurrency") as usize;
    let go = std::path::PathBuf::from(text("go"));
    println!("FLEET ready {{}}");
    let waiting = Instant::now();
    while !go.exists() {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "no start signal"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let loaded = Arc::new(AtomicUsize::new(0));
    let mut order: Vec<u64> = (0..number("keys")).collect();
    fastrand::shuffle(&mut order);
    let answers: Vec<(u64, u64)> = if text("mode") == "batch" {
        let calls = chunks(&order, 20).into_iter().map(|batch| {
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
                                    let v = k[1..].parse::<u64>().unwrap_or(u64::MAX);
                                    (k, v)
                                })
                                .collect::<HashMap<_, _>>(),
                        )
                    })
                    .await
                    .expect("a batch read-through");
                found
                    .into_iter()
                    .map(|(k, v)| (k[1..].parse::<u64>().unwrap_or(u64::MAX), v))
                    .collect::<Vec<_>>()
            }
        });
        buffered(calls, concurrency)
            .await
            .into_iter()
            .flatten()
            .collect()
    } else {
        let calls = order.into_iter().map(|i| {
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
        });
        buffered(calls, concurrency).await
    };
    let stats = cache.stats();
    println!(
        "FLEET result {}",
        json!({
            "loaded": loaded.load(Ordering::SeqCst),
            "answered": answers.len(),
            "wrong": answers.iter().filter(|(i, v)| i != v).count(),
            "leases_taken": stats.leases_taken,
            "lease_waits": stats.lease_waits,
        })
    );
}

/// Small helpers without a futures dependency in this package: run futures `limit` at a time
/// on the runtime, and split a slice into owned chunks.
mod futures_util_shim {
    use std::future::Future;

    use tokio::task::JoinSet;

    pub fn chunks(items: &[u64], size: usize) -> Vec<Vec<u64>> {
        items.chunks(size).map(<[u64]>::to_vec).collect()
    }

    /// Runs the futures, at most `limit` at a time, and returns their outputs (any order).
    pub async fn buffered<F, T>(futures: impl IntoIterator<Item = F>, limit: usize) -> Vec<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let mut running = JoinSet::new();
        let mut out = Vec::new();
        for future in futures {
            if running.len() >= limit.max(1)
                && let Some(done) = running.join_next().await
            {
                out.push(done.expect("a read-through task"));
            }
            running.spawn(future);
        }
        while let Some(done) = running.join_next().await {
            out.push(done.expect("a read-through task"));
        }
        out
    }
}
