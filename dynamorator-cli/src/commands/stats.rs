//! `stats [--prefix P] [--svg FILE]`: item count, sizes and their distribution, compression,
//! expired share, time left, the largest items. Unreadable items are reported per key and
//! counted; the scan goes on.

use std::path::Path;
use std::pin::pin;

use dynamorator::{ScanOptions, Store};
use futures_util::TryStreamExt;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, bytes, percent, problem};
use crate::progress::Progress;
use crate::stats::{Report, Summary, size_histogram_svg};

/// The width of the text bars, in characters.
const BAR_WIDTH: usize = 32;

pub async fn run(
    store: &Store,
    output: Output,
    options: ScanOptions,
    svg: Option<&Path>,
    top: usize,
) -> Result<Outcome, Failure> {
    let progress = Progress::new(output.quiet, "items scanned");
    let mut summary = Summary::new(store.clock().now_epoch_secs(), top);
    let mut items = pin!(store.scan(options));
    while let Some(item) = items.try_next().await? {
        progress.inc(1);
        if let Err(error) = summary.add(&item) {
            progress.suspend(|| problem(item.key(), &error));
        }
    }
    drop(progress);
    let report = summary.report();
    if let Some(path) = svg {
        let title = format!("Item sizes ({} items)", report.live + report.expired);
        std::fs::write(path, size_histogram_svg(&report.size_histogram, &title))
            .map_err(|e| Failure::io(format!("cannot write {}", path.display()), e))?;
    }
    output.result(&report, || human(&report))?;
    Ok(Outcome::done_unless(report.unreadable))
}

fn human(report: &Report) -> String {
    let readable = report.live + report.expired;
    let size = &report.size;
    let compressed = &report.compressed;
    let mut lines = vec![
        format!(
            "items        {}  (live {}, expired {} = {}, unreadable {})",
            report.items,
            report.live,
            report.expired,
            percent(report.expired, readable),
            report.unreadable
        ),
        format!("stored       {} ({} bytes)", bytes(size.total), size.total),
        format!(
            "item size    min {}, median {}, mean {}, p90 {}, p99 {}, max {}",
            bytes(size.min),
            bytes(size.median),
            bytes(size.mean),
            bytes(size.p90),
            bytes(size.p99),
            bytes(size.max)
        ),
        match compressed.ratio {
            Some(ratio) => format!(
                "compressed   {} of {readable} items ({}; gzip {}, zstd {}), {} of JSON stored \
                 in {} ({ratio:.1}x)",
                compressed.items,
                percent(compressed.items, readable),
                compressed.gzip_items,
                compressed.zstd_items,
                bytes(compressed.json_bytes),
                bytes(compressed.stored_bytes)
            ),
            None => format!("compressed   0 of {readable} items"),
        },
    ];
    if !report.size_histogram.buckets.is_empty() {
        lines.push(String::new());
        lines.push("item sizes".to_owned());
        lines.extend(report.size_histogram.text_bars(BAR_WIDTH));
    }
    if report.live > 0 {
        lines.push(String::new());
        lines.push("time left (live items)".to_owned());
        lines.extend(report.ttl_left.text_bars(BAR_WIDTH));
    }
    if !report.largest.is_empty() {
        lines.push(String::new());
        lines.push("largest items".to_owned());
        lines.extend(report.largest.iter().map(|item| {
            format!(
                "  {:>10}  {:<10}  {}",
                bytes(item.size as u64),
                if item.compressed { item.encoding } else { "" },
                item.key
            )
        }));
    }
    lines.join("\n")
}
