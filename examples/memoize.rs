//! An expensive computation memoised across runs: the first run computes, later runs read the
//! answers back from the cache (an embedded store kept in a file, or DynamoDB).
//!
//!     cargo run --example memoize          # computes and stores
//!     cargo run --example memoize          # answers from the cache
//!
//! With `DYNAMORATOR_TABLE` set it memoises in DynamoDB instead (endpoint from
//! `AWS_ENDPOINT_URL`). The embedded store's file is per user,
//! `$XDG_CACHE_HOME/dynamorator-examples/memoize.redb` (`$HOME/.cache/...` by default), never
//! in a shared temporary folder; `MEMOIZE_FILE` moves it.

use std::path::PathBuf;
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = match std::env::var("DYNAMORATOR_TABLE") {
        Ok(table) => {
            println!("Memoising in DynamoDB table {table:?}");
            Store::builder().table(table).build().await?
        }
        Err(_) => {
            let file = match std::env::var_os("MEMOIZE_FILE") {
                Some(file) => PathBuf::from(file),
                None => default_file()?,
            };
            println!("Memoising in {} (run me twice)", file.display());
            Store::builder().embedded_file(file).build().await?
        }
    };
    let answers = PrimeCount::cache(&store);

    let started = Instant::now();
    for limit in [100_000u64, 200_000, 400_000, 800_000] {
        let call = Instant::now();
        let loads_before = answers.stats().loader_calls;
        let answer = answers
            .get_or_insert_with(&limit.to_string(), move || {
                // Heavy CPU work goes to a blocking thread, off the async workers.
                // The loader's error (here a task that panicked) comes back as
                // `Error::Loader`, and nothing is stored.
                async move { tokio::task::spawn_blocking(move || count_primes(limit)).await }
            })
            .await?;
        let computed = answers.stats().loader_calls > loads_before;
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

/// `memoize.redb` in this user's cache folder (created if missing): `$XDG_CACHE_HOME` when
/// set to an absolute path, else `$HOME/.cache`.
fn default_file() -> std::io::Result<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let cache_home = absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .ok_or_else(|| {
            std::io::Error::other(
                "no per-user cache folder: set XDG_CACHE_HOME, HOME or MEMOIZE_FILE",
            )
        })?;
    let folder = cache_home.join("dynamorator-examples");
    std::fs::create_dir_all(&folder)?;
    Ok(folder.join("memoize.redb"))
}
