//! scripts/profile's driver: one operation in a loop against dynalite, for a sampling profiler.
//! Setting up (the table, the data, the connection) happens before the loop; when
//! `PERF_CTL_FIFO` names perf's control FIFO (`perf record --control fifo:…`), the driver tells
//! perf to start sampling only once the loop begins, so the profile holds the operation alone.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use dynamorator::{Store, Ttl};
use dynamorator_testkit::cpu::thread_cpu_time;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Op {
    /// One `Store::get` of a small item per iteration.
    Get,
    /// One `Store::put` of a small item per iteration.
    Put,
    /// One `Store::get_many` of 100 small items per iteration.
    Batch,
}

#[derive(Parser, Debug)]
#[command(about = "One dynamorator operation in a loop, for a sampling profiler")]
struct Args {
    /// dynalite's endpoint (loopback).
    #[arg(long)]
    dynalite: String,
    /// The operation to repeat.
    #[arg(long, value_enum)]
    op: Op,
    /// How long to repeat it, in seconds (the loop also stops at 1,000,000 iterations).
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
}

const KEYS: usize = 1_000;
const BATCH: usize = 100;

fn main() -> Result<(), String> {
    let args = Args::parse();
    if !args.dynalite.starts_with("http://127.0.0.1:") {
        return Err(format!(
            "{}: profiles only talk to 127.0.0.1",
            args.dynalite
        ));
    }
    // One thread, as the benchmark's client: the profile is the client's work.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(&args))
}

async fn run(args: &Args) -> Result<(), String> {
    let store = open(&args.dynalite).await?;
    let keys: Vec<String> = (0..KEYS).map(|i| format!("small-{i:05}")).collect();
    store
        .put_many(keys.iter().map(|key| (key, value(key))), Ttl::days(1))
        .await
        .map_err(|e| e.to_string())?;
    // Warm: the connection is open and every lazy set-up has run before sampling starts.
    one(&store, args.op, &keys, 0).await?;
    perf_control("enable")?;
    let cpu = thread_cpu_time();
    let (start, limit) = (Instant::now(), Duration::from_secs_f64(args.seconds));
    let mut done = 0usize;
    while start.elapsed() < limit && done < 1_000_000 {
        one(&store, args.op, &keys, done).await?;
        done += 1;
    }
    perf_control("disable")?;
    let per_op = |total: Duration| total.as_secs_f64() * 1e6 / done.max(1) as f64;
    eprintln!(
        "profile: {:?}: {done} operations, each {:.1} µs of wall time, {:.1} µs of client CPU",
        args.op,
        per_op(start.elapsed()),
        per_op(thread_cpu_time() - cpu),
    );
    Ok(())
}

async fn one(store: &Store, op: Op, keys: &[String], i: usize) -> Result<(), String> {
    let key = &keys[i % keys.len()];
    match op {
        Op::Get => match store.get::<Small>(key).await {
            Ok(Some(_)) => Ok(()),
            other => Err(format!("get {key}: {other:?}")),
        },
        Op::Put => store
            .put(key, &value(key), Ttl::days(1))
            .await
            .map_err(|e| format!("put {key}: {e}")),
        Op::Batch => {
            let from = (i * BATCH) % (keys.len() - BATCH);
            let batch = &keys[from..from + BATCH];
            match store.get_many::<Small, _>(batch).await {
                Ok(read) if read.found.len() == BATCH => Ok(()),
                other => Err(format!("get_many: {other:?}")),
            }
        }
    }
}

/// About 100 bytes of JSON, as scripts/bench's small items.
#[derive(Debug, Serialize, Deserialize)]
struct Small {
    key: String,
    name: String,
    tags: Vec<String>,
    price_cents: u64,
    in_stock: bool,
}

fn value(key: &str) -> Small {
    Small {
        key: key.to_owned(),
        name: format!("Product {key}"),
        tags: vec!["kitchen".into(), "sale".into()],
        price_cents: 1_234,
        in_stock: true,
    }
}

/// Tells perf (through its control FIFO, when there is one) to start or stop sampling.
fn perf_control(command: &str) -> Result<(), String> {
    let Some(path) = std::env::var_os("PERF_CTL_FIFO") else {
        return Ok(());
    };
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.to_string_lossy()))?;
    writeln!(fifo, "{command}").map_err(|e| e.to_string())
}

async fn open(endpoint: &str) -> Result<Store, String> {
    Store::builder()
        .table(format!("dynamorator-profile-{}", std::process::id()))
        .sdk_config(dynamorator_testkit::sdk_config(endpoint).await)
        .build()
        .await
        .map_err(|e| e.to_string())
}
