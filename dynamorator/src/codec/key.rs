//! Partition key rules, checked before any request is sent.

use crate::Error;

/// DynamoDB's partition key limit, in UTF-8 bytes.
pub(crate) const MAX_KEY_BYTES: usize = 2048;

/// Refuses keys DynamoDB would refuse, so the caller gets a clear error instead of a
/// server-specific one (dynalite counts characters, moto silently finds nothing).
pub(crate) fn validate_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::KeyTooLong { len: key.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_keys_from_one_to_2048_bytes() {
        assert!(validate_key("k").is_ok());
        assert!(validate_key(&"x".repeat(2048)).is_ok());
    }

    #[test]
    fn refuses_empty_and_overlong_keys() {
        assert!(matches!(validate_key(""), Err(Error::EmptyKey)));
        assert!(matches!(
            validate_key(&"x".repeat(2049)),
            Err(Error::KeyTooLong { len: 2049 })
        ));
    }

    #[test]
    fn counts_bytes_not_characters() {
        // 683 three-byte characters are 2049 bytes but only 683 characters.
        let key = "€".repeat(683);
        assert!(matches!(
            validate_key(&key),
            Err(Error::KeyTooLong { len: 2049 })
        ));
    }
}
