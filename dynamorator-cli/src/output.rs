//! Output: human text by default, JSON with `--json`; times, sizes and counts as people read
//! them. Results go to stdout; progress, summaries and per-item problems to stderr.

use std::io::Write;

use chrono::DateTime;
use serde::Serialize;

use crate::args::OutputOptions;
use crate::failure::Failure;
use crate::ttl_text::format_secs;

/// Where a command's result and remarks go.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl From<OutputOptions> for Output {
    fn from(options: OutputOptions) -> Self {
        Output {
            json: options.json,
            quiet: options.quiet,
        }
    }
}

impl Output {
    /// Prints the result: `value` as one JSON object with `--json`, else `human`'s text.
    pub fn result<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<(), Failure> {
        let text = if self.json {
            serde_json::to_string(value).map_err(|e| {
                Failure::Invalid(format!("the result cannot be written as JSON: {e}"))
            })?
        } else {
            human()
        };
        print_line(&text)
    }

    /// A summary for people on stderr, unless `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

/// A problem with one item or line, reported on stderr whatever the options: scripts see it
/// and the exit code (3) says there was one.
pub fn problem(what: &str, why: &dyn std::fmt::Display) {
    eprintln!("dynamorator: {what}: {why}");
}

/// Writes `text` and a newline to stdout.
pub fn print_line(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::io("cannot write to stdout", e))
}

/// `2026-11-29 05:40:00 UTC`, or the number itself when it is no date.
pub fn utc(epoch_secs: i64) -> String {
    match DateTime::from_timestamp(epoch_secs, 0) {
        Some(time) => time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{epoch_secs} (epoch seconds)"),
    }
}

/// How far `epoch_secs` is from `now`: `in 6d 23h`, `3m 5s ago`.
pub fn relative(epoch_secs: i64, now: i64) -> String {
    let gap = format_secs(epoch_secs.abs_diff(now));
    if epoch_secs > now {
        format!("in {gap}")
    } else {
        format!("{gap} ago")
    }
}

/// A size in bytes with a binary unit: `812 B`, `1.2 KiB`, `3.4 MiB`.
pub fn bytes(size: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{size} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `part` of `whole` as a percentage with one decimal; `0.0%` of nothing.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 20), "5.0 MiB");
    }

    #[test]
    fn times_read_as_utc_and_relative() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(relative(1_000 + 90, 1_000), "in 1m 30s");
        assert_eq!(relative(1_000 - 7_200, 1_000), "2h ago");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "0.0%");
    }
}
