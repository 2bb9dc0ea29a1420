//! The Rust side: the same data and the same operations as the Python script.

use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::measure::{Median, measure};

pub const SMALL: usize = 10_000;
pub const LARGE: usize = 1_000;

pub fn small_key(i: usize) -> String {
    format!("small-{i:05}")
}

pub fn large_key(i: usize) -> String {
    format!("large-{i:04}")
}

/// About 100 bytes of JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Small {
    pub i: usize,
    pub name: String,
    pub tags: Vec<String>,
    pub price_cents: u64,
    pub in_stock: bool,
}

fn small(i: usize) -> Small {
    Small {
        i,
        name: format!("Product number {i}"),
        tags: vec!["kitchen".into(), "sale".into()],
        price_cents: 1_000 + i as u64,
        in_stock: !i.is_multiple_of(3),
    }
}

/// About 10 KB of JSON, which compresses.
fn large(i: usize) -> Value {
    json!({
        "i": i,
        "reviews": (0..60).map(|r| json!({
            "id": r,
            "author": format!("reviewer {r}"),
            "text": format!("Review {r} of product {i}: works as described, would buy again."),
            "stars": r % 5 + 1,
        })).collect::<Vec<_>>(),
    })
}

/// Writes the benchmark's data: 10,000 small items and 1,000 compressed large ones.
pub async fn load(store: &Store) -> Result<(), dynamorator::Error> {
    let ttl = Ttl::days(1);
    store
        .put_many((0..SMALL).map(|i| (small_key(i), small(i))), ttl)
        .await?;
    store
        .put_many((0..LARGE).map(|i| (large_key(i), large(i))), ttl)
        .await?;
    let info = store.item_info(&large_key(0)).await?;
    if !info.is_some_and(|i| i.compressed) {
        return Err(dynamorator::Error::InvalidConfig {
            reason: "the large items should be stored compressed".into(),
        });
    }
    Ok(())
}

/// 10,000 keys in one `get_many` (the Python package's `batch_get`, the op's name in the report).
pub async fn batch_get(store: &Store, runs: usize) -> Median {
    let keys: Vec<String> = (0..SMALL).map(small_key).collect();
    measure(runs, || async {
        let found = match store.get_many::<Small, _>(&keys).await {
            Ok(read) => read.found.len(),
            Err(error) => panic!("get_many: {error}"),
        };
        assert_eq!(found, SMALL, "every key found");
        SMALL
    })
    .await
}

pub async fn get(store: &Store, runs: usize) -> Median {
    let keys: Vec<String> = (0..1_000).map(small_key).collect();
    measure(runs, || async {
        for key in &keys {
            let read = store.get::<Small>(key).await;
            assert!(matches!(read, Ok(Some(_))), "get {key}: {read:?}");
        }
        keys.len()
    })
    .await
}

pub async fn put(store: &Store, runs: usize) -> Median {
    measure(runs, || async {
        for i in 0..1_000 {
            let value = json!({"i": i, "name": format!("item {i}"), "tags": ["a", "b"]});
            let key = format!("put-{i:04}");
            if let Err(error) = store.put(&key, &value, Ttl::days(1)).await {
                panic!("put {key}: {error}");
            }
        }
        1_000
    })
    .await
}

pub async fn get_compressed(store: &Store, runs: usize) -> Median {
    let keys: Vec<String> = (0..LARGE).map(large_key).collect();
    measure(runs, || async {
        for key in &keys {
            let read = store.get::<Value>(key).await;
            assert!(matches!(read, Ok(Some(_))), "get {key}: {read:?}");
        }
        keys.len()
    })
    .await
}

/// 1,000 sequential typed gets served by a warm L1.
pub async fn l1_hit(store: &Store, runs: usize) -> Median {
    let cache: Cache<Small> = Cache::new(
        store,
        CacheConfig::new()
            .ttl(Ttl::days(1))
            .l1(L1Config::new().max_entries(10_000).ttl(Ttl::secs(600))),
    );
    let keys: Vec<String> = (0..1_000).map(small_key).collect();
    let warmed = match cache.get_many(&keys).await {
        Ok(read) => read.found.len(),
        Err(error) => panic!("get_many: {error}"),
    };
    assert_eq!(warmed, keys.len());
    measure(runs, || async {
        for key in &keys {
            let read = cache.get_arc(key).await;
            assert!(matches!(read, Ok(Some(_))), "get {key}: {read:?}");
        }
        keys.len()
    })
    .await
}
