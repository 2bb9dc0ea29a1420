//! The quick start: a typed cache in front of a slow source, on the embedded backend (no AWS
//! account, no server). A read-through loads a missing value once and answers the second read
//! from the cache; a batch read-through calls its loader once with exactly the missing keys.
//! Then the untyped `Store` underneath: JSON values by key, each with its own TTL.
//!
//!     cargo run --example quickstart
//!
//! On DynamoDB (or a local server such as moto or dynalite), the same code with a table:
//!
//!     DYNAMORATOR_TABLE=my-cache AWS_REGION=us-east-1 cargo run --example quickstart
//!     DYNAMORATOR_TABLE=my-cache AWS_ENDPOINT_URL=http://127.0.0.1:8000 AWS_REGION=us-east-1 \
//!         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test cargo run --example quickstart
//!
//! `RUST_LOG=dynamorator=debug` shows the library's requests (keys only, never values).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use dynamorator::{Cached, Store, Ttl};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A product, cached for an hour under `product:{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Cached)]
#[cache(ttl_hours = 1)]
struct Product {
    id: String,
    name: String,
    price_cents: u64,
}

/// Calls to the slow source, to show which reads the cache answered.
static SOURCE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// The slow source of one product (an HTTP API, a database).
async fn fetch_product(id: &str) -> Result<Product, std::io::Error> {
    SOURCE_CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(Product {
        id: id.to_owned(),
        name: format!("Product {id}"),
        price_cents: 1_999,
    })
}

/// The slow source of many products at once.
async fn fetch_products(ids: Vec<String>) -> Result<HashMap<String, Product>, std::io::Error> {
    SOURCE_CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(ids
        .into_iter()
        .map(|id| {
            let product = Product {
                name: format!("Product {id}"),
                id: id.clone(),
                price_cents: 999,
            };
            (id, product)
        })
        .collect())
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG decides what the library logs (default: warnings).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // An error is one sentence (e.g. what to set when there is no AWS region), not a dump.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), dynamorator::Error> {
    let store = match std::env::var("DYNAMORATOR_TABLE") {
        // Created (on-demand billing, TTL on) if it does not exist.
        Ok(table) => Store::builder().table(table).build().await?,
        Err(_) => Store::embedded(),
    };
    let products = Product::cache(&store);

    // A read-through: the first read loads and stores, the second is answered by the cache.
    let lamp = products
        .get_or_insert_with("lamp", || fetch_product("lamp"))
        .await?;
    let again = products
        .get_or_insert_with("lamp", || fetch_product("lamp"))
        .await?;
    assert_eq!(lamp, again);
    println!(
        "lamp: {} at {} cents; source calls: {} (the second read came from the cache)",
        again.name,
        again.price_cents,
        SOURCE_CALLS.load(Ordering::Relaxed)
    );

    // A batch read-through: one read of the cache, then one loader call with the missing keys.
    let page = products
        .get_many_or_insert_with(["lamp", "desk", "chair"], fetch_products)
        .await?;
    let mut names: Vec<&str> = page.values().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    println!(
        "page of {}: {names:?}; source calls: {} (desk and chair in one call)",
        page.len(),
        SOURCE_CALLS.load(Ordering::Relaxed)
    );
    println!("cache stats: {:?}", products.stats());

    // The untyped store underneath: JSON values by key, each with its own TTL.
    store
        .put(
            "user:123",
            &json!({"name": "Alice", "score": 100}),
            Ttl::days(7),
        )
        .await?;
    let user: Option<Value> = store.get("user:123").await?;
    println!("user:123 -> {}", user.unwrap_or(Value::Null));
    let read = store.get_many::<Value, _>(["user:123", "user:456"]).await?;
    println!(
        "get_many: found {}, unreadable {}",
        read.found.len(),
        read.failed.len()
    );
    let first_page = store.list_keys(50, None).await?;
    println!(
        "keys: {:?}, next page from {:?}",
        first_page.keys, first_page.last_key
    );
    store.delete("user:123").await?;
    // The embedded store goes away with the process; a table keeps what it holds.
    if store.table_name().is_some() {
        products.delete_many(["lamp", "desk", "chair"]).await?;
    }
    Ok(())
}
