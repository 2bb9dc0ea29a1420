//! The store: JSON values by string key, each with its TTL, on DynamoDB or the embedded
//! backend. Values go down through the codec to a backend; nothing here knows of typed caches.

mod backoff;
mod batch;
mod builder;
#[cfg(feature = "dynamodb")]
mod builder_dynamodb;
mod circuit;
#[cfg(feature = "dynamodb")]
mod dynamodb_options;
mod encoded;
mod extensions;
mod identity;
mod lease;

use std::sync::Arc;

use crate::backend::Backend;
use crate::backend::embedded::EmbeddedBackend;
use crate::backend::instrumented::Instrumented;
use crate::codec::Codec;
use crate::{Clock, CodecOptions};
use backoff::Backoff;

pub use builder::StoreBuilder;
pub use circuit::CircuitBreaker;
#[cfg(feature = "dynamodb")]
pub use dynamodb_options::DynamoDbOptions;
pub use item_info::{Encoding, ItemInfo};
pub use list::KeyPage;
pub use read::GetMany;
pub use record::Record;
pub use scan::{ScanOptions, ScannedItem};

pub(crate) use batch::{distinct, distinct_keys};
pub(crate) use encoded::Encoded;
pub(crate) use extensions::Extensions;
pub(crate) use identity::StoreId;

/// A JSON key-value store with a TTL per item, table-compatible with the Python package
/// `dynamorator`.
///
/// Every operation returns `Result<_, Error>` and is `#[must_use]`: a failed write is never
/// dropped silently. To ignore an error on purpose, say so: `let _ = store.put(..).await;`,
/// or `.ok()` on a read to turn a failure into a miss. No operation panics, whatever the input
/// or the server's answer. Expired items (`ttl <= now`) are misses on every read path, even
/// before DynamoDB deletes them.
///
/// | task | method |
/// |---|---|
/// | make one | [`builder`](Store::builder), [`embedded`](Store::embedded), [`disabled`](Store::disabled) |
/// | read one / many | [`get`](Store::get), [`get_many`](Store::get_many) |
/// | write one / many | [`put`](Store::put), [`put_many`](Store::put_many) |
/// | delete one / many | [`delete`](Store::delete), [`delete_many`](Store::delete_many), [`delete_present`](Store::delete_present) (says which were there) |
/// | change a TTL without rewriting the value | [`expire`](Store::expire) |
/// | list keys | [`list_keys`](Store::list_keys) (pages), [`keys`](Store::keys) (a stream) |
/// | inspect an item | [`item_info`](Store::item_info) |
/// | read every item, stored form and all | [`scan`](Store::scan) |
/// | write items with their own expiry | [`put_records`](Store::put_records) |
/// | write unless a newer version is stored | [`put_versioned`](Store::put_versioned) |
/// | what it is | [`is_enabled`](Store::is_enabled), [`table_name`](Store::table_name), [`clock`](Store::clock), [`codec_options`](Store::codec_options) |
///
/// Clones are cheap and share the client, the backend and the settings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
/// use serde_json::{json, Value};
///
/// let store = Store::embedded();
/// store.put("user:123", &json!({"name": "Alice", "score": 100}), Ttl::days(7)).await?;
/// let user: Option<Value> = store.get("user:123").await?;
/// assert_eq!(user, Some(json!({"name": "Alice", "score": 100})));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for a disabled store.
    backend: Option<Arc<dyn Backend>>,
    table: Option<String>,
    settings: Settings,
    /// State that layers above keep per store, by type; opaque here.
    extensions: Extensions,
}

/// The settings a built store runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) codec: Codec,
    pub(crate) clock: Clock,
    pub(crate) batch_concurrency: usize,
    pub(crate) batch_backoff: Backoff,
    pub(crate) circuit_breaker: CircuitBreaker,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            codec: Codec::default(),
            clock: Clock::system(),
            batch_concurrency: 16,
            batch_backoff: Backoff::default(),
            circuit_breaker: CircuitBreaker::default(),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Making stores, and what a store is.
impl Store {
    /// Starts configuring a store. See [`StoreBuilder`] for every setting and its default.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().table("my-data-store").build().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> StoreBuilder {
        StoreBuilder::default()
    }

    /// A store on the embedded backend, with default settings: items live in this process,
    /// with the same semantics as on DynamoDB. No AWS account, server or `await` needed.
    ///
    /// ```
    /// let store = dynamorator::Store::embedded();
    /// assert!(store.is_enabled());
    /// ```
    pub fn embedded() -> Store {
        Store::from_parts(
            Some(Arc::new(EmbeddedBackend::new())),
            None,
            Settings::default(),
        )
    }

    /// A disabled store: writes succeed and do nothing, reads find nothing, like the Python
    /// package with `table_name=None`. Handy to run without a cache in tests or locally.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::disabled();
    /// store.put("k", &1, dynamorator::Ttl::days(1)).await?;
    /// assert_eq!(store.get::<i32>("k").await?, None);
    /// # Ok(()) }
    /// ```
    pub fn disabled() -> Store {
        Store::from_parts(None, None, Settings::default())
    }

    pub(crate) fn from_parts(
        backend: Option<Arc<dyn Backend>>,
        table: Option<String>,
        settings: Settings,
    ) -> Store {
        // Every request is observed (spans, and metrics with the `metrics` feature).
        let backend = backend.map(|backend| Instrumented::wrap(backend, table.as_deref()));
        Store {
            inner: Arc::new(Inner {
                backend,
                table,
                settings,
                extensions: Extensions::default(),
            }),
        }
    }

    /// Whether the store has somewhere to keep items (false for a disabled store).
    ///
    /// ```
    /// assert!(!dynamorator::Store::disabled().is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.inner.backend.is_some()
    }

    /// The DynamoDB table's name; `None` for the embedded backend and a disabled store.
    ///
    /// ```
    /// assert_eq!(dynamorator::Store::embedded().table_name(), None);
    /// ```
    pub fn table_name(&self) -> Option<&str> {
        self.inner.table.as_deref()
    }

    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.inner.backend.as_ref()
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The codec values are written with, unless a cache overrides it.
    pub(crate) fn codec(&self) -> Codec {
        self.inner.settings.codec
    }

    /// How this store encodes values (a cache on it may change some settings for its own).
    ///
    /// ```
    /// use dynamorator::{CodecOptions, Store};
    /// assert_eq!(Store::embedded().codec_options(), CodecOptions::default());
    /// ```
    pub fn codec_options(&self) -> CodecOptions {
        CodecOptions::of(self.inner.settings.codec)
    }

    /// The clock this store reads expiry against.
    ///
    /// ```
    /// let store = dynamorator::Store::embedded();
    /// assert!(store.clock().now_epoch_secs() > 0);
    /// ```
    pub fn clock(&self) -> &Clock {
        &self.inner.settings.clock
    }

    /// Whole epoch seconds now, by the store's clock.
    pub(crate) fn now(&self) -> i64 {
        self.inner.settings.clock.now_epoch_secs()
    }

    /// Per-store state of the layers above (the typed caches' registry, read-through's circuit
    /// breaker).
    pub(crate) fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }
}

// The `impl Store` blocks by task, declared after the one above in the order the docs should
// show them: rustdoc lists a type's impl blocks in the order it meets them.
mod read;

mod write;

mod list;

mod item_info;

mod scan;

mod record;

#[cfg(test)]
mod condition_cases;
mod conditional;

mod parts;

mod feed;
