//! [`Record`]: a value with the times it is stored with, for writes that keep an item's own
//! expiry (restoring a backup, moving items between tables) instead of starting a new TTL.

use serde::Serialize;

use super::{Encoding, Store};
use crate::Error;
use crate::codec::{Codec, ItemTimes};

/// A value under a key with its absolute times, as [`Store::put_records`] writes it.
///
/// ```
/// let record = dynamorator::Record::new("user:1", serde_json::json!({"n": 1}), 1_900_000_000)
///     .created_at(Some(1_800_000_000));
/// assert_eq!(record.expires_at, 1_900_000_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record<V> {
    /// The key.
    pub key: String,
    /// The value.
    pub value: V,
    /// The `ttl` attribute: epoch seconds after which the item is a miss.
    pub expires_at: i64,
    /// The `created_at` attribute; `None` writes none.
    pub created_at: Option<i64>,
    /// The `fresh_until` attribute; `None` writes none.
    pub fresh_until: Option<i64>,
    /// How the value is stored: `None` as the store's compression settings say; `Some` in
    /// that form whatever its size (`Gzip` and `Zstd` compress even a short value), so a
    /// restore keeps each item's form as it was exported.
    pub encoding: Option<Encoding>,
}

impl<V> Record<V> {
    /// `value` under `key`, expiring at `expires_at` (epoch seconds), with no other times.
    ///
    /// ```
    /// let record = dynamorator::Record::new("k", 1, 1_900_000_000);
    /// ```
    pub fn new(key: impl Into<String>, value: V, expires_at: i64) -> Record<V> {
        Record {
            key: key.into(),
            value,
            expires_at,
            created_at: None,
            fresh_until: None,
            encoding: None,
        }
    }

    /// Sets the `created_at` attribute (epoch seconds).
    ///
    /// ```
    /// let record = dynamorator::Record::new("k", 1, 1_900_000_000).created_at(Some(1_800_000_000));
    /// ```
    #[must_use]
    pub fn created_at(mut self, epoch_secs: Option<i64>) -> Record<V> {
        self.created_at = epoch_secs;
        self
    }

    /// Sets the `fresh_until` attribute (epoch seconds).
    ///
    /// ```
    /// let record = dynamorator::Record::new("k", 1, 1_900_000_000).fresh_until(Some(1_850_000_000));
    /// ```
    #[must_use]
    pub fn fresh_until(mut self, epoch_secs: Option<i64>) -> Record<V> {
        self.fresh_until = epoch_secs;
        self
    }

    /// Sets the form the value is stored in (`None`: the store's settings decide).
    ///
    /// ```
    /// use dynamorator::{Encoding, Record};
    /// let record = Record::new("k", 1, 1_900_000_000).encoding(Some(Encoding::Zstd));
    /// ```
    #[must_use]
    pub fn encoding(mut self, encoding: Option<Encoding>) -> Record<V> {
        self.encoding = encoding;
        self
    }
}

/// The codec that writes a value in `encoding`, whatever its size; the store's other settings
/// (a zstd level, splitting, the inflation cap) stay.
fn codec_for(mut codec: Codec, encoding: Encoding) -> Codec {
    match encoding {
        Encoding::Json => codec.compress = false,
        Encoding::Gzip => {
            codec.set_zstd(false);
            codec.compress = true;
            codec.threshold = 0;
        }
        Encoding::Zstd => {
            codec.set_zstd(true);
            codec.threshold = 0;
        }
    }
    codec
}

/// Writing items with their own expiry (restores, moves between tables).
impl Store {
    /// Writes records with their own times, as they are, in batches like
    /// [`put_many`](Store::put_many) (compressed by the store's settings, or in a record's own
    /// [`encoding`](Record::encoding); the last record of a repeated key wins). A record that has already expired is written, and reads as a miss.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{Record, Store};
    ///
    /// let store = Store::embedded();
    /// let in_an_hour = store.clock().now_epoch_secs() + 3_600;
    /// store.put_records([Record::new("k", 1, in_an_hour)]).await?;
    /// assert_eq!(store.item_info("k").await?.map(|info| info.expires_at), Some(in_an_hour));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any invalid key or value, or an item over 400 KB ([`Error::ItemTooLarge`]; with
    /// splitting on, a value past its maximum, [`Error::ValueTooLarge`]), before anything is
    /// written; then
    /// [`Error::Incomplete`] listing the keys that were not written (all others were).
    #[must_use = "a failed write is only seen in this Result"]
    pub async fn put_records<V: Serialize>(
        &self,
        records: impl IntoIterator<Item = Record<V>>,
    ) -> Result<(), Error> {
        if !self.is_enabled() {
            return Ok(());
        }
        let codec = self.codec();
        let items = records
            .into_iter()
            .map(|record| {
                let times = ItemTimes {
                    expires_at: record.expires_at,
                    created_at: record.created_at,
                    fresh_until: record.fresh_until,
                };
                let codec = record
                    .encoding
                    .map_or(codec, |encoding| codec_for(codec, encoding));
                codec.encode_item_with_times(&record.key, &record.value, times)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.put_items(items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, ItemInfo};

    #[tokio::test(flavor = "current_thread")]
    async fn records_keep_their_times() {
        let clock = Clock::manual();
        let store = Store::builder()
            .embedded()
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        let now = clock.now_epoch_secs();
        store
            .put_records([
                Record::new("live", "a", now + 60)
                    .created_at(Some(now - 5))
                    .fresh_until(Some(now + 30)),
                Record::new("gone", "b", now - 1),
            ])
            .await
            .unwrap();
        let info: Option<ItemInfo> = store.item_info("live").await.unwrap();
        let info = info.unwrap();
        assert_eq!(
            (info.expires_at, info.created_at, info.fresh_until),
            (now + 60, Some(now - 5), Some(now + 30))
        );
        assert_eq!(
            store.get::<String>("live").await.unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(store.get::<String>("gone").await.unwrap(), None);
        assert!(store.item_info("gone").await.unwrap().unwrap().expired);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn records_keep_their_own_encoding() {
        let store = Store::builder()
            .embedded()
            .compress(true)
            .build()
            .await
            .unwrap();
        let at = store.clock().now_epoch_secs() + 60;
        let long = "x".repeat(5_000);
        store
            .put_records([
                Record::new("zstd", "short", at).encoding(Some(Encoding::Zstd)),
                Record::new("gzip", "short", at).encoding(Some(Encoding::Gzip)),
                Record::new("plain", long.as_str(), at).encoding(Some(Encoding::Json)),
                Record::new("store's", long.as_str(), at),
            ])
            .await
            .unwrap();
        for (key, encoding) in [
            ("zstd", Encoding::Zstd),
            ("gzip", Encoding::Gzip),
            ("plain", Encoding::Json),
            ("store's", Encoding::Gzip),
        ] {
            let info = store.item_info(key).await.unwrap().unwrap();
            assert_eq!(info.encoding, encoding, "{key}");
        }
        assert_eq!(store.get::<String>("zstd").await.unwrap().unwrap(), "short");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_invalid_record_writes_nothing() {
        let store = Store::embedded();
        let written = store
            .put_records([Record::new("ok", 1, i64::MAX), Record::new("", 2, i64::MAX)])
            .await;
        assert!(matches!(written, Err(Error::EmptyKey)));
        assert_eq!(store.get::<i32>("ok").await.unwrap(), None);
    }
}
