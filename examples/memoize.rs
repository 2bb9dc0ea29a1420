//! An expensive computation memoised across runs with `#[memoize]`, on a free function and on
//! a method: the first run computes, later runs read the answers back from the cache (an
//! embedded store kept in a file, or DynamoDB).
//!
//!     cargo run --example memoize          # computes and stores
//!     cargo run --example memoize          # answers from the cache
//!
//! With `DYNAMORATOR_TABLE` set it memoises in DynamoDB instead (endpoint from
//! `AWS_ENDPOINT_URL`). The embedded store's file is per user,
//! `$XDG_CACHE_HOME/dynamorator-examples/memoize.db` (`$HOME/.cache/...` by default), never
//! in a shared temporary folder; `MEMOIZE_FILE` moves it.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use dynamorator::{Store, memoize};
use serde::{Deserialize, Serialize};

/// How many primes there are below `limit`, and the largest of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PrimeCount {
    limit: u64,
    count: u64,
    largest: Option<u64>,
}

/// The store, built once in `main` (an async build, so a `OnceLock` rather than a `LazyLock`).
static STORE: OnceLock<Store> = OnceLock::new();

fn store() -> &'static Store {
    STORE
        .get()
        .expect("main sets the store before the first call")
}

/// Deliberately slow: trial division, on a blocking thread, off the async workers. Memoised
/// for 30 days under `prime_count:v2:{sha256 of [limit]}`; the error (a task that panicked)
/// is returned, never stored.
#[memoize(store = store(), ttl_days = 30, prefix = "prime_count", version = 2)]
async fn count_primes(limit: u64) -> Result<PrimeCount, std::io::Error> {
    tokio::task::spawn_blocking(move || {
        let mut count = 0;
        let mut largest = None;
        for n in (2..limit).filter(|&n| is_prime(n)) {
            count += 1;
            largest = Some(n);
        }
        PrimeCount {
            limit,
            count,
            largest,
        }
    })
    .await
    .map_err(std::io::Error::other)
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// A service that holds its store: its method is memoised with `self` left out of the key
/// (`skip(self)`: a handle, not an input) and the store taken from it.
#[derive(Clone)]
struct Primes {
    store: Store,
}

impl Primes {
    /// Twin primes (p and p + 2 both prime) below `limit`; memoised under
    /// `twin_primes:{sha256 of [limit]}`, and its companions are methods
    /// (`self.twins_below_key(limit)`, `_invalidate`, `_stats`).
    #[memoize(store = &self.store, skip(self), ttl_days = 30, prefix = "twin_primes")]
    async fn twins_below(&self, limit: u64) -> Result<u64, std::io::Error> {
        tokio::task::spawn_blocking(move || {
            (2..limit.saturating_sub(2))
                .filter(|&n| is_prime(n) && is_prime(n + 2))
                .count() as u64
        })
        .await
        .map_err(std::io::Error::other)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // RUST_LOG decides what the library logs (default: warnings).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
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
    STORE.get_or_init(|| store.clone());

    let started = Instant::now();
    for limit in [100_000u64, 200_000, 400_000, 800_000] {
        let call = Instant::now();
        let runs_before = count_primes::stats().loader_calls;
        let answer = count_primes(limit).await?;
        let computed = count_primes::stats().loader_calls > runs_before;
        println!(
            "primes below {limit:>7}: {:>6} (largest {:?}) {} in {:>5} ms",
            answer.count,
            answer.largest,
            if computed { "computed" } else { "from cache" },
            call.elapsed().as_millis()
        );
    }
    let stats = count_primes::stats();
    println!(
        "\n{} computed, {} from the cache, {} ms in all; stored under keys such as {}",
        stats.loader_calls,
        stats.store_hits,
        started.elapsed().as_millis(),
        count_primes::key(100_000)?
    );

    let primes = Primes { store };
    let limit = 400_000;
    let call = Instant::now();
    let twins = primes.twins_below(limit).await?;
    println!(
        "twin primes below {limit}: {twins} ({} in {} ms, key {})",
        if primes.twins_below_stats().loader_calls > 0 {
            "computed"
        } else {
            "from cache"
        },
        call.elapsed().as_millis(),
        primes.twins_below_key(limit)?
    );
    Ok(())
}

/// `memoize.db` in this user's cache folder (created if missing): `$XDG_CACHE_HOME` when
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
    Ok(folder.join("memoize.db"))
}
