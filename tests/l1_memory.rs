//! The L1's byte bound in real memory: an L1 of 64 MiB fed 1 GiB of decoded values grows the
//! process by at most its budget and a quarter, and the weight the L1 gives its entries is
//! not below the memory they take. Each measurement runs in a child process of its own (this
//! test binary run again), so nothing else the tests hold counts; the child's resident set is
//! read from `/proc`, and a system without it skips with a message saying so.
//!
//! The values are shaped like API records (short strings, small numbers, a small map): about
//! four times larger decoded than stored, so a bound on stored bytes would let the L1 take
//! four times its budget.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dynamorator::{Cache, CacheConfig, L1Config, Store, Ttl};
use dynamorator_testkit::resident_kb;
use serde::{Deserialize, Serialize};

/// Counts the bytes this process asks the allocator for, so the child knows how much memory
/// the values it makes take, independently of the L1's estimate.
struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size.saturating_sub(layout.size()) as u64,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Which measurement the child makes; unset, the child tests do nothing.
const CHILD: &str = "DYNAMORATOR_L1_MEMORY_CHILD";
const MIB: u64 = 1 << 20;
const BUDGET: u64 = 64 * MIB;
const FED: u64 = 1024 * MIB;
/// A child still running after this long is killed and the test fails.
const CHILD_LIMIT: Duration = Duration::from_secs(600);

/// A record as an API returns it: decoded, about four times its stored JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listing {
    id: u64,
    title: String,
    tags: Vec<String>,
    prices: Vec<u32>,
    attributes: HashMap<String, String>,
}

/// The `i`th listing, built as `serde_json` would decode it: each `Vec` grown a push at a
/// time, each map an insert at a time.
fn listing(i: u64) -> Listing {
    let mut tags = Vec::new();
    for t in 0..48 {
        tags.push(format!("tag-{}", (i + t) % 997));
    }
    let mut prices = Vec::new();
    for p in 0..200u32 {
        prices.push((i as u32).wrapping_add(p) % 1000);
    }
    let mut attributes = HashMap::new();
    for a in 0..12 {
        attributes.insert(format!("k{a}"), format!("v{}", (i + a) % 89));
    }
    // `format!` reserves more than its text; a decoded string has exactly its length.
    let mut title = format!("Listing number {i} with a title of some length");
    title.shrink_to_fit();
    Listing {
        id: i,
        title,
        tags,
        prices,
        attributes,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A cache whose values live only in its L1: the store is disabled, so every value the
/// loader makes is held by the L1 and nowhere else.
fn l1_only<T>(bound: L1Config) -> Cache<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Cache::new(
        &Store::disabled(),
        CacheConfig::new()
            .ttl(Ttl::hours(1))
            .l1(bound.ttl(Ttl::hours(1))),
    )
}

/// Keys loaded by one read-through call.
const BATCH: u64 = 100;

/// Loads the keys `first..first + BATCH` through `cache`, each value made by `make` in the
/// batch loader; returns the bytes the values took when made.
async fn feed<T>(cache: &Cache<T>, first: u64, make: fn(u64) -> T) -> u64
where
    T: Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let made = std::sync::Arc::new(AtomicU64::new(0));
    let keys: Vec<String> = (first..first + BATCH).map(|i| format!("key-{i}")).collect();
    let counted = made.clone();
    let read = cache
        .get_many_or_insert_with(&keys, move |missing| async move {
            let before = ALLOCATED.load(Ordering::Relaxed);
            let values: HashMap<String, T> = missing
                .into_iter()
                .map(|key| {
                    let i = key.trim_start_matches("key-").parse().unwrap_or(0);
                    (key, make(i))
                })
                .collect();
            counted.fetch_add(
                ALLOCATED.load(Ordering::Relaxed) - before,
                Ordering::Relaxed,
            );
            Ok::<_, std::io::Error>(values)
        })
        .await
        .unwrap();
    assert_eq!(read.len(), keys.len(), "every key loaded");
    made.load(Ordering::Relaxed)
}

/// What a child measured.
struct Fed {
    /// Bytes of values made.
    bytes: u64,
    values: u64,
    /// Resident set before the first value, the highest seen after any batch, and at the end.
    before_kb: u64,
    peak_kb: u64,
    after_kb: u64,
}

impl Fed {
    fn report(&self, cache_stats: dynamorator::CacheStats) {
        let figures = [
            ("fed_bytes", self.bytes),
            ("values", self.values),
            ("rss_before_kb", self.before_kb),
            ("rss_peak_kb", self.peak_kb),
            ("rss_after_kb", self.after_kb),
            ("l1_entries", cache_stats.l1_entries),
            ("l1_weighted_size", cache_stats.l1_weighted_size),
        ];
        for (name, value) in figures {
            println!("figure {name} {value}");
        }
    }
}

/// Feeds `cache` batches of values made by `make` until `enough(bytes made, values)`,
/// measuring the resident set after each batch, as a process that only reads would run (no
/// extra housekeeping).
fn feed_until<T>(cache: &Cache<T>, make: fn(u64) -> T, enough: impl Fn(u64, u64) -> bool) -> Fed
where
    T: Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let rt = runtime();
    // What the runtime, the cache and a batch's machinery take, before measuring.
    rt.block_on(feed(cache, 0, make));
    cache.invalidate_all();
    cache.stats();
    let before_kb = resident_kb().unwrap();
    let (mut bytes, mut next, mut peak_kb) = (0, BATCH, before_kb);
    while !enough(bytes, next - BATCH) {
        bytes += rt.block_on(feed(cache, next, make));
        next += BATCH;
        peak_kb = peak_kb.max(resident_kb().unwrap());
    }
    // The L1 brought to its bound (moka applies writes in batches), then measured.
    cache.stats();
    Fed {
        bytes,
        values: next - BATCH,
        before_kb,
        peak_kb,
        after_kb: resident_kb().unwrap(),
    }
}

/// The child: an L1 of 64 MiB fed 1 GiB of listings.
#[test]
fn child_fills_a_64_mib_l1_with_1_gib() {
    if std::env::var(CHILD).as_deref() != Ok("fill") {
        return;
    }
    let cache = l1_only(L1Config::new().max_bytes(BUDGET));
    let fed = feed_until(&cache, listing, |bytes, _| bytes >= FED);
    fed.report(cache.stats());
}

/// The child: an L1 with room for everything, fed 40,000 listings (about 300 MiB) or 400,000
/// small numbers (where the entry's own cost is most of it); its weight against the resident
/// set it added.
#[test]
fn child_weighs_an_l1_that_keeps_everything() {
    let mode = std::env::var(CHILD);
    let room = L1Config::new().max_bytes(4096 * MIB);
    match mode.as_deref() {
        Ok("weigh-listings") => {
            let cache = l1_only(room);
            let fed = feed_until(&cache, listing, |_, values| values >= 40_000);
            fed.report(cache.stats());
        }
        Ok("weigh-numbers") => {
            let cache = l1_only(room);
            let fed = feed_until(&cache, |i| i, |_, values| values >= 400_000);
            fed.report(cache.stats());
        }
        _ => {}
    }
}

/// Runs this binary's child test `test` with `mode`, killed past the limit; its figures.
fn run_child(test: &str, mode: &str) -> HashMap<String, u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Bounded: polled every 100 ms until the limit, then killed.
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > CHILD_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the {mode} child ran past {CHILD_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: HashMap<String, u64> = stdout
        .lines()
        // The first may follow the harness's `test ... ` on its line.
        .filter_map(|line| line.split_once("figure ").map(|(_, figure)| figure))
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(name, value)| Some((name.to_owned(), value.parse().ok()?)))
        .collect();
    println!("{mode}: {figures:?}");
    figures
}

/// `false` (and a message) where the system has no `/proc` to measure memory with.
fn memory_measurable() -> bool {
    if resident_kb().is_some() {
        return true;
    }
    eprintln!(
        "skipped: this system has no /proc/self/status, so the L1's resident memory cannot be \
         measured here (it is on Linux)"
    );
    false
}

#[test]
fn a_64_mib_l1_fed_1_gib_grows_the_process_by_at_most_its_budget_and_a_quarter() {
    if !memory_measurable() {
        return;
    }
    let figures = run_child("child_fills_a_64_mib_l1_with_1_gib", "fill");
    let figure = |name: &str| figures[name];
    assert!(figure("fed_bytes") >= FED, "{figures:?}");
    // The L1 is used, and its own account stays within its budget.
    assert!(figure("l1_weighted_size") <= BUDGET, "{figures:?}");
    assert!(figure("l1_weighted_size") > BUDGET / 2, "{figures:?}");
    let limit_kb = BUDGET * 5 / 4 / 1024;
    let grown = figure("rss_peak_kb").saturating_sub(figure("rss_before_kb"));
    assert!(
        grown <= limit_kb,
        "the process grew by {grown} kB, over {limit_kb} kB: {figures:?}"
    );
}

#[test]
fn the_l1_weighs_its_entries_at_about_the_memory_they_take() {
    if !memory_measurable() {
        return;
    }
    for mode in ["weigh-listings", "weigh-numbers"] {
        let figures = run_child("child_weighs_an_l1_that_keeps_everything", mode);
        let figure = |name: &str| figures[name];
        assert_eq!(figure("l1_entries"), figure("values"), "{figures:?}");
        let grown = figure("rss_after_kb").saturating_sub(figure("rss_before_kb")) * 1024;
        let weighed = figure("l1_weighted_size");
        // Not below what the entries take, give or take the allocator's 5 % (the bound
        // holds), and not far above (the L1 is not needlessly small).
        assert!(
            weighed >= grown / 20 * 19,
            "{mode}: weighed {weighed} bytes for {grown} resident: {figures:?}"
        );
        assert!(
            weighed <= grown * 3 / 2,
            "{mode}: weighed {weighed} bytes for {grown} resident: {figures:?}"
        );
    }
}
