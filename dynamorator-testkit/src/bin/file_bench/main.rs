//! scripts/bench-embedded-file's Rust worker: one process of the embedded-file benchmark. It
//! opens a store on the shared file, waits for the start file, then writes or reads its range
//! of keys one call at a time, and prints one JSON line: when it started and ended (epoch
//! seconds) and how many calls it made. The orchestrator (scripts/bench_file.py) runs several
//! at once on one file, and the same for Python's diskcache.
//!
//! `open` mode instead times opening the file and the first `get`, in this fresh process.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use dynamorator::{Store, Ttl};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "one process of the embedded-file benchmark")]
struct Args {
    /// The store file, shared by every worker.
    #[arg(long)]
    file: PathBuf,
    #[arg(long, value_enum)]
    role: Role,
    /// A file holding the JSON value to write.
    #[arg(long)]
    value: PathBuf,
    /// The first key number of this worker's range.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// How many calls to make.
    #[arg(long, default_value_t = 10_000)]
    ops: u64,
    /// Starts once this file exists (so every worker starts together).
    #[arg(long)]
    go: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Set,
    Get,
    Open,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = dynamorator_testkit::bench_runtime();
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&args.value)?)?;
    if let Role::Open = args.role {
        let started = Instant::now();
        let store = Store::builder().embedded_file(&args.file).build().await?;
        let first: Option<Value> = store.get("k0").await?;
        let seconds = started.elapsed().as_secs_f64();
        assert!(first.is_some(), "the file holds k0");
        println!("{}", json!({"open_seconds": seconds}));
        return Ok(());
    }
    let store = Store::builder().embedded_file(&args.file).build().await?;
    let keys: Vec<String> = (args.offset..args.offset + args.ops)
        .map(|i| format!("k{i}"))
        .collect();
    println!("ready");
    if let Some(go) = &args.go {
        for _ in 0..60_000 {
            if go.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let start = now();
    let mut found = 0u64;
    match args.role {
        Role::Set => {
            for key in &keys {
                store.put(key, &value, Ttl::hours(1)).await?;
            }
        }
        Role::Get => {
            for key in &keys {
                // Decoded, as a caller uses it.
                if let Some(read) = store.get::<Value>(key).await? {
                    found += u64::from(read == value);
                }
            }
        }
        Role::Open => {}
    }
    let end = now();
    println!(
        "{}",
        json!({"start": start, "end": end, "ops": keys.len(), "found": found})
    );
    Ok(())
}
