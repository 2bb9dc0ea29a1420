//! Counts in labelled buckets, and their bars as text.

use serde::Serialize;

/// One bucket: its label and how many items fell in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub label: String,
    pub items: u64,
}

/// Buckets in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Histogram {
    pub buckets: Vec<Bucket>,
}

impl Histogram {
    /// Item sizes in powers of two, from `≤ 128 B` to `≤ 512 KiB` (DynamoDB items stop at
    /// 400 KB), trimmed to the buckets between the first and the last that hold items.
    pub fn of_sizes(sizes: &[u32]) -> Histogram {
        const FIRST_SHIFT: u32 = 7;
        const LAST_SHIFT: u32 = 19;
        let mut counts = [0u64; (LAST_SHIFT - FIRST_SHIFT + 1) as usize];
        for &size in sizes {
            // The smallest power of two at or above the size, within the range.
            let shift = size.max(1).next_power_of_two().trailing_zeros();
            let index = shift.clamp(FIRST_SHIFT, LAST_SHIFT) - FIRST_SHIFT;
            if let Some(count) = counts.get_mut(index as usize) {
                *count += 1;
            }
        }
        let buckets = counts
            .iter()
            .enumerate()
            .map(|(index, &items)| Bucket {
                label: format!("≤ {}", size_label(1u64 << (FIRST_SHIFT + index as u32))),
                items,
            })
            .collect();
        Histogram { buckets }.trimmed()
    }

    /// Without the empty buckets before the first and after the last that hold items.
    fn trimmed(mut self) -> Histogram {
        let last = self.buckets.iter().rposition(|b| b.items > 0);
        let first = self.buckets.iter().position(|b| b.items > 0);
        match (first, last) {
            (Some(first), Some(last)) => {
                self.buckets.truncate(last + 1);
                self.buckets.drain(..first);
            }
            _ => self.buckets.clear(),
        }
        self
    }

    /// One line per bucket: label, a bar scaled to the fullest bucket, count and share.
    pub fn text_bars(&self, width: usize) -> Vec<String> {
        let most = self.buckets.iter().map(|b| b.items).max().unwrap_or(0);
        let total: u64 = self.buckets.iter().map(|b| b.items).sum();
        let label_width = self
            .buckets
            .iter()
            .map(|b| b.label.chars().count())
            .max()
            .unwrap_or(0);
        self.buckets
            .iter()
            .map(|bucket| {
                let length = if most == 0 {
                    0
                } else {
                    // At least one block for a bucket that holds anything.
                    ((bucket.items as f64 / most as f64) * width as f64).ceil() as usize
                };
                format!(
                    "  {:<label_width$}  {:<width$}  {:>8}  {:>6}",
                    bucket.label,
                    "█".repeat(length),
                    bucket.items,
                    crate::output::percent(bucket.items, total),
                )
            })
            .collect()
    }
}

/// `128 B`, `4 KiB`: the powers of two of the buckets, which divide evenly.
fn size_label(size: u64) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fall_in_the_power_of_two_at_or_above_them() {
        let histogram = Histogram::of_sizes(&[1, 128, 129, 256, 3_000, 400_000]);
        let shown: Vec<(&str, u64)> = histogram
            .buckets
            .iter()
            .map(|b| (b.label.as_str(), b.items))
            .collect();
        assert_eq!(shown[0], ("≤ 128 B", 2));
        assert_eq!(shown[1], ("≤ 256 B", 2));
        assert_eq!(shown[5], ("≤ 4 KiB", 1));
        assert_eq!(shown.last(), Some(&("≤ 512 KiB", 1)));
    }

    #[test]
    fn empty_ends_are_trimmed_and_bars_scale_to_the_fullest() {
        let histogram = Histogram::of_sizes(&[1_000, 1_000, 3_000]);
        assert_eq!(histogram.buckets.len(), 3);
        let bars = histogram.text_bars(10);
        assert!(bars[0].contains(&"█".repeat(10)));
        assert!(bars[2].contains(&"█".repeat(5)));
        assert!(!bars[1].contains('█'));
        assert!(Histogram::of_sizes(&[]).buckets.is_empty());
    }
}
