//! A soak run's report: its settings, the figures of every sample, the totals, the read-back
//! and the checks; as markdown (BENCHMARKS.md's tables) and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::checks::{Bounds, Check};
use super::readback::ReadBack;
use super::sampler::{Sample, Sizes};

/// The settings a run used.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The run's length, seconds.
    pub duration_secs: f64,
    /// The warm-up, seconds.
    pub warmup_secs: f64,
    /// The sample interval, seconds.
    pub sample_secs: f64,
    /// Keys.
    pub keys: usize,
    /// Tasks.
    pub tasks: usize,
    /// Share of requests the proxy failed or delayed.
    pub fault_rate: f64,
    /// Keys per batch call.
    pub batch: usize,
    /// Seconds between fleet clears.
    pub clear_every_secs: f64,
    /// Seconds a written value is fresh (then stale for a day).
    pub fresh_secs: u64,
    /// The L1's bound, bytes.
    pub l1_max_bytes: u64,
    /// Share of loader calls that fail.
    pub loader_failure_rate: f64,
    /// The seed.
    pub seed: u64,
}

/// A figure by name.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    /// Its name.
    pub name: String,
    /// Its value.
    pub count: u64,
}

/// Named counts from names and values.
pub fn named<'a>(names: impl IntoIterator<Item = &'a str>, counts: &[u64]) -> Vec<Named> {
    names
        .into_iter()
        .zip(counts)
        .map(|(name, count)| Named {
            name: name.to_owned(),
            count: *count,
        })
        .collect()
}

/// Everything a run measured and concluded.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How it ran.
    pub settings: Settings,
    /// One row per sample interval (the first at the start).
    pub samples: Vec<Sample>,
    /// Calls, by operation.
    pub ops: Vec<Named>,
    /// Mean milliseconds per call, by operation.
    pub mean_ms: Vec<(String, f64)>,
    /// Errors returned, by kind.
    pub errors: Vec<Named>,
    /// Requests the proxy saw.
    pub requests: u64,
    /// Faults it injected, by kind.
    pub faults: Vec<Named>,
    /// Fleet clears acknowledged, and failed after their retries.
    pub clears: (u64, u64),
    /// The cache's statistics at the end, the ones read-through moves.
    pub cache_stats: Vec<Named>,
    /// The maps once the work is done.
    pub after: Sizes,
    /// What the read-back found.
    pub read_back: ReadBack,
    /// The bounds checked.
    pub bounds: Bounds,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    /// The checks that failed, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|check| !check.passed)
            .map(|check| format!("{}: {}", check.name, check.detail))
            .collect()
    }

    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    }

    /// The report as markdown: the settings, the figures table, totals and checks.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let _ = writeln!(
            out,
            "{:.0} s ({:.1} min), {} tasks, {} keys (zipfian), {:.0} % of requests failed or \
             delayed by the fault proxy, batches of {}, a fleet clear every {:.0} s, values fresh \
             for {} s then stale, an L1 of {} MiB, {:.0} % of loader calls failing; warm-up {:.0} \
             s, a sample every {:.0} s (peaks over the interval's 1-second ticks).\n",
            s.duration_secs,
            s.duration_secs / 60.0,
            s.tasks,
            s.keys,
            s.fault_rate * 100.0,
            s.batch,
            s.clear_every_secs,
            s.fresh_secs,
            s.l1_max_bytes / (1024 * 1024),
            s.loader_failure_rate * 100.0,
            s.warmup_secs,
            s.sample_secs,
        );
        out.push_str(
            "| time | RSS (MiB) | live tasks (peak) | loads | L1 reads | claims | refreshing | \
             paused (in force) | refresh window | background | L1 entries | calls | errors | requests | faults |\n",
        );
        out.push_str(
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for sample in &self.samples {
            let p = &sample.peak;
            let _ = writeln!(
                out,
                "| {} | {:.1} | {} ({}) | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
                clock(sample.at_secs),
                sample.rss_kb as f64 / 1024.0,
                sample.live_tasks,
                sample.peak_live_tasks,
                p.loads,
                p.l1_reads,
                p.claims,
                p.refreshing,
                p.paused,
                p.paused_in_force,
                p.refresh_window,
                p.background,
                p.l1_entries,
                sample.ops,
                sample.errors,
                sample.requests,
                sample.faults,
            );
        }
        let b = &self.bounds.maps;
        let _ = writeln!(
            out,
            "| bound | | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | | | | |\n",
            self.bounds.live_tasks,
            b.loads,
            b.l1_reads,
            b.claims,
            b.refreshing,
            b.paused,
            b.paused_in_force,
            b.refresh_window,
            b.background,
            b.l1_entries,
        );
        out.push_str("Map sizes are each interval's peak; calls, errors, requests and faults are the interval's.\n\n");
        let list = |items: &[Named]| {
            items
                .iter()
                .map(|n| format!("{} {}", n.name, n.count))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let total_ops: u64 = self.ops.iter().map(|n| n.count).sum();
        let total_errors: u64 = self.errors.iter().map(|n| n.count).sum();
        let total_faults: u64 = self.faults.iter().map(|n| n.count).sum();
        let _ = writeln!(out, "- calls: {total_ops} ({})", list(&self.ops));
        let means = self
            .mean_ms
            .iter()
            .map(|(name, ms)| format!("{name} {ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "- mean time per call, ms: {means}");
        let _ = writeln!(
            out,
            "- errors returned: {total_errors} ({})",
            list(&self.errors)
        );
        let _ = writeln!(
            out,
            "- requests through the proxy: {}, faults injected: {total_faults} ({})",
            self.requests,
            list(&self.faults)
        );
        let _ = writeln!(
            out,
            "- fleet clears: {} acknowledged, {} failed after retries",
            self.clears.0, self.clears.1
        );
        let _ = writeln!(out, "- cache statistics: {}", list(&self.cache_stats));
        let r = &self.read_back;
        let _ = writeln!(
            out,
            "- read-back: {} written keys ({} certain: {} values, {} absent; {} uncertain, checked \
             against their possibilities; {} unchecked), {} loaded keys ({} holding their \
             loader's value); {} mismatches, {} unread",
            r.written,
            r.certain,
            r.certain_values,
            r.certain_absent,
            r.uncertain,
            r.unchecked,
            r.loaded,
            r.loaded_found,
            r.mismatches,
            r.unread,
        );
        for example in &r.examples {
            let _ = writeln!(out, "  - {example}");
        }
        out.push_str("\n| check | result | figures |\n|---|---|---|\n");
        for check in &self.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                check.name,
                if check.passed { "pass" } else { "**FAIL**" },
                check.detail.replace('|', "/")
            );
        }
        out
    }
}

/// Seconds as `m:ss`.
fn clock(secs: f64) -> String {
    let secs = secs.round() as u64;
    format!("{}:{:02}", secs / 60, secs % 60)
}
