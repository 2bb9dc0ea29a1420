//! The item size histogram as a standalone SVG: one bar per bucket, counts above the bars,
//! labels below. Drawn by hand: a dozen rectangles need no plotting library.

use std::fmt::Write as _;

use super::histogram::Histogram;

const BAR_WIDTH: usize = 56;
const GAP: usize = 12;
const PLOT_HEIGHT: usize = 240;
const MARGIN: usize = 40;

/// The SVG document of `histogram`, titled `title`.
pub fn size_histogram_svg(histogram: &Histogram, title: &str) -> String {
    let bars = histogram.buckets.len().max(1);
    let width = MARGIN * 2 + bars * (BAR_WIDTH + GAP);
    let height = PLOT_HEIGHT + MARGIN * 3;
    let most = histogram
        .buckets
        .iter()
        .map(|b| b.items)
        .max()
        .unwrap_or(0)
        .max(1);
    let baseline = MARGIN * 2 + PLOT_HEIGHT;
    let mut svg = String::new();
    // Writing into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{}" font-size="16">{}</text>"#,
        MARGIN,
        escape(title)
    );
    for (index, bucket) in histogram.buckets.iter().enumerate() {
        let x = MARGIN + index * (BAR_WIDTH + GAP);
        let bar = (bucket.items as f64 / most as f64 * PLOT_HEIGHT as f64).round() as usize;
        let top = baseline - bar;
        let middle = x + BAR_WIDTH / 2;
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{top}" width="{BAR_WIDTH}" height="{bar}" fill="#4a7ebb"><title>{}: {} items</title></rect>"##,
            escape(&bucket.label),
            bucket.items
        );
        let _ = writeln!(
            svg,
            r#"<text x="{middle}" y="{}" text-anchor="middle">{}</text>"#,
            top.saturating_sub(4),
            bucket.items
        );
        let _ = writeln!(
            svg,
            r#"<text x="{middle}" y="{}" text-anchor="middle">{}</text>"#,
            baseline + 16,
            escape(&bucket.label)
        );
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{MARGIN}" y1="{baseline}" x2="{}" y2="{baseline}" stroke="black"/>"#,
        width - MARGIN
    );
    svg.push_str("</svg>\n");
    svg
}

/// Text made safe inside SVG elements (keys and labels may hold `<` or `&`).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_bucket_the_fullest_at_full_height() {
        let histogram = Histogram::of_sizes(&[100, 100, 200]);
        let svg = size_histogram_svg(&histogram, "sizes of <t>");
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=").count(), 2);
        assert!(svg.contains(&format!(r#"height="{PLOT_HEIGHT}""#)));
        assert!(svg.contains("sizes of &lt;t&gt;"));
    }
}
