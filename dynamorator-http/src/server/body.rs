//! [`ResponseBody`]: what the layer's responses carry — a cached body, or the handler's,
//! resumed after what was read of it while trying to store it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The error of a [`ResponseBody`]: the handler's body's error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a response from a [`ResponseCache`](crate::ResponseCache): bytes from the
/// cache, or the handler's own body (streamed as it comes, after any part the layer read
/// while deciding whether to store it).
///
/// ```
/// use http_body::Body as _;
/// let body = dynamorator_http::ResponseBody::<http_body_util::Empty<bytes::Bytes>>::full("hi".into());
/// assert_eq!(body.size_hint().exact(), Some(2));
/// ```
pub struct ResponseBody<B> {
    kind: Kind<B>,
}

enum Kind<B> {
    Full {
        data: Option<Bytes>,
    },
    /// Boxed so that the layer could read it without knowing whether `B` is `Unpin`; only
    /// responses that pass through unstored take this path.
    Resumed {
        prefix: Option<Bytes>,
        rest: Pin<Box<B>>,
    },
    Failed {
        prefix: Option<Bytes>,
        error: Option<BoxError>,
    },
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Full { .. } => "full",
            Kind::Resumed { .. } => "resumed",
            Kind::Failed { .. } => "failed",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}

impl<B> ResponseBody<B> {
    /// A body of these bytes.
    ///
    /// ```
    /// let body = dynamorator_http::ResponseBody::<()>::full(bytes::Bytes::from_static(b"cached"));
    /// ```
    pub fn full(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        ResponseBody {
            kind: Kind::Full { data },
        }
    }

    /// The handler's body, after `prefix` (what was read of it already).
    pub(crate) fn resumed(prefix: Bytes, rest: Pin<Box<B>>) -> Self {
        let prefix = (!prefix.is_empty()).then_some(prefix);
        ResponseBody {
            kind: Kind::Resumed { prefix, rest },
        }
    }

    /// What was read of the handler's body, then the error it failed with.
    pub(crate) fn failed(prefix: Bytes, error: BoxError) -> Self {
        let prefix = (!prefix.is_empty()).then_some(prefix);
        ResponseBody {
            kind: Kind::Failed {
                prefix,
                error: Some(error),
            },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Kind::Resumed { prefix, rest } => {
                if let Some(prefix) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(prefix))));
                }
                rest.as_mut().poll_frame(cx).map_err(Into::into)
            }
            Kind::Failed { prefix, error } => match prefix.take() {
                Some(prefix) => Poll::Ready(Some(Ok(Frame::data(prefix)))),
                None => Poll::Ready(error.take().map(Err)),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.is_none(),
            Kind::Resumed { prefix, rest } => prefix.is_none() && rest.is_end_stream(),
            Kind::Failed { prefix, error } => prefix.is_none() && error.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Resumed { prefix, rest } => {
                let before = prefix.as_ref().map_or(0, |p| p.len() as u64);
                let rest = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(before));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(before));
                }
                hint
            }
            Kind::Failed { .. } => SizeHint::default(),
        }
    }
}
