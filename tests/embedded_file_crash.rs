//! A process killed with SIGKILL in the middle of writes: every write it acknowledged is in the
//! file when it is opened again, and the file opens.
//!
//! The test runs this test binary again as the writer (`child_writes_until_killed`, selected by
//! name, with the file's path in an environment variable), reads each key the child prints once
//! its write returned, kills the child mid-writes and reopens the file.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use dynamorator::{Store, Ttl};
use serde_json::{Value, json};

use support::unique_file;

/// Where the child writes; unset, the child test does nothing.
const CHILD_FILE: &str = "DYNAMORATOR_CRASH_CHILD_FILE";
/// Acknowledged writes to see before the kill.
const ACKED_BEFORE_KILL: usize = 300;

fn value(key: &str) -> Value {
    json!({"key": key, "pad": "x".repeat(500)})
}

/// The writer: four tasks writing at once (single puts, and batches of 25 in one of them), each
/// printing a key once its write is acknowledged. Bounded, should its parent be gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_writes_until_killed() {
    let Some(path) = std::env::var_os(CHILD_FILE) else {
        return;
    };
    let store = Store::builder().embedded_file(path).build().await.unwrap();
    let writers = (0..4).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..20_000 {
                if writer == 0 {
                    let keys: Vec<String> = (0..25).map(|j| format!("b{i:05}-{j:02}")).collect();
                    let items = keys.iter().map(|key| (key.clone(), value(key)));
                    store.put_many(items, Ttl::days(1)).await.unwrap();
                    for key in keys {
                        println!("acked {key}");
                    }
                } else {
                    let key = format!("w{writer}-{i:05}");
                    store.put(&key, &value(&key), Ttl::days(1)).await.unwrap();
                    println!("acked {key}");
                }
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
}

fn acked_key(line: &str) -> Option<String> {
    line.strip_prefix("acked ").map(str::to_owned)
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let path = unique_file();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_until_killed", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_FILE, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: Vec<String> = Vec::new();
    while acked.len() < ACKED_BEFORE_KILL {
        match lines.next() {
            Some(Ok(line)) => acked.extend(acked_key(&line)),
            other => panic!("the writer stopped before it was killed: {other:?}"),
        }
    }
    child.kill().unwrap();
    // What it printed before it died was acknowledged too.
    acked.extend(
        lines
            .map_while(Result::ok)
            .filter_map(|line| acked_key(&line)),
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed mid-writes, not ended: {status:?}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::builder().embedded_file(&path).build().await.unwrap();
        let read = store.get_many::<Value, _>(acked.iter()).await.unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        let missing: Vec<&String> = acked
            .iter()
            .filter(|k| !read.found.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged writes lost: {missing:?}",
            missing.len(),
            acked.len()
        );
        for (key, found) in &read.found {
            assert_eq!(found, &value(key));
        }
        // And the file takes writes again.
        store.put("after", &1, Ttl::days(1)).await.unwrap();
    });
    std::fs::remove_file(&path).unwrap();
}
