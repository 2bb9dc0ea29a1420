//! [`ManagerOptions`]: how long the manager keeps a response, and under which keys.

use std::time::Duration;

use dynamorator::{CacheConfig, Ttl};

/// How a [`DynamoratorManager`](crate::DynamoratorManager) keeps responses.
///
/// | setting | default |
/// |---|---|
/// | [`revalidation_window`](ManagerOptions::revalidation_window): kept past freshness when the response has a validator (`ETag`, `Last-Modified`) | 1 day |
/// | [`max_ttl`](ManagerOptions::max_ttl): the longest any response is kept | 30 days |
/// | [`cache`](ManagerOptions::cache): the typed cache's settings (prefix, codec, L1) | prefix `http-client`, split past 400 KB |
///
/// ```
/// use std::time::Duration;
/// use dynamorator_http::ManagerOptions;
///
/// let options = ManagerOptions::new().revalidation_window(Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    pub(crate) revalidation_window: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) cache: CacheConfig,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            revalidation_window: Duration::from_secs(86_400),
            max_ttl: Duration::from_secs(30 * 86_400),
            cache: CacheConfig::new(),
        }
    }
}

impl ManagerOptions {
    /// The defaults (see the table above).
    ///
    /// ```
    /// let options = dynamorator_http::ManagerOptions::new();
    /// ```
    pub fn new() -> Self {
        ManagerOptions::default()
    }

    /// How long a response with a validator (`ETag` or `Last-Modified`) is kept after it stops
    /// being fresh, so that http-cache can revalidate it (a `304 Not Modified` instead of the
    /// whole body). A response without one is kept only while fresh. Default: 1 day.
    ///
    /// ```
    /// let options = dynamorator_http::ManagerOptions::new()
    ///     .revalidation_window(std::time::Duration::ZERO);
    /// ```
    pub fn revalidation_window(mut self, window: Duration) -> Self {
        self.revalidation_window = window;
        self
    }

    /// The longest a response is kept, whatever its headers say. Default: 30 days.
    ///
    /// ```
    /// let options = dynamorator_http::ManagerOptions::new()
    ///     .max_ttl(std::time::Duration::from_secs(86_400));
    /// ```
    pub fn max_ttl(mut self, max: Duration) -> Self {
        self.max_ttl = max;
        self
    }

    /// The typed cache the responses are kept in: its key prefix (default `http-client`),
    /// codec, L1. Its TTL and freshness settings do not apply: each response is kept as its
    /// policy says. Split values are always on (a response may pass 400 KB); compression is
    /// the store's unless this config sets it.
    ///
    /// ```
    /// use dynamorator::CacheConfig;
    /// let options = dynamorator_http::ManagerOptions::new().cache(CacheConfig::new().prefix("api-cache"));
    /// ```
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// How long to keep a response that stays fresh for `fresh` and has a validator or not:
    /// `None` when there is nothing to keep it for.
    pub(crate) fn keep_for(&self, fresh: Duration, has_validator: bool) -> Option<Ttl> {
        let extra = if has_validator {
            self.revalidation_window
        } else {
            Duration::ZERO
        };
        let keep = fresh.saturating_add(extra).min(self.max_ttl);
        // Whole seconds, rounded up: the store's expiry is in seconds.
        let secs = keep.as_secs() + u64::from(keep.subsec_nanos() > 0);
        Ttl::try_from_secs(secs.min(Ttl::MAX_SECS)).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use dynamorator::Ttl;

    use super::ManagerOptions;

    #[test]
    fn keeps_fresh_responses_and_validated_ones_longer() {
        let options = ManagerOptions::new();
        let minute = Duration::from_secs(60);
        assert_eq!(options.keep_for(minute, false), Some(Ttl::secs(60)));
        assert_eq!(options.keep_for(minute, true), Some(Ttl::secs(60 + 86_400)));
        assert_eq!(options.keep_for(Duration::ZERO, false), None);
        assert_eq!(options.keep_for(Duration::ZERO, true), Some(Ttl::days(1)));
        assert_eq!(
            options.keep_for(Duration::from_millis(1), false),
            Some(Ttl::secs(1))
        );
        assert_eq!(
            options.keep_for(Duration::MAX, true),
            Some(Ttl::days(30)),
            "capped by max_ttl"
        );
    }
}
