//! [`ResponseCacheConfig`]: which requests are cached, under which key, for how long, and
//! which responses may be stored.

use dynamorator::{CacheConfig, Ttl};
use http::{HeaderName, Method, StatusCode};

/// The settings of a [`ResponseCacheLayer`](crate::ResponseCacheLayer). Every setting has a
/// default:
///
/// | setting | default |
/// |---|---|
/// | [`ttl`](Self::ttl): fresh for, when the response says nothing (`max-age`, `s-maxage`) | 60 s |
/// | [`cache`](Self::cache): stale window, fail-safe, leases, L1, key prefix, codec | prefix `http-response`, split past 400 KB |
/// | [`methods`](Self::methods) | `GET`, `HEAD` |
/// | [`vary_on`](Self::vary_on): request headers that are part of the key | none |
/// | [`use_cache_control`](Self::use_cache_control): obey the response's `Cache-Control` | yes |
/// | [`store_private`](Self::store_private): store `private` and `no-store` responses | no |
/// | [`store_set_cookie`](Self::store_set_cookie) | no |
/// | [`store_status`](Self::store_status): statuses stored besides 2xx | none |
/// | [`max_body_bytes`](Self::max_body_bytes): larger bodies pass through unstored | 8 MiB |
/// | [`status_header`](Self::status_header) | `x-cache` |
///
/// ```
/// use std::time::Duration;
/// use dynamorator::{CacheConfig, Ttl};
/// use dynamorator_http::ResponseCacheConfig;
///
/// let config = ResponseCacheConfig::new()
///     .ttl(Ttl::minutes(1))
///     .cache(
///         CacheConfig::new()
///             .stale_for(Ttl::minutes(10)) // served at once while refreshed
///             .fail_safe_max(Ttl::hours(6)) // served when the handler fails
///             .leases(Duration::from_secs(30)), // one handler run per key in the fleet
///     )
///     .vary_on(http::header::ACCEPT_LANGUAGE);
/// ```
#[derive(Debug, Clone)]
pub struct ResponseCacheConfig {
    pub(crate) ttl: Ttl,
    pub(crate) cache: CacheConfig,
    pub(crate) methods: Vec<Method>,
    pub(crate) vary_on: Vec<HeaderName>,
    pub(crate) use_cache_control: bool,
    pub(crate) store_private: bool,
    pub(crate) store_set_cookie: bool,
    pub(crate) extra_statuses: Vec<StatusCode>,
    pub(crate) max_body_bytes: usize,
    pub(crate) status_header: HeaderName,
}

impl Default for ResponseCacheConfig {
    fn default() -> Self {
        ResponseCacheConfig {
            ttl: Ttl::secs(60),
            cache: CacheConfig::new(),
            methods: vec![Method::GET, Method::HEAD],
            vary_on: Vec::new(),
            use_cache_control: true,
            store_private: false,
            store_set_cookie: false,
            extra_statuses: Vec::new(),
            max_body_bytes: 8 << 20,
            status_header: HeaderName::from_static("x-cache"),
        }
    }
}

impl ResponseCacheConfig {
    /// The defaults (see the table above).
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new();
    /// ```
    pub fn new() -> Self {
        ResponseCacheConfig::default()
    }

    /// How long a response is fresh when its `Cache-Control` gives no `s-maxage` or
    /// `max-age` (or [`use_cache_control`](Self::use_cache_control) is off). Default: 60 s.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().ttl(dynamorator::Ttl::minutes(5));
    /// ```
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// The typed cache the responses live in, with the library's read-through settings:
    /// [`stale_for`](CacheConfig::stale_for) (stale-while-revalidate; a response's own
    /// `stale-while-revalidate` wins), [`fail_safe_max`](CacheConfig::fail_safe_max),
    /// [`leases`](CacheConfig::leases) (one handler run per key across processes), timeouts,
    /// an [L1](CacheConfig::l1), the key [`prefix`](CacheConfig::prefix) (default
    /// `http-response`) and codec. Its own `ttl` is replaced by [`ttl`](Self::ttl), and split
    /// values are always on.
    ///
    /// ```
    /// use dynamorator::{CacheConfig, Ttl};
    /// let config = dynamorator_http::ResponseCacheConfig::new()
    ///     .cache(CacheConfig::new().prefix("pages").stale_for(Ttl::minutes(5)));
    /// ```
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// The methods whose responses are cached; other requests pass through. Default: `GET`
    /// and `HEAD` (each under its own key).
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().methods([http::Method::GET]);
    /// ```
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// A request header whose value is part of the key (one cached response per value), as
    /// a `Vary` header would ask. A response whose `Vary` names a header that is not one of
    /// these is not stored (it would reach requests of another variant): name
    /// `Accept-Encoding` here when a compression layer runs inside this one. Requests with an
    /// `Authorization` header pass through unless it is one of these. Default: none.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().vary_on(http::header::ACCEPT);
    /// ```
    pub fn vary_on(mut self, header: HeaderName) -> Self {
        self.vary_on.push(header);
        self
    }

    /// Whether the response's `Cache-Control` decides: `s-maxage` or `max-age` the TTL,
    /// `stale-while-revalidate` the stale window, `no-store`, `no-cache` and `private` that
    /// it is not stored. Off, [`ttl`](Self::ttl) and [`cache`](Self::cache) decide alone.
    /// Default: on.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().use_cache_control(false);
    /// ```
    pub fn use_cache_control(mut self, enabled: bool) -> Self {
        self.use_cache_control = enabled;
        self
    }

    /// Store responses marked `private`, `no-store` or `no-cache` too (a service that knows
    /// its keys tell users apart). Default: off.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().store_private(true);
    /// ```
    pub fn store_private(mut self, enabled: bool) -> Self {
        self.store_private = enabled;
        self
    }

    /// Store responses that set a cookie (everyone then gets that cookie). Default: off.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().store_set_cookie(true);
    /// ```
    pub fn store_set_cookie(mut self, enabled: bool) -> Self {
        self.store_set_cookie = enabled;
        self
    }

    /// A status stored besides the 2xx ones (a `404` or `301`, say). A 5xx is never stored:
    /// it is a failed load, which a fail-safe value answers for. Default: 2xx only.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().store_status(http::StatusCode::NOT_FOUND);
    /// ```
    pub fn store_status(mut self, status: StatusCode) -> Self {
        self.extra_statuses.push(status);
        self
    }

    /// Bodies longer than this are passed through as they stream, not stored. Default: 8 MiB.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new().max_body_bytes(1 << 20);
    /// ```
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The response header that says how the layer answered ([`CacheStatus`](crate::CacheStatus)).
    /// Default: `x-cache`.
    ///
    /// ```
    /// let config = dynamorator_http::ResponseCacheConfig::new()
    ///     .status_header(http::HeaderName::from_static("x-response-cache"));
    /// ```
    pub fn status_header(mut self, name: HeaderName) -> Self {
        self.status_header = name;
        self
    }
}
