//! A miss: run the handler once, judge its response, and either hand the cache a value to
//! store or hand the response straight to the request that asked (never stored, never shared).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use dynamorator::Loaded;
use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt as _;
use tokio::sync::oneshot;
use tower_service::Service;

use super::body::{BoxError, ResponseBody};
use super::cached_response::CachedResponse;
use super::layer::Shared;
use super::policy::{self, Verdict};

/// The inner service (ready) and the request, left for whichever runs first: this request's
/// load, or this request itself when the cache answers with someone else's unstored response.
pub(crate) type Handoff<S, R> = Arc<Mutex<Option<(S, R)>>>;

/// Takes the service and request out of a handoff, if still there.
pub(crate) fn take<S, R>(handoff: &Handoff<S, R>) -> Option<(S, R)> {
    handoff
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// The handler's own response, sent to the request whose load ran it.
pub(crate) type Delivery<B, E> = oneshot::Sender<Result<Response<ResponseBody<B>>, E>>;

/// Why a load gave the cache nothing: a fail-safe value answers instead, if there is one.
#[derive(Debug)]
pub(crate) enum LoadFailed {
    /// The handler's service returned an error.
    Service,
    /// The handler answered with a server error.
    Status(u16),
    /// The handler's body failed while it was read.
    Body,
    /// The request was already taken (never expected).
    NoRequest,
}

impl std::fmt::Display for LoadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadFailed::Service => write!(f, "the handler's service failed"),
            LoadFailed::Status(status) => write!(f, "the handler answered {status}"),
            LoadFailed::Body => write!(f, "the handler's body failed"),
            LoadFailed::NoRequest => write!(f, "no request to load"),
        }
    }
}

impl std::error::Error for LoadFailed {}

/// Runs the handler for the request in `handoff` (the load `origin`), and returns what the
/// cache should keep.
pub(crate) async fn load<S, ReqB, ResB>(
    handoff: Handoff<S, Request<ReqB>>,
    deliver: Delivery<ResB, S::Error>,
    shared: Arc<Shared>,
    origin: u64,
) -> Result<Loaded<CachedResponse>, LoadFailed>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    let Some((mut service, request)) = take(&handoff) else {
        return Err(LoadFailed::NoRequest);
    };
    // The service was made ready by the layer's `poll_ready`; polling again is harmless and
    // keeps this correct for any service.
    let called = match poll_fn(|cx| service.poll_ready(cx)).await {
        Ok(()) => service.call(request).await,
        Err(error) => Err(error),
    };
    let response = match called {
        Ok(response) => response,
        Err(error) => {
            let _ = deliver.send(Err(error));
            return Err(LoadFailed::Service);
        }
    };
    let config = &shared.config;
    let (ttl, stale_for) = match policy::judge(response.status(), response.headers(), config) {
        Verdict::Store { ttl, stale_for } => (ttl, stale_for),
        Verdict::Failed => {
            let status = response.status().as_u16();
            let _ = deliver.send(Ok(pass_on(response)));
            return Err(LoadFailed::Status(status));
        }
        Verdict::Skip(reason) => {
            tracing::debug!(?reason, "response not stored");
            return Ok(hand_over(&shared, deliver, pass_on(response), origin));
        }
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > config.max_body_bytes as u64) {
        return Ok(hand_over(&shared, deliver, pass_on(response), origin));
    }
    let (parts, body) = response.into_parts();
    match read_limited(Box::pin(body), config.max_body_bytes).await {
        Read::Whole(bytes) => {
            let now_ms = shared.clock.now_epoch_millis();
            let fresh_ms = i64::try_from(ttl.as_secs().saturating_mul(1000)).unwrap_or(i64::MAX);
            let cached = CachedResponse::new(&parts, bytes, now_ms, fresh_ms, origin);
            let loaded = Loaded::new(cached).ttl(ttl);
            Ok(match stale_for {
                Some(window) => loaded.stale_for(window),
                None => loaded,
            })
        }
        Read::TooLong { prefix, rest } => {
            let response = Response::from_parts(parts, ResponseBody::resumed(prefix, rest));
            Ok(hand_over(&shared, deliver, response, origin))
        }
        Read::Failed { prefix, error } => {
            tracing::debug!(%error, "the handler's body failed while read for the cache");
            let response = Response::from_parts(parts, ResponseBody::failed(prefix, error));
            let _ = deliver.send(Ok(response));
            Err(LoadFailed::Body)
        }
    }
}

/// The handler's response as the layer's, untouched.
fn pass_on<B>(response: Response<B>) -> Response<ResponseBody<B>> {
    response.map(|body| ResponseBody::resumed(Bytes::new(), Box::pin(body)))
}

/// Sends an unstored response to its request, and gives the cache a stand-in that nobody
/// else may use.
fn hand_over<B, E>(
    shared: &Shared,
    deliver: Delivery<B, E>,
    response: Response<ResponseBody<B>>,
    origin: u64,
) -> Loaded<CachedResponse> {
    shared.counters.not_stored();
    let _ = deliver.send(Ok(response));
    Loaded::uncached(CachedResponse::stand_in(origin))
}

/// A body read up to a limit.
enum Read<B> {
    Whole(Bytes),
    /// Past the limit: what was read, and the rest still to stream.
    TooLong {
        prefix: Bytes,
        rest: Pin<Box<B>>,
    },
    /// The body failed after `prefix`.
    Failed {
        prefix: Bytes,
        error: BoxError,
    },
}

/// Reads `body` whole if it is at most `max` bytes. Trailers are not kept.
async fn read_limited<B>(mut body: Pin<Box<B>>, max: usize) -> Read<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                    if read.len() > max {
                        return Read::TooLong {
                            prefix: read.freeze(),
                            rest: body,
                        };
                    }
                }
            }
            Err(error) => {
                return Read::Failed {
                    prefix: read.freeze(),
                    error: error.into(),
                };
            }
        }
    }
    Read::Whole(read.freeze())
}
