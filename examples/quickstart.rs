//! The Python package's Quick Start, in Rust: put, get, get_many (the Python package's
//! batch_get), list_keys, delete and compression. Every operation returns a `Result`.
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
            Ttl::days(7),
        )
        .await?;
    // Half a day. A fractional or run-time figure goes through `Ttl::try_from_days(0.5)?`.
    store
        .put(
            "user:456",
            &json!({"name": "Bob", "score": 42}),
            Ttl::hours(12),
        )
        .await?;

    let data: Option<Value> = store.get("user:123").await?;
    println!("get user:123 -> {}", show(data.as_ref()));

    let keys = ["user:123", "user:456", "user:789"];
    // A batch read can be partial; `into_complete` turns any key that could not be read
    // into an error (a plain miss is not one).
    let cached = store.get_many::<Value, _>(keys).await?.into_complete()?;
    println!(
        "get_many {keys:?} -> found {} of {}",
        cached.len(),
        keys.len()
    );
    for (key, value) in &cached {
        println!("  {key}: {value}");
    }

    let page = store.list_keys(50, None).await?;
    println!(
        "list_keys(50) -> {:?}, next page: {:?}",
        page.keys, page.last_key
    );

    println!("\ndelete user:123");
    store.delete("user:123").await?;
    let data: Option<Value> = store.get("user:123").await?;
    println!("get user:123 -> {}", show(data.as_ref()));

    let large = json!({"data": "x".repeat(10_000)});
    store.put("large:1", &large, Ttl::days(7)).await?;
    let back: Option<Value> = store.get("large:1").await?;
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

    // An error says what went wrong; here one is expected, so it is matched, not `?`-ed.
    match store.put("", &1, Ttl::days(1)).await {
        Ok(()) => println!("put with an empty key -> stored (unexpected)"),
        Err(error) => println!("put with an empty key -> error: {error}"),
    }

    // The embedded store goes away with the process; a table keeps what it holds.
    if table.is_some() {
        store.delete_many(["user:456", "large:1"]).await?;
    }
    Ok(())
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "None".to_owned(), Value::to_string)
}
