//! A read-through product cache in front of a slow product API: each page of a catalogue asks
//! for 50 products, the cache answers what it has and calls the API once with exactly the
//! rest. Prints hit rates and how many upstream calls were made.
//!
//!     cargo run --example product_cache
//!
//! Runs on the embedded backend; with `DYNAMORATOR_TABLE` set, on DynamoDB (endpoint from
//! `AWS_ENDPOINT_URL`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dynamorator::{Cached, Store};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, Cached)]
#[cache(ttl_days = 7, compress, l1(max_bytes = 16777216, ttl_secs = 60))]
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
}

impl SlowProductApi {
    async fn fetch(&self, asins: Vec<String>) -> Result<HashMap<String, Product>, std::io::Error> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.products_served
            .fetch_add(asins.len(), Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(80)).await;
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
    let store = match std::env::var("DYNAMORATOR_TABLE") {
        Ok(table) => Store::builder().table(table).build().await?,
        Err(_) => Store::embedded(),
    };
    let products = Product::cache(&store);
    let api = Arc::new(SlowProductApi::default());

    // Ten pages of 50 products drawn from a catalogue of 200, with popular ones repeating.
    println!("page  asked  from cache  from api  time");
    let started = Instant::now();
    for page in 0..10u64 {
        let asins: BTreeSet<String> = (0..50u64)
            .map(|i| format!("B{:04}", (page * 37 + i * i) % 200))
            .collect();
        let served_before = api.products_served.load(Ordering::Relaxed);
        let page_started = Instant::now();
        let upstream = api.clone();
        let found = products
            .get_many_or_insert_with(
                &asins,
                |missing| async move { upstream.fetch(missing).await },
            )
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
    Ok(())
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
