//! The table format in DynamoDB attributes: [`StoredItem`] ⇄ an attribute map.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::Error;
use crate::backend::item::{Payload, StoredItem, attr};
use crate::error::CorruptReason;

pub(crate) type Attributes = HashMap<String, AttributeValue>;

/// The attribute map of an item, exactly as the Python package writes its forms (`compressed`
/// only when true); a zstd value goes in `zstd` (B), with no `data`, so the Python package
/// reads it as a miss.
pub(crate) fn to_attributes(item: StoredItem) -> Attributes {
    let mut attributes = HashMap::with_capacity(6);
    attributes.insert(attr::KEY.to_owned(), AttributeValue::S(item.key));
    match item.payload {
        Payload::Json(text) => {
            attributes.insert(attr::DATA.to_owned(), AttributeValue::S(text));
        }
        Payload::Gzip(text) => {
            attributes.insert(attr::DATA.to_owned(), AttributeValue::S(text));
            attributes.insert(attr::COMPRESSED.to_owned(), AttributeValue::Bool(true));
        }
        Payload::Zstd(frame) => {
            attributes.insert(attr::ZSTD.to_owned(), AttributeValue::B(Blob::new(frame)));
        }
    }
    attributes.insert(
        attr::TTL.to_owned(),
        AttributeValue::N(item.expires_at.to_string()),
    );
    if let Some(created_at) = item.created_at {
        attributes.insert(
            attr::CREATED_AT.to_owned(),
            AttributeValue::N(created_at.to_string()),
        );
    }
    if let Some(fresh_until) = item.fresh_until {
        attributes.insert(
            attr::FRESH_UNTIL.to_owned(),
            AttributeValue::N(fresh_until.to_string()),
        );
    }
    if let Some(generation) = item.generation {
        attributes.insert(
            attr::GENERATION.to_owned(),
            AttributeValue::N(generation.to_string()),
        );
    }
    if let Some(version) = item.version {
        attributes.insert(
            attr::VERSION.to_owned(),
            AttributeValue::N(version.to_string()),
        );
    }
    attributes
}

/// The key attribute alone, as GetItem, DeleteItem and BatchGetItem take it.
pub(crate) fn key_attributes(key: &str) -> Attributes {
    HashMap::from([(attr::KEY.to_owned(), AttributeValue::S(key.to_owned()))])
}

/// The `cache_id` of an attribute map, if it has a string one.
pub(crate) fn key_of(attributes: &Attributes) -> Option<&str> {
    match attributes.get(attr::KEY) {
        Some(AttributeValue::S(key)) => Some(key),
        _ => None,
    }
}

use crate::backend::Unreadable;

/// Reads an item in the table format, or says what is wrong with it; `Ok(None)` for an item
/// that holds no value (a lease on a key not loaded yet): a clean miss, as the Python package
/// reads an item without `data`. The key and the payload are moved out of the attributes,
/// never copied: batch reads decode thousands of items.
pub(crate) fn from_attributes(
    mut attributes: Attributes,
) -> Result<Option<StoredItem>, Unreadable> {
    let key = match attributes.remove(attr::KEY) {
        Some(AttributeValue::S(key)) => key,
        other => {
            let reason = match other {
                Some(_) => CorruptReason::WrongType {
                    attribute: attr::KEY,
                    expected: "S",
                },
                None => CorruptReason::MissingAttribute(attr::KEY),
            };
            return Err(Box::new((String::new(), Error::corrupt("", reason))));
        }
    };
    if !attributes.contains_key(attr::DATA) && !attributes.contains_key(attr::ZSTD) {
        return Ok(None);
    }
    match fields(&mut attributes) {
        Ok((payload, expires_at)) => Ok(Some(StoredItem {
            key,
            payload,
            expires_at,
            // Informational or advisory: unreadable ones are dropped, not fatal (an unreadable
            // fresh_until leaves the item fresh until its ttl, as an item without one).
            created_at: optional_epoch_seconds(&attributes, attr::CREATED_AT),
            fresh_until: optional_epoch_seconds(&attributes, attr::FRESH_UNTIL),
            generation: optional_count(&attributes, attr::GENERATION),
            version: optional_count(&attributes, attr::VERSION),
        })),
        Err(reason) => {
            let error = Error::corrupt(&key, reason);
            Err(Box::new((key, error)))
        }
    }
}

/// The payload (from `data` and `compressed`, or `zstd`) and `ttl`, checked.
fn fields(attributes: &mut Attributes) -> Result<(Payload, i64), CorruptReason> {
    let payload = payload(attributes)?;
    let expires_at = match attributes.get(attr::TTL) {
        Some(value) => epoch_seconds(attr::TTL, value)?,
        None => return Err(CorruptReason::MissingAttribute(attr::TTL)),
    };
    Ok((payload, expires_at))
}

/// The value in whichever form the item holds it; exactly one form, of the right type.
fn payload(attributes: &mut Attributes) -> Result<Payload, CorruptReason> {
    if attributes.contains_key(attr::DATA) && attributes.contains_key(attr::ZSTD) {
        return Err(CorruptReason::Ambiguous(attr::DATA, attr::ZSTD));
    }
    if let Some(zstd) = attributes.remove(attr::ZSTD) {
        return match zstd {
            AttributeValue::B(frame) => Ok(Payload::Zstd(frame.into_inner())),
            _ => Err(CorruptReason::WrongType {
                attribute: attr::ZSTD,
                expected: "B",
            }),
        };
    }
    let data = match attributes.remove(attr::DATA) {
        Some(AttributeValue::S(data)) => data,
        Some(_) => {
            return Err(CorruptReason::WrongType {
                attribute: attr::DATA,
                expected: "S",
            });
        }
        None => return Err(CorruptReason::MissingAttribute(attr::DATA)),
    };
    match attributes.get(attr::COMPRESSED) {
        None | Some(AttributeValue::Bool(false)) => Ok(Payload::Json(data)),
        Some(AttributeValue::Bool(true)) => Ok(Payload::Gzip(data)),
        Some(_) => Err(CorruptReason::WrongType {
            attribute: attr::COMPRESSED,
            expected: "BOOL",
        }),
    }
}

/// A whole, non-negative number attribute; unreadable ones are dropped (as absent).
fn optional_count(attributes: &Attributes, name: &'static str) -> Option<u64> {
    match attributes.get(name) {
        Some(AttributeValue::N(text)) => text.trim().parse().ok(),
        _ => None,
    }
}

fn optional_epoch_seconds(attributes: &Attributes, name: &'static str) -> Option<i64> {
    attributes
        .get(name)
        .and_then(|value| epoch_seconds(name, value).ok())
}

/// The expiry in a scanned item, where the scan projected `ttl`.
pub(crate) fn expiry_of(attributes: &Attributes) -> Option<i64> {
    attributes
        .get(attr::TTL)
        .and_then(|value| epoch_seconds(attr::TTL, value).ok())
}

/// A whole number of epoch seconds from an `N` attribute. DynamoDB numbers may be written in
/// decimal or exponent form by other writers; fractions are dropped.
fn epoch_seconds(attribute: &'static str, value: &AttributeValue) -> Result<i64, CorruptReason> {
    let AttributeValue::N(text) = value else {
        return Err(CorruptReason::WrongType {
            attribute,
            expected: "N",
        });
    };
    if let Ok(whole) = text.trim().parse::<i64>() {
        return Ok(whole);
    }
    match text.trim().parse::<f64>() {
        // The range check keeps the cast exact; i64::MAX as f64 rounds up, so use <.
        Ok(number)
            if number.is_finite() && number >= i64::MIN as f64 && number < i64::MAX as f64 =>
        {
            Ok(number.trunc() as i64)
        }
        _ => Err(CorruptReason::BadNumber(attribute)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_item() -> Attributes {
        HashMap::from([
            ("cache_id".to_owned(), AttributeValue::S("user:1".into())),
            ("data".to_owned(), AttributeValue::S("{\"a\": 1}".into())),
            ("ttl".to_owned(), AttributeValue::N("1900000000".into())),
            (
                "created_at".to_owned(),
                AttributeValue::N("1800000000".into()),
            ),
        ])
    }

    #[test]
    fn round_trips_the_table_format() {
        let item = from_attributes(python_item()).unwrap().unwrap();
        assert_eq!(item.key, "user:1");
        assert_eq!(item.expires_at, 1_900_000_000);
        assert_eq!(item.created_at, Some(1_800_000_000));
        assert_eq!(item.payload, Payload::Json("{\"a\": 1}".into()));
        assert_eq!(to_attributes(item), python_item());
    }

    #[test]
    fn compressed_is_written_only_when_true() {
        let mut item = from_attributes(python_item()).unwrap().unwrap();
        assert!(!to_attributes(item.clone()).contains_key("compressed"));
        item.payload = Payload::Gzip("H4sI".into());
        assert_eq!(
            to_attributes(item).get("compressed"),
            Some(&AttributeValue::Bool(true))
        );
    }

    #[test]
    fn zstd_goes_in_its_own_binary_attribute_without_data() {
        let mut item = from_attributes(python_item()).unwrap().unwrap();
        item.payload = Payload::Zstd(vec![0x28, 0xb5, 0x2f, 0xfd, 0]);
        let attributes = to_attributes(item.clone());
        assert!(!attributes.contains_key("data") && !attributes.contains_key("compressed"));
        assert_eq!(
            attributes.get("zstd"),
            Some(&AttributeValue::B(Blob::new(vec![
                0x28, 0xb5, 0x2f, 0xfd, 0
            ])))
        );
        assert_eq!(from_attributes(attributes).unwrap(), Some(item));
        // `compressed` means nothing without `data`.
        let mut flagged = to_attributes(from_attributes(python_item()).unwrap().unwrap());
        flagged.remove("data");
        flagged.insert("zstd".into(), AttributeValue::B(Blob::new(vec![1])));
        flagged.insert("compressed".into(), AttributeValue::Bool(true));
        assert_eq!(
            from_attributes(flagged).unwrap().unwrap().payload,
            Payload::Zstd(vec![1])
        );
    }

    fn reason(mutate: impl FnOnce(&mut Attributes)) -> CorruptReason {
        let mut attributes = python_item();
        mutate(&mut attributes);
        match from_attributes(attributes).map_err(|unreadable| unreadable.1) {
            Err(Error::Corrupt { reason, .. }) => reason,
            other => panic!("expected corrupt, got {other:?}"),
        }
    }

    #[test]
    fn an_item_without_data_is_a_clean_miss() {
        let mut attributes = python_item();
        attributes.remove("data");
        attributes.insert("lease_until".into(), AttributeValue::N("1".into()));
        assert!(matches!(from_attributes(attributes), Ok(None)));
    }

    #[test]
    fn generation_and_version_round_trip() {
        let mut item = from_attributes(python_item()).unwrap().unwrap();
        item.generation = Some(3);
        item.version = Some(17);
        let back = from_attributes(to_attributes(item.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(back, item);
    }

    #[test]
    fn every_malformed_attribute_is_named() {
        assert!(matches!(
            reason(|a| {
                a.insert("data".into(), AttributeValue::N("1".into()));
            }),
            CorruptReason::WrongType {
                attribute: "data",
                ..
            }
        ));
        assert!(matches!(
            reason(|a| {
                a.insert("data".into(), AttributeValue::B(Blob::new(vec![1])));
            }),
            CorruptReason::WrongType {
                attribute: "data",
                ..
            }
        ));
        assert_eq!(
            reason(|a| {
                a.insert("zstd".into(), AttributeValue::B(Blob::new(vec![1])));
            }),
            CorruptReason::Ambiguous("data", "zstd")
        );
        assert!(matches!(
            reason(|a| {
                a.remove("data");
                a.insert("zstd".into(), AttributeValue::S("KLUv/Q==".into()));
            }),
            CorruptReason::WrongType {
                attribute: "zstd",
                expected: "B"
            }
        ));
        assert!(matches!(
            reason(|a| {
                a.insert("compressed".into(), AttributeValue::S("true".into()));
            }),
            CorruptReason::WrongType {
                attribute: "compressed",
                ..
            }
        ));
        assert_eq!(
            reason(|a| {
                a.remove("ttl");
            }),
            CorruptReason::MissingAttribute("ttl")
        );
        assert_eq!(
            reason(|a| {
                a.insert("ttl".into(), AttributeValue::N("soon".into()));
            }),
            CorruptReason::BadNumber("ttl")
        );
        assert!(matches!(
            reason(|a| {
                a.insert("ttl".into(), AttributeValue::S("1900000000".into()));
            }),
            CorruptReason::WrongType {
                attribute: "ttl",
                ..
            }
        ));
        assert_eq!(
            reason(|a| {
                a.remove("cache_id");
            }),
            CorruptReason::MissingAttribute("cache_id")
        );
    }

    #[test]
    fn numbers_in_other_forms_are_read() {
        let mut attributes = python_item();
        attributes.insert("ttl".into(), AttributeValue::N("1.9E9".into()));
        assert_eq!(
            from_attributes(attributes).unwrap().unwrap().expires_at,
            1_900_000_000
        );
        for huge in ["1e300", "NaN", "inf"] {
            let mut attributes = python_item();
            attributes.insert("ttl".into(), AttributeValue::N(huge.into()));
            assert!(from_attributes(attributes).is_err(), "{huge}");
        }
    }

    #[test]
    fn an_unreadable_created_at_is_dropped() {
        let mut attributes = python_item();
        attributes.insert("created_at".into(), AttributeValue::S("yesterday".into()));
        assert_eq!(
            from_attributes(attributes).unwrap().unwrap().created_at,
            None
        );
    }
}
