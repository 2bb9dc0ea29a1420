//! An expensive computation memoised across runs: the first run computes, later runs read the
//! answers back from the cache (an embedded store kept in a file, or DynamoDB).
//!
//!     cargo run --example memoize          # computes and stores
//!     cargo run --example memoize          # answers from the cache
//!
//! With `DYNAMORATOR_TABLE` set it memoises in DynamoDB instead (endpoint from
//! `AWS_ENDPOINT_URL`); `MEMOIZE_FILE` moves the embedded store's file.

use std::time::Instant;

use dynamorator::{Cached, Store};
use serde::{Deserialize, Serialize};

/// How many primes there are below `limit`, and the largest of them.
#[derive(Debug, Clone, Serialize, Deserialize, Cached)]
#[cache(ttl_days = 30, prefix = "prime_count", version = 1)]
struct PrimeCount {
    limit: u64,
    count: u64,
    largest: Option<u64>,
}

/// Deliberately slow: trial division.
fn count_primes(limit: u64) -> PrimeCount {
    let mut count = 0;
    let mut largest = None;
    for n in 2..limit {
        if (2..).take_while(|d| d * d <= n).all(|d| n % d != 0) {
            count += 1;
            largest = Some(n);
        }
    }
    PrimeCount {
        limit,
        count,
        largest,
    }
}

#[tokio::main]
async fn main() -> Result<(), dynamorator::Error> {
    let store = match std::env::var("DYNAMORATOR_TABLE") {
        Ok(table) => {
            println!("Memoising in DynamoDB table {table:?}");
            Store::builder().table(table).build().await?
        }
        Err(_) => {
            let file = std::env::var("MEMOIZE_FILE").unwrap_or_else(|_| {
                std::env::temp_dir()
                    .join("dynamorator-memoize.jsonl")
                    .display()
                    .to_string()
            });
            println!("Memoising in {file} (run me twice)");
            Store::builder().embedded_file(file).build().await?
        }
    };
    let answers = PrimeCount::cache(&store);

    let started = Instant::now();
    for limit in [100_000u64, 200_000, 400_000, 800_000] {
        let call = Instant::now();
        let mut computed = false;
        let answer = answers
            .get_or_insert_with(&limit.to_string(), || {
                computed = true;
                // Heavy CPU work goes to a blocking thread, off the async workers.
                async move { tokio::task::spawn_blocking(move || count_primes(limit)).await }
            })
            .await?;
        println!(
            "primes below {limit:>7}: {:>6} (largest {:?}) {} in {:>5} ms",
            answer.count,
            answer.largest,
            if computed { "computed" } else { "from cache" },
            call.elapsed().as_millis()
        );
    }
    let stats = answers.stats();
    println!(
        "\n{} computed, {} from the cache, {} ms in all",
        stats.loader_calls,
        stats.store_hits,
        started.elapsed().as_millis()
    );
    Ok(())
}
