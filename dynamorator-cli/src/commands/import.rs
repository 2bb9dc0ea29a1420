//! `import [FILE|-]`: writes the items of an export in batches, keeping each item's expiry and
//! encoding (`--reencode`: the options' instead). A line that is not an export line, or an item
//! the table refuses, is reported (line number, key) and skipped; a failure of the table itself
//! stops the import. With `--include-expired`, expired items are written and counted; the
//! embedded file removes items a day after they expire, so it is asked afterwards which it kept.

use std::io::{BufRead, BufReader};
use std::path::Path;

use dynamorator::{Error, Record, Store};
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::jsonl::Line;
use crate::output::{Output, problem};
use crate::progress::Progress;

/// Records per `put_records` call: big enough to keep batch writes concurrent, small enough
/// that a stop loses little.
const RECORDS_PER_CALL: usize = 500;

/// What `import` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Write expired items too.
    pub include_expired: bool,
    /// Encode as the connection options say, not as exported.
    pub reencode: bool,
    /// The store is the embedded file (which removes items a day after expiry).
    pub embedded_file: bool,
}

pub async fn run(
    store: &Store,
    output: Output,
    file: Option<&Path>,
    options: Options,
) -> Result<Outcome, Failure> {
    let (reader, source) = open(file)?;
    let progress = Progress::new(output.quiet, "items written");
    let now = store.clock().now_epoch_secs();
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(RECORDS_PER_CALL);
    let mut expired_keys = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let text = line.map_err(|e| Failure::io(format!("cannot read {source}"), e))?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = match serde_json::from_str(&text) {
            Ok(line) => line,
            Err(error) => {
                tally.refused += 1;
                progress.suspend(|| problem(&format!("{source} line {}", index + 1), &error));
                continue;
            }
        };
        if line.ttl <= now {
            if !options.include_expired {
                tally.expired += 1;
                continue;
            }
            expired_keys.push(line.key.clone());
        }
        batch.push(line.into_record(options.reencode));
        if batch.len() == RECORDS_PER_CALL {
            write(store, std::mem::take(&mut batch), &mut tally, &progress).await?;
        }
    }
    write(store, batch, &mut tally, &progress).await?;
    drop(progress);
    let note = if options.include_expired {
        let (kept, dropped) = expired_kept(store, &expired_keys, options.embedded_file).await?;
        let dropped_note = if dropped > 0 {
            format!(
                ", {dropped} dropped by the embedded file, which removes items a day after they \
                 expire"
            )
        } else {
            String::new()
        };
        format!(
            "imported {} items ({} expired: {kept} kept as expired{dropped_note}; {} refused)",
            tally.written.saturating_sub(dropped),
            expired_keys.len(),
            tally.refused
        )
    } else {
        format!(
            "imported {} items ({} expired left out, {} refused)",
            tally.written, tally.expired, tally.refused
        )
    };
    output.note(&note);
    Ok(Outcome::done_unless(tally.refused))
}

/// How many of the expired items written are still there, and how many are gone. Only the
/// embedded file removes any (a day after expiry, when a read meets them or its sweep runs);
/// a table keeps them until DynamoDB's TTL deletion gets to them, so it is not asked.
async fn expired_kept(
    store: &Store,
    keys: &[String],
    embedded_file: bool,
) -> Result<(u64, u64), Failure> {
    if !embedded_file {
        return Ok((keys.len() as u64, 0));
    }
    let (mut kept, mut dropped) = (0, 0);
    for key in keys {
        match store.item_info(key).await {
            Ok(Some(_)) => kept += 1,
            Ok(None) => dropped += 1,
            // A key the store refused was never written: reported as refused already.
            Err(error) if error.is_invalid_input() => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok((kept, dropped))
}

#[derive(Default)]
struct Tally {
    written: u64,
    expired: u64,
    refused: u64,
}

/// Writes a batch; when the table refuses some of it (an invalid key, an item too large),
/// writes its records one by one so each refusal is reported and the rest written.
async fn write(
    store: &Store,
    batch: Vec<Record<Value>>,
    tally: &mut Tally,
    progress: &Progress,
) -> Result<(), Failure> {
    let count = batch.len() as u64;
    match store.put_records(batch.iter().map(borrowed)).await {
        Ok(()) => {
            tally.written += count;
            progress.inc(count);
            Ok(())
        }
        Err(error) if error.is_invalid_input() => {
            for record in &batch {
                let key = &record.key;
                match store.put_records([borrowed(record)]).await {
                    Ok(()) => {
                        tally.written += 1;
                        progress.inc(1);
                    }
                    Err(error) if error.is_invalid_input() => {
                        tally.refused += 1;
                        progress.suspend(|| problem(key, &error));
                    }
                    Err(error) => return Err(stopped(error, tally)),
                }
            }
            Ok(())
        }
        Err(error) => Err(stopped(error, tally)),
    }
}

/// The record with its value borrowed, so a batch can be tried again without copying values.
fn borrowed(record: &Record<Value>) -> Record<&Value> {
    Record::new(record.key.clone(), &record.value, record.expires_at)
        .created_at(record.created_at)
        .fresh_until(record.fresh_until)
        .encoding(record.encoding)
}

/// A failure of the table itself ends the import: it would fail every batch after it.
fn stopped(error: Error, tally: &Tally) -> Failure {
    problem(
        "import",
        &format!("stopped after {} items written", tally.written),
    );
    Failure::Store(error)
}

fn open(file: Option<&Path>) -> Result<(Box<dyn BufRead>, String), Failure> {
    match file {
        Some(path) if path != Path::new("-") => {
            let name = path.display().to_string();
            let opened = std::fs::File::open(path)
                .map_err(|e| Failure::io(format!("cannot open {name}"), e))?;
            Ok((Box::new(BufReader::new(opened)), name))
        }
        _ => Ok((Box::new(std::io::stdin().lock()), "stdin".to_owned())),
    }
}
