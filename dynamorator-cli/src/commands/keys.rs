//! `keys [--prefix P] [--limit N] [--after KEY]`: the keys of live items, one per line
//! (`--json`: one object with `keys` and `last_key`), in the table's order. A listing stopped
//! by `--limit` resumes with `--after` its last key, as the Python package's
//! `list_keys(limit, last_key)` pages.

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, print_line};
use crate::progress::Progress;

/// Keys read per request.
const PAGE: u32 = 1_000;

#[derive(Serialize)]
struct Keys {
    keys: Vec<String>,
    /// The cursor for `--after` when the listing stopped at `--limit`; `None` at the end.
    last_key: Option<String>,
}

pub async fn run(
    store: &Store,
    output: Output,
    prefix: Option<&str>,
    limit: Option<u64>,
    after: Option<String>,
) -> Result<Outcome, Failure> {
    let progress = Progress::new(output.quiet, "keys");
    let limit = limit.unwrap_or(u64::MAX);
    let mut found = Vec::new();
    let mut count: u64 = 0;
    let mut token = after.filter(|key| !key.is_empty());
    let mut last_listed: Option<String> = None;
    let mut stopped = false;
    // Every page moves the token on, so the walk ends: at the table's end, or at the limit.
    'pages: loop {
        let page = store.list_keys(PAGE, token.as_deref()).await?;
        for key in page.keys {
            progress.inc(1);
            if prefix.is_some_and(|prefix| !key.starts_with(prefix)) {
                continue;
            }
            if count == limit {
                stopped = true;
                break 'pages;
            }
            count += 1;
            if output.json {
                found.push(key.clone());
            } else {
                progress.suspend(|| print_line(&key))?;
            }
            last_listed = Some(key);
        }
        match page.last_key {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    drop(progress);
    // A cursor only when there is more to list.
    let last_key = if stopped { last_listed } else { None };
    if output.json {
        output.result(
            &Keys {
                keys: found,
                last_key,
            },
            String::new,
        )?;
    } else if let Some(key) = &last_key {
        output.note(&format!("more keys: --after {key}"));
    }
    Ok(Outcome::Done)
}
