//! How one item is laid out in the file: the one place that turns a [`StoredItem`] into bytes
//! and back. The key is the table's key and is not repeated here.
//!
//! Layout, version 1 (integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | version, `1` |
//! | 1 | flags: `1` compressed, `2` `created_at` follows, `4` `fresh_until` follows, `8`
//! `generation` follows, `16` `version` follows |
//! | 8 | `expires_at`, i64 |
//! | 8 | `created_at`, i64, when flagged |
//! | 8 | `fresh_until`, i64, when flagged |
//! | 8 | `generation`, u64, when flagged |
//! | 8 | `version`, u64, when flagged |
//! | rest | `data`, UTF-8, as stored (JSON text, or base64 of its gzip) |
//!
//! Binary rather than JSON: `data` is already JSON text, which a JSON record would escape on
//! every write and unescape on every read; here it is copied as is. `expires_at` sits at a fixed
//! offset, so listing keys reads it without decoding the rest. A reader refuses a version or a
//! flag it does not know (the item reads as corrupt), never guesses.

use crate::CorruptReason;
use crate::backend::item::StoredItem;

const VERSION: u8 = 1;
const COMPRESSED: u8 = 1;
const CREATED_AT: u8 = 2;
const FRESH_UNTIL: u8 = 4;
const GENERATION: u8 = 8;
const ITEM_VERSION: u8 = 16;
const KNOWN_FLAGS: u8 = COMPRESSED | CREATED_AT | FRESH_UNTIL | GENERATION | ITEM_VERSION;
/// Version, flags and `expires_at`: what every record has.
const FIXED: usize = 10;

/// The record of `item`.
pub(super) fn encode(item: &StoredItem) -> Vec<u8> {
    // Destructured so that a new field of `StoredItem` does not compile until it is stored here.
    let StoredItem {
        key: _,
        data,
        compressed,
        expires_at,
        created_at,
        fresh_until,
        generation,
        version,
    } = item;
    let mut flags = 0;
    if *compressed {
        flags |= COMPRESSED;
    }
    if created_at.is_some() {
        flags |= CREATED_AT;
    }
    if fresh_until.is_some() {
        flags |= FRESH_UNTIL;
    }
    if generation.is_some() {
        flags |= GENERATION;
    }
    if version.is_some() {
        flags |= ITEM_VERSION;
    }
    let mut record = Vec::with_capacity(FIXED + 16 + data.len());
    record.push(VERSION);
    record.push(flags);
    record.extend_from_slice(&expires_at.to_le_bytes());
    for number in [created_at, fresh_until].into_iter().flatten() {
        record.extend_from_slice(&number.to_le_bytes());
    }
    for count in [generation, version].into_iter().flatten() {
        record.extend_from_slice(&count.to_le_bytes());
    }
    record.extend_from_slice(data.as_bytes());
    record
}

/// The item under `key` whose record is `bytes`.
pub(super) fn decode(key: &str, bytes: &[u8]) -> Result<StoredItem, CorruptReason> {
    let (flags, expires_at, mut rest) = header(bytes)?;
    let mut optional = |flag: u8| -> Result<Option<i64>, CorruptReason> {
        if flags & flag == 0 {
            return Ok(None);
        }
        let (number, tail) = take_i64(rest).ok_or(CorruptReason::Record("it is cut short"))?;
        rest = tail;
        Ok(Some(number))
    };
    let created_at = optional(CREATED_AT)?;
    let fresh_until = optional(FRESH_UNTIL)?;
    // Written from u64s, so the casts give back the very bits.
    let generation = optional(GENERATION)?.map(|n| n as u64);
    let version = optional(ITEM_VERSION)?.map(|n| n as u64);
    let data = std::str::from_utf8(rest)
        .map_err(|_| CorruptReason::Record("its data is not UTF-8"))?
        .to_owned();
    Ok(StoredItem {
        key: key.to_owned(),
        data,
        compressed: flags & COMPRESSED != 0,
        expires_at,
        created_at,
        fresh_until,
        generation,
        version,
    })
}

/// The `expires_at` of a record, without decoding the rest.
pub(super) fn expires_at(bytes: &[u8]) -> Result<i64, CorruptReason> {
    header(bytes).map(|(_, expires_at, _)| expires_at)
}

/// The flags, `expires_at`, and the bytes after them.
fn header(bytes: &[u8]) -> Result<(u8, i64, &[u8]), CorruptReason> {
    let [version, flags, rest @ ..] = bytes else {
        return Err(CorruptReason::Record("it is cut short"));
    };
    if *version != VERSION {
        return Err(CorruptReason::Record("its version is unknown"));
    }
    if flags & !KNOWN_FLAGS != 0 {
        return Err(CorruptReason::Record("it has unknown flags"));
    }
    let (expires_at, rest) = take_i64(rest).ok_or(CorruptReason::Record("it is cut short"))?;
    Ok((*flags, expires_at, rest))
}

fn take_i64(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (number, rest) = bytes.split_first_chunk::<8>()?;
    Some((i64::from_le_bytes(*number), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(created_at: Option<i64>, fresh_until: Option<i64>, compressed: bool) -> StoredItem {
        StoredItem {
            key: "k".into(),
            data: "{\"a\":\"é\"}".into(),
            compressed,
            expires_at: -5,
            created_at,
            fresh_until,
            generation: None,
            version: None,
        }
    }

    #[test]
    fn every_field_round_trips_in_every_combination() {
        for created_at in [None, Some(1_700_000_000), Some(i64::MIN)] {
            for fresh_until in [None, Some(i64::MAX), Some(0)] {
                for compressed in [false, true] {
                    for stamp in [None, Some(0), Some(3), Some(u64::MAX)] {
                        let item = StoredItem {
                            generation: stamp,
                            version: stamp.map(|n| n ^ 1),
                            ..item(created_at, fresh_until, compressed)
                        };
                        let record = encode(&item);
                        assert_eq!(decode("k", &record), Ok(item.clone()));
                        assert_eq!(expires_at(&record), Ok(-5));
                    }
                }
            }
        }
    }

    #[test]
    fn the_smallest_record_is_the_fixed_header_and_the_data() {
        let record = encode(&item(None, None, false));
        assert_eq!(record.len(), FIXED + "{\"a\":\"é\"}".len());
        assert_eq!(record[..2], [VERSION, 0]);
    }

    #[test]
    fn damaged_records_are_corrupt_never_a_panic() {
        let full = encode(&item(Some(1), Some(2), true));
        for len in 0..FIXED + 16 {
            assert!(decode("k", &full[..len]).is_err(), "cut at {len}");
        }
        let mut other_version = full.clone();
        other_version[0] = 2;
        assert_eq!(
            decode("k", &other_version),
            Err(CorruptReason::Record("its version is unknown"))
        );
        let mut unknown_flag = full.clone();
        unknown_flag[1] |= 32;
        assert!(expires_at(&unknown_flag).is_err());
        let mut not_utf8 = encode(&item(None, None, false));
        not_utf8.push(0xff);
        assert_eq!(
            decode("k", &not_utf8),
            Err(CorruptReason::Record("its data is not UTF-8"))
        );
    }
}
