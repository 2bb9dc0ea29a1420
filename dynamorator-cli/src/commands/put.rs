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
    size: usize,
    compressed: bool,
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
    store.put(key, &value, ttl).await?;
    // Read back: what the table now holds, as the store wrote it.
    let Some(info) = store.item_info(key).await? else {
        return Err(Failure::Invalid(format!(
            "{key:?} was written but is not in the table (deleted at once by another client?)"
        )));
    };
    let now = store.clock().now_epoch_secs();
    let stored = Stored {
        key,
        size: info.size,
        compressed: info.compressed,
        expires_at: info.expires_at,
    };
    output.result(&stored, || {
        format!(
            "stored {key}: {}{}, expires {} ({})",
            bytes(info.size as u64),
            if info.compressed { " compressed" } else { "" },
            utc(info.expires_at),
            relative(info.expires_at, now)
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
