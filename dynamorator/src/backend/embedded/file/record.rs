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
//! | 1 | the value's form: `0` JSON text, `1` base64 of its gzip, `2` its zstd frame, `3` a
//! split value's head, `4` a part of one |
//! | rest | the value, as stored (UTF-8 text for the first two forms, bytes for zstd), or the
//! head or part below |
//!
//! A head: the joined form (1 byte: `0` JSON, `1` gzip, `2` zstd), the part count (u32), the
//! joined length (u64), then the write id and the SHA-256 (hex), each as a length byte and
//! its bytes. A part: its index (u32), the write id (a length byte and its bytes), its bytes.
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
use crate::backend::item::{JoinedForm, Part, Payload, SplitHead, StoredItem};

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
const FORM_HEAD: u8 = 3;
const FORM_PART: u8 = 4;

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
    // A head's `len` is its parts' bytes, not its own.
    let value_len = match payload {
        Payload::Head(_) => 0,
        other => other.len(),
    };
    let mut record = Vec::with_capacity(FIXED + 33 + 128 + value_len);
    record.push(VERSION);
    record.push(flags);
    record.extend_from_slice(&expires_at.to_le_bytes());
    for number in [created_at, fresh_until].into_iter().flatten() {
        record.extend_from_slice(&number.to_le_bytes());
    }
    for count in [generation, version].into_iter().flatten() {
        record.extend_from_slice(&count.to_le_bytes());
    }
    match payload {
        Payload::Json(text) => {
            record.push(FORM_JSON);
            record.extend_from_slice(text.as_bytes());
        }
        Payload::Gzip(text) => {
            record.push(FORM_GZIP);
            record.extend_from_slice(text.as_bytes());
        }
        Payload::Zstd(frame) => {
            record.push(FORM_ZSTD);
            record.extend_from_slice(frame);
        }
        Payload::Head(head) => {
            record.push(FORM_HEAD);
            record.push(joined_form_byte(head.form));
            record.extend_from_slice(&head.parts.to_le_bytes());
            record.extend_from_slice(&head.len.to_le_bytes());
            push_short(&mut record, &head.write_id);
            push_short(&mut record, &head.sha256);
        }
        Payload::Part(part) => {
            record.push(FORM_PART);
            record.extend_from_slice(&part.index.to_le_bytes());
            push_short(&mut record, &part.write_id);
            record.extend_from_slice(&part.bytes);
        }
    }
    record
}

/// A short text (a write id, a checksum) as its length in one byte and its bytes; cut to 255
/// bytes, which no text this crate writes reaches (a reader then finds it does not match).
fn push_short(record: &mut Vec<u8>, text: &str) {
    let bytes = &text.as_bytes()[..text.len().min(255)];
    record.push(bytes.len() as u8);
    record.extend_from_slice(bytes);
}

fn take_short(bytes: &[u8]) -> Result<(String, &[u8]), CorruptReason> {
    let [len, rest @ ..] = bytes else {
        return Err(CUT_SHORT);
    };
    let (text, rest) = rest.split_at_checked(usize::from(*len)).ok_or(CUT_SHORT)?;
    Ok((utf8(text)?, rest))
}

fn joined_form_byte(form: JoinedForm) -> u8 {
    match form {
        JoinedForm::Json => FORM_JSON,
        JoinedForm::Gzip => FORM_GZIP,
        JoinedForm::Zstd => FORM_ZSTD,
    }
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (number, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*number), rest))
}

fn head(bytes: &[u8]) -> Result<SplitHead, CorruptReason> {
    let [form, rest @ ..] = bytes else {
        return Err(CUT_SHORT);
    };
    let form = match *form {
        FORM_JSON => JoinedForm::Json,
        FORM_GZIP => JoinedForm::Gzip,
        FORM_ZSTD => JoinedForm::Zstd,
        _ => return Err(CorruptReason::Record("its form is unknown")),
    };
    let (parts, rest) = take_u32(rest).ok_or(CUT_SHORT)?;
    let (len, rest) = take_i64(rest).ok_or(CUT_SHORT)?;
    let (write_id, rest) = take_short(rest)?;
    let (sha256, rest) = take_short(rest)?;
    if !rest.is_empty() {
        return Err(CorruptReason::Record("it has bytes past its end"));
    }
    Ok(SplitHead {
        write_id,
        parts,
        // Written from a u64: the cast gives back the very bits.
        len: len as u64,
        sha256,
        form,
    })
}

fn part(bytes: &[u8]) -> Result<Part, CorruptReason> {
    let (index, rest) = take_u32(bytes).ok_or(CUT_SHORT)?;
    let (write_id, rest) = take_short(rest)?;
    Ok(Part {
        write_id,
        index,
        bytes: rest.to_vec(),
    })
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
            FORM_HEAD => Payload::Head(head(value)?),
            FORM_PART => Payload::Part(part(value)?),
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

/// The split value's head a record holds, if it is one, without copying anything else: what
/// a write that replaces or deletes it needs to remove its parts.
pub(super) fn split_head(bytes: &[u8]) -> Option<SplitHead> {
    match form_and_value(bytes)? {
        (FORM_HEAD, value) => head(value).ok(),
        _ => None,
    }
}

/// Whether a record is a part of a split value, without decoding its value: parts are left
/// out of key listings.
pub(super) fn is_part(bytes: &[u8]) -> bool {
    form_and_value(bytes).is_some_and(|(form, _)| form == FORM_PART)
}

/// A version 2 record's form byte and the bytes after it, past the optional numbers.
fn form_and_value(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let header = header(bytes).ok()?;
    let numbers = (header.flags & KNOWN_FLAGS).count_ones() as usize;
    match header.rest.get(numbers * 8..)? {
        [form, value @ ..] if header.version == VERSION => Some((*form, value)),
        _ => None,
    }
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

    fn payloads() -> [Payload; 5] {
        [
            Payload::Json("{\"a\":\"é\"}".into()),
            Payload::Gzip("H4sIAAAA".into()),
            Payload::Zstd(vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0]),
            Payload::Head(SplitHead {
                write_id: "0123456789abcdef0123456789abcdef".into(),
                parts: 7,
                len: 2_000_000,
                sha256: "ab".repeat(32),
                form: JoinedForm::Gzip,
            }),
            Payload::Part(Part {
                write_id: "0123456789abcdef0123456789abcdef".into(),
                index: 6,
                bytes: vec![0xff, 0, 1],
            }),
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
                        assert_eq!(is_part(&record), matches!(item.payload, Payload::Part(_)));
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
        let head = encode(&item(None, None, payloads()[3].clone()));
        for len in FIXED..head.len() {
            assert!(decode("k", &head[..len]).is_err(), "head cut at {len}");
        }
        let mut longer = head.clone();
        longer.push(0);
        assert!(
            decode("k", &longer).is_err(),
            "a head has nothing past its end"
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
