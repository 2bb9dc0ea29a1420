//! A line chart of batch_get time against round-trip time, as a small standalone SVG (written
//! by hand: a charting crate would bring font and image dependencies for five lines).

use std::fmt::Write;

use crate::report::RttRow;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// The floor line: ⌈100 chunks / 16⌉ round trips, dashed.
const FLOOR_SERIES: &str = "floor C=16";
const FLOOR_CHUNKS: f64 = 7.0;
const COLOURS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

pub fn batch_get_rtt(rows: &[RttRow]) -> String {
    // One series for Python, one per Rust concurrency, and the round-trip floor at C=16:
    // (name, [(rtt ms, wall ms)]).
    let mut series: Vec<(String, Vec<(f64, f64)>)> = vec![(
        "Python 0.1.7".to_owned(),
        rows.iter()
            .map(|r| (r.rtt_ms, r.python.wall * 1e3))
            .collect(),
    )];
    if let Some(first) = rows.first() {
        for (index, (concurrency, _)) in first.rust.iter().enumerate() {
            let points = rows
                .iter()
                .filter_map(|r| r.rust.get(index).map(|(_, m)| (r.rtt_ms, m.wall * 1e3)))
                .collect();
            series.push((format!("Rust C={concurrency}"), points));
        }
    }
    series.push((
        FLOOR_SERIES.to_owned(),
        rows.iter()
            .map(|r| (r.rtt_ms, FLOOR_CHUNKS * r.rtt_ms))
            .collect(),
    ));
    let max_x = rows.iter().map(|r| r.rtt_ms).fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.1;
    let x = |v: f64| LEFT + v / max_x * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| HEIGHT - BOTTOM - v / max_y * (HEIGHT - TOP - BOTTOM);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">batch_get of 10,000 keys on dynalite, by round-trip time</text>
<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="black"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="black"/>
<text x="{}" y="{}" text-anchor="middle">round-trip time (ms)</text>
<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">wall time (ms)</text>
"#,
        WIDTH / 2.0,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 12.0,
        HEIGHT / 2.0,
        HEIGHT / 2.0,
    );
    for row in rows {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(row.rtt_ms),
            HEIGHT - BOTTOM + 18.0,
            row.rtt_ms
        );
    }
    for step in 0..=4 {
        let value = max_y * f64::from(step) / 4.0;
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{:.1}" text-anchor="end">{value:.0}</text><line x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#ddd"/>"##,
            LEFT - 6.0,
            y(value) + 4.0,
            y(value),
            WIDTH - RIGHT,
            y(value)
        );
    }
    for (index, (name, points)) in series.iter().enumerate() {
        let floor = name == FLOOR_SERIES;
        let colour = if floor {
            "#7f7f7f"
        } else {
            COLOURS[index % COLOURS.len()]
        };
        let dash = if floor {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
            path.join(" ")
        );
        for (px, py) in points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(*px),
                y(*py)
            );
        }
        let legend_y = TOP + 20.0 * index as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{name}</text>"#,
            WIDTH - RIGHT + 15.0,
            WIDTH - RIGHT + 35.0,
            WIDTH - RIGHT + 40.0,
            legend_y + 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}
