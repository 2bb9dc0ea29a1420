//! Where a batch read's client CPU goes, without a server: the SDK's client is given an HTTP
//! client that answers every BatchGetItem at once with a canned body of 100 items (the items
//! `scripts/bench` stores: about 100 bytes of JSON each), so each figure is the client's own
//! work on one thread. Figures are the thread's CPU time, not wall time, so a busy machine
//! (other processes on its cores) slows them less.
//!
//! - `store_get_many_10k`: `Store::get_many` of 10,000 keys, the whole library path (keys,
//!   chunks, the SDK's request building, signing and orchestration, the body, the items'
//!   decoding, the result map).
//! - `sdk_batch_get_item_100/parsed_by_the_sdk`: one raw SDK BatchGetItem of 100 keys whose
//!   answer the SDK parses into its attribute maps, as the library did before issue 15.
//! - `sdk_batch_get_item_100/empty_answer`: the same request answered `{}`: the SDK's cost per
//!   request with nothing to parse.
//! - `library_batch_get_item_100/empty_answer`: the same request as the library sends it (its
//!   own request body, the SDK's signing and orchestration, its parser), answered `{}`.
//! - `parse_100_items`: the library's parser alone on the 100-item body.
//!
//!     cargo bench --bench batch_read

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, RuntimeComponents};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::Store;
use dynamorator_testkit::cpu::thread_cpu_time;
use serde::{Deserialize, Serialize};

const KEYS: usize = 10_000;
const PER_REQUEST: usize = 100;
const TABLE: &str = "bench";

/// The value scripts/bench stores under each small key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Small {
    i: usize,
    name: String,
    tags: Vec<String>,
    price_cents: u64,
    in_stock: bool,
}

fn key(i: usize) -> String {
    format!("small-{i:05}")
}

/// The BatchGetItem answer for keys `first..first + 100`, as DynamoDB writes it.
fn batch_body(first: usize) -> Bytes {
    let items: Vec<serde_json::Value> = (first..first + PER_REQUEST)
        .map(|i| {
            let value = Small {
                i,
                name: format!("Product number {i}"),
                tags: vec!["kitchen".into(), "sale".into()],
                price_cents: 1_000 + i as u64,
                in_stock: i % 3 != 0,
            };
            let data = serde_json::to_string(&value).unwrap_or_default();
            serde_json::json!({
                "cache_id": {"S": key(i)},
                "data": {"S": data},
                "ttl": {"N": "4102444800"},
                "created_at": {"N": "1767225600"},
            })
        })
        .collect();
    let body = serde_json::json!({"Responses": {TABLE: items}, "UnprocessedKeys": {}});
    Bytes::from(body.to_string())
}

/// An HTTP client that answers at once, without a network: each BatchGetItem with the canned
/// body of the chunk its first key starts (or `{}` when `empty`).
#[derive(Debug, Clone)]
struct Canned {
    bodies: Arc<Vec<Bytes>>,
    empty: bool,
}

impl Canned {
    fn new(empty: bool) -> Self {
        let bodies = (0..KEYS / PER_REQUEST)
            .map(|chunk| batch_body(chunk * PER_REQUEST))
            .collect();
        Canned {
            bodies: Arc::new(bodies),
            empty,
        }
    }

    /// The chunk of a request: the number of the first `small-NNNNN` key it names.
    fn chunk_of(request: &HttpRequest) -> usize {
        let body = request.body().bytes().unwrap_or_default();
        let marker = b"small-";
        body.windows(marker.len())
            .position(|window| window == marker)
            .and_then(|at| body.get(at + marker.len()..at + marker.len() + 5))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<usize>().ok())
            .map_or(0, |first| first / PER_REQUEST)
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = if self.empty {
            Bytes::from_static(b"{}")
        } else {
            let chunk = Self::chunk_of(&request);
            self.bodies.get(chunk).cloned().unwrap_or_default()
        };
        let status = StatusCode::try_from(200).expect("200 is a status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(body))))
    }
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn client(canned: Canned) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .endpoint_url("http://127.0.0.1:9")
        .http_client(canned)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn store_get_many(c: &mut Criterion) {
    let rt = dynamorator_testkit::bench_runtime();
    let store = rt
        .block_on(
            Store::builder()
                .table(TABLE)
                .create_table(false)
                .client(client(Canned::new(false)))
                .build(),
        )
        .expect("the store builds");
    let keys: Vec<String> = (0..KEYS).map(key).collect();
    let mut group = c.benchmark_group("batch_read");
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("store_get_many_10k", |b| {
        let (store, keys) = (&store, &keys);
        b.to_async(&rt).iter_custom(|runs| async move {
            let started = thread_cpu_time();
            for _ in 0..runs {
                let read = store.get_many::<Small, _>(keys).await.expect("read");
                assert_eq!(read.found.len(), KEYS);
                let _ = black_box(read);
            }
            thread_cpu_time() - started
        });
    });
    group.finish();
}

fn sdk_batch_get_item(c: &mut Criterion) {
    let rt = dynamorator_testkit::bench_runtime();
    let request = || {
        let keys: Vec<HashMap<String, AttributeValue>> = (0..PER_REQUEST)
            .map(|i| HashMap::from([("cache_id".to_owned(), AttributeValue::S(key(i)))]))
            .collect();
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .expect("keys are set")
    };
    let mut group = c.benchmark_group("sdk_batch_get_item_100");
    group.throughput(Throughput::Elements(PER_REQUEST as u64));
    for (name, empty) in [("parsed_by_the_sdk", false), ("empty_answer", true)] {
        let client = client(Canned::new(empty));
        group.bench_function(name, |b| {
            let client = &client;
            b.to_async(&rt).iter_custom(|runs| async move {
                let started = thread_cpu_time();
                for _ in 0..runs {
                    let output = client
                        .batch_get_item()
                        .request_items(TABLE, request())
                        .send()
                        .await
                        .expect("answered");
                    black_box(output);
                }
                thread_cpu_time() - started
            });
        });
    }
    group.finish();
}

fn library_batch_get_item(c: &mut Criterion) {
    let rt = dynamorator_testkit::bench_runtime();
    let keys: Vec<String> = (0..PER_REQUEST).map(key).collect();
    let client = client(Canned::new(true));
    let mut group = c.benchmark_group("library_batch_get_item_100");
    group.throughput(Throughput::Elements(PER_REQUEST as u64));
    group.bench_function("empty_answer", |b| {
        let (client, keys) = (&client, &keys);
        b.to_async(&rt).iter_custom(|runs| async move {
            let started = thread_cpu_time();
            for _ in 0..runs {
                let read = dynamorator::__bench::batch_get_items(client, TABLE, keys)
                    .await
                    .expect("answered");
                black_box(read);
            }
            thread_cpu_time() - started
        });
    });
    group.finish();
}

fn parse_100_items(c: &mut Criterion) {
    let body = batch_body(0);
    let mut group = c.benchmark_group("batch_read");
    group.throughput(Throughput::Elements(PER_REQUEST as u64));
    group.bench_function("parse_100_items", |b| {
        b.iter_custom(|runs| {
            let started = thread_cpu_time();
            for _ in 0..runs {
                let parsed =
                    dynamorator::__bench::parse_response_body(&body, TABLE).expect("parses");
                assert_eq!(parsed.items.len(), PER_REQUEST);
                black_box(parsed);
            }
            thread_cpu_time() - started
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    store_get_many,
    sdk_batch_get_item,
    library_batch_get_item,
    parse_100_items
);
criterion_main!(benches);
