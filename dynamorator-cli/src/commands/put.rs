//! `put KEY --ttl 7d [FILE|-]`: stores the JSON read from a file or stdin.

use std::io::Read;
use std::path::Path;

use dynamorator::{Store, Ttl};
use serde::Serialize;
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, bytes, relative, utc};

#[derive(Serialize)]
struct Stored<'a> {
    key: &'a str,
    /// `None` when the read-back did not see the item yet (an eventually consistent read).
    size: Option<usize>,
    compressed: Option<bool>,
    /// `json`, `gzip` or `zstd`.
    encoding: Option<&'static str>,
    expires_at: i64,
}

pub async fn run(
    store: &Store,
    output: Output,
    key: &str,
    ttl: Ttl,
    file: Option<&Path>,
) -> Result<Outcome, Failure> {
    let (text, source) = read_input(file)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Invalid(format!("{source} is not JSON: {e}")))?;
    let now = store.clock().now_epoch_secs();
    store.put(key, &value, ttl).await?;
    // Read back to show the item as stored. DynamoDB's reads are eventually consistent: a
    // read just after the write may not see it yet, which is no failure of the write.
    let info = store.item_info(key).await?;
    let expires_at = info.as_ref().map_or_else(
        || now.saturating_add_unsigned(ttl.as_secs()),
        |info| info.expires_at,
    );
    let stored = Stored {
        key,
        size: info.as_ref().map(|info| info.size),
        compressed: info.as_ref().map(|info| info.compressed),
        encoding: info.as_ref().map(|info| info.encoding.name()),
        expires_at,
    };
    output.result(&stored, || {
        let form = match &info {
            Some(info) if info.compressed => format!(
                "{} compressed ({})",
                bytes(info.size as u64),
                info.encoding.name()
            ),
            Some(info) => bytes(info.size as u64),
            None => "written".to_owned(),
        };
        format!(
            "stored {key}: {form}, expires {} ({})",
            utc(expires_at),
            relative(expires_at, now)
        )
    })?;
    Ok(Outcome::Done)
}

/// The text of FILE, or of stdin for `-` or no file, and how to name it in errors.
fn read_input(file: Option<&Path>) -> Result<(String, String), Failure> {
    match file {
        Some(path) if path != Path::new("-") => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::io(format!("cannot read {name}"), e))?;
            Ok((text, name))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::io("cannot read stdin", e))?;
            Ok((text, "stdin".to_owned()))
        }
    }
}
