//! [`ResponseCache`]: the service the layer makes; one read-through of the cache per request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use tokio::sync::oneshot;
use tower_service::Service;

use super::body::{BoxError, ResponseBody};
use super::key::request_key;
use super::layer::Shared;
use super::load::{Handoff, LoadFailed, load, take};
use super::policy::is_cacheable_request;
use super::status::CacheStatus;

/// The service a [`ResponseCacheLayer`](crate::ResponseCacheLayer) wraps around `S`.
///
/// ```
/// use dynamorator_http::{ResponseCache, ResponseCacheConfig, ResponseCacheLayer};
/// use tower_layer::Layer as _;
///
/// let layer = ResponseCacheLayer::new(&dynamorator::Store::embedded(), ResponseCacheConfig::new());
/// let service: ResponseCache<_> = layer.layer(tower::service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("hi"))))
/// }));
/// ```
#[derive(Clone, Debug)]
pub struct ResponseCache<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> ResponseCache<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        ResponseCache { inner, shared }
    }
}

/// The future of a [`ResponseCache`] call.
type ResponseFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

impl<S, ReqB, ResB> Service<Request<ReqB>> for ResponseCache<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        // The ready service goes with this request; the clone waits for the next one.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(respond(inner, self.shared.clone(), request))
    }
}

/// Answers one request: from the cache, from a load of the handler, or from the handler alone.
async fn respond<S, ReqB, ResB>(
    inner: S,
    shared: Arc<Shared>,
    request: Request<ReqB>,
) -> Result<Response<ResponseBody<ResB>>, S::Error>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    let config = &shared.config;
    if !is_cacheable_request(request.method(), request.headers(), config) {
        let handoff = Arc::new(Mutex::new(Some((inner, request))));
        return call_alone(&handoff, &shared, CacheStatus::Bypass).await;
    }
    let key = request_key(
        request.method(),
        request.uri(),
        request.headers(),
        &config.vary_on,
    );
    // Tells this request's load apart from any other (0 marks values read from the store).
    let origin = fastrand::u64(1..);
    let handoff: Handoff<S, Request<ReqB>> = Arc::new(Mutex::new(Some((inner, request))));
    let (deliver, mut delivered) = oneshot::channel();
    let loader = {
        let handoff = handoff.clone();
        let shared = shared.clone();
        move || load(handoff, deliver, shared, origin)
    };
    let answer = shared.cache.get_arc_or_insert_with(&key, loader).await;
    match answer {
        Ok(value) if value.is_stand_in() => {
            if value.is_from(origin)
                && let Ok(response) = delivered.try_recv()
            {
                return finish(response, &shared, CacheStatus::Miss);
            }
            // Another request's response, not for sharing: this one runs the handler itself.
            call_alone(&handoff, &shared, CacheStatus::Miss).await
        }
        Ok(value) => {
            let now_ms = shared.clock.now_epoch_millis();
            let status = if value.is_from(origin) {
                CacheStatus::Miss
            } else {
                value.status_at(now_ms)
            };
            shared.counters.answered(status);
            Ok(value.to_response(now_ms, status, &config.status_header))
        }
        Err(error) => {
            if let Ok(response) = delivered.try_recv() {
                // This request's own load failed with no fallback: its response, as is.
                return finish(response, &shared, CacheStatus::Miss);
            }
            if error.loader_error::<LoadFailed>().is_none() {
                shared.counters.cache_failed();
                tracing::warn!(%error, "response cache failed; the handler answers");
            }
            call_alone(&handoff, &shared, CacheStatus::Miss).await
        }
    }
}

/// Runs the handler for this request alone, if its request is still here; else (its load
/// was given up, past a hard timeout) a 504.
async fn call_alone<S, ReqB, ResB>(
    handoff: &Handoff<S, Request<ReqB>>,
    shared: &Shared,
    status: CacheStatus,
) -> Result<Response<ResponseBody<ResB>>, S::Error>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    let Some((mut service, request)) = take(handoff) else {
        tracing::warn!("a response cache load was given up; answering 504");
        let mut response = Response::new(ResponseBody::full(Bytes::new()));
        *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
        return finish(Ok(response), shared, status);
    };
    let called = match std::future::poll_fn(|cx| service.poll_ready(cx)).await {
        Ok(()) => service.call(request).await,
        Err(error) => Err(error),
    };
    let response = called
        .map(|response| response.map(|body| ResponseBody::resumed(Bytes::new(), Box::pin(body))));
    finish(response, shared, status)
}

/// Counts the answer and marks it with the status header.
fn finish<B, E>(
    response: Result<Response<ResponseBody<B>>, E>,
    shared: &Shared,
    status: CacheStatus,
) -> Result<Response<ResponseBody<B>>, E> {
    shared.counters.answered(status);
    response.map(|mut response| {
        response.headers_mut().insert(
            shared.config.status_header.clone(),
            HeaderValue::from_static(status.as_str()),
        );
        response
    })
}
