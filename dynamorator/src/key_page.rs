//! Key listing, one page at a time, with the Python package's page tokens.

use crate::Error;
use crate::key::validate_key;
use crate::store::Store;
use crate::ttl::{is_expired, now_epoch_secs};

/// One page of keys, and where the next one starts.
///
/// `last_key` is the plain key string of DynamoDB's `LastEvaluatedKey`, as in the Python
/// package, so tokens pass between the two. Keys of expired items are left out, so a page can
/// hold fewer keys than asked for, even none, while `last_key` is still `Some`: keep going
/// until it is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys of this page.
    pub keys: Vec<String>,
    /// The token for the next page; `None` on the last page.
    pub last_key: Option<String>,
}

impl Store {
    /// Lists up to `limit` keys, starting after `last_key` (a previous page's token; `None` or
    /// `""` starts at the beginning). Order is the backend's: key order on the embedded
    /// backend, hash order on DynamoDB.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Store, Ttl};
    ///
    /// let store = Store::embedded();
    /// store.try_batch_put((0..5).map(|i| (format!("k{i}"), i)), Ttl::days(1.0)).await?;
    /// let mut keys = Vec::new();
    /// let mut token = None;
    /// loop {
    ///     let page = store.try_list_keys(2, token.as_deref()).await?;
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
    /// failure (which the never-fail form cannot tell from the end of the table).
    pub async fn try_list_keys(
        &self,
        limit: u32,
        last_key: Option<&str>,
    ) -> Result<KeyPage, Error> {
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
        let now = now_epoch_secs();
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

    /// [`try_list_keys`](Store::try_list_keys), logging any failure and returning an empty last
    /// page for it, as the Python package does.
    pub async fn list_keys(&self, limit: u32, last_key: Option<&str>) -> KeyPage {
        self.try_list_keys(limit, last_key)
            .await
            .unwrap_or_else(|error| {
                self.report("list_keys", last_key.unwrap_or_default(), &error);
                KeyPage::default()
            })
    }
}
