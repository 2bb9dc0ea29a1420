//! A call of a memoised function: the value from its cache, or its body's, with the body as
//! the cache's loader. The body's outcome is shared (the loader runs it, and the caller can
//! still read it, or run it when the cache never did) and kept in an `Arc`, so these calls need
//! nothing of the value type: its bounds were checked when the cache was reached.

use std::fmt::{self, Display};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;

use super::MemoError;
use super::handle::{Load, MemoCache};
use super::key::MemoKey;
use crate::Error;
use crate::cache::engine::warn_fail_open;

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
pub(super) struct BodyFailed(Arc<str>);

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
///
/// Called once [`fresh`](super::fresh) found no fresh value in the L1: the body's future is
/// shared, and the read-through boxed, only for the calls that may run it.
pub async fn call_result<V, E, Fut>(
    cache: MemoCache<V>,
    key: Result<MemoKey, Error>,
    body: Fut,
) -> Result<V, E>
where
    V: Send + Sync + 'static,
    E: MemoError,
    Fut: Future<Output = Result<V, E>> + Send + 'static,
{
    let key = match key {
        Ok(key) => key,
        Err(error) => {
            warn_fail_open("memoize", "", &error);
            return body.await;
        }
    };
    Box::pin(read_through_result(cache, key, body)).await
}

async fn read_through_result<V, E, Fut>(
    cache: MemoCache<V>,
    key: MemoKey,
    body: Fut,
) -> Result<V, E>
where
    V: Send + Sync + 'static,
    E: MemoError,
    Fut: Future<Output = Result<V, E>> + Send + 'static,
{
    let body = async move { body.await.map(Arc::new).map_err(Owned::new) }.shared();
    let finish = |outcome: Result<Arc<V>, Owned<E>>| match outcome {
        Ok(value) => Ok(cache.clone_value(&*value)),
        Err(owned) => Err(owned
            .take()
            .unwrap_or_else(|| E::from(Error::Loader(loader_error(&owned))))),
    };
    let load: Load<V> = {
        let body = body.clone();
        Box::pin(async move {
            body.await
                .map_err(|owned| BodyFailed(owned.message.clone()))
        })
    };
    match cache.read_through(key.as_str(), load).await {
        Ok(value) => Ok(value),
        Err(error) => match body.peek() {
            // This caller's own body ran and failed: its error, by value.
            Some(Err(owned)) => Err(owned.take().unwrap_or_else(|| E::from(error))),
            Some(Ok(value)) => Ok(cache.clone_value(value)),
            None if is_load_error(&error) => Err(E::from(error)),
            None => {
                warn_fail_open("memoize", key.as_str(), &error);
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
/// body's own value answers. Called as [`call_result`] is, after [`fresh`](super::fresh).
pub async fn call_value<V, Fut>(cache: MemoCache<V>, key: Result<MemoKey, Error>, body: Fut) -> V
where
    V: Send + Sync + 'static,
    Fut: Future<Output = V> + Send + 'static,
{
    let key = match key {
        Ok(key) => key,
        Err(error) => {
            warn_fail_open("memoize", "", &error);
            return body.await;
        }
    };
    Box::pin(read_through_value(cache, key, body)).await
}

async fn read_through_value<V, Fut>(cache: MemoCache<V>, key: MemoKey, body: Fut) -> V
where
    V: Send + Sync + 'static,
    Fut: Future<Output = V> + Send + 'static,
{
    let body = async move { Arc::new(body.await) }.shared();
    let load: Load<V> = {
        let body = body.clone();
        Box::pin(async move { Ok(body.await) })
    };
    match cache.read_through(key.as_str(), load).await {
        Ok(value) => value,
        Err(error) => {
            warn_fail_open("memoize", key.as_str(), &error);
            cache.clone_value(&*body.await)
        }
    }
}
