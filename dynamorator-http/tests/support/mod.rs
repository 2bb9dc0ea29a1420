//! What the suites share: a counting axum app, a loopback server for it, a plain client, and
//! a store whose DynamoDB endpoint refuses every connection.

#![allow(dead_code)] // Each test binary uses its own part.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use dynamorator::Store;

/// The handler runs of an app, and a switch that makes `/flaky` fail.
#[derive(Clone, Default)]
pub struct Upstream {
    pub runs: Arc<AtomicU64>,
    pub revalidations: Arc<AtomicU64>,
    pub failing: Arc<AtomicBool>,
}

impl Upstream {
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }

    fn run(&self) -> u64 {
        self.runs.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// A body of `len` bytes that differ from one position to the next.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The routes, each counting its runs:
/// - `/counted`: "run N", no `Cache-Control`;
/// - `/max-age`: `max-age=600`; `/no-store`, `/private`, `/cookie`, `/missing` (404);
/// - `/flaky`: "good", or a 500 while `failing`;
/// - `/etag`: `no-cache` with an `ETag`, a 304 when the request has it;
/// - `/big?bytes=N`: N patterned bytes; `/stream`: three chunks with no length;
///   `/broken-stream`: a chunk, then an error; `/raw-header`: a header that is not UTF-8;
/// - `/vary`: the request's `Accept-Language` back, `max-age=600`, `Vary: Accept-Language`.
pub fn app(upstream: Upstream) -> Router {
    Router::new()
        .route("/counted", get(counted))
        .route("/max-age", get(max_age))
        .route("/no-store", get(no_store))
        .route("/private", get(private))
        .route("/cookie", get(cookie))
        .route("/missing", get(missing))
        .route("/flaky", get(flaky))
        .route("/etag", get(etag))
        .route("/big", get(big))
        .route("/stream", get(stream))
        .route("/broken-stream", get(broken_stream))
        .route("/raw-header", get(raw_header))
        .route("/vary", get(vary))
        .with_state(upstream)
}

async fn counted(State(up): State<Upstream>) -> String {
    format!("run {}", up.run())
}

async fn max_age(State(up): State<Upstream>) -> Response {
    let n = up.run();
    ([(header::CACHE_CONTROL, "max-age=600")], format!("run {n}")).into_response()
}

async fn no_store(State(up): State<Upstream>) -> Response {
    let n = up.run();
    ([(header::CACHE_CONTROL, "no-store")], format!("run {n}")).into_response()
}

async fn private(State(up): State<Upstream>) -> Response {
    let n = up.run();
    (
        [(header::CACHE_CONTROL, "private, max-age=600")],
        format!("run {n}"),
    )
        .into_response()
}

async fn cookie(State(up): State<Upstream>) -> Response {
    let n = up.run();
    (
        [(header::SET_COOKIE, format!("session={n}"))],
        format!("run {n}"),
    )
        .into_response()
}

async fn missing(State(up): State<Upstream>) -> Response {
    let n = up.run();
    (StatusCode::NOT_FOUND, format!("run {n}")).into_response()
}

async fn flaky(State(up): State<Upstream>) -> Response {
    let n = up.run();
    if up.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    format!("good {n}").into_response()
}

async fn etag(State(up): State<Upstream>, headers: HeaderMap) -> Response {
    up.run();
    let tag = HeaderValue::from_static("\"v1\"");
    if headers.get(header::IF_NONE_MATCH) == Some(&tag) {
        up.revalidations.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    (
        [
            (header::ETAG, tag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        "tagged body",
    )
        .into_response()
}

async fn big(State(up): State<Upstream>, uri: Uri) -> Response {
    up.run();
    let bytes = uri
        .query()
        .and_then(|q| q.strip_prefix("bytes="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    ([(header::CACHE_CONTROL, "max-age=600")], pattern(bytes)).into_response()
}

async fn stream(State(up): State<Upstream>) -> Response {
    up.run();
    let chunks = ["one ", "two ", "three"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
    Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

async fn broken_stream(State(up): State<Upstream>) -> Response {
    up.run();
    let chunks = vec![
        Ok(Bytes::from_static(b"partial ")),
        Err(std::io::Error::other("the source broke")),
    ];
    Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

async fn raw_header(State(up): State<Upstream>) -> Response {
    let n = up.run();
    let raw = HeaderValue::from_bytes(b"\xfe\xff raw").unwrap_or(HeaderValue::from_static("x"));
    ([("x-raw", raw)], format!("run {n}")).into_response()
}

async fn vary(State(up): State<Upstream>, headers: HeaderMap) -> Response {
    up.run();
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("none"));
    (
        [
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=600"),
            ),
            (header::VARY, HeaderValue::from_static("accept-language")),
        ],
        language.to_str().unwrap_or("?").to_owned(),
    )
        .into_response()
}

/// Serves `router` on a free 127.0.0.1 port until the test's runtime ends.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    address
}

/// A plain client for loopback (no proxy from the environment), with a bounded wait.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A store on a table whose endpoint refuses every connection: each operation fails fast.
pub async fn dead_store() -> Store {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    Store::builder()
        .table("unreachable")
        .sdk_config(dynamorator_testkit::sdk_config(&endpoint).await)
        .endpoint_url(endpoint)
        .create_table(false)
        .max_attempts(1)
        .build()
        .await
        .unwrap()
}
