//! Raw SDK access to a test table, to check the stored format and plant malformed items.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::{TestBackend, sdk_config};

pub type Attributes = HashMap<String, AttributeValue>;

/// A plain SDK client for a server backend.
pub async fn client(backend: TestBackend) -> Client {
    Client::new(&sdk_config(&backend.endpoint()).await)
}

/// Reads an item's attributes exactly as stored.
pub async fn get(client: &Client, table: &str, key: &str) -> Option<Attributes> {
    client
        .get_item()
        .table_name(table)
        .key("cache_id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw GetItem")
        .item
}

/// Writes attributes exactly as given.
pub async fn put(client: &Client, table: &str, attributes: Attributes) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(attributes))
        .send()
        .await
        .expect("raw PutItem");
}

pub fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

pub fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// Epoch seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
