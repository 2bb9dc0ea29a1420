//! `put KEY [VALUE] --ttl 7d [--file FILE]`: stores JSON given inline, read from a file, or
//! from stdin.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

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
    input: Input,
) -> Result<Outcome, Failure> {
    let (text, source) = read_input(input)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| not_json(&source, &text, &e))?;
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

/// Where the value comes from.
#[derive(Debug)]
pub enum Input {
    /// Given on the command line.
    Inline(String),
    /// A file's text.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

/// The input the arguments name: VALUE, `--file FILE`, or stdin (`-` for either, or none).
pub fn input(value: Option<String>, file: Option<PathBuf>) -> Input {
    match (value, file) {
        (Some(value), _) if value != "-" => Input::Inline(value),
        (_, Some(path)) if path != Path::new("-") => Input::File(path),
        _ => Input::Stdin,
    }
}

/// The value's text, and how to name where it came from in errors.
fn read_input(input: Input) -> Result<(String, String), Failure> {
    match input {
        Input::Inline(text) => Ok((text, "VALUE".to_owned())),
        Input::File(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Failure::io(format!("cannot read {name}"), e))?;
            Ok((text, name))
        }
        Input::Stdin => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                // Nothing piped in: say what the tool waits for, or it looks hung.
                eprintln!(
                    "dynamorator: reading the value from stdin: type JSON, then Ctrl-D (or give \
                     it inline: put KEY '{{\"a\": 1}}', or --file FILE)"
                );
            }
            let mut text = String::new();
            stdin
                .lock()
                .read_to_string(&mut text)
                .map_err(|e| Failure::io("cannot read stdin", e))?;
            Ok((text, "stdin".to_owned()))
        }
    }
}

/// Why the input is not JSON; for a bare word given inline, how to write it as a string or
/// name a file.
fn not_json(source: &str, text: &str, error: &serde_json::Error) -> Failure {
    let hint = if source == "VALUE" {
        let looks_like_json = text
            .trim_start()
            .starts_with(|c: char| matches!(c, '{' | '[' | '"' | '-') || c.is_ascii_digit());
        if Path::new(text).is_file() {
            format!(" ({text} is a file: read it with --file {text})")
        } else if looks_like_json {
            String::new()
        } else {
            format!(" (a string is quoted as JSON: '\"{text}\"')")
        }
    } else {
        String::new()
    };
    Failure::Invalid(format!("{source} is not JSON: {error}{hint}"))
}
