//! The embedded backend's file: values survive a restart, and a damaged or shared file is
//! handled, never a panic.

mod support;

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
    let keys = store.list_keys(100, None).await.unwrap().keys;
    assert_eq!(keys, ["a", "b", "compressed", "plain"], "in key order");
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// Across a restart, what has expired by the store's clock is a miss, and nothing else.
#[tokio::test]
async fn items_expire_exactly_by_the_clock_across_a_restart() {
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
        let keys = store.list_keys(10, None).await.unwrap().keys;
        assert_eq!(keys, ["hour", "minute"], "a second left: kept");
    }
    clock.advance(Duration::from_secs(1));
    let store = open_with(&path, &clock).await.unwrap();
    assert_eq!(store.get::<i32>("minute").await.unwrap(), None);
    assert_eq!(store.get::<i32>("hour").await.unwrap(), Some(2));
    assert_eq!(store.list_keys(10, None).await.unwrap().keys, ["hour"]);
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// A day past its expiry (its grace, kept for fail-safe answers), an expired item is removed by
/// the read that meets it: no longer described, no longer listed, even by a store whose clock
/// is behind.
#[tokio::test]
async fn a_read_removes_an_item_long_expired() {
    let path = unique_file();
    let clock = Clock::manual();
    let store = open_with(&path, &clock).await.unwrap();
    store.put("old", &1, Ttl::secs(10)).await.unwrap();
    store.put("new", &2, Ttl::days(30)).await.unwrap();
    clock.advance(Duration::from_secs(10));
    assert_eq!(store.get::<i32>("old").await.unwrap(), None);
    // Just expired: still stored, described as expired (as DynamoDB keeps it for a while).
    assert!(store.item_info("old").await.unwrap().unwrap().expired);
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(store.get::<i32>("old").await.unwrap(), None);
    assert_eq!(store.item_info("old").await.unwrap(), None, "removed");
    drop(store);
    // Gone from the file: a store whose clock says it is not even expired does not see it.
    clock.set(0);
    let store = open_with(&path, &clock).await.unwrap();
    assert_eq!(store.item_info("old").await.unwrap(), None);
    assert_eq!(store.list_keys(10, None).await.unwrap().keys, ["new"]);
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// `get_many` removes the long-expired items it meets, and returns the others.
#[tokio::test]
async fn a_batch_read_removes_the_items_long_expired() {
    let path = unique_file();
    let clock = Clock::manual();
    let store = open_with(&path, &clock).await.unwrap();
    store
        .put_many((0..30).map(|i| (format!("old{i:02}"), i)), Ttl::secs(1))
        .await
        .unwrap();
    store.put("new", &100, Ttl::days(30)).await.unwrap();
    clock.advance(Duration::from_secs(86_401));
    let keys: Vec<String> = (0..30)
        .map(|i| format!("old{i:02}"))
        .chain(["new".to_owned()])
        .collect();
    let read = store.get_many::<i32, _>(keys).await.unwrap();
    assert_eq!(read.found, [("new".to_owned(), 100)].into());
    assert!(read.is_complete());
    clock.set(0);
    let keys = store.list_keys(100, None).await.unwrap().keys;
    assert_eq!(keys, ["new"], "removed, not only hidden");
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// An earlier version's JSON-lines journal is not read: building says which file and what to
/// do, and leaves the file as it was.
#[tokio::test]
async fn an_old_journal_is_refused_with_a_clear_error() {
    let path = unique_file();
    let journal = "{\"cache_id\":\"k\",\"data\":\"1\",\"ttl\":4102444800}\n";
    std::fs::write(&path, journal).unwrap();
    let error = open(&path)
        .await
        .expect_err("a journal is not a store file");
    let Error::Embedded {
        path: named,
        reason,
        ..
    } = &error
    else {
        panic!("expected an embedded-file error, got {error:?}");
    };
    assert_eq!(named, &path, "the error names the file");
    assert!(
        reason.contains("journal") && reason.contains("delete it"),
        "{reason}"
    );
    assert!(error.to_string().contains(&*path.to_string_lossy()));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        journal,
        "left as it was"
    );
    std::fs::remove_file(&path).unwrap();
}

/// Any other file is refused with an error naming it, never a panic, and left as it was.
#[tokio::test]
async fn a_file_that_is_not_a_store_is_a_clear_error() {
    for content in [&b"not a database at all"[..], &[0u8; 10_000], &[0xff; 5]] {
        let path = unique_file();
        std::fs::write(&path, content).unwrap();
        let error = open(&path).await.expect_err("not a store file");
        assert!(
            matches!(&error, Error::Embedded { path: named, .. } if named == &path),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), content);
        std::fs::remove_file(&path).unwrap();
    }
}

/// The file holds cached values: it and the files SQLite keeps beside it (`-wal`, `-shm`)
/// are created readable and writable by their owner only.
#[cfg(unix)]
#[tokio::test]
async fn the_file_and_the_files_beside_it_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = unique_file();
    let store = open(&path).await.unwrap();
    store.put("k", &1, Ttl::days(1)).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
    }
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// A second store on the file in this process is refused however the path is written: a
/// symlink to it, a hard link, or a path through `..`; and the refusal leaves the first store
/// as it was (it opens no descriptor of the file, whose closing would drop the first store's
/// locks).
#[cfg(unix)]
#[tokio::test]
async fn another_path_to_a_file_in_use_is_the_same_file() {
    let path = unique_file();
    let first = open(&path).await.unwrap();
    first.put("k", &1, Ttl::days(1)).await.unwrap();
    let link = path.with_extension("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let folder = path.parent().unwrap();
    let name = path.file_name().unwrap();
    let dotted = folder
        .join("..")
        .join(folder.file_name().unwrap())
        .join(name);
    let hard = path.with_extension("hard");
    std::fs::hard_link(&path, &hard).unwrap();
    for other in [&link, &dotted, &hard] {
        let error = open(other).await.expect_err("the same file");
        assert!(
            matches!(&error, Error::Embedded { reason, .. } if reason.contains("already open")),
            "{other:?}: {error}"
        );
    }
    // The refusals closed nothing of the first store's: it reads and writes on.
    assert_eq!(first.get::<i32>("k").await.unwrap(), Some(1));
    first.put("k", &2, Ttl::days(1)).await.unwrap();
    drop(first);
    let again = open(&link).await.expect("closed, it opens by any path");
    assert_eq!(again.get::<i32>("k").await.unwrap(), Some(2));
    drop(again);
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_file(&hard).unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// A zero-length file (made with `touch`, say) becomes a store.
#[tokio::test]
async fn an_empty_file_becomes_a_store() {
    let path = unique_file();
    std::fs::write(&path, b"").unwrap();
    let store = open(&path).await.unwrap();
    store.put("k", &1, Ttl::days(1)).await.unwrap();
    assert_eq!(store.get::<i32>("k").await.unwrap(), Some(1));
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// The redb file of an earlier version is refused, named, with how to carry its items over;
/// it is never changed.
#[tokio::test]
async fn an_earlier_versions_redb_file_is_refused_and_left_as_it_is() {
    let path = unique_file();
    let mut content = b"redb\x1a\x0a\xa9\x0d\x0a".to_vec();
    content.resize(4096, 0);
    std::fs::write(&path, &content).unwrap();
    let error = open(&path).await.expect_err("an old file");
    let message = error.to_string();
    assert!(
        matches!(&error, Error::Embedded { path: named, .. } if named == &path),
        "{error:?}"
    );
    assert!(
        message.contains("redb") && message.contains("export"),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), content, "left as it was");
    std::fs::remove_file(&path).unwrap();
}

/// A JSON-lines export of the command-line tool given as a store file is named as such, and
/// nothing suggests deleting it.
#[tokio::test]
async fn an_export_is_refused_as_an_export() {
    let path = unique_file();
    let export = "{\"key\":\"k\",\"value\":1,\"ttl\":4102444800}\n";
    std::fs::write(&path, export).unwrap();
    let message = open(&path).await.expect_err("an export").to_string();
    assert!(
        message.contains("export") && message.contains("import"),
        "{message}"
    );
    assert!(!message.contains("delete"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), export);
    std::fs::remove_file(&path).unwrap();
}

/// Another program's SQLite database is refused and left as it is.
#[tokio::test]
async fn another_programs_database_is_refused() {
    let path = unique_file();
    {
        let store = open(&path).await.unwrap();
        store.put("k", &1, Ttl::days(1)).await.unwrap();
    }
    // The same bytes with another application id in the header (offset 68) are no store.
    let mut content = std::fs::read(&path).unwrap();
    content[68..72].copy_from_slice(&[0, 0, 0, 7]);
    std::fs::write(&path, &content).unwrap();
    let message = open(&path).await.expect_err("not ours").to_string();
    assert!(message.contains("another program"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), content);
    std::fs::remove_file(&path).unwrap();
}

/// A letter overwritten inside a stored value on disk is caught by the record's checksum: the
/// item is corrupt (a miss to a cache), never the altered value.
#[tokio::test]
async fn a_value_changed_on_disk_is_corrupt_never_a_wrong_value() {
    let path = unique_file();
    {
        // Uncompressed, so the value's text is in the file as written.
        let store = Store::builder().embedded_file(&path).build().await.unwrap();
        store
            .put(
                "k",
                &json!({"name": "Ada Lovelace-unique-marker"}),
                Ttl::days(1),
            )
            .await
            .unwrap();
        store.put("other", &2, Ttl::days(1)).await.unwrap();
    }
    // Closed: the write-ahead log is folded into the file.
    let mut content = std::fs::read(&path).unwrap();
    let marker = b"Lovelace-unique-marker";
    let at = content
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the value is in the file");
    content[at] = b'X';
    std::fs::write(&path, &content).unwrap();
    let store = open(&path).await.unwrap();
    let error = store.get::<Value>("k").await.expect_err("damaged");
    assert!(matches!(error, Error::Corrupt { .. }), "{error:?}");
    assert_eq!(store.get::<i32>("other").await.unwrap(), Some(2));
    let read = store.get_many::<Value, _>(["k", "other"]).await.unwrap();
    assert_eq!(read.found.len(), 1, "{read:?}");
    // Written again, it reads again.
    store.put("k", &json!("new"), Ttl::days(1)).await.unwrap();
    assert_eq!(store.get::<Value>("k").await.unwrap(), Some(json!("new")));
    drop(store);
    std::fs::remove_file(&path).unwrap();
}

/// A file cut short (a full disk, a copy interrupted) opens or is refused, and its reads are
/// the stored values or errors: never a wrong value, never a panic.
#[tokio::test]
async fn a_truncated_file_gives_errors_or_the_stored_values_never_a_wrong_one() {
    let path = unique_file();
    let value = |i: usize| json!({"i": i, "pad": "z".repeat(1_000)});
    {
        let store = open(&path).await.unwrap();
        store
            .put_many(
                (0..2_000).map(|i| (format!("k{i:04}"), value(i))),
                Ttl::days(1),
            )
            .await
            .unwrap();
    }
    let len = std::fs::metadata(&path).unwrap().len();
    for keep in [len / 2, len / 10, 4_096, 100] {
        let copy = path.with_extension(format!("cut{keep}"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&copy, &bytes[..keep as usize]).unwrap();
        match open(&copy).await {
            Err(error) => assert!(matches!(error, Error::Embedded { .. }), "{error:?}"),
            Ok(store) => {
                for i in (0..2_000).step_by(37) {
                    match store.get::<Value>(&format!("k{i:04}")).await {
                        Ok(Some(found)) => assert_eq!(found, value(i)),
                        Ok(None) | Err(Error::Embedded { .. } | Error::Corrupt { .. }) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
                let _ = store.list_keys(100, None).await;
                let _ = store.get_many::<Value, _>(["k0001", "k1999"]).await;
            }
        }
        let _ = std::fs::remove_file(&copy);
    }
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

/// A file in a folder that does not exist: an error at build that names the folder.
#[tokio::test]
async fn a_missing_folder_is_an_error_at_build_that_names_it() {
    let folder = support::test_dir().join("no-such-directory-for-dynamorator");
    let path = folder.join("f.db");
    let error = open(&path).await.expect_err("no folder");
    assert!(matches!(&error, Error::Embedded { .. }), "{error:?}");
    let message = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(message.contains("folder"), "{message}");
    assert!(message.contains(&*folder.to_string_lossy()), "{message}");
}
