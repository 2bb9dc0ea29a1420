//! A cache's key space: the prefix its keys are stored under, and the checks and conversions
//! between the caller's keys and the stored ones.

use std::sync::Arc;

use crate::codec::MAX_KEY_BYTES;
use crate::{BatchFailure, Error};

/// The stored-key prefix of one cache (`product:v2:`, or empty).
#[derive(Debug, Clone)]
pub(crate) struct KeySpace {
    prefix: Arc<str>,
}

impl KeySpace {
    pub(crate) fn new(prefix: String) -> Self {
        KeySpace {
            prefix: prefix.into(),
        }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key under which `key` is stored.
    pub(crate) fn stored(&self, key: &str) -> String {
        let mut stored = String::with_capacity(self.prefix.len() + key.len());
        stored.push_str(&self.prefix);
        stored.push_str(key);
        stored
    }

    /// Checks that `key` makes a valid stored key, without building it: the prefix and the key
    /// together must be 1 to 2048 bytes.
    pub(crate) fn validate(&self, key: &str) -> Result<(), Error> {
        match self.prefix.len() + key.len() {
            0 => Err(Error::EmptyKey),
            len if len > MAX_KEY_BYTES => Err(Error::KeyTooLong { len }),
            _ => Ok(()),
        }
    }

    /// The caller's key for a stored key of this space, or `None` for a key of another space.
    pub(crate) fn caller_key<'a>(&self, stored: &'a str) -> Option<&'a str> {
        stored.strip_prefix(&*self.prefix)
    }

    /// The caller's key for a stored key known to be of this space.
    pub(crate) fn unprefix(&self, stored: String) -> String {
        match self.caller_key(&stored) {
            Some(key) if !self.prefix.is_empty() => key.to_owned(),
            _ => stored,
        }
    }

    /// Batch failures with the caller's keys instead of the stored ones.
    pub(crate) fn unprefix_failures(&self, failures: Vec<BatchFailure>) -> Vec<BatchFailure> {
        if self.prefix.is_empty() {
            return failures;
        }
        failures
            .into_iter()
            .map(|f| BatchFailure {
                keys: f.keys.into_iter().map(|k| self.unprefix(k)).collect(),
                error: f.error,
            })
            .collect()
    }

    /// An error with the caller's keys instead of the stored ones.
    pub(crate) fn unprefix_error(&self, error: Error) -> Error {
        match error {
            Error::Incomplete {
                attempted,
                failures,
            } => Error::Incomplete {
                attempted,
                failures: self.unprefix_failures(failures),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_round_trip() {
        let space = KeySpace::new("product:v2:".into());
        assert_eq!(space.stored("B00X"), "product:v2:B00X");
        assert_eq!(space.unprefix("product:v2:B00X".into()), "B00X");
        assert_eq!(space.caller_key("user:1"), None);
    }

    #[test]
    fn the_prefix_counts_toward_the_key_limit() {
        let space = KeySpace::new("p:".into());
        assert!(space.validate(&"x".repeat(2046)).is_ok());
        assert!(matches!(
            space.validate(&"x".repeat(2047)),
            Err(Error::KeyTooLong { len: 2049 })
        ));
        assert!(matches!(
            KeySpace::new(String::new()).validate(""),
            Err(Error::EmptyKey)
        ));
        assert!(space.validate("").is_ok());
    }
}
