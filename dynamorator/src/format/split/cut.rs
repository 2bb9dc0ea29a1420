//! A value past the item limit, cut: its stored bytes (plain JSON, or compressed) in parts of
//! [`PART_BYTES`], each its own item under a key derived from the value's key and a fresh
//! write id, and a head under the value's key naming them. The store writes the parts first;
//! the head, written last, makes the value visible.

use sha2::{Digest, Sha256};

use super::{PART_BYTES, Part, SplitHead, into_joined, part_key};
use crate::format::{MAX_ITEM_BYTES, Payload, StoredItem};

/// An item too large for one, as the items that store it.
#[derive(Debug)]
pub(crate) struct SplitWrite {
    /// The parts, in order, to write first.
    pub(crate) parts: Vec<StoredItem>,
    /// The head, under the value's key, to write once every part is written.
    pub(crate) head: StoredItem,
}

/// Whether `item` must be split to be stored.
pub(crate) fn needs_split(item: &StoredItem) -> bool {
    item.encoded_size() > MAX_ITEM_BYTES
}

/// Splits `item` into its parts and its head, under a new write id. The head keeps the item's
/// times and stamps; the parts share its expiry, so DynamoDB's TTL removes them with it.
pub(crate) fn split(item: StoredItem) -> SplitWrite {
    let mut head = item;
    let payload = std::mem::replace(&mut head.payload, Payload::Json(String::new()));
    // The codec only lets a whole value's payload reach here; a head or a part (never too
    // large) would be written back as it is.
    let joined = match into_joined(payload) {
        Ok(joined) => joined,
        Err(payload) => {
            head.payload = payload;
            return SplitWrite {
                parts: Vec::new(),
                head,
            };
        }
    };
    let write_id = format!("{:032x}", fastrand::u128(..));
    let parts: Vec<StoredItem> = joined
        .bytes
        .chunks(PART_BYTES)
        .zip(0u32..)
        .map(|(bytes, index)| StoredItem {
            key: part_key(&head.key, &write_id, index),
            payload: Payload::Part(Part {
                write_id: write_id.clone(),
                index,
                bytes: bytes.to_vec(),
            }),
            expires_at: head.expires_at,
            created_at: None,
            fresh_until: None,
            generation: None,
            version: None,
        })
        .collect();
    head.payload = Payload::Head(SplitHead {
        sha256: sha256_hex(&joined.bytes),
        write_id,
        parts: u32::try_from(parts.len()).unwrap_or(u32::MAX),
        len: joined.bytes.len() as u64,
        form: joined.form,
    });
    SplitWrite { parts, head }
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in hash.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::JoinedForm;

    fn item(payload: Payload) -> StoredItem {
        StoredItem {
            key: "k".into(),
            payload,
            expires_at: 1_900_000_000,
            created_at: Some(1_800_000_000),
            fresh_until: Some(1_850_000_000),
            generation: Some(3),
            version: Some(9),
        }
    }

    #[test]
    fn parts_cut_the_bytes_in_order_and_share_the_heads_expiry() {
        let text = "x".repeat(PART_BYTES * 2 + 5);
        let original = item(Payload::Json(text.clone()));
        assert!(needs_split(&original));
        let SplitWrite { parts, head } = split(original);
        let Payload::Head(split) = &head.payload else {
            panic!("a head");
        };
        assert_eq!((split.parts, split.len), (3, text.len() as u64));
        assert_eq!(split.form, JoinedForm::Json);
        assert_eq!(split.sha256, sha256_hex(text.as_bytes()));
        assert_eq!(split.write_id.len(), 32);
        assert_eq!(
            (
                head.key.as_str(),
                head.created_at,
                head.generation,
                head.version
            ),
            ("k", Some(1_800_000_000), Some(3), Some(9))
        );
        let mut joined = Vec::new();
        for (index, part) in (0u32..).zip(&parts) {
            assert_eq!(part.key, part_key("k", &split.write_id, index));
            assert_eq!(part.expires_at, head.expires_at);
            assert!(part.encoded_size() <= MAX_ITEM_BYTES);
            let Payload::Part(body) = &part.payload else {
                panic!("a part");
            };
            assert_eq!((body.index, &body.write_id), (index, &split.write_id));
            joined.extend_from_slice(&body.bytes);
        }
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn every_write_has_its_own_id() {
        let text = "y".repeat(500_000);
        let ids: std::collections::HashSet<String> = (0..20)
            .map(
                |_| match split(item(Payload::Json(text.clone()))).head.payload {
                    Payload::Head(head) => head.write_id,
                    _ => panic!("a head"),
                },
            )
            .collect();
        assert_eq!(ids.len(), 20);
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
