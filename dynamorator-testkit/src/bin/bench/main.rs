//! scripts/bench's driver: the same operations on the same data with dynamorator (Rust) and the
//! Python package, on moto and dynalite, then `batch_get` at 0, 1 and 5 ms of round-trip time
//! through the loopback latency proxy. Prints markdown tables and writes them, the raw figures
//! and an SVG chart to `--out`.

mod chart;
mod measure;
mod python;
mod report;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use dynamorator::Store;
use dynamorator_testkit::proxy::Proxy;

use measure::Median;
use report::{OpRow, Report, RttRow};

#[derive(Parser, Debug)]
#[command(about = "dynamorator (Rust) against dynamorator 0.1.7 (Python), side by side")]
struct Args {
    /// moto server's endpoint (loopback).
    #[arg(long)]
    moto: String,
    /// dynalite's endpoint (loopback).
    #[arg(long)]
    dynalite: String,
    /// The Python interpreter with dynamorator 0.1.7 installed.
    #[arg(long)]
    python: PathBuf,
    /// Measured runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Round-trip times to sweep, in milliseconds.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_values_t = [0.0, 1.0, 5.0])]
    rtt_ms: Vec<f64>,
    /// Batch concurrencies to sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 4, 16, 32])]
    concurrency: Vec<usize>,
    /// moto's process id, to report the server's CPU time beside the client's.
    #[arg(long)]
    moto_pid: Option<u32>,
    /// dynalite's process id, likewise.
    #[arg(long)]
    dynalite_pid: Option<u32>,
    /// Servers to run the side-by-side table on.
    #[arg(long, value_delimiter = ',', default_values_t = ["dynalite".to_owned(), "moto".to_owned()])]
    servers: Vec<String>,
    /// Operations of the side-by-side table.
    #[arg(long, value_delimiter = ',', default_values_t = ["batch_get".to_owned(), "get".to_owned(), "put".to_owned(), "get_compressed".to_owned(), "l1_hit".to_owned()])]
    ops: Vec<String>,
    /// Where to write results.md, results.json and batch_get_rtt.svg.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    for url in [&args.moto, &args.dynalite] {
        if !url.starts_with("http://127.0.0.1:") {
            return Err(format!("{url}: benchmarks only talk to 127.0.0.1"));
        }
    }
    // The client runs on this thread alone, so its CPU time is this thread's.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The proxy runs on threads of its own: its CPU is not the client's.
    let proxies = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut report = Report::default();
    for (server, endpoint, pid) in [
        ("dynalite", &args.dynalite, args.dynalite_pid),
        ("moto", &args.moto, args.moto_pid),
    ] {
        if !args.servers.iter().any(|s| s == server) {
            continue;
        }
        eprintln!("bench: {server}: loading data");
        let (store, table) = client.block_on(open_and_load(endpoint))?;
        for op in ["batch_get", "get", "put", "get_compressed"] {
            if !args.ops.iter().any(|o| o == op) {
                continue;
            }
            eprintln!("bench: {server}: {op}");
            // The server's CPU per measured pass (one warm-up pass is included, so passes
            // are runs + 1).
            let passes = (args.runs + 1) as f64;
            let before = server_cpu(pid);
            let mut rust = client.block_on(rust_op(&store, op, args.runs));
            rust.server_cpu = server_cpu(pid).zip(before).map(|(a, b)| (a - b) / passes);
            let before = server_cpu(pid);
            let mut python = python::measure(&args.python, endpoint, &table, op, args.runs)?;
            python.server_cpu = server_cpu(pid).zip(before).map(|(a, b)| (a - b) / passes);
            report.ops.push(OpRow {
                server,
                op,
                rust,
                python: Some(python),
            });
        }
        if args.ops.iter().any(|o| o == "l1_hit") {
            let l1 = client.block_on(workload::l1_hit(&store, args.runs));
            report.ops.push(OpRow {
                server,
                op: "typed L1 hit (get)",
                rust: l1,
                python: None,
            });
        }
    }

    if args.rtt_ms.is_empty() {
        return write(&args, &report);
    }
    eprintln!("bench: round-trip sweep on dynalite");
    let (_, table) = client.block_on(open_and_load(&args.dynalite))?;
    let upstream = args
        .dynalite
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("{}: {e}", args.dynalite))?;
    let proxy = proxies
        .block_on(Proxy::start(upstream).spawn())
        .map_err(|e| e.to_string())?;
    for &rtt_ms in &args.rtt_ms {
        proxy.set_latency(Duration::from_secs_f64(rtt_ms / 2_000.0));
        let mut rust = Vec::new();
        for &concurrency in &args.concurrency {
            eprintln!("bench: rtt {rtt_ms} ms, concurrency {concurrency}");
            let store = client.block_on(open(&proxy.url(), &table, concurrency))?;
            rust.push((
                concurrency,
                client.block_on(workload::batch_get(&store, args.runs)),
            ));
        }
        eprintln!("bench: rtt {rtt_ms} ms, python");
        let python = python::measure(&args.python, &proxy.url(), &table, "batch_get", args.runs)?;
        report.rtt.push(RttRow {
            rtt_ms,
            rust,
            python,
        });
    }
    drop(proxy);
    write(&args, &report)
}

fn write(args: &Args, report: &Report) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let markdown = report.markdown();
    println!("{markdown}");
    std::fs::write(args.out.join("results.md"), &markdown).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(args.out.join("results.json"), json).map_err(|e| e.to_string())?;
    std::fs::write(
        args.out.join("batch_get_rtt.svg"),
        chart::batch_get_rtt(&report.rtt),
    )
    .map_err(|e| e.to_string())?;
    eprintln!("bench: wrote {}", args.out.display());
    Ok(())
}

fn server_cpu(pid: Option<u32>) -> Option<f64> {
    pid.and_then(dynamorator_testkit::cpu::process_cpu_time)
        .map(|d| d.as_secs_f64())
}

async fn open(endpoint: &str, table: &str, concurrency: usize) -> Result<Store, String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    Store::builder()
        .table(table)
        .sdk_config(config)
        .compress(true)
        .batch_concurrency(concurrency)
        .build()
        .await
        .map_err(|e| e.to_string())
}

async fn open_and_load(endpoint: &str) -> Result<(Store, String), String> {
    let table = format!("dynamorator-bench-{}", std::process::id());
    let store = open(endpoint, &table, 16).await?;
    workload::load(&store).await.map_err(|e| e.to_string())?;
    Ok((store, table))
}

async fn rust_op(store: &Store, op: &str, runs: usize) -> Median {
    match op {
        "batch_get" => workload::batch_get(store, runs).await,
        "get" => workload::get(store, runs).await,
        "put" => workload::put(store, runs).await,
        _ => workload::get_compressed(store, runs).await,
    }
}
