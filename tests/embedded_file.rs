//! The embedded backend's file: values survive a restart, and a damaged or shared file is
//! handled, never a panic.

mod support;

use std::io::Write;

use std::time::Duration;

use dynamorator::{Clock, Error, Store, Ttl};
use serde_json::{Value, json};

use support::unique_file;

async fn open(path: &std::path::Path) -> Result<Store, Error> {
    open_with(path, &Clock::system()).await
}

/// A store on the file at `path` whose expiry follows `clock`.
async fn open_with(path: &std::path::Path, clock: &Clock) -> Result<Store, Error> {
    Store::builder()
        .embedded_file(path)
        .compress(true)
        .compress_threshold(16)
        .clock(clock.clone())
        .build()
        .await
}

#[tokio::test]
async fn values_survive_a_restart() {
    let path = unique_file();
    let clock = Clock::manual();
    {
        let store = open_with(&path, &clock).await.unwrap();
        store.put("plain", &1, Ttl::days(1)).await.unwrap();
        store
            .put(
                "compressed",
                &json!({"text": "x".repeat(100)}),
                Ttl::days(1),
            )
            .await
            .unwrap();
        store.put("gone", &2, Ttl::days(1)).await.unwrap();
        store.delete("gone").await.unwrap();
        store.put("short", &3, Ttl::secs(1)).await.unwrap();
        store
            .put_many([("a", 1), ("b", 2)], Ttl::days(1))
            .await
            .unwrap();
        assert_eq!(store.get::<i32>("short").await.unwrap(), Some(3));
    }
    // The short item expires while the store is closed.
    clock.advance(Duration::from_secs(1));
    let store = open_with(&path, &clock).await.unwrap();
    assert_eq!(store.get::<i32>("plain").await.unwrap(), Some(1));
    let compressed: Value = store.get("compressed").await.unwrap().unwrap();
    assert_eq!(compressed["text"].as_str().map(str::len), Some(100));
    assert!(
        store
            .item_info("compressed")
            .await
            .unwrap()
            .unwrap()
            .compressed
    );
    assert_eq!(store.get::<i32>("gone").await.unwrap(), None);
    assert_eq!(store.get::<i32>("short").await.unwrap(), None);
    let mut keys = store.list_keys(100, None).await.unwrap().keys;
    keys.sort();
    // The expired item was dropped when the file was compacted on opening.
    assert_eq!(keys, ["a", "b", "compressed", "plain"]);
    drop(store);
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines, 4, "the journal was compacted to the live items");
    std::fs::remove_file(&path).unwrap();
}

/// The replay at opening drops what has expired by the store's clock, and nothing else.
#[tokio::test]
async fn the_replay_drops_items_exactly_when_they_expire() {
    let path = unique_file();
    let clock = Clock::manual();
    {
        let store = open_with(&path, &clock).await.unwrap();
        store.put("minute", &1, Ttl::secs(60)).await.unwrap();
        store.put("hour", &2, Ttl::hours(1)).await.unwrap();
    }
    clock.advance(Duration::from_secs(59));
    {
        let store = open_with(&path, &clock).await.unwrap();
        assert_eq!(store.get::<i32>("minute").await.unwrap(), Some(1));
        let mut keys = store.list_keys(10, None).await.unwrap().keys;
        keys.sort();
        assert_eq!(keys, ["hour", "minute"], "a second left: kept");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        2,
        "both items are still in the journal"
    );
    clock.advance(Duration::from_secs(1));
    let store = open_with(&path, &clock).await.unwrap();
    assert_eq!(store.get::<i32>("minute").await.unwrap(), None);
    assert_eq!(store.get::<i32>("hour").await.unwrap(), Some(2));
    assert_eq!(store.list_keys(10, None).await.unwrap().keys, ["hour"]);
    drop(store);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        1,
        "the expired item was dropped from the journal"
    );
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_torn_or_garbled_line_is_skipped_and_the_rest_kept() {
    let path = unique_file();
    {
        let store = open(&path).await.unwrap();
        store.put("kept", &"yes", Ttl::days(1)).await.unwrap();
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"not json at all\n{\"cache_id\":\"no-data\"}\n{\"cache_id\":\"torn\",\"da")
        .unwrap();
    drop(file);
    let store = open(&path).await.unwrap();
    assert_eq!(
        store.get::<String>("kept").await.unwrap().as_deref(),
        Some("yes")
    );
    assert_eq!(store.list_keys(10, None).await.unwrap().keys, ["kept"]);
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_file_in_use_is_refused_with_a_clear_error() {
    let path = unique_file();
    let first = open(&path).await.unwrap();
    first.put("k", &1, Ttl::days(1)).await.unwrap();
    let error = open(&path)
        .await
        .expect_err("a second store on a file in use is refused");
    let Error::Embedded {
        path: named,
        reason,
        ..
    } = &error
    else {
        panic!("expected the file to be in use, got {error:?}");
    };
    assert_eq!(named, &path, "the error names the file");
    // In one process the second store is refused by name, before any file lock is tried.
    assert!(reason.contains("already open"), "{reason}");
    let message = error.to_string();
    assert!(
        message.contains(&*path.to_string_lossy()) && message.contains("already open"),
        "{message}"
    );
    assert_eq!(
        first.get::<i32>("k").await.unwrap(),
        Some(1),
        "the first store is unharmed"
    );
    drop(first);
    // Closed, the file opens again, with what the first store wrote.
    let reopened = open(&path).await.unwrap();
    assert_eq!(reopened.get::<i32>("k").await.unwrap(), Some(1));
    drop(reopened);
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn an_unwritable_path_is_an_error_at_build() {
    let path = std::env::temp_dir()
        .join("no-such-directory-for-dynamorator")
        .join("f.jsonl");
    assert!(matches!(open(&path).await, Err(Error::Embedded { .. })));
}
