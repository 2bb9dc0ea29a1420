//! The http-cache manager behind reqwest-middleware, in front of a counting axum upstream on
//! 127.0.0.1: `max-age` answered from the store (by another client on it too), `no-store`
//! never, an `ETag` revalidated with a 304, a body past 400 KB stored split, and a store that
//! fails. Every suite runs on the embedded backends, and on moto and dynalite with the
//! `server-tests` feature.

#![cfg(feature = "client")]

mod support;

dynamorator_testkit::on_every_backend! {
    client:
        max_age_responses_come_from_the_shared_store,
        no_store_responses_are_never_stored,
        an_etag_is_revalidated_with_a_304,
        a_body_past_400_kb_is_stored_split,
        a_vary_header_keeps_variants_apart,
}

/// A reqwest client with the cache middleware on `manager`.
fn cached_client(
    manager: &dynamorator_http::DynamoratorManager,
) -> reqwest_middleware::ClientWithMiddleware {
    use http_cache_reqwest::{Cache, CacheMode, HttpCache, HttpCacheOptions};
    reqwest_middleware::ClientBuilder::new(support::client())
        .with(Cache(HttpCache {
            mode: CacheMode::Default,
            manager: manager.clone(),
            options: HttpCacheOptions::default(),
        }))
        .build()
}

mod client {
    use dynamorator::Store;
    use dynamorator_http::DynamoratorManager;
    use dynamorator_testkit::TestBackend;

    use super::cached_client;
    use crate::support::{Upstream, app, pattern, serve};

    async fn upstream() -> (String, Upstream) {
        let upstream = Upstream::default();
        let address = serve(app(upstream.clone())).await;
        (format!("http://{address}"), upstream)
    }

    /// `x-cache` (http-cache's) and the body of a GET through `manager`.
    async fn get(manager: &DynamoratorManager, url: &str) -> (String, String) {
        let response = cached_client(manager).get(url).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let cache = response
            .headers()
            .get("x-cache")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        (cache, response.text().await.unwrap())
    }

    pub async fn max_age_responses_come_from_the_shared_store(backend: TestBackend) {
        let store: Store = backend.store().await;
        let (base, upstream) = upstream().await;
        let url = format!("{base}/max-age");
        let manager = DynamoratorManager::new(&store);
        assert_eq!(get(&manager, &url).await, ("MISS".into(), "run 1".into()));
        for _ in 0..3 {
            assert_eq!(get(&manager, &url).await, ("HIT".into(), "run 1".into()));
        }
        // Another client with its own manager on the same store: a hit too.
        let other = DynamoratorManager::new(&store);
        assert_eq!(get(&other, &url).await, ("HIT".into(), "run 1".into()));
        assert_eq!(upstream.runs(), 1);
        assert_eq!(
            (manager.stats().stored, manager.stats().store_failures),
            (1, 0)
        );
    }

    pub async fn no_store_responses_are_never_stored(backend: TestBackend) {
        let store = backend.store().await;
        let (base, upstream) = upstream().await;
        let manager = DynamoratorManager::new(&store);
        for round in 1..=3 {
            let (cache, body) = get(&manager, &format!("{base}/no-store")).await;
            assert_eq!((cache.as_str(), body), ("MISS", format!("run {round}")));
        }
        assert_eq!(upstream.runs(), 3);
        assert_eq!(manager.stats().stored, 0);
    }

    pub async fn an_etag_is_revalidated_with_a_304(backend: TestBackend) {
        let store = backend.store().await;
        let (base, upstream) = upstream().await;
        let url = format!("{base}/etag");
        let manager = DynamoratorManager::new(&store);
        assert_eq!(get(&manager, &url).await.1, "tagged body");
        for round in 1..=2 {
            // `no-cache`: every use asks the upstream, which answers 304; the body is the store's.
            assert_eq!(get(&manager, &url).await.1, "tagged body");
            assert_eq!(
                upstream
                    .revalidations
                    .load(std::sync::atomic::Ordering::SeqCst),
                round
            );
        }
        let other = DynamoratorManager::new(&store);
        assert_eq!(get(&other, &url).await.1, "tagged body");
        assert_eq!(
            upstream
                .revalidations
                .load(std::sync::atomic::Ordering::SeqCst),
            3
        );
        assert_eq!(upstream.runs(), 4);
    }

    pub async fn a_vary_header_keeps_variants_apart(backend: TestBackend) {
        let store = backend.store().await;
        let (base, upstream) = upstream().await;
        let url = format!("{base}/vary");
        let manager = DynamoratorManager::new(&store);
        let fetch = |language: &'static str| {
            let client = cached_client(&manager);
            let url = url.clone();
            async move {
                let response = client
                    .get(url)
                    .header("accept-language", language)
                    .send()
                    .await
                    .unwrap();
                response.text().await.unwrap()
            }
        };
        assert_eq!(fetch("en").await, "en");
        assert_eq!(fetch("en").await, "en");
        assert_eq!(upstream.runs(), 1, "the same variant: a hit");
        // Another variant is never answered with the stored one.
        assert_eq!(fetch("fr").await, "fr");
        assert_eq!(fetch("en").await, "en");
        assert!(upstream.runs() >= 2);
    }

    pub async fn a_body_past_400_kb_is_stored_split(backend: TestBackend) {
        let store = backend.store().await;
        let (base, upstream) = upstream().await;
        let url = format!("{base}/big?bytes={}", 1 << 20);
        let manager = DynamoratorManager::new(&store);
        for expected in ["MISS", "HIT"] {
            let response = cached_client(&manager).get(&url).send().await.unwrap();
            assert_eq!(response.headers()["x-cache"], expected);
            assert_eq!(
                response.bytes().await.unwrap().as_ref(),
                pattern(1 << 20).as_slice()
            );
        }
        assert_eq!(upstream.runs(), 1);
    }
}

/// A store whose every operation fails: each request reaches the upstream, none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_never_fails_a_request() {
    let store = support::dead_store().await;
    let upstream = support::Upstream::default();
    let address = support::serve(support::app(upstream.clone())).await;
    let manager = dynamorator_http::DynamoratorManager::new(&store);
    for round in 1..=3 {
        let response = cached_client(&manager)
            .get(format!("http://{address}/max-age"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), format!("run {round}"));
    }
    assert_eq!(upstream.runs(), 3);
    assert!(manager.stats().store_failures >= 3, "{:?}", manager.stats());
}

/// Bad input through the middleware: a header that is not UTF-8, a body that breaks, a body
/// of 3 MiB with no `Cache-Control`. Each is answered (or fails as it would without the
/// cache), never a panic, and the manager keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_passes_through() {
    let store = dynamorator::Store::embedded();
    let upstream = support::Upstream::default();
    let address = support::serve(support::app(upstream.clone())).await;
    let manager = dynamorator_http::DynamoratorManager::new(&store);
    let client = cached_client(&manager);
    for _ in 0..2 {
        let response = client
            .get(format!("http://{address}/raw-header"))
            .send()
            .await;
        if let Ok(response) = response {
            assert_eq!(response.status(), 200);
        }
        if let Ok(response) = client
            .get(format!("http://{address}/broken-stream"))
            .send()
            .await
        {
            assert!(
                response.bytes().await.is_err(),
                "a broken body stays broken"
            );
        }
    }
    let big = client
        .get(format!("http://{address}/big?bytes={}", 3 << 20))
        .send()
        .await
        .unwrap();
    assert_eq!(big.bytes().await.unwrap().len(), 3 << 20);
    let (cache, body) = {
        let response = client
            .get(format!("http://{address}/max-age"))
            .send()
            .await
            .unwrap();
        let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
        (cache, response.text().await.unwrap())
    };
    assert_eq!(cache, "MISS");
    assert!(body.starts_with("run "), "{body}");
    assert_eq!(manager.stats().store_failures, 0);
}
