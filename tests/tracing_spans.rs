//! Spans: one `dynamorator.store` per store request, with OpenTelemetry's database attribute
//! names, and one `dynamorator.read_through` per read-through call; keys only at debug level,
//! values never. The spans also count requests: a `get_many` of split values takes one more
//! round of batch reads at most.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use dynamorator::{Cache, CacheConfig, Store};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

const PAYLOAD: &str = "4111-1111-1111-1111 CARD NUMBER";

/// A span as recorded: its name and fields (values as text).
#[derive(Debug, Clone, Default)]
struct Captured {
    name: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<HashMap<u64, Captured>>>,
    events: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut span = Captured {
            name: attributes.metadata().name().to_owned(),
            fields: BTreeMap::new(),
        };
        attributes.record(&mut Fields(&mut span.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), span);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
}

impl Capture {
    fn spans(&self, name: &str) -> Vec<Captured> {
        self.spans
            .lock()
            .unwrap()
            .values()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }

    fn store_span(&self, operation: &str) -> Captured {
        self.spans("dynamorator.store")
            .into_iter()
            .find(|span| {
                span.fields.get("db.operation.name").map(String::as_str) == Some(operation)
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {operation} span in {:#?}",
                    self.spans("dynamorator.store")
                )
            })
    }

    /// Every recorded text: span and event fields.
    fn text(&self) -> String {
        let spans = self.spans.lock().unwrap();
        let events = self.events.lock().unwrap();
        format!("{:?}{:?}", spans.values().collect::<Vec<_>>(), *events)
    }
}

fn field<'a>(span: &'a Captured, name: &str) -> &'a str {
    span.fields
        .get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{} has no {name}: {:?}", span.name, span.fields))
}

fn subscriber(capture: &Capture, level: LevelFilter) -> impl Subscriber + Send + Sync {
    Registry::default().with(capture.clone().with_filter(level))
}

/// What a cache does on the embedded backend, at `level`.
async fn embedded_run(level: LevelFilter) -> Capture {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(subscriber(&capture, level));
    let store = Store::embedded();
    let cache: Cache<String> = Cache::new(&store, CacheConfig::new().prefix("card").version(2));
    cache.put("alice", &PAYLOAD.to_owned()).await.unwrap();
    assert_eq!(cache.get("alice").await.unwrap().as_deref(), Some(PAYLOAD));
    let loaded = cache
        .get_or_insert_with("bob", || async {
            Ok::<_, std::io::Error>(PAYLOAD.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(loaded, PAYLOAD);
    let many = cache
        .get_many_or_insert_with(["alice", "bob", "carol"], |missing| async move {
            Ok::<_, std::io::Error>(
                missing
                    .into_iter()
                    .map(|key| (key, PAYLOAD.to_owned()))
                    .collect::<HashMap<_, _>>(),
            )
        })
        .await
        .unwrap();
    assert_eq!(many.len(), 3);
    capture
}

#[tokio::test(flavor = "current_thread")]
async fn store_requests_and_read_throughs_have_spans_with_database_attributes() {
    let capture = embedded_run(LevelFilter::INFO).await;

    // `alice` found, `bob` not (then loaded).
    let gets: Vec<Captured> = capture
        .spans("dynamorator.store")
        .into_iter()
        .filter(|span| span.fields.get("db.operation.name").map(String::as_str) == Some("GetItem"))
        .collect();
    let mut rows: Vec<&str> = gets
        .iter()
        .map(|get| field(get, "db.response.returned_rows"))
        .collect();
    rows.sort();
    assert_eq!(rows, ["0", "1"]);
    for get in &gets {
        assert_eq!(field(get, "db.system.name"), "embedded");
        // The embedded backend has no table.
        assert!(!get.fields.contains_key("db.collection.name"));
    }
    let put = capture.store_span("PutItem");
    assert_eq!(field(&put, "db.system.name"), "embedded");
    let batch = capture.store_span("BatchGetItem");
    assert_eq!(field(&batch, "db.operation.batch.size"), "3");
    assert_eq!(field(&batch, "db.response.returned_rows"), "2");
    let write = capture.store_span("BatchWriteItem");
    assert_eq!(field(&write, "db.operation.batch.size"), "1");

    let read_throughs = capture.spans("dynamorator.read_through");
    assert_eq!(read_throughs.len(), 2, "{read_throughs:#?}");
    for span in &read_throughs {
        assert_eq!(field(span, "dynamorator.cache"), "card:v2");
    }
    let mut keys: Vec<&str> = read_throughs
        .iter()
        .map(|span| field(span, "dynamorator.keys"))
        .collect();
    keys.sort();
    assert_eq!(keys, ["1", "3"]);

    // At INFO: neither keys nor values anywhere.
    let text = capture.text();
    for secret in [PAYLOAD, "CARD NUMBER", "alice", "carol"] {
        assert!(!text.contains(secret), "{secret:?} recorded:\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn keys_appear_at_debug_level_only_and_values_never() {
    let capture = embedded_run(LevelFilter::DEBUG).await;
    let text = capture.text();
    assert!(text.contains("card:v2:alice"), "{text}");
    for secret in [PAYLOAD, "CARD NUMBER"] {
        assert!(!text.contains(secret), "{secret:?} recorded:\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn dynamodb_requests_name_the_system_and_table_and_their_errors() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(subscriber(&capture, LevelFilter::INFO));
    // Nothing listens on this port: every request fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .load()
        .await;
    let store = Store::builder()
        .table("spans-table")
        .create_table(false)
        .max_attempts(1)
        .consumed_capacity(true)
        .sdk_config(config)
        .build()
        .await
        .unwrap();
    assert!(store.get::<String>("k").await.is_err());
    let get = capture.store_span("GetItem");
    assert_eq!(field(&get, "db.system.name"), "aws.dynamodb");
    assert_eq!(field(&get, "db.collection.name"), "spans-table");
    let kind = field(&get, "error.type");
    assert!(["unreachable", "timeout"].contains(&kind), "{kind}");
}

::dynamorator_testkit::on_every_server!(servers:
    consumed_capacity_is_recorded_on_the_request_span,
    expire_is_one_update_item_and_a_split_delete_one_read_round,
);

/// On moto and dynalite (`scripts/test`): `consumed_capacity(true)` asks for the capacity and
/// records it on the request's span.
#[cfg(feature = "server-tests")]
mod servers {
    use dynamorator::Ttl;
    use dynamorator_testkit::TestBackend;

    use super::{Capture, LevelFilter, field, subscriber};

    /// How many requests of `operation` the spans recorded.
    fn requests(capture: &Capture, operation: &str) -> usize {
        capture
            .spans("dynamorator.store")
            .iter()
            .filter(|span| {
                span.fields.get("db.operation.name").map(String::as_str) == Some(operation)
            })
            .count()
    }

    pub(super) async fn expire_is_one_update_item_and_a_split_delete_one_read_round(
        backend: TestBackend,
    ) {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(subscriber(&capture, LevelFilter::INFO));
        let store = backend.build(|builder| builder.split(true)).await;
        store.put("small", &1, Ttl::hours(1)).await.unwrap();
        let big: Vec<String> = (0..60_000).map(|i| format!("line {i:08x}")).collect();
        store.put("big", &big, Ttl::hours(1)).await.unwrap();
        let parts = store
            .item_info("big")
            .await
            .unwrap()
            .unwrap()
            .parts
            .unwrap() as usize;
        let before = requests(&capture, "UpdateItem");
        assert!(store.expire("small", Ttl::days(1)).await.unwrap());
        assert_eq!(
            requests(&capture, "UpdateItem") - before,
            1,
            "one UpdateItem"
        );
        assert!(store.expire("big", Ttl::days(1)).await.unwrap());
        assert_eq!(
            requests(&capture, "UpdateItem") - before,
            2 + parts,
            "the head's, then one per part"
        );
        let reads = requests(&capture, "BatchGetItem");
        store.delete_many(["small", "big"]).await.unwrap();
        assert_eq!(
            requests(&capture, "BatchGetItem") - reads,
            1,
            "one round of reads: the two keys in one request"
        );
    }

    pub(super) async fn consumed_capacity_is_recorded_on_the_request_span(backend: TestBackend) {
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(subscriber(&capture, LevelFilter::INFO));
        let store = backend
            .build(|builder| builder.consumed_capacity(true))
            .await;
        store.put("k", &1, Ttl::hours(1)).await.unwrap();
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(1));
        for operation in ["PutItem", "GetItem"] {
            let span = capture.store_span(operation);
            assert_eq!(field(&span, "db.system.name"), "aws.dynamodb");
            assert_eq!(
                field(&span, "db.collection.name"),
                store.table_name().unwrap()
            );
            let units: f64 = field(&span, "dynamorator.capacity_units").parse().unwrap();
            assert!(units > 0.0, "{operation}: {units} units");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_get_many_of_small_and_split_values_takes_one_more_round_at_most() {
    // The subscriber is set before the store makes its first span, as in every test here:
    // a span first met without one would be switched off for the tests beside it.
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(subscriber(&capture, LevelFilter::INFO));
    let store = Store::builder()
        .embedded()
        .split(true)
        .build()
        .await
        .unwrap();
    let big = "z".repeat(700_000);
    for key in ["big1", "big2"] {
        store
            .put(key, &big, dynamorator::Ttl::hours(1))
            .await
            .unwrap();
    }
    store
        .put("small", &"s".to_owned(), dynamorator::Ttl::hours(1))
        .await
        .unwrap();
    for keys in [&["small"][..], &["small", "big1", "big2"]] {
        let read = store
            .get_many::<String, _>(keys.iter().copied())
            .await
            .unwrap();
        assert_eq!(read.found.len(), keys.len(), "every key read");
    }

    // Writes send no BatchGetItem: these are the two reads' requests. The plain read takes
    // one; the mixed one reads its three keys, then all six parts of both values in one more
    // round (one request).
    let mut sizes: Vec<String> = capture
        .spans("dynamorator.store")
        .into_iter()
        .filter(|span| {
            span.fields.get("db.operation.name").map(String::as_str) == Some("BatchGetItem")
        })
        .map(|span| field(&span, "db.operation.batch.size").to_owned())
        .collect();
    sizes.sort();
    assert_eq!(sizes, ["1", "3", "6"]);
}
