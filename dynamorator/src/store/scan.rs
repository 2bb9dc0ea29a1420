//! Whole-table scans: every item with its stored form, expired and corrupt ones included, in
//! parallel segments, for tools that back a table up, move it or measure it.

use std::sync::Arc;

use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use super::{ItemInfo, Store};
use crate::Error;
use crate::backend::item::{Payload, StoredItem};
use crate::backend::{Backend, ItemPage, ScanSegment, Unreadable};
use crate::codec::{Codec, Joined};
use crate::error::CorruptReason;

/// What a [`Store::scan`] reads, and how.
///
/// ```
/// let options = dynamorator::ScanOptions::new().prefix("user:").segments(4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "options do nothing until given to Store::scan"]
pub struct ScanOptions {
    prefix: Option<String>,
    segments: u32,
    page_size: u32,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            prefix: None,
            segments: 1,
            page_size: 1_000,
        }
    }
}

impl ScanOptions {
    /// DynamoDB's limit on the segments of a parallel scan.
    pub const MAX_SEGMENTS: u32 = 1_000_000;

    /// The whole table, one segment, pages of up to 1,000 items.
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new();
    /// ```
    pub fn new() -> ScanOptions {
        ScanOptions::default()
    }

    /// Only items whose key starts with `prefix`. The whole table is still read (a scan has no
    /// key order to seek in); the others are left out before they reach you.
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new().prefix("session:");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> ScanOptions {
        self.prefix = Some(prefix.into()).filter(|p: &String| !p.is_empty());
        self
    }

    /// Reads the table as `segments` disjoint parts at once (DynamoDB's parallel scan), for
    /// large tables. Default: 1. From 1 to [`MAX_SEGMENTS`](ScanOptions::MAX_SEGMENTS). The
    /// embedded backend has no parallel scan and reads every item in one segment.
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new().segments(8);
    /// ```
    pub fn segments(mut self, segments: u32) -> ScanOptions {
        self.segments = segments;
        self
    }

    /// At most this many items per request. Default: 1,000 (DynamoDB also stops a page at
    /// 1 MB). At least 1.
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new().page_size(100);
    /// ```
    pub fn page_size(mut self, items: u32) -> ScanOptions {
        self.page_size = items;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if !(1..=ScanOptions::MAX_SEGMENTS).contains(&self.segments) {
            return Err(Error::InvalidArgument {
                reason: "scan segments must be from 1 to 1,000,000",
            });
        }
        if self.page_size == 0 {
            return Err(Error::InvalidArgument {
                reason: "scan page size must be at least 1",
            });
        }
        Ok(())
    }

    fn wants(&self, key: &str) -> bool {
        self.prefix
            .as_deref()
            .is_none_or(|prefix| key.starts_with(prefix))
    }
}

/// One item of a [`Store::scan`]: its key, its stored form, and its value, decoded on demand.
///
/// An item whose attributes are not in the table format (no `data`, a `ttl` that is not a
/// number, …) is still scanned: [`info`](ScannedItem::info) and
/// [`value`](ScannedItem::value) then say why it cannot be read.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use futures_util::TryStreamExt;
/// use dynamorator::{ScanOptions, Store, Ttl};
///
/// let store = Store::embedded();
/// store.put("k", &[1, 2, 3], Ttl::hours(1)).await?;
/// let items: Vec<_> = store.scan(ScanOptions::new()).try_collect().await?;
/// assert_eq!(items[0].key(), "k");
/// assert_eq!(items[0].value::<Vec<u8>>()?, [1, 2, 3]);
/// assert_eq!(items[0].json_len()?, 7);
/// assert!(!items[0].info().expect("in the table format").expired);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ScannedItem {
    key: String,
    stored: Result<(StoredItem, ItemInfo), Error>,
    /// A split value's bytes, its parts joined, or why they could not be.
    joined: Option<Result<Joined, Error>>,
    codec: Codec,
}

impl ScannedItem {
    /// The item's key (empty for an item without a readable `cache_id`, which DynamoDB itself
    /// never holds).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).compress_threshold(0).build().await?;
    /// store.put("k", &"hello, hello, hello", Ttl::hours(1)).await?;
    /// let items: Vec<_> = store.scan(ScanOptions::new()).try_collect().await?;
    /// assert_eq!(items[0].key(), "k");
    /// # Ok(()) }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The stored form (size, compression, times, whether it has expired when it was read),
    /// or why the item's attributes are not in the table format ([`Error::Corrupt`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).compress_threshold(0).build().await?;
    /// store.put("k", &"hello, hello, hello", Ttl::hours(1)).await?;
    /// let items: Vec<_> = store.scan(ScanOptions::new()).try_collect().await?;
    /// let info = items[0].info().expect("in the table format");
    /// assert!(info.compressed && !info.expired);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The [`Error::Corrupt`] that says which attribute is missing or malformed.
    pub fn info(&self) -> Result<&ItemInfo, &Error> {
        self.stored.as_ref().map(|(_, info)| info)
    }

    /// The value decoded as `V`, expired or not.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).compress_threshold(0).build().await?;
    /// store.put("k", &"hello, hello, hello", Ttl::hours(1)).await?;
    /// let items: Vec<_> = store.scan(ScanOptions::new()).try_collect().await?;
    /// assert_eq!(items[0].value::<String>()?, "hello, hello, hello");
    /// assert!(items[0].value::<u32>().is_err()); // another shape
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] for an item that does not decode (attributes, base64, gzip, JSON, a
    /// gzip bomb), [`Error::TypeMismatch`] for valid JSON of another shape.
    pub fn value<V: DeserializeOwned>(&self) -> Result<V, Error> {
        match (&self.stored, &self.joined) {
            (Err(error), _) | (_, Some(Err(error))) => Err(error.clone()),
            (Ok(_), Some(Ok(joined))) => self.codec.decode_joined(&self.key, joined),
            (Ok((item, _)), None) => self.codec.decode(item),
        }
    }

    /// The length in bytes of the value's JSON text once inflated: with
    /// [`ItemInfo::size`], how well a compressed item compresses.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().compress(true).compress_threshold(0).build().await?;
    /// store.put("k", &"hello, hello, hello", Ttl::hours(1)).await?;
    /// let items: Vec<_> = store.scan(ScanOptions::new()).try_collect().await?;
    /// assert_eq!(items[0].json_len()?, "\"hello, hello, hello\"".len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] when the attributes, the base64 or the gzip do not decode.
    pub fn json_len(&self) -> Result<usize, Error> {
        match (&self.stored, &self.joined) {
            (Err(error), _) | (_, Some(Err(error))) => Err(error.clone()),
            (Ok(_), Some(Ok(joined))) => self
                .codec
                .joined_json_text(&self.key, joined)
                .map(|text| text.len()),
            (Ok((item, _)), None) => self.codec.json_text(item).map(|text| text.len()),
        }
    }
}

/// Scanning every item (tools: export, statistics, purges).
impl Store {
    /// Every item of the table with its stored form — expired items (until DynamoDB deletes
    /// them) and items that do not decode included — as a stream, read a page at a time in
    /// [`ScanOptions::segments`] parallel segments. Order is the backend's; with several
    /// segments, pages of different segments interleave. A split value is one item (its
    /// parts, read with it, are not items of the stream).
    ///
    /// A corrupt item is one item of the stream that says so ([`ScannedItem::info`],
    /// [`ScannedItem::value`]); it never stops the scan. A page that cannot be read (after the
    /// SDK's retries) is an `Err` in the stream and ends its segment; the other segments go
    /// on. A disabled store yields nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.put_many((0..30).map(|i| (format!("user:{i}"), i)), Ttl::days(1)).await?;
    /// store.put("session:1", &"x", Ttl::days(1)).await?;
    ///
    /// let users = store.scan(ScanOptions::new().prefix("user:").segments(4));
    /// let sum: i64 = users
    ///     .try_fold(0, |sum, item| async move { Ok(sum + item.value::<i64>()?) })
    ///     .await?;
    /// assert_eq!(sum, (0..30).sum::<i64>());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] (the stream's only item) for options out of range; a failed
    /// page's error.
    pub fn scan(
        &self,
        options: ScanOptions,
    ) -> impl Stream<Item = Result<ScannedItem, Error>> + Send + 'static {
        let segments: BoxStream<'static, Result<ScannedItem, Error>> =
            match (options.validate(), self.backend()) {
                (Err(error), _) => stream::once(async move { Err(error) }).boxed(),
                (Ok(()), None) => stream::empty().boxed(),
                (Ok(()), Some(backend)) => {
                    let options = Arc::new(options);
                    let walks = (0..options.segments).map(|index| {
                        let segment = ScanSegment {
                            index,
                            total: options.segments,
                        };
                        walk_segment(self.clone(), backend.clone(), segment, options.clone())
                            .boxed()
                    });
                    stream::select_all(walks).boxed()
                }
            };
        segments
    }
}

/// The items of one segment, page after page, until the backend says there are no more.
fn walk_segment(
    store: Store,
    backend: Arc<dyn Backend>,
    segment: ScanSegment,
    options: Arc<ScanOptions>,
) -> impl Stream<Item = Result<ScannedItem, Error>> + Send + 'static {
    /// Where the walk stands: the next page's start, or the end.
    enum Walk {
        From(Option<String>),
        Done,
    }
    stream::try_unfold(Walk::From(None), move |walk| {
        let store = store.clone();
        let backend = backend.clone();
        let options = options.clone();
        async move {
            let Walk::From(start) = walk else {
                return Ok(None);
            };
            let page: ItemPage = backend
                .scan_segment(segment, options.page_size, start.as_deref())
                .await?;
            let next = match page.last_key {
                Some(key) => Walk::From(Some(key)),
                None => Walk::Done,
            };
            let now = store.now();
            let codec = store.codec();
            let mut heads = Vec::new();
            let mut items = Vec::new();
            for read in page.items {
                match read {
                    Ok(item) if !options.wants(&item.key) => {}
                    Ok(item) => match &item.payload {
                        Payload::Part(_) => {}
                        Payload::Head(_) => heads.push(item),
                        _ => items.push(scanned(Ok(item), None, codec, now)),
                    },
                    Err(unreadable) if options.wants(&unreadable.0) => {
                        items.push(scanned(Err(unreadable), None, codec, now));
                    }
                    Err(_) => {}
                }
            }
            // The page's split values, their parts read in one round.
            for (head, joined) in store.join_heads(heads).await {
                let joined = joined.and_then(|joined| {
                    joined.ok_or_else(|| {
                        Error::corrupt(&head.key, CorruptReason::Split("a part is missing"))
                    })
                });
                items.push(scanned(Ok(head), Some(joined), codec, now));
            }
            Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
        }
    })
    .try_flatten()
}

fn scanned(
    read: Result<StoredItem, Unreadable>,
    joined: Option<Result<Joined, Error>>,
    codec: Codec,
    now: i64,
) -> ScannedItem {
    match read {
        Ok(item) => ScannedItem {
            key: item.key.clone(),
            stored: Ok({
                let info = ItemInfo::of(&item, now);
                (item, info)
            }),
            joined,
            codec,
        },
        Err(unreadable) => {
            let (key, error) = *unreadable;
            ScannedItem {
                key,
                stored: Err(error),
                joined,
                codec,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;
    use serde_json::{Value, json};

    use super::*;
    use crate::{Clock, Ttl};

    #[tokio::test(flavor = "current_thread")]
    async fn every_segment_together_reads_each_item_once() {
        let store = Store::embedded();
        store
            .put_many((0..250).map(|i| (format!("k{i:03}"), i)), Ttl::days(1))
            .await
            .unwrap();
        for segments in [1, 3, 16] {
            let options = ScanOptions::new().segments(segments).page_size(7);
            let mut keys: Vec<String> = store
                .scan(options)
                .map_ok(|item| item.key().to_owned())
                .try_collect()
                .await
                .unwrap();
            keys.sort();
            assert_eq!(keys.len(), 250, "{segments} segments");
            keys.dedup();
            assert_eq!(keys.len(), 250, "{segments} segments");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn expired_items_are_scanned_and_marked() {
        let clock = Clock::manual();
        let store = Store::builder()
            .embedded()
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        store.put("short", &1, Ttl::secs(10)).await.unwrap();
        store.put("long", &2, Ttl::days(1)).await.unwrap();
        clock.advance(std::time::Duration::from_secs(10));
        let items: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        let expired: Vec<(&str, bool)> = items
            .iter()
            .map(|item| (item.key(), item.info().unwrap().expired))
            .collect();
        assert_eq!(expired, [("long", false), ("short", true)]);
        assert_eq!(items[1].value::<i32>().unwrap(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_prefix_keeps_only_its_keys() {
        let store = Store::embedded();
        store
            .put_many([("a:1", 1), ("b:1", 2), ("a:2", 3)], Ttl::days(1))
            .await
            .unwrap();
        let keys: Vec<String> = store
            .scan(ScanOptions::new().prefix("a:"))
            .map_ok(|item| item.key().to_owned())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(keys, ["a:1", "a:2"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn compressed_items_report_their_inflated_length() {
        let store = Store::builder()
            .embedded()
            .compress(true)
            .compress_threshold(0)
            .build()
            .await
            .unwrap();
        let value = json!({"text": "x".repeat(1_000)});
        store.put("big", &value, Ttl::days(1)).await.unwrap();
        let items: Vec<ScannedItem> = store.scan(ScanOptions::new()).try_collect().await.unwrap();
        let item = &items[0];
        assert!(item.info().unwrap().compressed);
        assert_eq!(item.json_len().unwrap(), value.to_string().len());
        assert!(item.info().unwrap().size < item.json_len().unwrap());
        assert_eq!(item.value::<Value>().unwrap(), value);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn options_out_of_range_are_the_only_item() {
        let store = Store::embedded();
        for options in [
            ScanOptions::new().segments(0),
            ScanOptions::new().page_size(0),
        ] {
            let read: Vec<Result<ScannedItem, Error>> = store.scan(options).collect().await;
            assert!(matches!(
                read.as_slice(),
                [Err(Error::InvalidArgument { .. })]
            ));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_disabled_store_scans_nothing() {
        let read: Vec<ScannedItem> = Store::disabled()
            .scan(ScanOptions::new())
            .try_collect()
            .await
            .unwrap();
        assert!(read.is_empty());
    }
}
