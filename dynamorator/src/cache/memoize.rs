//! The runtime of `#[memoize]`: a memoised function's key (the SHA-256 of its arguments'
//! canonical JSON), its cache (one per function per store, kept in the store's extensions),
//! and its calls, which read through that cache with the function's body as the loader.
//!
//! Reached by the macro's expansion through `__private::memoize`; not public API. The key
//! encoding is documented in the README ("Memoised functions") and pinned by a golden test:
//! changing it turns every stored value into a miss.

use std::any::Any;
use std::convert::Infallible;
use std::fmt::{self, Display, Write as _};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;
use serde::Serialize;
use serde_json::Value;

use super::fail_open::warn_fail_open;
use super::{Cache, CacheStats, Shared};
use crate::__private::CacheValue;
use crate::store::sha256_hex;
use crate::{CacheConfig, Error, Store};

/// An argument that is part of a memoised function's key. An unmet bound is one error on the
/// argument's type, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a memoised function's key: it must implement serde's \
               `Serialize`",
    label = "this argument is hashed into the key",
    note = "leave a handle (an HTTP client, a connection pool) out of the key with \
            `#[memoize(skip(name))]`, or give the key yourself with `#[memoize(key = ...)]`"
)]
pub trait KeyArg: Serialize {}

#[diagnostic::do_not_recommend]
impl<A: Serialize + ?Sized> KeyArg for A {}

/// The error type of a memoised function returning `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a memoised function: it must implement \
               `Display`, `From<dynamorator::Error>`, `Send` and `'static`",
    label = "the error type of this memoised function",
    note = "the function's own error comes back by value; a caller that waited for another \
            caller's failed load, or a load past `hard_timeout_ms`, gets \
            `E::from(dynamorator::Error)`",
    note = "`anyhow::Error`, `std::io::Error` and `Box<dyn Error + Send + Sync>` implement it; \
            for your own enum add a variant `Cache(#[from] dynamorator::Error)`"
)]
pub trait MemoError: Display + From<Error> + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<E: Display + From<Error> + Send + 'static> MemoError for E {}

/// The arguments of one call, gathered in declaration order, then hashed.
#[derive(Default)]
pub struct KeyArgs {
    values: Vec<Value>,
    error: Option<Error>,
}

impl KeyArgs {
    /// No arguments yet.
    pub fn new() -> Self {
        KeyArgs::default()
    }

    /// Adds the next key argument.
    pub fn arg<A: KeyArg + ?Sized>(&mut self, arg: &A) {
        match serde_json::to_value(arg) {
            Ok(value) => self.values.push(value),
            Err(error) => {
                self.error.get_or_insert(Error::Serialize(Arc::new(error)));
            }
        }
    }

    /// The key: the hex SHA-256 of the canonical JSON array of the arguments.
    pub fn finish(self) -> Result<String, Error> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(digest(&Value::Array(self.values))),
        }
    }
}

/// The key of `#[memoize(key = expr)]`: the hex SHA-256 of the value's canonical JSON.
pub fn key_of<K: KeyArg + ?Sized>(key: &K) -> Result<String, Error> {
    serde_json::to_value(key)
        .map(|value| digest(&value))
        .map_err(|error| Error::Serialize(Arc::new(error)))
}

/// The hex SHA-256 of `value`'s canonical JSON.
fn digest(value: &Value) -> String {
    let mut text = String::new();
    canonical_json(value, &mut text);
    sha256_hex(text.as_bytes())
}

/// Compact JSON with every object's keys in byte order, whatever the map type's order (or
/// serde_json's `preserve_order` feature): equal values give equal text.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", Value::String(key.clone()));
                out.push(':');
                canonical_json(item, out);
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

/// A memoised function, as the macro describes it on a marker type of its own: its value type
/// and its settings. The marker keys the function's cache in each store's extensions.
pub trait Memoized: Any {
    /// What the function returns (the `T` of a `Result<T, E>`).
    type Value: CacheValue + Clone;

    /// The function's settings, as `#[memoize(...)]` gives them.
    fn config() -> CacheConfig;
}

/// The shared state of one memoised function's cache on one store.
struct Registered<M: Memoized>(Arc<Shared<M::Value>>, PhantomData<fn() -> M>);

/// The store's cache of the function `M`, shared by every call on that store.
pub fn cache<M: Memoized>(store: &Store) -> Cache<M::Value> {
    let config = M::config();
    let registered = store
        .extensions()
        .get_or_insert_with(|| Registered::<M>(Arc::new(Shared::new(&config, store)), PhantomData));
    Cache::with_shared(store, &config, registered.0.clone())
}

/// The key as stored in the table: the cache's prefix, then the digest.
pub fn stored_key<M: Memoized>(key: Result<String, Error>) -> Result<String, Error> {
    key.map(|digest| format!("{}{digest}", M::config().key_prefix()))
}

/// Deletes the value stored for one set of arguments, from the store and the L1.
pub async fn invalidate<M: Memoized>(
    store: &Store,
    key: Result<String, Error>,
) -> Result<(), Error> {
    cache::<M>(store).delete(&key?).await
}

/// The statistics of the function's cache on `store`.
pub fn stats<M: Memoized>(store: &Store) -> CacheStats {
    cache::<M>(store).stats()
}

/// A body's error, kept for the caller whose body it was: taken out by value once.
struct Owned<E> {
    message: Arc<str>,
    error: Arc<Mutex<Option<E>>>,
}

impl<E> Clone for Owned<E> {
    fn clone(&self) -> Self {
        Owned {
            message: self.message.clone(),
            error: self.error.clone(),
        }
    }
}

impl<E: Display> Owned<E> {
    fn new(error: E) -> Self {
        Owned {
            message: error.to_string().into(),
            error: Arc::new(Mutex::new(Some(error))),
        }
    }

    fn take(&self) -> Option<E> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// What the cache sees of a failed body: its message (the error itself goes back to its
/// caller by value).
#[derive(Debug)]
struct BodyFailed(Arc<str>);

impl Display for BodyFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyFailed {}

/// Whether the cache's error is about the load (so the caller gets it as `E`), not the store
/// or the key (so the caller's body runs without the cache: fail-open).
fn is_load_error(error: &Error) -> bool {
    matches!(error, Error::Loader(_) | Error::LoaderTimeout { .. })
}

/// A call of a memoised function returning `Result<T, E>`: the value from the cache, or the
/// body's, stored when it is `Ok`. The caller whose body failed gets its `E` back by value;
/// one that waited for another caller's failed load (or a load past the hard timeout) gets
/// `E::from` the cache's error. A store or key failure runs the body without the cache.
pub async fn call_result<M, E, Fut>(
    store: &Store,
    key: Result<String, Error>,
    body: Fut,
) -> Result<M::Value, E>
where
    M: Memoized,
    E: MemoError,
    Fut: Future<Output = Result<M::Value, E>> + Send + 'static,
{
    // Shared: the loader runs it, and the caller can still read its outcome (or run it, when
    // the cache never did) afterwards.
    let body = async move { body.await.map_err(Owned::new) }.shared();
    let finish = |outcome: Result<M::Value, Owned<E>>| {
        outcome.map_err(|owned| {
            owned
                .take()
                .unwrap_or_else(|| E::from(Error::Loader(loader_error(&owned))))
        })
    };
    let key = match key {
        Ok(key) => key,
        Err(error) => {
            warn_fail_open("memoize", "", &error);
            return finish(body.await);
        }
    };
    let cache = cache::<M>(store);
    let loader = {
        let body = body.clone();
        move || async move {
            body.await
                .map_err(|owned| BodyFailed(owned.message.clone()))
        }
    };
    match cache.get_or_insert_with(&key, loader).await {
        Ok(value) => Ok(value),
        Err(error) => match body.peek() {
            // This caller's own body ran and failed: its error, by value.
            Some(Err(owned)) => Err(owned.take().unwrap_or_else(|| E::from(error))),
            Some(Ok(value)) => Ok(value.clone()),
            None if is_load_error(&error) => Err(E::from(error)),
            None => {
                warn_fail_open("memoize", &key, &error);
                finish(body.await)
            }
        },
    }
}

fn loader_error<E>(owned: &Owned<E>) -> crate::LoaderError {
    crate::LoaderError::new(BodyFailed(owned.message.clone()))
}

/// A call of a memoised function returning a plain `T`: the value from the cache, or the
/// body's, stored. Nothing from the cache's side can fail it: on any error of the cache the
/// body's own value answers.
pub async fn call_value<M, Fut>(store: &Store, key: Result<String, Error>, body: Fut) -> M::Value
where
    M: Memoized,
    Fut: Future<Output = M::Value> + Send + 'static,
{
    let body = body.shared();
    let key = match key {
        Ok(key) => key,
        Err(error) => {
            warn_fail_open("memoize", "", &error);
            return body.await;
        }
    };
    let cache = cache::<M>(store);
    let loader = {
        let body = body.clone();
        move || async move { Ok::<M::Value, Infallible>(body.await) }
    };
    match cache.get_or_insert_with(&key, loader).await {
        Ok(value) => value,
        Err(error) => {
            warn_fail_open("memoize", &key, &error);
            body.await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyArgs, canonical_json, key_of};
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_object_keys_at_every_depth() {
        let mut text = String::new();
        canonical_json(
            &json!({"b": [1, {"z": null, "a": "x\"y"}], "a": 1.5}),
            &mut text,
        );
        assert_eq!(text, r#"{"a":1.5,"b":[1,{"a":"x\"y","z":null}]}"#);
    }

    #[test]
    fn the_key_is_the_sha256_of_the_canonical_json_array() {
        let mut args = KeyArgs::new();
        args.arg(&42u64);
        args.arg("pear");
        // sha256(`[42,"pear"]`)
        let key = args.finish().unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(key, key_of(&(42u64, "pear")).unwrap());
    }

    #[test]
    fn an_argument_that_does_not_serialise_is_an_error() {
        let mut args = KeyArgs::new();
        args.arg(&std::collections::HashMap::from([((1, 2), 3)]));
        assert!(args.finish().is_err());
    }
}
