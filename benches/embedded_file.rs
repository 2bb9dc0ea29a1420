//! The embedded file backend: `put` per second (one task, and 16 at once), `put_many` and
//! sequential `get` per second, and how long a file of N items takes to open and what the
//! process holds in memory after.
//!
//!     cargo bench --bench embedded_file                      # 100k small items
//!     cargo bench --bench embedded_file -- --big             # also ~2 GB of 100 KB items
//!     cargo bench --bench embedded_file -- --items 20000     # another size
//!
//! Every open is measured in a fresh child process (this binary run again), so the figure is
//! the open alone: no page cache of the process that wrote the file, no warmed allocator. The
//! file lives in `$DYNAMORATOR_BENCH_DIR` (default: the temporary directory) and is removed
//! afterwards. It uses the public API only, so it measures any version of the backend.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dynamorator::{Store, Ttl};
use dynamorator_testkit::resident_kb;
use serde_json::{Value, json};

/// Set in the child that opens the file: the path to open.
const OPEN_CHILD: &str = "DYNAMORATOR_BENCH_OPEN_CHILD";

fn main() {
    if let Some(path) = std::env::var_os(OPEN_CHILD) {
        open_child(Path::new(&path));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let items = args
        .iter()
        .position(|a| a == "--items")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000usize);
    let big = args.iter().any(|a| a == "--big");
    let rt = runtime();
    println!("| workload | figure |");
    println!("|---|---|");
    rt.block_on(small_items(items));
    if big {
        rt.block_on(large_file());
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("no tokio runtime: {error}"),
    }
}

fn bench_file(name: &str) -> PathBuf {
    let folder = std::env::var_os("DYNAMORATOR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = folder.join(format!("dynamorator-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

async fn open(path: &Path) -> Store {
    match Store::builder().embedded_file(path).build().await {
        Ok(store) => store,
        Err(error) => panic!("cannot open {}: {error}", path.display()),
    }
}

/// A small value, about 100 bytes of JSON.
fn small(i: usize) -> Value {
    json!({"id": i, "name": format!("item number {i}"), "tags": ["kitchen", "sale"], "price": 2999})
}

fn per_sec(n: usize, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    format!("{:.0} ops/s ({n} in {:.2} s)", n as f64 / secs, secs)
}

async fn small_items(items: usize) {
    let path = bench_file("small");
    let store = open(&path).await;
    let day = Ttl::days(1);

    // Sequential single puts: each one acknowledged before the next starts.
    let puts = 2_000.min(items);
    let started = Instant::now();
    for i in 0..puts {
        if let Err(error) = store.put(&format!("k{i:08}"), &small(i), day).await {
            panic!("put failed: {error}");
        }
    }
    println!(
        "| `put`, sequential, ~100 B values | {} |",
        per_sec(puts, started)
    );

    // Single puts from 16 tasks at once, as a server's request handlers would make them.
    let started = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    let key = format!("c{task:02}-{i:04}");
                    if let Err(error) = store.put(&key, &small(i), day).await {
                        panic!("put failed: {error}");
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        if let Err(error) = writer.await {
            panic!("a writer failed: {error}");
        }
    }
    println!(
        "| `put`, 16 tasks at once, ~100 B values | {} |",
        per_sec(16 * 250, started)
    );

    // The rest in batches, as `put_many` sends them (25 per request, 16 requests in flight).
    let started = Instant::now();
    let rest: Vec<(String, Value)> = (puts..items)
        .map(|i| (format!("k{i:08}"), small(i)))
        .collect();
    for chunk in rest.chunks(1_000) {
        if let Err(error) = store.put_many(chunk.iter().cloned(), day).await {
            panic!("put_many failed: {error}");
        }
    }
    println!(
        "| `put_many`, chunks of 1,000 | {} |",
        per_sec(items - puts, started)
    );

    // Sequential gets of keys spread over the whole file.
    let gets = 20_000.min(items);
    let started = Instant::now();
    for n in 0..gets {
        let i = n.wrapping_mul(7_919) % items;
        match store.get::<Value>(&format!("k{i:08}")).await {
            Ok(Some(_)) => {}
            other => panic!("get k{i:08}: {other:?}"),
        }
    }
    println!("| `get`, sequential, hits | {} |", per_sec(gets, started));
    drop(store);

    report_open(&path, &format!("{} items of ~100 B", items + 16 * 250));
    let _ = std::fs::remove_file(&path);
}

/// About 2 GB of items of 100 KB each.
async fn large_file() {
    const ITEMS: usize = 20_000;
    let path = bench_file("large");
    let store = open(&path).await;
    let filler = "x".repeat(100_000);
    let started = Instant::now();
    for start in (0..ITEMS).step_by(500) {
        let chunk =
            (start..start + 500).map(|i| (format!("big{i:06}"), json!({"i": i, "s": &filler})));
        if let Err(error) = store.put_many(chunk, Ttl::days(1)).await {
            panic!("put_many failed: {error}");
        }
    }
    println!(
        "| `put_many` of 100 KB values | {} |",
        per_sec(ITEMS, started)
    );
    drop(store);
    report_open(&path, "20,000 items of 100 KB");
    let _ = std::fs::remove_file(&path);
}

/// Opens the file in a child process and prints its time and memory.
fn report_open(path: &Path, what: &str) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => panic!("cannot find this binary: {error}"),
    };
    let output = match Command::new(exe).env(OPEN_CHILD, path).output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run the open child: {error}"),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "the open child failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let figures: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [open_ms, rss_before, rss_after] = figures[..] else {
        panic!("the open child printed {text:?}");
    };
    println!(
        "| open, {what} ({:.0} MB file) | {open_ms:.0} ms; RSS {:.0} MB after open ({:.0} MB before) |",
        size as f64 / 1e6,
        rss_after / 1024.0,
        rss_before / 1024.0,
    );
}

/// The child: open the file, print the time taken and the RSS before and after, in kB.
fn open_child(path: &Path) {
    let rt = runtime();
    let before = resident_kb().unwrap_or(0);
    let started = Instant::now();
    let store = rt.block_on(open(path));
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let after = resident_kb().unwrap_or(0);
    println!("{open_ms:.1} {before} {after}");
    drop(store);
}
