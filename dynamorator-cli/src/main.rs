//! `dynamorator`: the command-line tool of a dynamorator table, on DynamoDB or the embedded
//! file. Read, write, list, export, import, purge expired items and measure a table.
//!
//! Exit codes (also in `--help`): 0 done; 1 the key is absent (or expired); 2 an error (bad
//! arguments included); 3 done, but some items could not be read or written (each reported on
//! stderr).

mod args;
mod commands;
mod connect;
mod failure;
mod jsonl;
mod numbers;
mod output;
mod progress;
mod stats;
mod ttl_text;

use std::io::IsTerminal;
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

/// The library's warnings (a table without the TTL API, say) go to stderr, in colour only on a
/// terminal. The AWS SDK's own are left out (its look-ups of a region or credentials that are
/// not there end in the tool's one-line error instead); `RUST_LOG` changes what is shown
/// (`RUST_LOG=warn` brings them back).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dynamorator=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}
