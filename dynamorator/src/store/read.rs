//! Reads: one key, or any number of keys, deduplicated, in chunks of 100 read concurrently,
//! with unprocessed keys retried and every failure accounted for key by key.

use std::collections::HashMap;

use futures_util::stream::{self, StreamExt};
use serde::de::DeserializeOwned;

use super::Store;
use super::batch::{KEYS_PER_REQUEST, distinct_valid_keys, into_chunks, read_chunk};
use super::parts::JoinedHead;
use crate::codec::{Codec, Decoded, validate_key};
use crate::format::Payload;
use crate::{BatchFailure, Error};

/// What a batch read found, and which keys it could not read and why.
///
/// Keys that are absent or expired are in neither: they are plain misses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{Store, Ttl};
///
/// let store = Store::embedded();
/// store.put("a", &1, Ttl::days(1)).await?;
/// let read = store.get_many::<i32, _>(["a", "b"]).await?;
/// assert_eq!(read.found.get("a"), Some(&1));
/// assert!(read.is_complete());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a batch read can be partial: look at `failed` or call `is_complete`"]
pub struct GetMany<V> {
    /// The values found, by key.
    pub found: HashMap<String, V>,
    /// The keys that could not be read (a failed request, keys left unprocessed after every
    /// retry, corrupt items, values of another shape), grouped by cause.
    pub failed: Vec<BatchFailure>,
}

impl<V> GetMany<V> {
    /// Whether every key was either found or a plain miss.
    ///
    /// ```
    /// # let read = dynamorator::GetMany::<u8> { found: Default::default(), failed: vec![] };
    /// assert!(read.is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// The keys that could not be read, whatever the cause.
    ///
    /// ```
    /// # let read = dynamorator::GetMany::<u8> { found: Default::default(), failed: vec![] };
    /// assert_eq!(read.failed_keys().count(), 0);
    /// ```
    pub fn failed_keys(&self) -> impl Iterator<Item = &str> {
        self.failed
            .iter()
            .flat_map(|failure| failure.keys.iter().map(String::as_str))
    }

    /// The values found, or the first failure if any key could not be read: for callers that
    /// want all or nothing.
    ///
    /// # Errors
    ///
    /// The cause of the first failed key.
    ///
    /// ```
    /// # let read = dynamorator::GetMany::<u8> { found: Default::default(), failed: vec![] };
    /// let found = read.into_complete()?;
    /// # Ok::<(), dynamorator::Error>(())
    /// ```
    pub fn into_complete(self) -> Result<HashMap<String, V>, Error> {
        match self.failed.into_iter().next() {
            Some(failure) => Err(failure.error),
            None => Ok(self.found),
        }
    }
}

/// Reading.
impl Store {
    /// Reads the value under `key` as `V`; `Ok(None)` when absent or expired.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::embedded();
    /// store.put("k", &"v", dynamorator::Ttl::hours(1)).await?;
    /// assert_eq!(store.get::<String>("k").await?.as_deref(), Some("v"));
    /// // A failure read as a miss, on purpose:
    /// let maybe: Option<String> = store.get("k").await.ok().flatten();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key, a DynamoDB failure, a corrupt item ([`Error::Corrupt`]) or a value of
    /// another shape than `V` ([`Error::TypeMismatch`]).
    #[must_use = "the value read, or why it could not be"]
    pub async fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        if !self.is_enabled() {
            return Ok(None);
        }
        validate_key(key)?;
        Ok(self.fetch(key, 0).await?.map(|decoded| decoded.value))
    }

    /// Reads many keys at once. Duplicate keys are read once. There is no cap on the number of
    /// keys: they go out in requests of 100, [`batch_concurrency`] at a time, and keys
    /// DynamoDB leaves unprocessed are retried with exponential backoff and jitter. The parts
    /// of every split value found are then read in one more round.
    ///
    /// A failed request loses only its own keys: the rest are still returned, and the failed
    /// ones are listed in [`GetMany::failed`].
    ///
    /// [`batch_concurrency`]: crate::StoreBuilder::batch_concurrency
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.put_many([("a", 1), ("b", 2)], Ttl::hours(1)).await?;
    /// let read = store.get_many::<i32, _>(["a", "b", "c", "a"]).await?;
    /// assert_eq!(read.found.len(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// An invalid key (empty or over 2048 bytes), before any request is sent. Failures of
    /// single keys are not errors of the call: they are in [`GetMany::failed`].
    #[must_use = "the values read, and the keys that could not be"]
    pub async fn get_many<V, K>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<GetMany<V>, Error>
    where
        V: DeserializeOwned,
        K: AsRef<str>,
    {
        let keys = distinct_valid_keys(keys)?;
        let (found, failed) = self
            .fetch_many(keys, 0, |key, decoded: Decoded<V>| (key, decoded.value))
            .await;
        Ok(GetMany { found, failed })
    }

    /// Reads one item and decodes it, with its horizons and size; an item expired for more
    /// than `grace` seconds is a miss (0: any expired item). The key was checked by the caller.
    pub(crate) async fn fetch<V: DeserializeOwned>(
        &self,
        key: &str,
        grace: i64,
    ) -> Result<Option<Decoded<V>>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(None);
        };
        let Some(item) = backend.get(key).await? else {
            return Ok(None);
        };
        let now = self.now();
        match &item.payload {
            // A part of a split value is no value of its own.
            Payload::Part(_) => Ok(None),
            Payload::Head(_) if Codec::is_readable(&item, now, grace) => {
                match self.join_heads(vec![item]).await.pop() {
                    Some(joined) => self.decode_joined_head(joined),
                    None => Ok(None),
                }
            }
            Payload::Head(_) => Ok(None),
            _ => self.codec().decode_item(&item, now, grace),
        }
    }

    /// The value of a split value's head whose parts were joined; `Ok(None)` for a miss.
    fn decode_joined_head<V: DeserializeOwned>(
        &self,
        (head, joined): JoinedHead,
    ) -> Result<Option<Decoded<V>>, Error> {
        let Some(joined) = joined? else {
            return Ok(None);
        };
        self.codec().decode_split(&head, &joined).map(Some)
    }

    /// Reads distinct, valid keys; returns what was found, each entry made by `into` from its
    /// stored key and decoded value as it arrives (one map, filled once), and what could not be
    /// read. Expired items are misses as in [`fetch`](Store::fetch), within `grace`.
    pub(crate) async fn fetch_many<V: DeserializeOwned, O>(
        &self,
        keys: Vec<String>,
        grace: i64,
        into: impl Fn(String, Decoded<V>) -> (String, O),
    ) -> (HashMap<String, O>, Vec<BatchFailure>) {
        let mut found = HashMap::with_capacity(keys.len());
        let mut failed = Vec::new();
        let mut failed_requests = Vec::new();
        let Some(backend) = self.backend() else {
            return (found, failed);
        };
        let settings = self.settings();
        let codec = settings.codec;
        let backoff = settings.batch_backoff;
        let mut results = stream::iter(into_chunks(keys, KEYS_PER_REQUEST))
            .map(|chunk| read_chunk(backend.as_ref(), chunk, backoff))
            .buffer_unordered(settings.batch_concurrency);
        let now = self.now();
        let mut heads = Vec::new();
        let mut take = |key: String, decoded: Result<Option<Decoded<V>>, Error>| match decoded {
            Ok(Some(decoded)) => {
                let (key, value) = into(key, decoded);
                found.insert(key, value);
            }
            Ok(None) => {}
            Err(error) => failed.push(BatchFailure {
                keys: vec![key],
                error,
            }),
        };
        while let Some((items, failure)) = results.next().await {
            for item in items {
                match item {
                    Ok(item) => match &item.payload {
                        Payload::Part(_) => {}
                        Payload::Head(_) if Codec::is_readable(&item, now, grace) => {
                            heads.push(item);
                        }
                        Payload::Head(_) => {}
                        _ => {
                            let decoded = codec.decode_item::<V>(&item, now, grace);
                            take(item.key, decoded);
                        }
                    },
                    Err(unreadable) => {
                        let (key, error) = *unreadable;
                        take(key, Err(error));
                    }
                }
            }
            failed_requests.extend(failure);
        }
        // The split values found: every part of every one in one more round.
        if !heads.is_empty() {
            for joined in self.join_heads(heads).await {
                let key = joined.0.key.clone();
                take(key, self.decode_joined_head(joined));
            }
        }
        failed.extend(failed_requests);
        (found, failed)
    }
}
