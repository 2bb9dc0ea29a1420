//! A response cache in front of an axum app: the first request runs the handler, the next ones
//! are answered from the store (`x-cache: HIT`, with an `Age`), across restarts and processes
//! when the store is a file or a table.
//!
//! ```sh
//! cargo run -p dynamorator-http --example http_server              # embedded store, in memory
//! DYNAMORATOR_HTTP_FILE=/tmp/http.db cargo run -p dynamorator-http --example http_server
//! DYNAMORATOR_TABLE=http-cache cargo run -p dynamorator-http --example http_server   # DynamoDB
//! cargo run -p dynamorator-http --example http_server -- --serve   # then: curl -i 127.0.0.1:3000/products/7
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use dynamorator::{CacheConfig, Store, Ttl};
use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = match (
        std::env::var("DYNAMORATOR_TABLE"),
        std::env::var("DYNAMORATOR_HTTP_FILE"),
    ) {
        (Ok(table), _) => Store::builder().table(table).build().await?,
        (_, Ok(file)) => Store::builder().embedded_file(file).build().await?,
        _ => Store::embedded(),
    };
    // Fresh for a minute, then served stale for ten while one request refreshes it; served
    // for a day more if the handler fails; one handler run per key across processes.
    let config = ResponseCacheConfig::new().ttl(Ttl::minutes(1)).cache(
        CacheConfig::new()
            .stale_for(Ttl::minutes(10))
            .fail_safe_max(Ttl::days(1))
            .leases(Duration::from_secs(10)),
    );
    let layer = ResponseCacheLayer::new(&store, config);

    let runs = Arc::new(AtomicU64::new(0));
    let counted = runs.clone();
    let app = Router::new()
        .route(
            "/products/{id}",
            get(move |Path(id): Path<u32>| async move {
                counted.fetch_add(1, Ordering::Relaxed);
                // The expensive part: a database, another service.
                format!("{{\"id\":{id},\"title\":\"Kettle\",\"price_cents\":2999}}")
            }),
        )
        .layer(layer.clone());

    if std::env::args().any(|arg| arg == "--serve") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        println!("serving on http://127.0.0.1:3000/products/7 (Ctrl-C to stop)");
        axum::serve(listener, app).await?;
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().no_proxy().build()?;
    for _ in 0..3 {
        let response = client
            .get(format!("http://{address}/products/7"))
            .send()
            .await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let (cache, age) = (header("x-cache"), header("age"));
        println!(
            "{} x-cache: {cache:<5} age: {age:<2} {}",
            response.status(),
            response.text().await?
        );
    }
    println!(
        "handler runs: {}; {:?}",
        runs.load(Ordering::Relaxed),
        layer.stats()
    );
    Ok(())
}
