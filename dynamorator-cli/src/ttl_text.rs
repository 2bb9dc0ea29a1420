//! Durations as people type and read them: `7d`, `12h`, `1.5d` in, `6d 23h` out.

use dynamorator::Ttl;

/// Parses a TTL: a positive number and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `1.5d`).
/// A bare number is refused: seconds and days (the Python package's unit) are both likely.
pub fn parse_ttl(text: &str) -> Result<Ttl, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!(
            "{text} is negative: a TTL is a positive number and a unit, e.g. 90s, 12h or 7d"
        ));
    }
    let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic) else {
        return Err(format!(
            "{text:?} has no unit: write e.g. 90s, 30m, 12h, 7d or 2w"
        ));
    };
    let number = &text[..text.len() - unit.len_utf8()];
    let unit = unit.to_string();
    let unit_secs = match unit.as_str() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        "w" => 7.0 * 86_400.0,
        _ => return Err(format!("unknown unit {unit:?}: use s, m, h, d or w")),
    };
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    Ttl::try_from_secs_f64(number * unit_secs).map_err(|error| error.to_string())
}

/// A duration in seconds as its largest unit and the next one: `6d 23h`, `5m 3s`, `42s`.
pub fn format_secs(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let largest = UNITS
        .iter()
        .position(|&(size, _)| secs >= size)
        .unwrap_or(UNITS.len() - 1);
    let (size, name) = UNITS[largest];
    let mut text = format!("{}{name}", secs / size);
    if let Some(&(next_size, next_name)) = UNITS.get(largest + 1) {
        let next = secs % size / next_size;
        if next > 0 {
            text.push_str(&format!(" {next}{next_name}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_take_a_number_and_a_unit() {
        assert_eq!(parse_ttl("90s").map(Ttl::as_secs), Ok(90));
        assert_eq!(parse_ttl("30m").map(Ttl::as_secs), Ok(1_800));
        assert_eq!(parse_ttl("7d").map(Ttl::as_secs), Ok(604_800));
        assert_eq!(parse_ttl("1.5d").map(Ttl::as_secs), Ok(129_600));
        assert_eq!(parse_ttl("2w").map(Ttl::as_secs), Ok(1_209_600));
        assert!(parse_ttl("7").unwrap_err().contains("no unit"));
        assert!(parse_ttl("7y").unwrap_err().contains("unknown unit"));
        assert!(parse_ttl("xd").unwrap_err().contains("not a number"));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("-1d").unwrap_err().contains("negative"));
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(format_secs(0), "0s");
        assert_eq!(format_secs(42), "42s");
        assert_eq!(format_secs(303), "5m 3s");
        assert_eq!(format_secs(3_600), "1h");
        assert_eq!(format_secs(604_799), "6d 23h");
        assert_eq!(format_secs(86_400 + 59), "1d");
    }
}
