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
}

impl Payload {
    /// The attributes this payload is stored in, counted as DynamoDB counts them: names plus
    /// values, strings by their UTF-8 bytes, binaries by their raw bytes, a BOOL as one.
    pub(crate) fn encoded_size(&self) -> usize {
        match self {
            Payload::Json(text) => attr::DATA.len() + text.len(),
            Payload::Gzip(text) => attr::DATA.len() + text.len() + attr::COMPRESSED.len() + 1,
            Payload::Zstd(frame) => attr::ZSTD.len() + frame.len(),
        }
    }

    /// Whether the JSON text is compressed (gzip or zstd).
    pub(crate) fn is_compressed(&self) -> bool {
        !matches!(self, Payload::Json(_))
    }

    /// The form's name, for logs.
    pub(crate) fn form_name(&self) -> &'static str {
        match self {
            Payload::Json(_) => "json",
            Payload::Gzip(_) => "gzip",
            Payload::Zstd(_) => "zstd",
        }
    }

    /// The stored bytes of the value, whatever the form.
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Json(text) | Payload::Gzip(text) => text.len(),
            Payload::Zstd(frame) => frame.len(),
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

fn count_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn decimal_len(n: i64) -> usize {
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
    fn debug_hides_the_payload() {
        let shown = format!("{:?}", item("{\"secret\":1}", false));
        assert!(!shown.contains("secret"));
        assert!(shown.contains("payload_len"));
    }
}
