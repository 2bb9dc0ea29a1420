//! Numbers on the command line, checked with the tool's own words: a negative or zero count
//! is refused with what is allowed, never with clap's "to pass '-1' as a value" tip (the
//! options that take numbers accept a leading `-` so that it reaches these parsers).

use std::fmt::Display;
use std::str::FromStr;

/// A whole number of at least 1 (`--limit`, `--segments`).
pub fn at_least_one<N>(text: &str) -> Result<N, String>
where
    N: FromStr + PartialOrd + From<u8>,
{
    let text = text.trim();
    let too_small = || format!("{text} is too small: give a whole number, 1 or more");
    if text.starts_with('-') {
        return Err(too_small());
    }
    let number: N = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number, 1 or more"))?;
    if number < N::from(1) {
        return Err(too_small());
    }
    Ok(number)
}

/// A whole number, 0 or more (`--top`).
pub fn whole<N: FromStr>(text: &str) -> Result<N, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!(
            "{text} is negative: give a whole number, 0 or more"
        ));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

/// `--compress-threshold`: bytes, 0 or more (0 compresses every value).
pub fn compress_threshold(text: &str) -> Result<usize, String> {
    whole(text)
}

/// `--zstd-level`: zstd's levels, 1 to 22.
pub fn zstd_level(text: &str) -> Result<i32, String> {
    let level: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    in_range(level, 1, 22)
}

fn in_range<N: PartialOrd + Display + Copy>(number: N, low: N, high: N) -> Result<N, String> {
    if number < low || number > high {
        return Err(format!(
            "{number} is out of range: zstd's levels are {low} (fastest) to {high} (smallest; \
             past 19 slow and memory-hungry)"
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_refuse_negative_and_zero_in_words() {
        assert_eq!(at_least_one::<u64>("5"), Ok(5));
        assert!(at_least_one::<u64>("0").unwrap_err().contains("1 or more"));
        assert!(at_least_one::<u64>("-1").unwrap_err().contains("1 or more"));
        assert!(
            at_least_one::<u32>("x")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(whole::<usize>("0"), Ok(0));
        assert!(whole::<usize>("-3").unwrap_err().contains("negative"));
    }

    #[test]
    fn zstd_levels_are_one_to_twenty_two() {
        assert_eq!(zstd_level("1"), Ok(1));
        assert_eq!(zstd_level("22"), Ok(22));
        assert!(zstd_level("50").unwrap_err().contains("1 (fastest) to 22"));
        assert!(zstd_level("0").is_err());
        assert!(zstd_level("-5").is_err());
    }
}
