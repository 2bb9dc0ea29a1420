//! A split value's parts, checked against its head (count, write id, place, lengths, SHA-256)
//! and joined. A part that is gone makes the value a miss; a part that does not match makes
//! it corrupt; never a wrong value. The store fetches the parts (every head of a batch read in
//! one more round) and warns of a miss.

use std::collections::HashMap;

use super::cut::sha256_hex;
use super::{Joined, MAX_PARTS, SplitHead};
use crate::Error;
use crate::error::CorruptReason;
use crate::format::{MAX_ITEM_BYTES, Payload, StoredItem};

/// What joining a head's parts gave.
#[derive(Debug)]
pub(crate) enum Joining {
    /// Every part, checked: the value's bytes.
    Joined(Joined),
    /// Part `index` is not in the table (deleted with a newer write, expired, or never written):
    /// a miss.
    Missing { index: u32 },
}

fn corrupt(key: &str, why: &'static str) -> Error {
    Error::corrupt(key, CorruptReason::Split(why))
}

/// The keys of the parts of the split value under `key`, or why its head cannot be right, so
/// nothing is fetched for it: a part count of zero or past [`MAX_PARTS`], a length past
/// `max_len` (the store's `max_inflated_bytes`) or that its parts could not hold, a malformed
/// write id.
pub(crate) fn part_keys(key: &str, head: &SplitHead, max_len: usize) -> Result<Vec<String>, Error> {
    let Some(keys) = head.part_keys(key) else {
        return Err(if head.parts == 0 || head.parts > MAX_PARTS {
            corrupt(key, "its part count is out of range")
        } else {
            corrupt(key, "its write id is malformed")
        });
    };
    if head.len > max_len as u64 {
        return Err(Error::corrupt(
            key,
            CorruptReason::TooLarge { limit: max_len },
        ));
    }
    let parts = u64::from(head.parts);
    if head.len < parts || head.len > parts.saturating_mul(MAX_ITEM_BYTES as u64) {
        return Err(corrupt(key, "its length does not fit its part count"));
    }
    Ok(keys)
}

/// The parts of a head, in order, by their keys `keys` (from [`part_keys`]), taken out of
/// `fetched`: each found (or why it does not read), or `None` when it is not there.
pub(crate) fn take_parts(
    keys: &[String],
    fetched: &mut HashMap<String, Result<StoredItem, Error>>,
) -> Vec<Option<Result<StoredItem, Error>>> {
    keys.iter().map(|key| fetched.remove(key)).collect()
}

/// Joins the parts of `head` (under `key`), given in order ([`take_parts`]). Hashing and
/// copying hundreds of kilobytes takes milliseconds: the store runs it on a blocking thread.
pub(crate) fn join(
    key: &str,
    head: &SplitHead,
    parts: Vec<Option<Result<StoredItem, Error>>>,
) -> Result<Joining, Error> {
    // The joined bytes are built as each part is checked, each part dropped once copied: the
    // peak is the value and one part, not the value twice. The head's length is under the
    // cap (`part_keys`), so this one allocation is bounded.
    let mut bytes = Vec::with_capacity(usize::try_from(head.len).unwrap_or(0));
    let mut total: u64 = 0;
    for (index, part) in (0u32..).zip(parts) {
        let item = match part {
            None => return Ok(Joining::Missing { index }),
            Some(Err(_)) => return Err(corrupt(key, "a part is unreadable")),
            Some(Ok(item)) => item,
        };
        let Payload::Part(part) = item.payload else {
            return Err(corrupt(key, "an item where a part should be is not one"));
        };
        if part.write_id != head.write_id || part.index != index {
            return Err(corrupt(key, "a part belongs to another write or place"));
        }
        total = total.saturating_add(part.bytes.len() as u64);
        if part.bytes.is_empty() || total > head.len {
            return Err(corrupt(key, "its parts do not add up to its length"));
        }
        bytes.extend_from_slice(&part.bytes);
    }
    if total != head.len {
        return Err(corrupt(key, "its parts do not add up to its length"));
    }
    if sha256_hex(&bytes) != head.sha256 {
        return Err(corrupt(key, "its parts do not match its checksum"));
    }
    Ok(Joining::Joined(Joined {
        form: head.form,
        bytes,
    }))
}
