//! Chaos: 10,000 mixed operations through the fault-injecting proxy at a 10 % fault rate, on
//! moto and dynalite. Nothing panics, every operation ends within its deadline with a value or
//! a typed error, nothing acknowledged is lost, and read-through keeps answering.

// These need the servers scripts/test starts.
#![cfg(feature = "server-tests")]

mod support;

on_every_server!(suite:
    ten_thousand_mixed_operations_under_ten_percent_faults,
    a_stalled_request_is_a_timeout,
    a_batch_read_retried_after_an_error_answer_asks_for_every_key_again,
);

mod suite {
    use std::collections::{HashMap, HashSet};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use dynamorator::{Cache, CacheConfig, Error, Store, Ttl};
    use dynamorator_testkit::proxy::{Fault, Faults, Proxy};

    use crate::support::{TestBackend, sdk_config, unique_table_name};

    const OPERATIONS: usize = 10_000;
    const WORKERS: usize = 16;
    const KEYS_PER_WORKER: usize = 24;
    /// No operation may take longer: the SDK's own timeouts end it well before.
    const DEADLINE: Duration = Duration::from_secs(15);
    /// The whole run, as a backstop.
    const RUN_LIMIT: Duration = Duration::from_secs(240);
    const DAY: Ttl = Ttl::days(1);

    fn upstream(backend: TestBackend) -> SocketAddr {
        let endpoint = backend.endpoint();
        let address = endpoint.trim_start_matches("http://");
        address.parse().expect("the endpoint is 127.0.0.1:port")
    }

    /// A store on `table` through `proxy`, with the timeouts and retries of a production
    /// client, scaled down.
    async fn store_through(proxy: &Proxy, table: &str, create: bool) -> Store {
        Store::builder()
            .table(table)
            .create_table(create)
            .sdk_config(sdk_config(&proxy.url()).await)
            .endpoint_url(proxy.url())
            .max_attempts(3)
            .connect_timeout(Duration::from_secs(1))
            .attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(8))
            .batch_max_attempts(4)
            .batch_backoff(Duration::from_millis(5), Duration::from_millis(50))
            .batch_concurrency(4)
            .build()
            .await
            .expect("the store builds (faults are off while it does)")
    }

    /// What each key may hold: every value a write could have left (`None`: absent).
    /// Acknowledged writes narrow it to one; failed ones add a possibility.
    #[derive(Default)]
    struct Model {
        possible: HashMap<String, HashSet<Option<u64>>>,
    }

    impl Model {
        fn entry(&mut self, key: &str) -> &mut HashSet<Option<u64>> {
            self.possible
                .entry(key.to_owned())
                .or_insert_with(|| HashSet::from([None]))
        }
        fn acknowledged(&mut self, key: &str, value: Option<u64>) {
            *self.entry(key) = HashSet::from([value]);
        }
        fn attempted(&mut self, key: &str, value: Option<u64>) {
            self.entry(key).insert(value);
        }
        fn allows(&mut self, key: &str, value: Option<u64>) -> bool {
            self.entry(key).contains(&value)
        }
    }

    #[derive(Default)]
    struct Tally {
        operations: usize,
        errors: HashMap<&'static str, usize>,
        loader_values: usize,
    }

    fn kind(error: &Error) -> &'static str {
        match error {
            Error::Throttled { .. } => "throttled",
            Error::Timeout { .. } => "timeout",
            Error::Unreachable { .. } => "unreachable",
            Error::Service { .. } => "service",
            Error::Unprocessed { .. } => "unprocessed",
            Error::Incomplete { .. } => "incomplete",
            other => panic!("an error a fault cannot cause: {other}"),
        }
    }

    pub async fn ten_thousand_mixed_operations_under_ten_percent_faults(backend: TestBackend) {
        let started = Instant::now();
        let proxy = Proxy::start(upstream(backend)).spawn().await.unwrap();
        let table = unique_table_name();
        let store = store_through(&proxy, &table, true).await;
        let computed: Cache<u64> =
            Cache::new(&store, CacheConfig::new().ttl(DAY).prefix("computed"));
        proxy.set_faults(Faults::all(0.10, 20_261_124).stall_for(Duration::from_secs(3)));

        let model = Arc::new(Mutex::new(Model::default()));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let workers = (0..WORKERS).map(|worker| {
            let (store, computed) = (store.clone(), computed.clone());
            let (model, tally) = (model.clone(), tally.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(worker as u64);
                let keys: Vec<String> = (0..KEYS_PER_WORKER)
                    .map(|i| format!("w{worker}-k{i}"))
                    .collect();
                for step in 0..OPERATIONS / WORKERS {
                    if started.elapsed() > RUN_LIMIT {
                        panic!("the chaos run passed its time limit");
                    }
                    let op = run_one(&mut rng, step, &keys, &store, &computed, &model);
                    let (errors, read_through) = match tokio::time::timeout(DEADLINE, op).await {
                        Ok(outcome) => outcome,
                        Err(_) => panic!("an operation passed its {DEADLINE:?} deadline"),
                    };
                    let mut tally = tally.lock().unwrap();
                    tally.operations += 1;
                    tally.loader_values += usize::from(read_through);
                    for error in errors {
                        *tally.errors.entry(error).or_default() += 1;
                    }
                }
            })
        });
        for worker in futures_util::future::join_all(workers).await {
            worker.expect("no worker panicked");
        }
        let during = proxy.stats();

        // Faults off: everything acknowledged must be there, and every key must hold a value
        // some write could have left.
        proxy.set_faults(Faults::none());
        let keys: Vec<String> = model.lock().unwrap().possible.keys().cloned().collect();
        let read = store.get_many::<u64, _>(&keys).await.unwrap();
        let mut model = model.lock().unwrap();
        assert!(read.is_complete(), "{:?}", read.failed);
        let mut verified = 0;
        for key in &keys {
            let value = read.found.get(key).copied();
            assert!(
                model.allows(key, value),
                "{key} holds {value:?}, which no write left"
            );
            verified += 1;
        }
        let tally = tally.lock().unwrap();
        assert_eq!(tally.operations, OPERATIONS);
        assert!(during.faults() > 0, "faults were injected");
        let errors: usize = tally.errors.values().sum();
        println!(
            "chaos on {backend:?}: {} operations, {} requests, {} faults injected {:?}; \
             {errors} errors returned {:?}; {} read-through answers, all right; {verified} keys verified; \
             {:.1} s",
            tally.operations,
            during.requests,
            during.faults(),
            during.injected,
            tally.errors,
            tally.loader_values,
            started.elapsed().as_secs_f64()
        );
    }

    /// One random operation; returns the kinds of the errors it met, and whether it was a
    /// read-through.
    async fn run_one(
        rng: &mut fastrand::Rng,
        step: usize,
        keys: &[String],
        store: &Store,
        computed: &Cache<u64>,
        model: &Mutex<Model>,
    ) -> (Vec<&'static str>, bool) {
        let key = &keys[rng.usize(..keys.len())];
        let value = (step as u64) << 8 | rng.u64(..256);
        let mut errors = Vec::new();
        match rng.u32(..100) {
            0..30 => match store.put(key, &value, DAY).await {
                Ok(()) => model.lock().unwrap().acknowledged(key, Some(value)),
                Err(error) => {
                    errors.push(kind(&error));
                    model.lock().unwrap().attempted(key, Some(value));
                }
            },
            30..55 => match store.get::<u64>(key).await {
                Ok(found) => assert!(
                    model.lock().unwrap().allows(key, found),
                    "get {key} saw {found:?}, which no write left"
                ),
                Err(error) => errors.push(kind(&error)),
            },
            55..65 => {
                let asked: Vec<&String> = (0..5).map(|_| &keys[rng.usize(..keys.len())]).collect();
                let read = store.get_many::<u64, _>(&asked).await.unwrap();
                let failed: HashSet<&str> = read.failed_keys().collect();
                let mut model = model.lock().unwrap();
                for key in &asked {
                    let found = read.found.get(key.as_str()).copied();
                    if failed.contains(key.as_str()) {
                        assert!(found.is_none(), "{key} both found and failed");
                    } else {
                        assert!(model.allows(key, found), "get_many {key} saw {found:?}");
                    }
                }
                for failure in &read.failed {
                    errors.push(kind(&failure.error));
                }
            }
            65..75 => {
                let items: HashMap<String, u64> = (0..5)
                    .map(|i| (keys[rng.usize(..keys.len())].clone(), value + i))
                    .collect();
                let result = store.put_many(items.clone(), DAY).await;
                let failed: HashSet<String> = match &result {
                    Ok(()) => HashSet::new(),
                    Err(Error::Incomplete { failures, .. }) => {
                        errors.extend(failures.iter().map(|f| kind(&f.error)));
                        failures.iter().flat_map(|f| f.keys.clone()).collect()
                    }
                    Err(other) => panic!("put_many failed as a whole: {other}"),
                };
                let mut model = model.lock().unwrap();
                for (key, value) in items {
                    if failed.contains(&key) {
                        model.attempted(&key, Some(value));
                    } else {
                        model.acknowledged(&key, Some(value));
                    }
                }
            }
            75..85 => match store.delete(key).await {
                Ok(()) => model.lock().unwrap().acknowledged(key, None),
                Err(error) => {
                    errors.push(kind(&error));
                    model.lock().unwrap().attempted(key, None);
                }
            },
            _ => {
                // Read-through of a value that is a function of its key: whatever the store
                // does, the answer is right (fail-open), and a loader that never fails means
                // read-through never errs.
                let n = rng.u64(..200);
                let answer = computed
                    .get_or_insert_with(&n.to_string(), move || async move {
                        Ok::<_, std::io::Error>(n * n)
                    })
                    .await
                    .expect("read-through answers while the store fails");
                assert_eq!(answer, n * n);
                return (errors, true);
            }
        }
        (errors, false)
    }

    pub async fn a_stalled_request_is_a_timeout(backend: TestBackend) {
        let proxy = Proxy::start(upstream(backend)).spawn().await.unwrap();
        let table = unique_table_name();
        // Created with faults off; then every request stalls past the attempt timeout.
        store_through(&proxy, &table, true).await;
        proxy.set_faults(Faults::only(&[Fault::Stall], 1.0, 1).stall_for(Duration::from_secs(2)));
        let store = Store::builder()
            .table(&table)
            .create_table(false)
            .sdk_config(sdk_config(&proxy.url()).await)
            .max_attempts(1)
            .attempt_timeout(Duration::from_millis(300))
            .build()
            .await
            .unwrap();
        let read = store.get::<u64>("k").await;
        assert!(matches!(read, Err(Error::Timeout { .. })), "{read:?}");
        let write = store.put("k", &1, Ttl::days(1)).await;
        assert!(matches!(write, Err(Error::Timeout { .. })), "{write:?}");
        let delete = store.delete("k").await;
        assert!(matches!(delete, Err(Error::Timeout { .. })), "{delete:?}");
        // One stall per request: each of the three above was one request.
        assert_eq!(proxy.stats().injected[&Fault::Stall], 3);
    }

    /// BatchGetItem's body is the library's, set before the SDK saves the request its retries
    /// start from: a retry after an error answer (which never reached the server) must ask for
    /// every key again, and find them.
    pub async fn a_batch_read_retried_after_an_error_answer_asks_for_every_key_again(
        backend: TestBackend,
    ) {
        let proxy = Proxy::start(upstream(backend)).spawn().await.unwrap();
        let table = unique_table_name();
        let writer = store_through(&proxy, &table, true).await;
        let keys: Vec<String> = (0..250).map(|i| format!("retried \"{i}\" ☃")).collect();
        writer
            .put_many(keys.iter().zip(0_u64..), DAY)
            .await
            .unwrap();
        // Retries soon after each error answer, up to 10 attempts; one request at a time, so
        // the seeded draws fall on the same attempts every run.
        let retries = RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(50));
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk_config(&proxy.url()).await)
                .retry_config(retries)
                .build(),
        );
        let reader = Store::builder()
            .table(&table)
            .create_table(false)
            .client(client)
            .batch_concurrency(1)
            .build()
            .await
            .unwrap();
        let before = proxy.stats();
        proxy.set_faults(Faults::only(
            &[Fault::InternalError, Fault::Unavailable],
            0.5,
            7,
        ));
        let read = reader.get_many::<u64, _>(&keys).await.unwrap();
        proxy.set_faults(Faults::none());
        let after = proxy.stats();
        assert!(read.is_complete(), "{:?}", read.failed);
        assert_eq!(read.found.len(), keys.len());
        for (key, value) in keys.iter().zip(0_u64..) {
            assert_eq!(read.found.get(key), Some(&value), "{key}");
        }
        // Some of the three requests' attempts were answered with an error, so retried.
        assert!(after.faults() > before.faults(), "{after:?}");
    }
}
