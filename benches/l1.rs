//! The L1's cost: a typed L1 hit against a raw moka `get` of the same data, and `get_many` of
//! 10,000 keys with 0 %, 90 % and 100 % of them in the L1, on the embedded backend.
//!
//!     cargo bench --bench l1

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Product {
    asin: String,
    title: String,
    price_cents: u64,
    tags: Vec<String>,
}

fn product(i: usize) -> Product {
    Product {
        asin: format!("B{i:05}"),
        title: format!("Product number {i}"),
        price_cents: 100 + i as u64,
        tags: vec!["kitchen".into(), "sale".into()],
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("no tokio runtime: {error}"),
    }
}

fn l1_cache(store: &Store) -> Cache<Product> {
    Cache::new(
        store,
        CacheConfig::new()
            .ttl(Ttl::days(1))
            .prefix("product")
            .l1(L1Config::new().max_entries(100_000).ttl(Ttl::secs(600))),
    )
}

fn l1_hit(c: &mut Criterion) {
    let rt = runtime();
    let store = Store::embedded();
    let cache = l1_cache(&store);
    let raw: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::new(100_000);
    // The same policy the L1 needs for its TTL cap: a per-entry lifetime.
    let raw_expiring: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::builder()
        .max_capacity(100_000)
        .expire_after(TenMinutes)
        .build();
    let keys: Vec<String> = (0..1_000).map(|i| format!("B{i:05}")).collect();
    rt.block_on(async {
        for (i, key) in keys.iter().enumerate() {
            // Setup, not timed: a failed write would leave the figure measuring misses.
            if let Err(error) = cache.put(key, &product(i)).await {
                panic!("setup write of {key}: {error}");
            }
            raw.insert(key.clone(), Arc::new(product(i)));
            raw_expiring.insert(key.clone(), Arc::new(product(i)));
        }
    });
    let mut group = c.benchmark_group("l1_hit");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("typed_get_arc", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let key = &keys[i];
            let cache = &cache;
            async move { black_box(cache.get_arc(key).await) }
        })
    });
    let mut i = 0;
    group.bench_function("typed_get_clone", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let key = &keys[i];
            let cache = &cache;
            async move { black_box(cache.get(key).await) }
        })
    });
    let mut i = 0;
    group.bench_function("raw_moka_get", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(raw.get(&keys[i]))
        })
    });
    let mut i = 0;
    group.bench_function("raw_moka_get_per_entry_expiry", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(raw_expiring.get(&keys[i]))
        })
    });
    group.finish();
}

struct TenMinutes;

impl moka::Expiry<String, Arc<Product>> for TenMinutes {
    fn expire_after_create(&self, _: &String, _: &Arc<Product>, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(600))
    }
}

fn get_many(c: &mut Criterion) {
    let rt = runtime();
    let keys: Vec<String> = (0..10_000).map(|i| format!("B{i:05}")).collect();
    let mut group = c.benchmark_group("get_many_10k");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.sample_size(20);
    for percent_in_l1 in [0usize, 90, 100] {
        let store = Store::embedded();
        let cache = l1_cache(&store);
        rt.block_on(async {
            let products: Vec<Product> = (0..keys.len()).map(product).collect();
            let written = store
                .put_many(
                    keys.iter()
                        .zip(&products)
                        .map(|(k, p)| (format!("product:{k}"), p)),
                    Ttl::days(1),
                )
                .await;
            if let Err(error) = written {
                panic!("setup write: {error}");
            }
        });
        let warm = keys.len() * percent_in_l1 / 100;
        group.bench_function(
            BenchmarkId::from_parameter(format!("{percent_in_l1}%_in_l1")),
            |b| {
                b.to_async(&rt).iter_custom(|runs| {
                    let (cache, keys) = (cache.clone(), keys.clone());
                    async move {
                        let mut measured = Duration::ZERO;
                        for _ in 0..runs {
                            // Each run starts with exactly `warm` keys in the L1 (not timed).
                            cache.invalidate_all();
                            // Only fills the L1: what it read is not needed.
                            let _ = cache.get_many_arc(&keys[..warm]).await;
                            let started = Instant::now();
                            black_box(cache.get_many_arc(&keys).await.ok());
                            measured += started.elapsed();
                        }
                        measured
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, l1_hit, get_many);
criterion_main!(benches);
