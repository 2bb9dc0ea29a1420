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

/// Every key in the table, whatever its item holds (one scan, up to 1,000 pages).
pub async fn scan_keys(client: &Client, table: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut start = None;
    for _ in 0..1_000 {
        let page = client
            .scan()
            .table_name(table)
            .projection_expression("cache_id")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw Scan");
        keys.extend(
            page.items()
                .iter()
                .filter_map(|item| match item.get("cache_id") {
                    Some(AttributeValue::S(key)) => Some(key.clone()),
                    _ => None,
                }),
        );
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    keys
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

/// Records the body of every response a call receives, exactly as the server sent it: added to
/// one call with `customize().interceptor(recorder.clone())`. The SDK has read the body whole by
/// the time it parses it, which is when this looks.
#[derive(Debug, Clone, Default)]
pub struct BodyRecorder {
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl BodyRecorder {
    /// The bodies recorded so far, oldest first; the recorder is left empty.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.bodies.lock().expect("the recorder's lock"))
    }
}

impl aws_sdk_dynamodb::config::Intercept for BodyRecorder {
    fn name(&self) -> &'static str {
        "BodyRecorder"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<
            '_,
        >,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            self.bodies
                .lock()
                .expect("the recorder's lock")
                .push(bytes.to_vec());
        }
        Ok(())
    }
}
