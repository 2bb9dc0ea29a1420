//! The soak benchmark (issue 27, part 3): a typed cache with an L1, read-through with
//! stale-while-revalidate and leases, and fleet clears, run for a long time against dynalite
//! through the fault proxy, to show that nothing it keeps grows without bound.
//!
//! [`run`] makes a fresh table, then `tasks` tasks call the cache over `keys` keys with a
//! zipfian popularity ([`workload`]: get, get_many, read-through, batch read-through, put,
//! delete, and a fleet clear every clear interval), while the proxy fails or delays
//! `fault_rate` of the requests. Every tick it reads the sizes of the cache's per-key maps
//! (`Cache::__engine_sizes`) and the runtime's live tasks, and every sample interval it
//! records a [`Sample`] with the resident memory. At the end it reads every key back through
//! a fresh store straight to dynalite and compares it with the [`Model`] of acknowledged
//! writes, and [`checks`] decides. `scripts/soak` runs it for 30 minutes (the `soak` binary);
//! `dynamorator-testkit/tests/soak.rs` for 2 minutes under `scripts/test`.

pub mod checks;
mod model;
mod readback;
mod report;
mod sampler;
mod tally;
pub mod workload;
pub mod zipf;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dynamorator::{Cache, CacheConfig, CacheStats, L1Config, Store, Ttl};

use crate::proxy::{Faults, Proxy};
use crate::{table_builder, unique_table_name};
use checks::Bounds;
use workload::{Record, Workload};

pub use checks::Check;
pub use model::{Expect, Model};
pub use readback::ReadBack;
pub use report::{Named, Report, Settings};
pub use sampler::{Sample, Sizes};
pub use tally::{ErrorKind, Op, Tally};
pub use zipf::Zipf;

/// The key prefix (the cache's name) of the soak's cache.
const PREFIX: &str = "soak";
/// The cache's generation poll (fleet clear).
const GENERATION_POLL: Duration = Duration::from_secs(1);
/// The read-through leases' length.
const LEASE: Duration = Duration::from_secs(2);
/// The longest a call may take before it counts as stuck.
const DEADLINE: Duration = Duration::from_secs(30);
/// Requests a store sends at once per call (batch reads, leases).
const CONCURRENCY: usize = 4;
/// How long a stalled request is held by the proxy (past the client's attempt timeout).
const STALL: Duration = Duration::from_secs(3);
/// The longest wait for background work once the tasks are done.
const DRAIN: Duration = Duration::from_secs(60);

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// dynalite's endpoint, `http://127.0.0.1:port`.
    pub dynalite: String,
    /// How long the workload runs.
    pub duration: Duration,
    /// The first part of the run, after which resident memory must stop growing.
    pub warmup: Duration,
    /// How often a sample is recorded.
    pub sample_every: Duration,
    /// Keys (half written, half loaded).
    pub keys: usize,
    /// Tasks calling the cache.
    pub tasks: usize,
    /// Share of requests the proxy fails or delays.
    pub fault_rate: f64,
    /// Keys per batch call.
    pub batch: usize,
    /// How often task 0 clears the cache for the fleet.
    pub clear_every: Duration,
    /// How long a value is fresh (then stale, for a day).
    pub fresh_secs: u64,
    /// The L1's bound, bytes.
    pub l1_max_bytes: u64,
    /// Share of loader calls that fail on purpose.
    pub loader_failure_rate: f64,
    /// Seed of the workload's draws and of the proxy's faults.
    pub seed: u64,
}

impl SoakConfig {
    /// A soak of `duration` on dynalite at `dynalite`, with the settings: 100,000
    /// keys, 4 tasks, 5 % of requests failed or delayed, batches of 20 (and 5 % of loader
    /// calls failing, values fresh for 20 s or a 24th of a shorter run (5 s at least), an L1
    /// of 8 MiB); a warm-up of 5
    /// minutes or half the run if shorter; a sample a minute, or 12 in a run under 10
    /// minutes; a fleet clear every sixth of the run (10 s at least).
    pub fn new(dynalite: impl Into<String>, duration: Duration) -> SoakConfig {
        let sample_every = if duration >= Duration::from_secs(600) {
            Duration::from_secs(60)
        } else {
            (duration / 12).max(Duration::from_secs(1))
        };
        SoakConfig {
            dynalite: dynalite.into(),
            duration,
            warmup: (duration / 2).min(Duration::from_secs(300)),
            sample_every,
            keys: 100_000,
            tasks: 4,
            fault_rate: 0.05,
            batch: 20,
            clear_every: (duration / 6).max(Duration::from_secs(10)),
            // Short runs go stale sooner, so they refresh in the background too.
            fresh_secs: (duration.as_secs() / 24).clamp(5, 20),
            l1_max_bytes: 8 * 1024 * 1024,
            loader_failure_rate: 0.05,
            seed: 27,
        }
    }

    /// The bounds the maps are checked against.
    pub fn bounds(&self) -> Bounds {
        Bounds::new(
            self.tasks as u64,
            self.batch as u64,
            self.keys as u64,
            self.l1_max_bytes,
            CONCURRENCY as u64,
        )
    }

    fn settings(&self) -> Settings {
        Settings {
            duration_secs: self.duration.as_secs_f64(),
            warmup_secs: self.warmup.as_secs_f64(),
            sample_secs: self.sample_every.as_secs_f64(),
            keys: self.keys,
            tasks: self.tasks,
            fault_rate: self.fault_rate,
            batch: self.batch,
            clear_every_secs: self.clear_every.as_secs_f64(),
            fresh_secs: self.fresh_secs,
            l1_max_bytes: self.l1_max_bytes,
            loader_failure_rate: self.loader_failure_rate,
            seed: self.seed,
        }
    }

    fn validate(&self) -> Result<SocketAddr, String> {
        let Some(address) = self.dynalite.strip_prefix("http://127.0.0.1:") else {
            return Err(format!(
                "{}: the soak only talks to 127.0.0.1",
                self.dynalite
            ));
        };
        if self.tasks == 0 || self.batch == 0 || self.keys < 2 * self.tasks {
            return Err("tasks, batch and keys (at least 2 per task) must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(format!("fault rate {} is not within 0–1", self.fault_rate));
        }
        format!("127.0.0.1:{}", address.trim_end_matches('/'))
            .parse()
            .map_err(|e| format!("{}: {e}", self.dynalite))
    }

    /// The soak cache's settings; `reader` for the read-back's (same name, no L1).
    fn cache_config(&self, reader: bool) -> CacheConfig {
        let config = CacheConfig::new()
            .prefix(PREFIX)
            .fleet_clear(GENERATION_POLL);
        if reader {
            return config;
        }
        config
            .ttl(Ttl::secs(self.fresh_secs.max(1)))
            .stale_for(Ttl::days(1))
            .leases(LEASE)
            .refresh_batch_max(self.batch)
            .fail_safe_throttle(Ttl::secs(30))
            .l1(L1Config::new()
                .max_bytes(self.l1_max_bytes)
                .ttl(Ttl::secs(30))
                .negative_ttl(Ttl::secs(5)))
    }
}

/// The fault proxy, on a runtime of its own so its tasks are not the workload's.
struct ProxyRuntime {
    proxy: Option<Proxy>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ProxyRuntime {
    async fn start(upstream: SocketAddr) -> Result<ProxyRuntime, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("soak-proxy")
            .enable_all()
            .build()
            .map_err(|e| format!("the proxy's runtime: {e}"))?;
        let proxy = runtime
            .spawn(async move { Proxy::start(upstream).spawn().await })
            .await
            .map_err(|e| format!("the proxy's start: {e}"))?
            .map_err(|e| format!("the proxy's start: {e}"))?;
        Ok(ProxyRuntime {
            proxy: Some(proxy),
            runtime: Some(runtime),
        })
    }

    fn proxy(&self) -> Result<&Proxy, String> {
        self.proxy
            .as_ref()
            .ok_or_else(|| "the proxy is gone".to_owned())
    }
}

impl Drop for ProxyRuntime {
    fn drop(&mut self) {
        drop(self.proxy.take());
        // Not a plain drop: it may happen inside the workload's runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Panics anywhere in the process since the first call (a hook counts them, then hands them
/// to the hook that was there before).
fn panics() -> u64 {
    static PANICS: AtomicU64 = AtomicU64::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
    PANICS.load(Ordering::SeqCst)
}

/// A store on `table` at `endpoint`: through the proxy with a production client's timeouts
/// and retries, scaled down; or straight to the server to set up and read back.
async fn store(endpoint: &str, table: &str, create: bool) -> Result<Store, String> {
    table_builder(endpoint, table)
        .await
        .create_table(create)
        .max_attempts(3)
        .connect_timeout(Duration::from_secs(1))
        .attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(8))
        .batch_max_attempts(4)
        .batch_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .batch_concurrency(CONCURRENCY)
        .build()
        .await
        .map_err(|e| format!("a store on {endpoint}: {e}"))
}

/// Runs a soak and reports; `Err` when it could not run at all (a bad setting, no server).
/// Whether it met its targets is the report's [`Report::passed`].
pub async fn run(config: &SoakConfig) -> Result<Report, String> {
    let upstream = config.validate()?;
    let panics_before = panics();
    let proxy = ProxyRuntime::start(upstream).await?;
    let table = unique_table_name();
    store(&config.dynalite, &table, true).await?;
    let faulty = store(&proxy.proxy()?.url(), &table, false).await?;
    let cache: Cache<Record> = Cache::new(&faulty, config.cache_config(false));
    let settings = workload::Settings {
        batch: config.batch,
        loader_failure_rate: config.loader_failure_rate,
        clear_every: config.clear_every,
        generation_poll: GENERATION_POLL,
        deadline: DEADLINE,
        seed: config.seed,
    };
    let work = Arc::new(Workload::new(
        cache.clone(),
        config.keys,
        config.tasks,
        settings,
    ));
    proxy
        .proxy()?
        .set_faults(Faults::all(config.fault_rate, config.seed).stall_for(STALL));

    let started = Instant::now();
    let end = started + config.duration;
    let mut sampler = sampler::Sampler::new(started);
    let mut samples =
        vec![sampler.sample(cache.__engine_sizes().into(), &work.tally, proxy.proxy()?)];
    let tasks: Vec<_> = (0..config.tasks)
        .map(|task| {
            let work = work.clone();
            tokio::spawn(async move { work.task(task, end).await })
        })
        .collect();
    let tick = config.sample_every.min(Duration::from_secs(1));
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = started + config.sample_every;
    let most_ticks = config.duration.as_secs_f64() / tick.as_secs_f64() + 10.0;
    let mut count = 0.0;
    while count < most_ticks {
        count += 1.0;
        ticks.tick().await;
        let sizes = cache.__engine_sizes().into();
        let now = Instant::now();
        if now + tick / 2 >= next_sample {
            samples.push(sampler.sample(sizes, &work.tally, proxy.proxy()?));
            next_sample += config.sample_every;
        } else {
            sampler.tick(sizes);
        }
        if now >= end {
            break;
        }
    }

    // The tasks end at `end`, or their current call at its deadline.
    let mut join_errors = Vec::new();
    for (task, handle) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(DEADLINE + Duration::from_secs(10), handle).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => join_errors.push(format!("task {task}: {error}")),
            Err(_) => join_errors.push(format!("task {task} did not end")),
        }
    }
    proxy.proxy()?.set_faults(Faults::none());
    let drained = tokio::time::timeout(DRAIN, cache.wait_for_refreshes())
        .await
        .is_ok();
    let after: Sizes = cache.__engine_sizes().into();
    let stats = cache.stats();
    let proxy_stats = proxy.proxy()?.stats();
    let model = std::mem::replace(
        &mut *work
            .model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        Model::new(0),
    );

    let direct = store(&config.dynalite, &table, false).await?;
    let reader: Cache<Record> = Cache::new(&direct, config.cache_config(true));
    let read_back = readback::read_back(&reader, &work.keys, &model).await;
    let panics = panics() - panics_before;

    let bounds = config.bounds();
    let warmup = config.warmup.as_secs_f64();
    let tally = &work.tally;
    let errors = tally.errors();
    let unexpected = errors[ErrorKind::Unexpected as usize];
    let examples = tally.examples();
    let mut checks = vec![checks::rss(&samples, warmup)];
    checks.extend(checks::bounds(&samples, &bounds));
    checks.extend(checks::growth(
        &samples,
        warmup,
        2 * (config.tasks * config.batch) as u64,
    ));
    checks.push(checks::lapsed_pauses(
        &samples,
        (config.tasks * config.batch) as u64,
    ));
    let mut drained_check = checks::drained(&after);
    if !drained {
        drained_check.passed = false;
        drained_check.detail = format!(
            "background work still running after {DRAIN:?}; {}",
            drained_check.detail
        );
    }
    checks.push(drained_check);
    checks.push(checks::zero("panics", panics, &[]));
    checks.push(checks::zero(
        "tasks ended without a JoinError",
        join_errors.len() as u64,
        &join_errors,
    ));
    checks.push(checks::zero(
        "calls past their deadline",
        tally.stuck_ops(),
        &examples,
    ));
    checks.push(checks::zero(
        "wrong answers",
        tally.wrong_answers(),
        &examples,
    ));
    checks.push(checks::zero(
        "errors other than the injected faults'",
        unexpected,
        &examples,
    ));
    checks.push(checks::holds(
        "every acknowledged write read back",
        read_back.passed(),
        format!(
            "{} certain keys ({} values), {} uncertain; {} mismatches, {} unread",
            read_back.certain,
            read_back.certain_values,
            read_back.uncertain,
            read_back.mismatches,
            read_back.unread
        ),
    ));
    checks.push(checks::holds(
        "faults injected",
        config.fault_rate == 0.0 || proxy_stats.faults() > 0,
        format!(
            "{} of {} requests",
            proxy_stats.faults(),
            proxy_stats.requests
        ),
    ));

    let mut faults: Vec<Named> = proxy_stats
        .injected
        .iter()
        .map(|(fault, count)| Named {
            name: format!("{fault:?}"),
            count: *count,
        })
        .collect();
    faults.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Report {
        settings: config.settings(),
        samples,
        ops: report::named(Op::ALL.iter().map(|op| op.name()), &tally.ops()),
        mean_ms: Op::ALL
            .iter()
            .zip(tally.mean_ms())
            .map(|(op, ms)| (op.name().to_owned(), ms))
            .collect(),
        errors: report::named(ErrorKind::ALL.iter().map(|kind| kind.name()), &errors),
        requests: proxy_stats.requests,
        faults,
        clears: model.clears(),
        cache_stats: cache_figures(&stats),
        after,
        read_back,
        bounds,
        checks,
    })
}

/// The statistics read-through moves, by name.
fn cache_figures(stats: &CacheStats) -> Vec<Named> {
    let figures = [
        ("l1_hits", stats.l1_hits),
        ("l1_misses", stats.l1_misses),
        ("store_hits", stats.store_hits),
        ("store_misses", stats.store_misses),
        ("store_errors", stats.store_errors),
        ("loader_calls", stats.loader_calls),
        ("loader_errors", stats.loader_errors),
        ("stale_hits", stats.stale_hits),
        ("refreshes_started", stats.refreshes_started),
        ("refreshes_succeeded", stats.refreshes_succeeded),
        ("refreshes_failed", stats.refreshes_failed),
        ("fail_safe_hits", stats.fail_safe_hits),
        ("leases_taken", stats.leases_taken),
        ("lease_waits", stats.lease_waits),
        ("circuit_trips", stats.circuit_trips),
    ];
    figures
        .into_iter()
        .map(|(name, count)| Named {
            name: name.to_owned(),
            count,
        })
        .collect()
}
