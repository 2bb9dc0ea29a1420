//! The BatchGetItem request body written by the library, in place of the SDK's.
//!
//! The SDK's input takes each key as a `HashMap<String, AttributeValue>` and serializes the
//! maps one by one; for a chunk of 100 keys that is about a third of the SDK's cost per
//! request. Here the call is given the table with no keys (so its endpoint parameters, which
//! name the tables, are the SDK's own), and an interceptor added to the call puts the body the
//! library wrote in its place in `modify_before_retry_loop`: after the SDK serialized its
//! input, before it saves the request that every attempt starts from and before any attempt
//! signs it. Each attempt, retries included, signs and sends this body. The body is the SDK's
//! byte for byte: same members in the same order, strings escaped as its JSON writer escapes
//! them.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use crate::format::attr;

/// What one BatchGetItem asks of one table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchGetRequest<'a> {
    pub(crate) table: &'a str,
    pub(crate) keys: &'a [String],
    pub(crate) consistent_read: bool,
    /// `ReturnConsumedCapacity`, as the SDK spells it (`TOTAL`), if asked for.
    pub(crate) return_consumed_capacity: Option<&'a str>,
}

impl BatchGetRequest<'_> {
    /// The request's JSON body.
    pub(crate) fn body(&self) -> Result<Bytes, serde_json::Error> {
        // Each key costs its text plus `{"cache_id":{"S":""}},`; escapes may grow it.
        let per_key = attr::KEY.len() + 16;
        let keys_len: usize = self.keys.iter().map(|k| k.len() + per_key).sum();
        let mut body = Vec::with_capacity(keys_len + self.table.len() + 128);
        serde_json::to_writer(&mut body, self)?;
        Ok(Bytes::from(body))
    }
}

// `{"RequestItems":{table:{"Keys":[..],"ConsistentRead":..}},"ReturnConsumedCapacity":..}`,
// the members in the order the SDK's serializer writes them.
impl Serialize for BatchGetRequest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let members = 1 + usize::from(self.return_consumed_capacity.is_some());
        let mut body = serializer.serialize_struct("BatchGetItemInput", members)?;
        body.serialize_field("RequestItems", &OneTable(self))?;
        match self.return_consumed_capacity {
            Some(capacity) => body.serialize_field("ReturnConsumedCapacity", capacity)?,
            None => body.skip_field("ReturnConsumedCapacity")?,
        }
        body.end()
    }
}

/// `RequestItems`: the one table and what is asked of it.
struct OneTable<'r, 'a>(&'r BatchGetRequest<'a>);

impl Serialize for OneTable<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tables = serializer.serialize_map(Some(1))?;
        tables.serialize_entry(self.0.table, &KeysAndAttributes(self.0))?;
        tables.end()
    }
}

struct KeysAndAttributes<'r, 'a>(&'r BatchGetRequest<'a>);

impl Serialize for KeysAndAttributes<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut request = serializer.serialize_struct("KeysAndAttributes", 2)?;
        request.serialize_field("Keys", &Keys(self.0.keys))?;
        request.serialize_field("ConsistentRead", &self.0.consistent_read)?;
        request.end()
    }
}

struct Keys<'a>(&'a [String]);

impl Serialize for Keys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut keys = serializer.serialize_seq(Some(self.0.len()))?;
        for key in self.0 {
            keys.serialize_element(&Key(key))?;
        }
        keys.end()
    }
}

/// `{"cache_id":{"S":key}}`.
struct Key<'a>(&'a str);

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut key = serializer.serialize_map(Some(1))?;
        key.serialize_entry(attr::KEY, &StringValue(self.0))?;
        key.end()
    }
}

/// A DynamoDB string attribute value, `{"S":text}`.
struct StringValue<'a>(&'a str);

impl Serialize for StringValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serializer.serialize_map(Some(1))?;
        value.serialize_entry("S", self.0)?;
        value.end()
    }
}

/// Puts the library's body in place of the one the SDK serialized, for one call
/// (`customize().interceptor(..)`), and sets `Content-Length` to match.
#[derive(Debug, Clone)]
pub(crate) struct ReplaceRequestBody {
    body: Bytes,
}

impl ReplaceRequestBody {
    pub(crate) fn new(body: Bytes) -> Self {
        ReplaceRequestBody { body }
    }
}

impl Intercept for ReplaceRequestBody {
    fn name(&self) -> &'static str {
        "dynamorator::ReplaceRequestBody"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        request
            .headers_mut()
            .try_insert("content-length", self.body.len().to_string())?;
        *request.body_mut() = SdkBody::from(self.body.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity};
    use aws_smithy_async::time::StaticTimeSource;

    use super::*;
    use crate::backend::dynamodb::DynamoDbBackend;

    /// A signed request as it would go on the wire, minus the headers added after signing
    /// (the invocation id, the attempt count), which differ from call to call.
    #[derive(Debug, PartialEq)]
    struct Signed {
        authorization: Option<String>,
        content_length: Option<String>,
        body: Vec<u8>,
    }

    /// Records the signed request a call is about to send, then ends the call: nothing is sent.
    #[derive(Debug, Clone, Default)]
    struct StopBeforeSending(Arc<Mutex<Option<Signed>>>);

    impl StopBeforeSending {
        fn take(&self) -> Signed {
            self.0.lock().unwrap().take().expect("a request was signed")
        }
    }

    impl Intercept for StopBeforeSending {
        fn name(&self) -> &'static str {
            "StopBeforeSending"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _runtime_components: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let request = context.request();
            let header = |name| request.headers().get(name).map(str::to_owned);
            *self.0.lock().unwrap() = Some(Signed {
                authorization: header("authorization"),
                content_length: header("content-length"),
                body: request.body().bytes().unwrap_or_default().to_vec(),
            });
            Err("stopped before sending".into())
        }
    }

    /// A client that signs at a fixed time, so two requests with the same content have the
    /// same signature, and never sends.
    fn client(stop: &StopBeforeSending) -> Client {
        let signing_time = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .time_source(StaticTimeSource::new(signing_time))
            .retry_config(RetryConfig::disabled())
            .interceptor(stop.clone())
            .build();
        Client::from_conf(config)
    }

    /// Keys with every kind of text JSON treats specially.
    fn awkward_keys() -> Vec<String> {
        let mut keys: Vec<String> = [
            "plain",
            "quote\" backslash\\ slash/",
            "tab\t newline\n return\r backspace\u{8} form feed\u{c}",
            "nul\u{0} unit separator\u{1f} escape\u{1b} delete\u{7f}",
            "snow☃ clef𝄞 é line separator\u{2028}",
            "\\\"\\u0041 looks escaped",
        ]
        .map(str::to_owned)
        .to_vec();
        keys.extend((0..100).map(|i| format!("key-{i:03}")));
        keys
    }

    /// The same read, as the SDK serializes it from its attribute maps.
    async fn sent_by_the_sdk(
        stop: &StopBeforeSending,
        keys: &[String],
        consistent: bool,
        capacity: bool,
    ) -> Signed {
        let key_maps = keys
            .iter()
            .map(|k| [(attr::KEY.to_owned(), AttributeValue::S(k.clone()))].into())
            .collect();
        let request = KeysAndAttributes::builder()
            .set_keys(Some(key_maps))
            .consistent_read(consistent)
            .build()
            .unwrap();
        let sent = client(stop)
            .batch_get_item()
            .request_items("a-table.name_1", request)
            .set_return_consumed_capacity(capacity.then_some(ReturnConsumedCapacity::Total))
            .send()
            .await;
        assert!(sent.is_err(), "nothing is sent");
        stop.take()
    }

    async fn sent_by_the_library(
        stop: &StopBeforeSending,
        keys: &[String],
        consistent: bool,
        capacity: bool,
    ) -> Signed {
        let backend = DynamoDbBackend::new(client(stop), "a-table.name_1".to_owned(), consistent)
            .with_consumed_capacity(capacity);
        let sent = backend.batch_get_items(keys).await;
        assert!(sent.is_err(), "nothing is sent");
        stop.take()
    }

    #[tokio::test]
    async fn the_library_sends_and_signs_the_body_the_sdk_would() {
        let stop = StopBeforeSending::default();
        let keys = awkward_keys();
        for consistent in [false, true] {
            for capacity in [false, true] {
                let library = sent_by_the_library(&stop, &keys, consistent, capacity).await;
                let sdk = sent_by_the_sdk(&stop, &keys, consistent, capacity).await;
                assert_eq!(
                    String::from_utf8_lossy(&library.body),
                    String::from_utf8_lossy(&sdk.body),
                    "consistent {consistent}, capacity {capacity}"
                );
                assert_eq!(library, sdk, "consistent {consistent}, capacity {capacity}");
                assert_eq!(library.content_length, Some(library.body.len().to_string()));
                assert!(library.authorization.is_some(), "the request is signed");
            }
        }
    }

    #[test]
    fn the_body_is_json_naming_each_key_once() {
        let keys = awkward_keys();
        let request = BatchGetRequest {
            table: "t",
            keys: &keys,
            consistent_read: true,
            return_consumed_capacity: None,
        };
        let body: serde_json::Value = serde_json::from_slice(&request.body().unwrap()).unwrap();
        let sent: Vec<&str> = body["RequestItems"]["t"]["Keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key[attr::KEY]["S"].as_str().unwrap())
            .collect();
        assert_eq!(sent, keys.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(body["RequestItems"]["t"]["ConsistentRead"], true);
        assert!(body.get("ReturnConsumedCapacity").is_none());
    }
}
