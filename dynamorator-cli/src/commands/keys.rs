//! `keys [--prefix P] [--limit N]`: the keys of live items, one per line (`--json`: one
//! object).

use dynamorator::Store;
use futures_util::TryStreamExt;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, print_line};
use crate::progress::Progress;

#[derive(Serialize)]
struct Keys {
    keys: Vec<String>,
}

pub async fn run(
    store: &Store,
    output: Output,
    prefix: Option<&str>,
    limit: Option<u64>,
) -> Result<Outcome, Failure> {
    let progress = Progress::new(output.quiet, "keys");
    let limit = limit.unwrap_or(u64::MAX);
    let mut keys = std::pin::pin!(store.keys());
    let mut found = Vec::new();
    let mut count: u64 = 0;
    while count < limit {
        let Some(key) = keys.try_next().await? else {
            break;
        };
        progress.inc(1);
        if prefix.is_some_and(|prefix| !key.starts_with(prefix)) {
            continue;
        }
        count += 1;
        if output.json {
            found.push(key);
        } else {
            progress.suspend(|| print_line(&key))?;
        }
    }
    drop(progress);
    if output.json {
        output.result(&Keys { keys: found }, String::new)?;
    }
    Ok(Outcome::Done)
}
