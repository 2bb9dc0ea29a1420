//! [`Loaded<T>`]: what a read-through loader returns when it chooses how its value is kept.

use crate::Ttl;

/// A loaded value with the loader's choice of how long it is kept, or that it is not kept.
///
/// A read-through loader returns `T`, or a `Loaded<T>` to choose: its own TTL and stale
/// window (an upstream "not found" cached briefly), or [`uncached`](Loaded::uncached) (an
/// error page returned to the caller but never stored). A plain `T` converts into
/// `Loaded::new(value)`: the cache's settings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Cache, CacheConfig, Loaded, Store, Ttl};
///
/// let pages: Cache<String> = Cache::new(&Store::embedded(), CacheConfig::new().ttl(Ttl::hours(1)));
/// let missing = pages
///     .get_or_insert_with("/gone", || async {
///         // Cache the upstream's 404 for a minute only.
///         Ok::<_, std::io::Error>(Loaded::new("not found".to_owned()).ttl(Ttl::minutes(1)))
///     })
///     .await?;
/// assert_eq!(missing, "not found");
/// let failed = pages
///     .get_or_insert_with("/flaky", || async {
///         Ok::<_, std::io::Error>(Loaded::uncached("try again".to_owned()))
///     })
///     .await?;
/// assert_eq!(failed, "try again");
/// assert_eq!(pages.get("/flaky").await?, None, "never stored");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded<T> {
    pub(crate) value: T,
    pub(crate) keep: Keep,
}

/// How a loaded value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Stored, with these horizons where the loader chose them (else the cache's).
    Stored {
        ttl: Option<Ttl>,
        stale_for: Option<Option<Ttl>>,
    },
    /// Returned, not stored (nor held in the L1).
    Uncached,
}

impl<T> Loaded<T> {
    /// The value, kept as the cache's settings say.
    ///
    /// ```
    /// let loaded = dynamorator::Loaded::new(42);
    /// assert_eq!(*loaded.value(), 42);
    /// ```
    pub fn new(value: T) -> Self {
        Loaded {
            value,
            keep: Keep::Stored {
                ttl: None,
                stale_for: None,
            },
        }
    }

    /// The value, returned to the caller (and callers sharing the load) but not stored.
    ///
    /// ```
    /// let loaded = dynamorator::Loaded::uncached("an error page");
    /// assert!(!loaded.is_stored());
    /// ```
    pub fn uncached(value: T) -> Self {
        Loaded {
            value,
            keep: Keep::Uncached,
        }
    }

    /// Fresh for `ttl` instead of the cache's TTL (the cache's stale window still follows,
    /// unless [`stale_for`](Loaded::stale_for) or [`no_stale`](Loaded::no_stale) says
    /// otherwise). On an uncached value it does nothing.
    ///
    /// ```
    /// let loaded = dynamorator::Loaded::new(0).ttl(dynamorator::Ttl::secs(30));
    /// ```
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        if let Keep::Stored { ttl: chosen, .. } = &mut self.keep {
            *chosen = Some(ttl);
        }
        self
    }

    /// Served stale for `window` after its TTL, instead of the cache's stale window.
    ///
    /// ```
    /// let loaded = dynamorator::Loaded::new(0).stale_for(dynamorator::Ttl::hours(1));
    /// ```
    pub fn stale_for(mut self, window: Ttl) -> Self {
        if let Keep::Stored { stale_for, .. } = &mut self.keep {
            *stale_for = Some(Some(window));
        }
        self
    }

    /// No stale window for this value: a miss once its TTL has passed.
    ///
    /// ```
    /// let loaded = dynamorator::Loaded::new(0).no_stale();
    /// ```
    pub fn no_stale(mut self) -> Self {
        if let Keep::Stored { stale_for, .. } = &mut self.keep {
            *stale_for = Some(None);
        }
        self
    }

    /// The value.
    ///
    /// ```
    /// assert_eq!(dynamorator::Loaded::new("v").value(), &"v");
    /// ```
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Whether the value will be stored.
    ///
    /// ```
    /// assert!(dynamorator::Loaded::new(1).is_stored());
    /// ```
    pub fn is_stored(&self) -> bool {
        matches!(self.keep, Keep::Stored { .. })
    }

    /// The value, without the choice.
    ///
    /// ```
    /// assert_eq!(dynamorator::Loaded::uncached(3).into_value(), 3);
    /// ```
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T> From<T> for Loaded<T> {
    fn from(value: T) -> Self {
        Loaded::new(value)
    }
}
