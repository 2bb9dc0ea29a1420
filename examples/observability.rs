//! Metrics for Prometheus, and the spans: a typed cache does a few operations; its series are
//! served by `metrics-exporter-prometheus` on 127.0.0.1, and its spans (`dynamorator.store`,
//! one per request, and `dynamorator.read_through`) are printed on stderr as each closes, with
//! their fields and timings.
//!
//! ```text
//! cargo run --example observability --features metrics
//! curl http://127.0.0.1:PORT/metrics
//! ```
//!
//! `RUST_LOG` picks the spans and events (default `dynamorator=info`: every span; e.g.
//! `RUST_LOG=dynamorator::store=debug` adds each request's key, `RUST_LOG=warn` none).
//! `DYNAMORATOR_METRICS_PORT` picks the port (default: a free one, printed);
//! `DYNAMORATOR_TABLE` runs on that DynamoDB table (asking for consumed capacity) instead of
//! the embedded backend; `DYNAMORATOR_SERVE_SECS` is how long to keep serving (default 300).
//! The README's "Operating it" lists every series. tests/observability.rs runs this setup
//! and scrapes it.

use std::collections::HashMap;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    pub name: String,
    pub price_cents: u64,
}

/// Bucket bounds of the `_seconds` histograms: 100 µs to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Bucket bounds of the batch size histogram: DynamoDB's limits are 25 and 100.
const BATCH_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 25.0, 50.0, 100.0];

/// Installs the exporter on 127.0.0.1:`port` (0: a free port), builds a store and a cache
/// (after the recorder, so the cache registers its series with it) and runs a few
/// operations; returns where the metrics are served.
pub async fn start(port: u16) -> Result<SocketAddr, Box<dyn Error>> {
    let port = match port {
        // The exporter binds by itself and does not say where: find a free port first.
        0 => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port(),
        port => port,
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    PrometheusBuilder::new()
        .with_http_listener(address)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("dynamorator_store_batch_keys".into()),
            BATCH_BUCKETS,
        )?
        .install()?;

    let store = match std::env::var("DYNAMORATOR_TABLE") {
        Ok(table) => {
            Store::builder()
                .table(table)
                .consumed_capacity(true)
                .build()
                .await?
        }
        Err(_) => Store::builder().embedded().build().await?,
    };
    let products: Cache<Product> = Cache::new(
        &store,
        CacheConfig::new()
            .prefix("product")
            .ttl(Ttl::hours(1))
            .l1(L1Config::new().negative_ttl(Ttl::secs(30))),
    );
    exercise(&products).await?;
    Ok(address)
}

/// Hits, misses, a remembered miss, a load, and batch writes and reads.
async fn exercise(products: &Cache<Product>) -> Result<(), Box<dyn Error>> {
    let lamp = Product {
        name: "lamp".into(),
        price_cents: 4_999,
    };
    products.put("lamp", &lamp).await?;
    products.get("lamp").await?; // an L1 hit
    products.invalidate("lamp");
    products.get("lamp").await?; // an L1 miss, a store hit
    products.get("unicorn").await?; // misses everywhere, remembered
    products.get("unicorn").await?; // a negative L1 hit
    products
        .get_or_insert_with("chair", || async {
            Ok::<_, std::io::Error>(Product {
                name: "chair".into(),
                price_cents: 12_900,
            })
        })
        .await?;
    let shelf: HashMap<String, Product> = (0..40)
        .map(|i| {
            let product = Product {
                name: format!("book {i}"),
                price_cents: 1_000 + i,
            };
            (format!("book-{i}"), product)
        })
        .collect();
    products.put_many(&shelf).await?;
    products.invalidate_all();
    let read = products.get_many(shelf.keys()).await?;
    if read.found.len() != shelf.len() {
        return Err(format!("read {} of {} books", read.found.len(), shelf.len()).into());
    }
    // Sets the L1 gauges.
    let stats = products.stats();
    println!("cache stats: {stats:?}");
    Ok(())
}

/// Prints spans as they close (with their fields and how long they took) and events, as
/// `RUST_LOG` says.
fn print_spans() {
    use tracing_subscriber::fmt::format::FmtSpan;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dynamorator=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    print_spans();
    let port = match std::env::var("DYNAMORATOR_METRICS_PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 0,
    };
    let serve_for = match std::env::var("DYNAMORATOR_SERVE_SECS") {
        Ok(secs) => Duration::from_secs(secs.parse()?),
        Err(_) => Duration::from_secs(300),
    };
    let address = start(port).await?;
    println!("serving metrics on http://{address}/metrics for {serve_for:?}");
    tokio::time::sleep(serve_for).await;
    Ok(())
}
