//! One stored item, as every backend keeps it: the table format's attributes, already typed.

/// The attribute names of the table format, shared with the Python package.
pub(crate) mod attr {
    pub(crate) const KEY: &str = "cache_id";
    pub(crate) const DATA: &str = "data";
    pub(crate) const TTL: &str = "ttl";
    pub(crate) const CREATED_AT: &str = "created_at";
    pub(crate) const COMPRESSED: &str = "compressed";
    /// Not in the Python package's format (it reads only `data`, so such an item is a miss to
    /// it): the zstd frame of the value's JSON text, a binary (B) attribute.
    pub(crate) const ZSTD: &str = "zstd";
    /// A split value's head (README, "Values past 400 KB"), which has no `data`: how many
    /// parts, the write they belong to, the joined bytes' length, SHA-256 and form.
    pub(crate) const PARTS: &str = "parts";
    pub(crate) const PARTS_ID: &str = "parts_id";
    pub(crate) const PARTS_LEN: &str = "parts_len";
    pub(crate) const PARTS_SHA256: &str = "parts_sha256";
    pub(crate) const PARTS_FORM: &str = "parts_form";
    /// One part of a split value: its bytes (B), its write id and its place.
    pub(crate) const PART: &str = "part";
    pub(crate) const PART_OF: &str = "part_of";
    pub(crate) const PART_INDEX: &str = "part_index";
    /// Not in the Python package's format (it ignores it): the end of the item's fresh window.
    pub(crate) const FRESH_UNTIL: &str = "fresh_until";
    /// The cache generation a value was written under (fleet-wide clear).
    pub(crate) const GENERATION: &str = "generation";
    /// The version of an ordered write.
    pub(crate) const VERSION: &str = "version";
    /// A lease: until when (epoch milliseconds) and whose. Only DynamoDB stores leases; the
    /// embedded backend keeps them beside its items.
    #[cfg(feature = "dynamodb")]
    pub(crate) const LEASE_UNTIL: &str = "lease_until";
    #[cfg(feature = "dynamodb")]
    pub(crate) const LEASE_OWNER: &str = "lease_owner";
}

/// DynamoDB's item size limit: 400 KB of attribute names and values.
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The bytes of a value each part of a split value carries (the last carries the rest): under
/// DynamoDB's item limit with a 2 KB key, and under moto's, which counts a binary as its
/// base64 text.
pub(crate) const PART_BYTES: usize = 300_000;

/// The most parts a split value's head may name; a head naming more is corrupt, and nothing
/// is fetched for it.
pub(crate) const MAX_PARTS: u32 = 1_024;

/// The form of a split value's bytes once its parts are joined: the JSON text, its gzip (raw,
/// not base64: parts are binary), or its zstd frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinedForm {
    Json,
    Gzip,
    Zstd,
}

impl JoinedForm {
    /// The `parts_form` attribute's value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            JoinedForm::Json => "json",
            JoinedForm::Gzip => "gzip",
            JoinedForm::Zstd => "zstd",
        }
    }

    // Only DynamoDB stores it by name; the embedded file stores a byte.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn from_name(name: &str) -> Option<JoinedForm> {
        [JoinedForm::Json, JoinedForm::Gzip, JoinedForm::Zstd]
            .into_iter()
            .find(|form| form.name() == name)
    }
}

/// A split value's head: where its parts are and how to check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitHead {
    /// The write the parts belong to (32 lowercase hex digits from this crate), in their keys.
    pub(crate) write_id: String,
    /// How many parts.
    pub(crate) parts: u32,
    /// The joined bytes' length.
    pub(crate) len: u64,
    /// The joined bytes' SHA-256, lowercase hex.
    pub(crate) sha256: String,
    pub(crate) form: JoinedForm,
}

impl SplitHead {
    /// The keys of the parts this head names under `key`, or `None` when it cannot name parts
    /// of this crate's writing (a count of zero or past [`MAX_PARTS`], a write id that is not
    /// 1 to 64 ASCII letters and digits): nothing is fetched or deleted for such a head.
    pub(crate) fn part_keys(&self, key: &str) -> Option<Vec<String>> {
        let id = &self.write_id;
        let id_ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok || self.parts == 0 || self.parts > MAX_PARTS {
            return None;
        }
        Some(
            (0..self.parts)
                .map(|index| part_key(key, id, index))
                .collect(),
        )
    }

    /// The size of every part item, as [`StoredItem::encoded_size`] counts them, for a head
    /// under `key` expiring at `expires_at`: computed, not read (a head naming more than
    /// [`MAX_PARTS`] parts counts none).
    pub(crate) fn parts_size(&self, key: &str, expires_at: i64) -> usize {
        if self.parts > MAX_PARTS {
            return 0;
        }
        let each = attr::KEY.len()
            + attr::TTL.len()
            + decimal_len(expires_at)
            + attr::PART_OF.len()
            + self.write_id.len()
            + attr::PART_INDEX.len()
            + attr::PART.len();
        (0..self.parts)
            .map(|index| {
                each + part_key(key, &self.write_id, index).len() + count_len(u64::from(index))
            })
            .sum::<usize>()
            .saturating_add(usize::try_from(self.len).unwrap_or(usize::MAX))
    }
}

/// One part of a split value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) write_id: String,
    /// Its place, from 0.
    pub(crate) index: u32,
    pub(crate) bytes: Vec<u8>,
}

/// The key of part `index` of the write `write_id` of the value under `key`:
/// `{key}#part#{write_id}#{index}`, the key cut (at a character boundary) so the whole stays
/// within DynamoDB's 2048 bytes. The random write id makes it unique; the key is kept for
/// whoever reads the table.
pub(crate) fn part_key(key: &str, write_id: &str, index: u32) -> String {
    let suffix = format!("#part#{write_id}#{index}");
    let room = 2048usize.saturating_sub(suffix.len());
    let mut end = key.len().min(room);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    let mut part = String::with_capacity(end + suffix.len());
    part.push_str(&key[..end]);
    part.push_str(&suffix);
    part
}

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
