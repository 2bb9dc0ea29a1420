//! Bytes in a stored JSON value as one base64 string: a JSON array of numbers would take
//! three to four times the room in an item that DynamoDB bills by the kilobyte.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// Serialises bytes as standard base64 text.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&STANDARD.encode(bytes))
}

/// Reads standard base64 text back; text that is not base64 is a decode error (the typed
/// cache counts the value as undecodable, a miss), never a panic.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, B: From<Vec<u8>>>(
    deserializer: D,
) -> Result<B, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    STANDARD
        .decode(text.as_bytes())
        .map(B::from)
        .map_err(serde::de::Error::custom)
}
