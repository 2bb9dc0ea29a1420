//! The L1's cost: a typed L1 hit (a read, a read-through, a memoised function's call and the
//! building of its key alone) against a raw moka `get` of the same data, and `get_many` of
//! 10,000 keys with 0 %, 90 % and 100 % of them in the L1, on the embedded backend, against
//! 10,000 raw moka gets that build the same map.
//!
//! The `get_many_10k` group reports the process's CPU time, not wall time: on a shared
//! machine it is the work done, whoever else runs (on an idle one the two agree).
//!
//!     cargo bench --bench l1

use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl, memoize};
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

fn l1_cache(store: &Store) -> Cache<Product> {
    Cache::new(
        store,
        CacheConfig::new()
            .ttl(Ttl::days(1))
            .prefix("product")
            .l1(L1Config::new().max_entries(100_000).ttl(Ttl::secs(600))),
    )
}

/// The store of the memoised function: one per process, as an application has it.
static MEMO_STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

/// The product numbered `i`, memoised with the same TTL and L1 as `l1_cache`.
#[memoize(
    store = MEMO_STORE,
    prefix = "memo_product",
    ttl_days = 1,
    l1(max_entries = 100_000, ttl_secs = 600)
)]
async fn memo_product(i: usize) -> Product {
    product(i)
}

fn l1_hit(c: &mut Criterion) {
    let rt = dynamorator_testkit::bench_runtime();
    let store = Store::embedded();
    let cache = l1_cache(&store);
    let raw: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::new(100_000);
    // The same policy the L1 needs for its TTL cap: a per-entry lifetime.
    let raw_expiring: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::builder()
        .max_capacity(100_000)
        .expire_after(TenMinutes)
        .build();
    // One lifetime for every entry (moka's `time_to_live`), for comparison.
    let raw_ttl: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(600))
        .build();
    let keys: Vec<String> = (0..1_000).map(|i| format!("B{i:05}")).collect();
    // The same cache with coherent L1s (a 1 s poll): a hit also reads the clock to know if a
    // poll is due, and once a second one caller polls (the in-memory feed: no network).
    let coherent: Cache<Product> = Cache::new(
        &store,
        CacheConfig::new()
            .ttl(Ttl::days(1))
            .prefix("coherent")
            .l1(L1Config::new().max_entries(100_000).ttl(Ttl::secs(600)))
            .coherent_l1(Duration::from_secs(1)),
    );
    rt.block_on(async {
        for (i, key) in keys.iter().enumerate() {
            // Setup, not timed: a failed write would leave the figure measuring misses.
            if let Err(error) = cache.put(key, &product(i)).await {
                panic!("setup write of {key}: {error}");
            }
            if let Err(error) = coherent.put(key, &product(i)).await {
                panic!("setup write of {key}: {error}");
            }
            raw.insert(key.clone(), Arc::new(product(i)));
            raw_expiring.insert(key.clone(), Arc::new(product(i)));
            raw_ttl.insert(key.clone(), Arc::new(product(i)));
            memo_product(i).await;
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
    group.bench_function("typed_get_arc_coherent", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let key = &keys[i];
            let coherent = &coherent;
            async move { black_box(coherent.get_arc(key).await) }
        })
    });
    group.bench_function("get_arc_or_insert_with", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let key = &keys[i];
            let cache = &cache;
            async move {
                // Never called: every key is in the L1.
                let load = move || async move { Ok::<_, Infallible>(product(i)) };
                black_box(cache.get_arc_or_insert_with(key, load).await)
            }
        })
    });
    // The same returning the value owned (a clone), as a memoised function does.
    let mut i = 0;
    group.bench_function("get_or_insert_with", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let key = &keys[i];
            let cache = &cache;
            async move {
                // Never called: every key is in the L1.
                let load = move || async move { Ok::<_, Infallible>(product(i)) };
                black_box(cache.get_or_insert_with(key, load).await)
            }
        })
    });
    // A memoised function's hit: its key (the SHA-256 of its arguments' JSON), its cache on
    // the store, the read-through, and a clone of the value (a memoised function returns it
    // owned).
    let mut i = 0;
    group.bench_function("memoize_l1_hit", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % keys.len();
            let i = i;
            async move { black_box(memo_product(i).await) }
        })
    });
    // Its key alone: the arguments hashed into the hex SHA-256, as generated code builds it
    // (`[i]`), without the cache.
    let mut i = 0;
    group.bench_function("memoize_key_only", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let mut key = dynamorator::__private::memoize::KeyArgs::new();
            key.arg(&i);
            black_box(key.finish().ok())
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
    let mut i = 0;
    group.bench_function("raw_moka_get_time_to_live", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(raw_ttl.get(&keys[i]))
        })
    });
    group.finish();
}

/// The CPU time this process has used so far, all threads.
fn cpu_time() -> Duration {
    dynamorator_testkit::cpu::own_process_cpu_time()
}

struct TenMinutes;

impl moka::Expiry<String, Arc<Product>> for TenMinutes {
    fn expire_after_create(&self, _: &String, _: &Arc<Product>, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(600))
    }
}

/// `runs` reads of all `keys` through `cache`, each run starting with exactly the first
/// `warm` of them in the L1; the CPU time of the reads alone.
async fn timed_reads(
    cache: Cache<Product>,
    keys: Vec<String>,
    warm: usize,
    runs: u64,
    cloned: bool,
) -> Duration {
    let mut measured = Duration::ZERO;
    for _ in 0..runs {
        // Not timed: the L1 emptied, filled with the warm keys (what that read is not
        // needed), and the fill's housekeeping done, as the raw figure has it.
        cache.invalidate_all();
        let _ = cache.get_many_arc(&keys[..warm]).await;
        let _ = cache.stats();
        let started = cpu_time();
        if cloned {
            black_box(cache.get_many(&keys).await.ok());
        } else {
            black_box(cache.get_many_arc(&keys).await.ok());
        }
        measured += cpu_time() - started;
    }
    measured
}

fn get_many(c: &mut Criterion) {
    let rt = dynamorator_testkit::bench_runtime();
    let keys: Vec<String> = (0..10_000).map(|i| format!("B{i:05}")).collect();
    let mut group = c.benchmark_group("get_many_10k");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.sample_size(20);
    let cases = [
        ("0%_in_l1", 0, false, false),
        // The same with the L1 bounded in bytes: every value filled is weighed.
        ("0%_in_l1_bytes_bound", 0, true, false),
        ("90%_in_l1", 90, false, false),
        ("100%_in_l1", 100, false, false),
        // The cloning form: one value clone a key on top.
        ("100%_in_l1_cloned", 100, false, true),
    ];
    for (name, percent_in_l1, bytes_bound, cloned) in cases {
        let store = Store::embedded();
        let cache = if bytes_bound {
            Cache::new(
                &store,
                CacheConfig::new()
                    .ttl(Ttl::days(1))
                    .prefix("product")
                    .l1(L1Config::new().max_bytes(1 << 30).ttl(Ttl::secs(600))),
            )
        } else {
            l1_cache(&store)
        };
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
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt)
                .iter_custom(|runs| timed_reads(cache.clone(), keys.clone(), warm, runs, cloned))
        });
    }
    // What the all-in-L1 figure is held to: 10,000 gets of a raw moka cache with the L1's
    // expiry policy, and the map of found values built and dropped as `get_many_arc`'s is.
    let raw: moka::sync::Cache<String, Arc<Product>> = moka::sync::Cache::builder()
        .max_capacity(100_000)
        .expire_after(TenMinutes)
        .build();
    // Filled in a hash map's order, as the L1 is from a batch read's map: filled in key order
    // and read in key order, moka's entries would sit in memory in the order they are read.
    let fill_order: HashMap<&String, usize> = keys.iter().zip(0..).collect();
    group.bench_function(BenchmarkId::from_parameter("raw_moka_gets_and_map"), |b| {
        b.iter_custom(|runs| {
            let mut measured = Duration::ZERO;
            for _ in 0..runs {
                raw.invalidate_all();
                for (key, i) in &fill_order {
                    raw.insert((*key).clone(), Arc::new(product(*i)));
                }
                raw.run_pending_tasks();
                let started = cpu_time();
                let mut found = HashMap::with_capacity(keys.len());
                for key in &keys {
                    if let Some(value) = raw.get(key) {
                        found.insert(key.clone(), value);
                    }
                }
                black_box(found);
                measured += cpu_time() - started;
            }
            measured
        })
    });
    group.finish();
}

criterion_group!(benches, l1_hit, get_many);
criterion_main!(benches);
