//! One table, two languages: the Python package `dynamorator` 0.1.7 writes and Rust reads, and
//! the reverse, plain and compressed, on moto and dynalite (`--features server-tests`).

// These need the servers scripts/test starts.
#![cfg(feature = "server-tests")]

mod support;

on_every_server!(suite:
    rust_reads_what_python_wrote_plain,
    rust_reads_what_python_wrote_compressed,
    rust_reads_python_datetimes,
    python_reads_what_rust_wrote_plain,
    python_reads_what_rust_wrote_compressed,
    python_reads_rust_datetimes,
    python_reads_rust_zstd_items_as_misses,
    page_tokens_pass_between_the_languages,
);

mod suite {
    use chrono::{NaiveDate, NaiveDateTime};
    use dynamorator::{Store, Ttl};
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use crate::support::{TestBackend, python, raw};

    fn sample() -> Value {
        json!({
            "name": "Zoë – 日本 ☕",
            "score": 100,
            "ratio": 0.25,
            "big": 12345678901234_i64,
            "tags": ["a", "b"],
            "nested": {"none": null, "yes": true},
        })
    }

    fn large_sample() -> Value {
        json!({"rows": (0..400).map(|i| json!({"i": i, "label": format!("row {i} ünïcode")})).collect::<Vec<_>>()})
    }

    async fn shared_table(backend: TestBackend, compress: bool) -> Store {
        backend
            .build(|b| b.compress(compress).compress_threshold(1024))
            .await
    }

    pub async fn rust_reads_what_python_wrote_plain(backend: TestBackend) {
        let store = shared_table(backend, false).await;
        let table = store.table_name().unwrap();
        python::run(
            backend,
            table,
            false,
            1024,
            &format!(
                "store.put('py:plain', json.loads({:?}), ttl_days=7)\n\
                 store.put('py:list', [1, 'two', 3.5], ttl_days=0.5)\n\
                 print('null')",
                sample().to_string()
            ),
        );
        assert_eq!(
            store.get::<Value>("py:plain").await.unwrap(),
            Some(sample())
        );
        let both = store
            .get_many::<Value, _>(["py:plain", "py:list"])
            .await
            .unwrap();
        assert!(both.is_complete());
        assert_eq!(both.found["py:list"], json!([1, "two", 3.5]));
    }

    pub async fn rust_reads_what_python_wrote_compressed(backend: TestBackend) {
        let store = shared_table(backend, true).await;
        let table = store.table_name().unwrap();
        python::run(
            backend,
            table,
            true,
            1024,
            &format!(
                "store.put('py:big', json.loads({:?}), ttl_days=1)\nprint('null')",
                large_sample().to_string()
            ),
        );
        let item = raw::get(&raw::client(backend).await, table, "py:big")
            .await
            .unwrap();
        assert_eq!(
            item.get("compressed"),
            Some(&aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
            "python compressed it"
        );
        assert_eq!(
            store.get::<Value>("py:big").await.unwrap(),
            Some(large_sample())
        );
        let read = store.get_many::<Value, _>(["py:big"]).await.unwrap();
        assert_eq!(read.found["py:big"], large_sample());
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Event {
        name: String,
        scheduled: NaiveDateTime,
        day: NaiveDate,
    }

    fn event() -> Event {
        let day = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        Event {
            name: "Meeting".into(),
            scheduled: day.and_hms_opt(14, 30, 0).unwrap(),
            day,
        }
    }

    pub async fn rust_reads_python_datetimes(backend: TestBackend) {
        let store = shared_table(backend, false).await;
        python::run(
            backend,
            store.table_name().unwrap(),
            false,
            1024,
            "store.put('event:1', {'name': 'Meeting', \
             'scheduled': datetime.datetime(2026, 3, 15, 14, 30), \
             'day': datetime.date(2026, 3, 15)}, ttl_days=30)\nprint('null')",
        );
        assert_eq!(store.get::<Event>("event:1").await.unwrap(), Some(event()));
    }

    pub async fn python_reads_what_rust_wrote_plain(backend: TestBackend) {
        let store = shared_table(backend, false).await;
        store
            .put("rs:plain", &sample(), Ttl::days(7))
            .await
            .unwrap();
        store.put("rs:number", &42, Ttl::days(7)).await.unwrap();
        let read = python::run(
            backend,
            store.table_name().unwrap(),
            false,
            1024,
            "print(json.dumps({'get': store.get('rs:plain'), \
             'batch': store.batch_get(['rs:plain', 'rs:number', 'absent'])}))",
        );
        assert_eq!(read["get"], sample());
        assert_eq!(
            read["batch"],
            json!({"rs:plain": sample(), "rs:number": 42})
        );
    }

    pub async fn python_reads_what_rust_wrote_compressed(backend: TestBackend) {
        let store = shared_table(backend, true).await;
        store
            .put("rs:big", &large_sample(), Ttl::days(1))
            .await
            .unwrap();
        store
            .put("rs:small", &sample(), Ttl::days(1))
            .await
            .unwrap();
        let item = raw::get(
            &raw::client(backend).await,
            store.table_name().unwrap(),
            "rs:big",
        )
        .await
        .unwrap();
        assert!(item.contains_key("compressed"), "rust compressed it");
        let read = python::run(
            backend,
            store.table_name().unwrap(),
            true,
            1024,
            "print(json.dumps({'get': store.get('rs:big'), \
             'batch': store.batch_get(['rs:big', 'rs:small'])}))",
        );
        assert_eq!(read["get"], large_sample());
        assert_eq!(
            read["batch"],
            json!({"rs:big": large_sample(), "rs:small": sample()})
        );
    }

    /// A zstd item has no `data`: Python's `get` finds nothing, and its `batch_get` skips it
    /// and still returns the other keys (an undecodable `data` would make it return `{}`).
    pub async fn python_reads_rust_zstd_items_as_misses(backend: TestBackend) {
        let store = backend
            .build(|b| b.zstd(true).compress_threshold(1024))
            .await;
        let table = store.table_name().unwrap();
        store
            .put("rs:zstd", &large_sample(), Ttl::days(1))
            .await
            .unwrap();
        store
            .put("rs:small", &sample(), Ttl::days(1))
            .await
            .unwrap();
        let item = raw::get(&raw::client(backend).await, table, "rs:zstd")
            .await
            .unwrap();
        assert!(
            matches!(
                item.get("zstd"),
                Some(aws_sdk_dynamodb::types::AttributeValue::B(_))
            ) && !item.contains_key("data")
                && !item.contains_key("compressed"),
            "a binary `zstd` attribute and no `data`: {:?}",
            item.keys().collect::<Vec<_>>()
        );
        for compress in [false, true] {
            let read = python::run(
                backend,
                table,
                compress,
                1024,
                "print(json.dumps({'get': store.get('rs:zstd'), \
                 'batch': store.batch_get(['rs:zstd', 'rs:small', 'absent']), \
                 'keys': sorted(store.list_keys(limit=100)['keys'])}))",
            );
            assert_eq!(read["get"], Value::Null, "compress={compress}");
            assert_eq!(
                read["batch"],
                json!({"rs:small": sample()}),
                "compress={compress}"
            );
            // Python lists every key, whatever the item holds.
            assert_eq!(read["keys"], json!(["rs:small", "rs:zstd"]));
        }
        // Rust reads it back, and Python's writes replace it as any other item.
        assert_eq!(
            store.get::<Value>("rs:zstd").await.unwrap(),
            Some(large_sample())
        );
        python::run(
            backend,
            table,
            false,
            1024,
            "store.put('rs:zstd', [1, 2], ttl_days=1)\nprint('null')",
        );
        assert_eq!(
            store.get::<Value>("rs:zstd").await.unwrap(),
            Some(json!([1, 2]))
        );
    }

    pub async fn python_reads_rust_datetimes(backend: TestBackend) {
        let store = shared_table(backend, false).await;
        store.put("event:rs", &event(), Ttl::days(1)).await.unwrap();
        let read = python::run(
            backend,
            store.table_name().unwrap(),
            false,
            1024,
            "e = store.get('event:rs')\n\
             print(json.dumps([datetime.datetime.fromisoformat(e['scheduled']).isoformat(), \
             datetime.date.fromisoformat(e['day']).isoformat()]))",
        );
        assert_eq!(read, json!(["2026-03-15T14:30:00", "2026-03-15"]));
    }

    pub async fn page_tokens_pass_between_the_languages(backend: TestBackend) {
        let store = shared_table(backend, false).await;
        store
            .put_many((0..10).map(|i| (format!("k{i}"), i)), Ttl::days(1))
            .await
            .unwrap();
        let first = store.list_keys(4, None).await.unwrap();
        let token = first.last_key.clone().unwrap();
        // Python continues from Rust's token and hands back its own.
        let python_page = python::run(
            backend,
            store.table_name().unwrap(),
            false,
            1024,
            &format!("print(json.dumps(store.list_keys(limit=3, last_key={token:?})))"),
        );
        let python_keys: Vec<String> = serde_json::from_value(python_page["keys"].clone()).unwrap();
        let python_token = python_page["last_key"].as_str().unwrap().to_owned();
        let mut all: Vec<String> = first.keys;
        all.extend(python_keys);
        let mut token = Some(python_token);
        for _ in 0..5 {
            let Some(start) = token else { break };
            let page = store.list_keys(4, Some(&start)).await.unwrap();
            all.extend(page.keys);
            token = page.last_key;
        }
        all.sort();
        let mut expected: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
        expected.sort();
        assert_eq!(all, expected);
    }
}
