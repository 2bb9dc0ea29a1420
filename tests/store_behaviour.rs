//! The store's behaviour, written once and run on every backend: embedded always, moto and
//! dynalite with `--features server-tests` (scripts/test).

mod support;

on_every_backend!(suite:
    put_then_get_round_trips,
    absent_keys_are_misses,
    put_replaces_the_previous_value,
    delete_removes_and_tolerates_absent_keys,
    expired_items_are_misses_on_every_read_path,
    compression_round_trips_on_both_sides_of_the_threshold,
    a_zero_threshold_compresses_everything,
    zstd_round_trips_on_both_sides_of_the_threshold,
    one_get_many_reads_plain_gzip_and_zstd_items_together,
    split_values_round_trip_on_every_read_path,
    split_values_are_refused_past_their_maximum_or_without_splitting,
    gzip_split_values_round_trip_and_none_is_written_past_what_readers_read,
    concurrent_overwrites_of_a_split_value_are_read_whole_or_missed,
    replaced_and_deleted_split_values_leave_their_parts_as_documented,
    batch_get_returns_found_keys_once_each,
    batch_get_reads_ten_thousand_keys,
    batch_put_keeps_the_last_value_of_a_repeated_key,
    batch_delete_removes_every_key,
    batch_deletes_remove_the_parts_of_split_values,
    expire_changes_the_ttl_of_a_value_and_its_parts_without_rewriting_it,
    list_keys_pages_through_every_key_once,
    list_keys_refuses_a_zero_limit,
    keys_are_validated_before_any_call,
    the_longest_key_round_trips,
    oversized_items_are_refused_not_lost,
    compression_lets_a_large_compressible_value_fit,
    values_of_another_shape_are_type_mismatches,
    invalid_ttls_are_refused,
    typed_values_round_trip,
    scan_reads_every_item_once_with_its_stored_form,
    records_keep_their_own_times,
);

mod suite {
    use std::collections::{BTreeSet, HashMap};
    use std::time::Duration;

    use dynamorator::{
        Cache, CacheConfig, Clock, Encoding, Error, Record, ScanOptions, ScannedItem, Ttl,
    };
    use futures_util::{StreamExt, TryStreamExt};
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use crate::support::TestBackend;

    const DAY: Ttl = Ttl::days(1);

    pub async fn put_then_get_round_trips(backend: TestBackend) {
        let store = backend.store().await;
        let value =
            json!({"name": "Zoë 日本 ☕", "score": 100, "tags": ["a", "b"], "x": null, "f": 1.5});
        store.put("user:123", &value, Ttl::days(7)).await.unwrap();
        assert_eq!(store.get::<Value>("user:123").await.unwrap(), Some(value));
    }

    pub async fn absent_keys_are_misses(backend: TestBackend) {
        let store = backend.store().await;
        assert_eq!(store.get::<Value>("nope").await.unwrap(), None);
    }

    pub async fn put_replaces_the_previous_value(backend: TestBackend) {
        let store = backend.store().await;
        store.put("k", &1, DAY).await.unwrap();
        store.put("k", &2, DAY).await.unwrap();
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(2));
    }

    pub async fn delete_removes_and_tolerates_absent_keys(backend: TestBackend) {
        let store = backend.store().await;
        store.put("k", &"v", DAY).await.unwrap();
        store.delete("k").await.unwrap();
        assert_eq!(store.get::<String>("k").await.unwrap(), None);
        // Deleting a key that was never written is not an error, and writes nothing.
        assert!(matches!(store.delete("never-there").await, Ok(())));
        assert_eq!(store.get::<String>("never-there").await.unwrap(), None);
        // Nor is deleting an already deleted key.
        assert!(matches!(store.delete("k").await, Ok(())));
        assert_eq!(store.get::<String>("k").await.unwrap(), None);
    }

    pub async fn expired_items_are_misses_on_every_read_path(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.clock(clock.clone())).await;
        store.put("short", &1, Ttl::secs(2)).await.unwrap();
        store.put("long", &2, DAY).await.unwrap();
        let both = || vec!["long".to_owned(), "short".to_owned()];
        // Written at second t with expiry t+2: there on every path until then...
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.get::<i32>("short").await.unwrap(), Some(1));
        let read = store.get_many::<i32, _>(["short", "long"]).await.unwrap();
        assert_eq!(read.found.len(), 2);
        assert_eq!(store.list_keys(100, None).await.unwrap().keys, both());
        let keys: Vec<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(keys, both());
        assert!(!store.item_info("short").await.unwrap().unwrap().expired);
        // ...and a miss on every path from then on. No server deletes expired items, so the
        // store must hide them itself.
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.get::<i32>("short").await.unwrap(), None);
        let read = store.get_many::<i32, _>(["short", "long"]).await.unwrap();
        assert_eq!(read.found, HashMap::from([("long".to_owned(), 2)]));
        assert!(read.is_complete());
        let page = store.list_keys(100, None).await.unwrap();
        assert_eq!(page.keys, vec!["long".to_owned()]);
        let keys: Vec<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(keys, vec!["long".to_owned()]);
        // Described as it is stored, and as expired.
        let info = store.item_info("short").await.unwrap().unwrap();
        assert!(info.expired, "{info:?}");
        assert_eq!(info.expires_at, clock.now_epoch_secs());
        assert!(!store.item_info("long").await.unwrap().unwrap().expired);
    }

    pub async fn compression_round_trips_on_both_sides_of_the_threshold(backend: TestBackend) {
        let store = backend
            .build(|b| b.compress(true).compress_threshold(100))
            .await;
        let small = json!({"s": "x".repeat(10)});
        let large = json!({"s": "abc".repeat(5_000), "n": [1, 2, 3]});
        store.put("small", &small, DAY).await.unwrap();
        store.put("large", &large, DAY).await.unwrap();
        assert_eq!(
            store.get::<Value>("small").await.unwrap(),
            Some(small.clone())
        );
        assert_eq!(
            store.get::<Value>("large").await.unwrap(),
            Some(large.clone())
        );
        let read = store
            .get_many::<Value, _>(["small", "large"])
            .await
            .unwrap();
        assert_eq!(read.found.get("large"), Some(&large));
        assert_eq!(read.found.get("small"), Some(&small));
    }

    pub async fn a_zero_threshold_compresses_everything(backend: TestBackend) {
        let store = backend
            .build(|b| b.compress(true).compress_threshold(0))
            .await;
        store.put("tiny", &1, DAY).await.unwrap();
        let info = store
            .item_info("tiny")
            .await
            .unwrap()
            .expect("just written");
        assert!(info.compressed, "a 1-byte value is compressed: {info:?}");
        assert_eq!(store.get::<i32>("tiny").await.unwrap(), Some(1));
    }

    pub async fn zstd_round_trips_on_both_sides_of_the_threshold(backend: TestBackend) {
        let store = backend
            .build(|b| b.zstd(true).compress_threshold(100))
            .await;
        let small = json!({"s": "x".repeat(10)});
        let large = json!({"s": "abc".repeat(5_000), "n": [1, 2, 3], "u": "Zoë 日本 ☕"});
        store.put("small", &small, DAY).await.unwrap();
        store.put("large", &large, DAY).await.unwrap();
        let info = store.item_info("large").await.unwrap().unwrap();
        assert_eq!((info.encoding, info.compressed), (Encoding::Zstd, true));
        // A binary attribute counts its raw bytes: far under the JSON's 15 KB.
        assert!(info.size < 200, "{info:?}");
        let small_info = store.item_info("small").await.unwrap().unwrap();
        assert_eq!(small_info.encoding, Encoding::Json);
        assert_eq!(
            store.get::<Value>("large").await.unwrap(),
            Some(large.clone())
        );
        assert_eq!(
            store.get::<Value>("small").await.unwrap(),
            Some(small.clone())
        );
        let read = store
            .get_many::<Value, _>(["small", "large"])
            .await
            .unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.get("large"), Some(&large));
        assert_eq!(read.found.get("small"), Some(&small));
        // Listed and scanned like any other item.
        let keys: BTreeSet<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(
            keys,
            BTreeSet::from(["large".to_owned(), "small".to_owned()])
        );
        let scanned: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        let large_item = scanned.iter().find(|item| item.key() == "large").unwrap();
        assert_eq!(large_item.info().unwrap().encoding, Encoding::Zstd);
        assert_eq!(large_item.json_len().unwrap(), large.to_string().len());
        assert_eq!(large_item.value::<Value>().unwrap(), large);
    }

    pub async fn one_get_many_reads_plain_gzip_and_zstd_items_together(backend: TestBackend) {
        // One table, three writers: caches over one store, each with its own form.
        let store = backend.store().await;
        let value = json!({"rows": (0..200).map(|i| json!({"id": i, "name": format!("row {i}")})).collect::<Vec<_>>()});
        let plain: Cache<Value> = Cache::new(&store, CacheConfig::new());
        let gzip: Cache<Value> = Cache::new(
            &store,
            CacheConfig::new().compress(true).compress_threshold(0),
        );
        let zstd: Cache<Value> = Cache::new(
            &store,
            CacheConfig::new().zstd_level(9).compress_threshold(0),
        );
        plain.put("plain", &value).await.unwrap();
        gzip.put("gzip", &value).await.unwrap();
        zstd.put("zstd", &value).await.unwrap();
        let mut encodings = Vec::new();
        let mut sizes = Vec::new();
        for key in ["plain", "gzip", "zstd"] {
            let info = store.item_info(key).await.unwrap().unwrap();
            encodings.push(info.encoding);
            sizes.push(info.size);
        }
        assert_eq!(encodings, [Encoding::Json, Encoding::Gzip, Encoding::Zstd]);
        // zstd is the smallest, plain the largest.
        assert!(sizes[2] < sizes[1] && sizes[1] < sizes[0], "{sizes:?}");
        // A reader with no compression setting reads every form, in one batch read.
        let read = store
            .get_many::<Value, _>(["plain", "gzip", "zstd", "absent"])
            .await
            .unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.len(), 3);
        assert!(read.found.values().all(|found| found == &value));
        // And through any cache, whatever its own form.
        let many = plain.get_many(["plain", "gzip", "zstd"]).await.unwrap();
        assert_eq!(many.found.len(), 3, "{:?}", many.failed);
        assert_eq!(zstd.get("gzip").await.unwrap(), Some(value.clone()));
        assert_eq!(gzip.get("zstd").await.unwrap(), Some(value));
    }

    /// About `bytes` of JSON that compresses poorly (random hex), so it stays past 400 KB.
    fn big_value(seed: u64, bytes: usize) -> Value {
        let mut rng = fastrand::Rng::with_seed(seed);
        let words: Vec<String> = (0..bytes / 19)
            .map(|_| format!("{:016x}", rng.u64(..)))
            .collect();
        json!({"seed": seed, "words": words})
    }

    pub async fn split_values_round_trip_on_every_read_path(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.split(true).clock(clock.clone())).await;
        let big = big_value(1, 1_000_000);
        store.put("big", &big, DAY).await.unwrap();
        store.put("small", &1, DAY).await.unwrap();
        let info = store.item_info("big").await.unwrap().unwrap();
        assert_eq!(
            (info.parts, info.encoding),
            (Some(4), Encoding::Json),
            "{info:?}"
        );
        assert!(
            info.size > big.to_string().len(),
            "head and parts: {info:?}"
        );
        assert_eq!(store.get::<Value>("big").await.unwrap(), Some(big.clone()));
        // One batch read: whole and split values together (the parts in one more round).
        let read = store
            .get_many::<Value, _>(["big", "small", "absent"])
            .await
            .unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.len(), 2);
        assert_eq!(read.found["big"], big);
        // Listing and scans show the value once, never its parts.
        let keys: BTreeSet<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(keys, BTreeSet::from(["big".to_owned(), "small".to_owned()]));
        // Pages stop at 1 MB of items read on DynamoDB, parts included: walk them all.
        let mut listed = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = store.list_keys(100, token.as_deref()).await.unwrap();
            listed.extend(page.keys);
            token = page.last_key;
            if token.is_none() {
                break;
            }
        }
        listed.sort();
        assert_eq!(listed, ["big", "small"]);
        let scanned: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        assert_eq!(scanned.len(), 2);
        let item = scanned.iter().find(|item| item.key() == "big").unwrap();
        assert_eq!(item.value::<Value>().unwrap(), big);
        assert_eq!(item.json_len().unwrap(), big.to_string().len());
        assert_eq!(item.info().unwrap().parts, Some(4));

        // Batch writes, ordered writes and typed caches split too; compression comes first.
        let other = big_value(2, 900_000);
        store
            .put_many([("m:big", other.clone()), ("m:small", json!(2))], DAY)
            .await
            .unwrap();
        assert_eq!(
            store.get::<Value>("m:big").await.unwrap(),
            Some(other.clone())
        );
        assert!(store.put_versioned("v", &big, DAY, 2).await.unwrap());
        let parts_of_v = || async {
            store
                .scan(ScanOptions::new().prefix("v#").include_parts(true))
                .try_filter(|item| futures_util::future::ready(item.is_part()))
                .count()
                .await
        };
        let before = parts_of_v().await;
        assert!(before >= 2, "{before} parts");
        assert!(!store.put_versioned("v", &other, DAY, 1).await.unwrap());
        assert_eq!(
            parts_of_v().await,
            before,
            "the losing write's parts are removed"
        );
        assert_eq!(store.get::<Value>("v").await.unwrap(), Some(big.clone()));
        let plain = backend.store().await;
        let cache: Cache<Value> = Cache::new(
            &plain,
            CacheConfig::new()
                .split(true)
                .zstd(true)
                .compress_threshold(0),
        );
        cache.put("c", &big).await.unwrap();
        let info = plain.item_info("c").await.unwrap().unwrap();
        assert_eq!(info.encoding, Encoding::Zstd, "{info:?}");
        assert!(
            info.parts.is_some(),
            "random hex stays past 400 KB: {info:?}"
        );
        assert_eq!(cache.get("c").await.unwrap(), Some(big.clone()));
        assert_eq!(plain.get::<Value>("c").await.unwrap(), Some(big.clone()));
        let many = cache.get_many(["c", "absent"]).await.unwrap();
        assert_eq!(many.found.get("c"), Some(&big));

        // Expired with its head: a miss on every read path.
        clock.advance(Duration::from_secs(DAY.as_secs()));
        assert_eq!(store.get::<Value>("big").await.unwrap(), None);
        let read = store.get_many::<Value, _>(["big", "m:big"]).await.unwrap();
        assert!(read.found.is_empty() && read.is_complete());
    }

    pub async fn split_values_are_refused_past_their_maximum_or_without_splitting(
        backend: TestBackend,
    ) {
        let big = big_value(3, 600_000);
        let store = backend.store().await;
        assert!(matches!(
            store.put("big", &big, DAY).await,
            Err(Error::ItemTooLarge { .. })
        ));
        let capped = backend.build(|b| b.split_max_bytes(500_000)).await;
        match capped.put("big", &big, DAY).await {
            Err(Error::ValueTooLarge { key, size, limit }) => {
                assert_eq!((key.as_str(), limit), ("big", 500_000));
                assert!(size > 500_000);
            }
            other => panic!("expected ValueTooLarge, got {other:?}"),
        }
        assert!(matches!(
            capped.put_many([("a", json!(1)), ("big", big)], DAY).await,
            Err(Error::ValueTooLarge { .. })
        ));
        assert_eq!(
            capped.get::<Value>("a").await.unwrap(),
            None,
            "nothing written"
        );
    }

    pub async fn gzip_split_values_round_trip_and_none_is_written_past_what_readers_read(
        backend: TestBackend,
    ) {
        // Hex words: gzip halves them, so 1.5 MB of JSON is still past one item once compressed.
        let big = big_value(4, 1_500_000);
        let json_len = big.to_string().len();
        let store = backend.build(|b| b.split(true).compress(true)).await;
        store.put("gz", &big, DAY).await.unwrap();
        let info = store.item_info("gz").await.unwrap().unwrap();
        assert_eq!((info.encoding, info.compressed), (Encoding::Gzip, true));
        assert!(info.parts.is_some_and(|parts| parts >= 2), "{info:?}");
        assert!(info.size < json_len, "{info:?}");
        assert_eq!(store.get::<Value>("gz").await.unwrap(), Some(big.clone()));

        // Readers inflate no more than max_inflated_bytes: a value past it is refused when
        // written, by its stored bytes (plain) or by its JSON (compressed), never stored.
        let limit = 1_000_000;
        for compress in [false, true] {
            let capped = backend
                .build(|b| b.split(true).compress(compress).max_inflated_bytes(limit))
                .await;
            match capped.put("capped", &big, DAY).await {
                Err(Error::ValueTooLarge {
                    key,
                    size,
                    limit: l,
                }) => {
                    assert_eq!((key.as_str(), l), ("capped", limit));
                    assert!(size > limit, "{size}");
                    if compress {
                        assert_eq!(size, json_len, "the JSON passes the cap");
                    }
                }
                other => panic!("expected ValueTooLarge (compress {compress}), got {other:?}"),
            }
            assert_eq!(capped.get::<Value>("capped").await.unwrap(), None);
        }
    }

    pub async fn concurrent_overwrites_of_a_split_value_are_read_whole_or_missed(
        backend: TestBackend,
    ) {
        let store = backend.build(|b| b.split(true)).await;
        let values: Vec<Value> = (10..14).map(|seed| big_value(seed, 700_000)).collect();
        store.put("race", &values[0], DAY).await.unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers = values.iter().cloned().map(|value| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    store.put("race", &value, DAY).await.unwrap();
                }
            })
        });
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (store, done, values) = (store.clone(), done.clone(), values.clone());
                tokio::spawn(async move {
                    let mut reads = 0;
                    // Bounded in count; the writers end long before.
                    while reads < 200
                        && !(done.load(std::sync::atomic::Ordering::SeqCst) && reads > 4)
                    {
                        reads += 1;
                        match store.get::<Value>("race").await {
                            Ok(Some(value)) => assert!(values.contains(&value), "a mixed value"),
                            Ok(None) => {}
                            Err(error) => panic!("a read during overwrites failed: {error}"),
                        }
                        let many = store.get_many::<Value, _>(["race"]).await.unwrap();
                        assert!(many.failed.is_empty(), "{:?}", many.failed);
                        if let Some(value) = many.found.get("race") {
                            assert!(values.contains(value), "a mixed value in get_many");
                        }
                    }
                    reads
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        for reader in readers {
            assert!(reader.await.unwrap() > 0);
        }
        let last = store.get::<Value>("race").await.unwrap();
        assert!(last.is_some_and(|value| values.contains(&value)));
    }

    /// Every part of the split value under `key`, stored or not.
    async fn parts_of(store: &dynamorator::Store, key: &str) -> Vec<String> {
        dynamorator::__bench::part_keys(store, key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} is no split value"))
    }

    /// How many of `parts` are stored.
    async fn stored(store: &dynamorator::Store, parts: &[String]) -> usize {
        let mut stored = 0;
        for part in parts {
            stored += usize::from(dynamorator::__bench::is_stored(store, part).await.unwrap());
        }
        stored
    }

    pub async fn replaced_and_deleted_split_values_leave_their_parts_as_documented(
        backend: TestBackend,
    ) {
        let store = backend.build(|b| b.split(true)).await;
        let (one, two) = (big_value(4, 700_000), big_value(5, 700_000));
        store.put("k", &one, DAY).await.unwrap();
        let first = parts_of(&store, "k").await;
        assert_eq!(stored(&store, &first).await, first.len());
        // A part is no value: a miss, and no item to describe.
        assert_eq!(store.get::<Value>(&first[0]).await.unwrap(), None);
        assert_eq!(store.item_info(&first[0]).await.unwrap(), None);

        // A split value written over another removes its parts, on every backend.
        store.put("k", &two, DAY).await.unwrap();
        let second = parts_of(&store, "k").await;
        assert_ne!(first, second, "a new write id");
        assert_eq!(stored(&store, &first).await, 0);
        assert_eq!(store.get::<Value>("k").await.unwrap(), Some(two.clone()));
        // So does a delete.
        store.delete("k").await.unwrap();
        assert_eq!(stored(&store, &second).await, 0);
        assert_eq!(store.get::<Value>("k").await.unwrap(), None);

        // A small value over a split one, and batch writes and deletes: the embedded backends
        // remove the parts in the write; DynamoDB leaves them to their TTL (the head's).
        let left = |parts: &[String]| {
            if backend.is_dynamodb() {
                parts.len()
            } else {
                0
            }
        };
        store.put("k", &one, DAY).await.unwrap();
        let third = parts_of(&store, "k").await;
        store.put("k", &1, DAY).await.unwrap();
        assert_eq!(stored(&store, &third).await, left(&third));
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(1));
        store.put("b", &one, DAY).await.unwrap();
        let fourth = parts_of(&store, "b").await;
        store.put_many([("b", two.clone())], DAY).await.unwrap();
        assert_eq!(stored(&store, &fourth).await, left(&fourth));
        let fifth = parts_of(&store, "b").await;
        // A batch delete of a store with `split` reads the heads first: parts go everywhere.
        store.delete_many(["b"]).await.unwrap();
        assert_eq!(stored(&store, &fifth).await, 0);
        assert_eq!(store.get::<Value>("b").await.unwrap(), None);
        // Left or not, listing shows none of them.
        let keys: Vec<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(keys, ["k"]);
    }

    pub async fn batch_get_returns_found_keys_once_each(backend: TestBackend) {
        let store = backend.store().await;
        let items: Vec<(String, usize)> = (0..250).map(|i| (format!("k{i}"), i)).collect();
        store.put_many(items.clone(), DAY).await.unwrap();
        // Duplicates (which DynamoDB refuses in one request) and absent keys mixed in.
        let mut keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
        keys.extend(["k1".to_owned(), "k1".to_owned(), "absent".to_owned()]);
        let read = store.get_many::<usize, _>(&keys).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found, items.into_iter().collect::<HashMap<_, _>>());
        let few = store
            .get_many::<usize, _>(["k1", "k1", "k2"])
            .await
            .unwrap();
        assert!(few.is_complete(), "{:?}", few.failed);
        assert_eq!(few.found.len(), 2);
        let none = store.get_many::<usize, &str>([]).await.unwrap();
        assert!(none.is_complete());
        assert!(none.found.is_empty());
    }

    pub async fn batch_get_reads_ten_thousand_keys(backend: TestBackend) {
        let store = backend.store().await;
        let items: Vec<(String, usize)> =
            (0..10_000).map(|i| (format!("item-{i:05}"), i)).collect();
        store.put_many(items.clone(), DAY).await.unwrap();
        let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
        let read = store.get_many::<usize, _>(&keys).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.len(), 10_000);
        assert_eq!(read.found.get("item-09999"), Some(&9_999));
    }

    pub async fn batch_put_keeps_the_last_value_of_a_repeated_key(backend: TestBackend) {
        let store = backend.store().await;
        store
            .put_many([("k", 1), ("other", 5), ("k", 2)], DAY)
            .await
            .unwrap();
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(2));
        assert_eq!(store.get::<i32>("other").await.unwrap(), Some(5));
    }

    pub async fn batch_delete_removes_every_key(backend: TestBackend) {
        let store = backend.store().await;
        let keys: Vec<String> = (0..60).map(|i| format!("d{i}")).collect();
        store
            .put_many(keys.iter().map(|k| (k, true)), DAY)
            .await
            .unwrap();
        store.delete_many(&keys[..50]).await.unwrap();
        let left = store.get_many::<bool, _>(&keys).await.unwrap();
        assert_eq!(left.found.len(), 10);
        // Deleting again, with 50 keys already gone, is not an error either.
        store.delete_many(&keys).await.unwrap();
        let read = store.get_many::<bool, _>(&keys).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert!(read.found.is_empty());
    }

    /// Every item in the table, parts of split values and expired items included.
    async fn table_items(store: &dynamorator::Store) -> usize {
        store
            .scan(
                ScanOptions::new()
                    .include_parts(true)
                    .join_split_values(false),
            )
            .try_collect::<Vec<ScannedItem>>()
            .await
            .unwrap()
            .len()
    }

    pub async fn batch_deletes_remove_the_parts_of_split_values(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.split(true).clock(clock.clone())).await;
        let big = big_value(6, 700_000);
        store
            .put_many(
                [
                    ("s1", big.clone()),
                    ("s2", big.clone()),
                    ("small", json!(1)),
                    ("kept", json!(2)),
                ],
                DAY,
            )
            .await
            .unwrap();
        let parts = parts_of(&store, "s1").await.len();
        assert!(parts >= 2, "{parts} parts");
        assert_eq!(table_items(&store).await, 4 + 2 * parts);
        store
            .delete_many(["s1", "s2", "small", "absent"])
            .await
            .unwrap();
        assert_eq!(table_items(&store).await, 1, "only `kept` is left");

        // `delete_present` reads the keys whatever the setting, and says which held a value.
        store.put("s3", &big, DAY).await.unwrap();
        store.put("gone", &0, Ttl::secs(10)).await.unwrap();
        clock.advance(Duration::from_secs(10));
        let present = store
            .delete_present(["s3", "kept", "gone", "absent"])
            .await
            .unwrap();
        assert_eq!(present, ["s3", "kept"], "an expired item is no live value");
        assert_eq!(table_items(&store).await, 0);

        // A typed cache (here with the store's `split`) does the same.
        let cache: Cache<Value> = Cache::new(&store, CacheConfig::new().prefix("c"));
        cache.put("a", &big).await.unwrap();
        cache.put("b", &json!(3)).await.unwrap();
        assert!(table_items(&store).await > 2);
        cache.delete_many(["a", "b"]).await.unwrap();
        assert_eq!(table_items(&store).await, 0);
    }

    pub async fn expire_changes_the_ttl_of_a_value_and_its_parts_without_rewriting_it(
        backend: TestBackend,
    ) {
        let clock = Clock::manual();
        let store = backend.build(|b| b.split(true).clock(clock.clone())).await;
        let big = big_value(7, 700_000);
        store.put("big", &big, Ttl::minutes(5)).await.unwrap();
        store
            .put("small", &json!({"a": 1}), Ttl::minutes(5))
            .await
            .unwrap();
        let before = store.item_info("big").await.unwrap().unwrap();
        let now = clock.now_epoch_secs();

        assert!(store.expire("big", Ttl::days(2)).await.unwrap());
        assert!(store.expire("small", Ttl::hours(1)).await.unwrap());
        let after = store.item_info("big").await.unwrap().unwrap();
        assert_eq!(after.expires_at, now + 2 * 86_400);
        // Not rewritten: the same form, size and creation time.
        assert_eq!(
            (after.encoding, after.size, after.created_at, after.parts),
            (
                before.encoding,
                before.size,
                before.created_at,
                before.parts
            )
        );
        // Every part has the head's new expiry, so none expires before it.
        let items: Vec<ScannedItem> = store
            .scan(
                ScanOptions::new()
                    .include_parts(true)
                    .join_split_values(false),
            )
            .try_collect()
            .await
            .unwrap();
        let parts: Vec<&ScannedItem> = items.iter().filter(|item| item.is_part()).collect();
        assert_eq!(parts.len(), before.parts.unwrap() as usize);
        for part in parts {
            assert_eq!(
                part.info().unwrap().expires_at,
                now + 2 * 86_400,
                "{}",
                part.key()
            );
        }
        // Past the old TTL, both still read.
        clock.advance(Duration::from_secs(600));
        assert_eq!(store.get::<Value>("big").await.unwrap(), Some(big));
        assert_eq!(
            store.get::<Value>("small").await.unwrap(),
            Some(json!({"a": 1}))
        );
        // Absent or expired: false, and nothing is made.
        assert!(!store.expire("absent", Ttl::hours(1)).await.unwrap());
        assert_eq!(store.item_info("absent").await.unwrap(), None);
        clock.advance(Duration::from_secs(3_600));
        assert!(!store.expire("small", Ttl::hours(1)).await.unwrap());
        assert_eq!(store.get::<Value>("small").await.unwrap(), None);
        assert!(matches!(
            store.expire("", Ttl::hours(1)).await,
            Err(Error::EmptyKey)
        ));
    }

    pub async fn list_keys_pages_through_every_key_once(backend: TestBackend) {
        let store = backend.store().await;
        let expected: BTreeSet<String> = (0..23).map(|i| format!("key-{i}")).collect();
        store
            .put_many(expected.iter().map(|k| (k, 0)), DAY)
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = store.list_keys(7, token.as_deref()).await.unwrap();
            assert!(page.keys.len() <= 7);
            seen.extend(page.keys);
            token = page.last_key;
            pages += 1;
            // 23 keys in pages of 7 is 4 pages, plus a trailing empty one on some servers.
            assert!(pages <= 5, "list_keys did not finish in 5 pages");
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), expected.len(), "every key exactly once");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
        // A larger page starts at the beginning again, and holds them all.
        let whole = store.list_keys(100, None).await.unwrap();
        assert_eq!(whole.keys.len(), expected.len(), "every key exactly once");
        assert_eq!(whole.keys.into_iter().collect::<BTreeSet<_>>(), expected);
        assert_eq!(whole.last_key, None, "and says it is the last page");
        // The stream walks the same pages for you.
        let streamed: Vec<String> = store.keys().try_collect().await.unwrap();
        assert_eq!(streamed.len(), expected.len(), "every key exactly once");
        assert_eq!(streamed.into_iter().collect::<BTreeSet<_>>(), expected);
    }

    pub async fn list_keys_refuses_a_zero_limit(backend: TestBackend) {
        let store = backend.store().await;
        store.put("k", &1, DAY).await.unwrap();
        assert!(matches!(
            store.list_keys(0, None).await,
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            store.list_keys(0, Some("k")).await,
            Err(Error::InvalidArgument { .. })
        ));
    }

    pub async fn keys_are_validated_before_any_call(backend: TestBackend) {
        let store = backend.store().await;
        let long = "k".repeat(2049);
        assert!(matches!(store.put("", &1, DAY).await, Err(Error::EmptyKey)));
        assert!(matches!(
            store.put(&long, &1, DAY).await,
            Err(Error::KeyTooLong { len: 2049 })
        ));
        assert!(matches!(store.get::<i32>("").await, Err(Error::EmptyKey)));
        assert!(matches!(
            store.get::<i32>(&long).await,
            Err(Error::KeyTooLong { .. })
        ));
        assert!(matches!(store.delete("").await, Err(Error::EmptyKey)));
        assert!(matches!(
            store.get_many::<i32, _>(["ok", ""]).await,
            Err(Error::EmptyKey)
        ));
        // Multi-byte characters count by bytes: 683 × 3 bytes = 2049.
        assert!(matches!(
            store.put(&"€".repeat(683), &1, DAY).await,
            Err(Error::KeyTooLong { len: 2049 })
        ));
        // A bad key among good ones fails the whole call, before anything is read or written:
        // the good keys are neither served nor touched.
        store.put("ok", &1, DAY).await.unwrap();
        assert!(matches!(
            store.get_many::<i32, _>(["ok", "", long.as_str()]).await,
            Err(Error::EmptyKey)
        ));
        assert!(matches!(
            store.get_many::<i32, _>(["ok", long.as_str()]).await,
            Err(Error::KeyTooLong { len: 2049 })
        ));
        assert!(matches!(
            store.put_many([("fresh", 2), ("", 3)], DAY).await,
            Err(Error::EmptyKey)
        ));
        assert_eq!(
            store.get::<i32>("fresh").await.unwrap(),
            None,
            "nothing written"
        );
        assert!(matches!(
            store.delete_many(["ok", long.as_str()]).await,
            Err(Error::KeyTooLong { len: 2049 })
        ));
        assert_eq!(
            store.get::<i32>("ok").await.unwrap(),
            Some(1),
            "nothing deleted"
        );
        assert!(matches!(store.item_info("").await, Err(Error::EmptyKey)));
        assert!(matches!(
            store.list_keys(10, Some(long.as_str())).await,
            Err(Error::KeyTooLong { len: 2049 })
        ));
    }

    pub async fn the_longest_key_round_trips(backend: TestBackend) {
        let store = backend.store().await;
        let key = "€".repeat(682) + "ab"; // 2048 bytes
        assert_eq!(key.len(), 2048);
        store.put(&key, &"long", DAY).await.unwrap();
        assert_eq!(
            store.get::<String>(&key).await.unwrap().as_deref(),
            Some("long")
        );
        let read = store.get_many::<String, _>([&key]).await.unwrap();
        assert_eq!(read.found.len(), 1);
    }

    pub async fn oversized_items_are_refused_not_lost(backend: TestBackend) {
        let store = backend.store().await;
        store.put("big", &"old", DAY).await.unwrap();
        let big = "x".repeat(410_000);
        match store.put("big", &big, DAY).await {
            Err(Error::ItemTooLarge {
                key,
                size,
                compressed,
            }) => {
                assert_eq!(key, "big");
                assert!(size > 409_600);
                assert!(!compressed);
            }
            other => panic!("expected ItemTooLarge, got {other:?}"),
        }
        // The refused write did not touch what was there.
        assert_eq!(
            store.get::<String>("big").await.unwrap().as_deref(),
            Some("old")
        );
        // Well under the limit (moto refuses from ~396 KB) goes through.
        let fits = "y".repeat(300_000);
        store.put("fits", &fits, DAY).await.unwrap();
        assert_eq!(store.get::<String>("fits").await.unwrap(), Some(fits));
        assert!(matches!(
            store
                .put_many([("a", "small".to_owned()), ("b", big)], DAY)
                .await,
            Err(Error::ItemTooLarge { .. })
        ));
        assert_eq!(
            store.get::<String>("a").await.unwrap(),
            None,
            "nothing written"
        );
    }

    pub async fn compression_lets_a_large_compressible_value_fit(backend: TestBackend) {
        let store = backend.build(|b| b.compress(true)).await;
        let value = json!({"blob": "0123456789".repeat(100_000)});
        store.put("compressible", &value, DAY).await.unwrap();
        assert_eq!(
            store.get::<Value>("compressible").await.unwrap(),
            Some(value)
        );
    }

    pub async fn values_of_another_shape_are_type_mismatches(backend: TestBackend) {
        let store = backend.store().await;
        store.put("text", &"not a number", DAY).await.unwrap();
        store.put("number", &7, DAY).await.unwrap();
        assert!(matches!(
            store.get::<u64>("text").await,
            Err(Error::TypeMismatch { .. })
        ));
        let read = store.get_many::<u64, _>(["text", "number"]).await.unwrap();
        assert_eq!(read.found.get("number"), Some(&7));
        assert_eq!(read.failed_keys().collect::<Vec<_>>(), vec!["text"]);
        assert!(matches!(read.failed[0].error, Error::TypeMismatch { .. }));
        assert!(matches!(
            read.into_complete(),
            Err(Error::TypeMismatch { .. })
        ));
    }

    pub async fn invalid_ttls_are_refused(backend: TestBackend) {
        let store = backend.store().await;
        // A TTL that cannot be stored cannot be made, so no write can carry one.
        for days in [
            f64::NAN,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            365_001.0,
        ] {
            assert!(
                matches!(Ttl::try_from_days(days), Err(Error::InvalidTtl { .. })),
                "{days} days"
            );
        }
        for secs in [0, Ttl::MAX_SECS + 1] {
            assert!(
                matches!(Ttl::try_from_secs(secs), Err(Error::InvalidTtl { .. })),
                "{secs} s"
            );
        }
        assert!(matches!(
            Ttl::try_from_secs_f64(0.5),
            Err(Error::InvalidTtl { .. })
        ));
        assert!(matches!(
            Ttl::try_from(Duration::from_millis(999)),
            Err(Error::InvalidTtl { .. })
        ));
        assert!(matches!(
            Ttl::try_from(Duration::ZERO),
            Err(Error::InvalidTtl { .. })
        ));
        // No write could carry one: the key is still absent until a valid TTL is used.
        assert_eq!(store.get::<i32>("k").await.unwrap(), None);
        let minute = Ttl::try_from(Duration::from_secs(60)).unwrap();
        store.put("k", &1, minute).await.unwrap();
        assert_eq!(store.get::<i32>("k").await.unwrap(), Some(1));
        let info = store.item_info("k").await.unwrap().unwrap();
        assert_eq!(info.expires_at - info.created_at.unwrap(), 60);
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Product {
        asin: String,
        title: String,
        price_cents: u64,
        tags: Vec<String>,
        discontinued: Option<bool>,
    }

    pub async fn typed_values_round_trip(backend: TestBackend) {
        let store = backend.store().await;
        let product = Product {
            asin: "B00X".into(),
            title: "Kettle – 1.7 l".into(),
            price_cents: 2_999,
            tags: vec!["kitchen".into()],
            discontinued: None,
        };
        store.put("B00X", &product, DAY).await.unwrap();
        assert_eq!(
            store.get::<Product>("B00X").await.unwrap(),
            Some(product.clone())
        );
        let many = store.get_many::<Product, _>(["B00X"]).await.unwrap();
        assert!(many.is_complete(), "{:?}", many.failed);
        assert_eq!(many.found.get("B00X"), Some(&product));
    }

    pub async fn scan_reads_every_item_once_with_its_stored_form(backend: TestBackend) {
        let clock = Clock::manual();
        let store = backend
            .build(|b| b.clock(clock.clone()).compress(true).compress_threshold(50))
            .await;
        store
            .put_many((0..120).map(|i| (format!("k{i:03}"), i)), DAY)
            .await
            .unwrap();
        store.put("big", &"x".repeat(200), DAY).await.unwrap();
        store.put("soon", &0, Ttl::secs(10)).await.unwrap();
        clock.advance(Duration::from_secs(10));
        for segments in [1, 4] {
            let options = ScanOptions::new().segments(segments).page_size(25);
            let items: Vec<ScannedItem> = store.scan(options).try_collect().await.unwrap();
            let keys: BTreeSet<&str> = items.iter().map(ScannedItem::key).collect();
            assert_eq!((items.len(), keys.len()), (122, 122), "{segments} segments");
            let find = |key: &str| items.iter().find(|item| item.key() == key).unwrap();
            assert!(find("soon").info().unwrap().expired);
            assert_eq!(find("soon").value::<i32>().unwrap(), 0);
            let big = find("big");
            assert!(big.info().unwrap().compressed);
            assert_eq!(big.value::<String>().unwrap(), "x".repeat(200));
            assert_eq!(big.json_len().unwrap(), 202);
            assert!(!find("k007").info().unwrap().compressed);
        }
        let prefixed: Vec<ScannedItem> = store
            .scan(ScanOptions::new().prefix("k11").segments(3))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(prefixed.len(), 10);
    }

    pub async fn records_keep_their_own_times(backend: TestBackend) {
        let store = backend.store().await;
        let now = store.clock().now_epoch_secs();
        let record = Record::new("r", json!({"a": 1}), now + 500)
            .created_at(Some(now - 100))
            .fresh_until(Some(now + 50));
        store.put_records([record]).await.unwrap();
        let info = store.item_info("r").await.unwrap().unwrap();
        assert_eq!(
            (info.expires_at, info.created_at, info.fresh_until),
            (now + 500, Some(now - 100), Some(now + 50))
        );
        assert_eq!(
            store.get::<Value>("r").await.unwrap(),
            Some(json!({"a": 1}))
        );
    }
}
