//! The one decision of the layer, as pure functions over plain data: is a request for the
//! cache, and may a response be stored, for how long.

use dynamorator::Ttl;
use http::header::{AUTHORIZATION, CACHE_CONTROL, RANGE, SET_COOKIE, VARY};
use http::{HeaderMap, Method, StatusCode};

use super::config::ResponseCacheConfig;

/// What to do with a handler's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Store it, fresh for `ttl`, then stale for `stale_for` (`None`: the cache's window).
    Store { ttl: Ttl, stale_for: Option<Ttl> },
    /// Answer with it, but do not store it.
    Skip(Skip),
    /// A failed load (5xx): a stale or fail-safe value answers instead when there is one.
    Failed,
}

/// Why a response is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    Status,
    NoStore,
    Private,
    SetCookie,
    VaryAll,
    /// `Vary` names a request header the key does not hold.
    VaryUnkeyed,
    NotFresh,
}

/// Whether a request is for the cache: a cached method, no `Range` (a part is not the
/// whole), no `Authorization` unless the key holds it.
pub(crate) fn is_cacheable_request(
    method: &Method,
    headers: &HeaderMap,
    config: &ResponseCacheConfig,
) -> bool {
    config.methods.contains(method)
        && !headers.contains_key(RANGE)
        && (!headers.contains_key(AUTHORIZATION) || config.vary_on.contains(&AUTHORIZATION))
}

/// What to do with a response of `status` with `headers`.
pub(crate) fn judge(
    status: StatusCode,
    headers: &HeaderMap,
    config: &ResponseCacheConfig,
) -> Verdict {
    if status.is_server_error() {
        return Verdict::Failed;
    }
    if !status.is_success() && !config.extra_statuses.contains(&status) {
        return Verdict::Skip(Skip::Status);
    }
    if !config.store_set_cookie && headers.contains_key(SET_COOKIE) {
        return Verdict::Skip(Skip::SetCookie);
    }
    // A response that varies by a request header the key does not hold would be served to
    // requests of another variant: not stored (a value that is not text, likewise).
    for value in headers.get_all(VARY) {
        let Ok(text) = value.to_str() else {
            return Verdict::Skip(Skip::VaryUnkeyed);
        };
        for name in text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            if name == "*" {
                return Verdict::Skip(Skip::VaryAll);
            }
            if !config
                .vary_on
                .iter()
                .any(|keyed| keyed.as_str().eq_ignore_ascii_case(name))
            {
                return Verdict::Skip(Skip::VaryUnkeyed);
            }
        }
    }
    let mut ttl = config.ttl;
    let mut stale_for = None;
    if config.use_cache_control {
        let directives = CacheControl::parse(headers);
        if !config.store_private {
            if directives.no_store || directives.no_cache {
                return Verdict::Skip(Skip::NoStore);
            }
            if directives.private {
                return Verdict::Skip(Skip::Private);
            }
        }
        if let Some(secs) = directives.s_maxage.or(directives.max_age) {
            // `max-age=0`: stale at once, nothing to keep.
            let Some(given) = ttl_of(secs) else {
                return Verdict::Skip(Skip::NotFresh);
            };
            ttl = given;
        }
        stale_for = directives.stale_while_revalidate.and_then(ttl_of);
    }
    Verdict::Store { ttl, stale_for }
}

/// A TTL of `secs` seconds, capped at the longest; `None` for 0 (which `Ttl` refuses).
fn ttl_of(secs: u64) -> Option<Ttl> {
    Ttl::try_from_secs(secs.min(Ttl::MAX_SECS)).ok()
}

/// The `Cache-Control` directives the layer reads. Values that are not text, or numbers
/// that do not parse, are ignored.
#[derive(Debug, Default)]
struct CacheControl {
    no_store: bool,
    no_cache: bool,
    private: bool,
    max_age: Option<u64>,
    s_maxage: Option<u64>,
    stale_while_revalidate: Option<u64>,
}

impl CacheControl {
    fn parse(headers: &HeaderMap) -> CacheControl {
        let mut parsed = CacheControl::default();
        let texts = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok());
        for directive in texts.flat_map(|text| text.split(',')) {
            let (name, value) = match directive.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let seconds = value.and_then(|v| v.parse::<u64>().ok());
            match name.to_ascii_lowercase().as_str() {
                "no-store" => parsed.no_store = true,
                // `no-cache="field"` only limits fields; the bare directive forbids reuse.
                "no-cache" if value.is_none() => parsed.no_cache = true,
                "private" if value.is_none() => parsed.private = true,
                "max-age" => parsed.max_age = seconds.or(parsed.max_age),
                "s-maxage" => parsed.s_maxage = seconds.or(parsed.s_maxage),
                "stale-while-revalidate" => {
                    parsed.stale_while_revalidate = seconds.or(parsed.stale_while_revalidate)
                }
                _ => {}
            }
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use dynamorator::Ttl;
    use http::{HeaderMap, HeaderValue, Method, StatusCode};

    use super::{Skip, Verdict, is_cacheable_request, judge};
    use crate::ResponseCacheConfig;

    /// A status, its headers, and the verdict.
    type Case = (u16, &'static [(&'static str, &'static [u8])], Verdict);

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.append(*name, value);
            }
        }
        map
    }

    #[test]
    fn responses_are_judged_by_status_and_headers() {
        let config = ResponseCacheConfig::new().ttl(Ttl::secs(60));
        let default = Verdict::Store {
            ttl: Ttl::secs(60),
            stale_for: None,
        };
        let cases: &[Case] = &[
            (200, &[], default),
            (204, &[("cache-control", b"public")], default),
            (
                200,
                &[("cache-control", b"max-age=5")],
                Verdict::Store {
                    ttl: Ttl::secs(5),
                    stale_for: None,
                },
            ),
            (
                200,
                &[("cache-control", b"max-age=5, s-maxage=9")],
                Verdict::Store {
                    ttl: Ttl::secs(9),
                    stale_for: None,
                },
            ),
            (
                200,
                &[
                    ("cache-control", b"max-age=5"),
                    ("cache-control", b"stale-while-revalidate=30"),
                ],
                Verdict::Store {
                    ttl: Ttl::secs(5),
                    stale_for: Some(Ttl::secs(30)),
                },
            ),
            (
                200,
                &[("cache-control", b"max-age=\"7\"")],
                Verdict::Store {
                    ttl: Ttl::secs(7),
                    stale_for: None,
                },
            ),
            (200, &[("cache-control", b"max-age=nope")], default),
            (
                200,
                &[("cache-control", b"max-age=99999999999999999999999")],
                default,
            ),
            (
                200,
                &[("cache-control", b"max-age=0")],
                Verdict::Skip(Skip::NotFresh),
            ),
            (
                200,
                &[("cache-control", b"s-maxage=0, max-age=60")],
                Verdict::Skip(Skip::NotFresh),
            ),
            (
                200,
                &[("cache-control", b"max-age=1, stale-while-revalidate=0")],
                Verdict::Store {
                    ttl: Ttl::secs(1),
                    stale_for: None,
                },
            ),
            (
                200,
                &[("cache-control", b"max-age=18446744073709551615")],
                Verdict::Store {
                    ttl: Ttl::MAX,
                    stale_for: None,
                },
            ),
            (
                200,
                &[("cache-control", b"No-Store")],
                Verdict::Skip(Skip::NoStore),
            ),
            (
                200,
                &[("cache-control", b"no-cache")],
                Verdict::Skip(Skip::NoStore),
            ),
            (200, &[("cache-control", b"no-cache=\"x-debug\"")], default),
            (
                200,
                &[("cache-control", b"private, max-age=60")],
                Verdict::Skip(Skip::Private),
            ),
            (
                200,
                &[("set-cookie", b"session=1")],
                Verdict::Skip(Skip::SetCookie),
            ),
            (200, &[("vary", b"*")], Verdict::Skip(Skip::VaryAll)),
            (
                200,
                &[("vary", b"accept-language")],
                Verdict::Skip(Skip::VaryUnkeyed),
            ),
            (200, &[("vary", b"\xff")], Verdict::Skip(Skip::VaryUnkeyed)),
            (200, &[("vary", b"")], default),
            (200, &[("cache-control", b"\xffmax-age=1")], default),
            (301, &[], Verdict::Skip(Skip::Status)),
            (404, &[], Verdict::Skip(Skip::Status)),
            (500, &[], Verdict::Failed),
            (503, &[("cache-control", b"max-age=60")], Verdict::Failed),
        ];
        for (status, pairs, expected) in cases {
            let status = StatusCode::from_u16(*status).unwrap();
            assert_eq!(
                judge(status, &headers(pairs), &config),
                *expected,
                "{status} {pairs:?}"
            );
        }
    }

    #[test]
    fn settings_widen_what_is_stored() {
        let config = ResponseCacheConfig::new()
            .store_private(true)
            .store_set_cookie(true)
            .store_status(StatusCode::NOT_FOUND);
        let stored = |status: u16, pairs: &[(&'static str, &[u8])]| {
            matches!(
                judge(
                    StatusCode::from_u16(status).unwrap(),
                    &headers(pairs),
                    &config
                ),
                Verdict::Store { .. }
            )
        };
        assert!(stored(404, &[]));
        let keyed = ResponseCacheConfig::new().vary_on(http::header::ACCEPT_LANGUAGE);
        assert_eq!(
            judge(
                StatusCode::OK,
                &headers(&[("vary", b"Accept-Language")]),
                &keyed
            ),
            Verdict::Store {
                ttl: Ttl::secs(60),
                stale_for: None
            }
        );
        assert!(stored(200, &[("cache-control", b"private")]));
        assert!(stored(200, &[("cache-control", b"no-store")]));
        assert!(stored(200, &[("set-cookie", b"a=b")]));
        assert!(!stored(410, &[]));
        let ignore = ResponseCacheConfig::new()
            .use_cache_control(false)
            .ttl(Ttl::secs(3));
        assert_eq!(
            judge(
                StatusCode::OK,
                &headers(&[("cache-control", b"no-store, max-age=9")]),
                &ignore
            ),
            Verdict::Store {
                ttl: Ttl::secs(3),
                stale_for: None
            }
        );
    }

    proptest::proptest! {
        /// Any bytes in the headers the policy reads: a verdict, never a panic.
        #[test]
        fn any_header_bytes_get_a_verdict(
            status in 100u16..1000,
            values in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..4),
        ) {
            let mut map = HeaderMap::new();
            for (index, value) in values.iter().enumerate() {
                let name = ["cache-control", "vary", "set-cookie", "cache-control"][index % 4];
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    map.append(name, value);
                }
            }
            if let Ok(status) = StatusCode::from_u16(status) {
                let _ = judge(status, &map, &ResponseCacheConfig::new());
            }
        }
    }

    #[test]
    fn requests_are_for_the_cache_by_method_range_and_authorization() {
        let config = ResponseCacheConfig::new();
        assert!(is_cacheable_request(&Method::GET, &headers(&[]), &config));
        assert!(is_cacheable_request(&Method::HEAD, &headers(&[]), &config));
        assert!(!is_cacheable_request(&Method::POST, &headers(&[]), &config));
        assert!(!is_cacheable_request(
            &Method::GET,
            &headers(&[("range", b"bytes=0-1")]),
            &config
        ));
        assert!(!is_cacheable_request(
            &Method::GET,
            &headers(&[("authorization", b"Bearer x")]),
            &config
        ));
        let keyed = config.vary_on(http::header::AUTHORIZATION);
        assert!(is_cacheable_request(
            &Method::GET,
            &headers(&[("authorization", b"Bearer x")]),
            &keyed
        ));
    }
}
