//! [`CacheStatus`]: how a response was answered, as the `x-cache` header says it.

/// How the layer answered a request; the value of its status header (`x-cache` by default).
///
/// ```
/// use dynamorator_http::CacheStatus;
/// assert_eq!(CacheStatus::Stale.as_str(), "STALE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// From the cache, fresh.
    Hit,
    /// From the cache, past its TTL: served while it is refreshed (stale-while-revalidate),
    /// or because the handler failed (fail-safe).
    Stale,
    /// The handler ran for this request.
    Miss,
    /// Not for the cache: a method, `Range` or `Authorization` the layer does not cache.
    Bypass,
}

impl CacheStatus {
    /// The header value: `HIT`, `STALE`, `MISS` or `BYPASS`.
    ///
    /// ```
    /// assert_eq!(dynamorator_http::CacheStatus::Hit.as_str(), "HIT");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Stale => "STALE",
            CacheStatus::Miss => "MISS",
            CacheStatus::Bypass => "BYPASS",
        }
    }
}
