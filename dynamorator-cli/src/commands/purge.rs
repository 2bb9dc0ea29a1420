//! `purge-expired [--dry-run]`: deletes the items whose `ttl` has passed, for servers (moto,
//! dynalite) and tables without DynamoDB's TTL deletion. Items are deleted in batches as the
//! scan finds them.

use std::pin::pin;

use dynamorator::{ScanOptions, Store};
use futures_util::TryStreamExt;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, problem};
use crate::progress::Progress;

/// Keys per `delete_many` call while scanning.
const KEYS_PER_CALL: usize = 1_000;

#[derive(Default, Serialize)]
struct Purge {
    scanned: u64,
    expired: u64,
    deleted: u64,
    unreadable: u64,
    dry_run: bool,
}

pub async fn run(
    store: &Store,
    output: Output,
    options: ScanOptions,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let progress = Progress::new(output.quiet, "items scanned");
    let mut purge = Purge {
        dry_run,
        ..Purge::default()
    };
    let mut expired_keys = Vec::with_capacity(KEYS_PER_CALL);
    // Only expiry matters here: split values' parts are not joined, and parts are scanned as
    // items of their own, so expired ones (their head's, or left to their TTL by a batch
    // overwrite) are deleted too, where no TTL deletion does it.
    let options = options.join_split_values(false).include_parts(true);
    let mut items = pin!(store.scan(options));
    while let Some(item) = items.try_next().await? {
        purge.scanned += 1;
        progress.inc(1);
        match item.info() {
            // Without a readable ttl there is no telling whether it has expired: left alone.
            Err(error) => {
                purge.unreadable += 1;
                progress.suspend(|| problem(item.key(), error));
            }
            Ok(info) if info.expired => {
                purge.expired += 1;
                expired_keys.push(item.key().to_owned());
            }
            Ok(_) => {}
        }
        if expired_keys.len() == KEYS_PER_CALL {
            delete(store, &mut expired_keys, &mut purge).await?;
            progress.message(format!("· {} expired", purge.expired));
        }
    }
    delete(store, &mut expired_keys, &mut purge).await?;
    drop(progress);
    output.result(&purge, || {
        let verb = if dry_run { "would delete" } else { "deleted" };
        let count = if dry_run {
            purge.expired
        } else {
            purge.deleted
        };
        format!(
            "{verb} {count} expired items of {} scanned ({} unreadable)",
            purge.scanned, purge.unreadable
        )
    })?;
    Ok(Outcome::done_unless(purge.unreadable))
}

async fn delete(store: &Store, keys: &mut Vec<String>, purge: &mut Purge) -> Result<(), Failure> {
    if purge.dry_run || keys.is_empty() {
        keys.clear();
        return Ok(());
    }
    store.delete_many(keys.iter()).await?;
    purge.deleted += keys.len() as u64;
    keys.clear();
    Ok(())
}
