//! A corpus of malformed items, written with raw SDK calls, read through every read path: each
//! is a miss or a typed error, never a panic, and a gzip or zstd bomb never inflates past the
//! cap.

// These need the servers scripts/test starts.
#![cfg(feature = "server-tests")]

mod support;

on_every_server!(suite: every_malformed_item_is_a_miss_or_a_typed_error_on_every_read_path);

mod suite {
    use std::io::Write;

    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use dynamorator::{Cache, CacheConfig, CorruptReason, Error, L1Config, Ttl};
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use serde_json::Value;

    use crate::support::TestBackend;
    use crate::support::raw::{self, Attributes, n, s};

    fn binary(bytes: Vec<u8>) -> AttributeValue {
        AttributeValue::B(Blob::new(bytes))
    }

    /// A zstd frame of 100 MB of zeros (a few KB), with or without its size in the header.
    fn zstd_bomb(declare_size: bool) -> Vec<u8> {
        let mut frame = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut frame, 1).unwrap();
        encoder.include_contentsize(declare_size).unwrap();
        if declare_size {
            encoder.set_pledged_src_size(Some(100 << 20)).unwrap();
        }
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..100 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap();
        frame
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// One zstd frame of `bytes`, with its size and a checksum, as this crate writes them.
    fn zstd_frame(bytes: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut frame, 3).unwrap();
        encoder.include_checksum(true).unwrap();
        encoder
            .set_pledged_src_size(Some(bytes.len() as u64))
            .unwrap();
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap();
        frame
    }

    /// About 280 KB stored (under the 400 KB item limit) that inflates to 200 MB: 200 gzip
    /// members of 1 MB of zeros each, which a multi-member reader reads as one stream.
    fn gzip_bomb() -> String {
        let member = gzip(&vec![0u8; 1 << 20]);
        BASE64.encode(member.repeat(200))
    }

    /// A malformed item: its key, its attributes besides `cache_id` and `ttl`, and the reason
    /// `Store::get` must give (when the test pins one).
    type Malformed = (
        &'static str,
        Vec<(&'static str, AttributeValue)>,
        Option<CorruptReason>,
    );

    /// Every malformed shape.
    fn corpus(bomb: &str) -> Vec<Malformed> {
        let flag = || ("compressed", AttributeValue::Bool(true));
        let gzip_data = BASE64.encode(gzip(b"{\"a\": 1}"));
        let truncated = {
            let whole = gzip(b"{\"a\": 1, \"b\": \"a longer value to cut in half\"}");
            BASE64.encode(&whole[..whole.len() / 2])
        };
        let zstd_whole = zstd_frame(b"{\"a\": 1, \"b\": \"a longer value to cut in half\"}");
        let zstd_truncated = zstd_whole[..zstd_whole.len() / 2].to_vec();
        let mut zstd_flipped = zstd_whole.clone();
        if let Some(last) = zstd_flipped.last_mut() {
            *last ^= 0xff;
        }
        vec![
            (
                "bad-base64",
                vec![("data", s("%%% not base64")), flag()],
                Some(CorruptReason::Base64),
            ),
            (
                "truncated-gzip",
                vec![("data", s(&truncated)), flag()],
                None,
            ),
            (
                "not-gzip",
                vec![("data", s(&BASE64.encode(b"plain bytes"))), flag()],
                None,
            ),
            (
                "gzip-of-non-utf8",
                vec![
                    ("data", s(&BASE64.encode(gzip(&[0xff, 0xfe, 0xfd])))),
                    flag(),
                ],
                None,
            ),
            ("invalid-json", vec![("data", s("{\"a\":"))], None),
            ("nan-json", vec![("data", s("{\"a\": NaN}"))], None),
            ("data-number", vec![("data", n(5))], None),
            (
                "data-binary",
                vec![("data", AttributeValue::B(Blob::new(b"{}".to_vec())))],
                None,
            ),
            (
                "compressed-string",
                vec![("data", s(&gzip_data)), ("compressed", s("true"))],
                None,
            ),
            (
                "gzip-bomb",
                vec![("data", s(bomb)), flag()],
                Some(CorruptReason::TooLarge {
                    limit: 64 * 1024 * 1024,
                }),
            ),
            // zstd, this crate's own form.
            (
                "zstd-bomb-declared",
                vec![("zstd", binary(zstd_bomb(true)))],
                Some(CorruptReason::TooLarge {
                    limit: 64 * 1024 * 1024,
                }),
            ),
            (
                "zstd-bomb-undeclared",
                vec![("zstd", binary(zstd_bomb(false)))],
                Some(CorruptReason::TooLarge {
                    limit: 64 * 1024 * 1024,
                }),
            ),
            (
                "zstd-string",
                vec![("zstd", s(&BASE64.encode(zstd_frame(b"{}"))))],
                Some(CorruptReason::WrongType {
                    attribute: "zstd",
                    expected: "B",
                }),
            ),
            (
                "zstd-not-a-frame",
                vec![("zstd", binary(b"{\"a\": 1}".to_vec()))],
                Some(CorruptReason::Zstd("not a zstd frame".to_owned())),
            ),
            (
                "zstd-truncated",
                vec![("zstd", binary(zstd_truncated))],
                None,
            ),
            (
                "zstd-bad-checksum",
                vec![("zstd", binary(zstd_flipped))],
                None,
            ),
            (
                "zstd-of-non-json",
                vec![("zstd", binary(zstd_frame(b"not json")))],
                None,
            ),
            (
                "data-and-zstd",
                vec![("data", s("1")), ("zstd", binary(zstd_frame(b"2")))],
                Some(CorruptReason::Ambiguous("data", "zstd")),
            ),
        ]
    }

    async fn plant(backend: TestBackend, table: &str, bomb: &str) -> Vec<&'static str> {
        let client = raw::client(backend).await;
        let later = raw::now() + 86_400;
        let mut keys = Vec::new();
        for (key, attributes, _) in corpus(bomb) {
            let mut item = Attributes::from([
                ("cache_id".to_owned(), s(key)),
                ("ttl".to_owned(), n(later)),
            ]);
            item.extend(attributes.into_iter().map(|(k, v)| (k.to_owned(), v)));
            raw::put(&client, table, item).await;
            keys.push(key);
        }
        let without_ttl = Attributes::from([
            ("cache_id".to_owned(), s("ttl-missing")),
            ("data".to_owned(), s("1")),
        ]);
        raw::put(&client, table, without_ttl).await;
        // An item without `data` (a lease, or a generation counter) is a clean miss, as the
        // Python package reads it: planted here, checked by the caller.
        let no_data = Attributes::from([
            ("cache_id".to_owned(), s("no-data")),
            ("ttl".to_owned(), n(later)),
            ("lease_until".to_owned(), n(later * 1_000)),
        ]);
        raw::put(&client, table, no_data).await;
        let text_ttl = Attributes::from([
            ("cache_id".to_owned(), s("ttl-text")),
            ("data".to_owned(), s("1")),
            ("ttl".to_owned(), s("tomorrow")),
        ]);
        raw::put(&client, table, text_ttl).await;
        let huge_ttl = Attributes::from([
            ("cache_id".to_owned(), s("ttl-huge")),
            ("data".to_owned(), s("1")),
            ("ttl".to_owned(), AttributeValue::N("1e100".into())),
        ]);
        raw::put(&client, table, huge_ttl).await;
        keys.extend(["ttl-missing", "ttl-text", "ttl-huge"]);
        keys
    }

    pub async fn every_malformed_item_is_a_miss_or_a_typed_error_on_every_read_path(
        backend: TestBackend,
    ) {
        let bomb = gzip_bomb();
        assert!(
            bomb.len() < 400_000,
            "the bomb fits in an item: {}",
            bomb.len()
        );
        let store = backend.store().await;
        let table = store.table_name().unwrap().to_owned();
        let keys = plant(backend, &table, &bomb).await;
        store.put("good", &1, Ttl::days(1)).await.unwrap();

        // Store::get: a typed error naming the key and, where pinned, the reason.
        let expected: std::collections::HashMap<&str, Option<CorruptReason>> = corpus(&bomb)
            .into_iter()
            .map(|(k, _, reason)| (k, reason))
            .collect();
        for key in &keys {
            match store.get::<Value>(key).await {
                Err(Error::Corrupt { key: named, reason }) => {
                    assert_eq!(&named, key);
                    if let Some(Some(expected)) = expected.get(key) {
                        assert_eq!(&reason, expected, "{key}");
                    }
                }
                other => panic!("{key}: expected a corrupt item, got {other:?}"),
            }
        }

        // An item without `data` is a miss, never corrupt.
        assert!(matches!(store.get::<Value>("no-data").await, Ok(None)));
        let read = store.get_many::<Value, _>(["no-data"]).await.unwrap();
        assert!(read.found.is_empty() && read.is_complete());

        // Store::get_many: the good item is found, every corrupt one is listed as failed.
        let mut asked = keys.clone();
        asked.push("good");
        let read = store.get_many::<Value, _>(&asked).await.unwrap();
        assert_eq!(read.found.len(), 1);
        let mut failed: Vec<&str> = read.failed_keys().collect();
        failed.sort_unstable();
        let mut corrupt = keys.clone();
        corrupt.sort_unstable();
        assert_eq!(failed, corrupt);
        assert!(
            read.failed
                .iter()
                .all(|f| matches!(f.error, Error::Corrupt { .. }))
        );
        assert!(matches!(read.into_complete(), Err(Error::Corrupt { .. })));

        // Typed get, with and without the L1: undecodable items are misses (never errors),
        // each counted and logged, and no value of theirs enters the L1.
        let config = CacheConfig::new().ttl(Ttl::days(1));
        let plain: Cache<Value> = Cache::new(&store, config.clone());
        let cached: Cache<Value> = Cache::new(
            &store,
            config.l1(L1Config::new().negative_ttl(Ttl::secs(60))),
        );
        for key in &keys {
            assert!(matches!(plain.get(key).await, Ok(None)), "{key}");
            assert!(matches!(cached.get(key).await, Ok(None)), "{key}");
        }
        let stats = plain.stats();
        assert_eq!(stats.undecodable, keys.len() as u64, "{stats:?}");
        assert_eq!(stats.store_misses, keys.len() as u64, "{stats:?}");
        assert_eq!(stats.store_errors, 0, "{stats:?}");
        let many = cached.get_many(&asked).await.unwrap();
        assert_eq!(many.found.len(), 1);
        assert_eq!(many.found.get("good"), Some(&Value::from(1)));
        assert!(
            many.is_complete(),
            "undecodable keys are misses: {:?}",
            many.failed
        );
        let stats = cached.stats();
        // Each corrupt item was read from the store once; the batch read found them
        // remembered as misses (the negative TTL is on).
        assert_eq!(stats.undecodable, keys.len() as u64, "{stats:?}");
        assert_eq!(stats.store_errors, 0, "{stats:?}");
        assert_eq!(
            stats.l1_entries,
            keys.len() as u64 + 1,
            "the good value and a remembered miss per corrupt key: {stats:?}"
        );
        for key in &keys {
            cached.invalidate(key);
        }
        let stats = cached.stats();
        assert_eq!(
            stats.l1_entries, 1,
            "only the good item is in the L1 as a value: {stats:?}"
        );

        // Read-through replaces a corrupt item with the loader's value.
        let repaired = plain
            .get_or_insert_with("invalid-json", || async {
                Ok::<_, std::io::Error>(Value::from(7))
            })
            .await
            .unwrap();
        assert_eq!(repaired, Value::from(7));
        assert_eq!(
            store.get::<Value>("invalid-json").await.unwrap(),
            Some(Value::from(7))
        );

        // list_keys lists them (they exist), with no error.
        let listed = store.list_keys(100, None).await.unwrap();
        assert_eq!(listed.keys.len(), keys.len() + 1);
    }
}
