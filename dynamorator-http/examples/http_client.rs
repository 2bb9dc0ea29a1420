//! A reqwest client whose HTTP cache is a store, so every process on the same table (or
//! embedded file) shares it: the first GET reaches the upstream, the next ones are answered
//! from the store while fresh, and revalidated with a `304` once stale.
//!
//! ```sh
//! cargo run -p dynamorator-http --example http_client                  # a local upstream
//! cargo run -p dynamorator-http --example http_client -- http://127.0.0.1:8000/some/page
//! DYNAMORATOR_HTTP_FILE=/tmp/http.db cargo run -p dynamorator-http --example http_client
//! DYNAMORATOR_TABLE=http-cache cargo run -p dynamorator-http --example http_client    # DynamoDB
//! ```
//!
//! (reqwest is built here without TLS: for `https://` URLs, turn on its `rustls` feature.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use dynamorator::Store;
use dynamorator_http::DynamoratorManager;
use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
use reqwest_middleware::ClientBuilder;

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
    let manager = DynamoratorManager::new(&store);
    let client = ClientBuilder::new(reqwest::Client::builder().no_proxy().build()?)
        .with(Cache(HttpCache {
            mode: CacheMode::Default,
            manager: manager.clone(),
            options: HttpCacheOptions::default(),
        }))
        .build();

    let upstream_hits = Arc::new(AtomicU64::new(0));
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => format!(
            "http://{}/rates",
            local_upstream(upstream_hits.clone()).await?
        ),
    };
    for _ in 0..3 {
        let response = client.get(&url).send().await?;
        let cache = response
            .headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let body = response.text().await?;
        println!("x-cache: {cache:<4} {} bytes", body.len());
    }
    println!(
        "upstream hits: {}; {:?}",
        upstream_hits.load(Ordering::Relaxed),
        manager.stats()
    );
    Ok(())
}

/// An upstream on a free loopback port whose answer is fresh for a minute.
async fn local_upstream(hits: Arc<AtomicU64>) -> std::io::Result<std::net::SocketAddr> {
    let app = Router::new().route(
        "/rates",
        get(move || async move {
            hits.fetch_add(1, Ordering::Relaxed);
            (
                [("cache-control", "max-age=60"), ("etag", "\"rates-1\"")],
                r#"{"EUR":1.08,"GBP":1.27}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}
