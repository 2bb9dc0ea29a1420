//! The commands, one file each; `run` opens the store and hands it to the one asked for.

mod delete;
mod export;
mod get;
mod import;
mod info;
mod keys;
mod purge;
mod put;
mod stats;

use dynamorator::ScanOptions;

use crate::args::{Cli, Command, ScanArgs};
use crate::connect;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

pub async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let store = connect::open(&cli.connection).await?;
    let output = Output::from(cli.output);
    match cli.command {
        Command::Get { key } => get::run(&store, output, &key).await,
        Command::Info { key } => info::run(&store, output, &key).await,
        Command::Put { key, ttl, file } => {
            put::run(&store, output, &key, ttl, file.as_deref()).await
        }
        Command::Delete { keys } => delete::run(&store, output, &keys).await,
        Command::Keys { prefix, limit } => {
            keys::run(&store, output, prefix.as_deref(), limit).await
        }
        Command::Export {
            scan,
            include_expired,
        } => export::run(&store, output, scan_options(&scan), include_expired).await,
        Command::Import {
            file,
            include_expired,
        } => import::run(&store, output, file.as_deref(), include_expired).await,
        Command::PurgeExpired { scan, dry_run } => {
            purge::run(&store, output, scan_options(&scan), dry_run).await
        }
        Command::Stats { scan, svg, top } => {
            stats::run(&store, output, scan_options(&scan), svg.as_deref(), top).await
        }
    }
}

fn scan_options(scan: &ScanArgs) -> ScanOptions {
    let options = ScanOptions::new().segments(scan.segments);
    match &scan.prefix {
        Some(prefix) => options.prefix(prefix),
        None => options,
    }
}
