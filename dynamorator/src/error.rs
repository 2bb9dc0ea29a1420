//! The one error type of the crate, shared by every layer.
//!
//! Variants say what went wrong and why in one sentence, never the stored payload: keys are
//! shown, values are not, so an error can go to a log without leaking data. What caused it
//! (the AWS SDK's error with its request id, an I/O error, a loader's error) is the
//! [`source`](std::error::Error::source), not part of the message.

use std::any::Any;
use std::sync::Arc;

/// A cause shared behind an `Arc`, so [`Error`] stays `Clone`.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a store or cache operation.
///
/// The enum is `#[non_exhaustive]`: match the variants you act on and keep a catch-all arm.
/// It is `Clone` (causes are shared behind `Arc`) so one failure can be handed to every caller
/// that waited on it.
///
/// ```
/// use dynamorator::Error;
///
/// let error = Error::KeyTooLong { len: 3000 };
/// assert!(!error.is_retryable());
/// assert_eq!(error.to_string(), "key is 3000 bytes long; DynamoDB allows at most 2048");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key is the empty string, which DynamoDB refuses as a partition key.
    #[error("key is empty; DynamoDB partition keys need at least one byte")]
    EmptyKey,

    /// The key is longer than DynamoDB's 2048-byte partition key limit (counted in UTF-8 bytes).
    #[error("key is {len} bytes long; DynamoDB allows at most 2048")]
    KeyTooLong {
        /// The key's length in UTF-8 bytes.
        len: usize,
    },

    /// The encoded item is larger than DynamoDB's 400 KB item limit, so it was not written.
    ///
    /// Enable compression, turn on splitting (`StoreBuilder::split`), or store less under one
    /// key.
    #[error(
        "item for key {key:?} is {size} bytes once encoded; DynamoDB allows at most 409600 \
         (400 KB){hint}",
        hint = if *.compressed {
            "; splitting (StoreBuilder::split) stores it as parts"
        } else {
            "; enabling compression may make it fit, or splitting (StoreBuilder::split) stores \
             it as parts"
        }
    )]
    ItemTooLarge {
        /// The key of the refused item.
        key: String,
        /// Its encoded size in bytes: attribute names plus values, as DynamoDB counts them.
        size: usize,
        /// Whether the data was already compressed.
        compressed: bool,
    },

    /// The value is too large to store even split into parts: its stored bytes (after
    /// compression) pass the split maximum (`split_max_bytes`, 32 MiB by default), or they or
    /// its JSON pass what a reader reads back (`max_inflated_bytes`, 64 MiB by default; and
    /// 1,024 parts of 300,000 bytes). Nothing is written that no reader would read.
    #[error(
        "value for key {key:?} is {size} bytes; a split value may take at most {limit} bytes \
         (the least of split_max_bytes, max_inflated_bytes and 1,024 parts)"
    )]
    ValueTooLarge {
        /// The key of the refused value.
        key: String,
        /// Its stored bytes (the JSON, or its gzip or zstd), or its JSON's length where that
        /// is what passes the limit.
        size: usize,
        /// The limit it passes.
        limit: usize,
    },

    /// A time-to-live that cannot be stored: NaN, infinite, negative, under one second, or
    /// beyond [`Ttl::MAX_SECS`](crate::Ttl::MAX_SECS). Raised where the [`Ttl`](crate::Ttl) is
    /// made, never later.
    #[error("invalid time-to-live: {reason}")]
    InvalidTtl {
        /// Why the TTL was refused.
        reason: &'static str,
    },

    /// An argument outside the range the operation accepts (a zero page size, say).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What was wrong with it.
        reason: &'static str,
    },

    /// The store or cache was configured with values that cannot work (no backend chosen, an
    /// invalid table name, no region, a zero limit).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with the configuration.
        reason: String,
    },

    /// The value could not be serialised to JSON (a map with non-string keys, say).
    #[error("value could not be encoded as JSON")]
    Serialize(#[source] Arc<serde_json::Error>),

    /// A stored item is not in the table format: it can never be decoded, whatever the type.
    #[error("stored item {key:?} is corrupt: {reason}")]
    Corrupt {
        /// The key of the corrupt item.
        key: String,
        /// What is wrong with it.
        reason: CorruptReason,
    },

    /// The stored JSON is valid but does not have the shape of the requested type
    /// (a schema change, or another writer's value under the same key).
    #[error("stored value {key:?} does not decode as {type_name}: {detail}")]
    TypeMismatch {
        /// The key whose value did not decode.
        key: String,
        /// The Rust type that was asked for.
        type_name: &'static str,
        /// serde_json's account of the mismatch, with quoted stored text left out.
        detail: String,
    },

    /// DynamoDB throttled the request and the SDK's retries did not get it through.
    #[error("{operation} was throttled by DynamoDB")]
    Throttled {
        /// The DynamoDB operation, e.g. `GetItem`.
        operation: &'static str,
        /// The request id DynamoDB gave, for AWS support.
        request_id: Option<String>,
        /// The SDK's error.
        #[source]
        source: Source,
    },

    /// The request did not complete within the configured timeout.
    #[error("{operation} timed out")]
    Timeout {
        /// The DynamoDB operation, e.g. `GetItem`.
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: Source,
    },

    /// The request could not be sent or its response could not be read: connection refused,
    /// reset, cut short, or a successful answer whose body is not the JSON DynamoDB sends.
    #[error("{operation} could not reach DynamoDB")]
    Unreachable {
        /// The DynamoDB operation, e.g. `GetItem`.
        operation: &'static str,
        /// The SDK's error, with the transport's cause below it.
        #[source]
        source: Source,
    },

    /// DynamoDB answered with an error (validation, missing table, access denied, …).
    #[error("{operation} failed with {code}: {message}")]
    Service {
        /// The DynamoDB operation, e.g. `GetItem`.
        operation: &'static str,
        /// The service's error code, e.g. `ValidationException`.
        code: String,
        /// The service's message.
        message: String,
        /// The HTTP status of the answer.
        status: Option<u16>,
        /// The request id DynamoDB gave, for AWS support.
        request_id: Option<String>,
        /// The SDK's error.
        #[source]
        source: Source,
    },

    /// A batch request's keys or items were still unprocessed after every retry.
    #[error("{operation} left keys unprocessed after {attempts} attempts")]
    Unprocessed {
        /// `BatchGetItem` or `BatchWriteItem`.
        operation: &'static str,
        /// How many requests were sent for them.
        attempts: u32,
    },

    /// Some writes of a batch failed; the others were written.
    #[error("{} of {} batch writes failed", .failures.iter().map(|f| f.keys.len()).sum::<usize>(), .attempted)]
    Incomplete {
        /// How many distinct keys the batch tried to write.
        attempted: usize,
        /// The keys that were not written, grouped by cause.
        failures: Vec<BatchFailure>,
    },

    /// The table could not be created, found ACTIVE, or described while building the store.
    #[error("table {table:?} could not be set up: {reason}")]
    TableSetup {
        /// The table name.
        table: String,
        /// What failed, in words.
        reason: String,
        /// The request error behind it, if one was.
        #[source]
        source: Option<Box<Error>>,
    },

    /// A read-through loader returned an error; nothing was stored. The loader's own error is
    /// inside: [`Error::loader_error`] gives it back typed.
    #[error("the loader failed")]
    Loader(#[source] LoaderError),

    /// A read-through load ran past the cache's
    /// [`hard_timeout`](crate::CacheConfig::hard_timeout) and was abandoned, with no value to
    /// fall back on.
    #[error("the loader did not finish within {after:?}")]
    LoaderTimeout {
        /// The hard timeout.
        after: std::time::Duration,
    },

    /// The embedded backend could not use its file.
    #[error("embedded store file {path:?} {reason}")]
    Embedded {
        /// The file.
        path: std::path::PathBuf,
        /// What failed, e.g. "cannot be opened".
        reason: &'static str,
        /// The I/O error, if one was (the embedded database's own errors come wrapped in one).
        #[source]
        source: Option<Arc<std::io::Error>>,
    },
}

/// Keys that a batch operation could not read or write, and why.
#[derive(Debug, Clone)]
pub struct BatchFailure {
    /// The keys that share this cause.
    pub keys: Vec<String>,
    /// The cause.
    pub error: Error,
}

/// Why a stored item could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptReason {
    /// A required attribute is absent.
    #[error("attribute {0:?} is missing")]
    MissingAttribute(&'static str),
    /// An attribute has another DynamoDB type than the format's.
    #[error("attribute {attribute:?} should be of type {expected}")]
    WrongType {
        /// The attribute name.
        attribute: &'static str,
        /// The DynamoDB type the format uses (`S`, `N`, `B`, `BOOL`).
        expected: &'static str,
    },
    /// A number attribute that is not a whole number of seconds.
    #[error("attribute {0:?} is not a whole number")]
    BadNumber(&'static str),
    /// `compressed` is set but `data` is not valid standard base64.
    #[error("compressed data is not valid base64")]
    Base64,
    /// The base64 decoded, but not to a valid gzip stream.
    #[error("compressed data is not a valid gzip stream: {0}")]
    Gzip(String),
    /// The compressed data inflates past the configured cap, or a zstd frame declares it would
    /// (a compression bomb, or a cap set too low).
    #[error("compressed data inflates past the {limit}-byte cap")]
    TooLarge {
        /// The configured cap, in bytes.
        limit: usize,
    },
    /// The `zstd` attribute is not a valid zstd frame: not zstd at all, cut short, damaged (its
    /// checksum fails), or using a window larger than the cap allows.
    #[error("compressed data is not a valid zstd frame: {0}")]
    Zstd(String),
    /// The item holds a value in two forms at once (`data` and `zstd`), which no writer of the
    /// table format does: neither is trusted.
    #[error("attributes {0:?} and {1:?} both hold a value")]
    Ambiguous(&'static str, &'static str),
    /// A split value (README, "Values past 400 KB") whose head or parts do not hold
    /// together: a part count out of range, a part of another write or place, lengths that
    /// do not add up, a checksum that does not match.
    #[error("split value: {0}")]
    Split(&'static str),
    /// An attribute that names a form holds a name this version does not know.
    #[error("attribute {0:?} names an unknown form")]
    BadForm(&'static str),
    /// The value's text is not valid JSON (or not UTF-8).
    #[error("data is not valid JSON: {0}")]
    Json(String),
    /// The embedded file's record of the item cannot be read (cut short, or written by a newer
    /// version of this crate).
    #[error("the embedded file's record is unreadable: {0}")]
    Record(&'static str),
}

/// A read-through loader's error, kept whole: its message, its `source()` chain and its type.
///
/// Every caller that shared the failed load gets a clone; [`downcast`](LoaderError::downcast)
/// gives the loader's error back as `Arc<E>`, like moka's `try_get_with`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use dynamorator::{Cache, CacheConfig, Error, Store};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("upstream answered {0}")]
/// struct Upstream(u16);
///
/// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
/// let error = cache
///     .get_or_insert_with("k", || async { Err::<u32, _>(Upstream(503)) })
///     .await
///     .unwrap_err();
/// let upstream = error.loader_error::<Upstream>().expect("the loader's own error");
/// assert_eq!(upstream.0, 503);
/// # }
/// ```
#[derive(Clone)]
pub struct LoaderError {
    error: Arc<dyn std::error::Error + Send + Sync + 'static>,
    typed: Arc<dyn Any + Send + Sync + 'static>,
}

impl LoaderError {
    pub(crate) fn new<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        let error = Arc::new(error);
        LoaderError {
            typed: error.clone(),
            error,
        }
    }

    /// The loader's error as its own type, shared (`Arc<E>`), or `None` if it is of another
    /// type.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use dynamorator::{Cache, CacheConfig, Error, Store};
    ///
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let failed = cache
    ///     .get_or_insert_with("k", || async { Err::<u32, _>(std::io::Error::other("upstream down")) })
    ///     .await;
    /// let Err(Error::Loader(loader)) = failed else { panic!("the loader failed") };
    /// let io = loader.downcast::<std::io::Error>().expect("an io::Error");
    /// assert_eq!(io.to_string(), "upstream down");
    /// assert!(loader.downcast::<std::fmt::Error>().is_none());
    /// # }
    /// ```
    pub fn downcast<E: std::error::Error + Send + Sync + 'static>(&self) -> Option<Arc<E>> {
        self.typed.clone().downcast::<E>().ok()
    }

    /// A reference to the loader's error as its own type.
    ///
    /// ```
    /// # use dynamorator::Error;
    /// # fn demo(error: Error) {
    /// if let Error::Loader(loader) = &error {
    ///     if let Some(io) = loader.downcast_ref::<std::io::Error>() {
    ///         eprintln!("loader I/O error: {io}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn downcast_ref<E: std::error::Error + Send + Sync + 'static>(&self) -> Option<&E> {
        self.typed.downcast_ref::<E>()
    }

    /// The loader's error as a trait object, whatever its type.
    ///
    /// ```
    /// # use dynamorator::Error;
    /// # fn demo(error: Error) {
    /// if let Error::Loader(loader) = &error {
    ///     eprintln!("loader failed: {}", loader.get_ref());
    /// }
    /// # }
    /// ```
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl std::fmt::Debug for LoaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.error, f)
    }
}

impl std::fmt::Display for LoaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for LoaderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// An [`Error`] as an I/O error of kind [`Other`](std::io::ErrorKind::Other), the error kept
/// as its source: so `std::io::Error` can be the error type of a
/// `#[memoize]` function.
///
/// ```
/// let io = std::io::Error::from(dynamorator::Error::EmptyKey);
/// assert_eq!(io.kind(), std::io::ErrorKind::Other);
/// ```
impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        std::io::Error::other(error)
    }
}

impl Error {
    /// Whether trying the same call again later may succeed: throttling, timeouts, unreachable
    /// servers, 5xx answers and unprocessed batch keys. Validation, size and corruption errors
    /// are final.
    ///
    /// ```
    /// # use dynamorator::Error;
    /// assert!(Error::Unprocessed { operation: "BatchGetItem", attempts: 8 }.is_retryable());
    /// assert!(!Error::EmptyKey.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. }
            | Error::Timeout { .. }
            | Error::Unreachable { .. }
            | Error::Unprocessed { .. } => true,
            Error::Service { status, .. } => status.is_some_and(|status| status >= 500),
            Error::Incomplete { failures, .. } => failures.iter().all(|f| f.error.is_retryable()),
            _ => false,
        }
    }

    /// Whether the error is about the caller's input (key, TTL, size, value, argument), so the
    /// same call will fail the same way.
    ///
    /// ```
    /// # use dynamorator::Error;
    /// assert!(Error::EmptyKey.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::EmptyKey
                | Error::KeyTooLong { .. }
                | Error::ItemTooLarge { .. }
                | Error::ValueTooLarge { .. }
                | Error::InvalidTtl { .. }
                | Error::InvalidArgument { .. }
                | Error::Serialize(_)
        )
    }

    /// The read-through loader's own error, when this is [`Error::Loader`] and the loader's
    /// error is an `E`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use dynamorator::{Cache, CacheConfig, Store};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("upstream answered {0}")]
    /// struct Upstream(u16);
    ///
    /// let cache: Cache<u32> = Cache::new(&Store::embedded(), CacheConfig::new());
    /// let error = cache
    ///     .get_or_insert_with("k", || async { Err::<u32, _>(Upstream(503)) })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.loader_error::<Upstream>().map(|e| e.0), Some(503));
    /// # }
    /// ```
    pub fn loader_error<E: std::error::Error + Send + Sync + 'static>(&self) -> Option<Arc<E>> {
        match self {
            Error::Loader(error) => error.downcast::<E>(),
            _ => None,
        }
    }

    pub(crate) fn corrupt(key: &str, reason: CorruptReason) -> Self {
        Error::Corrupt {
            key: key.to_owned(),
            reason,
        }
    }

    /// A stored value that cannot be decoded (corrupt, or of another type): a miss to the
    /// layers that treat it as one.
    pub(crate) fn is_undecodable(&self) -> bool {
        matches!(self, Error::Corrupt { .. } | Error::TypeMismatch { .. })
    }

    /// A request to the store that failed (unreachable, timed out, throttled, refused by the
    /// service), as the circuit breaker counts failures; not a bad key, value or item.
    pub(crate) fn is_request_failure(&self) -> bool {
        matches!(
            self,
            Error::Throttled { .. }
                | Error::Timeout { .. }
                | Error::Unreachable { .. }
                | Error::Service { .. }
                | Error::Unprocessed { .. }
                | Error::Embedded { .. }
        )
    }
}
