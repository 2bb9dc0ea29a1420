//! Opening a file reads no values: a store opened on tens of megabytes of items holds a small
//! part of that in memory. Measured in a fresh child process (this test binary run again), so
//! nothing the writer held counts. The benchmark measures the same on ~2 GB (BENCHMARKS.md).

#![cfg(target_os = "linux")]

mod support;

use std::process::Command;

use dynamorator::{Store, Ttl};
use serde_json::json;

use support::{resident_kb, unique_file};

/// The file the child opens; unset, the child test does nothing.
const CHILD_FILE: &str = "DYNAMORATOR_OPEN_CHILD_FILE";
const ITEMS: usize = 400;
const VALUE_BYTES: usize = 100_000;

/// The child: opens the file and prints its resident memory before and after, in kB.
#[tokio::test(flavor = "current_thread")]
async fn child_opens_and_reports_memory() {
    let Some(path) = std::env::var_os(CHILD_FILE) else {
        return;
    };
    let before = resident_kb().unwrap();
    let started = std::time::Instant::now();
    let store = Store::builder().embedded_file(path).build().await.unwrap();
    let after = resident_kb().unwrap();
    println!("opened in {:?}", started.elapsed());
    // Open for real: one value reads back.
    let one: serde_json::Value = store.get("k00000").await.unwrap().unwrap();
    assert_eq!(one["i"], 0);
    println!("rss {before} {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_reads_no_values() {
    let path = unique_file();
    {
        let store = Store::builder().embedded_file(&path).build().await.unwrap();
        let filler = "x".repeat(VALUE_BYTES);
        let items = (0..ITEMS).map(|i| (format!("k{i:05}"), json!({"i": i, "s": &filler})));
        store.put_many(items, Ttl::days(1)).await.unwrap();
    }
    let data_kb = (ITEMS * VALUE_BYTES / 1024) as u64;
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_opens_and_reports_memory", "--nocapture"])
        .env(CHILD_FILE, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: Vec<u64> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("rss "))
        .map(|rest| rest.split(' ').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    let [before, after] = figures[..] else {
        panic!("the child printed {stdout:?}");
    };
    let grown = after.saturating_sub(before);
    // A quarter of the data is far above what an open that reads no value needs (well under a
    // megabyte here) and far below what one that reads them all would.
    assert!(
        grown < data_kb / 4,
        "opening {data_kb} kB of items grew the process by {grown} kB: {stdout}"
    );
    std::fs::remove_file(&path).unwrap();
}
