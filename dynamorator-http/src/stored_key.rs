//! Cache keys as stored keys: readable when short, a digest when long, so a long URL or many
//! varied headers never pass DynamoDB's 2,048-byte key limit.

use sha2::{Digest, Sha256};

/// Keys up to this many bytes are stored as they are; longer ones as their digest. Well under
/// DynamoDB's 2,048 bytes, leaving room for a cache's prefix.
const READABLE_MAX_BYTES: usize = 512;

/// The stored form of `material`: itself when short, else `sha256:` and the hex digest of all
/// of it (the first bytes kept in front for whoever reads the table).
pub(crate) fn stored_key(material: &[u8]) -> String {
    if material.len() <= READABLE_MAX_BYTES
        && let Ok(text) = std::str::from_utf8(material)
        && !text.is_empty()
    {
        return text.to_owned();
    }
    let digest = Sha256::digest(material);
    let mut key = String::with_capacity(64 + 8 + 80);
    let readable = String::from_utf8_lossy(&material[..material.len().min(64)]);
    key.push_str(readable.trim_end_matches('\u{FFFD}'));
    key.push_str(" sha256:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::stored_key;

    #[test]
    fn short_keys_are_kept_and_long_ones_digested() {
        assert_eq!(stored_key(b"GET /a?b=1"), "GET /a?b=1");
        let long = format!("GET /{}", "x".repeat(5_000));
        let key = stored_key(long.as_bytes());
        assert!(key.len() < 200, "{key}");
        assert!(key.starts_with("GET /xxx"));
        assert_ne!(key, stored_key(format!("{long}y").as_bytes()));
        // Not UTF-8, and empty: digested, never a panic.
        assert!(stored_key(&[0xff, 0xfe]).contains("sha256:"));
        assert!(stored_key(b"").starts_with(" sha256:"));
    }
}
