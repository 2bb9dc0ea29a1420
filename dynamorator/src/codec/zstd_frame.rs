//! zstd, this crate's own compressed form: the frame of the JSON text, kept as bytes (no
//! base64), with inflation capped so a hostile frame cannot exhaust memory.

use std::io::Read;

use zstd::zstd_safe;

use crate::Error;
use crate::error::CorruptReason;

/// zstd's default level, a good balance for JSON (BENCHMARKS.md).
pub(crate) const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// `level` within what zstd accepts (`0` stays zstd's default).
pub(crate) fn clamp_level(level: i32) -> i32 {
    let range = zstd::compression_level_range();
    level.clamp(*range.start(), *range.end())
}

/// One zstd frame of `bytes` at `level`, declaring its content size (so a reader can refuse
/// it before inflating) and carrying a checksum of it (so damage is caught, never decoded);
/// `None` if zstd refuses the parameters, which the caller answers by storing plain text.
pub(crate) fn compress(bytes: &[u8], level: i32) -> Option<Vec<u8>> {
    let mut compressor = zstd::bulk::Compressor::new(clamp_level(level)).ok()?;
    compressor
        .set_parameter(zstd_safe::CParameter::ChecksumFlag(true))
        .ok()?;
    compressor.compress(bytes).ok()
}

/// The JSON text inside a zstd payload, refused past `limit` bytes. Never allocates more than
/// the cap: a frame that declares a larger size is refused unread; one that declares none (or
/// several frames) is inflated a piece at a time, with a window no larger than the cap allows.
pub(crate) fn inflate(key: &str, frame: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let corrupt = |what: &str| Error::corrupt(key, CorruptReason::Zstd(what.to_owned()));
    let too_large = || Error::corrupt(key, CorruptReason::TooLarge { limit });
    let declared =
        zstd_safe::get_frame_content_size(frame).map_err(|_| corrupt("not a zstd frame"))?;
    if let Some(size) = declared {
        let size = usize::try_from(size).map_err(|_| too_large())?;
        if size > limit {
            return Err(too_large());
        }
        // One frame of known size (what this crate writes): inflated in one call, into
        // exactly that much room; a frame that produces more fails, it cannot grow the buffer.
        if zstd_safe::find_frame_compressed_size(frame) == Ok(frame.len()) {
            let mut json = Vec::with_capacity(size);
            let mut decompressor =
                zstd::bulk::Decompressor::new().map_err(|e| corrupt(&e.to_string()))?;
            decompressor
                .decompress_to_buffer(frame, &mut json)
                .map_err(|e| corrupt(&e.to_string()))?;
            return Ok(json);
        }
    }
    inflate_streaming(frame, limit).map_err(|error| match error {
        Streamed::TooLarge => too_large(),
        Streamed::Corrupt(what) => corrupt(&what),
    })
}

/// Why a streamed inflation stopped.
enum Streamed {
    TooLarge,
    Corrupt(String),
}

/// Inflates any sequence of frames a piece at a time, stopping one byte past `limit`.
fn inflate_streaming(frames: &[u8], limit: usize) -> Result<Vec<u8>, Streamed> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(frames)
        .map_err(|e| Streamed::Corrupt(e.to_string()))?;
    // A frame's window is memory the decoder allocates: no larger than the output may be.
    decoder
        .window_log_max(window_log_for(limit))
        .map_err(|e| Streamed::Corrupt(e.to_string()))?;
    let mut json = Vec::with_capacity(frames.len().saturating_mul(4).min(limit));
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| Streamed::Corrupt(e.to_string()))?;
    if json.len() > limit {
        return Err(Streamed::TooLarge);
    }
    Ok(json)
}

/// The smallest window (as a power of two) that holds `limit` bytes, within zstd's bounds
/// (2^10 to 2^27, the default maximum of its decoder).
fn window_log_for(limit: usize) -> u32 {
    let bits = usize::BITS - limit.saturating_sub(1).leading_zeros();
    bits.clamp(10, 27)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<Vec<u8>, Error>) -> CorruptReason {
        match result {
            Err(Error::Corrupt { reason, .. }) => reason,
            other => panic!("expected a corrupt item, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_and_declares_its_size() {
        let json = br#"{"rows":[1,2,3],"name":"zo\u00eb"}"#.repeat(50);
        let frame = compress(&json, DEFAULT_ZSTD_LEVEL).unwrap();
        assert!(frame.len() < json.len() / 4, "{} bytes", frame.len());
        assert_eq!(
            zstd_safe::get_frame_content_size(&frame).ok(),
            Some(Some(json.len() as u64))
        );
        assert_eq!(inflate("k", &frame, json.len()).unwrap(), json);
    }

    #[test]
    fn a_frame_declaring_more_than_the_cap_is_refused_unread() {
        let frame = compress(&vec![b' '; 1 << 20], 1).unwrap();
        assert_eq!(
            reason(inflate("k", &frame, (1 << 20) - 1)),
            CorruptReason::TooLarge {
                limit: (1 << 20) - 1
            }
        );
    }

    /// A streamed frame (another writer's): no size in its header, a window of 2^`window_log`.
    fn streamed(bytes: &[u8], window_log: u32) -> Vec<u8> {
        let mut frame = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut frame, 1).unwrap();
        encoder.include_contentsize(false).unwrap();
        encoder.window_log(window_log).unwrap();
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap();
        frame
    }

    #[test]
    fn frames_without_a_declared_size_are_capped_as_they_inflate() {
        let frame = streamed(&[b'x'; 100_000], 16);
        assert_eq!(zstd_safe::get_frame_content_size(&frame).ok(), Some(None));
        assert_eq!(inflate("k", &frame, 100_000).unwrap().len(), 100_000);
        assert_eq!(
            reason(inflate("k", &frame, 99_999)),
            CorruptReason::TooLarge { limit: 99_999 }
        );
        // Two frames, each under the cap, together over it.
        let two = [frame.clone(), frame].concat();
        assert_eq!(
            reason(inflate("k", &two, 150_000)),
            CorruptReason::TooLarge { limit: 150_000 }
        );
    }

    #[test]
    fn a_window_larger_than_the_cap_is_refused_before_it_is_allocated() {
        // A 1 MB window for 1 KB of text: the decoder would allocate the window first.
        let frame = streamed(&[b'x'; 1_000], 20);
        assert!(matches!(
            reason(inflate("k", &frame, 100_000)),
            CorruptReason::Zstd(_)
        ));
        assert_eq!(inflate("k", &frame, 1 << 20).unwrap().len(), 1_000);
    }

    #[test]
    fn a_frame_that_lies_about_its_size_is_corrupt() {
        let mut frame = compress(&[b'a'; 1_000], 1).unwrap();
        // The content size is the header's last bytes before the first block; a frame of
        // 1,000 bytes declares it in two bytes after the descriptor and window bytes. Any
        // change to a declared size makes the frame disagree with itself.
        let declared = frame
            .windows(2)
            .position(|w| u16::from_le_bytes([w[0], w[1]]) == 1_000 - 256)
            .unwrap();
        frame[declared] = frame[declared].wrapping_sub(1);
        assert!(matches!(
            reason(inflate("k", &frame, 10_000)),
            CorruptReason::Zstd(_)
        ));
    }

    #[test]
    fn damaged_frames_are_corrupt_never_a_panic() {
        let frame = compress(br#"{"a":"a longer value to cut in half"}"#, 3).unwrap();
        for cut in 0..frame.len() {
            assert!(inflate("k", &frame[..cut], 1_000).is_err(), "cut at {cut}");
        }
        let mut flipped = frame.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff; // the checksum
        assert!(matches!(
            reason(inflate("k", &flipped, 1_000)),
            CorruptReason::Zstd(_)
        ));
        assert_eq!(
            reason(inflate("k", b"plain text", 1_000)),
            CorruptReason::Zstd("not a zstd frame".to_owned())
        );
    }

    #[test]
    fn levels_are_clamped_to_what_zstd_takes() {
        assert_eq!(clamp_level(3), 3);
        assert_eq!(clamp_level(1_000), *zstd::compression_level_range().end());
        assert!(compress(b"{}", i32::MIN).is_some());
    }

    #[test]
    fn windows_fit_the_cap() {
        assert_eq!(window_log_for(0), 10);
        assert_eq!(window_log_for(1 << 20), 20);
        assert_eq!(window_log_for((1 << 20) + 1), 21);
        assert_eq!(window_log_for(usize::MAX), 27);
    }
}
