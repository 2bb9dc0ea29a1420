//! Runs and their medians.

use std::future::Future;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use dynamorator_testkit::cpu::thread_cpu_time;

/// One measured run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Run {
    pub wall: f64,
    pub cpu: f64,
    pub items: usize,
}

/// The median wall and CPU times of several runs, in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Median {
    pub wall: f64,
    pub cpu: f64,
    pub items: usize,
    pub runs: usize,
    /// The server's CPU time per pass (a mean, from /proc), when its process id is known.
    pub server_cpu: Option<f64>,
}

impl Median {
    pub fn of(runs: &[Run]) -> Median {
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
        };
        Median {
            wall: median(runs.iter().map(|r| r.wall).collect()),
            cpu: median(runs.iter().map(|r| r.cpu).collect()),
            items: runs.first().map_or(0, |r| r.items),
            runs: runs.len(),
            server_cpu: None,
        }
    }
}

/// Runs `pass` once to warm up, then `runs` times measured; each pass returns its item count.
pub async fn measure<F, Fut>(runs: usize, mut pass: F) -> Median
where
    F: FnMut() -> Fut,
    Fut: Future<Output = usize>,
{
    pass().await;
    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (wall, cpu) = (Instant::now(), thread_cpu_time());
        let items = pass().await;
        measured.push(Run {
            wall: wall.elapsed().as_secs_f64(),
            cpu: (thread_cpu_time() - cpu).as_secs_f64(),
            items,
        });
    }
    Median::of(&measured)
}
