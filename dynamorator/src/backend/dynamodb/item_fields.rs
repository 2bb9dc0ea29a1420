//! The attributes of one item that the table format reads, typed as DynamoDB types them, and
//! the one place they become a [`StoredItem`]. The library's parser of response bodies fills
//! them (`response_json`); anything else in an item is skipped unread.

use std::borrow::Cow;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::Error;
use crate::backend::Unreadable;
use crate::error::CorruptReason;
use crate::format::{JoinedForm, Part, Payload, SplitHead, StoredItem, attr};

/// An attribute's value in the types the table format uses, borrowed from the response body
/// where it can be (numbers and keys usually are; `data`, whose JSON text arrives escaped, is
/// not).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field<'a> {
    S(Cow<'a, str>),
    /// A number, as the decimal text DynamoDB sends.
    N(Cow<'a, str>),
    /// Binary, decoded from the base64 DynamoDB JSON carries it in.
    B(Vec<u8>),
    Bool(bool),
    /// Any other type (NULL, M, L, SS, NS, BS): no attribute of the format has one.
    Other,
}

/// The attribute names the format reads, each with its slot in [`ItemFields`]. A new attribute
/// is one more name here, and its reading in [`ItemFields::into_item`]. Names are looked up in
/// this order for every attribute of every item read: the Python package's come first.
const NAMES: [&str; 17] = [
    attr::KEY,
    attr::DATA,
    attr::TTL,
    attr::CREATED_AT,
    attr::COMPRESSED,
    attr::ZSTD,
    attr::FRESH_UNTIL,
    attr::GENERATION,
    attr::VERSION,
    attr::PARTS,
    attr::PART,
    attr::PARTS_ID,
    attr::PARTS_LEN,
    attr::PARTS_SHA256,
    attr::PARTS_FORM,
    attr::PART_OF,
    attr::PART_INDEX,
];

/// The attributes that hold a value or a part of one, one per form: an item has exactly one.
const VALUE_ATTRIBUTES: [&str; 4] = [attr::DATA, attr::ZSTD, attr::PARTS, attr::PART];

/// The attributes of one item that the format reads: a slot per name of [`NAMES`].
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ItemFields<'a> {
    fields: [Option<Field<'a>>; NAMES.len()],
}

/// Where an attribute of one of [`NAMES`] goes; `None` for attributes the format does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

impl Slot {
    pub(crate) fn of(name: &str) -> Option<Slot> {
        NAMES.iter().position(|known| *known == name).map(Slot)
    }
}

impl ItemFields<'static> {
    /// The format's attributes of an item the SDK parsed (a write's `ALL_OLD` answer, which the
    /// library does not take from the SDK); the rest are dropped unread.
    pub(crate) fn from_sdk(attributes: super::attributes::Attributes) -> Self {
        let mut fields = ItemFields::default();
        for (name, value) in attributes {
            let Some(slot) = Slot::of(&name) else {
                continue;
            };
            let field = match value {
                AttributeValue::S(text) => Field::S(Cow::Owned(text)),
                AttributeValue::N(text) => Field::N(Cow::Owned(text)),
                AttributeValue::B(bytes) => Field::B(bytes.into_inner()),
                AttributeValue::Bool(flag) => Field::Bool(flag),
                _ => Field::Other,
            };
            fields.set(slot, field);
        }
        fields
    }
}

impl<'a> ItemFields<'a> {
    /// Sets the attribute of `slot`; a repeated name keeps the last value, as a JSON object does.
    pub(crate) fn set(&mut self, slot: Slot, field: Field<'a>) {
        if let Some(place) = self.fields.get_mut(slot.0) {
            *place = Some(field);
        }
    }

    /// The attribute `name`, if the item has it and the format reads it.
    pub(crate) fn get(&self, name: &str) -> Option<&Field<'a>> {
        Slot::of(name).and_then(|slot| self.fields.get(slot.0)?.as_ref())
    }

    fn take(&mut self, name: &str) -> Option<Field<'a>> {
        Slot::of(name).and_then(|slot| self.fields.get_mut(slot.0)?.take())
    }

    /// The `cache_id`, if the item has a string one.
    pub(crate) fn into_key(mut self) -> Option<String> {
        match self.take(attr::KEY) {
            Some(Field::S(key)) => Some(key.into_owned()),
            _ => None,
        }
    }

    /// The expiry, where the item has a readable `ttl`.
    pub(crate) fn expiry(&self) -> Option<i64> {
        self.get(attr::TTL)
            .and_then(|value| epoch_seconds(attr::TTL, value).ok())
    }

    /// Reads an item in the table format, or says what is wrong with it; `Ok(None)` for an
    /// item that holds no value (a lease on a key not loaded yet, or a cache's generation
    /// counter): a clean miss, as the Python package reads an item without `data`. The key and the data are moved out, never
    /// copied: batch reads decode thousands of items.
    pub(crate) fn into_item(mut self) -> Result<Option<StoredItem>, Unreadable> {
        let key = match self.take(attr::KEY) {
            Some(Field::S(key)) => key.into_owned(),
            other => {
                let reason = match other {
                    Some(_) => wrong_type(attr::KEY, "S"),
                    None => CorruptReason::MissingAttribute(attr::KEY),
                };
                return Err(Box::new((String::new(), Error::corrupt("", reason))));
            }
        };
        let form = match self.value_attribute() {
            Ok(None) => return Ok(None),
            Ok(Some(form)) => Ok(form),
            Err(reason) => Err(reason),
        };
        match form.and_then(|form| self.required(form)) {
            Ok((payload, expires_at)) => Ok(Some(StoredItem {
                key,
                payload,
                expires_at,
                // Informational or advisory: unreadable ones are dropped, not fatal (an
                // unreadable fresh_until leaves the item fresh until its ttl, as an item
                // without one).
                created_at: self.optional_epoch_seconds(attr::CREATED_AT),
                fresh_until: self.optional_epoch_seconds(attr::FRESH_UNTIL),
                generation: self.optional_count(attr::GENERATION),
                version: self.optional_count(attr::VERSION),
            })),
            Err(reason) => {
                let error = Error::corrupt(&key, reason);
                Err(Box::new((key, error)))
            }
        }
    }

    /// The one attribute of [`VALUE_ATTRIBUTES`] the item has (`None`: no value, a clean
    /// miss), or the two that make it ambiguous. Looked up once per item read.
    fn value_attribute(&self) -> Result<Option<&'static str>, CorruptReason> {
        let mut present = VALUE_ATTRIBUTES
            .into_iter()
            .filter(|name| self.get(name).is_some());
        match (present.next(), present.next()) {
            (Some(first), Some(second)) => Err(CorruptReason::Ambiguous(first, second)),
            (first, _) => Ok(first),
        }
    }

    /// The payload (from `data` and `compressed`, `zstd`, a split head or a part, as `form`
    /// says) and `ttl`, checked.
    fn required(&mut self, form: &'static str) -> Result<(Payload, i64), CorruptReason> {
        let payload = self.payload(form)?;
        let expires_at = match self.get(attr::TTL) {
            Some(value) => epoch_seconds(attr::TTL, value)?,
            None => return Err(CorruptReason::MissingAttribute(attr::TTL)),
        };
        Ok((payload, expires_at))
    }

    /// The value in the form of its one value attribute, `form`, of the right types.
    fn payload(&mut self, form: &'static str) -> Result<Payload, CorruptReason> {
        match form {
            attr::PARTS => return self.split_head().map(Payload::Head),
            attr::PART => return self.part().map(Payload::Part),
            attr::ZSTD => {
                return match self.take(attr::ZSTD) {
                    Some(Field::B(frame)) => Ok(Payload::Zstd(frame)),
                    _ => Err(wrong_type(attr::ZSTD, "B")),
                };
            }
            _ => {}
        }
        let data = match self.take(attr::DATA) {
            Some(Field::S(data)) => data.into_owned(),
            Some(_) => return Err(wrong_type(attr::DATA, "S")),
            None => return Err(CorruptReason::MissingAttribute(attr::DATA)),
        };
        match self.get(attr::COMPRESSED) {
            None | Some(Field::Bool(false)) => Ok(Payload::Json(data)),
            Some(Field::Bool(true)) => Ok(Payload::Gzip(data)),
            Some(_) => Err(wrong_type(attr::COMPRESSED, "BOOL")),
        }
    }

    /// A split value's head: its part count, write id, length, checksum and form, all required.
    fn split_head(&mut self) -> Result<SplitHead, CorruptReason> {
        let parts = self.required_count(attr::PARTS)?;
        Ok(SplitHead {
            parts: u32::try_from(parts).map_err(|_| CorruptReason::BadNumber(attr::PARTS))?,
            write_id: self.required_string(attr::PARTS_ID)?,
            len: self.required_count(attr::PARTS_LEN)?,
            sha256: self.required_string(attr::PARTS_SHA256)?,
            form: JoinedForm::from_name(&self.required_string(attr::PARTS_FORM)?)
                .ok_or(CorruptReason::BadForm(attr::PARTS_FORM))?,
        })
    }

    /// One part: its bytes, write id and place, all required.
    fn part(&mut self) -> Result<Part, CorruptReason> {
        let bytes = match self.take(attr::PART) {
            Some(Field::B(bytes)) => bytes,
            _ => return Err(wrong_type(attr::PART, "B")),
        };
        let index = self.required_count(attr::PART_INDEX)?;
        Ok(Part {
            write_id: self.required_string(attr::PART_OF)?,
            index: u32::try_from(index).map_err(|_| CorruptReason::BadNumber(attr::PART_INDEX))?,
            bytes,
        })
    }

    /// A required `S` attribute, moved out.
    fn required_string(&mut self, name: &'static str) -> Result<String, CorruptReason> {
        match self.take(name) {
            Some(Field::S(text)) => Ok(text.into_owned()),
            Some(_) => Err(wrong_type(name, "S")),
            None => Err(CorruptReason::MissingAttribute(name)),
        }
    }

    /// A required whole, non-negative `N` attribute.
    fn required_count(&self, name: &'static str) -> Result<u64, CorruptReason> {
        match self.get(name) {
            Some(Field::N(text)) => text
                .trim()
                .parse()
                .map_err(|_| CorruptReason::BadNumber(name)),
            Some(_) => Err(wrong_type(name, "N")),
            None => Err(CorruptReason::MissingAttribute(name)),
        }
    }

    /// A whole, non-negative number attribute; unreadable ones are dropped (as absent).
    fn optional_count(&self, name: &'static str) -> Option<u64> {
        match self.get(name) {
            Some(Field::N(text)) => text.trim().parse().ok(),
            _ => None,
        }
    }

    fn optional_epoch_seconds(&self, name: &'static str) -> Option<i64> {
        self.get(name)
            .and_then(|value| epoch_seconds(name, value).ok())
    }
}

/// An attribute of another DynamoDB type than the format's.
fn wrong_type(attribute: &'static str, expected: &'static str) -> CorruptReason {
    CorruptReason::WrongType {
        attribute,
        expected,
    }
}

/// A whole number of epoch seconds from an `N` attribute. DynamoDB numbers may be written in
/// decimal or exponent form by other writers; fractions are dropped.
fn epoch_seconds(attribute: &'static str, value: &Field<'_>) -> Result<i64, CorruptReason> {
    let Field::N(text) = value else {
        return Err(wrong_type(attribute, "N"));
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
    use crate::backend::dynamodb::response_json;

    /// Reads one item given as DynamoDB JSON, as a GetItem response carries it.
    fn read(item: &str) -> Result<Option<StoredItem>, Unreadable> {
        let body = format!(r#"{{"Item":{item}}}"#);
        let response = response_json::parse(body.as_bytes(), "t").expect("the body parses");
        response.item.expect("the body has an item").into_item()
    }

    const PYTHON_ITEM: &str = r#"{"cache_id":{"S":"user:1"},"data":{"S":"{\"a\": 1}"},
        "ttl":{"N":"1900000000"},"created_at":{"N":"1800000000"}}"#;

    /// PYTHON_ITEM with one attribute replaced (or added) as `name: value`.
    fn with(name: &str, value: &str) -> String {
        let mut item: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(PYTHON_ITEM).unwrap();
        item.insert(name.to_owned(), serde_json::from_str(value).unwrap());
        serde_json::Value::Object(item).to_string()
    }

    fn without(name: &str) -> String {
        let mut item: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(PYTHON_ITEM).unwrap();
        item.remove(name);
        serde_json::Value::Object(item).to_string()
    }

    fn reason(item: &str) -> CorruptReason {
        match read(item).map_err(|unreadable| unreadable.1) {
            Err(Error::Corrupt { reason, .. }) => reason,
            other => panic!("expected corrupt, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_python_packages_item() {
        let item = read(PYTHON_ITEM).unwrap().unwrap();
        assert_eq!(item.key, "user:1");
        assert_eq!(item.payload, Payload::Json(r#"{"a": 1}"#.into()));
        assert_eq!(item.expires_at, 1_900_000_000);
        assert_eq!(item.created_at, Some(1_800_000_000));
        assert_eq!(
            (item.fresh_until, item.generation, item.version),
            (None, None, None)
        );
    }

    #[test]
    fn an_item_without_data_is_a_clean_miss() {
        let lease = r#"{"cache_id":{"S":"k"},"lease_until":{"N":"1"},"lease_owner":{"S":"o"},
            "ttl":{"N":"5"}}"#;
        assert!(matches!(read(lease), Ok(None)));
    }

    #[test]
    fn attributes_the_format_does_not_read_are_skipped_whatever_their_type() {
        let item = with(
            "other",
            r#"{"M":{"x":{"L":[{"NULL":true},{"SS":["a"]},{"B":"not base64 at all"}]}}}"#,
        );
        assert_eq!(read(&item).unwrap(), read(PYTHON_ITEM).unwrap());
    }

    #[test]
    fn every_malformed_attribute_is_named() {
        let wrong = |attribute, expected| CorruptReason::WrongType {
            attribute,
            expected,
        };
        assert_eq!(reason(&with("data", r#"{"N":"1"}"#)), wrong("data", "S"));
        assert_eq!(reason(&with("data", r#"{"B":"AQ=="}"#)), wrong("data", "S"));
        assert_eq!(
            reason(&with("compressed", r#"{"S":"true"}"#)),
            wrong("compressed", "BOOL")
        );
        assert_eq!(
            reason(&without("ttl")),
            CorruptReason::MissingAttribute("ttl")
        );
        assert_eq!(
            reason(&with("ttl", r#"{"N":"soon"}"#)),
            CorruptReason::BadNumber("ttl")
        );
        assert_eq!(
            reason(&with("ttl", r#"{"S":"1900000000"}"#)),
            wrong("ttl", "N")
        );
        assert_eq!(reason(&with("ttl", r#"{"NULL":true}"#)), wrong("ttl", "N"));
        assert_eq!(
            reason(&without("cache_id")),
            CorruptReason::MissingAttribute("cache_id")
        );
        assert_eq!(
            reason(&with("cache_id", r#"{"N":"1"}"#)),
            wrong("cache_id", "S")
        );
    }

    #[test]
    fn a_corrupt_item_names_its_key() {
        let unreadable = read(&with("ttl", r#"{"N":"soon"}"#)).unwrap_err();
        assert_eq!(unreadable.0, "user:1");
        assert!(matches!(&unreadable.1, Error::Corrupt { key, .. } if key == "user:1"));
    }

    #[test]
    fn numbers_in_other_forms_are_read() {
        let item = read(&with("ttl", r#"{"N":"1.9E9"}"#)).unwrap().unwrap();
        assert_eq!(item.expires_at, 1_900_000_000);
        let item = read(&with("ttl", r#"{"N":" 42 "}"#)).unwrap().unwrap();
        assert_eq!(item.expires_at, 42);
        for huge in ["1e300", "NaN", "inf", "9223372036854775807.5"] {
            let item = with("ttl", &format!(r#"{{"N":"{huge}"}}"#));
            assert!(read(&item).is_err(), "{huge}");
        }
    }

    #[test]
    fn unreadable_optional_attributes_are_dropped() {
        let item = read(&with("created_at", r#"{"S":"yesterday"}"#))
            .unwrap()
            .unwrap();
        assert_eq!(item.created_at, None);
        let item = read(&with("generation", r#"{"N":"-1"}"#)).unwrap().unwrap();
        assert_eq!(item.generation, None);
        let item = read(&with("fresh_until", r#"{"BOOL":true}"#))
            .unwrap()
            .unwrap();
        assert_eq!(item.fresh_until, None);
    }

    #[test]
    fn a_repeated_attribute_keeps_its_last_value() {
        let item = PYTHON_ITEM.replace(
            r#""ttl":{"N":"1900000000"}"#,
            r#""ttl":{"N":"1"},"ttl":{"N":"2"}"#,
        );
        assert_eq!(read(&item).unwrap().unwrap().expires_at, 2);
    }

    #[test]
    fn every_name_has_a_slot() {
        for name in NAMES {
            assert!(Slot::of(name).is_some(), "{name}");
        }
        assert_eq!(Slot::of("lease_owner"), None);
        assert_eq!(Slot::of(""), None);
    }
}
