//! Any backend, observed: one `dynamorator.store` span per request, with OpenTelemetry's
//! database attribute names, and the store's request metrics (`crate::observe::store`).
//!
//! The store wraps whatever backend it is built on, so a backend knows nothing of this. The
//! operation names are DynamoDB's on every backend (the embedded backend does what those
//! requests do). Keys appear only in a debug-level event inside the span; values never.

use std::sync::Arc;

use tracing::field::Empty;
use tracing::{Instrument, Span};

use super::{
    Backend, BatchGetPage, BoxFuture, ItemPage, LeaseRequest, ScanPage, ScanSegment, WriteOp,
};
use crate::Error;
use crate::format::StoredItem;
use crate::format::condition::Require;
use crate::format::feed::{Appended, FeedAppend, FeedItem};
use crate::observe::{Stopwatch, error_kind, store};

/// The `db.system.name` of a DynamoDB table.
const DYNAMODB: &str = "aws.dynamodb";
/// The `db.system.name` of the embedded backend (OpenTelemetry has none for it).
const EMBEDDED: &str = "embedded";

/// A backend whose requests are observed.
#[derive(Debug)]
pub(crate) struct Instrumented {
    inner: Arc<dyn Backend>,
    /// `db.system.name`.
    system: &'static str,
    /// The `table` label: the table's name, or `embedded`.
    table: Arc<str>,
}

impl Instrumented {
    /// Observes `inner`, a DynamoDB table when `table` is given, else the embedded backend.
    pub(crate) fn wrap(inner: Arc<dyn Backend>, table: Option<&str>) -> Arc<dyn Backend> {
        let (system, table) = match table {
            Some(table) => (DYNAMODB, table),
            None => (EMBEDDED, EMBEDDED),
        };
        Arc::new(Instrumented {
            inner,
            system,
            table: Arc::from(table),
        })
    }

    fn span(&self, operation: &'static str) -> Span {
        let span = tracing::info_span!(
            target: "dynamorator::store",
            "dynamorator.store",
            db.system.name = self.system,
            db.operation.name = operation,
            db.collection.name = Empty,
            db.operation.batch.size = Empty,
            db.response.returned_rows = Empty,
            dynamorator.unprocessed = Empty,
            dynamorator.capacity_units = Empty,
            error.type = Empty,
        );
        if self.system == DYNAMODB {
            span.record("db.collection.name", &*self.table);
        }
        span
    }

    /// Runs one request in its span, then records what it did: `rows` says how many items it
    /// returned and how many keys it left unprocessed.
    async fn observe<T>(
        &self,
        operation: &'static str,
        subject: Subject<'_>,
        request: BoxFuture<'_, Result<T, Error>>,
        rows: impl FnOnce(&T) -> Rows,
    ) -> Result<T, Error> {
        let span = self.span(operation);
        match subject {
            Subject::Key(key) => {
                span.in_scope(|| tracing::debug!(target: "dynamorator::store", key, "request"));
            }
            Subject::Batch(size) => {
                span.record("db.operation.batch.size", size);
                store::batch(operation, &self.table, size);
            }
            Subject::Other => {}
        }
        let watch = Stopwatch::start();
        let result = request.instrument(span.clone()).await;
        store::request(operation, &self.table, watch);
        match &result {
            Ok(output) => {
                let rows = rows(output);
                if let Some(returned) = rows.returned {
                    span.record("db.response.returned_rows", returned);
                }
                if rows.unprocessed > 0 {
                    span.record("dynamorator.unprocessed", rows.unprocessed);
                    store::unprocessed(operation, &self.table, rows.unprocessed);
                }
            }
            Err(error) => {
                let kind = error_kind(error);
                span.record("error.type", kind);
                store::error(operation, &self.table, kind);
            }
        }
        result
    }
}

/// What a request is about.
enum Subject<'a> {
    /// One key (a debug-level event names it).
    Key(&'a str),
    /// A batch of this many keys (never named).
    Batch(usize),
    /// A scan, or a key not worth copying for an event nobody listens to.
    Other,
}

/// What a request returned.
#[derive(Default)]
struct Rows {
    returned: Option<usize>,
    unprocessed: usize,
}

/// The rows a page of whole items returned.
fn item_rows(page: &ItemPage) -> Rows {
    Rows {
        returned: Some(page.items.len()),
        unprocessed: 0,
    }
}

/// The key of an item about to be written, for the debug event that names it: copied only when
/// that event is on.
fn debug_key(item: &StoredItem) -> Option<String> {
    tracing::enabled!(target: "dynamorator::store", tracing::Level::DEBUG).then(|| item.key.clone())
}

fn none<T>(_: &T) -> Rows {
    Rows::default()
}

impl Backend for Instrumented {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        Box::pin(
            self.observe("GetItem", Subject::Key(key), self.inner.get(key), |item| {
                Rows {
                    returned: Some(usize::from(item.is_some())),
                    unprocessed: 0,
                }
            }),
        )
    }

    fn put(&self, item: StoredItem) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let key = debug_key(&item);
            let subject = key.as_deref().map_or(Subject::Other, Subject::Key);
            self.observe("PutItem", subject, self.inner.put(item), none)
                .await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.observe(
            "DeleteItem",
            Subject::Key(key),
            self.inner.delete(key),
            none,
        ))
    }

    fn put_replacing(&self, item: StoredItem) -> BoxFuture<'_, Result<Option<StoredItem>, Error>> {
        Box::pin(async move {
            let key = debug_key(&item);
            let subject = key.as_deref().map_or(Subject::Other, Subject::Key);
            self.observe("PutItem", subject, self.inner.put_replacing(item), none)
                .await
        })
    }

    fn delete_replacing<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredItem>, Error>> {
        Box::pin(self.observe(
            "DeleteItem",
            Subject::Key(key),
            self.inner.delete_replacing(key),
            none,
        ))
    }

    fn batch_get<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<BatchGetPage, Error>> {
        Box::pin(self.observe(
            "BatchGetItem",
            Subject::Batch(keys.len()),
            self.inner.batch_get(keys),
            |page| Rows {
                returned: Some(page.items.len()),
                unprocessed: page.unprocessed.len(),
            },
        ))
    }

    fn batch_write(&self, writes: Vec<WriteOp>) -> BoxFuture<'_, Result<Vec<WriteOp>, Error>> {
        let size = writes.len();
        Box::pin(self.observe(
            "BatchWriteItem",
            Subject::Batch(size),
            self.inner.batch_write(writes),
            |unprocessed| Rows {
                returned: None,
                unprocessed: unprocessed.len(),
            },
        ))
    }

    fn scan_keys<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ScanPage, Error>> {
        Box::pin(self.observe(
            "Scan",
            Subject::Other,
            self.inner.scan_keys(limit, start),
            |page| Rows {
                returned: Some(page.keys.len()),
                unprocessed: 0,
            },
        ))
    }

    fn scan_items<'a>(
        &'a self,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        Box::pin(self.observe(
            "Scan",
            Subject::Other,
            self.inner.scan_items(limit, start),
            item_rows,
        ))
    }

    fn scan_segment<'a>(
        &'a self,
        segment: ScanSegment,
        limit: u32,
        start: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ItemPage, Error>> {
        Box::pin(self.observe(
            "Scan",
            Subject::Other,
            self.inner.scan_segment(segment, limit, start),
            item_rows,
        ))
    }

    fn put_if(&self, item: StoredItem, require: Require) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(async move {
            let key = tracing::enabled!(target: "dynamorator::store", tracing::Level::DEBUG)
                .then(|| item.key.clone());
            let subject = key.as_deref().map_or(Subject::Other, Subject::Key);
            self.observe("PutItem", subject, self.inner.put_if(item, require), none)
                .await
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        lease: LeaseRequest<'a>,
        require: Require,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.observe(
            "UpdateItem",
            Subject::Key(lease.key),
            self.inner.acquire_lease(lease, require),
            none,
        ))
    }

    fn release_lease<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.observe(
            "UpdateItem",
            Subject::Key(key),
            self.inner.release_lease(key, owner),
            none,
        ))
    }

    fn set_expiry<'a>(
        &'a self,
        key: &'a str,
        expires_at: i64,
        require: Require,
        learn_parts: bool,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, Error>> {
        Box::pin(self.observe(
            "UpdateItem",
            Subject::Key(key),
            self.inner.set_expiry(key, expires_at, require, learn_parts),
            none,
        ))
    }

    fn feed_append<'a>(&'a self, append: &'a FeedAppend) -> BoxFuture<'a, Result<Appended, Error>> {
        Box::pin(self.observe(
            "UpdateItem",
            Subject::Key(&append.key),
            self.inner.feed_append(append),
            none,
        ))
    }

    fn feed_read<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<Vec<FeedItem>, Error>> {
        Box::pin(self.observe(
            "BatchGetItem",
            Subject::Batch(keys.len()),
            self.inner.feed_read(keys),
            |items: &Vec<FeedItem>| Rows {
                returned: Some(items.len()),
                unprocessed: 0,
            },
        ))
    }
}
