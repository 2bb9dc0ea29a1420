//! examples/observability.rs serves the expected series: its setup runs in this process (one
//! global recorder per test binary), and `/metrics` is scraped over HTTP on 127.0.0.1 with a
//! plain TCP GET.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/observability.rs"]
mod example;

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One sample: a series' name and labels (sorted `key="value"`), and its value.
type Samples = HashMap<(String, BTreeSet<String>), f64>;

/// `GET /metrics`, retried until the listener answers, 10 s at most.
fn scrape(address: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match try_scrape(address) {
            Ok(body) => return body,
            Err(error) if Instant::now() < deadline => {
                eprintln!("scrape: {error}; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => panic!("no answer from {address}: {error}"),
        }
    }
}

fn try_scrape(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP head"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("answered {head}")));
    }
    // A chunked body: its text is all the test looks at, chunk sizes are lines of hex.
    Ok(body.to_owned())
}

/// The text format's samples (comments and chunk-size lines left out).
fn parse(body: &str) -> Samples {
    let mut samples = HashMap::new();
    for line in body.lines() {
        if line.starts_with('#') || !line.starts_with("dynamorator_") {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (
                name,
                labels
                    .trim_end_matches('}')
                    .split(',')
                    .filter(|label| !label.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            None => (series, BTreeSet::new()),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// The value of the series `name` with exactly `labels`.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeSet<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    match samples.get(&(name.to_owned(), labels.clone())) {
        Some(value) => *value,
        None => {
            let mut known: Vec<_> = samples.keys().collect();
            known.sort();
            panic!("no {name} {labels:?} among {known:#?}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_serves_the_expected_series() {
    let address = example::start(0).await.expect("the example's setup");
    assert!(address.ip().is_loopback());
    let body = tokio::task::spawn_blocking(move || scrape(address))
        .await
        .expect("the scrape");
    let samples = parse(&body);
    let cache = ("cache", "product");

    // Per cache and layer.
    let l1 = [cache, ("layer", "l1")];
    let store = [cache, ("layer", "store")];
    assert!(value(&samples, "dynamorator_cache_hits_total", &l1) >= 1.0);
    assert!(value(&samples, "dynamorator_cache_misses_total", &l1) >= 3.0);
    assert_eq!(
        value(&samples, "dynamorator_cache_negative_hits_total", &l1),
        1.0
    );
    assert!(value(&samples, "dynamorator_cache_hits_total", &store) >= 41.0);
    assert!(value(&samples, "dynamorator_cache_misses_total", &store) >= 2.0);
    assert_eq!(
        value(&samples, "dynamorator_cache_loader_calls_total", &[cache]),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "dynamorator_cache_loader_duration_seconds_count",
            &[cache]
        ),
        1.0
    );
    assert!(value(&samples, "dynamorator_cache_l1_entries", &[cache]) >= 1.0);
    assert!(value(&samples, "dynamorator_cache_l1_bytes", &[cache]) > 0.0);
    // Registered before anything went wrong, so present at zero.
    assert_eq!(
        value(
            &samples,
            "dynamorator_cache_errors_total",
            &[cache, ("layer", "loader"), ("kind", "error")]
        ),
        0.0
    );

    // Per store operation, on the embedded backend.
    let table = ("table", "embedded");
    for (operation, at_least) in [
        ("GetItem", 3.0),
        ("PutItem", 2.0),
        ("BatchWriteItem", 2.0),
        ("BatchGetItem", 1.0),
    ] {
        let labels = [("operation", operation), table];
        let count = value(
            &samples,
            "dynamorator_store_request_duration_seconds_count",
            &labels,
        );
        assert!(count >= at_least, "{operation}: {count} requests");
        let sum = value(
            &samples,
            "dynamorator_store_request_duration_seconds_sum",
            &labels,
        );
        assert!(sum > 0.0 && sum < 60.0, "{operation}: {sum} s");
    }
    // 40 writes in requests of 25: 25 and 15.
    let batch = [("operation", "BatchWriteItem"), table];
    assert_eq!(
        value(&samples, "dynamorator_store_batch_keys_sum", &batch),
        40.0
    );
    assert_eq!(
        value(&samples, "dynamorator_store_batch_keys_count", &batch),
        2.0
    );
    let mut le = batch.to_vec();
    le.push(("le", "25"));
    assert_eq!(
        value(&samples, "dynamorator_store_batch_keys_bucket", &le),
        2.0
    );
}
