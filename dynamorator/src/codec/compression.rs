//! Gzip + standard base64, the Python package's compressed form of `data`, with inflation
//! capped so a gzip bomb cannot exhaust memory.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::Error;
use crate::error::CorruptReason;

/// Standard padded base64 of the gzip (level 6) of `bytes`.
pub(crate) fn gzip_base64(bytes: &[u8]) -> String {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    // Writing into a Vec cannot fail (its Write impl only grows the buffer); were that to
    // change, the empty stream would read back as a corrupt item, never a panic.
    let gzip = encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    BASE64.encode(gzip)
}

/// The gzip inside compressed `data`: its base64 decoded.
fn unbase64(key: &str, data: &str) -> Result<Vec<u8>, Error> {
    BASE64
        .decode(data)
        .map_err(|_| Error::corrupt(key, CorruptReason::Base64))
}

/// The JSON text inside compressed `data`, refused past `limit` bytes.
pub(crate) fn inflate(key: &str, data: &str, limit: usize) -> Result<Vec<u8>, Error> {
    gunzip(key, &unbase64(key, data)?, limit)
}

/// The JSON text inside a gzip stream, refused past `limit` bytes.
pub(crate) fn gunzip(key: &str, gzip: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let mut json = Vec::with_capacity(gzip.len().saturating_mul(4).min(limit));
    // Reading one byte past the cap tells "exactly at the cap" from "over it" without ever
    // holding more than cap + 1 bytes.
    MultiGzDecoder::new(gzip)
        .take(limit as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| Error::corrupt(key, CorruptReason::Gzip(e.to_string())))?;
    if json.len() > limit {
        return Err(Error::corrupt(key, CorruptReason::TooLarge { limit }));
    }
    Ok(json)
}
