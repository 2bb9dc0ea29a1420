//! [`CachedResponse`]: a response as the cache keeps it, and how it becomes one again.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AGE, CONNECTION, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::body::ResponseBody;
use super::status::CacheStatus;

/// Headers that describe one connection, not the response: never stored.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A stored response: status, headers, body, and when it was stored and stops being fresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedResponse {
    status: u16,
    headers: Vec<(String, StoredHeaderValue)>,
    #[serde(with = "crate::stored_bytes")]
    body: Bytes,
    stored_at_ms: i64,
    fresh_until_ms: i64,
    /// Which load made this value, in this process (0 once read back from the store): the
    /// request whose load it is knows it ran the handler.
    #[serde(skip)]
    origin: u64,
    /// A stand-in for a response that was not stored: the real one went to its own request.
    #[serde(skip)]
    stand_in: bool,
}

/// A header value: text when it is UTF-8 (readable in the table), else base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredHeaderValue {
    Text(String),
    Binary { base64: String },
}

impl CachedResponse {
    /// A response to store, made by the load `origin` at `now_ms`, fresh for `fresh_ms`.
    pub(crate) fn new(
        parts: &http::response::Parts,
        body: Bytes,
        now_ms: i64,
        fresh_ms: i64,
        origin: u64,
    ) -> Self {
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()) && *name != AGE)
            .map(|(name, value)| {
                let value = match value.to_str() {
                    Ok(text) => StoredHeaderValue::Text(text.to_owned()),
                    Err(_) => StoredHeaderValue::Binary {
                        base64: STANDARD.encode(value.as_bytes()),
                    },
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        CachedResponse {
            status: parts.status.as_u16(),
            headers,
            body,
            stored_at_ms: now_ms,
            fresh_until_ms: now_ms.saturating_add(fresh_ms),
            origin,
            stand_in: false,
        }
    }

    /// The stand-in a load returns when its response is not stored.
    pub(crate) fn stand_in(origin: u64) -> Self {
        CachedResponse {
            status: 0,
            headers: Vec::new(),
            body: Bytes::new(),
            stored_at_ms: 0,
            fresh_until_ms: 0,
            origin,
            stand_in: true,
        }
    }

    /// Whether the load `origin` made this value.
    pub(crate) fn is_from(&self, origin: u64) -> bool {
        self.origin == origin
    }

    pub(crate) fn is_stand_in(&self) -> bool {
        self.stand_in
    }

    /// Fresh or stale at `now_ms`.
    pub(crate) fn status_at(&self, now_ms: i64) -> CacheStatus {
        if now_ms < self.fresh_until_ms {
            CacheStatus::Hit
        } else {
            CacheStatus::Stale
        }
    }

    /// The response again, with its `Age` at `now_ms` (not on a miss) and the status header.
    /// Stored headers that no longer parse are left out; a stored status that does not parse
    /// is a 502.
    pub(crate) fn to_response<B>(
        &self,
        now_ms: i64,
        status: CacheStatus,
        status_header: &HeaderName,
    ) -> Response<ResponseBody<B>> {
        let mut response = Response::new(ResponseBody::full(self.body.clone()));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            let value = match value {
                StoredHeaderValue::Text(text) => HeaderValue::from_str(text).ok(),
                StoredHeaderValue::Binary { base64 } => STANDARD
                    .decode(base64)
                    .ok()
                    .and_then(|bytes| HeaderValue::from_bytes(&bytes).ok()),
            };
            if let (Ok(name), Some(value)) = (HeaderName::from_bytes(name.as_bytes()), value) {
                headers.append(name, value);
            }
        }
        headers.remove(CONNECTION);
        headers.remove(TRANSFER_ENCODING);
        if status != CacheStatus::Miss {
            let age = now_ms.saturating_sub(self.stored_at_ms).max(0) / 1000;
            headers.insert(AGE, HeaderValue::from(age));
        }
        headers.insert(
            status_header.clone(),
            HeaderValue::from_static(status.as_str()),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderName, HeaderValue, Response};

    use super::CachedResponse;
    use crate::CacheStatus;

    #[test]
    fn a_response_round_trips_through_its_stored_form() {
        let mut original = Response::new(());
        original
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain"));
        original
            .headers_mut()
            .insert("x-raw", HeaderValue::from_bytes(b"\xfe\xff").unwrap());
        original
            .headers_mut()
            .insert("transfer-encoding", HeaderValue::from_static("chunked"));
        let (parts, ()) = original.into_parts();
        let cached = CachedResponse::new(&parts, Bytes::from_static(b"hi"), 10_000, 5_000, 7);
        let json = serde_json::to_string(&cached).unwrap();
        let back: CachedResponse = serde_json::from_str(&json).unwrap();
        assert!(!back.is_from(7), "the origin is not stored");
        assert_eq!(back.status_at(14_999), CacheStatus::Hit);
        assert_eq!(back.status_at(15_000), CacheStatus::Stale);
        let header = HeaderName::from_static("x-cache");
        let response = back.to_response::<()>(17_500, CacheStatus::Stale, &header);
        assert_eq!(response.headers()["content-type"], "text/plain");
        assert_eq!(response.headers()["x-raw"].as_bytes(), b"\xfe\xff");
        assert_eq!(response.headers()["age"], "7");
        assert_eq!(response.headers()["x-cache"], "STALE");
        assert!(!response.headers().contains_key("transfer-encoding"));
    }

    proptest::proptest! {
        /// Whatever a stored item holds (any status, names, values, base64): a response,
        /// never a panic.
        #[test]
        fn any_stored_fields_make_a_response(
            status in proptest::num::u16::ANY,
            name in ".{0,12}",
            text in ".{0,12}",
            base64 in ".{0,12}",
            stored_at_ms in proptest::num::i64::ANY,
            now_ms in proptest::num::i64::ANY,
        ) {
            let json = serde_json::json!({
                "status": status,
                "headers": [[name, text], [name, {"base64": base64}]],
                "body": "",
                "stored_at_ms": stored_at_ms,
                "fresh_until_ms": stored_at_ms,
            });
            if let Ok(cached) = serde_json::from_value::<CachedResponse>(json) {
                let header = HeaderName::from_static("x-cache");
                let _ = cached.to_response::<()>(now_ms, cached.status_at(now_ms), &header);
            }
        }
    }

    #[test]
    fn a_corrupt_stored_form_is_an_error_not_a_panic() {
        for text in [
            r#"{"status":200}"#,
            r#"{"status":200,"headers":[],"body":"%%%","stored_at_ms":0,"fresh_until_ms":0}"#,
        ] {
            assert!(serde_json::from_str::<CachedResponse>(text).is_err());
        }
    }
}
