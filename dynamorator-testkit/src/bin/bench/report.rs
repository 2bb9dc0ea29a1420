//! The figures as markdown tables (for BENCHMARKS.md) and JSON.

use serde::Serialize;

use crate::measure::Median;

#[derive(Debug, Serialize)]
pub struct OpRow {
    pub server: &'static str,
    pub op: &'static str,
    pub rust: Median,
    pub python: Option<Median>,
}

#[derive(Debug, Serialize)]
pub struct RttRow {
    pub rtt_ms: f64,
    /// (batch concurrency, figure)
    pub rust: Vec<(usize, Median)>,
    pub python: Median,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub ops: Vec<OpRow>,
    pub rtt: Vec<RttRow>,
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1_000.0)
}

fn us(seconds: f64) -> String {
    format!("{:.2} µs", seconds * 1e6)
}

fn ratio(python: f64, rust: f64) -> String {
    format!("{:.1}×", python / rust)
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| server | operation | items | Rust wall | Python wall | wall ratio | Rust CPU/item | Python CPU/item | CPU ratio | server CPU (Rust run / Python run) |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for row in &self.ops {
            let items = row.rust.items.max(1) as f64;
            let (python_wall, python_cpu, wall_ratio, cpu_ratio) = match &row.python {
                Some(p) => (
                    ms(p.wall),
                    us(p.cpu / p.items.max(1) as f64),
                    ratio(p.wall, row.rust.wall),
                    ratio(p.cpu / p.items.max(1) as f64, row.rust.cpu / items),
                ),
                None => ("–".into(), "–".into(), "–".into(), "–".into()),
            };
            let server = match (row.rust.server_cpu, row.python.and_then(|p| p.server_cpu)) {
                (Some(rust), Some(python)) => format!("{} / {}", ms(rust), ms(python)),
                (Some(rust), None) => ms(rust),
                _ => "–".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {server} |\n",
                row.server,
                row.op,
                row.rust.items,
                ms(row.rust.wall),
                python_wall,
                wall_ratio,
                us(row.rust.cpu / items),
                python_cpu,
                cpu_ratio
            ));
        }
        out.push_str("\n`batch_get` of 10,000 keys on dynalite through the latency proxy (wall time, median):\n\n");
        let concurrencies: Vec<usize> = self
            .rtt
            .first()
            .map(|row| row.rust.iter().map(|(c, _)| *c).collect())
            .unwrap_or_default();
        out.push_str("| RTT | Python (sequential) |");
        for c in &concurrencies {
            out.push_str(&format!(" Rust C={c} | floor C={c} |"));
        }
        out.push_str("\n|---|---|");
        for _ in &concurrencies {
            out.push_str("---|---|");
        }
        out.push('\n');
        for row in &self.rtt {
            out.push_str(&format!("| {} ms | {} |", row.rtt_ms, ms(row.python.wall)));
            for (c, median) in &row.rust {
                let floor = 100usize.div_ceil(*c) as f64 * row.rtt_ms / 1_000.0;
                out.push_str(&format!(" {} | {} |", ms(median.wall), ms(floor)));
            }
            out.push('\n');
        }
        out
    }
}
