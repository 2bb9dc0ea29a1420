//! What `stats` measures: a summary folded over a scan, item by item, and how it is drawn
//! (text bars, an SVG histogram).

mod histogram;
mod summary;
mod svg;

pub use summary::{Report, Summary};
pub use svg::size_histogram_svg;
