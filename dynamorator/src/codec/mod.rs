//! The codec: a value ⇄ a stored item (JSON text, gzip + base64 or zstd above a threshold,
//! expiry, DynamoDB's key and size limits). It knows nothing of where items are kept or how
//! they are fetched; the store calls it on the way down and on the way up.

mod compression;
mod depth;
mod horizons;
mod json;
mod key;
mod options;
mod zstd_frame;

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::error::CorruptReason;
use crate::format::split::joined_len;
use crate::format::{
    Joined, JoinedForm, MAX_ITEM_BYTES, MAX_PARTS, PART_BYTES, Payload, StoredItem,
};
use compression::{gunzip, gzip_base64, inflate};
use depth::to_json;
pub(crate) use depth::{MAX_DEPTH, check_nesting};
use json::json_error;

pub(crate) use horizons::{Freshness, Horizons};
pub(crate) use key::{MAX_KEY_BYTES, validate_key};
pub use options::CodecOptions;
pub(crate) use options::CodecOverrides;
pub(crate) use zstd_frame::{DEFAULT_ZSTD_LEVEL, clamp_level as clamp_zstd_level};

/// The Python package's default compression threshold, in bytes of JSON text.
pub(crate) const DEFAULT_COMPRESS_THRESHOLD: usize = 1024;

/// The default cap on the size a compressed item may inflate to: far above what a 400 KB item
/// of ordinary JSON inflates to, far below what would hurt a service.
pub(crate) const DEFAULT_MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// The default most bytes a split value may store (`split_max_bytes`).
pub(crate) const DEFAULT_SPLIT_MAX_BYTES: usize = 32 * 1024 * 1024;

/// How values are encoded on write and decoded on read: nothing but its settings, which users
/// see and set as [`CodecOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Codec {
    /// Compress JSON text longer than `threshold` bytes.
    pub(crate) compress: bool,
    /// With `compress`: zstd at this level instead of gzip.
    pub(crate) zstd: Option<i32>,
    pub(crate) threshold: usize,
    /// Refuse compressed data that inflates past this many bytes (and split values whose
    /// joined bytes pass it).
    pub(crate) max_inflated: usize,
    /// Whether a value too large for one item may be split, and up to how many stored bytes.
    pub(crate) split: bool,
    pub(crate) split_max: usize,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            compress: false,
            zstd: None,
            threshold: DEFAULT_COMPRESS_THRESHOLD,
            max_inflated: DEFAULT_MAX_INFLATED_BYTES,
            split: false,
            split_max: DEFAULT_SPLIT_MAX_BYTES,
        }
    }
}

impl Codec {
    /// Turns zstd on (at the level set, or the default) or off (back to gzip when compressing).
    pub(crate) fn set_zstd(&mut self, enabled: bool) {
        self.zstd = enabled.then(|| self.zstd.unwrap_or(DEFAULT_ZSTD_LEVEL));
        if enabled {
            self.compress = true;
        }
    }

    /// Compresses with zstd at `level` (clamped to zstd's range).
    pub(crate) fn set_zstd_level(&mut self, level: i32) {
        self.zstd = Some(clamp_zstd_level(level));
        self.compress = true;
    }
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
    /// Encodes a value as compact JSON, compressed (gzip + base64, or zstd) when enabled and
    /// the text is strictly longer than the threshold (the Python package's rule).
    #[cfg(any(test, feature = "__bench-hooks"))]
    pub(crate) fn encode<V: Serialize + ?Sized>(&self, value: &V) -> Result<Payload, Error> {
        to_json(value).map(|json| self.payload_of(json))
    }

    /// The payload of a value's JSON text: compressed past the threshold when enabled.
    fn payload_of(&self, json: String) -> Payload {
        if !self.compress || json.len() <= self.threshold {
            return Payload::Json(json);
        }
        match self.zstd {
            None => Payload::Gzip(gzip_base64(json.as_bytes())),
            // zstd refuses nothing this crate asks of it; were it to, the text is stored plain.
            Some(level) => zstd_frame::compress(json.as_bytes(), level)
                .map_or(Payload::Json(json), Payload::Zstd),
        }
    }

    /// Decodes an item's value as `T`, whatever its form. Undecodable data is
    /// [`Error::Corrupt`]; valid JSON of another shape is [`Error::TypeMismatch`].
    pub(crate) fn decode<T: DeserializeOwned>(&self, item: &StoredItem) -> Result<T, Error> {
        let parsed = match &item.payload {
            Payload::Json(text) => serde_json::from_str(text),
            _ => serde_json::from_slice(&self.json_text(item)?),
        };
        parsed.map_err(|e| json_error::<T>(&item.key, &e))
    }

    /// Decodes a split value's joined bytes (of the value under `key`) as `T`.
    pub(crate) fn decode_joined<T: DeserializeOwned>(
        &self,
        key: &str,
        joined: &Joined,
    ) -> Result<T, Error> {
        serde_json::from_slice(&self.joined_json_text(key, joined)?)
            .map_err(|e| json_error::<T>(key, &e))
    }

    /// The JSON text of a split value's joined bytes, inflated when compressed.
    pub(crate) fn joined_json_text<'a>(
        &self,
        key: &str,
        joined: &'a Joined,
    ) -> Result<Cow<'a, [u8]>, Error> {
        match joined.form {
            JoinedForm::Json => Ok(Cow::Borrowed(&joined.bytes)),
            JoinedForm::Gzip => gunzip(key, &joined.bytes, self.max_inflated).map(Cow::Owned),
            JoinedForm::Zstd => {
                zstd_frame::inflate(key, &joined.bytes, self.max_inflated).map(Cow::Owned)
            }
        }
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
        validate_key(key)?;
        self.encode_stamped(key, value, meta.into(), Some(now))
    }

    /// [`encode_item`](Codec::encode_item) of a key the caller has checked already.
    pub(crate) fn encode_item_of_checked_key<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
        meta: ItemMeta,
        now: i64,
    ) -> Result<StoredItem, Error> {
        self.encode_stamped(key, value, meta, Some(now))
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
        validate_key(key)?;
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
        let json = to_json(value)?;
        let json_len = json.len();
        let item = StoredItem {
            key: key.to_owned(),
            payload: self.payload_of(json),
            expires_at: horizons.expires_at,
            created_at,
            fresh_until: horizons.fresh_until,
            generation,
            version,
        };
        let size = item.encoded_size();
        if size <= MAX_ITEM_BYTES {
            return Ok(item);
        }
        if !self.split {
            return Err(Error::ItemTooLarge {
                key: key.to_owned(),
                size,
                compressed: item.payload.is_compressed(),
            });
        }
        // Too large for one item: the store splits it, up to the maximum, and never past what
        // a reader takes back (it refuses a head past `max_inflated`, or naming more than
        // MAX_PARTS parts, and inflates no further than `max_inflated`).
        let stored = joined_len(&item.payload);
        let readable = self.max_inflated.min(MAX_PARTS as usize * PART_BYTES);
        let limit = self.split_max.min(readable);
        let (size, limit) = if stored > limit {
            (stored, limit)
        } else if json_len > self.max_inflated {
            (json_len, self.max_inflated)
        } else {
            return Ok(item);
        };
        Err(Error::ValueTooLarge {
            key: key.to_owned(),
            size,
            limit,
        })
    }

    /// The JSON text of an item's value, inflated when compressed, as the writer wrote it
    /// (not checked to be JSON). A split value's head holds no text: its parts must be joined
    /// first ([`joined_json_text`](Codec::joined_json_text)).
    pub(crate) fn json_text<'a>(&self, item: &'a StoredItem) -> Result<Cow<'a, [u8]>, Error> {
        match &item.payload {
            Payload::Json(text) => Ok(Cow::Borrowed(text.as_bytes())),
            Payload::Gzip(text) => inflate(&item.key, text, self.max_inflated).map(Cow::Owned),
            Payload::Zstd(frame) => {
                zstd_frame::inflate(&item.key, frame, self.max_inflated).map(Cow::Owned)
            }
            Payload::Head(_) | Payload::Part(_) => Err(Error::corrupt(
                &item.key,
                CorruptReason::Split("it is a split value's head or part, not a whole value"),
            )),
        }
    }

    /// Whether `item` is still to be read at `now`: not expired, or expired at most `grace`
    /// seconds ago (a fail-safe fallback).
    pub(crate) fn is_readable(item: &StoredItem, now: i64, grace: i64) -> bool {
        item.expires_at.saturating_add(grace) > now
    }

    /// The value of a split value's head whose parts were joined; its expiry was checked
    /// before its parts were read.
    pub(crate) fn decode_split<V: DeserializeOwned>(
        &self,
        head: &StoredItem,
        joined: &Joined,
    ) -> Result<Decoded<V>, Error> {
        Ok(Decoded {
            value: self.decode_joined(&head.key, joined)?,
            horizons: Horizons {
                fresh_until: head.fresh_until,
                expires_at: head.expires_at,
            },
            generation: head.generation.unwrap_or(0),
        })
    }

    /// The value of a stored item read at `now`; `Ok(None)` when it expired more than `grace`
    /// seconds ago (0: when it has expired; more: a fail-safe fallback may be returned).
    pub(crate) fn decode_item<V: DeserializeOwned>(
        &self,
        item: &StoredItem,
        now: i64,
        grace: i64,
    ) -> Result<Option<Decoded<V>>, Error> {
        if !Codec::is_readable(item, now, grace) {
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

    fn item_of(payload: Payload) -> StoredItem {
        StoredItem {
            key: "k".into(),
            payload,
            expires_at: i64::MAX,
            created_at: None,
            fresh_until: None,
            generation: None,
            version: None,
        }
    }

    fn raw(data: &str, compressed: bool) -> StoredItem {
        item_of(if compressed {
            Payload::Gzip(data.into())
        } else {
            Payload::Json(data.into())
        })
    }

    /// The `data` text of a payload in one of the Python package's forms.
    fn data_of(payload: &Payload) -> &str {
        match payload {
            Payload::Json(text) | Payload::Gzip(text) => text,
            other => panic!("a {} payload has no data", other.form_name()),
        }
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
        let compressed = encoded.is_compressed();
        let item = item_of(encoded);
        (codec.decode(&item).expect("decodes"), compressed)
    }

    fn zstd_at(threshold: usize) -> Codec {
        let mut codec = compressing(threshold);
        codec.set_zstd(true);
        codec
    }

    #[test]
    fn plain_values_are_compact_json() {
        let encoded = Codec::default()
            .encode(&json!({"a": 1, "b": [true, null]}))
            .unwrap();
        assert_eq!(encoded, Payload::Json(r#"{"a":1,"b":[true,null]}"#.into()));
    }

    #[test]
    fn round_trips_plain_and_compressed() {
        let value =
            json!({"name": "Zoë ☕ 日本", "n": -1.5e10, "list": [1, 2, 3], "nested": {"x": null}});
        for codec in [Codec::default(), compressing(0), zstd_at(0)] {
            let (back, _) = round_trip(codec, &value);
            assert_eq!(back, value);
        }
    }

    #[test]
    fn compresses_only_strictly_above_the_threshold() {
        // "\"xxxx\"" is the length of the string plus two quotes.
        let at = json!("x".repeat(8));
        let above = json!("x".repeat(9));
        for codec in [compressing(10), zstd_at(10)] {
            assert!(!codec.encode(&at).unwrap().is_compressed());
            assert!(codec.encode(&above).unwrap().is_compressed());
        }
        assert!(
            !Codec::default()
                .encode(&json!("x".repeat(5000)))
                .unwrap()
                .is_compressed()
        );
    }

    #[test]
    fn a_zero_threshold_compresses_everything() {
        let encoded = compressing(0).encode(&json!(1)).unwrap();
        assert!(matches!(encoded, Payload::Gzip(_)));
        assert_eq!(
            &BASE64.decode(data_of(&encoded)).unwrap()[..2],
            &[0x1f, 0x8b]
        );
    }

    #[test]
    fn zstd_payloads_are_binary_frames_and_its_level_is_kept() {
        let value = json!({"rows": (0..100).map(|i| json!({"id": i})).collect::<Vec<_>>()});
        let Payload::Zstd(frame) = zstd_at(0).encode(&value).unwrap() else {
            panic!("zstd expected");
        };
        assert_eq!(
            &frame[..4],
            &[0x28, 0xb5, 0x2f, 0xfd],
            "the zstd magic number"
        );
        let mut codec = Codec::default();
        codec.set_zstd_level(19);
        assert_eq!((codec.compress, codec.zstd), (true, Some(19)));
        codec.set_zstd(true);
        assert_eq!(codec.zstd, Some(19), "turning it on keeps the level");
        codec.set_zstd(false);
        assert_eq!((codec.compress, codec.zstd), (true, None), "back to gzip");
    }

    #[test]
    fn every_form_reads_back_through_one_codec() {
        // A reader needs no setting to read a form: a gzip reader reads zstd and the reverse.
        let value = json!({"text": "y".repeat(3_000)});
        let gzip_reader = compressing(0);
        let zstd_reader = zstd_at(0);
        for writer in [Codec::default(), compressing(0), zstd_at(0)] {
            let item = item_of(writer.encode(&value).unwrap());
            for reader in [Codec::default(), gzip_reader, zstd_reader] {
                assert_eq!(reader.decode::<Value>(&item).unwrap(), value);
                assert_eq!(
                    reader.json_text(&item).unwrap().len(),
                    value.to_string().len()
                );
            }
        }
    }

    #[test]
    fn a_zstd_bomb_is_refused_at_the_cap() {
        let bomb = item_of(Payload::Zstd(
            zstd_frame::compress(&vec![b' '; 10 * 1024 * 1024], 3).unwrap(),
        ));
        let codec = Codec {
            max_inflated: 1024 * 1024,
            ..Codec::default()
        };
        match codec.decode::<Value>(&bomb) {
            Err(Error::Corrupt {
                reason: CorruptReason::TooLarge { limit },
                ..
            }) => assert_eq!(limit, 1024 * 1024),
            other => panic!("expected TooLarge, got {other:?}"),
        }
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
        let gzip = BASE64.decode(data_of(&encoded)).unwrap();
        assert_eq!(&gzip[..2], &[0x1f, 0x8b]);
        assert_eq!(data_of(&encoded).len() % 4, 0);
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
