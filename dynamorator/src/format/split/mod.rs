//! Values past DynamoDB's 400 KB item limit (README, "Values past 400 KB"), as the table
//! stores them: the value's stored bytes cut into parts of [`PART_BYTES`], each its own item
//! under [`part_key`], and a head under the value's key naming them with their count, write,
//! length, SHA-256 and form. How a value is cut ([`cut`](mod@cut)) and how parts are checked
//! and joined ([`join`](mod@join)) are here too; the store only reads and writes the items.

mod cut;
mod join;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::attr;
use super::item::{Payload, count_len, decimal_len};
#[cfg(test)]
pub(crate) use cut::sha256_hex;
pub(crate) use cut::{SplitWrite, needs_split, split};
pub(crate) use join::{Joining, join, part_keys, take_parts};

/// The bytes of a value each part of a split value carries (the last carries the rest): under
/// DynamoDB's item limit with a 2 KB key, and under moto's, which counts a binary as its
/// base64 text.
pub(crate) const PART_BYTES: usize = 300_000;

/// The most parts a split value's head may name; a head naming more is corrupt, and nothing
/// is fetched for it.
pub(crate) const MAX_PARTS: u32 = 1_024;

/// The form of a split value's bytes once its parts are joined: the JSON text, its gzip (raw,
/// not base64: parts are binary), or its zstd frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinedForm {
    Json,
    Gzip,
    Zstd,
}

impl JoinedForm {
    /// The `parts_form` attribute's value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            JoinedForm::Json => "json",
            JoinedForm::Gzip => "gzip",
            JoinedForm::Zstd => "zstd",
        }
    }

    // Only DynamoDB stores it by name; the embedded file stores a byte.
    #[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
    pub(crate) fn from_name(name: &str) -> Option<JoinedForm> {
        [JoinedForm::Json, JoinedForm::Gzip, JoinedForm::Zstd]
            .into_iter()
            .find(|form| form.name() == name)
    }
}

/// A split value's head: where its parts are and how to check them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitHead {
    /// The write the parts belong to (32 lowercase hex digits from this crate), in their keys.
    pub(crate) write_id: String,
    /// How many parts.
    pub(crate) parts: u32,
    /// The joined bytes' length.
    pub(crate) len: u64,
    /// The joined bytes' SHA-256, lowercase hex.
    pub(crate) sha256: String,
    pub(crate) form: JoinedForm,
}

impl SplitHead {
    /// The keys of the parts this head names under `key`, or `None` when it cannot name parts
    /// of this crate's writing (a count of zero or past [`MAX_PARTS`], a write id that is not
    /// 1 to 64 ASCII letters and digits): nothing is fetched or deleted for such a head.
    pub(crate) fn part_keys(&self, key: &str) -> Option<Vec<String>> {
        let id = &self.write_id;
        let id_ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok || self.parts == 0 || self.parts > MAX_PARTS {
            return None;
        }
        Some(
            (0..self.parts)
                .map(|index| part_key(key, id, index))
                .collect(),
        )
    }

    /// The size of every part item, as [`StoredItem::encoded_size`](super::StoredItem::encoded_size) counts them, for a head
    /// under `key` expiring at `expires_at`: computed, not read (a head naming more than
    /// [`MAX_PARTS`] parts counts none).
    pub(crate) fn parts_size(&self, key: &str, expires_at: i64) -> usize {
        if self.parts > MAX_PARTS {
            return 0;
        }
        let each = attr::KEY.len()
            + attr::TTL.len()
            + decimal_len(expires_at)
            + attr::PART_OF.len()
            + self.write_id.len()
            + attr::PART_INDEX.len()
            + attr::PART.len();
        (0..self.parts)
            .map(|index| {
                each + part_key(key, &self.write_id, index).len() + count_len(u64::from(index))
            })
            .sum::<usize>()
            .saturating_add(usize::try_from(self.len).unwrap_or(usize::MAX))
    }
}

/// One part of a split value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) write_id: String,
    /// Its place, from 0.
    pub(crate) index: u32,
    pub(crate) bytes: Vec<u8>,
}

/// The key of part `index` of the write `write_id` of the value under `key`:
/// `{key}#part#{write_id}#{index}`, the key cut (at a character boundary) so the whole stays
/// within DynamoDB's 2048 bytes. The random write id makes it unique; the key is kept for
/// whoever reads the table.
pub(crate) fn part_key(key: &str, write_id: &str, index: u32) -> String {
    let suffix = format!("#part#{write_id}#{index}");
    let room = 2048usize.saturating_sub(suffix.len());
    let mut end = key.len().min(room);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    let mut part = String::with_capacity(end + suffix.len());
    part.push_str(&key[..end]);
    part.push_str(&suffix);
    part
}

/// A split value's bytes once its parts are joined, in the form its head names.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    pub(crate) form: JoinedForm,
    pub(crate) bytes: Vec<u8>,
}

// The value's bytes never reach logs.
impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Joined({:?}, {} bytes)", self.form, self.bytes.len())
    }
}

/// The bytes a split value stores of `payload` (a whole value's, as the codec made it): the
/// JSON text, the gzip without its base64 (parts are binary), or the zstd frame. A head or a
/// part, which are not whole values, comes back as it is.
pub(crate) fn into_joined(payload: Payload) -> Result<Joined, Payload> {
    let (form, bytes) = match payload {
        Payload::Json(text) => (JoinedForm::Json, text.into_bytes()),
        // This crate's own base64, just written: it decodes. Were it not to, the text is
        // kept as it is and read back as corrupt, never as a wrong value.
        Payload::Gzip(text) => match BASE64.decode(&text) {
            Ok(gzip) => (JoinedForm::Gzip, gzip),
            Err(_) => (JoinedForm::Json, text.into_bytes()),
        },
        Payload::Zstd(frame) => (JoinedForm::Zstd, frame),
        other @ (Payload::Head(_) | Payload::Part(_)) => return Err(other),
    };
    Ok(Joined { form, bytes })
}

/// The bytes a split value of `payload` would store, without converting it.
pub(crate) fn joined_len(payload: &Payload) -> usize {
    match payload {
        // Standard padded base64: 3 bytes per 4 characters, less the padding.
        Payload::Gzip(text) => {
            let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
            (text.len() / 4 * 3).saturating_sub(padding)
        }
        other => other.len(),
    }
}
