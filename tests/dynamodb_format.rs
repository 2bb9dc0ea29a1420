//! What lands in DynamoDB: table set-up and the stored attributes, byte for byte the Python
//! package's format. Runs on moto and dynalite (`--features server-tests`).

// These need the servers scripts/test starts.
#![cfg(feature = "server-tests")]

mod support;

on_every_server!(suite:
    build_creates_the_table_in_the_python_layout,
    build_reuses_an_existing_table,
    concurrent_builds_of_one_new_table_all_succeed,
    plain_items_have_exactly_the_python_attributes,
    compressed_items_are_base64_gzip_with_the_flag,
    unprocessed_keys_are_retried_until_read,
    an_unreachable_server_is_an_error_not_a_panic,
);

mod suite {
    use std::io::Read;

    use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, KeyType, TimeToLiveStatus};
    use base64::Engine as _;
    use dynamorator::{Clock, Error, Store, Ttl};
    use serde_json::{Value, json};

    use crate::support::raw::{self, s};
    use crate::support::{TestBackend, sdk_config, unique_table_name};

    pub async fn build_creates_the_table_in_the_python_layout(backend: TestBackend) {
        let store = backend.store().await;
        let table = store.table_name().unwrap();
        let client = raw::client(backend).await;
        let description = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let key = &description.key_schema.unwrap()[0];
        assert_eq!(
            (key.attribute_name.as_str(), &key.key_type),
            ("cache_id", &KeyType::Hash)
        );
        let definition = &description.attribute_definitions.unwrap()[0];
        assert_eq!(definition.attribute_name, "cache_id");
        assert_eq!(definition.attribute_type.as_str(), "S");
        let billing = description
            .billing_mode_summary
            .and_then(|b| b.billing_mode);
        assert_eq!(billing, Some(BillingMode::PayPerRequest));
        if backend == TestBackend::Moto {
            // moto has the TTL API; dynalite does not, and the build went on regardless.
            let ttl = client
                .describe_time_to_live()
                .table_name(table)
                .send()
                .await
                .unwrap()
                .time_to_live_description
                .unwrap();
            assert_eq!(ttl.attribute_name.as_deref(), Some("ttl"));
            assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));
        }
    }

    pub async fn build_reuses_an_existing_table(backend: TestBackend) {
        let first = backend.store().await;
        let table = first.table_name().unwrap().to_owned();
        first.put("kept", &1, Ttl::days(1)).await.unwrap();
        let second = Store::builder()
            .table(&table)
            .sdk_config(sdk_config(&backend.endpoint()).await)
            .build()
            .await
            .unwrap();
        assert_eq!(second.get::<i32>("kept").await.unwrap(), Some(1));
        // With creation off, the store needs no table permissions at all.
        let third = Store::builder()
            .table(&table)
            .create_table(false)
            .sdk_config(sdk_config(&backend.endpoint()).await)
            .build()
            .await
            .unwrap();
        assert_eq!(third.get::<i32>("kept").await.unwrap(), Some(1));
    }

    pub async fn concurrent_builds_of_one_new_table_all_succeed(backend: TestBackend) {
        let table = unique_table_name();
        let config = sdk_config(&backend.endpoint()).await;
        let builds = (0..4).map(|_| {
            Store::builder()
                .table(&table)
                .sdk_config(config.clone())
                .build()
        });
        let stores = futures_util::future::join_all(builds).await;
        for store in &stores {
            assert!(store.is_ok(), "{store:?}");
        }
        let store = stores.into_iter().next().unwrap().unwrap();
        store.put("k", &1, Ttl::days(1)).await.unwrap();
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(1));
    }

    pub async fn plain_items_have_exactly_the_python_attributes(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.clock(clock.clone())).await;
        let table = store.table_name().unwrap();
        store
            .put(
                "user:1",
                &json!({"name": "Zoë", "n": [1, 2]}),
                Ttl::try_from_days(0.5).unwrap(),
            )
            .await
            .unwrap();
        let item = raw::get(&raw::client(backend).await, table, "user:1")
            .await
            .unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["cache_id", "created_at", "data", "ttl"]);
        assert_eq!(item["cache_id"], s("user:1"));
        // Compact JSON (serde_json::Value keeps its keys sorted).
        assert_eq!(item["data"], s(r#"{"n":[1,2],"name":"Zoë"}"#));
        let created: i64 = item["created_at"].as_n().unwrap().parse().unwrap();
        let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
        assert_eq!(
            created,
            clock.now_epoch_secs(),
            "written at the store's time"
        );
        assert_eq!(ttl - created, 43_200);
    }

    pub async fn compressed_items_are_base64_gzip_with_the_flag(backend: TestBackend) {
        let store = backend
            .build(|b| b.compress(true).compress_threshold(10))
            .await;
        let table = store.table_name().unwrap();
        let value = json!({"text": "compress me please"});
        store.put("big", &value, Ttl::days(1)).await.unwrap();
        let item = raw::get(&raw::client(backend).await, table, "big")
            .await
            .unwrap();
        assert_eq!(item["compressed"], AttributeValue::Bool(true));
        let gzip = base64::engine::general_purpose::STANDARD
            .decode(item["data"].as_s().unwrap())
            .unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(gzip.as_slice())
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    }

    pub async fn unprocessed_keys_are_retried_until_read(backend: TestBackend) {
        // dynalite answers a BatchGetItem past ~1.4 MB with UnprocessedKeys (30 × 300 KB → 4
        // read), which the Python package gives up on; moto only past 16 MB.
        let store = backend.store().await;
        let items: Vec<(String, String)> = (0..30)
            .map(|i| (format!("big-{i}"), format!("{i}").repeat(300_000 / 2)))
            .collect();
        store.put_many(items.clone(), Ttl::days(1)).await.unwrap();
        let keys: Vec<&String> = items.iter().map(|(k, _)| k).collect();
        let read = store.get_many::<String, _>(keys).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.len(), 30);
        for (key, value) in items {
            assert_eq!(read.found[&key], value);
        }
    }

    pub async fn an_unreachable_server_is_an_error_not_a_panic(_backend: TestBackend) {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let store = Store::builder()
            .table("nowhere")
            .create_table(false)
            .max_attempts(1)
            .sdk_config(sdk_config(&endpoint).await)
            .endpoint_url(&endpoint)
            .build()
            .await
            .unwrap();
        // Every operation returns the failure; none panics or hides it.
        assert!(matches!(
            store.get::<i32>("k").await,
            Err(Error::Unreachable { .. })
        ));
        assert!(matches!(
            store.put("k", &1, Ttl::days(1)).await,
            Err(Error::Unreachable { .. })
        ));
        assert!(matches!(
            store.delete("k").await,
            Err(Error::Unreachable { .. })
        ));
        assert!(matches!(
            store.item_info("k").await,
            Err(Error::Unreachable { .. })
        ));
        let read = store.get_many::<i32, _>(["a", "b"]).await.unwrap();
        assert!(read.found.is_empty());
        assert_eq!(read.failed_keys().count(), 2);
        assert!(read.failed[0].error.is_retryable());
        assert!(matches!(
            store.put_many([("a", 1)], Ttl::days(1)).await,
            Err(Error::Incomplete { .. })
        ));
        assert!(matches!(
            store.delete_many(["a"]).await,
            Err(Error::Incomplete { .. })
        ));
        assert!(store.list_keys(10, None).await.is_err());
        // Building against it with table creation on fails at build.
        let build = Store::builder()
            .table("nowhere")
            .max_attempts(1)
            .sdk_config(sdk_config(&endpoint).await)
            .build()
            .await;
        assert!(matches!(build, Err(Error::TableSetup { .. })));
    }
}
