//! `#[memoize]` on every backend: equal arguments share one run of the body (32 concurrent
//! callers included), different arguments have different keys, an `Err` comes back by value
//! and is never stored, skipped arguments stay out of the key, borrowed arguments reach the
//! body, invalidation, stale-while-revalidate; methods (one run for 32 callers, `self` in the
//! key unless skipped, their companions, associated functions, a generic impl's
//! instantiations); and, outside the backends, the key's encoding pinned by a golden value
//! (a method's too) and shared by two processes.
//!
//! The store of the memoised functions is `store()`, a task-local each test sets: tests run
//! in parallel on several backends, each on its own store. Bodies count their runs in a
//! skipped argument and wait at gates the tests open; nothing sleeps to wait for expiry (the
//! store's clock is manual) and no assertion is about time.

mod support;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dynamorator::{Store, memoize};

use helpers::Gate;

on_every_backend!(suite:
    equal_arguments_from_32_concurrent_callers_run_the_body_once,
    a_second_call_reads_the_stored_value,
    different_arguments_have_different_keys,
    an_err_comes_back_by_value_and_is_not_stored,
    concurrent_callers_of_a_failing_body_run_it_once_and_all_get_an_error,
    a_skipped_argument_does_not_change_the_key,
    borrowed_arguments_are_copied_for_the_body,
    a_key_expression_replaces_the_arguments,
    invalidate_deletes_the_value_so_the_next_call_runs_the_body,
    a_stale_value_answers_at_once_and_the_body_refreshes_it_in_the_background,
    a_method_called_by_32_concurrent_callers_runs_its_body_once,
    a_different_self_is_a_different_key,
    a_skipped_self_leaves_the_key_unchanged,
    a_method_companion_invalidates_and_counts,
    an_associated_function_is_memoised,
    each_instantiation_of_a_generic_impl_has_its_own_keys,
    lease_and_name_keys_configure_the_functions_cache,
);

tokio::task_local! {
    /// The store of the memoised functions below, set by each test.
    static STORE: Store;
}

/// The store the memoised functions below use: the test's.
fn store() -> Store {
    STORE.get()
}

/// Runs `test` with `store` as the memoised functions' store.
async fn with_store<F: std::future::Future>(store: &Store, test: F) -> F::Output {
    STORE.scope(store.clone(), test).await
}

/// Counts its runs, waits at `gate`, returns `n * n`.
#[memoize(store = store(), prefix = "square", ttl_hours = 1, skip(runs, gate))]
async fn square(n: u64, runs: Arc<AtomicUsize>, gate: Gate) -> u64 {
    runs.fetch_add(1, Ordering::SeqCst);
    gate.passed().await;
    n * n
}

/// `cube` with leases and a name of its own in metrics.
#[memoize(store = store(), prefix = "cube", lease_secs = 10, name = "cubes", skip(runs))]
async fn cube(n: u64, runs: Arc<AtomicUsize>) -> u64 {
    runs.fetch_add(1, Ordering::SeqCst);
    n * n * n
}

/// An upstream's error, or the cache's for a caller that waited on another's load.
#[derive(Debug)]
enum Upstream {
    Down(u16),
    Cache(dynamorator::Error),
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::Down(status) => write!(f, "upstream answered {status}"),
            Upstream::Cache(error) => write!(f, "cache: {error}"),
        }
    }
}

impl From<dynamorator::Error> for Upstream {
    fn from(error: dynamorator::Error) -> Self {
        Upstream::Cache(error)
    }
}

/// A price, or `Down(status)` when `status` is given.
#[memoize(store = store(), prefix = "price", skip(runs, status, gate))]
async fn price(
    sku: String,
    runs: Arc<AtomicUsize>,
    status: Option<u16>,
    gate: Gate,
) -> Result<u64, Upstream> {
    runs.fetch_add(1, Ordering::SeqCst);
    gate.passed().await;
    match status {
        Some(status) => Err(Upstream::Down(status)),
        None => Ok(sku.len() as u64 * 100),
    }
}

/// Borrowed arguments: the body gets references to owned copies.
#[memoize(store = store(), prefix = "describe", skip(runs))]
async fn describe(
    name: &str,
    bytes: &[u8],
    tags: &HashMap<String, u32>,
    runs: &Arc<AtomicUsize>,
) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    let mut tags: Vec<_> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    tags.sort();
    format!("{name}:{}:{}", bytes.len(), tags.join(","))
}

/// The key is the user id only; the locale is left out by the key expression.
#[memoize(store = store(), prefix = "greeting", key = user, skip(runs))]
async fn greeting(user: u64, locale: String, runs: Arc<AtomicUsize>) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    format!("{locale}:{user}")
}

/// Fresh for a minute, then served stale for ten while refreshed.
#[memoize(store = store(), prefix = "quote", ttl_secs = 60, stale_secs = 600, skip(runs, value))]
async fn quote(symbol: &str, runs: Arc<AtomicUsize>, value: u64) -> Result<u64, std::io::Error> {
    runs.fetch_add(1, Ordering::SeqCst);
    let _ = symbol;
    Ok(value)
}

/// A price list: its region decides the prices, so `self` is part of the key of `quote`
/// (serialised as `{"region": ..}`); its store, run counter and gate are not serialised.
#[derive(Clone, serde::Serialize)]
struct PriceList {
    region: String,
    #[serde(skip)]
    store: Store,
    #[serde(skip)]
    runs: Arc<AtomicUsize>,
    #[serde(skip)]
    gate: Gate,
}

impl PriceList {
    fn new(region: &str, store: &Store) -> PriceList {
        let gate = Gate::closed();
        gate.open();
        PriceList {
            region: region.to_owned(),
            store: store.clone(),
            runs: Arc::new(AtomicUsize::new(0)),
            gate,
        }
    }

    /// The price of `sku` in this list's region: keyed by `self` and `sku`.
    #[memoize(store = self.store, prefix = "price_list.quote")]
    async fn quote(&self, sku: &str) -> Result<u64, Upstream> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.gate.passed().await;
        let rate = if self.region == "eu" { 110 } else { 100 };
        Ok(sku.len() as u64 * rate)
    }

    /// The same whatever the region: `self` is skipped, the key is `sku` alone.
    #[memoize(store = self.store, prefix = "price_list.weight", skip(self))]
    async fn weight(&self, sku: String) -> u64 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        sku.len() as u64 * 10
    }

    /// An associated function (no `self`: `in_impl` says where it is); its store is the
    /// test's.
    #[memoize(store = store(), prefix = "price_list.currency", in_impl, skip(runs))]
    async fn currency(region: String, runs: Arc<AtomicUsize>) -> String {
        runs.fetch_add(1, Ordering::SeqCst);
        if region == "eu" { "EUR" } else { "USD" }.to_owned()
    }
}

/// A generic impl with the default prefix: `Self` names each instantiation
/// (`memoize::Width<u8>::bytes`), so each has its own keys and cache.
struct Width<T> {
    runs: Arc<AtomicUsize>,
    kind: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for Width<T> {
    fn clone(&self) -> Self {
        Width {
            runs: self.runs.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

impl<T: 'static> Width<T> {
    fn new(runs: &Arc<AtomicUsize>) -> Width<T> {
        Width {
            runs: runs.clone(),
            kind: std::marker::PhantomData,
        }
    }

    /// `n` values of `T`, in bytes.
    #[memoize(store = store(), skip(self))]
    async fn bytes(&self, n: u64) -> u64 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        n * std::mem::size_of::<T>() as u64
    }
}

mod suite {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use dynamorator::{Clock, Store};
    use futures_util::future::join_all;

    use super::helpers::{Gate, bounded, until};
    use super::{
        PriceList, Upstream, Width, cube, describe, greeting, price, quote, square, with_store,
    };
    use crate::support::TestBackend;

    fn counter() -> Arc<AtomicUsize> {
        Arc::new(AtomicUsize::new(0))
    }

    fn open() -> Gate {
        let gate = Gate::closed();
        gate.open();
        gate
    }

    pub async fn equal_arguments_from_32_concurrent_callers_run_the_body_once(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            let gate = Gate::closed();
            let callers = join_all((0..32).map(|_| square(7, runs.clone(), gate.clone())));
            let opener = async {
                until("the body runs", || runs.load(Ordering::SeqCst) == 1).await;
                gate.open();
            };
            let (answers, ()) =
                bounded("32 callers", async { tokio::join!(callers, opener) }).await;
            assert_eq!(answers, vec![49; 32]);
            assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for 32 callers");
            assert_eq!(square::stats().loader_calls, 1, "{:?}", square::stats());
        })
        .await;
    }

    pub async fn a_second_call_reads_the_stored_value(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(square(12, runs.clone(), open()).await, 144);
            let key = square::key(12).unwrap();
            assert_eq!(
                store.get::<u64>(&key).await.unwrap(),
                Some(144),
                "stored under {key}"
            );
            assert_eq!(square(12, runs.clone(), open()).await, 144);
            assert_eq!(runs.load(Ordering::SeqCst), 1, "the second call is a hit");
        })
        .await;
    }

    pub async fn lease_and_name_keys_configure_the_functions_cache(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(cube(3, runs.clone()).await, 27);
            assert_eq!(cube(3, runs.clone()).await, 27);
            assert_eq!(runs.load(Ordering::SeqCst), 1, "the second call is a hit");
            let stats = cube::stats();
            assert_eq!(stats.leases_taken, 1, "the load took a lease: {stats:?}");
            assert_eq!(stats.loader_calls, 1);
        })
        .await;
    }

    pub async fn different_arguments_have_different_keys(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_ne!(square::key(2).unwrap(), square::key(3).unwrap());
            assert_eq!(square(2, runs.clone(), open()).await, 4);
            assert_eq!(square(3, runs.clone(), open()).await, 9);
            assert_eq!(runs.load(Ordering::SeqCst), 2);
            assert_eq!(
                store.get::<u64>(&square::key(2).unwrap()).await.unwrap(),
                Some(4)
            );
            assert_eq!(
                store.get::<u64>(&square::key(3).unwrap()).await.unwrap(),
                Some(9)
            );
        })
        .await;
    }

    pub async fn an_err_comes_back_by_value_and_is_not_stored(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            let error = price("kettle".into(), runs.clone(), Some(503), open())
                .await
                .unwrap_err();
            assert!(
                matches!(error, Upstream::Down(503)),
                "the body's own error: {error}"
            );
            let key = price::key("kettle".into()).unwrap();
            assert_eq!(
                store.get::<u64>(&key).await.unwrap(),
                None,
                "an Err is not stored"
            );
            let value = price("kettle".into(), runs.clone(), None, open())
                .await
                .unwrap();
            assert_eq!(value, 600);
            assert_eq!(runs.load(Ordering::SeqCst), 2, "the Err was not remembered");
            assert_eq!(store.get::<u64>(&key).await.unwrap(), Some(600));
            let stats = price::stats();
            assert_eq!(
                (stats.loader_calls, stats.loader_errors),
                (2, 1),
                "{stats:?}"
            );
        })
        .await;
    }

    pub async fn concurrent_callers_of_a_failing_body_run_it_once_and_all_get_an_error(
        backend: TestBackend,
    ) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            let gate = Gate::closed();
            let callers = join_all(
                (0..32).map(|_| price("toaster".into(), runs.clone(), Some(502), gate.clone())),
            );
            let opener = async {
                until("the body runs", || runs.load(Ordering::SeqCst) == 1).await;
                gate.open();
            };
            let (answers, ()) =
                bounded("32 callers", async { tokio::join!(callers, opener) }).await;
            assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for 32 callers");
            let own = answers
                .iter()
                .filter(|answer| matches!(answer, Err(Upstream::Down(502))))
                .count();
            let shared = answers
                .iter()
                .filter(|answer| match answer {
                    // Waiters get the cache's error, with the body's message as its source.
                    Err(Upstream::Cache(error)) => {
                        std::error::Error::source(error).map(ToString::to_string)
                            == Some("upstream answered 502".to_owned())
                    }
                    _ => false,
                })
                .count();
            assert_eq!((own, shared), (1, 31), "{answers:?}");
        })
        .await;
    }

    pub async fn a_skipped_argument_does_not_change_the_key(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let (first, second) = (counter(), counter());
            assert_eq!(square(5, first.clone(), open()).await, 25);
            // Another counter and another gate: skipped, so the same key, a hit.
            assert_eq!(square(5, second.clone(), open()).await, 25);
            assert_eq!(first.load(Ordering::SeqCst), 1);
            assert_eq!(
                second.load(Ordering::SeqCst),
                0,
                "the body did not run again"
            );
            let error_runs = counter();
            let value = price("mug".into(), error_runs.clone(), None, open())
                .await
                .unwrap();
            let again = price("mug".into(), error_runs.clone(), Some(500), open())
                .await
                .unwrap();
            assert_eq!((value, again), (300, 300), "the status is skipped too");
            assert_eq!(error_runs.load(Ordering::SeqCst), 1);
        })
        .await;
    }

    pub async fn borrowed_arguments_are_copied_for_the_body(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            let tags = HashMap::from([("b".to_owned(), 2), ("a".to_owned(), 1)]);
            let text = describe("kettle", &[1, 2, 3], &tags, &runs).await;
            assert_eq!(text, "kettle:3:a=1,b=2");
            // A map with the same entries is the same key, whatever its iteration order.
            let mut other = HashMap::new();
            other.insert("a".to_owned(), 1);
            other.insert("b".to_owned(), 2);
            assert_eq!(describe("kettle", &[1, 2, 3], &other, &runs).await, text);
            assert_eq!(runs.load(Ordering::SeqCst), 1);
            assert_eq!(
                describe::key("kettle", &[1, 2, 3], &tags).unwrap(),
                describe::key("kettle", &[1, 2, 3], &other).unwrap()
            );
        })
        .await;
    }

    pub async fn a_key_expression_replaces_the_arguments(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(greeting(7, "en".into(), runs.clone()).await, "en:7");
            // The locale is not in the key: the first value answers.
            assert_eq!(greeting(7, "fr".into(), runs.clone()).await, "en:7");
            assert_eq!(runs.load(Ordering::SeqCst), 1);
            assert_eq!(
                greeting::key(7, "de".into()).unwrap(),
                format!("greeting:{}", hash("7"))
            );
        })
        .await;
    }

    pub async fn invalidate_deletes_the_value_so_the_next_call_runs_the_body(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(square(9, runs.clone(), open()).await, 81);
            square::invalidate(9).await.unwrap();
            assert_eq!(
                store.get::<u64>(&square::key(9).unwrap()).await.unwrap(),
                None
            );
            assert_eq!(square(9, runs.clone(), open()).await, 81);
            assert_eq!(runs.load(Ordering::SeqCst), 2);
        })
        .await;
    }

    pub async fn a_stale_value_answers_at_once_and_the_body_refreshes_it_in_the_background(
        backend: TestBackend,
    ) {
        let store: Store = backend.build(|b| b.clock(Clock::manual())).await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(quote("ACME", runs.clone(), 1).await.unwrap(), 1);
            store.clock().advance(Duration::from_secs(61));
            // Stale: the stored value answers; this call's body refreshes it.
            assert_eq!(quote("ACME", runs.clone(), 2).await.unwrap(), 1);
            until("the refresh runs", || runs.load(Ordering::SeqCst) == 2).await;
            // The refresh is counted once its value is stored, after the body returned.
            until("the refresh is counted", || {
                quote::stats().refreshes_succeeded == 1
            })
            .await;
            let key = quote::key("ACME").unwrap();
            // The refresh's write may still be on its way to disk (the embedded file commits
            // durably): look again, at most 12,000 times and for a minute.
            let mut refreshed = None;
            let started = std::time::Instant::now();
            for _ in 0..12_000 {
                if started.elapsed() > Duration::from_secs(60) {
                    break;
                }
                refreshed = store.get::<u64>(&key).await.unwrap();
                if refreshed == Some(2) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(
                refreshed,
                Some(2),
                "the refresh stored the body's new value"
            );
            assert_eq!(quote("ACME", runs.clone(), 3).await.unwrap(), 2);
            assert_eq!(runs.load(Ordering::SeqCst), 2);
            let stats = quote::stats();
            assert_eq!(
                (stats.stale_hits, stats.refreshes_succeeded),
                (1, 1),
                "{stats:?}"
            );
        })
        .await;
    }

    pub async fn a_method_called_by_32_concurrent_callers_runs_its_body_once(backend: TestBackend) {
        let store = backend.store().await;
        let list = PriceList {
            gate: Gate::closed(),
            ..PriceList::new("eu", &store)
        };
        let callers = join_all((0..32).map(|_| list.quote("kettle")));
        let opener = async {
            until("the body runs", || list.runs.load(Ordering::SeqCst) == 1).await;
            list.gate.open();
        };
        let (answers, ()) = bounded("32 callers", async { tokio::join!(callers, opener) }).await;
        let answers: Vec<u64> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, vec![660; 32]);
        assert_eq!(
            list.runs.load(Ordering::SeqCst),
            1,
            "one run for 32 callers"
        );
        let stats = list.quote_stats();
        assert_eq!(stats.loader_calls, 1, "{stats:?}");
        let key = list.quote_key("kettle").unwrap();
        assert_eq!(store.get::<u64>(&key).await.unwrap(), Some(660));
    }

    pub async fn a_different_self_is_a_different_key(backend: TestBackend) {
        let store = backend.store().await;
        let (eu, us) = (PriceList::new("eu", &store), PriceList::new("us", &store));
        assert_ne!(
            eu.quote_key("mug").unwrap(),
            us.quote_key("mug").unwrap(),
            "the region is in the key"
        );
        assert_eq!(eu.quote("mug").await.unwrap(), 330);
        assert_eq!(us.quote("mug").await.unwrap(), 300);
        assert_eq!(
            (
                eu.runs.load(Ordering::SeqCst),
                us.runs.load(Ordering::SeqCst)
            ),
            (1, 1),
            "each list ran its own body"
        );
        for (list, value) in [(&eu, 330), (&us, 300)] {
            let key = list.quote_key("mug").unwrap();
            assert_eq!(store.get::<u64>(&key).await.unwrap(), Some(value), "{key}");
        }
        // An equal `self` (another value, equal fields) is the same key: a hit.
        let eu_again = PriceList::new("eu", &store);
        assert_eq!(eu_again.quote("mug").await.unwrap(), 330);
        assert_eq!(eu_again.runs.load(Ordering::SeqCst), 0);
    }

    pub async fn a_skipped_self_leaves_the_key_unchanged(backend: TestBackend) {
        let store = backend.store().await;
        let (eu, us) = (PriceList::new("eu", &store), PriceList::new("us", &store));
        assert_eq!(
            eu.weight_key("anvil".into()).unwrap(),
            us.weight_key("anvil".into()).unwrap()
        );
        assert_eq!(
            eu.weight_key("anvil".into()).unwrap(),
            format!("price_list.weight:{}", super::sha256_hex(r#"["anvil"]"#))
        );
        assert_eq!(eu.weight("anvil".into()).await, 50);
        assert_eq!(us.weight("anvil".into()).await, 50, "from the cache");
        assert_eq!(eu.runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            us.runs.load(Ordering::SeqCst),
            0,
            "the other list's body did not run"
        );
    }

    pub async fn a_method_companion_invalidates_and_counts(backend: TestBackend) {
        let store = backend.store().await;
        let list = PriceList::new("us", &store);
        assert_eq!(list.quote("spoon").await.unwrap(), 500);
        assert_eq!(list.quote("spoon").await.unwrap(), 500);
        let stats = list.quote_stats();
        assert_eq!((stats.loader_calls, stats.store_hits), (1, 1), "{stats:?}");
        list.quote_invalidate("spoon").await.unwrap();
        let key = list.quote_key("spoon").unwrap();
        assert_eq!(store.get::<u64>(&key).await.unwrap(), None, "deleted");
        assert_eq!(list.quote("spoon").await.unwrap(), 500);
        assert_eq!(
            list.runs.load(Ordering::SeqCst),
            2,
            "invalidated, so ran again"
        );
        assert_eq!(list.quote_stats().loader_calls, 2);
    }

    pub async fn an_associated_function_is_memoised(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            assert_eq!(PriceList::currency("eu".into(), runs.clone()).await, "EUR");
            assert_eq!(PriceList::currency("eu".into(), runs.clone()).await, "EUR");
            assert_eq!(PriceList::currency("us".into(), runs.clone()).await, "USD");
            assert_eq!(runs.load(Ordering::SeqCst), 2);
            let key = PriceList::currency_key("eu".into()).unwrap();
            assert_eq!(key, format!("price_list.currency:{}", hash(r#"["eu"]"#)));
            assert_eq!(
                store.get::<String>(&key).await.unwrap().as_deref(),
                Some("EUR")
            );
            PriceList::currency_invalidate("eu".into()).await.unwrap();
            assert_eq!(store.get::<String>(&key).await.unwrap(), None);
            assert_eq!(PriceList::currency_stats().loader_calls, 2);
        })
        .await;
    }

    pub async fn each_instantiation_of_a_generic_impl_has_its_own_keys(backend: TestBackend) {
        let store = backend.store().await;
        with_store(&store, async {
            let runs = counter();
            let (bytes, words) = (Width::<u8>::new(&runs), Width::<u32>::new(&runs));
            assert_eq!(bytes.bytes(3).await, 3);
            assert_eq!(words.bytes(3).await, 12, "not the u8 instantiation's value");
            assert_eq!(bytes.bytes(3).await, 3);
            assert_eq!(runs.load(Ordering::SeqCst), 2, "one run per instantiation");
            assert_eq!(
                (
                    bytes.bytes_stats().loader_calls,
                    words.bytes_stats().loader_calls
                ),
                (1, 1),
                "one cache per instantiation"
            );
            let (u8_key, u32_key) = (bytes.bytes_key(3).unwrap(), words.bytes_key(3).unwrap());
            assert_ne!(u8_key, u32_key);
            assert_eq!(store.get::<u64>(&u8_key).await.unwrap(), Some(3));
            assert_eq!(store.get::<u64>(&u32_key).await.unwrap(), Some(12));
        })
        .await;
    }

    fn hash(canonical_json: &str) -> String {
        super::sha256_hex(canonical_json)
    }
}

/// The hex SHA-256 of `text`, computed here with `sha2` directly (the encoding, not the
/// library's code).
fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The encoding of the key arguments, pinned: a change to it turns every stored value into a
/// miss, so it must fail this test.
#[memoize(store = store(), prefix = "golden", version = 3, skip(runs))]
async fn golden(
    id: u64,
    name: &str,
    tags: Vec<String>,
    options: HashMap<String, serde_json::Value>,
    runs: Arc<AtomicUsize>,
) -> u64 {
    runs.fetch_add(1, Ordering::SeqCst);
    id + name.len() as u64 + tags.len() as u64 + options.len() as u64
}

fn golden_arguments() -> (
    u64,
    &'static str,
    Vec<String>,
    HashMap<String, serde_json::Value>,
) {
    let options = HashMap::from([
        ("b".to_owned(), serde_json::json!([true, null])),
        ("a".to_owned(), serde_json::json!(1)),
    ]);
    (42, "Ada Lovelace", vec!["x".into(), "y".into()], options)
}

#[test]
fn the_key_of_a_known_argument_set_is_pinned() {
    let (id, name, tags, options) = golden_arguments();
    let key = golden::key(id, name, tags, options).unwrap();
    // sha256 of `[42,"Ada Lovelace",["x","y"],{"a":1,"b":[true,null]}]`
    assert_eq!(
        key,
        "golden:v3:4fe2b390ca7ecc3f191a2d01039d90487c696910107a81eec3504057bcfa4bc4"
    );
    assert_eq!(
        &key["golden:v3:".len()..],
        sha256_hex(r#"[42,"Ada Lovelace",["x","y"],{"a":1,"b":[true,null]}]"#)
    );
}

/// No prefix: the module path and the function name.
#[memoize(store = store())]
async fn identity(n: u8) -> u8 {
    n
}

#[test]
fn the_default_prefix_is_the_module_path_and_the_function_name() {
    let key = identity::key(1).unwrap();
    assert_eq!(key, format!("memoize::identity:{}", sha256_hex("[1]")));
}

#[test]
fn a_method_key_is_its_receiver_then_its_arguments() {
    let list = PriceList::new("eu", &Store::embedded());
    let key = list.quote_key("kettle").unwrap();
    // sha256 of `[{"region":"eu"},"kettle"]`: `self` as `Serialize` writes it, first.
    assert_eq!(
        key,
        format!(
            "price_list.quote:{}",
            sha256_hex(r#"[{"region":"eu"},"kettle"]"#)
        )
    );
    assert_eq!(
        key,
        "price_list.quote:36753d5c873bf9561aa5a0204433ad32139216a96a7b12f3cd535a5bd360699a"
    );
}

#[test]
fn a_method_default_prefix_is_the_type_path_and_the_method_name() {
    let runs = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        Width::<u8>::new(&runs).bytes_key(1).unwrap(),
        format!("memoize::Width<u8>::bytes:{}", sha256_hex("[1]"))
    );
    assert_eq!(
        Width::<u32>::new(&runs).bytes_key(1).unwrap(),
        format!("memoize::Width<u32>::bytes:{}", sha256_hex("[1]"))
    );
}

/// The environment variable that makes `child_process` run: the embedded file it memoises in.
const CHILD_FILE: &str = "DYNAMORATOR_MEMOIZE_CHILD_FILE";

/// Run by `two_processes_share_the_key_and_the_stored_value` in a process of its own (this
/// test binary, re-executed): memoises `golden` in the file it is given and prints the key
/// and whether the body ran. Without the variable it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process() {
    let Some(file) = std::env::var_os(CHILD_FILE) else {
        return;
    };
    let store = Store::builder().embedded_file(file).build().await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let (id, name, tags, options) = golden_arguments();
    let key = golden::key(id, name, tags.clone(), options.clone()).unwrap();
    let value = with_store(&store, golden(id, name, tags, options, runs.clone())).await;
    println!(
        "CHILD key={key} value={value} runs={}",
        runs.load(Ordering::SeqCst)
    );
}

#[test]
fn two_processes_share_the_key_and_the_stored_value() {
    let file = support::unique_file();
    let run_child = || {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_FILE, &file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "the child failed: {stdout}");
        stdout
            .lines()
            .find_map(|line| {
                line.split_once("CHILD ")
                    .map(|(_, result)| result.to_owned())
            })
            .unwrap_or_else(|| panic!("the child printed no result: {stdout}"))
    };
    let first = run_child();
    let second = run_child();
    let (id, name, tags, options) = golden_arguments();
    let key = golden::key(id, name, tags, options).unwrap();
    assert_eq!(
        first,
        format!("key={key} value=58 runs=1"),
        "the first process computes"
    );
    assert_eq!(
        second,
        format!("key={key} value=58 runs=0"),
        "the second reads it back"
    );
}

/// Gates, waits and bounds, shared with the other concurrency suites.
mod helpers {
    pub use dynamorator_testkit::waits::*;
}
