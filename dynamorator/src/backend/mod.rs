//! The one small interface between the store and where items live.
//!
//! A backend moves [`StoredItem`]s; it knows nothing of values, compression, expiry, retries or
//! concurrency, which the store does once for every backend. A conditional write or a lease
//! comes with its rule as plain data ([`Require`]), which a backend renders, never decides. A new backend is one file that
//! implements [`Backend`].

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub(crate) mod embedded;
pub(crate) mod instrumented;

use std::future::Future;
use std::pin::Pin;

use crate::Error;
use crate::format::StoredItem;
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};

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
    /// Keys of the items that hold a value (whole or split; not parts, not bare leases), with
    /// their expiry (`None` where the item's `ttl` is absent or unreadable).
    pub(crate) keys: Vec<(String, Option<i64>)>,
    /// Where the next page starts, if the backend says there may be one.
    pub(crate) last_key: Option<String>,
}

/// A lease to take on `key`: until `until_ms` (epoch milliseconds) for `owner`, if the stored
/// item and its lease meet the caller's rule. A key without an item gets an item without a
/// value (a miss to every reader) that expires at `expires_at` (epoch seconds), so DynamoDB
/// removes leftovers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeaseRequest<'a> {
    pub(crate) key: &'a str,
    pub(crate) owner: &'a str,
    pub(crate) until_ms: i64,
    // The embedded backend keeps leases beside its items, with no expiry to set.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) expires_at: i64,
    /// Now, by the store's clock (epoch milliseconds): only for dropping lapsed leases the
    /// in-memory backend keeps; the rule says which leases count.
    pub(crate) now_ms: i64,
}

/// One page of whole items from a scan.
#[derive(Debug, Default)]
pub(crate) struct ItemPage {
    /// Items read, each decoded from the backend's attributes, or its key and why it could not
    /// be (an item not in the table format does not stop the scan). Parts of split values are
    /// items too; the store leaves them out.
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

    /// Writes one item like [`put`](Backend::put), and returns the item it replaced when the
    /// backend learns it from the write itself (DynamoDB's `ReturnValues: ALL_OLD`), so the
    /// store can remove a replaced split value's parts. By default, `None`: the embedded
    /// backends remove those parts themselves, in the write.
    fn put_replacing(&self, item: StoredItem) -> BoxFuture<'_, Result<Option<StoredItem>, Error>> {
        Box::pin(async move { self.put(item).await.map(|()| None) })
    }

    /// Deletes one item like [`delete`](Backend::delete), and returns it as
    /// [`put_replacing`](Backend::put_replacing) does.
    fn delete_replacing<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        Box::pin(async move { self.delete(key).await.map(|()| None) })
    }

    /// Sets the `ttl` of the item under `key` to `expires_at`, leaving its value and other
    /// attributes as they are, if the item (with its lease) meets `require`; `Ok(None)` when it
    /// does not, and then nothing is changed. `Ok(Some(parts))`: the keys of a split value's
    /// parts that the caller must still give the same expiry, one call each with `learn_parts`
    /// false (DynamoDB learns them from its update's answer, asked for only with
    /// `learn_parts`); the embedded backends change the parts in the same step (the file in
    /// one transaction, the memory under its lock) and return none.
    fn set_expiry<'a>(
        &'a self,
        key: &'a str,
        expires_at: i64,
        require: Require,
        learn_parts: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, Error>>;

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

    /// Writes one item if the stored one (with its lease) meets `require`; `Ok(false)` when it
    /// did not.
    fn put_if(&self, item: StoredItem, require: Require) -> BoxFuture<'_, Result<bool, Error>>;

    /// Takes a lease if the stored item (with its lease) meets `require`; `Ok(false)` when it
    /// did not. The item's value, if any, stays readable; writing a value (`put`) ends the
    /// lease.
    fn acquire_lease<'a>(
        &'a self,
        lease: LeaseRequest<'a>,
        require: Require,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Ends `owner`'s lease on `key`, if it still holds it (a load that failed), so others
    /// need not wait for it to expire.
    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Appends to a change feed item (creating it): its entries, or, past its cap, only how
    /// many did not fit ([`FeedItem::apply`](crate::format::feed::FeedItem::apply)); sets its
    /// `ttl`.
    fn feed_append<'a>(&'a self, append: &'a FeedAppend) -> BoxFuture<'a, Result<Appended, Error>>;

    /// Reads up to 100 distinct change feed items by key, strongly consistent; absent ones are
    /// left out.
    fn feed_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<FeedItem>, Error>>;

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
