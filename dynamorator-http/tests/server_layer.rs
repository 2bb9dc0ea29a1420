//! The response cache layer in front of a real axum app on 127.0.0.1, hit by a plain reqwest
//! client: one handler run per key, what is never stored, stale-while-revalidate and fail-safe
//! on a manual clock, big, streaming and broken bodies, headers that are not UTF-8, and a
//! store that fails. Every suite runs on the embedded backends, and on moto and dynalite with
//! the `server-tests` feature.

#![cfg(feature = "server")]

mod support;

dynamorator_testkit::on_every_backend! {
    layer:
        identical_requests_run_the_handler_once,
        unstorable_responses_run_the_handler_every_time,
        stale_while_revalidate_answers_stale_then_the_refreshed_body,
        fail_safe_answers_for_a_failing_handler,
        bodies_past_400_kb_are_stored_split_and_past_the_limit_passed_through,
        streaming_and_broken_bodies_pass_through_without_a_panic,
        headers_that_are_not_utf8_are_kept_and_keyed,
        a_vary_header_is_stored_only_when_the_key_holds_it,
}

mod layer {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use dynamorator::{CacheConfig, Clock, Store, Ttl};
    use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};
    use dynamorator_testkit::TestBackend;

    use crate::support::{Upstream, app, client, pattern, serve};

    /// An app behind a layer on a store of `backend`; its address, upstream and layer.
    async fn cached_app(
        backend: TestBackend,
        clock: &Clock,
        config: ResponseCacheConfig,
    ) -> (String, Upstream, ResponseCacheLayer) {
        let store = backend.build(|builder| builder.clock(clock.clone())).await;
        front(&store, config).await
    }

    async fn front(
        store: &Store,
        config: ResponseCacheConfig,
    ) -> (String, Upstream, ResponseCacheLayer) {
        let upstream = Upstream::default();
        let layer = ResponseCacheLayer::new(store, config);
        let address = serve(app(upstream.clone()).layer(layer.clone())).await;
        (format!("http://{address}"), upstream, layer)
    }

    /// Status, `x-cache`, `age` and body of a GET.
    async fn get(url: &str) -> (u16, String, Option<String>, String) {
        let response = client().get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let cache = header("x-cache").unwrap_or_default();
        let age = header("age");
        (status, cache, age, response.text().await.unwrap())
    }

    pub async fn identical_requests_run_the_handler_once(backend: TestBackend) {
        let clock = Clock::manual();
        let (base, upstream, layer) = cached_app(backend, &clock, ResponseCacheConfig::new()).await;
        let url = format!("{base}/counted?page=1");
        assert_eq!(get(&url).await, (200, "MISS".into(), None, "run 1".into()));
        clock.advance(Duration::from_secs(7));
        for _ in 0..10 {
            assert_eq!(
                get(&url).await,
                (200, "HIT".into(), Some("7".into()), "run 1".into())
            );
        }
        // Concurrent misses of a new key share one run.
        let other = format!("{base}/counted?page=2");
        let answers = futures_util::future::join_all((0..16).map(|_| get(&other))).await;
        assert!(
            answers
                .iter()
                .all(|(status, _, _, body)| *status == 200 && body == "run 2"),
            "{answers:?}"
        );
        assert_eq!(upstream.runs(), 2);
        // Another query, method or a POST is another key, or no key.
        assert_eq!(get(&format!("{base}/counted?page=3")).await.3, "run 3");
        let head = client().head(&url).send().await.unwrap();
        assert_eq!(head.headers()["x-cache"], "MISS");
        let post = client().post(&url).send().await.unwrap();
        assert_eq!(
            post.status(),
            405,
            "no POST route: the router says so, uncached"
        );
        assert_eq!(post.headers()["x-cache"], "BYPASS");
        assert_eq!(upstream.runs(), 4);
        let stats = layer.stats();
        assert_eq!(
            (stats.hits, stats.bypassed, stats.cache_failures),
            (10 + 15, 1, 0),
            "{stats:?}"
        );
    }

    pub async fn unstorable_responses_run_the_handler_every_time(backend: TestBackend) {
        let clock = Clock::manual();
        let (base, upstream, layer) = cached_app(backend, &clock, ResponseCacheConfig::new()).await;
        for path in ["/no-store", "/private", "/cookie", "/missing"] {
            let before = upstream.runs();
            for round in 1..=3 {
                let (status, cache, _, body) = get(&format!("{base}{path}")).await;
                assert_eq!(cache, "MISS", "{path}");
                assert_eq!(status, if path == "/missing" { 404 } else { 200 });
                assert_eq!(body, format!("run {}", before + round), "{path}");
            }
        }
        assert_eq!(upstream.runs(), 12);
        assert_eq!(layer.stats().not_stored, 12);
        // Authorization and Range pass by the cache.
        let url = format!("{base}/counted");
        for _ in 0..2 {
            let response = client()
                .get(&url)
                .header("authorization", "Bearer a")
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["x-cache"], "BYPASS");
        }
        assert_eq!(upstream.runs(), 14);

        // Configured to store them, they are stored.
        let config = ResponseCacheConfig::new()
            .store_private(true)
            .store_set_cookie(true)
            .store_status(http::StatusCode::NOT_FOUND);
        let (base, upstream, _) = cached_app(backend, &clock, config).await;
        for path in ["/no-store", "/private", "/cookie", "/missing"] {
            for _ in 0..3 {
                get(&format!("{base}{path}")).await;
            }
        }
        assert_eq!(upstream.runs(), 4);
    }

    pub async fn stale_while_revalidate_answers_stale_then_the_refreshed_body(
        backend: TestBackend,
    ) {
        let clock = Clock::manual();
        let config = ResponseCacheConfig::new()
            .ttl(Ttl::secs(60))
            .cache(CacheConfig::new().stale_for(Ttl::hours(1)));
        let (base, upstream, layer) = cached_app(backend, &clock, config).await;
        let url = format!("{base}/counted");
        assert_eq!(get(&url).await, (200, "MISS".into(), None, "run 1".into()));
        clock.advance(Duration::from_secs(61));
        assert_eq!(
            get(&url).await,
            (200, "STALE".into(), Some("61".into()), "run 1".into())
        );
        layer.wait_for_refreshes().await;
        assert_eq!(upstream.runs(), 2, "one background refresh");
        assert_eq!(
            get(&url).await,
            (200, "HIT".into(), Some("0".into()), "run 2".into())
        );
        // Past the stale window too: a miss.
        clock.advance(Duration::from_secs(60 + 3_601));
        assert_eq!(get(&url).await, (200, "MISS".into(), None, "run 3".into()));
        assert_eq!(layer.cache_stats().refreshes_succeeded, 1);
    }

    pub async fn fail_safe_answers_for_a_failing_handler(backend: TestBackend) {
        let clock = Clock::manual();
        let config = ResponseCacheConfig::new().ttl(Ttl::secs(60)).cache(
            CacheConfig::new()
                .fail_safe_max(Ttl::days(1))
                .fail_safe_throttle(Ttl::secs(1)),
        );
        let (base, upstream, _) = cached_app(backend, &clock, config).await;
        let url = format!("{base}/flaky");
        assert_eq!(get(&url).await, (200, "MISS".into(), None, "good 1".into()));
        upstream.failing.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(600));
        assert_eq!(
            get(&url).await,
            (200, "STALE".into(), Some("600".into()), "good 1".into())
        );
        assert_eq!(upstream.runs(), 2, "the handler ran, and failed");
        // With nothing to fall back on, the failure itself, unstored.
        let (status, cache, _, body) = get(&format!("{base}/flaky?other")).await;
        assert_eq!(
            (status, cache.as_str(), body.as_str()),
            (500, "MISS", "down")
        );
        // Past the fail-safe maximum: the failure.
        clock.advance(Duration::from_secs(2 * 86_400));
        assert_eq!(get(&url).await.0, 500);
        upstream.failing.store(false, Ordering::SeqCst);
        assert_eq!(get(&url).await.1, "MISS");
        assert_eq!(get(&url).await.1, "HIT");
    }

    pub async fn bodies_past_400_kb_are_stored_split_and_past_the_limit_passed_through(
        backend: TestBackend,
    ) {
        let clock = Clock::manual();
        let config = ResponseCacheConfig::new().max_body_bytes(2 << 20);
        let (base, upstream, layer) = cached_app(backend, &clock, config).await;
        let url = format!("{base}/big?bytes={}", 1 << 20);
        for expected in ["MISS", "HIT", "HIT"] {
            let response = client().get(&url).send().await.unwrap();
            assert_eq!(response.headers()["x-cache"], expected);
            assert_eq!(
                response.bytes().await.unwrap().as_ref(),
                pattern(1 << 20).as_slice()
            );
        }
        assert_eq!(upstream.runs(), 1);
        let huge = format!("{base}/big?bytes={}", 3 << 20);
        for _ in 0..2 {
            let response = client().get(&huge).send().await.unwrap();
            assert_eq!(response.headers()["x-cache"], "MISS");
            assert_eq!(
                response.bytes().await.unwrap().as_ref(),
                pattern(3 << 20).as_slice()
            );
        }
        assert_eq!(upstream.runs(), 3);
        assert_eq!(layer.stats().cache_failures, 0);
        assert_eq!(layer.cache_stats().store_errors, 0);
    }

    pub async fn streaming_and_broken_bodies_pass_through_without_a_panic(backend: TestBackend) {
        let clock = Clock::manual();
        // A limit smaller than the stream: its first chunk is read, then the rest streams on.
        let small = ResponseCacheConfig::new().max_body_bytes(5);
        let (base, upstream, _) = cached_app(backend, &clock, small).await;
        for _ in 0..2 {
            assert_eq!(get(&format!("{base}/stream")).await.3, "one two three");
        }
        assert_eq!(upstream.runs(), 2, "too long to store");

        let (base, upstream, _) = cached_app(backend, &clock, ResponseCacheConfig::new()).await;
        for expected in ["MISS", "HIT"] {
            let (status, cache, _, body) = get(&format!("{base}/stream")).await;
            assert_eq!(
                (status, cache.as_str(), body.as_str()),
                (200, expected, "one two three")
            );
        }
        for _ in 0..2 {
            // As without the layer: the server cuts the connection, before or after the head
            // went out (the client sees no response, or a cut body). Never a whole body.
            match client().get(format!("{base}/broken-stream")).send().await {
                Ok(response) => assert!(
                    response.bytes().await.is_err(),
                    "a broken body stays broken"
                ),
                Err(error) => assert!(error.is_request() || error.is_body(), "{error}"),
            }
        }
        assert_eq!(upstream.runs(), 3, "a broken body is not stored");
        // The server still answers.
        assert_eq!(get(&format!("{base}/stream")).await.1, "HIT");
    }

    pub async fn a_vary_header_is_stored_only_when_the_key_holds_it(backend: TestBackend) {
        let clock = Clock::manual();
        let language = |base: &str, language: &'static str| {
            let url = format!("{base}/vary");
            async move {
                let response = client()
                    .get(url)
                    .header("accept-language", language)
                    .send()
                    .await
                    .unwrap();
                let cache = response.headers()["x-cache"].to_str().unwrap().to_owned();
                (cache, response.text().await.unwrap())
            }
        };
        // The key does not hold Accept-Language: never stored, each variant its own.
        let (base, upstream, _) = cached_app(backend, &clock, ResponseCacheConfig::new()).await;
        for lang in ["en", "fr", "en"] {
            assert_eq!(
                language(&base, lang).await,
                ("MISS".to_owned(), lang.to_owned())
            );
        }
        assert_eq!(upstream.runs(), 3);
        // It does: one stored response per variant.
        let config = ResponseCacheConfig::new().vary_on(http::header::ACCEPT_LANGUAGE);
        let (base, upstream, _) = cached_app(backend, &clock, config).await;
        let expected = [("MISS", "en"), ("MISS", "fr"), ("HIT", "en"), ("HIT", "fr")];
        for (cache, lang) in expected {
            assert_eq!(
                language(&base, lang).await,
                (cache.to_owned(), lang.to_owned())
            );
        }
        assert_eq!(upstream.runs(), 2);
    }

    pub async fn headers_that_are_not_utf8_are_kept_and_keyed(backend: TestBackend) {
        let clock = Clock::manual();
        let config = ResponseCacheConfig::new().vary_on(http::HeaderName::from_static("x-tenant"));
        let (base, upstream, _) = cached_app(backend, &clock, config).await;
        for expected in ["MISS", "HIT"] {
            let response = client()
                .get(format!("{base}/raw-header"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["x-cache"], expected);
            assert_eq!(response.headers()["x-raw"].as_bytes(), b"\xfe\xff raw");
        }
        let raw = http::HeaderValue::from_bytes(b"\xff tenant").unwrap();
        for tenant in [raw.clone(), raw, http::HeaderValue::from_static("other")] {
            let response = client()
                .get(format!("{base}/counted"))
                .header("x-tenant", tenant)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        assert_eq!(upstream.runs(), 1 + 2, "one run per tenant");
    }
}

/// A store whose every operation fails: the handler answers each request, nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_never_fails_a_request() {
    use dynamorator::CacheConfig;
    use dynamorator_http::{ResponseCacheConfig, ResponseCacheLayer};

    let store = support::dead_store().await;
    let upstream = support::Upstream::default();
    let config = ResponseCacheConfig::new()
        .cache(CacheConfig::new().leases(std::time::Duration::from_secs(5)));
    let layer = ResponseCacheLayer::new(&store, config);
    let address = support::serve(support::app(upstream.clone()).layer(layer.clone())).await;
    for round in 1..=3 {
        let response = support::client()
            .get(format!("http://{address}/counted"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), format!("run {round}"));
    }
    assert_eq!(upstream.runs(), 3);
    assert!(
        layer.cache_stats().store_errors >= 3,
        "{:?}",
        layer.cache_stats()
    );
}
