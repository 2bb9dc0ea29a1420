//! One stored item, as every backend keeps it: the table format's attributes, already typed.

/// The attribute names of the table format, shared with the Python package.
pub(crate) mod attr {
    pub(crate) const KEY: &str = "cache_id";
    pub(crate) const DATA: &str = "data";
    pub(crate) const TTL: &str = "ttl";
    pub(crate) const CREATED_AT: &str = "created_at";
    pub(crate) const COMPRESSED: &str = "compressed";
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

/// An item in the table format. `data` is JSON text, or base64 of its gzip when `compressed`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoredItem {
    pub(crate) key: String,
    pub(crate) data: String,
    pub(crate) compressed: bool,
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
            + attr::DATA.len()
            + self.data.len()
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
            + if self.compressed {
                attr::COMPRESSED.len() + 1
            } else {
                0
            }
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

// Payloads never reach logs: Debug shows the key and sizes, not the data.
impl std::fmt::Debug for StoredItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredItem")
            .field("key", &self.key)
            .field("data_len", &self.data.len())
            .field("compressed", &self.compressed)
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
        StoredItem {
            key: "k".into(),
            data: data.into(),
            compressed,
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
        assert!(shown.contains("data_len"));
    }
}
