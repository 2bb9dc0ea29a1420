//! Real OS processes sharing one store (this test binary run again as workers, `--exact
//! fleet_worker`, told what to do by `DYNAMORATOR_HTTP_*` variables): two app processes behind
//! the response cache layer with leases run a handler once between them; two client processes
//! with the http-cache manager fetch an upstream once between them. On one embedded file
//! always; on dynalite and moto with the `server-tests` feature (moto does not apply
//! conditional writes atomically, so its lease count is printed, not asserted).
//!
//! Every wait on a worker is bounded (a worker that misses its deadline is killed and the test
//! fails); nothing asserts how long anything took.

#![cfg(all(unix, feature = "client", feature = "server"))]

mod support;

use std::time::{Duration, Instant};

use dynamorator_testkit::TestBackend;
use dynamorator_testkit::workers::{Worker, Workers};

const WORKERS: Workers = Workers {
    entry: "fleet_worker",
    prefix: "DYNAMORATOR_HTTP_",
    tag: "FLEET",
};

/// Where workers find the store: a file, or an endpoint and a table (made here first, so
/// that the workers do not race to create it).
async fn store_vars(backend: TestBackend) -> Vec<(&'static str, String)> {
    match backend {
        TestBackend::EmbeddedFile => vec![("FILE", support_file())],
        _ => {
            let table = dynamorator_testkit::unique_table_name();
            let endpoint = backend.endpoint();
            let store = dynamorator::Store::builder()
                .table(table.clone())
                .sdk_config(dynamorator_testkit::sdk_config(&endpoint).await)
                .endpoint_url(endpoint.clone())
                .build()
                .await
                .unwrap();
            drop(store);
            vec![("TABLE", table), ("ENDPOINT", endpoint)]
        }
    }
}

fn support_file() -> String {
    dynamorator_testkit::unique_file().display().to_string()
}

fn in_a_minute() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn start(
    name: &str,
    role: &str,
    store: &[(&'static str, String)],
    more: &[(&'static str, String)],
) -> Worker {
    let mut vars = vec![("ROLE", role.to_owned())];
    vars.extend(store.iter().cloned());
    vars.extend(more.iter().cloned());
    WORKERS.start(name, &vars)
}

/// Two app processes, 8 concurrent requests to each for one key: one handler run in all.
async fn two_app_processes_run_the_handler_once(backend: TestBackend) {
    let store = store_vars(backend).await;
    let mut apps: Vec<Worker> = (0..2)
        .map(|i| start(&format!("app {i}"), "server", &store, &[]))
        .collect();
    let ports: Vec<u64> = tokio::task::block_in_place(|| {
        apps.iter_mut()
            .map(|app| app.expect("ready", in_a_minute())["port"].as_u64().unwrap())
            .collect()
    });
    let client = support::client();
    let requests = ports.iter().flat_map(|port| {
        let client = client.clone();
        (0..8).map(move |_| {
            let client = client.clone();
            async move {
                let response = client
                    .get(format!("http://127.0.0.1:{port}/slow"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.text().await.unwrap()
            }
        })
    });
    let bodies = futures_util::future::join_all(requests).await;
    let mut runs = 0;
    for port in &ports {
        let text = client
            .get(format!("http://127.0.0.1:{port}/runs"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        runs += text.parse::<u64>().unwrap();
    }
    println!("{backend:?}: {runs} handler runs for 16 requests in 2 processes");
    if backend != TestBackend::Moto {
        assert_eq!(runs, 1, "one run in the fleet: {bodies:?}");
        assert!(bodies.iter().all(|body| body == &bodies[0]), "{bodies:?}");
    }
}

/// Two client processes, one after the other, fetch one URL: the upstream answers once.
async fn two_client_processes_fetch_the_upstream_once(backend: TestBackend) {
    let store = store_vars(backend).await;
    let upstream = support::Upstream::default();
    let address = support::serve(support::app(upstream.clone())).await;
    let url = format!("http://{address}/max-age");
    let mut seen = Vec::new();
    for name in ["client 1", "client 2"] {
        let mut worker = start(name, "client", &store, &[("URL", url.clone())]);
        let fetched = tokio::task::block_in_place(|| worker.expect("fetched", in_a_minute()));
        tokio::task::block_in_place(|| worker.finish(in_a_minute()));
        seen.push((
            fetched["cache"].as_str().unwrap_or("").to_owned(),
            fetched["body"].as_str().unwrap_or("").to_owned(),
        ));
    }
    assert_eq!(
        seen,
        [
            ("MISS".to_owned(), "run 1".to_owned()),
            ("HIT".to_owned(), "run 1".to_owned())
        ]
    );
    assert_eq!(upstream.runs(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_processes_on_one_file_run_the_handler_once() {
    two_app_processes_run_the_handler_once(TestBackend::EmbeddedFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_client_processes_on_one_file_fetch_the_upstream_once() {
    two_client_processes_fetch_the_upstream_once(TestBackend::EmbeddedFile).await;
}

#[cfg(feature = "server-tests")]
mod on_servers {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_app_processes_on_dynalite_run_the_handler_once() {
        two_app_processes_run_the_handler_once(TestBackend::Dynalite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_app_processes_on_moto_share_one_table() {
        two_app_processes_run_the_handler_once(TestBackend::Moto).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_client_processes_on_dynalite_fetch_the_upstream_once() {
        two_client_processes_fetch_the_upstream_once(TestBackend::Dynalite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_client_processes_on_moto_fetch_the_upstream_once() {
        two_client_processes_fetch_the_upstream_once(TestBackend::Moto).await;
    }
}

/// `DYNAMORATOR_HTTP_ROLE` is set: a worker. Otherwise nothing.
#[test]
fn fleet_worker() {
    let Ok(role) = std::env::var("DYNAMORATOR_HTTP_ROLE") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = worker::open().await;
        match role.as_str() {
            "server" => worker::serve_app(store).await,
            "client" => worker::fetch(store).await,
            other => panic!("unknown role {other}"),
        }
    });
}

mod worker {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::routing::get;
    use dynamorator::{CacheConfig, Store};
    use dynamorator_http::{DynamoratorManager, ResponseCacheConfig, ResponseCacheLayer};
    use serde_json::json;

    fn var(name: &str) -> Option<String> {
        std::env::var(format!("DYNAMORATOR_HTTP_{name}")).ok()
    }

    pub async fn open() -> Store {
        if let Some(file) = var("FILE") {
            return Store::builder().embedded_file(file).build().await.unwrap();
        }
        let (Some(table), Some(endpoint)) = (var("TABLE"), var("ENDPOINT")) else {
            panic!("no FILE, nor TABLE and ENDPOINT");
        };
        Store::builder()
            .table(table)
            .sdk_config(dynamorator_testkit::sdk_config(&endpoint).await)
            .endpoint_url(endpoint)
            .build()
            .await
            .unwrap()
    }

    /// An app whose `/slow` handler (behind the layer, with leases) takes a moment, so that
    /// the two processes' requests overlap; `/runs` (outside it) says how often it ran.
    pub async fn serve_app(store: Store) {
        let runs = Arc::new(AtomicU64::new(0));
        let counted = runs.clone();
        let config =
            ResponseCacheConfig::new().cache(CacheConfig::new().leases(Duration::from_secs(30)));
        let app = Router::new()
            .route(
                "/slow",
                get(move || async move {
                    let run = counted.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    format!("run {run} in {}", std::process::id())
                }),
            )
            .layer(ResponseCacheLayer::new(&store, config))
            .merge(Router::new().route(
                "/runs",
                get(move || async move { runs.load(Ordering::SeqCst).to_string() }),
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        println!("FLEET ready {}", json!({ "port": port }));
        // Serves until the parent kills it.
        axum::serve(listener, app).await.unwrap();
    }

    /// One GET of `URL` through the cache middleware on the store.
    pub async fn fetch(store: Store) {
        use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
        let client = reqwest_middleware::ClientBuilder::new(crate::support::client())
            .with(Cache(HttpCache {
                mode: CacheMode::Default,
                manager: DynamoratorManager::new(&store),
                options: HttpCacheOptions::default(),
            }))
            .build();
        let url = var("URL").unwrap();
        let response = client.get(url).send().await.unwrap();
        let cache = response
            .headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.text().await.unwrap();
        println!("FLEET fetched {}", json!({ "cache": cache, "body": body }));
    }
}
