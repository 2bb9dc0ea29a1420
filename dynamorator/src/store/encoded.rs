//! Values the layers above write with their own encoding options: the store encodes them with
//! those options and writes them, so a typed cache never builds a table item itself.

use serde::Serialize;

use super::Store;
use crate::Error;
use crate::codec::{Codec, ItemMeta};
use crate::format::StoredItem;

/// A value encoded for the table, ready to write; opaque above the store.
pub(crate) struct Encoded(StoredItem);

impl Store {
    /// Encodes `value` under `key` with `codec` (a cache's options over the store's), written
    /// now with `meta`. The key was checked by the caller, once.
    pub(crate) fn encode<V: Serialize + ?Sized>(
        &self,
        codec: &Codec,
        key: &str,
        value: &V,
        meta: ItemMeta,
    ) -> Result<Encoded, Error> {
        codec
            .encode_item_of_checked_key(key, value, meta, self.now())
            .map(Encoded)
    }

    /// Writes an encoded value, replacing any under its key.
    pub(crate) async fn put_encoded(&self, value: Encoded) -> Result<(), Error> {
        self.put_item(value.0).await
    }

    /// Writes an encoded value with a version, if the stored one is older; returns whether it
    /// was written.
    pub(crate) async fn put_encoded_if_older(&self, value: Encoded) -> Result<bool, Error> {
        self.put_item_if_older(value.0).await
    }

    /// Writes encoded values in batch writes, as [`put_many`](Store::put_many) does.
    pub(crate) async fn put_many_encoded(&self, values: Vec<Encoded>) -> Result<(), Error> {
        self.put_items(values.into_iter().map(|value| value.0).collect())
            .await
    }
}
