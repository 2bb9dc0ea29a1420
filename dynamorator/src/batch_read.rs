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
        let (found, failed) = self.fetch_many::<V>(keys).await;
        Ok(BatchGet {
            found: found.into_iter().map(|(k, f)| (k, f.value)).collect(),
            failed,
        })
    }

    /// [`try_batch_get`](Store::try_batch_get) returning only what was found. Invalid keys are
    /// skipped; every failure is logged.
    pub async fn batch_get<V, K>(&self, keys: impl IntoIterator<Item = K>) -> HashMap<String, V>
    where
        V: DeserializeOwned,
        K: AsRef<str>,
    {
        let mut valid = Vec::new();
        for key in keys {
            let key = key.as_ref();
            match validate_key(key) {
                Ok(()) => valid.push(key.to_owned()),
                Err(error) => self.report("batch_get", key, &error),
            }
        }
        let (found, failed) = self.fetch_many::<V>(dedupe(valid)).await;
        for failure in &failed {
            self.report_batch("batch_get", failure);
        }
        found.into_iter().map(|(k, f)| (k, f.value)).collect()
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
        let mut found = HashMap::with_capacity(keys.len());
        let mut failed = Vec::new();
        let Some(backend) = self.backend() else {
            return (found, failed);
        };
        if keys.is_empty() {
            return (found, failed);
        }
        let settings = self.settings();
        let backoff = settings.batch_backoff;
        let chunks: Vec<Vec<String>> = keys
            .chunks(KEYS_PER_REQUEST)
            .map(<[String]>::to_vec)
            .collect();
        let mut results = stream::iter(chunks)
            .map(|chunk| read_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency);
        let now = now_epoch_secs();
        while let Some((items, failure)) = results.next().await {
            for (key, item) in items {
                match item.and_then(|item| self.decode_item::<V>(&item, now)) {
                    Ok(Some(fetched)) => {
                        found.insert(key, fetched);
                    }
                    Ok(None) => {}
                    Err(error) => failed.push(BatchFailure {
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
    Vec<(String, Result<StoredItem, Error>)>,
    Option<BatchFailure>,
) {
    let mut items = Vec::with_capacity(pending.len());
    for attempt in 1..=backoff.max_attempts {
        match backend.batch_get(pending.clone()).await {
            Ok(page) => {
                items.extend(page.items);
                pending = page.unprocessed;
            }
            Err(error) => {
                return (
                    items,
                    Some(BatchFailure {
                        keys: pending,
                        error,
                    }),
                );
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
    let error = Error::Unprocessed {
        operation: "BatchGetItem",
        attempts: backoff.max_attempts,
    };
    (
        items,
        Some(BatchFailure {
            keys: pending,
            error,
        }),
    )
}

/// Validates every key, then drops repeats, keeping first-seen order.
pub(crate) fn distinct_valid_keys<K: AsRef<str>>(
    keys: impl IntoIterator<Item = K>,
) -> Result<Vec<String>, Error> {
    let mut valid = Vec::new();
    for key in keys {
        let key = key.as_ref();
        validate_key(key)?;
        valid.push(key.to_owned());
    }
    Ok(dedupe(valid))
}

fn dedupe(keys: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(keys.len());
    keys.into_iter()
        .filter(|key| seen.insert(key.clone()))
        .collect()
}
