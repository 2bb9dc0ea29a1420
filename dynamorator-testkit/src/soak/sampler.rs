//! What the soak records as it runs: every tick (a second at most) the sizes of the cache's
//! per-key maps and the live tokio tasks, kept as the interval's peak; every sample interval
//! (a minute in the long run) a [`Sample`] with the resident memory, those peaks and the
//! interval's operations, errors and requests.

use std::time::Instant;

use dynamorator::__bench::EngineSizes;
use serde::Serialize;

use super::tally::Tally;
use crate::proxy::Proxy;

/// The sizes of a cache's per-key maps (see [`EngineSizes`]), as the report shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sizes {
    /// Keys with a single-key read-through load in flight.
    pub loads: u64,
    /// Keys with a store read in flight through the L1.
    pub l1_reads: u64,
    /// Keys held by batch read-through calls.
    pub claims: u64,
    /// Keys being refreshed or loaded in the background.
    pub refreshing: u64,
    /// Keys paused after a failed load (lapsed pauses included until dropped).
    pub paused: u64,
    /// Of those, the keys still paused.
    pub paused_in_force: u64,
    /// Stale keys in the open batch refresh window.
    pub refresh_window: u64,
    /// Background tasks.
    pub background: u64,
    /// L1 entries.
    pub l1_entries: u64,
}

impl From<EngineSizes> for Sizes {
    fn from(sizes: EngineSizes) -> Sizes {
        let count = |n: usize| n as u64;
        Sizes {
            loads: count(sizes.loads),
            l1_reads: count(sizes.l1_reads),
            claims: count(sizes.claims),
            refreshing: count(sizes.refreshing),
            paused: count(sizes.paused),
            paused_in_force: count(sizes.paused_in_force),
            refresh_window: count(sizes.refresh_window),
            background: count(sizes.background),
            l1_entries: sizes.l1_entries,
        }
    }
}

impl Sizes {
    /// The names of the maps, in [`fields`](Sizes::fields)' order.
    pub const NAMES: [&'static str; 9] = [
        "loads",
        "l1_reads",
        "claims",
        "refreshing",
        "paused",
        "paused_in_force",
        "refresh_window",
        "background",
        "l1_entries",
    ];

    /// Every size, in [`NAMES`](Sizes::NAMES)' order.
    pub fn fields(&self) -> [u64; 9] {
        [
            self.loads,
            self.l1_reads,
            self.claims,
            self.refreshing,
            self.paused,
            self.paused_in_force,
            self.refresh_window,
            self.background,
            self.l1_entries,
        ]
    }

    /// The larger of each size.
    pub fn max(self, other: Sizes) -> Sizes {
        Sizes {
            loads: self.loads.max(other.loads),
            l1_reads: self.l1_reads.max(other.l1_reads),
            claims: self.claims.max(other.claims),
            refreshing: self.refreshing.max(other.refreshing),
            paused: self.paused.max(other.paused),
            paused_in_force: self.paused_in_force.max(other.paused_in_force),
            refresh_window: self.refresh_window.max(other.refresh_window),
            background: self.background.max(other.background),
            l1_entries: self.l1_entries.max(other.l1_entries),
        }
    }
}

/// One row of the soak's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the workload started.
    pub at_secs: f64,
    /// The process's resident memory, kB (`VmRSS`).
    pub rss_kb: u64,
    /// Live tokio tasks of the runtime the workload runs on, at the sample.
    pub live_tasks: u64,
    /// The most live tokio tasks seen at a tick of the interval.
    pub peak_live_tasks: u64,
    /// The maps' sizes at the sample.
    pub sizes: Sizes,
    /// The largest size of each map seen at a tick of the interval.
    pub peak: Sizes,
    /// Calls made in the interval.
    pub ops: u64,
    /// Errors returned in the interval.
    pub errors: u64,
    /// Requests the fault proxy saw in the interval.
    pub requests: u64,
    /// Faults it injected in the interval.
    pub faults: u64,
}

/// Running totals at the previous sample, to report each interval's own.
#[derive(Debug, Default)]
pub struct Sampler {
    started: Option<Instant>,
    peak: Sizes,
    peak_tasks: u64,
    ops: u64,
    errors: u64,
    requests: u64,
    faults: u64,
}

/// The live tasks of the current tokio runtime.
pub fn live_tasks() -> u64 {
    tokio::runtime::Handle::try_current()
        .map_or(0, |runtime| runtime.metrics().num_alive_tasks() as u64)
}

impl Sampler {
    /// A sampler whose times count from `started`.
    pub fn new(started: Instant) -> Sampler {
        Sampler {
            started: Some(started),
            ..Sampler::default()
        }
    }

    /// One tick: the sizes now join the interval's peaks.
    pub fn tick(&mut self, sizes: Sizes) {
        self.peak = self.peak.max(sizes);
        self.peak_tasks = self.peak_tasks.max(live_tasks());
    }

    /// The interval's sample; the next interval starts.
    pub fn sample(&mut self, sizes: Sizes, tally: &Tally, proxy: &Proxy) -> Sample {
        self.tick(sizes);
        let ops: u64 = tally.ops().iter().sum();
        let errors: u64 = tally.errors().iter().sum();
        let stats = proxy.stats();
        let (requests, faults) = (stats.requests, stats.faults());
        let sample = Sample {
            at_secs: self
                .started
                .map_or(0.0, |started| started.elapsed().as_secs_f64()),
            rss_kb: crate::resident_kb().unwrap_or(0),
            live_tasks: live_tasks(),
            peak_live_tasks: self.peak_tasks,
            sizes,
            peak: self.peak,
            ops: ops - self.ops,
            errors: errors - self.errors,
            requests: requests - self.requests,
            faults: faults - self.faults,
        };
        (self.ops, self.errors, self.requests, self.faults) = (ops, errors, requests, faults);
        self.peak = Sizes::default();
        self.peak_tasks = 0;
        sample
    }
}
