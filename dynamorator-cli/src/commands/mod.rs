//! The commands, one file each; `run` opens the store and hands it to the one asked for.

mod delete;
mod exists;
mod expire;
mod export;
mod get;
mod import;
mod info;
mod keys;
mod purge;
mod put;
mod stats;
mod ttl;

use dynamorator::ScanOptions;

use crate::args::{Cli, Command, ScanArgs};
use crate::connect;
use crate::failure::{Failure, Outcome};
use crate::output::Output;

pub async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let store = connect::open(&cli.connection)
        .await
        .map_err(|failure| failure.in_context(&cli.connection))?;
    let output = Output::from(cli.output);
    let result = match cli.command {
        Command::Get { key } => get::run(&store, output, &key).await,
        Command::Info { key } => info::run(&store, output, &key).await,
        Command::Put {
            key,
            value,
            ttl,
            file,
        } => put::run(&store, output, &key, ttl, put::input(value, file)).await,
        Command::Delete { keys } => delete::run(&store, output, &keys).await,
        Command::Keys {
            prefix,
            limit,
            after,
        } => keys::run(&store, output, prefix.as_deref(), limit, after).await,
        Command::Ttl { key } => ttl::run(&store, output, &key).await,
        Command::Expire { key, ttl } => expire::run(&store, output, &key, ttl).await,
        Command::Exists { key } => exists::run(&store, output, &key).await,
        Command::Export {
            scan,
            include_expired,
        } => export::run(&store, output, scan_options(&scan), include_expired).await,
        Command::Import {
            file,
            include_expired,
            reencode,
        } => {
            let options = import::Options {
                include_expired,
                reencode,
                embedded_file: cli.connection.embedded_file().is_some(),
            };
            import::run(&store, output, file.as_deref(), options).await
        }
        Command::PurgeExpired { scan, dry_run } => {
            purge::run(&store, output, scan_options(&scan), dry_run).await
        }
        Command::Stats { scan, svg, top } => {
            stats::run(&store, output, scan_options(&scan), svg.as_deref(), top).await
        }
    };
    // Errors are said in the tool's words: its flags, the table's name.
    result.map_err(|failure| failure.in_context(&cli.connection))
}

fn scan_options(scan: &ScanArgs) -> ScanOptions {
    let options = ScanOptions::new().segments(scan.segments);
    match &scan.prefix {
        Some(prefix) => options.prefix(prefix),
        None => options,
    }
}
