//! A request's cache key: method, path, query, and the values of the chosen headers.

use http::{HeaderMap, HeaderName, Method, Uri};

use crate::stored_key::stored_key;

/// The key of a request: `GET /path?query`, then ` | name=value` for each chosen header (all
/// its values, comma-joined; nothing when absent). The host is not part of it: one layer
/// serves one site. Long keys, or header values that are not text, become a digest.
pub(crate) fn request_key(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    vary_on: &[HeaderName],
) -> String {
    let mut material = Vec::with_capacity(64);
    material.extend_from_slice(method.as_str().as_bytes());
    material.push(b' ');
    material.extend_from_slice(uri.path().as_bytes());
    if let Some(query) = uri.query() {
        material.push(b'?');
        material.extend_from_slice(query.as_bytes());
    }
    for name in vary_on {
        material.extend_from_slice(b" | ");
        material.extend_from_slice(name.as_str().as_bytes());
        material.push(b'=');
        for (index, value) in headers.get_all(name).iter().enumerate() {
            if index > 0 {
                material.push(b',');
            }
            material.extend_from_slice(value.as_bytes());
        }
    }
    stored_key(&material)
}

#[cfg(test)]
mod tests {
    use http::header::ACCEPT_LANGUAGE;
    use http::{HeaderMap, HeaderValue, Method, Uri};

    use super::request_key;

    #[test]
    fn keys_hold_method_path_query_and_chosen_headers() {
        let uri: Uri = "http://example.test/a/b?x=1&y=2".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(
            request_key(&Method::GET, &uri, &headers, &[]),
            "GET /a/b?x=1&y=2"
        );
        assert_eq!(
            request_key(&Method::HEAD, &uri, &headers, &[]),
            "HEAD /a/b?x=1&y=2"
        );
        assert_eq!(
            request_key(&Method::GET, &uri, &headers, &[ACCEPT_LANGUAGE]),
            "GET /a/b?x=1&y=2 | accept-language="
        );
        headers.append(ACCEPT_LANGUAGE, HeaderValue::from_static("fr"));
        headers.append(ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        assert_eq!(
            request_key(&Method::GET, &uri, &headers, &[ACCEPT_LANGUAGE]),
            "GET /a/b?x=1&y=2 | accept-language=fr,en"
        );
        // A header value that is not UTF-8: a digest, never a panic.
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert!(request_key(&Method::GET, &uri, &headers, &[ACCEPT_LANGUAGE]).contains("sha256:"));
    }
}
