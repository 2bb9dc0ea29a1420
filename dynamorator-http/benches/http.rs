//! The response cache layer measured, in two ways:
//!
//! - `requests`: requests per second of one axum route over loopback HTTP (a keep-alive
//!   reqwest client, 32 requests in flight), uncached, behind this crate's layer (embedded
//!   memory, embedded file, the file with an L1, dynalite), and behind an in-memory response
//!   cache (a moka map in an axum middleware: what a single-process cache costs);
//! - `added_latency`: one request through the router in process (no network), so that a hit
//!   of each store is compared with running the handler.
//!
//! The handler builds a 10 KB JSON list (a cheap, CPU-only handler: the cache's own cost is
//! what shows). Dynalite runs when `DYNAMORATOR_TEST_DYNALITE` names it (scripts/bench-http
//! starts it). Run: `scripts/bench-http`, or `cargo bench -p dynamorator-http --bench http`
//! for the embedded stores only.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::{CacheConfig, L1Config, Store, Ttl};
use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// Requests in flight at once in `requests`.
const IN_FLIGHT: usize = 32;

/// The route: a JSON list of 100 items, about 10 KB.
async fn items() -> Response {
    let list: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"id": i, "name": format!("item {i}"), "price_cents": i * 100, "tags": ["a", "b", "c"]}))
        .collect();
    (
        [("content-type", "application/json")],
        serde_json::to_vec(&list).unwrap_or_default(),
    )
        .into_response()
}

fn route() -> Router {
    Router::new().route("/items", get(items))
}

/// A single-process response cache: responses to GETs by path and query, in a moka map.
async fn moka_cache(
    axum::extract::State(cache): axum::extract::State<
        moka::future::Cache<String, (http::HeaderMap, Bytes)>,
    >,
    request: Request,
    next: Next,
) -> Response {
    let key = request.uri().to_string();
    if let Some((headers, body)) = cache.get(&key).await {
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        return response;
    }
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let bytes = collected.to_bytes();
    cache
        .insert(key, (parts.headers.clone(), bytes.clone()))
        .await;
    Response::from_parts(parts, Body::from(bytes))
}

/// The routers measured, by name.
async fn variants(folder: &std::path::Path) -> Vec<(String, Router)> {
    let config = || ResponseCacheConfig::new().ttl(Ttl::hours(1));
    let file = Store::builder()
        .embedded_file(folder.join("bench.db"))
        .build()
        .await
        .unwrap();
    let with_l1 = config().cache(CacheConfig::new().l1(L1Config::new().max_entries(1_000)));
    let moka = moka::future::Cache::new(1_000);
    let mut all = vec![
        ("uncached".to_owned(), route()),
        (
            "moka map (in memory)".to_owned(),
            route().layer(middleware::from_fn_with_state(moka, moka_cache)),
        ),
        (
            "layer, embedded memory".to_owned(),
            route().layer(ResponseCacheLayer::new(&Store::embedded(), config())),
        ),
        (
            "layer, embedded file".to_owned(),
            route().layer(ResponseCacheLayer::new(&file, config())),
        ),
        (
            "layer, embedded file + L1".to_owned(),
            route().layer(ResponseCacheLayer::new(&file, with_l1.clone())),
        ),
    ];
    if let Ok(endpoint) = std::env::var("DYNAMORATOR_TEST_DYNALITE") {
        let dynalite = Store::builder()
            .table(format!("bench-http-{}", std::process::id()))
            .sdk_config(dynamorator_testkit::sdk_config(&endpoint).await)
            .endpoint_url(endpoint)
            .build()
            .await
            .unwrap();
        all.push((
            "layer, dynalite".to_owned(),
            route().layer(ResponseCacheLayer::new(&dynalite, config())),
        ));
        all.push((
            "layer, dynalite + L1".to_owned(),
            route().layer(ResponseCacheLayer::new(&dynalite, with_l1)),
        ));
    }
    all
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let folder =
        std::env::temp_dir().join(format!("dynamorator-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let variants = runtime.block_on(variants(&folder));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut requests = c.benchmark_group("requests");
    requests.throughput(Throughput::Elements(IN_FLIGHT as u64));
    for (name, router) in &variants {
        let address = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let router = router.clone();
            tokio::spawn(async move { axum::serve(listener, router).await });
            address
        });
        let url = format!("http://{address}/items");
        // The first request stores the response; the measured ones are hits.
        runtime.block_on(async {
            client
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        requests.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&runtime).iter(|| async {
                let all = (0..IN_FLIGHT).map(|_| async {
                    let response = client.get(&url).send().await.unwrap();
                    response.bytes().await.unwrap().len()
                });
                futures_util::future::join_all(all).await
            })
        });
    }
    requests.finish();

    let mut latency = c.benchmark_group("added_latency");
    for (name, router) in &variants {
        let router = Arc::new(router.clone());
        let call = || {
            let router = (*router).clone();
            async move {
                let request = http::Request::get("/items").body(Body::empty()).unwrap();
                let response = router.oneshot(request).await.unwrap();
                response
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
                    .len()
            }
        };
        runtime.block_on(call());
        latency.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&runtime).iter(call)
        });
    }
    latency.finish();
    let _ = std::fs::remove_dir_all(&folder);
}

criterion_group! {
    name = http;
    // Short runs: the machine is shared, and the differences are large.
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(http);
