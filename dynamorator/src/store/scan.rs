//! Whole-table scans: every item with its stored form, expired and corrupt ones included, in
//! parallel segments, for tools that back a table up, move it or measure it.

use std::sync::Arc;

use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use super::{ItemInfo, Store};
use crate::Error;
use crate::backend::{Backend, ItemPage, ScanSegment, Unreadable};
use crate::codec::Codec;
use crate::format::Joined;
use crate::format::{Payload, StoredItem};

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
    join_split_values: bool,
    include_parts: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            prefix: None,
            segments: 1,
            page_size: 1_000,
            join_split_values: true,
            include_parts: false,
        }
    }
}

/// The most stored bytes of split values a scan joins at once: a page's heads are joined in
/// rounds of about this much, each when the stream is read that far, so a page of large split
/// values never sits in memory whole.
const JOIN_BYTES_PER_ROUND: u64 = 64 << 20;

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

    /// Whether a split value's parts are read and joined, so its
    /// [`value`](ScannedItem::value) can be decoded. Default: true. Turn it off for scans
    /// that need only [`info`](ScannedItem::info) (sizes, expiry), which then read no parts;
    /// a split value's `value` is then an [`Error::InvalidArgument`].
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new().join_split_values(false);
    /// ```
    pub fn join_split_values(mut self, join: bool) -> ScanOptions {
        self.join_split_values = join;
        self
    }

    /// Whether the parts of split values are scanned as items of their own
    /// ([`ScannedItem::is_part`]: their `info` has their size and expiry, their `value` is
    /// an [`Error::InvalidArgument`]). Default: false. For tools that clean a table, such as
    /// deleting expired items where nothing else does (a server without TTL): parts left to
    /// their TTL by batch overwrites are found only this way.
    ///
    /// ```
    /// let options = dynamorator::ScanOptions::new().include_parts(true);
    /// ```
    pub fn include_parts(mut self, include: bool) -> ScanOptions {
        self.include_parts = include;
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

    /// Whether the item is a part of a split value, scanned with
    /// [`ScanOptions::include_parts`]: no value of its own.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{ScanOptions, Store, Ttl};
    ///
    /// let store = Store::builder().embedded().split(true).build().await?;
    /// store.put("big", &"x".repeat(700_000), Ttl::hours(1)).await?;
    /// let items: Vec<_> = store.scan(ScanOptions::new().include_parts(true)).try_collect().await?;
    /// assert_eq!(items.iter().filter(|item| item.is_part()).count(), 3);
    /// assert!(items.iter().any(|item| item.key() == "big" && !item.is_part()));
    /// # Ok(()) }
    /// ```
    pub fn is_part(&self) -> bool {
        matches!(&self.stored, Ok((item, _)) if !item.payload.is_value())
    }
}

/// Scanning every item (tools: export, statistics, purges).
impl Store {
    /// Every item of the table with its stored form — expired items (until DynamoDB deletes
    /// them) and items that do not decode included — as a stream, read a page at a time in
    /// [`ScanOptions::segments`] parallel segments. Order is the backend's; with several
    /// segments, pages of different segments interleave. A split value is one item, its
    /// parts read with it in rounds of about 64 MiB as the stream is read (parts are items of
    /// the stream only with [`ScanOptions::include_parts`]); one whose parts are gone
    /// (replaced, deleted or expired while the scan ran) is left out, as a read misses it.
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
                        Payload::Part(_) if options.include_parts => {
                            let not_a_value = Err(Error::InvalidArgument {
                                reason: "a part of a split value holds no value of its own",
                            });
                            items.push(scanned(Ok(item), Some(not_a_value), codec, now));
                        }
                        Payload::Part(_) => {}
                        Payload::Head(_) if options.join_split_values => heads.push(item),
                        Payload::Head(_) => {
                            let not_joined = Err(Error::InvalidArgument {
                                reason: "the scan did not read split values' parts \
                                         (ScanOptions::join_split_values(false))",
                            });
                            items.push(scanned(Ok(item), Some(not_joined), codec, now));
                        }
                        _ => items.push(scanned(Ok(item), None, codec, now)),
                    },
                    Err(unreadable) if options.wants(&unreadable.0) => {
                        items.push(scanned(Err(unreadable), None, codec, now));
                    }
                    Err(_) => {}
                }
            }
            // The page's split values, joined in rounds as the stream is read that far. A
            // value with a part gone (replaced, deleted or expired while the scan ran) is a
            // miss, as a read would find it: left out, with the join's warning.
            let joined = stream::iter(join_rounds(heads))
                .then(move |round| {
                    let store = store.clone();
                    async move { store.join_heads(round).await }
                })
                .flat_map(move |joined| {
                    stream::iter(joined.into_iter().filter_map(move |(head, joined)| {
                        let joined = joined.transpose()?;
                        Some(scanned(Ok(head), Some(joined), codec, now))
                    }))
                });
            let page = stream::iter(items).chain(joined).map(Ok).boxed();
            Ok::<_, Error>(Some((page, next)))
        }
    })
    .try_flatten()
}

/// `heads` in rounds of about [`JOIN_BYTES_PER_ROUND`] stored bytes (a larger value alone).
fn join_rounds(heads: Vec<StoredItem>) -> Vec<Vec<StoredItem>> {
    let mut rounds: Vec<Vec<StoredItem>> = Vec::new();
    let mut round_bytes = 0u64;
    for head in heads {
        let len = match &head.payload {
            Payload::Head(split) => split.len,
            _ => 0,
        };
        match rounds.last_mut() {
            Some(round) if round_bytes.saturating_add(len) <= JOIN_BYTES_PER_ROUND => {
                round_bytes = round_bytes.saturating_add(len);
                round.push(head);
            }
            _ => {
                round_bytes = len;
                rounds.push(vec![head]);
            }
        }
    }
    rounds
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
    use crate::format::{JoinedForm, SplitHead};
    use crate::{Clock, Ttl};

    fn head_of(len: u64) -> StoredItem {
        StoredItem {
            key: format!("k{len}"),
            payload: Payload::Head(SplitHead {
                write_id: "ab".into(),
                parts: 1,
                len,
                sha256: String::new(),
                form: JoinedForm::Json,
            }),
            expires_at: 0,
            created_at: None,
            fresh_until: None,
            generation: None,
            version: None,
        }
    }

    #[test]
    fn split_values_are_joined_in_rounds_of_bounded_bytes() {
        const MIB: u64 = 1 << 20;
        let lens = [40 * MIB, 30 * MIB, 10 * MIB, 70 * MIB, 1, 2];
        let rounds: Vec<Vec<u64>> = join_rounds(lens.iter().map(|&len| head_of(len)).collect())
            .into_iter()
            .map(|round| {
                round
                    .iter()
                    .map(|item| match &item.payload {
                        Payload::Head(head) => head.len,
                        _ => 0,
                    })
                    .collect()
            })
            .collect();
        // A value past the budget goes alone; no round passes it otherwise.
        assert_eq!(
            rounds,
            [
                vec![40 * MIB],
                vec![30 * MIB, 10 * MIB],
                vec![70 * MIB],
                vec![1, 2]
            ]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn parts_are_scanned_only_when_asked_and_heads_joined_only_when_asked() {
        let store = Store::builder()
            .embedded()
            .split(true)
            .build()
            .await
            .unwrap();
        let big = "y".repeat(700_000);
        store.put("big", &big, Ttl::days(1)).await.unwrap();
        store.put("small", &1, Ttl::days(1)).await.unwrap();
        let scan = |options: ScanOptions| {
            let store = store.clone();
            async move { store.scan(options).try_collect::<Vec<_>>().await.unwrap() }
        };
        let items = scan(ScanOptions::new()).await;
        assert_eq!(items.len(), 2);
        let big_item = items.iter().find(|item| item.key() == "big").unwrap();
        assert_eq!(big_item.value::<String>().unwrap(), big);
        assert_eq!(big_item.json_len().unwrap(), big.len() + 2);

        let with_parts = scan(ScanOptions::new().include_parts(true)).await;
        let parts: Vec<&ScannedItem> = with_parts.iter().filter(|item| item.is_part()).collect();
        assert_eq!((with_parts.len(), parts.len()), (5, 3));
        assert!(matches!(
            parts[0].value::<Value>(),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(
            parts
                .iter()
                .all(|part| part.info().is_ok_and(|info| !info.expired))
        );

        let unjoined = scan(ScanOptions::new().join_split_values(false)).await;
        let head = unjoined.iter().find(|item| item.key() == "big").unwrap();
        assert_eq!(head.info().unwrap().parts, Some(3));
        assert!(matches!(
            head.value::<String>(),
            Err(Error::InvalidArgument { .. })
        ));
    }

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
