//! The table format in the SDK's attribute maps, for writes: [`StoredItem`] → an attribute
//! map. Reads parse response bodies themselves (`response_json`, `item_fields`).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::format::{Payload, StoredItem, attr};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dynamodb::response_json;
    use crate::error::CorruptReason;
    use crate::format::{JoinedForm, Part, SplitHead};

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

    /// The item as DynamoDB JSON, as a GetItem response carries it.
    fn as_get_item_body(attributes: &Attributes) -> String {
        let item: serde_json::Map<String, serde_json::Value> = attributes
            .iter()
            .map(|(name, value)| {
                let typed = match value {
                    AttributeValue::S(text) => serde_json::json!({ "S": text }),
                    AttributeValue::N(text) => serde_json::json!({ "N": text }),
                    AttributeValue::Bool(flag) => serde_json::json!({ "BOOL": flag }),
                    AttributeValue::B(bytes) => {
                        use base64::Engine;
                        let text = base64::engine::general_purpose::STANDARD.encode(bytes.as_ref());
                        serde_json::json!({ "B": text })
                    }
                    other => panic!("the format writes no {other:?}"),
                };
                (name.clone(), typed)
            })
            .collect();
        serde_json::json!({ "Item": item }).to_string()
    }

    /// What the library reads back from a GetItem response of `attributes`.
    fn read_back(attributes: &Attributes) -> StoredItem {
        let body = as_get_item_body(attributes);
        let response = response_json::parse(body.as_bytes(), "t").unwrap();
        response.item.unwrap().into_item().unwrap().unwrap()
    }

    fn item() -> StoredItem {
        StoredItem {
            key: "user:1".into(),
            payload: Payload::Json("{\"a\": 1}".into()),
            expires_at: 1_900_000_000,
            created_at: Some(1_800_000_000),
            fresh_until: None,
            generation: None,
            version: None,
        }
    }

    #[test]
    fn writes_the_python_packages_attributes() {
        assert_eq!(to_attributes(item()), python_item());
        assert_eq!(read_back(&python_item()), item());
    }

    #[test]
    fn compressed_is_written_only_when_true() {
        let mut item = item();
        assert!(!to_attributes(item.clone()).contains_key("compressed"));
        item.payload = Payload::Gzip("H4sI".into());
        let attributes = to_attributes(item.clone());
        assert_eq!(
            attributes.get("compressed"),
            Some(&AttributeValue::Bool(true))
        );
        assert_eq!(read_back(&attributes), item);
    }

    #[test]
    fn every_attribute_written_reads_back() {
        let item = StoredItem {
            fresh_until: Some(1_850_000_000),
            generation: Some(3),
            version: Some(17),
            ..item()
        };
        assert_eq!(read_back(&to_attributes(item.clone())), item);
    }

    #[test]
    fn zstd_goes_in_its_own_binary_attribute_without_data() {
        let item = StoredItem {
            payload: Payload::Zstd(vec![0x28, 0xb5, 0x2f, 0xfd, 0]),
            ..item()
        };
        let attributes = to_attributes(item.clone());
        assert!(!attributes.contains_key("data") && !attributes.contains_key("compressed"));
        assert_eq!(
            attributes.get("zstd"),
            Some(&AttributeValue::B(Blob::new(vec![
                0x28, 0xb5, 0x2f, 0xfd, 0
            ])))
        );
        assert_eq!(read_back(&attributes), item);
    }

    /// What the library reads from a GetItem response of `attributes`, or why it cannot.
    fn read(attributes: &Attributes) -> Result<Option<StoredItem>, crate::Error> {
        let body = as_get_item_body(attributes);
        let response = response_json::parse(body.as_bytes(), "t").unwrap();
        response
            .item
            .unwrap()
            .into_item()
            .map_err(|unreadable| unreadable.1)
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
        let mut item = item();
        item.payload = Payload::Head(head());
        let attributes = to_attributes(item.clone());
        assert!(!attributes.contains_key("data"));
        assert_eq!(
            attributes.get("parts"),
            Some(&AttributeValue::N("3".into()))
        );
        assert_eq!(read_back(&attributes), item);
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
        assert_eq!(read_back(&attributes), item);
    }

    #[test]
    fn malformed_heads_and_parts_are_named() {
        let head_item = || {
            let mut item = item();
            item.payload = Payload::Head(head());
            to_attributes(item)
        };
        let reason_of = |attributes: Attributes| match read(&attributes) {
            Err(crate::Error::Corrupt { reason, .. }) => reason,
            other => panic!("expected corrupt, got {other:?}"),
        };
        let mut millions = head_item();
        millions.insert("parts".into(), AttributeValue::N("5000000".into()));
        // Read as it is: the store refuses a count past its cap before fetching anything.
        assert!(matches!(
            read_back(&millions).payload,
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
        assert_eq!(
            reason_of(part),
            CorruptReason::WrongType {
                attribute: "part",
                expected: "B"
            }
        );
    }
}
