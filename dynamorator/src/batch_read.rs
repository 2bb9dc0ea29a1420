//! Batch reads: any number of keys, deduplicated, in chunks of 100 read concurrently, with
//! unprocessed keys retried and every failure accounted for key by key.

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backend::Backend;
use crate::backoff::Backoff;
use crate::error::BatchFailure;
use crate::item::StoredItem;
use crate::key::validate_key;
use crate::store::{Fetched, Store};
use crate::ttl::now_epoch_secs;

/// DynamoDB's limit of keys per BatchGetItem request.
const KEYS_PER_REQUEST: usize = 100;

/// What a fallible batch read found, and which keys it could not read.
///
/// Keys that are absent or expired are in neither: they are plain misses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
///
/// let store = Store::embedded();
/// store.try_put("a", &1, Ttl::days(1.0)).await?;
/// let read = store.try_batch_get::<i32, _>(["a", "b"]).await?;
/// assert_eq!(read.found.get("a"), Some(&1));
/// assert!(read.is_complete());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BatchGet<V> {
    /// The values found, by key.
    pub found: HashMap<String, V>,
    /// The keys that could not be read (a failed request, keys left unprocessed after every
    /// retry, corrupt items, values of another shape), grouped by cause.
    pub failed: Vec<BatchFailure>,
}

impl<V> BatchGet<V> {
    /// Whether every key was either found or a plain miss.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// The keys that could not be read, whatever the cause.
    pub fn failed_keys(&self) -> impl Iterator<Item = &str> {
        self.failed
            .iter()
            .flat_map(|failure| failure.keys.iter().map(String::as_str))
    }
}

impl Store {
    /// Reads many keys at once. Duplicate keys are read once. There is no cap on the number of
    /// keys: they go out in requests of 100, [`batch_concurrency`] at a time, and keys
    /// DynamoDB leaves unprocessed are retried with exponential backoff and jitter.
    ///
    /// A failed request loses only its own keys: the rest are still returned, and the failed
    /// ones are listed in [`BatchGet::failed`].
    ///
    /// [`batch_concurrency`]: crate::StoreBuilder::batch_concurrency
    ///
    /// # Errors
    ///
    /// An invalid key (empty or over 2048 bytes), before any request is sent.
    pub async fn try_batch_get<V, K>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<BatchGet<V>, Error>
    where
        V: DeserializeOwned,
        K: AsRef<str>,
    {
        let keys = distinct_valid_keys(keys)?;
        let (found, failed) = self
            .fetch_many_into(keys, |fetched: Fetched<V>| fetched.value)
            .await;
        Ok(BatchGet { found, failed })
    }

    /// [`try_batch_get`](Store::try_batch_get) returning only what was found. Invalid keys are
    /// skipped; every failure is logged.
    pub async fn batch_get<V, K>(&self, keys: impl IntoIterator<Item = K>) -> HashMap<String, V>
    where
        V: DeserializeOwned,
        K: AsRef<str>,
    {
        let valid = keys
            .into_iter()
            .filter(|key| match validate_key(key.as_ref()) {
                Ok(()) => true,
                Err(error) => {
                    self.report("batch_get", key.as_ref(), &error);
                    false
                }
            });
        let keys = distinct_keys(valid, |_| Ok(())).unwrap_or_default();
        let (found, failed) = self
            .fetch_many_into(keys, |fetched: Fetched<V>| fetched.value)
            .await;
        for failure in &failed {
            self.report_batch("batch_get", failure);
        }
        found
    }

    /// Logs one batch failure, naming how many keys it cost and the first of them.
    pub(crate) fn report_batch(&self, operation: &'static str, failure: &BatchFailure) {
        let first = failure.keys.first().map(String::as_str).unwrap_or_default();
        let summary = format!(
            "{first} (and {} more keys)",
            failure.keys.len().saturating_sub(1)
        );
        self.report(operation, &summary, &failure.error);
    }

    /// Reads distinct, valid keys; returns what was found and what could not be read.
    pub(crate) async fn fetch_many<V: DeserializeOwned>(
        &self,
        keys: Vec<String>,
    ) -> (HashMap<String, Fetched<V>>, Vec<BatchFailure>) {
        self.fetch_many_into(keys, |fetched| fetched).await
    }

    /// [`fetch_many`](Store::fetch_many), turning each value into what the caller keeps as it
    /// arrives (one map, filled once).
    pub(crate) async fn fetch_many_into<V: DeserializeOwned, O>(
        &self,
        keys: Vec<String>,
        into: impl Fn(Fetched<V>) -> O,
    ) -> (HashMap<String, O>, Vec<BatchFailure>) {
        let mut found = HashMap::with_capacity(keys.len());
        let mut failed = Vec::new();
        let Some(backend) = self.backend() else {
            return (found, failed);
        };
        let settings = self.settings();
        let backoff = settings.batch_backoff;
        let mut results = stream::iter(into_chunks(keys, KEYS_PER_REQUEST))
            .map(|chunk| read_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency);
        let now = now_epoch_secs();
        while let Some((items, failure)) = results.next().await {
            for item in items {
                let decoded = match item {
                    Ok(item) => match self.decode_item::<V>(&item, now) {
                        Ok(fetched) => Ok((item.key, fetched)),
                        Err(error) => Err((item.key, error)),
                    },
                    Err(unreadable) => Err(unreadable),
                };
                match decoded {
                    Ok((key, Some(fetched))) => {
                        found.insert(key, into(fetched));
                    }
                    Ok((_, None)) => {}
                    Err((key, error)) => failed.push(BatchFailure {
                        keys: vec![key],
                        error,
                    }),
                }
            }
            failed.extend(failure);
        }
        (found, failed)
    }
}

/// Reads one chunk of at most 100 keys, retrying what comes back unprocessed. Items read by
/// earlier attempts are kept whatever happens to later ones.
async fn read_chunk(
    backend: &dyn Backend,
    mut pending: Vec<String>,
    backoff: Backoff,
) -> (
    Vec<Result<StoredItem, (String, Error)>>,
    Option<BatchFailure>,
) {
    let mut items = Vec::with_capacity(pending.len());
    for attempt in 1..=backoff.max_attempts {
        match backend.batch_get(&pending).await {
            Ok(page) => {
                items.extend(page.items);
                pending = page.unprocessed;
            }
            Err(error) => {
                let failure = BatchFailure {
                    keys: pending,
                    error,
                };
                return (items, Some(failure));
            }
        }
        if pending.is_empty() {
            return (items, None);
        }
        // No pause after the last attempt: nothing follows it.
        if attempt < backoff.max_attempts {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
    }
    let failure = BatchFailure {
        keys: pending,
        error: Error::Unprocessed {
            operation: "BatchGetItem",
            attempts: backoff.max_attempts,
        },
    };
    (items, Some(failure))
}

/// Splits `items` into chunks of at most `size`, moving them (no copies).
pub(crate) fn into_chunks<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::with_capacity(items.len().div_ceil(size.max(1)));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size.max(1)).collect());
    }
    chunks
}

/// The distinct keys among `keys`, in first-seen order, each checked by `validate` first.
pub(crate) fn distinct_keys<K: AsRef<str>>(
    keys: impl IntoIterator<Item = K>,
    validate: impl Fn(&str) -> Result<(), Error>,
) -> Result<Vec<String>, Error> {
    let keys: Vec<K> = keys.into_iter().collect();
    let mut seen = HashSet::with_capacity(keys.len());
    let mut distinct = Vec::with_capacity(keys.len());
    for key in &keys {
        let key = key.as_ref();
        validate(key)?;
        if seen.insert(key) {
            distinct.push(key.to_owned());
        }
    }
    Ok(distinct)
}

/// Validates every key as a partition key, then drops repeats, keeping first-seen order.
pub(crate) fn distinct_valid_keys<K: AsRef<str>>(
    keys: impl IntoIterator<Item = K>,
) -> Result<Vec<String>, Error> {
    distinct_keys(keys, validate_key)
}
