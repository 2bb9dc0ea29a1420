//! The batch machinery shared by batch reads and writes: chunks of DynamoDB's request limits,
//! sent concurrently, with what a success leaves unprocessed retried with backoff and jitter.

use std::collections::{HashMap, HashSet};

use foldhash::quality::RandomState;

use super::backoff::Backoff;
use crate::backend::{Backend, Unreadable, WriteOp};
use crate::codec::validate_key;
use crate::format::StoredItem;
use crate::{BatchFailure, Error};

/// DynamoDB's limit of keys per BatchGetItem request.
pub(crate) const KEYS_PER_REQUEST: usize = 100;

/// DynamoDB's limit of writes per BatchWriteItem request (some servers accept more; DynamoDB
/// does not).
pub(crate) const WRITES_PER_REQUEST: usize = 25;

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
    // Collected first so the set can borrow the keys: one allocation per distinct key.
    let keys: Vec<K> = keys.into_iter().collect();
    for key in &keys {
        validate(key.as_ref())?;
    }
    let distinct = distinct(keys.iter().map(AsRef::as_ref));
    Ok(distinct.into_iter().map(str::to_owned).collect())
}

/// The distinct keys among `keys`, in first-seen order, borrowed.
pub(crate) fn distinct<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let keys = keys.into_iter();
    // foldhash (randomly seeded) in place of SipHash: finding repeats was 3 % of a 100-key
    // batch read's client CPU (scripts/profile).
    let mut seen = HashSet::with_capacity_and_hasher(keys.size_hint().0, RandomState::default());
    keys.filter(|key| seen.insert(*key)).collect()
}

/// Validates every key as a partition key, then drops repeats, keeping first-seen order.
pub(crate) fn distinct_valid_keys<K: AsRef<str>>(
    keys: impl IntoIterator<Item = K>,
) -> Result<Vec<String>, Error> {
    distinct_keys(keys, validate_key)
}

/// What one chunk of a batch read returned: items (or why one could not be read), and the
/// keys it could not read at all.
pub(crate) type ChunkRead = (Vec<Result<StoredItem, Unreadable>>, Option<BatchFailure>);

/// Reads one chunk of at most 100 keys, retrying what comes back unprocessed. Items read by
/// earlier attempts are kept whatever happens to later ones.
pub(crate) async fn read_chunk(
    backend: &dyn Backend,
    mut pending: Vec<String>,
    backoff: Backoff,
) -> ChunkRead {
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

/// Writes one chunk of at most 25, retrying what comes back unprocessed.
pub(crate) async fn write_chunk(
    backend: &dyn Backend,
    mut pending: Vec<WriteOp>,
    backoff: Backoff,
) -> Option<BatchFailure> {
    for attempt in 1..=backoff.max_attempts {
        match backend.batch_write(pending.clone()).await {
            Ok(unprocessed) => pending = unprocessed,
            Err(error) => {
                return Some(BatchFailure {
                    keys: keys_of(&pending),
                    error,
                });
            }
        }
        if pending.is_empty() {
            return None;
        }
        if attempt < backoff.max_attempts {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
    }
    Some(BatchFailure {
        keys: keys_of(&pending),
        error: Error::Unprocessed {
            operation: "BatchWriteItem",
            attempts: backoff.max_attempts,
        },
    })
}

fn keys_of(writes: &[WriteOp]) -> Vec<String> {
    writes.iter().map(|w| w.key().to_owned()).collect()
}

/// Keeps one write per key, the last, at the position of the first: DynamoDB refuses a batch
/// that names a key twice.
pub(crate) fn last_write_wins(writes: Vec<WriteOp>) -> Vec<WriteOp> {
    let mut position: HashMap<String, usize> = HashMap::with_capacity(writes.len());
    let mut distinct: Vec<WriteOp> = Vec::with_capacity(writes.len());
    for write in writes {
        match position.get(write.key()) {
            Some(&index) => {
                if let Some(slot) = distinct.get_mut(index) {
                    *slot = write;
                }
            }
            None => {
                position.insert(write.key().to_owned(), distinct.len());
                distinct.push(write);
            }
        }
    }
    distinct
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Payload;

    #[test]
    fn chunks_move_every_item_in_order() {
        let chunks = into_chunks((0..250).collect(), 100);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(chunks.concat(), (0..250).collect::<Vec<_>>());
    }

    #[test]
    fn distinct_keys_keep_first_seen_order() {
        let keys = distinct_valid_keys(["b", "a", "b", "c", "a"]).unwrap();
        assert_eq!(keys, ["b", "a", "c"]);
        assert!(matches!(
            distinct_valid_keys(["a", ""]),
            Err(Error::EmptyKey)
        ));
    }

    #[test]
    fn the_last_write_of_a_key_wins_at_its_first_position() {
        let put = |key: &str, data: &str| {
            WriteOp::Put(StoredItem {
                key: key.into(),
                payload: Payload::Json(data.into()),
                expires_at: 1,
                created_at: None,
                fresh_until: None,
                generation: None,
                version: None,
            })
        };
        let writes = last_write_wins(vec![put("a", "1"), put("b", "2"), put("a", "3")]);
        let shown: Vec<(String, Option<Payload>)> = writes
            .iter()
            .map(|w| match w {
                WriteOp::Put(item) => (item.key.clone(), Some(item.payload.clone())),
                WriteOp::Delete(key) => (key.clone(), None),
            })
            .collect();
        let json = |text: &str| Some(Payload::Json(text.into()));
        assert_eq!(shown, [("a".into(), json("3")), ("b".into(), json("2"))]);
    }
}
