//! scripts/bench-freshness's driver: what stale-while-revalidate does to read-through latency.
//!
//! A working set of 1,000 keys, 10 % of them past their TTL. Every key is read five times, in
//! a shuffled order, with `get_or_insert_with` and a loader that takes 100 ms; no L1, so every
//! read goes to the store. Reported: p50 and p99 of a plain store hit (`Cache::get` of a fresh
//! key) and of `get_or_insert_with` with stale-while-revalidate off (an expired key waits for
//! its loader) and on (a stale key is answered at once and refreshed in the background), and
//! how many loader calls each stale key took. The clock is a manual one, so the 10 % are past
//! their TTL by construction, not by waiting. Then the circuit breaker: read-through calls
//! against an endpoint nothing listens on, with the breaker off and on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use dynamorator::{Cache, CacheConfig, CircuitBreaker, Clock, Store, Ttl};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "read-through latency with stale-while-revalidate on and off")]
struct Args {
    /// dynalite's endpoint (loopback); without it only the embedded backend is measured.
    #[arg(long)]
    dynalite: Option<String>,
    /// Keys in the working set.
    #[arg(long, default_value_t = 1_000)]
    keys: usize,
    /// Reads of each key.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// The loader's latency, in milliseconds.
    #[arg(long, default_value_t = 100)]
    loader_ms: u64,
    /// Read-through calls against an unreachable endpoint, with the circuit breaker off and on.
    #[arg(long, default_value_t = 8)]
    unreachable_calls: usize,
}

const TTL: Ttl = Ttl::secs(60);
/// The stale share of the working set: one key in ten.
const STALE_EVERY: usize = 10;

fn key(i: usize) -> String {
    format!("swr-{i:05}")
}

fn value(i: usize, generation: u32) -> Value {
    json!({"id": i, "generation": generation, "name": format!("Product number {i}"), "tags": ["a", "b"]})
}

/// Latencies in order, with percentiles.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0.get(index).copied().unwrap_or_default()
    }
}

fn latencies(mut samples: Vec<Duration>) -> Latencies {
    samples.sort();
    Latencies(samples)
}

struct Outcome {
    read_through: Latencies,
    loader_calls: usize,
    stale_keys: usize,
    stats: dynamorator::CacheStats,
}

/// Writes the working set: the stale share two TTLs ago, the rest now.
async fn fill(cache: &Cache<Value>, clock: &Clock, keys: usize) -> Result<(), String> {
    let now = clock.now_epoch_secs();
    clock.set(now - 2 * TTL.as_secs() as i64);
    let old: Vec<(String, Value)> = (0..keys)
        .filter(|i| i % STALE_EVERY == 0)
        .map(|i| (key(i), value(i, 0)))
        .collect();
    cache
        .put_many(old.iter().map(|(k, v)| (k, v)))
        .await
        .map_err(|e| e.to_string())?;
    clock.set(now);
    let fresh: Vec<(String, Value)> = (0..keys)
        .filter(|i| i % STALE_EVERY != 0)
        .map(|i| (key(i), value(i, 0)))
        .collect();
    cache
        .put_many(fresh.iter().map(|(k, v)| (k, v)))
        .await
        .map_err(|e| e.to_string())
}

async fn run(store: &Store, swr: bool, args: &Args, round: &str) -> Result<Outcome, String> {
    let mut config = CacheConfig::new().ttl(TTL).prefix(format!("swr-{round}"));
    if swr {
        config = config.stale_for(Ttl::days(1));
    }
    let cache: Cache<Value> = Cache::new(store, config);
    fill(&cache, store.clock(), args.keys).await?;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut order: Vec<usize> = (0..args.keys)
        .flat_map(|i| std::iter::repeat_n(i, args.passes))
        .collect();
    fastrand::shuffle(&mut order);
    let mut samples = Vec::with_capacity(order.len());
    let loader_latency = Duration::from_millis(args.loader_ms);
    for i in order {
        let calls = calls.clone();
        let started = Instant::now();
        let answer = cache
            .get_or_insert_with(&key(i), move || async move {
                calls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(loader_latency).await;
                Ok::<_, std::io::Error>(value(i, 1))
            })
            .await
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        if answer["id"] != i {
            return Err(format!("key {i} answered {answer}"));
        }
    }
    cache.wait_for_refreshes().await;
    Ok(Outcome {
        read_through: latencies(samples),
        loader_calls: calls.load(Ordering::Relaxed),
        stale_keys: args.keys.div_ceil(STALE_EVERY),
        stats: cache.stats(),
    })
}

/// `Cache::get` of fresh keys: the latency of a plain store hit.
async fn store_hits(store: &Store, args: &Args) -> Result<Latencies, String> {
    let cache: Cache<Value> = Cache::new(store, CacheConfig::new().ttl(TTL).prefix("swr-hit"));
    fill(&cache, store.clock(), args.keys).await?;
    let mut samples = Vec::new();
    for pass in 0..args.passes {
        for i in (0..args.keys).filter(|i| i % STALE_EVERY != 0) {
            let started = Instant::now();
            let found = cache.get(&key(i)).await.map_err(|e| e.to_string())?;
            samples.push(started.elapsed());
            if found.is_none() {
                return Err(format!("pass {pass}: key {i} missing"));
            }
        }
    }
    Ok(latencies(samples))
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1_000.0)
}

async fn measure(backend: &str, store: Store, args: &Args) -> Result<(), String> {
    let hits = store_hits(&store, args).await?;
    let off = run(&store, false, args, &format!("{backend}-off")).await?;
    let on = run(&store, true, args, &format!("{backend}-on")).await?;
    println!("\n### {backend}\n");
    println!("| read | p50 ms | p99 ms | loader calls per stale key |");
    println!("|---|---:|---:|---:|");
    println!(
        "| store hit (`get`) | {} | {} | |",
        ms(hits.percentile(0.5)),
        ms(hits.percentile(0.99))
    );
    for (name, outcome) in [
        ("`get_or_insert_with`, stale-while-revalidate off", &off),
        ("`get_or_insert_with`, stale-while-revalidate on", &on),
    ] {
        println!(
            "| {name} | {} | {} | {:.2} |",
            ms(outcome.read_through.percentile(0.5)),
            ms(outcome.read_through.percentile(0.99)),
            outcome.loader_calls as f64 / outcome.stale_keys as f64
        );
    }
    let ratio =
        on.read_through.percentile(0.99).as_secs_f64() / hits.percentile(0.99).as_secs_f64();
    println!(
        "\np99 with stale-while-revalidate on / p99 of a store hit: {ratio:.2}× (target ≤ 2×)"
    );
    println!("stats with it on: {:?}", on.stats);
    println!("stats with it off: {:?}", off.stats);
    Ok(())
}

/// Read-through against a DynamoDB endpoint nothing listens on, with the circuit breaker off
/// and on: each call's latency, and what it answered with.
async fn unreachable_store(calls: usize) -> Result<(), String> {
    // A loopback port that was free a moment ago: connections to it are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    println!("\n### DynamoDB unreachable (connection refused on {endpoint})\n");
    println!("| call | breaker off, ms | breaker on (5 failures, 30 s), ms |");
    println!("|---:|---:|---:|");
    let mut columns = Vec::new();
    for breaker in [CircuitBreaker::disabled(), CircuitBreaker::new()] {
        let store = Store::builder()
            .table("unreachable")
            .sdk_config(dynamorator_testkit::sdk_config(&endpoint).await)
            .create_table(false)
            .circuit_breaker(breaker)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let cache: Cache<u64> = Cache::new(&store, CacheConfig::new().ttl(TTL));
        let mut column = Vec::new();
        for i in 0..calls {
            let started = Instant::now();
            let answer = cache
                .get_or_insert_with(
                    &key(i),
                    move || async move { Ok::<_, std::io::Error>(i as u64) },
                )
                .await
                .map_err(|e| e.to_string())?;
            column.push(started.elapsed());
            if answer != i as u64 {
                return Err(format!("call {i} answered {answer}"));
            }
        }
        println!("stats, {breaker:?}: {:?}", cache.stats());
        columns.push(column);
    }
    if let [off, on] = columns.as_slice() {
        for (i, (off, on)) in off.iter().zip(on).enumerate() {
            println!("| {} | {} | {} |", i + 1, ms(*off), ms(*on));
        }
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        println!(
            "{} keys, {} % stale, each read {} times; loader {} ms; no L1",
            args.keys,
            100 / STALE_EVERY,
            args.passes,
            args.loader_ms
        );
        let embedded = Store::builder()
            .embedded()
            .clock(Clock::manual())
            .build()
            .await
            .map_err(|e| e.to_string())?;
        measure("embedded", embedded, &args).await?;
        if let Some(endpoint) = &args.dynalite {
            if !endpoint.starts_with("http://127.0.0.1:") {
                return Err(format!("{endpoint}: benchmarks only talk to 127.0.0.1"));
            }
            let config = dynamorator_testkit::sdk_config(endpoint).await;
            let store = Store::builder()
                .table(format!("dynamorator-swr-{}", std::process::id()))
                .sdk_config(config)
                .clock(Clock::manual())
                .circuit_breaker(CircuitBreaker::disabled())
                .build()
                .await
                .map_err(|e| e.to_string())?;
            measure("dynalite", store, &args).await?;
        }
        unreachable_store(args.unreachable_calls).await
    })
}
