//! `dynamorator`: the command-line tool of a dynamorator table, on DynamoDB or the embedded
//! file. Read, write, list, export, import, purge expired items and measure a table.
//!
//! Exit codes (also in `--help`): 0 done; 1 the key is absent (or expired, for `get`); 2 an
//! error (bad arguments included); 3 done, but some items could not be read or written (each
//! reported on stderr).

mod args;
mod commands;
mod connect;
mod failure;
mod jsonl;
mod output;
mod progress;
mod stats;
mod ttl_text;

use std::process::ExitCode;

use clap::Parser;

use args::Cli;
use failure::{Failure, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&Failure::io("cannot start the async runtime", error)),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => report(&failure),
    }
}

/// Prints a failure on stderr with its causes, and gives the error exit code.
fn report(failure: &Failure) -> ExitCode {
    eprintln!("dynamorator: error: {}", failure.chain());
    Outcome::error_exit_code()
}

/// The library's warnings (a table without the TTL API, say) go to stderr; `RUST_LOG` changes
/// what is shown.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
