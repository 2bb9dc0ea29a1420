//! One stored item, as every backend keeps it: the table format's attributes, already typed.

use super::attr;
use super::split::{JoinedForm, Part, SplitHead};

/// DynamoDB's item size limit: 400 KB of attribute names and values.
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

/// What an item holds of its value, in one of the table's forms. Each form lives in its own
/// attributes, so a reader tells them apart item by item and a table may hold them all.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// `data` (S): the JSON text (the Python package's plain form).
    Json(String),
    /// `data` (S) with `compressed` true: standard padded base64 of the gzip of the JSON text
    /// (the Python package's compressed form).
    Gzip(String),
    /// `zstd` (B), no `data`: the zstd frame of the JSON text.
    Zstd(Vec<u8>),
    /// A split value's head, no `data`: the value is in its parts.
    Head(SplitHead),
    /// One part of a split value, no `data`: not a value of its own.
    Part(Part),
}

impl Payload {
    /// The attributes this payload is stored in, counted as DynamoDB counts them: names plus
    /// values, strings by their UTF-8 bytes, binaries by their raw bytes, a BOOL as one.
    pub(crate) fn encoded_size(&self) -> usize {
        match self {
            Payload::Json(text) => attr::DATA.len() + text.len(),
            Payload::Gzip(text) => attr::DATA.len() + text.len() + attr::COMPRESSED.len() + 1,
            Payload::Zstd(frame) => attr::ZSTD.len() + frame.len(),
            Payload::Head(head) => {
                attr::PARTS.len()
                    + count_len(u64::from(head.parts))
                    + attr::PARTS_ID.len()
                    + head.write_id.len()
                    + attr::PARTS_LEN.len()
                    + count_len(head.len)
                    + attr::PARTS_SHA256.len()
                    + head.sha256.len()
                    + attr::PARTS_FORM.len()
                    + head.form.name().len()
            }
            Payload::Part(part) => {
                attr::PART.len()
                    + part.bytes.len()
                    + attr::PART_OF.len()
                    + part.write_id.len()
                    + attr::PART_INDEX.len()
                    + count_len(u64::from(part.index))
            }
        }
    }

    /// Whether the JSON text is compressed (gzip or zstd).
    pub(crate) fn is_compressed(&self) -> bool {
        match self {
            Payload::Json(_) | Payload::Part(_) => false,
            Payload::Gzip(_) | Payload::Zstd(_) => true,
            Payload::Head(head) => head.form != JoinedForm::Json,
        }
    }

    /// Whether the item holds a value (whole or split), rather than a part of one.
    pub(crate) fn is_value(&self) -> bool {
        !matches!(self, Payload::Part(_))
    }

    /// The form's name, for logs.
    pub(crate) fn form_name(&self) -> &'static str {
        match self {
            Payload::Json(_) => "json",
            Payload::Gzip(_) => "gzip",
            Payload::Zstd(_) => "zstd",
            Payload::Head(_) => "split",
            Payload::Part(_) => "part",
        }
    }

    /// The stored bytes of the value (of a split one: all its parts'; of a part: its own).
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Json(text) | Payload::Gzip(text) => text.len(),
            Payload::Zstd(frame) => frame.len(),
            Payload::Head(head) => usize::try_from(head.len).unwrap_or(usize::MAX),
            Payload::Part(part) => part.bytes.len(),
        }
    }
}

/// An item in the table format: its key, its value in one of the [`Payload`] forms, and its
/// times and stamps.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoredItem {
    pub(crate) key: String,
    pub(crate) payload: Payload,
    /// The `ttl` attribute: epoch seconds after which the item is a miss.
    pub(crate) expires_at: i64,
    /// The `created_at` attribute: epoch seconds of the write. Informational; absent in items
    /// other writers made.
    pub(crate) created_at: Option<i64>,
    /// The `fresh_until` attribute: epoch seconds after which the item is stale (served while
    /// it is refreshed) until `expires_at`. Absent: fresh until `expires_at`.
    pub(crate) fresh_until: Option<i64>,
    /// The `generation` attribute: the cache generation it was written under (absent: 0).
    pub(crate) generation: Option<u64>,
    /// The `version` attribute of an ordered write.
    pub(crate) version: Option<u64>,
}

impl StoredItem {
    /// The item's size as DynamoDB counts it (attribute names plus values). Numbers are counted
    /// by their decimal text, a little over DynamoDB's own count, so an item this accepts is
    /// never refused for size by the server.
    pub(crate) fn encoded_size(&self) -> usize {
        let number = |n: i64| decimal_len(n);
        attr::KEY.len()
            + self.key.len()
            + self.payload.encoded_size()
            + attr::TTL.len()
            + number(self.expires_at)
            + self
                .created_at
                .map_or(0, |c| attr::CREATED_AT.len() + number(c))
            + self
                .fresh_until
                .map_or(0, |f| attr::FRESH_UNTIL.len() + number(f))
            + self
                .generation
                .map_or(0, |g| attr::GENERATION.len() + count_len(g))
            + self
                .version
                .map_or(0, |v| attr::VERSION.len() + count_len(v))
    }
}

impl StoredItem {
    /// The bytes the value takes in the table: this item's [`encoded_size`], and of a split
    /// value's head, every part's too (computed from the head, not read).
    ///
    /// [`encoded_size`]: StoredItem::encoded_size
    pub(crate) fn stored_size(&self) -> usize {
        let parts = match &self.payload {
            Payload::Head(head) => head.parts_size(&self.key, self.expires_at),
            _ => 0,
        };
        self.encoded_size().saturating_add(parts)
    }
}

pub(crate) fn count_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

pub(crate) fn decimal_len(n: i64) -> usize {
    let sign = usize::from(n < 0);
    let digits = n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    sign + digits
}

// Payloads never reach logs: Debug shows the form and size, not the data.
impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({} bytes)", self.form_name(), self.len())
    }
}

// Payloads never reach logs: Debug shows the key and sizes, not the data.
impl std::fmt::Debug for StoredItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredItem")
            .field("key", &self.key)
            .field("form", &self.payload.form_name())
            .field("payload_len", &self.payload.len())
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("fresh_until", &self.fresh_until)
            .field("generation", &self.generation)
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::split::{MAX_PARTS, part_key};

    fn item(data: &str, compressed: bool) -> StoredItem {
        let payload = if compressed {
            Payload::Gzip(data.into())
        } else {
            Payload::Json(data.into())
        };
        StoredItem {
            key: "k".into(),
            payload,
            expires_at: 1_700_000_000,
            created_at: Some(1_600_000_000),
            fresh_until: None,
            generation: None,
            version: None,
        }
    }

    #[test]
    fn size_counts_names_and_values() {
        // cache_id+k, data+{}, ttl+10 digits, created_at+10 digits
        assert_eq!(item("{}", false).encoded_size(), 9 + 6 + 13 + 20);
        assert_eq!(item("{}", true).encoded_size(), 9 + 6 + 13 + 20 + 11);
        // A binary counts its raw bytes, not its base64 on the wire.
        let zstd = StoredItem {
            payload: Payload::Zstd(vec![0; 100]),
            ..item("", false)
        };
        assert_eq!(zstd.encoded_size(), 9 + (4 + 100) + 13 + 20);
    }

    #[test]
    fn decimal_lengths() {
        assert_eq!(decimal_len(0), 1);
        assert_eq!(decimal_len(9), 1);
        assert_eq!(decimal_len(10), 2);
        assert_eq!(decimal_len(-10), 3);
        assert_eq!(decimal_len(i64::MIN), 20);
    }

    #[test]
    fn part_keys_stay_within_the_key_limit_at_a_character_boundary() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(part_key("user:1", id, 7), format!("user:1#part#{id}#7"));
        for key in ["x".repeat(2048), "€".repeat(682), "a".repeat(2000)] {
            let part = part_key(&key, id, 1_023);
            assert!(part.len() <= 2048, "{}", part.len());
            assert!(part.ends_with(&format!("#part#{id}#1023")));
            assert!(key.starts_with(part.split("#part#").next().unwrap()));
        }
    }

    #[test]
    fn a_split_value_counts_its_head_and_every_part() {
        let head = SplitHead {
            write_id: "ab".into(),
            parts: 2,
            len: 10,
            sha256: "00".into(),
            form: JoinedForm::Zstd,
        };
        let part = |index, bytes: usize| StoredItem {
            key: part_key("k", "ab", index),
            payload: Payload::Part(Part {
                write_id: "ab".into(),
                index,
                bytes: vec![0; bytes],
            }),
            created_at: None,
            ..item("", false)
        };
        assert_eq!(
            head.parts_size("k", 1_700_000_000),
            part(0, 6).encoded_size() + part(1, 4).encoded_size()
        );
        let too_many = SplitHead {
            parts: MAX_PARTS + 1,
            ..head
        };
        assert_eq!(too_many.parts_size("k", 0), 0);
    }

    #[test]
    fn debug_hides_the_payload() {
        let shown = format!("{:?}", item("{\"secret\":1}", false));
        assert!(!shown.contains("secret"));
        assert!(shown.contains("payload_len"));
    }
}
