//! The one small interface between the store and where items live.
//!
//! A backend moves [`StoredItem`]s; it knows nothing of values, compression, expiry, retries or
//! concurrency, which the store does once for every backend. A new backend is one file that
//! implements [`Backend`].

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub(crate) mod embedded;
pub(crate) mod item;

use std::future::Future;
use std::pin::Pin;

use crate::Error;
use item::StoredItem;

/// A boxed future, so the trait stays object-safe.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An item that could not be read: its key (empty when it has none) and why. Boxed: rare, and
/// it keeps the common `Ok` of a read small.
pub(crate) type Unreadable = Box<(String, Error)>;

/// What one batch read request returned.
#[derive(Debug, Default)]
pub(crate) struct BatchGetPage {
    /// Items found, each decoded from the backend's attributes, or its key and why it could not
    /// be.
    pub(crate) items: Vec<Result<StoredItem, Unreadable>>,
    /// Keys the backend did not get to; the store retries them.
    pub(crate) unprocessed: Vec<String>,
}

/// One write of a batch.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
    Put(StoredItem),
    Delete(String),
}

impl WriteOp {
    pub(crate) fn key(&self) -> &str {
        match self {
            WriteOp::Put(item) => &item.key,
            WriteOp::Delete(key) => key,
        }
    }
}

/// One page of keys from a scan.
#[derive(Debug, Default)]
pub(crate) struct ScanPage {
    /// Keys with their expiry (`None` where the item's `ttl` is absent or unreadable).
    pub(crate) keys: Vec<(String, Option<i64>)>,
    /// Where the next page starts, if the backend says there may be one.
    pub(crate) last_key: Option<String>,
}

/// One page of whole items from a scan.
#[derive(Debug, Default)]
pub(crate) struct ItemPage {
    /// Items read, each decoded from the backend's attributes, or its key and why it could not
    /// be (an item not in the table format does not stop the scan).
    pub(crate) items: Vec<Result<StoredItem, Unreadable>>,
    /// Where the next page starts, if the backend says there may be one.
    pub(crate) last_key: Option<String>,
}

/// One of the `total` disjoint parts of a parallel scan, numbered from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanSegment {
    pub(crate) index: u32,
    pub(crate) total: u32,
}

/// Where items are kept: DynamoDB, or the embedded backend.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// Reads one item.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>>;

    /// Writes one item, replacing any item under its key.
    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>>;

    /// Deletes one item; deleting an absent key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Reads up to 100 distinct keys in one request.
    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>>;

    /// Applies up to 25 writes with distinct keys in one request; returns the ones the backend
    /// did not get to.
    fn batch_write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<Vec<WriteOp>, Error>>;

    /// Reads one page of at most `limit` keys, starting after `start`.
    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>>;

    /// Reads one page of at most `limit` whole items, expired ones included, starting after
    /// `start`.
    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>>;

    /// Reads one page of a segment of a parallel scan, like [`scan_items`](Backend::scan_items)
    /// within the segment. Segments split the table into disjoint parts that together hold every
    /// item. By default a backend has no parallel scan: segment 0 is the whole table and the
    /// others are empty, so a store can ask any backend for any number of segments.
    fn scan_segment<'a>(
        &'a self,
        segment: ScanSegment,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        if segment.index == 0 {
            self.scan_items(limit, start)
        } else {
            Box::pin(async { Ok(ItemPage::default()) })
        }
    }
}
