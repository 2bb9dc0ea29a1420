//! scripts/soak's driver: the soak benchmark (`dynamorator_testkit::soak`) for 30 minutes
//! against dynalite through the fault proxy. Prints the figures and the checks as markdown,
//! writes them (soak.md, soak.json) to `--out`, and exits non-zero when a check fails.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use dynamorator_testkit::soak::{self, SoakConfig};

#[derive(Parser, Debug)]
#[command(
    about = "a typed cache with an L1, read-through and fleet clears, for a long time through the fault proxy"
)]
struct Args {
    /// dynalite's endpoint (loopback).
    #[arg(long)]
    dynalite: String,
    /// How long the workload runs, in minutes.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Keys, half written (put, delete), half loaded (read-through).
    #[arg(long, default_value_t = 100_000)]
    keys: usize,
    /// Tasks calling the cache.
    #[arg(long, default_value_t = 4)]
    tasks: usize,
    /// Share of requests the proxy fails or delays (0–1).
    #[arg(long, default_value_t = 0.05)]
    fault_rate: f64,
    /// Share of loader calls that fail on purpose (0–1).
    #[arg(long, default_value_t = 0.05)]
    loader_failure_rate: f64,
    /// Seconds between samples (default: 60, or a twelfth of a run under 10 minutes).
    #[arg(long)]
    sample_secs: Option<f64>,
    /// The warm-up, in minutes (default: 5, or half a run under 10 minutes).
    #[arg(long)]
    warmup_minutes: Option<f64>,
    /// Seconds between fleet clears (default: a sixth of the run).
    #[arg(long)]
    clear_every_secs: Option<f64>,
    /// The seed of the workload and the faults.
    #[arg(long, default_value_t = 27)]
    seed: u64,
    /// Where to write soak.md and soak.json.
    #[arg(long, default_value = "target/soak")]
    out: PathBuf,
}

fn seconds(secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{secs} s: {e}"))
}

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("soak: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut config = SoakConfig::new(args.dynalite, seconds(args.minutes * 60.0)?);
    config.keys = args.keys;
    config.tasks = args.tasks;
    config.fault_rate = args.fault_rate;
    config.seed = args.seed;
    config.loader_failure_rate = args.loader_failure_rate;
    if let Some(secs) = args.sample_secs {
        config.sample_every = seconds(secs)?;
    }
    if let Some(minutes) = args.warmup_minutes {
        config.warmup = seconds(minutes * 60.0)?;
    }
    if let Some(secs) = args.clear_every_secs {
        config.clear_every = seconds(secs)?;
    }
    // Two workers: the machine's cores (the proxy runs on a thread of its own).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    eprintln!(
        "soak: {:.1} min, {} tasks, {} keys, {:.0} % faults; a sample every {:.0} s",
        config.duration.as_secs_f64() / 60.0,
        config.tasks,
        config.keys,
        config.fault_rate * 100.0,
        config.sample_every.as_secs_f64()
    );
    let report = runtime.block_on(soak::run(&config))?;
    let markdown = report.markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    for (name, text) in [("soak.md", &markdown), ("soak.json", &report.json())] {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!("soak: written to {}", args.out.display());
    if report.passed() {
        Ok(())
    } else {
        Err(format!(
            "{} check(s) failed:\n  {}",
            report.failures().len(),
            report.failures().join("\n  ")
        ))
    }
}
