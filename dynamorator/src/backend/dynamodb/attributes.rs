//! The table format in DynamoDB attributes: [`StoredItem`] ⇄ an attribute map.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::Error;
use crate::backend::item::{JoinedForm, Part, Payload, SplitHead, StoredItem, attr};
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
        Payload::Head(head) => {
            let number = |n: u64| AttributeValue::N(n.to_string());
            attributes.insert(attr::PARTS.to_owned(), number(u64::from(head.parts)));
            attributes.insert(attr::PARTS_ID.to_owned(), AttributeValue::S(head.write_id));
            attributes.insert(attr::PARTS_LEN.to_owned(), number(head.len));
            attributes.insert(
                attr::PARTS_SHA256.to_owned(),
                AttributeValue::S(head.sha256),
            );
            attributes.insert(
                attr::PARTS_FORM.to_owned(),
                AttributeValue::S(head.form.name().to_owned()),
            );
        }
        Payload::Part(part) => {
            attributes.insert(
                attr::PART.to_owned(),
                AttributeValue::B(Blob::new(part.bytes)),
            );
            attributes.insert(attr::PART_OF.to_owned(), AttributeValue::S(part.write_id));
            attributes.insert(
                attr::PART_INDEX.to_owned(),
                AttributeValue::N(part.index.to_string()),
            );
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
    if !VALUE_ATTRIBUTES
        .iter()
        .any(|name| attributes.contains_key(*name))
    {
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

/// The attributes that hold a value or a part of one, one per form: an item has exactly one.
const VALUE_ATTRIBUTES: [&str; 4] = [attr::DATA, attr::ZSTD, attr::PARTS, attr::PART];

/// The value in whichever form the item holds it; exactly one form, of the right types.
fn payload(attributes: &mut Attributes) -> Result<Payload, CorruptReason> {
    let mut present = VALUE_ATTRIBUTES
        .into_iter()
        .filter(|name| attributes.contains_key(*name));
    if let (Some(first), Some(second)) = (present.next(), present.next()) {
        return Err(CorruptReason::Ambiguous(first, second));
    }
    if attributes.contains_key(attr::PARTS) {
        return split_head(attributes).map(Payload::Head);
    }
    if attributes.contains_key(attr::PART) {
        return part(attributes).map(Payload::Part);
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

/// A split value's head: its part count, write id, length, checksum and form, all required.
fn split_head(attributes: &mut Attributes) -> Result<SplitHead, CorruptReason> {
    let parts = required_count(attributes, attr::PARTS)?;
    Ok(SplitHead {
        parts: u32::try_from(parts).map_err(|_| CorruptReason::BadNumber(attr::PARTS))?,
        write_id: required_string(attributes, attr::PARTS_ID)?,
        len: required_count(attributes, attr::PARTS_LEN)?,
        sha256: required_string(attributes, attr::PARTS_SHA256)?,
        form: JoinedForm::from_name(&required_string(attributes, attr::PARTS_FORM)?)
            .ok_or(CorruptReason::BadForm(attr::PARTS_FORM))?,
    })
}

/// One part: its bytes, write id and place, all required.
fn part(attributes: &mut Attributes) -> Result<Part, CorruptReason> {
    let bytes = match attributes.remove(attr::PART) {
        Some(AttributeValue::B(bytes)) => bytes.into_inner(),
        _ => {
            return Err(CorruptReason::WrongType {
                attribute: attr::PART,
                expected: "B",
            });
        }
    };
    let index = required_count(attributes, attr::PART_INDEX)?;
    Ok(Part {
        write_id: required_string(attributes, attr::PART_OF)?,
        index: u32::try_from(index).map_err(|_| CorruptReason::BadNumber(attr::PART_INDEX))?,
        bytes,
    })
}

/// A required `S` attribute, moved out.
fn required_string(
    attributes: &mut Attributes,
    name: &'static str,
) -> Result<String, CorruptReason> {
    match attributes.remove(name) {
        Some(AttributeValue::S(text)) => Ok(text),
        Some(_) => Err(CorruptReason::WrongType {
            attribute: name,
            expected: "S",
        }),
        None => Err(CorruptReason::MissingAttribute(name)),
    }
}

/// A required whole, non-negative `N` attribute.
fn required_count(attributes: &Attributes, name: &'static str) -> Result<u64, CorruptReason> {
    match attributes.get(name) {
        Some(AttributeValue::N(text)) => text
            .trim()
            .parse()
            .map_err(|_| CorruptReason::BadNumber(name)),
        Some(_) => Err(CorruptReason::WrongType {
            attribute: name,
            expected: "N",
        }),
        None => Err(CorruptReason::MissingAttribute(name)),
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

    fn head() -> SplitHead {
        SplitHead {
            write_id: "0123456789abcdef0123456789abcdef".into(),
            parts: 3,
            len: 700_000,
            sha256: "ab".repeat(32),
            form: JoinedForm::Gzip,
        }
    }

    #[test]
    fn split_heads_and_parts_round_trip_without_data() {
        let mut item = from_attributes(python_item()).unwrap().unwrap();
        item.payload = Payload::Head(head());
        let attributes = to_attributes(item.clone());
        assert!(!attributes.contains_key("data"));
        assert_eq!(
            attributes.get("parts"),
            Some(&AttributeValue::N("3".into()))
        );
        assert_eq!(from_attributes(attributes).unwrap(), Some(item.clone()));
        item.payload = Payload::Part(Part {
            write_id: "ff".into(),
            index: 2,
            bytes: vec![0, 1, 2],
        });
        let attributes = to_attributes(item.clone());
        assert!(!attributes.contains_key("data"));
        assert_eq!(
            attributes.get("part"),
            Some(&AttributeValue::B(Blob::new(vec![0, 1, 2])))
        );
        assert_eq!(from_attributes(attributes).unwrap(), Some(item));
    }

    #[test]
    fn malformed_heads_and_parts_are_named() {
        let head_item = || {
            let mut item = from_attributes(python_item()).unwrap().unwrap();
            item.payload = Payload::Head(head());
            to_attributes(item)
        };
        let reason_of = |attributes: Attributes| match from_attributes(attributes) {
            Err(unreadable) => match unreadable.1 {
                Error::Corrupt { reason, .. } => reason,
                other => panic!("expected corrupt, got {other:?}"),
            },
            other => panic!("expected corrupt, got {other:?}"),
        };
        let mut millions = head_item();
        millions.insert("parts".into(), AttributeValue::N("5000000".into()));
        // Read as it is: the store refuses a count past its cap before fetching anything.
        assert!(matches!(
            from_attributes(millions).unwrap().unwrap().payload,
            Payload::Head(SplitHead {
                parts: 5_000_000,
                ..
            })
        ));
        let mut huge = head_item();
        huge.insert("parts".into(), AttributeValue::N("1e12".into()));
        assert_eq!(reason_of(huge), CorruptReason::BadNumber("parts"));
        let mut form = head_item();
        form.insert("parts_form".into(), AttributeValue::S("brotli".into()));
        assert_eq!(reason_of(form), CorruptReason::BadForm("parts_form"));
        let mut no_id = head_item();
        no_id.remove("parts_id");
        assert_eq!(
            reason_of(no_id),
            CorruptReason::MissingAttribute("parts_id")
        );
        let mut with_data = head_item();
        with_data.insert("data".into(), AttributeValue::S("1".into()));
        assert_eq!(
            reason_of(with_data),
            CorruptReason::Ambiguous("data", "parts")
        );
        let mut part = python_item();
        part.remove("data");
        part.insert("part".into(), AttributeValue::S("not binary".into()));
        assert!(matches!(
            reason_of(part),
            CorruptReason::WrongType {
                attribute: "part",
                expected: "B"
            }
        ));
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
