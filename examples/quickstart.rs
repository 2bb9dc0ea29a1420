//! The Python package's Quick Start, in Rust: put, get, batch_get, list_keys, delete and
//! compression.
//!
//! Runs on the embedded backend by default:
//!     cargo run --example quickstart
//! and on DynamoDB (or a compatible server) when `DYNAMORATOR_TABLE` is set:
//!     DYNAMORATOR_TABLE=my-data-store AWS_ENDPOINT_URL=http://127.0.0.1:8000 \
//!         cargo run --example quickstart

use dynamorator::{Store, Ttl};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), dynamorator::Error> {
    tracing_subscriber::fmt().with_target(false).init();

    let table = std::env::var("DYNAMORATOR_TABLE").ok();
    let builder = match &table {
        Some(table) => {
            println!("Using DynamoDB table {table:?} (created if missing)");
            Store::builder().table(table)
        }
        None => {
            println!("Using the embedded backend (set DYNAMORATOR_TABLE to use DynamoDB)");
            Store::builder().embedded()
        }
    };
    // Values whose JSON is longer than 1 KB are stored gzipped.
    let store = builder.compress(true).build().await?;

    println!("\nput user:123 for 7 days");
    store
        .put(
            "user:123",
            &json!({"name": "Alice", "score": 100}),
            Ttl::days(7.0),
        )
        .await;
    store
        .put(
            "user:456",
            &json!({"name": "Bob", "score": 42}),
            Ttl::days(0.5),
        )
        .await;

    let data: Option<Value> = store.get("user:123").await;
    println!("get user:123 -> {}", show(data.as_ref()));

    let keys = ["user:123", "user:456", "user:789"];
    let cached = store.batch_get::<Value, _>(keys).await;
    println!(
        "batch_get {keys:?} -> found {} of {}",
        cached.len(),
        keys.len()
    );
    for (key, value) in &cached {
        println!("  {key}: {value}");
    }

    let page = store.list_keys(50, None).await;
    println!(
        "list_keys(50) -> {:?}, next page: {:?}",
        page.keys, page.last_key
    );

    println!("\ndelete user:123");
    store.delete("user:123").await;
    let data: Option<Value> = store.get("user:123").await;
    println!("get user:123 -> {}", show(data.as_ref()));

    let large = json!({"data": "x".repeat(10_000)});
    store.put("large:1", &large, Ttl::days(7.0)).await;
    let back: Option<Value> = store.get("large:1").await;
    let length = back
        .as_ref()
        .and_then(|v| v["data"].as_str())
        .map_or(0, str::len);
    println!(
        "\nput large:1 (10 KB of JSON, stored gzipped) -> read back {length} characters, {}",
        if back.as_ref() == Some(&large) {
            "identical"
        } else {
            "DIFFERENT"
        }
    );

    // The fallible forms say what went wrong instead of logging it.
    match store.try_put("", &1, Ttl::days(1.0)).await {
        Ok(()) => println!("try_put with an empty key -> stored (unexpected)"),
        Err(error) => println!("try_put with an empty key -> error: {error}"),
    }

    if table.is_some() {
        store.batch_delete(["user:456", "large:1"]).await;
    }
    Ok(())
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "None".to_owned(), Value::to_string)
}
