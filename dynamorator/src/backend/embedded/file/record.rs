//! How one item is laid out in the file: the one place that turns a [`StoredItem`] into bytes
//! and back. The key is the table's key and is not repeated here.
//!
//! Layout, version 2 (integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | version, `2` |
//! | 1 | flags: `2` `created_at` follows, `4` `fresh_until` follows, `8` `generation` follows, `16`
//! `version` follows |
//! | 8 | `expires_at`, i64 |
//! | 8 | `created_at`, i64, when flagged |
//! | 8 | `fresh_until`, i64, when flagged |
//! | 8 | `generation`, u64, when flagged |
//! | 8 | `version`, u64, when flagged |
//! | 1 | the value's form: `0` JSON text, `1` base64 of its gzip, `2` its zstd frame |
//! | rest | the value, as stored (UTF-8 text for the first two forms, bytes for zstd) |
//!
//! Version 1 (written before zstd) had no form byte: flag `1` marked gzip, and the rest was the
//! text. Version 1 records are still read; every write is version 2.
//!
//! Binary rather than JSON: the value is already JSON text (or compressed bytes), which a JSON
//! record would escape on every write and unescape on every read; here it is copied as is.
//! `expires_at` sits at a fixed offset, so listing keys reads it without decoding the rest. A
//! reader refuses a version, flag or form it does not know (the item reads as corrupt), never
//! guesses.

use crate::CorruptReason;
use crate::backend::item::{Payload, StoredItem};

const VERSION: u8 = 2;
/// Version 1's only difference: no form byte, and this flag for gzip.
const VERSION_1: u8 = 1;
const VERSION_1_COMPRESSED: u8 = 1;
const CREATED_AT: u8 = 2;
const FRESH_UNTIL: u8 = 4;
const GENERATION: u8 = 8;
const ITEM_VERSION: u8 = 16;
const KNOWN_FLAGS: u8 = CREATED_AT | FRESH_UNTIL | GENERATION | ITEM_VERSION;
/// Version, flags and `expires_at`: what every record has.
const FIXED: usize = 10;

/// The forms of the value.
const FORM_JSON: u8 = 0;
const FORM_GZIP: u8 = 1;
const FORM_ZSTD: u8 = 2;

/// The record of `item`.
pub(super) fn encode(item: &StoredItem) -> Vec<u8> {
    // Destructured so that a new field of `StoredItem` does not compile until it is stored here.
    let StoredItem {
        key: _,
        payload,
        expires_at,
        created_at,
        fresh_until,
        generation,
        version,
    } = item;
    let mut flags = 0;
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
    let (form, bytes) = match payload {
        Payload::Json(text) => (FORM_JSON, text.as_bytes()),
        Payload::Gzip(text) => (FORM_GZIP, text.as_bytes()),
        Payload::Zstd(frame) => (FORM_ZSTD, frame.as_slice()),
    };
    let mut record = Vec::with_capacity(FIXED + 33 + bytes.len());
    record.push(VERSION);
    record.push(flags);
    record.extend_from_slice(&expires_at.to_le_bytes());
    for number in [created_at, fresh_until].into_iter().flatten() {
        record.extend_from_slice(&number.to_le_bytes());
    }
    for count in [generation, version].into_iter().flatten() {
        record.extend_from_slice(&count.to_le_bytes());
    }
    record.push(form);
    record.extend_from_slice(bytes);
    record
}

/// The item under `key` whose record is `bytes`.
pub(super) fn decode(key: &str, bytes: &[u8]) -> Result<StoredItem, CorruptReason> {
    let header = header(bytes)?;
    let mut rest = header.rest;
    let mut optional = |flag: u8| -> Result<Option<i64>, CorruptReason> {
        if header.flags & flag == 0 {
            return Ok(None);
        }
        let (number, tail) = take_i64(rest).ok_or(CUT_SHORT)?;
        rest = tail;
        Ok(Some(number))
    };
    let created_at = optional(CREATED_AT)?;
    let fresh_until = optional(FRESH_UNTIL)?;
    // Written from u64s, so the casts give back the very bits.
    let generation = optional(GENERATION)?.map(|n| n as u64);
    let version = optional(ITEM_VERSION)?.map(|n| n as u64);
    let payload = if header.version == VERSION_1 {
        let text = utf8(rest)?;
        if header.flags & VERSION_1_COMPRESSED != 0 {
            Payload::Gzip(text)
        } else {
            Payload::Json(text)
        }
    } else {
        let [form, value @ ..] = rest else {
            return Err(CUT_SHORT);
        };
        match *form {
            FORM_JSON => Payload::Json(utf8(value)?),
            FORM_GZIP => Payload::Gzip(utf8(value)?),
            FORM_ZSTD => Payload::Zstd(value.to_vec()),
            _ => return Err(CorruptReason::Record("its form is unknown")),
        }
    };
    Ok(StoredItem {
        key: key.to_owned(),
        payload,
        expires_at: header.expires_at,
        created_at,
        fresh_until,
        generation,
        version,
    })
}

const CUT_SHORT: CorruptReason = CorruptReason::Record("it is cut short");

fn utf8(bytes: &[u8]) -> Result<String, CorruptReason> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| CorruptReason::Record("its data is not UTF-8"))
}

/// The `expires_at` of a record, without decoding the rest.
pub(super) fn expires_at(bytes: &[u8]) -> Result<i64, CorruptReason> {
    header(bytes).map(|header| header.expires_at)
}

/// What every record starts with, and the bytes after it.
struct Header<'a> {
    version: u8,
    flags: u8,
    expires_at: i64,
    rest: &'a [u8],
}

fn header(bytes: &[u8]) -> Result<Header<'_>, CorruptReason> {
    let [version, flags, rest @ ..] = bytes else {
        return Err(CUT_SHORT);
    };
    let known = match *version {
        VERSION => KNOWN_FLAGS,
        VERSION_1 => KNOWN_FLAGS | VERSION_1_COMPRESSED,
        _ => return Err(CorruptReason::Record("its version is unknown")),
    };
    if flags & !known != 0 {
        return Err(CorruptReason::Record("it has unknown flags"));
    }
    let (expires_at, rest) = take_i64(rest).ok_or(CUT_SHORT)?;
    Ok(Header {
        version: *version,
        flags: *flags,
        expires_at,
        rest,
    })
}

fn take_i64(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (number, rest) = bytes.split_first_chunk::<8>()?;
    Some((i64::from_le_bytes(*number), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(created_at: Option<i64>, fresh_until: Option<i64>, payload: Payload) -> StoredItem {
        StoredItem {
            key: "k".into(),
            payload,
            expires_at: -5,
            created_at,
            fresh_until,
            generation: None,
            version: None,
        }
    }

    fn payloads() -> [Payload; 3] {
        [
            Payload::Json("{\"a\":\"é\"}".into()),
            Payload::Gzip("H4sIAAAA".into()),
            Payload::Zstd(vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0]),
        ]
    }

    #[test]
    fn every_field_round_trips_in_every_combination() {
        for created_at in [None, Some(1_700_000_000), Some(i64::MIN)] {
            for fresh_until in [None, Some(i64::MAX), Some(0)] {
                for payload in payloads() {
                    for stamp in [None, Some(0), Some(3), Some(u64::MAX)] {
                        let item = StoredItem {
                            generation: stamp,
                            version: stamp.map(|n| n ^ 1),
                            ..item(created_at, fresh_until, payload.clone())
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
    fn the_smallest_record_is_the_fixed_header_the_form_and_the_value() {
        let record = encode(&item(None, None, Payload::Json("{\"a\":\"é\"}".into())));
        assert_eq!(record.len(), FIXED + 1 + "{\"a\":\"é\"}".len());
        assert_eq!(record[..2], [VERSION, 0]);
        assert_eq!(record[FIXED], FORM_JSON);
    }

    #[test]
    fn version_1_records_still_read() {
        let mut record = vec![VERSION_1, VERSION_1_COMPRESSED | CREATED_AT];
        record.extend_from_slice(&7i64.to_le_bytes());
        record.extend_from_slice(&3i64.to_le_bytes());
        record.extend_from_slice(b"H4sI");
        let item = decode("k", &record).unwrap();
        assert_eq!(item.payload, Payload::Gzip("H4sI".into()));
        assert_eq!((item.expires_at, item.created_at), (7, Some(3)));
        record[1] = 0;
        record.truncate(FIXED);
        record.extend_from_slice(b"[1]");
        assert_eq!(
            decode("k", &record).unwrap().payload,
            Payload::Json("[1]".into())
        );
    }

    #[test]
    fn damaged_records_are_corrupt_never_a_panic() {
        let full = encode(&StoredItem {
            generation: Some(1),
            version: Some(2),
            ..item(Some(1), Some(2), Payload::Gzip("x".into()))
        });
        for len in 0..FIXED + 33 {
            assert!(decode("k", &full[..len]).is_err(), "cut at {len}");
        }
        let mut other_version = full.clone();
        other_version[0] = 3;
        assert_eq!(
            decode("k", &other_version),
            Err(CorruptReason::Record("its version is unknown"))
        );
        let mut unknown_flag = full.clone();
        unknown_flag[1] |= 32;
        assert!(expires_at(&unknown_flag).is_err());
        let mut version_1_flag = full.clone();
        version_1_flag[1] |= VERSION_1_COMPRESSED;
        assert!(
            decode("k", &version_1_flag).is_err(),
            "flag 1 is version 1's"
        );
        let mut unknown_form = encode(&item(None, None, Payload::Json("1".into())));
        unknown_form[FIXED] = 9;
        assert_eq!(
            decode("k", &unknown_form),
            Err(CorruptReason::Record("its form is unknown"))
        );
        let mut not_utf8 = encode(&item(None, None, Payload::Json("1".into())));
        not_utf8.push(0xff);
        assert_eq!(
            decode("k", &not_utf8),
            Err(CorruptReason::Record("its data is not UTF-8"))
        );
        // A zstd value is bytes: anything goes here, the codec judges the frame.
        let mut zstd = encode(&item(None, None, Payload::Zstd(vec![])));
        zstd.push(0xff);
        assert_eq!(
            decode("k", &zstd).unwrap().payload,
            Payload::Zstd(vec![0xff])
        );
    }
}
