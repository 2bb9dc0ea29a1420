//! One table of cases: a stored item and its lease, a rule the store builds (a lease, an
//! ordered write, a counter's compare-and-set, a new expiry), and whether a write may go
//! ahead. It runs through both renderings of the rules: the embedded backends' evaluation, and
//! DynamoDB's condition expressions on moto and dynalite (with the `__server-tests` feature,
//! which scripts/test turns on after starting them: a missing server fails, never skips).

use std::sync::Arc;

use super::conditional::{counted, older_version};
use super::lease::lease_rule;
use super::write::unexpired;
use crate::backend::{Backend, LeaseRequest, embedded};
use crate::codec::Codec;
use crate::format::condition::{Attr, Op, Require};
use crate::format::{Part, Payload, StoredItem};

/// Now, in the cases: a whole second and a half.
const NOW_MS: i64 = 1_800_000_000_500;
const NOW: i64 = 1_800_000_000;
/// Far enough ahead for every item of a case to be unexpired when it is not meant to be.
const LATER: i64 = NOW + 3_600;

/// What is stored under a case's key.
#[derive(Debug, Clone)]
struct State {
    item: Option<StoredItem>,
    /// The end of the lease there, epoch milliseconds.
    lease_until: Option<i64>,
}

#[derive(Debug)]
struct Case {
    name: &'static str,
    state: State,
    require: Require,
    /// Whether the write goes ahead.
    expected: bool,
}

fn value(text: &str) -> StoredItem {
    StoredItem {
        key: String::new(),
        payload: Payload::Json(text.to_owned()),
        expires_at: LATER,
        created_at: Some(NOW - 10),
        fresh_until: None,
        generation: None,
        version: None,
    }
}

fn with(item: StoredItem, change: impl FnOnce(&mut StoredItem)) -> State {
    let mut item = item;
    change(&mut item);
    State {
        item: Some(item),
        lease_until: None,
    }
}

fn leased(state: State, until: i64) -> State {
    State {
        lease_until: Some(until),
        ..state
    }
}

const NOTHING: State = State {
    item: None,
    lease_until: None,
};

fn cases() -> Vec<Case> {
    let fresh = || with(value("1"), |_| {});
    let stale = || with(value("1"), |item| item.fresh_until = Some(NOW - 1));
    let generation = |g| with(value("1"), move |item| item.generation = Some(g));
    let versioned = |v| with(value("1"), move |item| item.version = Some(v));
    let part = with(value(""), |item| {
        item.payload = Payload::Part(Part {
            write_id: "ab".into(),
            index: 0,
            bytes: vec![1],
        });
        item.created_at = None;
    });
    let bare_lease = |until| leased(NOTHING, until);
    let codec = Codec::default();
    let count = |state: &State| match counted(state.item.as_ref(), &codec, NOW) {
        Ok((_, require)) => require,
        Err(error) => panic!("a counter of the cases reads: {error}"),
    };
    let old_counter = with(value("4"), |_| {});
    let new_counter = with(value("4"), |item| item.version = Some(4));
    let case = |name, state, require, expected| Case {
        name,
        state,
        require,
        expected,
    };
    let lease = |generation| lease_rule(NOW_MS, generation);
    vec![
        case("lease: nothing there", NOTHING, lease(0), true),
        case(
            "lease: another held",
            bare_lease(NOW_MS + 5_000),
            lease(0),
            false,
        ),
        case("lease: lapsed", bare_lease(NOW_MS - 1), lease(0), true),
        case("lease: ends now", bare_lease(NOW_MS), lease(0), true),
        case("lease: a fresh value", fresh(), lease(0), false),
        case(
            "lease: an expired value",
            with(value("1"), |item| item.expires_at = NOW),
            lease(0),
            true,
        ),
        case("lease: a stale value", stale(), lease(0), true),
        case(
            "lease: fresh for one more second",
            with(value("1"), |item| item.fresh_until = Some(NOW + 1)),
            lease(0),
            false,
        ),
        case(
            "lease: a fresh value, leased",
            leased(fresh(), NOW_MS + 5_000),
            lease(0),
            false,
        ),
        case(
            "lease: a stale value, leased",
            leased(stale(), NOW_MS + 5_000),
            lease(0),
            false,
        ),
        case(
            "lease: a stale value, lapsed",
            leased(stale(), NOW_MS - 1_000),
            lease(0),
            true,
        ),
        case("lease: an older generation", generation(2), lease(3), true),
        case("lease: the same generation", generation(3), lease(3), false),
        case("lease: a newer generation", generation(4), lease(3), false),
        case("lease: no generation, one asked", fresh(), lease(1), true),
        case("lease: a part is no value", part.clone(), lease(0), true),
        case("older: nothing there", NOTHING, older_version(1), true),
        case("older: no version", fresh(), older_version(1), true),
        case("older: the same", versioned(5), older_version(5), false),
        case("older: a newer one", versioned(5), older_version(6), true),
        case("older: an older one", versioned(5), older_version(4), false),
        case(
            "older: past i64",
            versioned(u64::MAX),
            older_version(u64::MAX),
            false,
        ),
        case("counter: nothing there", NOTHING, count(&NOTHING), true),
        case(
            "counter: nothing there, leased",
            bare_lease(NOW_MS + 5_000),
            count(&NOTHING),
            true,
        ),
        case("counter: one there now", fresh(), count(&NOTHING), false),
        case(
            "counter: the same count",
            new_counter.clone(),
            count(&new_counter),
            true,
        ),
        case(
            "counter: counted since",
            with(value("5"), |item| item.version = Some(5)),
            count(&new_counter),
            false,
        ),
        case(
            "counter: an earlier release's, the same",
            old_counter.clone(),
            count(&old_counter),
            true,
        ),
        case(
            "counter: an earlier release's, counted since",
            with(value("5"), |item| item.created_at = Some(NOW - 9)),
            count(&old_counter),
            false,
        ),
        case(
            "counter: an earlier release's, counted since by this one",
            with(value("5"), |item| item.version = Some(5)),
            count(&old_counter),
            false,
        ),
        case("expiry: a value", fresh(), unexpired(NOW), true),
        case(
            "expiry: an expired value",
            with(value("1"), |item| item.expires_at = NOW),
            unexpired(NOW),
            false,
        ),
        case("expiry: a part", part, unexpired(NOW), true),
        case("expiry: nothing there", NOTHING, unexpired(NOW), false),
        case(
            "expiry: a bare lease",
            bare_lease(NOW_MS + 5_000),
            unexpired(NOW),
            false,
        ),
        case("all of none", NOTHING, Require::All(Vec::new()), true),
        case("any of none", fresh(), Require::Any(Vec::new()), false),
        case(
            "exists: created_at absent",
            with(value("1"), |item| item.created_at = None),
            Require::Exists(Attr::CreatedAt),
            false,
        ),
        case(
            "compare: absent attributes compare false",
            fresh(),
            Require::Any(vec![
                Require::compare(Attr::Generation, Op::Le, 1),
                Require::compare(Attr::FreshUntil, Op::Ge, 0),
            ]),
            false,
        ),
    ]
}

#[test]
fn the_evaluator_meets_every_case() {
    for case in cases() {
        let outcome = embedded::holds(
            &case.require,
            case.state.item.as_ref(),
            case.state.lease_until,
        );
        assert_eq!(outcome, case.expected, "{}: {:?}", case.name, case.require);
    }
}

/// The writes a rule comes with: each renders it in its own request (on DynamoDB, PutItem
/// for the first, UpdateItem for the others), and each must follow it alike.
#[derive(Debug, Clone, Copy)]
enum Probe {
    PutIf,
    Lease,
    Expiry,
}

/// Sets each case's state under its own key per probe, then tries the probe's write with the
/// case's rule.
async fn run_cases(backend: &Arc<dyn Backend>, on: &str) {
    let mut wrong = Vec::new();
    for (index, case) in cases().into_iter().enumerate() {
        for probe in [Probe::PutIf, Probe::Lease, Probe::Expiry] {
            // A new expiry changes an item, so it asks for one where there is none: DynamoDB's
            // update would make an item of it, the embedded backends have nothing to change.
            // The store's rule for it never holds there ("expiry: nothing there").
            if matches!(probe, Probe::Expiry) && case.state.item.is_none() {
                continue;
            }
            let key = format!("case-{index}-{probe:?}");
            set(backend, &key, &case.state).await;
            let require = case.require.clone();
            let outcome = match probe {
                Probe::PutIf => {
                    let mut item = value("0");
                    item.key.clone_from(&key);
                    backend.put_if(item, require).await
                }
                Probe::Lease => {
                    let lease = LeaseRequest {
                        key: &key,
                        owner: "probe",
                        until_ms: NOW_MS + 60_000,
                        expires_at: LATER,
                        now_ms: NOW_MS,
                    };
                    backend.acquire_lease(lease, require).await
                }
                Probe::Expiry => backend
                    .set_expiry(&key, LATER + 1, require, false)
                    .await
                    .map(|changed| changed.is_some()),
            };
            match outcome {
                Ok(outcome) if outcome == case.expected => {}
                other => wrong.push(format!(
                    "{} ({probe:?}): {other:?}, not {}",
                    case.name, case.expected
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{on}:\n{}", wrong.join("\n"));
}

/// Stores `state` under `key`: the item, then the lease.
async fn set(backend: &Arc<dyn Backend>, key: &str, state: &State) {
    if let Some(mut item) = state.item.clone() {
        item.key = key.to_owned();
        backend.put(item).await.unwrap();
    }
    if let Some(until_ms) = state.lease_until {
        let lease = LeaseRequest {
            key,
            owner: "setup",
            until_ms,
            expires_at: LATER,
            now_ms: NOW_MS,
        };
        let set = backend.acquire_lease(lease, Require::All(Vec::new()));
        assert!(set.await.unwrap(), "{key}: the lease is set");
    }
}

#[tokio::test]
async fn the_embedded_backends_meet_every_case() {
    let memory = super::Store::embedded();
    run_cases(memory.backend().unwrap(), "memory").await;
    let folder = std::env::var_os("DYNAMORATOR_TEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = folder.join(format!("dynamorator-cases-{}.db", std::process::id()));
    let file = super::Store::builder()
        .embedded_file(path.clone())
        .build()
        .await
        .unwrap();
    run_cases(file.backend().unwrap(), "file").await;
    drop(file);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[cfg(all(feature = "__server-tests", feature = "dynamodb"))]
mod servers {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_dynamodb::config::Credentials;

    use super::run_cases;
    use crate::Store;

    /// A store on a fresh table of the server whose endpoint `variable` names; panics (failing
    /// the test) when scripts/test did not start it.
    async fn store_on(variable: &str) -> Store {
        let endpoint = match std::env::var(variable) {
            Ok(url) if url.starts_with("http://127.0.0.1:") => url,
            Ok(url) => panic!("{variable}={url}: tests only talk to 127.0.0.1"),
            Err(_) => panic!(
                "{variable} is not set: its server is not running. Run the tests with \
                 scripts/test, which installs and starts it."
            ),
        };
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "cases"))
            .endpoint_url(&endpoint)
            .load()
            .await;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let table = format!("dynamorator-cases-{}-{}", std::process::id(), nanos);
        Store::builder()
            .table(table)
            .sdk_config(config)
            .endpoint_url(endpoint)
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn moto_meets_every_case() {
        let store = store_on("DYNAMORATOR_TEST_MOTO").await;
        run_cases(store.backend().unwrap(), "moto").await;
    }

    #[tokio::test]
    async fn dynalite_meets_every_case() {
        let store = store_on("DYNAMORATOR_TEST_DYNALITE").await;
        run_cases(store.backend().unwrap(), "dynalite").await;
    }
}
