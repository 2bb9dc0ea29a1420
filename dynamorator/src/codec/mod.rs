//! The codec: a value ⇄ a stored item (JSON text, gzip + base64 above a threshold, expiry,
//! DynamoDB's key and size limits). It knows nothing of where items are kept or how they are
//! fetched; the store calls it on the way down and on the way up.

mod compression;
mod horizons;
mod json;
mod key;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::backend::item::{MAX_ITEM_BYTES, StoredItem};
use compression::{gzip_base64, inflate};
use json::json_error;

pub(crate) use crate::backend::item::StoredItem as Item;
pub(crate) use horizons::{Freshness, Horizons};
pub(crate) use key::{MAX_KEY_BYTES, validate_key};

/// The Python package's default compression threshold, in bytes of JSON text.
pub(crate) const DEFAULT_COMPRESS_THRESHOLD: usize = 1024;

/// The default cap on the size a compressed item may inflate to: far above what a 400 KB item
/// of ordinary JSON inflates to, far below what would hurt a service.
pub(crate) const DEFAULT_MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// How values are encoded on write and decoded on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Codec {
    /// Compress JSON text longer than `threshold` bytes.
    pub(crate) compress: bool,
    pub(crate) threshold: usize,
    /// Refuse compressed data that inflates past this many bytes.
    pub(crate) max_inflated: usize,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            compress: false,
            threshold: DEFAULT_COMPRESS_THRESHOLD,
            max_inflated: DEFAULT_MAX_INFLATED_BYTES,
        }
    }
}

/// The `data` and `compressed` attributes of a value about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedData {
    pub(crate) data: String,
    pub(crate) compressed: bool,
}

/// What an item carries besides its value: its horizons, and the stamps of a cache's
/// generation (fleet-wide clear) and of an ordered write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemMeta {
    pub(crate) horizons: Horizons,
    pub(crate) generation: Option<u64>,
    pub(crate) version: Option<u64>,
}

impl From<Horizons> for ItemMeta {
    fn from(horizons: Horizons) -> Self {
        ItemMeta {
            horizons,
            generation: None,
            version: None,
        }
    }
}

/// The times an item is written with: its expiry, and the informational ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemTimes {
    pub(crate) expires_at: i64,
    pub(crate) created_at: Option<i64>,
    pub(crate) fresh_until: Option<i64>,
}

/// A value read from an item, with what the layers above need to know about the item.
#[derive(Debug, Clone)]
pub(crate) struct Decoded<V> {
    pub(crate) value: V,
    /// When the item stops being fresh and when it expires.
    pub(crate) horizons: Horizons,
    /// The cache generation it was written under (0 when it carries none).
    pub(crate) generation: u64,
}

impl Codec {
    /// Encodes a value as compact JSON, compressed when enabled and the text is strictly longer
    /// than the threshold (the Python package's rule).
    pub(crate) fn encode<V: Serialize + ?Sized>(&self, value: &V) -> Result<EncodedData, Error> {
        let json = serde_json::to_string(value).map_err(|e| Error::Serialize(Arc::new(e)))?;
        if self.compress && json.len() > self.threshold {
            Ok(EncodedData {
                data: gzip_base64(json.as_bytes()),
                compressed: true,
            })
        } else {
            Ok(EncodedData {
                data: json,
                compressed: false,
            })
        }
    }

    /// Decodes an item's `data` as `T`. Undecodable text is [`Error::Corrupt`]; valid JSON of
    /// another shape is [`Error::TypeMismatch`].
    pub(crate) fn decode<T: DeserializeOwned>(&self, item: &StoredItem) -> Result<T, Error> {
        let parsed = if item.compressed {
            serde_json::from_slice(&self.json_text(item)?)
        } else {
            serde_json::from_str(&item.data)
        };
        parsed.map_err(|e| json_error::<T>(&item.key, &e))
    }

    /// The item for `value` under `key`, written at `now` (epoch seconds) with these
    /// horizons and stamps, refusing what DynamoDB would refuse.
    pub(crate) fn encode_item<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
        meta: impl Into<ItemMeta>,
        now: i64,
    ) -> Result<StoredItem, Error> {
        self.encode_stamped(key, value, meta.into(), Some(now))
    }

    /// The item for `value` under `key` with the given times, as they are (an import keeps an
    /// exported item's expiry), refusing what DynamoDB would refuse.
    pub(crate) fn encode_item_with_times<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
        times: ItemTimes,
    ) -> Result<StoredItem, Error> {
        let meta = ItemMeta::from(Horizons {
            fresh_until: times.fresh_until,
            expires_at: times.expires_at,
        });
        self.encode_stamped(key, value, meta, times.created_at)
    }

    fn encode_stamped<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
        meta: ItemMeta,
        created_at: Option<i64>,
    ) -> Result<StoredItem, Error> {
        let ItemMeta {
            horizons,
            generation,
            version,
        } = meta;
        validate_key(key)?;
        let encoded = self.encode(value)?;
        let item = StoredItem {
            key: key.to_owned(),
            data: encoded.data,
            compressed: encoded.compressed,
            expires_at: horizons.expires_at,
            created_at,
            fresh_until: horizons.fresh_until,
            generation,
            version,
        };
        let size = item.encoded_size();
        if size > MAX_ITEM_BYTES {
            return Err(Error::ItemTooLarge {
                key: key.to_owned(),
                size,
                compressed: item.compressed,
            });
        }
        Ok(item)
    }

    /// The JSON text of an item's `data`, inflated when compressed, as the writer wrote it
    /// (not checked to be JSON).
    pub(crate) fn json_text<'a>(&self, item: &'a StoredItem) -> Result<Cow<'a, [u8]>, Error> {
        if item.compressed {
            inflate(&item.key, &item.data, self.max_inflated).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(item.data.as_bytes()))
        }
    }

    /// The value of a stored item read at `now`; `Ok(None)` when it expired more than `grace`
    /// seconds ago (0: when it has expired; more: a fail-safe fallback may be returned).
    pub(crate) fn decode_item<V: DeserializeOwned>(
        &self,
        item: &StoredItem,
        now: i64,
        grace: i64,
    ) -> Result<Option<Decoded<V>>, Error> {
        if item.expires_at.saturating_add(grace) <= now {
            return Ok(None);
        }
        Ok(Some(Decoded {
            value: self.decode(item)?,
            horizons: Horizons {
                fresh_until: item.fresh_until,
                expires_at: item.expires_at,
            },
            generation: item.generation.unwrap_or(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ttl;
    use crate::error::CorruptReason;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde_json::{Value, json};

    fn item_of(encoded: EncodedData) -> StoredItem {
        StoredItem {
            key: "k".into(),
            data: encoded.data,
            compressed: encoded.compressed,
            expires_at: i64::MAX,
            created_at: None,
            fresh_until: None,
            generation: None,
            version: None,
        }
    }

    fn raw(data: &str, compressed: bool) -> StoredItem {
        item_of(EncodedData {
            data: data.into(),
            compressed,
        })
    }

    fn compressing(threshold: usize) -> Codec {
        Codec {
            compress: true,
            threshold,
            ..Codec::default()
        }
    }

    fn round_trip(codec: Codec, value: &Value) -> (Value, bool) {
        let encoded = codec.encode(value).expect("encodes");
        let compressed = encoded.compressed;
        let item = item_of(encoded);
        (codec.decode(&item).expect("decodes"), compressed)
    }

    #[test]
    fn plain_values_are_compact_json() {
        let encoded = Codec::default()
            .encode(&json!({"a": 1, "b": [true, null]}))
            .unwrap();
        assert_eq!(encoded.data, r#"{"a":1,"b":[true,null]}"#);
        assert!(!encoded.compressed);
    }

    #[test]
    fn round_trips_plain_and_compressed() {
        let value =
            json!({"name": "Zoë ☕ 日本", "n": -1.5e10, "list": [1, 2, 3], "nested": {"x": null}});
        for codec in [Codec::default(), compressing(0)] {
            let (back, _) = round_trip(codec, &value);
            assert_eq!(back, value);
        }
    }

    #[test]
    fn compresses_only_strictly_above_the_threshold() {
        // "\"xxxx\"" is the length of the string plus two quotes.
        let at = json!("x".repeat(8));
        let above = json!("x".repeat(9));
        assert!(!compressing(10).encode(&at).unwrap().compressed);
        assert!(compressing(10).encode(&above).unwrap().compressed);
        assert!(
            !Codec::default()
                .encode(&json!("x".repeat(5000)))
                .unwrap()
                .compressed
        );
    }

    #[test]
    fn a_zero_threshold_compresses_everything() {
        let encoded = compressing(0).encode(&json!(1)).unwrap();
        assert!(encoded.compressed);
        assert_eq!(&BASE64.decode(&encoded.data).unwrap()[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn items_carry_expiry_and_refuse_what_dynamodb_would() {
        let codec = Codec::default();
        let after = |now| Horizons::after(now, Ttl::secs(60), None, 0);
        let item = codec
            .encode_item("k", &json!(1), after(1_000), 1_000)
            .unwrap();
        assert_eq!((item.expires_at, item.created_at), (1_060, Some(1_000)));
        assert_eq!(item.fresh_until, None);
        let read: Option<Decoded<Value>> = codec.decode_item(&item, 1_059, 0).unwrap();
        assert_eq!(read.map(|d| d.value), Some(json!(1)));
        assert!(
            codec
                .decode_item::<Value>(&item, 1_060, 0)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            codec.encode_item("", &1, after(0), 0),
            Err(Error::EmptyKey)
        ));
        let large = "x".repeat(MAX_ITEM_BYTES);
        assert!(matches!(
            codec.encode_item("k", &large, after(0), 0),
            Err(Error::ItemTooLarge {
                compressed: false,
                ..
            })
        ));
    }

    #[test]
    fn items_carry_their_fresh_horizon_and_expired_ones_serve_within_the_grace() {
        let codec = Codec::default();
        let horizons = Horizons::after(1_000, Ttl::secs(60), Some(Ttl::secs(60)), 0);
        let item = codec.encode_item("k", &json!(1), horizons, 1_000).unwrap();
        assert_eq!((item.fresh_until, item.expires_at), (Some(1_060), 1_120));
        let read: Decoded<Value> = codec.decode_item(&item, 1_100, 0).unwrap().unwrap();
        assert_eq!(read.horizons.freshness(1_100), Freshness::Stale);
        assert!(
            codec
                .decode_item::<Value>(&item, 1_120, 0)
                .unwrap()
                .is_none()
        );
        let fallback: Decoded<Value> = codec.decode_item(&item, 1_150, 60).unwrap().unwrap();
        assert_eq!(fallback.horizons.freshness(1_150), Freshness::Expired);
        assert!(
            codec
                .decode_item::<Value>(&item, 1_180, 60)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn large_values_round_trip() {
        let value = json!({"blob": "abc".repeat(100_000)});
        let (back, compressed) = round_trip(compressing(1024), &value);
        assert!(compressed);
        assert_eq!(back, value);
    }

    #[test]
    fn reads_python_spacing_and_ascii_escapes() {
        let python = raw(r#"{"name": "Zo\u00eb", "n": 1}"#, false);
        let value: Value = Codec::default().decode(&python).unwrap();
        assert_eq!(value, json!({"name": "Zoë", "n": 1}));
    }

    #[test]
    fn compressed_data_is_standard_padded_base64_of_gzip() {
        let encoded = compressing(0).encode(&json!({"k": "v"})).unwrap();
        let gzip = BASE64.decode(&encoded.data).unwrap();
        assert_eq!(&gzip[..2], &[0x1f, 0x8b]);
        assert_eq!(encoded.data.len() % 4, 0);
    }

    fn corrupt_reason(item: &StoredItem) -> CorruptReason {
        match Codec::default().decode::<Value>(item) {
            Err(Error::Corrupt { reason, .. }) => reason,
            other => panic!("expected a corrupt item, got {other:?}"),
        }
    }

    #[test]
    fn every_corrupt_form_is_a_typed_error() {
        assert_eq!(
            corrupt_reason(&raw("not base64!!", true)),
            CorruptReason::Base64
        );
        assert!(matches!(
            corrupt_reason(&raw("aGVsbG8=", true)),
            CorruptReason::Gzip(_)
        ));
        let gzip = BASE64.decode(gzip_base64(b"{\"a\": 1}")).unwrap();
        let truncated = BASE64.encode(&gzip[..gzip.len() / 2]);
        assert!(matches!(
            corrupt_reason(&raw(&truncated, true)),
            CorruptReason::Gzip(_)
        ));
        let not_utf8 = gzip_base64(&[0xff, 0xfe, 0x00]);
        assert!(matches!(
            corrupt_reason(&raw(&not_utf8, true)),
            CorruptReason::Json(_)
        ));
        assert!(matches!(
            corrupt_reason(&raw("{\"a\":", false)),
            CorruptReason::Json(_)
        ));
        assert!(matches!(
            corrupt_reason(&raw("", false)),
            CorruptReason::Json(_)
        ));
        assert!(matches!(
            corrupt_reason(&raw("NaN", false)),
            CorruptReason::Json(_)
        ));
        let empty_gzip = BASE64.encode(b"");
        assert!(matches!(
            corrupt_reason(&raw(&empty_gzip, true)),
            CorruptReason::Json(_) | CorruptReason::Gzip(_)
        ));
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_cap() {
        let bomb = gzip_base64(&vec![b' '; 10 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024, "the bomb is small: {}", bomb.len());
        let codec = Codec {
            max_inflated: 1024 * 1024,
            ..Codec::default()
        };
        match codec.decode::<Value>(&raw(&bomb, true)) {
            Err(Error::Corrupt {
                reason: CorruptReason::TooLarge { limit },
                ..
            }) => assert_eq!(limit, 1024 * 1024),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn data_exactly_at_the_cap_decodes() {
        let json = format!("\"{}\"", "x".repeat(98));
        let codec = Codec {
            max_inflated: 100,
            ..Codec::default()
        };
        let value: String = codec
            .decode(&raw(&gzip_base64(json.as_bytes()), true))
            .unwrap();
        assert_eq!(value.len(), 98);
    }

    #[test]
    fn another_shape_is_a_type_mismatch_without_the_payload() {
        match Codec::default().decode::<u64>(&raw("\"4111-1111\"", false)) {
            Err(Error::TypeMismatch {
                detail, type_name, ..
            }) => {
                assert_eq!(type_name, "u64");
                assert!(!detail.contains("4111"), "{detail}");
                assert!(detail.contains("expected u64"), "{detail}");
            }
            other => panic!("expected a type mismatch, got {other:?}"),
        }
    }

    #[test]
    fn unserialisable_values_are_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(
            Codec::default().encode(&map),
            Err(Error::Serialize(_))
        ));
    }
}
