//! Takes a successful response's body away from the SDK before it parses it, so the library
//! parses it itself (`response_json`), straight into its own types.
//!
//! The SDK still signs, sends, times out and retries the request, and reads the body: the tap
//! is an interceptor added to one call (`customize().interceptor(..)`). In the SDK's
//! orchestrator, `modify_before_deserialization` runs on each attempt's response before the
//! body is read; for a 2xx response the tap swaps the body for one that passes the server's
//! bytes into the tap and hands the SDK `{}`, an empty output, to parse. Error responses are
//! left alone, so the SDK's error parsing and retry classification see them as ever. A body
//! cut short fails as the SDK's own read would (the error is passed on), inside the attempt,
//! under its timeout and retries.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};

/// The body of the last attempt whose 2xx response was read to its end. Clone it into the
/// call's interceptor and keep a clone to [`take`](BodyTap::take) the body after `send`.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyTap {
    body: Arc<Mutex<Option<Bytes>>>,
}

impl BodyTap {
    /// The body of the response `send` returned. `None` if no 2xx response was read whole,
    /// which a successful `send` rules out.
    pub(crate) fn take(&self) -> Option<Bytes> {
        self.slot().take()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Bytes>> {
        // The lock is never held across a panic that matters: the slot is only swapped.
        self.body.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intercept for BodyTap {
    fn name(&self) -> &'static str {
        "dynamorator::BodyTap"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Each attempt starts empty: only the attempt `send` returns may leave a body.
        *self.slot() = None;
        let response = context.response_mut();
        if !response.status().is_success() {
            return Ok(());
        }
        let server_body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(Divert {
            server_body,
            chunks: Vec::new(),
            tap: self.clone(),
            done: false,
        });
        Ok(())
    }
}

/// What the SDK reads instead of the server's body: it reads the server's body to its end
/// into the tap, then yields `{}`. Errors of the server's body are passed on as they come.
struct Divert {
    server_body: SdkBody,
    chunks: Vec<Bytes>,
    tap: BodyTap,
    done: bool,
}

/// What the SDK parses in place of a diverted body: an output with no members.
const EMPTY_OUTPUT: &[u8] = b"{}";

impl Body for Divert {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.server_body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                // Trailers: DynamoDB sends none, and the SDK reads none from `{}`.
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.chunks.push(data);
                    }
                }
                Poll::Ready(None) => {
                    this.done = true;
                    *this.tap.slot() = Some(concat(std::mem::take(&mut this.chunks)));
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(EMPTY_OUTPUT)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// The chunks as one buffer; a body that came in one chunk is not copied.
fn concat(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut whole = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in chunks {
        whole.extend_from_slice(&chunk);
    }
    whole.freeze()
}
