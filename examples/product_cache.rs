//! A read-through product cache in front of a slow product API: each page of a catalogue asks
//! for 50 products, the cache answers what it has and calls the API once with exactly the
//! rest. Prints hit rates and how many upstream calls were made. Then freshness: a quarter of
//! an hour later the products are stale, so a page is answered at once from the cache while
//! one background call refreshes them; and when the API fails, the stale products still
//! answer (the example moves a manual clock instead of waiting).
//!
//!     cargo run --example product_cache
//!
//! Runs on the embedded backend; with `DYNAMORATOR_TABLE` set, on DynamoDB (endpoint from
//! `AWS_ENDPOINT_URL`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dynamorator::{Cached, Clock, Store};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, Cached)]
// Fresh for 10 minutes, then served stale for a day while refreshed in the background.
#[cache(
    ttl_mins = 10,
    stale_days = 1,
    compress,
    l1(max_bytes = 16777216, ttl_secs = 60)
)]
struct Product {
    asin: String,
    title: String,
    price_cents: u64,
    description: String,
}

/// Stands in for a product API: 80 ms a call, whatever the batch size.
#[derive(Default)]
struct SlowProductApi {
    calls: AtomicUsize,
    products_served: AtomicUsize,
    down: AtomicBool,
}

impl SlowProductApi {
    async fn fetch(&self, asins: Vec<String>) -> Result<HashMap<String, Product>, std::io::Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(80)).await;
        if self.down.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("product API unavailable"));
        }
        self.products_served
            .fetch_add(asins.len(), Ordering::Relaxed);
        Ok(asins
            .into_iter()
            .map(|asin| {
                let n: u64 = asin[1..].parse().unwrap_or(0);
                let product = Product {
                    title: format!("Product {n}"),
                    price_cents: 500 + n * 7 % 10_000,
                    description: format!("A fine product, number {n}. ").repeat(40),
                    asin: asin.clone(),
                };
                (asin, product)
            })
            .collect())
    }
}

#[tokio::main]
async fn main() -> Result<(), dynamorator::Error> {
    // RUST_LOG decides what the library logs (default: warnings).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // A manual clock, so the example can show what happens a quarter of an hour later.
    let clock = Clock::manual();
    let store = match std::env::var("DYNAMORATOR_TABLE") {
        Ok(table) => Store::builder().table(table),
        Err(_) => Store::builder().embedded(),
    }
    .clock(clock.clone())
    .build()
    .await?;
    let products = Product::cache(&store);
    let api = Arc::new(SlowProductApi::default());

    // Ten pages of 50 products drawn from a catalogue of 200, with popular ones repeating.
    println!("page  asked  from cache  from api  time");
    let started = Instant::now();
    for page in 0..10u64 {
        let asins = page_asins(page);
        let served_before = api.products_served.load(Ordering::Relaxed);
        let page_started = Instant::now();
        let found = products
            .get_many_or_insert_with(&asins, fetch_with(&api))
            .await?;
        let from_api = api.products_served.load(Ordering::Relaxed) - served_before;
        println!(
            "{page:>4}  {:>5}  {:>10}  {:>8}  {:>4} ms",
            asins.len(),
            found.len() - from_api,
            from_api,
            page_started.elapsed().as_millis()
        );
    }
    let stats = products.stats();
    let served = api.products_served.load(Ordering::Relaxed);
    println!(
        "\n{} upstream calls for {served} products in {} ms",
        api.calls.load(Ordering::Relaxed),
        started.elapsed().as_millis()
    );
    let lookups = stats.l1_hits + stats.l1_misses;
    println!(
        "L1: {} hits of {lookups} lookups ({:.0} %); store: {} hits, {} misses; {} L1 entries",
        stats.l1_hits,
        percent(stats.l1_hits, lookups),
        stats.store_hits,
        stats.store_misses,
        stats.l1_entries
    );

    // A quarter of an hour later every product is stale: the page is answered at once from
    // the cache, and one background call refreshes all 50.
    clock.advance(Duration::from_secs(15 * 60));
    let page = page_asins(0);
    let calls_before = api.calls.load(Ordering::Relaxed);
    let page_started = Instant::now();
    let found = products
        .get_many_or_insert_with(&page, fetch_with(&api))
        .await?;
    println!(
        "\n15 minutes later: {} products in {} ms, {} upstream calls while answering",
        found.len(),
        page_started.elapsed().as_millis(),
        api.calls.load(Ordering::Relaxed) - calls_before
    );
    products.wait_for_refreshes().await;
    let stats = products.stats();
    println!(
        "background refresh: {} upstream call; {} stale hits, {} keys refreshed",
        api.calls.load(Ordering::Relaxed) - calls_before,
        stats.stale_hits,
        stats.refreshes_succeeded
    );

    // Another quarter of an hour, and the API is down: the stale products still answer, and
    // the failed refresh is counted.
    clock.advance(Duration::from_secs(15 * 60));
    api.down.store(true, Ordering::Relaxed);
    let found = products
        .get_many_or_insert_with(&page, fetch_with(&api))
        .await?;
    products.wait_for_refreshes().await;
    let stats = products.stats();
    println!(
        "API down: {} products answered (stale); {} refresh failed",
        found.len(),
        stats.refreshes_failed
    );
    Ok(())
}

/// The 50 products of a page, drawn from a catalogue of 200, popular ones repeating.
fn page_asins(page: u64) -> BTreeSet<String> {
    (0..50u64)
        .map(|i| format!("B{:04}", (page * 37 + i * i) % 200))
        .collect()
}

/// A batch loader calling the API; `Send + 'static`, as a background refresh may run it.
fn fetch_with(
    api: &Arc<SlowProductApi>,
) -> impl FnOnce(Vec<String>) -> BoxFuture<'static, Result<HashMap<String, Product>, std::io::Error>>
+ Send
+ 'static {
    let api = api.clone();
    move |missing| Box::pin(async move { api.fetch(missing).await })
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
