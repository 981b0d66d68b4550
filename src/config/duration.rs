//! Human-readable durations for the config: `"500ms"`, `"30s"`, `"5m"`, `"6h"`, `"1d"`, or a bare
//! integer meaning seconds (as env vars such as `CACHE_TTL=3600` use).

use std::time::Duration;

use serde::Serializer;

/// Units accepted after the number, with their length in milliseconds. Longest suffix first so
/// `ms` is not read as `m` followed by garbage.
const UNITS: [(&str, u64); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Parse a duration such as `"30s"`, `"5m"`, `"1h"`, `"1d"`, `"250ms"` or `"3600"` (seconds).
///
/// Whitespace around the value and between number and unit is ignored; units are
/// case-insensitive. The error says what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: expected e.g. \"30s\", \"5m\", \"6h\", \"1d\"".to_owned());
    }
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let invalid = || {
        format!(
            "`{trimmed}` is not a duration: expected a whole number with a unit ms, s, m, h or d \
             (e.g. \"30s\", \"5m\") or a bare number of seconds"
        )
    };
    let amount: u64 = number.parse().map_err(|_| invalid())?;
    let millis_per_unit = if unit.is_empty() {
        1_000
    } else {
        UNITS
            .iter()
            .find(|(suffix, _)| *suffix == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(invalid)?
    };
    amount
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{trimmed}` is too long a duration"))
}

/// Format a duration in the largest unit that represents it exactly (`"90s"`, `"5m"`, `"1d"`,
/// `"1500ms"`), so [`parse_duration`] reads it back unchanged.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    UNITS
        .iter()
        .rev()
        .find(|(_, ms)| millis.is_multiple_of(u128::from(*ms)))
        .map_or_else(
            || format!("{millis}ms"),
            |(suffix, ms)| format!("{}{suffix}", millis / u128::from(*ms)),
        )
}

/// serde `serialize_with` helper writing a duration as a human string.
pub(crate) fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_bare_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration(" 2 H "), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_garbage_with_a_helpful_message() {
        for bad in [
            "",
            "abc",
            "5x",
            "-5s",
            "1.5h",
            "s",
            "5 m s",
            "99999999999999999999d",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(
                err.contains("duration") || err.contains("too long"),
                "{bad}: {err}"
            );
        }
        assert!(parse_duration("5x")
            .expect_err("bad unit")
            .contains("ms, s, m, h or d"));
    }

    #[test]
    fn formats_in_the_largest_exact_unit_and_round_trips() {
        let cases = [
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(86_400 * 2), "2d"),
            (Duration::ZERO, "0s"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
            assert_eq!(parse_duration(text), Ok(duration));
        }
    }
}
