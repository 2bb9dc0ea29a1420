//! A typed cache's change feed, as the store carries it: appends and reads of feed items,
//! decided above (which items, which entries, how full) and only passed down here.

use super::Store;
use crate::Error;
use crate::format::feed::{Appended, FeedAppend, FeedItem};

/// BatchGetItem's limit on keys per request.
const READ_CHUNK: usize = 100;

impl Store {
    /// Appends to a feed item. A disabled store keeps nothing: `Entries`, as nothing can read
    /// them.
    pub(crate) async fn feed_append(&self, append: &FeedAppend) -> Result<Appended, Error> {
        let Some(backend) = self.backend() else {
            return Ok(Appended::Entries);
        };
        backend.feed_append(append).await
    }

    /// Reads feed items by key (distinct), 100 a request; absent ones are left out. The
    /// requests run one after another: a poll reads a few dozen items at most.
    pub(crate) async fn feed_read(&self, keys: &[String]) -> Result<Vec<FeedItem>, Error> {
        let Some(backend) = self.backend() else {
            return Ok(Vec::new());
        };
        let mut items = Vec::new();
        for chunk in keys.chunks(READ_CHUNK) {
            items.extend(backend.feed_read(chunk).await?);
        }
        Ok(items)
    }
}
