//! `export [--prefix P] > file.jsonl`: every live item as a JSON line (see `jsonl`), read in
//! parallel scan segments. Unreadable items are reported per key on stderr and left out; the
//! scan goes on.

use std::io::{BufWriter, Write};
use std::pin::pin;

use dynamorator::{ScanOptions, Store};
use futures_util::TryStreamExt;
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::jsonl::Line;
use crate::output::{Output, problem};
use crate::progress::Progress;

pub async fn run(
    store: &Store,
    output: Output,
    options: ScanOptions,
    include_expired: bool,
) -> Result<Outcome, Failure> {
    let progress = Progress::new(output.quiet, "items scanned");
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let (mut exported, mut expired, mut unreadable) = (0u64, 0u64, 0u64);
    let mut items = pin!(store.scan(options));
    while let Some(item) = items.try_next().await? {
        progress.inc(1);
        let info = match item.info() {
            Ok(info) => info,
            Err(error) => {
                unreadable += 1;
                progress.suspend(|| problem(item.key(), error));
                continue;
            }
        };
        if info.expired && !include_expired {
            expired += 1;
            continue;
        }
        let value = match item.value::<Value>() {
            Ok(value) => value,
            Err(error) => {
                unreadable += 1;
                progress.suspend(|| problem(item.key(), &error));
                continue;
            }
        };
        let line = Line {
            key: item.key().to_owned(),
            value,
            ttl: info.expires_at,
            created_at: info.created_at,
            fresh_until: info.fresh_until,
            encoding: info.compressed.then_some(info.encoding),
        };
        serde_json::to_writer(&mut stdout, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| stdout.write_all(b"\n"))
            .map_err(|e| Failure::io("cannot write to stdout", e))?;
        exported += 1;
    }
    stdout
        .flush()
        .map_err(|e| Failure::io("cannot write to stdout", e))?;
    drop(progress);
    output.note(&format!(
        "exported {exported} items ({expired} expired left out, {unreadable} unreadable)"
    ));
    Ok(Outcome::done_unless(unreadable))
}
