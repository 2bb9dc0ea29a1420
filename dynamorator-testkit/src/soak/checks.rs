//! The soak's targets, and whether a run met them.
//!
//! | check | passes when |
//! |---|---|
//! | resident memory | its largest sample after the warm-up is less than 5 % above the sample that ends the warm-up |
//! | each map's bound | no tick of the run saw the map larger than its bound ([`Bounds`]) |
//! | each map's growth (not the L1's, which fills up to its bound by design) | its peak over the last third of the samples after the warm-up is at most 1.5 × its peak over the first third, plus a slack of 2 × tasks × batch |
//! | lapsed pauses | the paused keys never exceed 2 × the most pauses in force + 64 + tasks × batch ([`lapsed_pauses`]) |
//! | live tasks | no tick saw more live tokio tasks than their bound |
//! | drained | once the tasks are done and background work has ended, no load, claim, refresh, window or background task is left |
//! | panics | none, in the tasks (their `JoinError`s) or anywhere in the process (a panic hook) |
//! | stuck calls | no call passed its deadline |
//! | answers | every value a call returned was its key's |
//! | errors | every error is one the injected faults or loader failures cause |
//! | read-back | every written key holds what the model expects, exactly where certain, and every loaded key only its loader's value |
//! | faults | the proxy injected faults (when the rate is not 0) |

use serde::Serialize;

use super::sampler::{Sample, Sizes};

/// How much the resident memory may grow after the warm-up: 5 %.
pub const RSS_GROWTH_LIMIT: f64 = 0.05;

/// Background tasks per workload task that the bound allows. A background task (a refresh of
/// a stale key, a batch refresh window, its timer) lasts one loader call and one or two store
/// requests, about a millisecond on dynalite, a few seconds when a request stalls; each call
/// starts two at most.
pub const BACKGROUND_PER_TASK: u64 = 16;

/// The smallest weight the L1 gives an entry (its bookkeeping alone), in bytes.
pub const L1_ENTRY_MIN_BYTES: u64 = 448;

/// What each map may hold at most, and the live tokio tasks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bounds {
    /// Per map.
    pub maps: Sizes,
    /// Live tokio tasks of the workload's runtime.
    pub live_tasks: u64,
}

impl Bounds {
    /// The bounds for `tasks` tasks making batch calls of `batch` keys over `keys` keys, with
    /// an L1 of `l1_bytes` and stores sending `concurrency` requests at once per call.
    ///
    /// - loads ≤ tasks: a task makes one call at a time, and only single-key read-through
    ///   enters the loads' coalescer.
    /// - claims ≤ tasks × batch: only batch read-through claims keys, at most its batch, and
    ///   without a soft timeout no claim outlives its call.
    /// - background ≤ [`BACKGROUND_PER_TASK`] × tasks.
    /// - L1 reads ≤ tasks + background: a call or a background task reads one key at a time
    ///   through the L1.
    /// - refreshing ≤ (tasks + background) × batch: a call takes its own stale keys (a batch
    ///   at most), a background task one key or one window.
    /// - refresh window ≤ batch: the window closes when it holds `refresh_batch_max` (the
    ///   batch) keys.
    /// - paused ≤ the loaded keys (half the keys): only a failed load pauses a key.
    /// - L1 entries ≤ l1_bytes / [`L1_ENTRY_MIN_BYTES`].
    /// - live tasks ≤ tasks + background + (tasks + background) × concurrency + 16: the
    ///   workload's tasks, the background tasks, one connection task per request in flight
    ///   (the HTTP client's pool), and the runtime's own.
    pub fn new(tasks: u64, batch: u64, keys: u64, l1_bytes: u64, concurrency: u64) -> Bounds {
        let background = BACKGROUND_PER_TASK * tasks;
        Bounds {
            maps: Sizes {
                loads: tasks,
                l1_reads: tasks + background,
                claims: tasks * batch,
                refreshing: (tasks + background) * batch,
                paused: keys / 2,
                paused_in_force: keys / 2,
                refresh_window: batch,
                background,
                l1_entries: l1_bytes / L1_ENTRY_MIN_BYTES,
            },
            live_tasks: tasks + background + (tasks + background) * concurrency + 16,
        }
    }
}

/// One target, met or not.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What it checks.
    pub name: String,
    /// Whether the run met it.
    pub passed: bool,
    /// The figures behind the verdict.
    pub detail: String,
}

impl Check {
    fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// The resident memory check: the samples after `warmup_secs` against the one that ends it.
pub fn rss(samples: &[Sample], warmup_secs: f64) -> Check {
    let name = "resident memory grows < 5 % after the warm-up";
    let Some(start) = samples.iter().position(|s| s.at_secs >= warmup_secs - 0.5) else {
        return Check::new(
            name,
            false,
            "no sample after the warm-up: the run is too short",
        );
    };
    let baseline = samples[start].rss_kb;
    let after = &samples[start + 1..];
    let Some(peak) = after.iter().map(|s| s.rss_kb).max() else {
        return Check::new(
            name,
            false,
            "one sample after the warm-up: the run is too short",
        );
    };
    if baseline == 0 {
        return Check::new(name, false, "no resident memory figure (/proc/self/status)");
    }
    let growth = peak as f64 / baseline as f64 - 1.0;
    Check::new(
        name,
        growth < RSS_GROWTH_LIMIT,
        format!(
            "{:.1} MiB at {:.0} s, at most {:.1} MiB after: {:+.2} %",
            baseline as f64 / 1024.0,
            samples[start].at_secs,
            peak as f64 / 1024.0,
            growth * 100.0
        ),
    )
}

/// Each map's bound, over every tick of the run.
pub fn bounds(samples: &[Sample], bounds: &Bounds) -> Vec<Check> {
    let peak = samples
        .iter()
        .fold(Sizes::default(), |peak, s| peak.max(s.peak));
    let mut checks: Vec<Check> = Sizes::NAMES
        .iter()
        .zip(peak.fields().into_iter().zip(bounds.maps.fields()))
        .map(|(name, (peak, bound))| {
            Check::new(
                format!("{name} within its bound"),
                peak <= bound,
                format!("peak {peak}, bound {bound}"),
            )
        })
        .collect();
    let tasks = samples.iter().map(|s| s.peak_live_tasks).max().unwrap_or(0);
    checks.push(Check::new(
        "live tokio tasks within their bound",
        tasks <= bounds.live_tasks,
        format!("peak {tasks}, bound {}", bounds.live_tasks),
    ));
    checks
}

/// Each map's growth after the warm-up (the L1's excepted): the last third's peak against the
/// first third's.
pub fn growth(samples: &[Sample], warmup_secs: f64, slack: u64) -> Vec<Check> {
    let after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at_secs > warmup_secs + 0.5)
        .collect();
    if after.len() < 3 {
        return vec![Check::new(
            "maps do not grow after the warm-up",
            false,
            format!(
                "{} samples after the warm-up; 3 at least are needed",
                after.len()
            ),
        )];
    }
    let third = after.len() / 3;
    let peak_of = |samples: &[&Sample]| {
        samples
            .iter()
            .fold(Sizes::default(), |peak, s| peak.max(s.peak))
    };
    let first = peak_of(&after[..third]);
    let last = peak_of(&after[after.len() - third..]);
    Sizes::NAMES
        .iter()
        .zip(first.fields().into_iter().zip(last.fields()))
        // The L1 fills up to its byte bound by design, and empties at every fleet clear: its
        // bound is its check.
        .filter(|(name, _)| **name != "l1_entries")
        .map(|(name, (first, last))| {
            let limit = first + first / 2 + slack;
            Check::new(
                format!("{name} does not grow after the warm-up"),
                last <= limit,
                format!("peak {first} in the first third, {last} in the last (limit {limit})"),
            )
        })
        .collect()
}

/// The fewest paused keys at which the library drops lapsed pauses (its `SWEEP_FROM`).
pub const PAUSED_SWEEP_FROM: u64 = 64;

/// Whether the paused keys stay within twice the pauses in force, plus the sweep's floor and
/// `slack` (the keys the calls in flight can pause, tasks × batch): the library drops lapsed
/// pauses whenever the map has doubled since it last did, so lapsed pauses cannot pile up.
pub fn lapsed_pauses(samples: &[Sample], slack: u64) -> Check {
    let paused = samples.iter().map(|s| s.peak.paused).max().unwrap_or(0);
    let in_force = samples
        .iter()
        .map(|s| s.peak.paused_in_force)
        .max()
        .unwrap_or(0);
    let limit = 2 * in_force + PAUSED_SWEEP_FROM + slack;
    Check::new(
        "paused keys ≤ 2 × pauses in force + 64 + tasks × batch",
        paused <= limit,
        format!("peak {paused} paused, {in_force} in force (limit {limit})"),
    )
}

/// Whether the maps that hold work in flight are empty once the work is done.
pub fn drained(after: &Sizes) -> Check {
    let left = [
        ("loads", after.loads),
        ("l1_reads", after.l1_reads),
        ("claims", after.claims),
        ("refreshing", after.refreshing),
        ("refresh_window", after.refresh_window),
        ("background", after.background),
    ];
    let non_empty: Vec<String> = left
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    Check::new(
        "in-flight maps empty once the work is done",
        non_empty.is_empty(),
        if non_empty.is_empty() {
            "all empty".to_owned()
        } else {
            format!("left: {}", non_empty.join(", "))
        },
    )
}

/// A count that must be zero.
pub fn zero(name: &str, count: u64, examples: &[String]) -> Check {
    let detail = if count == 0 || examples.is_empty() {
        count.to_string()
    } else {
        format!("{count}: {}", examples.join("; "))
    };
    Check::new(name, count == 0, detail)
}

/// A condition, with its figures.
pub fn holds(name: &str, passed: bool, detail: String) -> Check {
    Check::new(name, passed, detail)
}
