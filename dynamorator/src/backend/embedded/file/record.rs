//! How one item is laid out in the file: the one place that turns a [`StoredItem`] into bytes
//! and back. The key is the table's key and is not repeated here.
//!
//! Layout, version 3 (integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | version, `3` |
//! | 1 | flags: `2` `created_at` follows, `4` `fresh_until` follows, `8` `generation` follows, `16`
//! `version` follows |
//! | 8 | `expires_at`, i64 |
//! | 8 | `created_at`, i64, when flagged |
//! | 8 | `fresh_until`, i64, when flagged |
//! | 8 | `generation`, u64, when flagged |
//! | 8 | `version`, u64, when flagged |
//! | 1 | the value's form: `0` JSON text, `1` base64 of its gzip, `2` its zstd frame, `3` a
//! split value's head, `4` a part of one |
//! | n | the value, as stored (UTF-8 text for the first two forms, bytes for zstd), or the
//! head or part below |
//! | 4 | CRC-32 of the key's bytes, then of every byte before it |
//!
//! A head: the joined form (1 byte: `0` JSON, `1` gzip, `2` zstd), the part count (u32), the
//! joined length (u64), then the write id and the SHA-256 (hex), each as a length byte and
//! its bytes. A part: its index (u32), the write id (a length byte and its bytes), its bytes.
//!
//! The checksum: a byte changed on disk (SQLite keeps no checksum of its pages) makes the
//! record corrupt, never a different value; it covers the key too, so a record found under
//! another key (a damaged index) is corrupt as well. Versions 1 and 2 (no checksum) were written by the
//! redb file of earlier versions, which this one does not open.
//!
//! Binary rather than JSON: the value is already JSON text (or compressed bytes), which a JSON
//! record would escape on every write and unescape on every read; here it is copied as is. A
//! reader refuses a version, flag or form it does not know (the item reads as corrupt), never
//! guesses.

use crate::CorruptReason;
use crate::format::{JoinedForm, Part, Payload, SplitHead, StoredItem};

const VERSION: u8 = 3;
const CREATED_AT: u8 = 2;
const FRESH_UNTIL: u8 = 4;
const GENERATION: u8 = 8;
const ITEM_VERSION: u8 = 16;
const KNOWN_FLAGS: u8 = CREATED_AT | FRESH_UNTIL | GENERATION | ITEM_VERSION;
/// Version, flags and `expires_at`: what every record has.
const FIXED: usize = 10;
/// The CRC-32 at the end.
const CHECKSUM: usize = 4;

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
        key,
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
    let mut record = Vec::with_capacity(FIXED + 33 + 128 + value_len + CHECKSUM);
    record.push(VERSION);
    record.push(flags);
    record.extend_from_slice(&expires_at.to_le_bytes());
    for number in [created_at, fresh_until].into_iter().flatten() {
        record.extend_from_slice(&number.to_le_bytes());
    }
    for count in [generation, version].into_iter().flatten() {
        record.extend_from_slice(&count.to_le_bytes());
    }
    record.push(form(payload));
    match payload {
        Payload::Json(text) | Payload::Gzip(text) => record.extend_from_slice(text.as_bytes()),
        Payload::Zstd(frame) => record.extend_from_slice(frame),
        Payload::Head(head) => {
            record.push(joined_form_byte(head.form));
            record.extend_from_slice(&head.parts.to_le_bytes());
            record.extend_from_slice(&head.len.to_le_bytes());
            push_short(&mut record, &head.write_id);
            push_short(&mut record, &head.sha256);
        }
        Payload::Part(part) => {
            record.extend_from_slice(&part.index.to_le_bytes());
            push_short(&mut record, &part.write_id);
            record.extend_from_slice(&part.bytes);
        }
    }
    let checksum = checksum(key, &record);
    record.extend_from_slice(&checksum.to_le_bytes());
    record
}

/// The CRC-32 of `key`'s bytes followed by `body`.
fn checksum(key: &str, body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key.as_bytes());
    hasher.update(body);
    hasher.finalize()
}

/// The form byte `encode` writes for `payload`: the file keeps it beside the record, so a
/// write finds the split value it replaces without reading other records.
pub(super) fn form(payload: &Payload) -> u8 {
    match payload {
        Payload::Json(_) => FORM_JSON,
        Payload::Gzip(_) => FORM_GZIP,
        Payload::Zstd(_) => FORM_ZSTD,
        Payload::Head(_) => FORM_HEAD,
        Payload::Part(_) => FORM_PART,
    }
}

/// The form byte of a split value's head, as the file's form column holds it.
pub(super) const HEAD_FORM: i64 = FORM_HEAD as i64;

/// Whether a record's form byte is a part's: parts are left out of key listings.
pub(super) fn is_part_form(form: i64) -> bool {
    form == i64::from(FORM_PART)
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
    let (body, checksum) = bytes.split_last_chunk::<CHECKSUM>().ok_or(CUT_SHORT)?;
    if self::checksum(key, body) != u32::from_le_bytes(*checksum) {
        return Err(CorruptReason::Record(
            "its checksum does not match its bytes",
        ));
    }
    let header = header(body)?;
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
    let [form, value @ ..] = rest else {
        return Err(CUT_SHORT);
    };
    let payload = match *form {
        FORM_JSON => Payload::Json(utf8(value)?),
        FORM_GZIP => Payload::Gzip(utf8(value)?),
        FORM_ZSTD => Payload::Zstd(value.to_vec()),
        FORM_HEAD => Payload::Head(head(value)?),
        FORM_PART => Payload::Part(part(value)?),
        _ => return Err(CorruptReason::Record("its form is unknown")),
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

/// What every record starts with, and the bytes after it.
struct Header<'a> {
    flags: u8,
    expires_at: i64,
    rest: &'a [u8],
}

fn header(bytes: &[u8]) -> Result<Header<'_>, CorruptReason> {
    let [version, flags, rest @ ..] = bytes else {
        return Err(CUT_SHORT);
    };
    if *version != VERSION {
        return Err(CorruptReason::Record("its version is unknown"));
    }
    if flags & !KNOWN_FLAGS != 0 {
        return Err(CorruptReason::Record("it has unknown flags"));
    }
    let (expires_at, rest) = take_i64(rest).ok_or(CUT_SHORT)?;
    Ok(Header {
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

    /// `record` (of key "k") with its checksum made anew after a change to its body.
    fn resealed(mut record: Vec<u8>) -> Vec<u8> {
        record.truncate(record.len() - CHECKSUM);
        let checksum = checksum("k", &record);
        record.extend_from_slice(&checksum.to_le_bytes());
        record
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
                        let form = i64::from(form(&item.payload));
                        assert_eq!(is_part_form(form), matches!(item.payload, Payload::Part(_)));
                        assert_eq!(form == HEAD_FORM, matches!(item.payload, Payload::Head(_)));
                    }
                }
            }
        }
    }

    #[test]
    fn the_smallest_record_is_the_fixed_header_the_form_the_value_and_the_checksum() {
        let record = encode(&item(None, None, Payload::Json("{\"a\":\"é\"}".into())));
        assert_eq!(record.len(), FIXED + 1 + "{\"a\":\"é\"}".len() + CHECKSUM);
        assert_eq!(record[..2], [VERSION, 0]);
        assert_eq!(record[FIXED], FORM_JSON);
    }

    #[test]
    fn any_byte_changed_makes_the_record_corrupt() {
        let record = encode(&item(
            Some(1),
            None,
            Payload::Json("{\"name\":\"Ada\"}".into()),
        ));
        for at in 0..record.len() {
            for flip in [1u8, 0x20, 0x80] {
                let mut damaged = record.clone();
                damaged[at] ^= flip;
                assert!(decode("k", &damaged).is_err(), "byte {at} ^ {flip:#x}");
            }
        }
        let mut letter = record.clone();
        let at = record.iter().position(|b| *b == b'A').unwrap();
        letter[at] = b'E';
        assert_eq!(
            decode("k", &letter),
            Err(CorruptReason::Record(
                "its checksum does not match its bytes"
            ))
        );
    }

    #[test]
    fn damaged_records_are_corrupt_never_a_panic() {
        let full = encode(&StoredItem {
            generation: Some(1),
            version: Some(2),
            ..item(Some(1), Some(2), Payload::Gzip("x".into()))
        });
        for len in 0..full.len() {
            assert!(decode("k", &full[..len]).is_err(), "cut at {len}");
        }
        let mut other_version = full.clone();
        other_version[0] = 2;
        assert_eq!(
            decode("k", &resealed(other_version)),
            Err(CorruptReason::Record("its version is unknown"))
        );
        let mut unknown_flag = full.clone();
        unknown_flag[1] |= 32;
        assert!(decode("k", &resealed(unknown_flag)).is_err());
        let mut old_gzip_flag = full.clone();
        old_gzip_flag[1] |= 1;
        assert!(decode("k", &resealed(old_gzip_flag)).is_err());
        let mut unknown_form = encode(&item(None, None, Payload::Json("1".into())));
        unknown_form[FIXED] = 9;
        assert_eq!(
            decode("k", &resealed(unknown_form)),
            Err(CorruptReason::Record("its form is unknown"))
        );
        let mut not_utf8 = encode(&item(None, None, Payload::Json("1".into())));
        not_utf8.insert(not_utf8.len() - CHECKSUM, 0xff);
        assert_eq!(
            decode("k", &resealed(not_utf8)),
            Err(CorruptReason::Record("its data is not UTF-8"))
        );
        let head = encode(&item(None, None, payloads()[3].clone()));
        for len in FIXED..head.len() - CHECKSUM {
            let mut cut = head[..len].to_vec();
            cut.extend_from_slice(&[0; CHECKSUM]);
            assert!(decode("k", &resealed(cut)).is_err(), "head cut at {len}");
        }
        let mut longer = head.clone();
        longer.insert(longer.len() - CHECKSUM, 0);
        assert!(
            decode("k", &resealed(longer)).is_err(),
            "a head has nothing past its end"
        );
        // A zstd value is bytes: anything goes here, the codec judges the frame.
        let mut zstd = encode(&item(None, None, Payload::Zstd(vec![])));
        zstd.insert(zstd.len() - CHECKSUM, 0xff);
        assert_eq!(
            decode("k", &resealed(zstd)).unwrap().payload,
            Payload::Zstd(vec![0xff])
        );
    }
}
