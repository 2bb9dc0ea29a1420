//! scripts/bench-cold-start's driver: how long a fresh process takes from its start to its
//! first answered `get` on dynalite (what a Lambda cold start pays), for dynamorator (Rust)
//! with `create_table(false)` and with table set-up, and for the Python package (import,
//! constructor, first `get`).
//!
//! Each run spawns a new process and times it from just before the spawn to the line the
//! process prints once its `get` answered; the process also reports its own phases. The first
//! run of each variant is a warm-up (it reads the binary and the Python modules from disk into
//! the page cache) and is not counted: the figures are of a warm machine, a cold process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::{Parser, Subcommand};
use dynamorator::{Store, Ttl};
use serde::Deserialize;

#[derive(Parser, Debug)]
#[command(about = "time from process start to the first answered get, Rust and Python")]
struct Args {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Measures every variant (the default use, run by scripts/bench-cold-start).
    Measure {
        /// dynalite's endpoint (loopback).
        #[arg(long)]
        dynalite: String,
        /// The Python interpreter with dynamorator 0.1.7 installed.
        #[arg(long)]
        python: PathBuf,
        /// Measured runs per variant (one warm-up run more is made).
        #[arg(long, default_value_t = 11)]
        runs: usize,
        /// Where to write cold_start.md.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
    },
    /// One cold start: build a store, answer one `get`, print the phases (run by `measure`).
    Child {
        table: String,
        key: String,
        /// Check for the table (and create it when missing) while building the store.
        #[arg(long)]
        create_table: bool,
    },
}

/// Seconds since the process (or script) began, at the end of each phase.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Phases {
    /// Rust: the tokio runtime built. Python: `import dynamorator` done.
    #[serde(alias = "import")]
    runtime: f64,
    /// The store built (Python: the constructor returned).
    build: f64,
    /// The first `get` answered.
    get: f64,
}

fn main() -> Result<(), String> {
    match Args::parse().command {
        Mode::Child {
            table,
            key,
            create_table,
        } => child(&table, &key, create_table),
        Mode::Measure {
            dynalite,
            python,
            runs,
            out,
        } => measure(&dynalite, &python, runs, &out),
    }
}

/// What a service does at start: a runtime, a store from the environment's configuration,
/// then its first read.
fn child(table: &str, key: &str, create_table: bool) -> Result<(), String> {
    let began = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let runtime_ready = began.elapsed().as_secs_f64();
    runtime.block_on(async {
        let store = Store::builder()
            .table(table)
            .region("us-east-1")
            .create_table(create_table)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let built = began.elapsed().as_secs_f64();
        let value = store
            .get::<serde_json::Value>(key)
            .await
            .map_err(|e| e.to_string())?;
        let answered = began.elapsed().as_secs_f64();
        if value.is_none() {
            return Err(format!("{key} not found in {table}"));
        }
        println!(
            "{}",
            serde_json::json!({"runtime": runtime_ready, "build": built, "get": answered})
        );
        Ok(())
    })
}

/// One variant's process, ready to spawn.
struct Variant {
    name: &'static str,
    command: Box<dyn Fn() -> Command>,
}

/// One run: wall time from the spawn to the answer line, and the phases the process reported.
struct Sample {
    wall: f64,
    phases: Phases,
}

fn measure(
    dynalite: &str,
    python: &std::path::Path,
    runs: usize,
    out: &std::path::Path,
) -> Result<(), String> {
    if !dynalite.starts_with("http://127.0.0.1:") {
        return Err(format!("{dynalite}: benchmarks only talk to 127.0.0.1"));
    }
    let table = format!("dynamorator-cold-{}", std::process::id());
    let key = "cold-start-key";
    prepare(dynalite, &table, key)?;

    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/cold_start_python.py");
    let environment = [
        ("AWS_ENDPOINT_URL", dynalite.to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let rust = |create_table: bool| {
        let (me, table, environment) = (me.clone(), table.clone(), environment.clone());
        move || {
            let mut command = Command::new(&me);
            command
                .args(["child", &table, key])
                .envs(environment.clone());
            if create_table {
                command.arg("--create-table");
            }
            command
        }
    };
    let python_command = {
        let (python, table, environment) = (python.to_owned(), table.clone(), environment.clone());
        move || {
            let mut command = Command::new(&python);
            command
                .arg(&script)
                .args([&table, key])
                .envs(environment.clone());
            command
        }
    };
    let variants = [
        Variant {
            name: "Rust, `create_table(false)`",
            command: Box::new(rust(false)),
        },
        Variant {
            name: "Rust, table set-up (the table exists)",
            command: Box::new(rust(true)),
        },
        Variant {
            name: "Python 0.1.7 (import, constructor, first `get`)",
            command: Box::new(python_command),
        },
    ];
    let mut rows = Vec::new();
    for variant in &variants {
        eprintln!("bench-cold-start: {}", variant.name);
        run_once((variant.command)())?; // warm-up
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            samples.push(run_once((variant.command)())?);
        }
        rows.push((variant.name, samples));
    }
    let markdown = report(&rows, runs);
    println!("{markdown}");
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("cold_start.md"), &markdown).map_err(|e| e.to_string())?;
    Ok(())
}

/// The table and the item every variant reads.
fn prepare(dynalite: &str, table: &str, key: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .endpoint_url(dynalite)
            .load()
            .await;
        let store = Store::builder()
            .table(table)
            .sdk_config(config)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let value = serde_json::json!({"name": "cold start", "tags": ["a", "b"], "n": 1});
        store
            .put(key, &value, Ttl::days(1))
            .await
            .map_err(|e| e.to_string())
    })
}

fn run_once(mut command: Command) -> Result<Sample, String> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
    }
    let wall = started.elapsed().as_secs_f64();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let phases: Phases = serde_json::from_str(line.trim())
        .map_err(|e| format!("{:?} printed {line:?}: {e}", command.get_program()))?;
    Ok(Sample { wall, phases })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(rows: &[(&str, Vec<Sample>)], runs: usize) -> String {
    let ms = |seconds: f64| format!("{:.1} ms", seconds * 1_000.0);
    let mut markdown = format!(
        "Medians of {runs} fresh processes each. Phases are measured inside the process, from \
         its `main` (Rust) or the script's first line (Python).\n\n\
         | variant | process start → first `get` answered | in-process: runtime ready / \
         `import` done | store built | first `get` answered | before `main` (spawn, loading) |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for (name, samples) in rows {
        let wall = median(samples.iter().map(|s| s.wall).collect());
        let runtime = median(samples.iter().map(|s| s.phases.runtime).collect());
        let build = median(samples.iter().map(|s| s.phases.build).collect());
        let get = median(samples.iter().map(|s| s.phases.get).collect());
        let before_main = median(samples.iter().map(|s| s.wall - s.phases.get).collect());
        markdown.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            ms(wall),
            ms(runtime),
            ms(build),
            ms(get),
            ms(before_main)
        ));
    }
    markdown
}
