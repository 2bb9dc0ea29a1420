//! [`Store`]: JSON values by string key, with a TTL each, on DynamoDB or the embedded backend.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backend::Backend;
use crate::backend::embedded::EmbeddedBackend;
use crate::backoff::Backoff;
use crate::builder::StoreBuilder;
use crate::cache::Shared;
use crate::codec::Codec;
use crate::item::{MAX_ITEM_BYTES, StoredItem};
use crate::key::validate_key;
use crate::log::warn_unless_silent;
use crate::ttl::{Ttl, is_expired, now_epoch_secs};
use crate::{Cache, Cached};

/// The settings a built store runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) codec: Codec,
    pub(crate) silent: bool,
    pub(crate) batch_concurrency: usize,
    pub(crate) batch_backoff: Backoff,
}

/// A JSON key-value store with per-item TTL, table-compatible with the Python package
/// `dynamorator`.
///
/// Each operation comes in two forms:
///
/// - the **never-fail** form (`get`, `put`, `batch_get`, …) behaves like the Python package:
///   reads return `Option`/maps, writes return `()`, and any failure is logged as a `tracing`
///   warning (unless [`silent`](StoreBuilder::silent)) and otherwise swallowed;
/// - the **fallible** form (`try_get`, `try_put`, `try_batch_get`, …) returns
///   `Result<_, Error>` saying exactly what went wrong.
///
/// Neither form panics, whatever the input or the server's answer. Expired items
/// (`ttl <= now`) are misses on every read path, even before DynamoDB deletes them.
///
/// Cloning is cheap: clones share the client, the backend and the settings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
/// use serde_json::{json, Value};
///
/// let store = Store::embedded();
/// store.try_put("user:123", &json!({"name": "Alice", "score": 100}), Ttl::days(7.0)).await?;
/// let user: Option<Value> = store.try_get("user:123").await?;
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
    /// The shared state of each `#[derive(Cached)]` type's cache on this store, by type.
    /// (State only, never a `Cache`: a cache holds the store, which would make a cycle.)
    typed_caches: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

/// A value read from the store, with what the layers above need to know about its item.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "l1"), allow(dead_code))] // Expiry and size are for the L1.
pub(crate) struct Fetched<V> {
    pub(crate) value: V,
    /// Epoch seconds after which the item is a miss.
    pub(crate) expires_at: i64,
    /// The item's encoded size in bytes.
    pub(crate) size: usize,
}

impl Store {
    /// Starts configuring a store. See [`StoreBuilder`] for every setting and its default.
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
        let settings = Settings {
            codec: Codec::default(),
            silent: false,
            batch_concurrency: 16,
            batch_backoff: Backoff::default(),
        };
        Store::from_parts(Some(Arc::new(EmbeddedBackend::new())), None, settings)
    }

    /// A disabled store: writes do nothing and reads find nothing, like the Python package
    /// with `table_name=None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = dynamorator::Store::disabled();
    /// store.put("k", &1, dynamorator::Ttl::days(1.0)).await;
    /// assert_eq!(store.get::<i32>("k").await, None);
    /// # }
    /// ```
    pub fn disabled() -> Store {
        let settings = Settings {
            codec: Codec::default(),
            silent: true,
            batch_concurrency: 1,
            batch_backoff: Backoff::default(),
        };
        Store::from_parts(None, None, settings)
    }

    pub(crate) fn from_parts(
        backend: Option<Arc<dyn Backend>>,
        table: Option<String>,
        settings: Settings,
    ) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                table,
                settings,
                typed_caches: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether the store has somewhere to keep items (false for a disabled store).
    pub fn is_enabled(&self) -> bool {
        self.inner.backend.is_some()
    }

    /// The DynamoDB table's name; `None` for the embedded backend and a disabled store.
    pub fn table_name(&self) -> Option<&str> {
        self.inner.table.as_deref()
    }

    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.inner.backend.as_ref()
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Logs a failure of a never-fail form, unless silent.
    pub(crate) fn report(&self, operation: &'static str, key: &str, error: &Error) {
        warn_unless_silent!(self.inner.settings.silent, operation, key, %error, "dynamorator: operation failed");
    }

    /// Stores `value` under `key` for `ttl`, replacing any value there.
    ///
    /// # Errors
    ///
    /// An invalid key, TTL or value, an item over 400 KB once encoded, or a DynamoDB failure.
    /// A disabled store does nothing and returns `Ok(())`.
    pub async fn try_put<V>(&self, key: &str, value: &V, ttl: impl Into<Ttl>) -> Result<(), Error>
    where
        V: Serialize + ?Sized,
    {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        let codec = self.inner.settings.codec;
        let item = self.encode_item(&codec, key, value, ttl.into(), now_epoch_secs())?;
        backend.put(item).await
    }

    /// [`try_put`](Store::try_put), logging any failure instead of returning it.
    pub async fn put<V>(&self, key: &str, value: &V, ttl: impl Into<Ttl>)
    where
        V: Serialize + ?Sized,
    {
        if let Err(error) = self.try_put(key, value, ttl).await {
            self.report("put", key, &error);
        }
    }

    /// Reads the value under `key` as `V`; `Ok(None)` when absent or expired.
    ///
    /// # Errors
    ///
    /// An invalid key, a DynamoDB failure, a corrupt item ([`Error::Corrupt`]) or a value of
    /// another shape than `V` ([`Error::TypeMismatch`]).
    pub async fn try_get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        Ok(self.fetch(key).await?.map(|fetched| fetched.value))
    }

    /// [`try_get`](Store::try_get), logging any failure and returning `None` for it.
    pub async fn get<V: DeserializeOwned>(&self, key: &str) -> Option<V> {
        self.try_get(key).await.unwrap_or_else(|error| {
            self.report("get", key, &error);
            None
        })
    }

    /// Deletes the value under `key`; deleting an absent key is not an error.
    ///
    /// # Errors
    ///
    /// An invalid key or a DynamoDB failure.
    pub async fn try_delete(&self, key: &str) -> Result<(), Error> {
        let Some(backend) = self.backend() else {
            return Ok(());
        };
        validate_key(key)?;
        backend.delete(key).await
    }

    /// [`try_delete`](Store::try_delete), logging any failure instead of returning it.
    pub async fn delete(&self, key: &str) {
        if let Err(error) = self.try_delete(key).await {
            self.report("delete", key, &error);
        }
    }

    /// Reads one item and decodes it, with its expiry and size.
    pub(crate) async fn fetch<V: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Fetched<V>>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(None);
        };
        validate_key(key)?;
        match backend.get(key).await? {
            Some(item) => self.decode_item(&item, now_epoch_secs()),
            None => Ok(None),
        }
    }

    /// Decodes a stored item; `Ok(None)` when it has expired.
    pub(crate) fn decode_item<V: DeserializeOwned>(
        &self,
        item: &StoredItem,
        now: i64,
    ) -> Result<Option<Fetched<V>>, Error> {
        if is_expired(item.expires_at, now) {
            return Ok(None);
        }
        let value = self.inner.settings.codec.decode(item)?;
        Ok(Some(Fetched {
            value,
            expires_at: item.expires_at,
            size: item.encoded_size(),
        }))
    }

    /// Encodes a value as an item written at `now`, refusing what DynamoDB would refuse.
    pub(crate) fn encode_item<V: Serialize + ?Sized>(
        &self,
        codec: &Codec,
        key: &str,
        value: &V,
        ttl: Ttl,
        now: i64,
    ) -> Result<StoredItem, Error> {
        validate_key(key)?;
        let expires_at = ttl.expires_at(now)?;
        let encoded = codec.encode(value)?;
        let item = StoredItem {
            key: key.to_owned(),
            data: encoded.data,
            compressed: encoded.compressed,
            expires_at,
            created_at: Some(now),
        };
        let size = item.encoded_size();
        if size > MAX_ITEM_BYTES {
            return Err(Error::ItemTooLarge {
                key: key.to_owned(),
                size,
                compressed: item.compressed,
            });
        }
        Ok(item)
    }

    /// Writes an encoded item (a no-op on a disabled store).
    pub(crate) async fn put_item(&self, item: StoredItem) -> Result<(), Error> {
        match self.backend() {
            Some(backend) => backend.put(item).await,
            None => Ok(()),
        }
    }

    /// The cache of a `Cached` type on this store, sharing its state with every other call;
    /// `make` builds the state the first time.
    pub(crate) fn shared_cache<T: Cached>(&self, make: impl FnOnce() -> Shared<T>) -> Cache<T> {
        let state = {
            let mut caches = self
                .inner
                .typed_caches
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let entry = caches
                .entry(TypeId::of::<T>())
                .or_insert_with(|| Arc::new(make()) as Arc<dyn Any + Send + Sync>);
            entry.clone().downcast::<Shared<T>>()
        };
        // The map is keyed by the type, so the downcast cannot fail; were it to, a fresh state
        // is still a working cache.
        let state = state.unwrap_or_else(|_| Arc::new(Shared::new()));
        Cache::with_shared(self, &T::CONFIG, state)
    }
}
