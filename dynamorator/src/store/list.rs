//! Key listing: one page at a time with the Python package's page tokens, or every key as a
//! stream.

use futures_util::stream::{self, Stream, TryStreamExt};

use super::Store;
use crate::Error;
use crate::codec::validate_key;
use crate::ttl::is_expired;

/// One page of keys, and where the next one starts.
///
/// `last_key` is the plain key string of DynamoDB's `LastEvaluatedKey`, as in the Python
/// package, so tokens pass between the two. Keys of expired items (and the parts of split
/// values) are left out, so a page can hold fewer keys than asked for, even none, while
/// `last_key` is still `Some`: keep going
/// until it is `None`. [`Store::list_keys`] shows a loop over pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys of this page.
    pub keys: Vec<String>,
    /// The token for the next page; `None` on the last page.
    pub last_key: Option<String>,
}

/// Listing keys.
impl Store {
    /// Lists up to `limit` keys, starting after `last_key` (a previous page's token; `None` or
    /// `""` starts at the beginning). Order is the backend's: key order on the embedded
    /// backend, hash order on DynamoDB. [`keys`](Store::keys) walks every page for you.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.put_many((0..5).map(|i| (format!("k{i}"), i)), Ttl::days(1)).await?;
    /// let mut keys = Vec::new();
    /// let mut token = None;
    /// loop {
    ///     let page = store.list_keys(2, token.as_deref()).await?;
    ///     keys.extend(page.keys);
    ///     token = page.last_key;
    ///     if token.is_none() { break; }
    /// }
    /// assert_eq!(keys.len(), 5);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a zero `limit`, an invalid `last_key`, or a DynamoDB
    /// failure.
    #[must_use = "the page read, or why it could not be"]
    pub async fn list_keys(&self, limit: u32, last_key: Option<&str>) -> Result<KeyPage, Error> {
        if limit == 0 {
            return Err(Error::InvalidArgument {
                reason: "list_keys limit must be at least 1",
            });
        }
        let Some(backend) = self.backend() else {
            return Ok(KeyPage::default());
        };
        let start = last_key.filter(|key| !key.is_empty());
        if let Some(start) = start {
            validate_key(start)?;
        }
        let page = backend.scan_keys(limit, start).await?;
        let now = self.now();
        let keys = page
            .keys
            .into_iter()
            .filter(|(_, expires_at)| !expires_at.is_some_and(|at| is_expired(at, now)))
            .map(|(key, _)| key)
            .collect();
        Ok(KeyPage {
            keys,
            last_key: page.last_key,
        })
    }

    /// Every key of the table (expired items left out), as a stream that reads a page of up
    /// to 1,000 keys at a time, like the SDK's paginators. A failed page ends the stream with
    /// its error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use futures_util::TryStreamExt;
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.put_many((0..2_500).map(|i| (format!("k{i}"), i)), Ttl::days(1)).await?;
    /// let keys: Vec<String> = store.keys().try_collect().await?;
    /// assert_eq!(keys.len(), 2_500);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's items: a page that could not be read (after the SDK's retries) is an
    /// `Err`, and the stream ends after it.
    pub fn keys(&self) -> impl Stream<Item = Result<String, Error>> + Send + 'static {
        /// Where the walk stands: the next page's token, or the end.
        enum Walk {
            From(Option<String>),
            Done,
        }
        let store = self.clone();
        stream::try_unfold(Walk::From(None), move |walk| {
            let store = store.clone();
            async move {
                let Walk::From(token) = walk else {
                    return Ok(None);
                };
                let page = store.list_keys(KEYS_PER_PAGE, token.as_deref()).await?;
                let next = match page.last_key {
                    Some(token) => Walk::From(Some(token)),
                    None => Walk::Done,
                };
                Ok(Some((stream::iter(page.keys.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
    }
}

/// The page size of [`Store::keys`].
const KEYS_PER_PAGE: u32 = 1_000;
