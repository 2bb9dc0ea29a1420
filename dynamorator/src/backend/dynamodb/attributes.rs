//! The table format in the SDK's attribute maps, for writes: [`StoredItem`] → an attribute
//! map. Reads parse response bodies themselves (`response_json`, `item_fields`).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::backend::item::{Payload, StoredItem, attr};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dynamodb::response_json;

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
}
