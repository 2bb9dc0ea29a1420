//! `import [FILE|-]`: writes the items of an export in batches, keeping each item's expiry.
//! A line that is not an export line, or an item the table refuses, is reported (line number,
//! key) and skipped; a failure of the table itself stops the import.

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

pub async fn run(
    store: &Store,
    output: Output,
    file: Option<&Path>,
    include_expired: bool,
) -> Result<Outcome, Failure> {
    let (reader, source) = open(file)?;
    let progress = Progress::new(output.quiet, "items written");
    let now = store.clock().now_epoch_secs();
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(RECORDS_PER_CALL);
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
        if line.ttl <= now && !include_expired {
            tally.expired += 1;
            continue;
        }
        batch.push(line.into_record());
        if batch.len() == RECORDS_PER_CALL {
            write(store, std::mem::take(&mut batch), &mut tally, &progress).await?;
        }
    }
    write(store, batch, &mut tally, &progress).await?;
    drop(progress);
    output.note(&format!(
        "imported {} items ({} expired left out, {} refused)",
        tally.written, tally.expired, tally.refused
    ));
    Ok(Outcome::done_unless(tally.refused))
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
