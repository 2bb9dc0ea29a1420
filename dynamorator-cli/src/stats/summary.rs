//! The numbers of `stats`, folded over a scan one item at a time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use dynamorator::{Encoding, Error, ScannedItem};
use serde::Serialize;
use serde::de::IgnoredAny;

use super::histogram::{Bucket, Histogram};

/// The live items' time left, by these upper bounds in seconds (the last bucket is open).
const TTL_BUCKETS: [(i64, &str); 5] = [
    (3_600, "< 1h"),
    (86_400, "1h – 1d"),
    (7 * 86_400, "1d – 7d"),
    (30 * 86_400, "7d – 30d"),
    (i64::MAX, "≥ 30d"),
];

/// What a scan has shown so far.
#[derive(Debug)]
pub struct Summary {
    now: i64,
    top: usize,
    items: u64,
    expired: u64,
    unreadable: u64,
    compressed: u64,
    zstd: u64,
    compressed_stored_bytes: u64,
    compressed_json_bytes: u64,
    /// The size of every item whose attributes are readable (expired ones included: they are
    /// stored until deleted).
    sizes: Vec<u32>,
    ttl_left: [u64; TTL_BUCKETS.len()],
    /// The `top` largest items so far, smallest first out.
    largest: BinaryHeap<Reverse<(usize, String, &'static str)>>,
}

impl Summary {
    /// An empty summary, reading expiry against `now`, keeping the `top` largest items.
    pub fn new(now: i64, top: usize) -> Summary {
        Summary {
            now,
            top,
            items: 0,
            expired: 0,
            unreadable: 0,
            compressed: 0,
            zstd: 0,
            compressed_stored_bytes: 0,
            compressed_json_bytes: 0,
            sizes: Vec::new(),
            ttl_left: [0; TTL_BUCKETS.len()],
            largest: BinaryHeap::with_capacity(top + 1),
        }
    }

    /// Counts one item. An item that does not decode is counted as unreadable (with its size
    /// when its attributes are readable) and its error returned for the caller to report.
    pub fn add(&mut self, item: &ScannedItem) -> Result<(), Error> {
        self.items += 1;
        let info = match item.info() {
            Ok(info) => info,
            Err(error) => {
                self.unreadable += 1;
                return Err(error.clone());
            }
        };
        self.sizes
            .push(u32::try_from(info.size).unwrap_or(u32::MAX));
        self.keep_if_large(info.size, item.key(), info.encoding);
        if info.expired {
            self.expired += 1;
        } else {
            let left = info.expires_at.saturating_sub(self.now);
            let bucket = TTL_BUCKETS
                .iter()
                .position(|&(bound, _)| left < bound)
                .unwrap_or(TTL_BUCKETS.len() - 1);
            if let Some(count) = self.ttl_left.get_mut(bucket) {
                *count += 1;
            }
        }
        // Decoding checks the value is JSON without building it; the inflated length says how
        // well compression does.
        let json_len = item
            .value::<IgnoredAny>()
            .and_then(|_| item.json_len())
            .inspect_err(|_| self.unreadable += 1)?;
        if info.compressed {
            self.compressed += 1;
            self.zstd += u64::from(info.encoding == Encoding::Zstd);
            self.compressed_stored_bytes += info.size as u64;
            self.compressed_json_bytes += json_len as u64;
        }
        Ok(())
    }

    fn keep_if_large(&mut self, size: usize, key: &str, encoding: Encoding) {
        if self.top == 0 {
            return;
        }
        let smallest_kept = self.largest.peek().map(|Reverse((size, ..))| *size);
        if self.largest.len() < self.top || smallest_kept.is_some_and(|kept| size > kept) {
            self.largest
                .push(Reverse((size, key.to_owned(), encoding.name())));
            if self.largest.len() > self.top {
                self.largest.pop();
            }
        }
    }

    /// The numbers, ready to print or serialise.
    pub fn report(mut self) -> Report {
        self.sizes.sort_unstable();
        let sizes = &self.sizes;
        let total: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
        let rank = |fraction: f64| -> u64 {
            // Nearest rank: the smallest size with at least `fraction` of the items at or below.
            let index = ((fraction * sizes.len() as f64).ceil() as usize).saturating_sub(1);
            sizes.get(index).map_or(0, |&s| u64::from(s))
        };
        let size = SizeReport {
            total,
            mean: if sizes.is_empty() {
                0
            } else {
                total / sizes.len() as u64
            },
            min: sizes.first().map_or(0, |&s| u64::from(s)),
            median: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: sizes.last().map_or(0, |&s| u64::from(s)),
        };
        let readable = sizes.len() as u64;
        let ratio = if self.compressed_stored_bytes == 0 {
            None
        } else {
            Some(self.compressed_json_bytes as f64 / self.compressed_stored_bytes as f64)
        };
        let mut largest: Vec<Largest> = self
            .largest
            .into_iter()
            .map(|Reverse((size, key, encoding))| Largest {
                key,
                size,
                compressed: encoding != Encoding::Json.name(),
                encoding,
            })
            .collect();
        largest.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.key.cmp(&b.key)));
        Report {
            items: self.items,
            live: readable - self.expired,
            expired: self.expired,
            unreadable: self.unreadable,
            expired_share: share(self.expired, readable),
            size,
            compressed: CompressionReport {
                items: self.compressed,
                gzip_items: self.compressed - self.zstd,
                zstd_items: self.zstd,
                share: share(self.compressed, readable),
                stored_bytes: self.compressed_stored_bytes,
                json_bytes: self.compressed_json_bytes,
                ratio,
            },
            size_histogram: Histogram::of_sizes(sizes),
            ttl_left: Histogram {
                buckets: TTL_BUCKETS
                    .iter()
                    .zip(self.ttl_left)
                    .map(|(&(_, label), items)| Bucket {
                        label: label.to_owned(),
                        items,
                    })
                    .collect(),
            },
            largest,
        }
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Everything `stats` prints; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Every item scanned.
    pub items: u64,
    /// Readable items that have not expired.
    pub live: u64,
    /// Readable items past their ttl, not deleted yet.
    pub expired: u64,
    /// Items whose attributes or value do not decode.
    pub unreadable: u64,
    /// Expired items among those with readable attributes, 0 to 1.
    pub expired_share: f64,
    pub size: SizeReport,
    pub compressed: CompressionReport,
    pub size_histogram: Histogram,
    pub ttl_left: Histogram,
    pub largest: Vec<Largest>,
}

/// Item sizes as DynamoDB counts them (attribute names and values), in bytes.
#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub total: u64,
    pub mean: u64,
    pub min: u64,
    pub median: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Serialize)]
pub struct CompressionReport {
    /// Compressed items, gzip and zstd.
    pub items: u64,
    pub gzip_items: u64,
    pub zstd_items: u64,
    /// Compressed items among those with readable attributes, 0 to 1.
    pub share: f64,
    /// The stored size of the compressed items.
    pub stored_bytes: u64,
    /// Their JSON text once inflated.
    pub json_bytes: u64,
    /// `json_bytes / stored_bytes`; `null` without compressed items.
    pub ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Largest {
    pub key: String,
    pub size: usize,
    pub compressed: bool,
    /// `json`, `gzip` or `zstd`.
    pub encoding: &'static str,
}

#[cfg(test)]
mod tests {
    use dynamorator::{Clock, ScanOptions, Store, Ttl};
    use futures_util::TryStreamExt;
    use serde_json::json;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_table_summed_up() {
        let clock = Clock::manual();
        let store = Store::builder()
            .embedded()
            .clock(clock.clone())
            .compress(true)
            .compress_threshold(100)
            .build()
            .await
            .unwrap();
        store.put("small", &1, Ttl::minutes(30)).await.unwrap();
        store.put("day", &"x", Ttl::hours(20)).await.unwrap();
        store
            .put("big", &json!({"t": "y".repeat(5_000)}), Ttl::days(10))
            .await
            .unwrap();
        store.put("gone", &2, Ttl::secs(5)).await.unwrap();
        clock.advance(std::time::Duration::from_secs(5));
        let items: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        let mut summary = Summary::new(clock.now_epoch_secs(), 2);
        for item in &items {
            summary.add(item).unwrap();
        }
        let report = summary.report();
        assert_eq!((report.items, report.live, report.expired), (4, 3, 1));
        assert_eq!(report.compressed.items, 1);
        assert_eq!(report.compressed.gzip_items, 1);
        assert_eq!(report.largest[0].encoding, "gzip");
        assert!(report.compressed.ratio.unwrap() > 10.0);
        assert_eq!(report.largest.len(), 2);
        assert_eq!(report.largest[0].key, "big");
        let ttl: Vec<u64> = report.ttl_left.buckets.iter().map(|b| b.items).collect();
        assert_eq!(ttl, [1, 1, 0, 1, 0]);
        assert_eq!(report.size.max, report.largest[0].size as u64);
        assert_eq!(report.expired_share, 0.25);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn zstd_items_are_counted_as_compressed_and_apart() {
        let store = Store::builder()
            .embedded()
            .zstd(true)
            .compress_threshold(100)
            .build()
            .await
            .unwrap();
        let value = json!({"t": "z".repeat(5_000)});
        store.put("zstd", &value, Ttl::days(1)).await.unwrap();
        store.put("plain", &1, Ttl::days(1)).await.unwrap();
        let items: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        let mut summary = Summary::new(Clock::system().now_epoch_secs(), 1);
        for item in &items {
            summary.add(item).unwrap();
        }
        let report = summary.report();
        let compressed = &report.compressed;
        assert_eq!((compressed.items, compressed.zstd_items), (1, 1));
        assert_eq!(compressed.json_bytes, value.to_string().len() as u64);
        assert!(compressed.ratio.unwrap() > 50.0, "{:?}", compressed.ratio);
        assert_eq!(report.largest[0].encoding, "zstd");
    }

    #[test]
    fn an_empty_table_has_zeros() {
        let report = Summary::new(0, 10).report();
        assert_eq!(report.items, 0);
        assert_eq!(report.size.median, 0);
        assert_eq!(report.compressed.ratio, None);
        assert!(report.largest.is_empty());
    }
}
