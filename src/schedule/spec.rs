//! A schedule's timing: a cron expression (standard 5-field, the cron crate's 6/7-field form or
//! a shortcut such as `@daily`) read in an IANA time zone, and the next fire time.
//!
//! Daylight-saving rule: fire times are wall-clock times in the zone. A wall-clock time that
//! does not exist (skipped by a spring-forward change, e.g. 02:30 in Europe/Berlin on the last
//! Sunday of March) fires once, at the first instant after the gap (03:00 local); a wall-clock
//! time that occurs twice (fall-back overlap) fires once, at its first occurrence.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::model::Timestamp;

/// A cron expression to show in error messages.
pub const CRON_EXAMPLE: &str = "0 9 * * 1-5";
/// A time zone to show in error messages.
pub const ZONE_EXAMPLE: &str = "Europe/Berlin";
/// Most cron candidates looked at for one next fire time (a DST overlap of a per-second
/// schedule needs 3,600).
const MAX_SCAN: usize = 100_000;
/// How far a gap's end is searched from the skipped wall-clock time (UTC offsets span -12..+14 h).
const GAP_SEARCH_SECS: i64 = 15 * 3600;

/// A parsed, valid cron expression and time zone.
#[derive(Clone, Debug)]
pub struct Spec {
    cron: cron::Schedule,
    zone: Tz,
}

impl Spec {
    /// Parse `cron` in `zone`; the error text names the problem and gives an example.
    pub fn parse(cron: &str, zone: &str) -> Result<Self, SpecError> {
        Ok(Self {
            cron: parse_cron(cron).map_err(SpecError::Cron)?,
            zone: parse_zone(zone).map_err(SpecError::Zone)?,
        })
    }

    /// The time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first fire time strictly after `t`, or None when the expression never fires again.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let after = t.to_datetime();
        let wall = after.with_timezone(&self.zone).naive_local();
        // The cron crate walks wall-clock times; UTC stands in for "no zone", so every wall
        // time is a candidate, and this module maps it to an instant with the DST rule. The
        // mapping never decreases, so no candidate before `wall` can fire after `t`.
        let start = Utc.from_utc_datetime(&wall);
        self.cron
            .after(&start)
            .take(MAX_SCAN)
            .map(|candidate| self.instant_of(candidate.naive_utc()))
            .find(|instant| *instant > after)
            .map(Timestamp::from)
    }

    /// The instant a wall-clock time fires at, by the module's DST rule.
    fn instant_of(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.zone.from_local_datetime(&wall) {
            LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.with_timezone(&Utc),
            LocalResult::None => self.gap_end(wall),
        }
    }

    /// The first instant whose wall-clock time is at or after `wall` (which lies in a gap).
    fn gap_end(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let guess = wall.and_utc().timestamp();
        let (mut lo, mut hi) = (guess - GAP_SEARCH_SECS, guess + GAP_SEARCH_SECS);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.wall_at(mid) >= wall {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Utc.timestamp_opt(lo, 0).single().unwrap_or_default()
    }

    fn wall_at(&self, secs: i64) -> NaiveDateTime {
        Utc.timestamp_opt(secs, 0)
            .single()
            .unwrap_or_default()
            .with_timezone(&self.zone)
            .naive_local()
    }

    /// `t` as local time in the zone, e.g. `2026-03-30 09:00 CEST`.
    pub fn local(&self, t: Timestamp) -> String {
        local_time(self.zone, t)
    }
}

/// `t` in `zone`, e.g. `2026-03-30 09:00 CEST`.
pub fn local_time(zone: Tz, t: Timestamp) -> String {
    t.to_datetime()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Why a spec is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The cron expression.
    #[error("{0}")]
    Cron(String),
    /// The time zone.
    #[error("{0}")]
    Zone(String),
}

/// Parse a cron expression into the crate's form (seconds first, day-of-week 1-7 = Sun-Sat).
fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let usage = || {
        format!(
            "use 5 fields (minute hour day-of-month month day-of-week), e.g. \"{CRON_EXAMPLE}\" \
             for 09:00 on weekdays, 6 or 7 fields with seconds first, or one of @hourly, @daily, \
             @weekly, @monthly, @yearly"
        )
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("the cron expression is empty; {}", usage()));
    }
    let crate_form = if trimmed.starts_with('@') {
        shortcut(trimmed)
            .ok_or_else(|| format!("unknown cron shortcut \"{trimmed}\"; {}", usage()))?
    } else {
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let checked = if fields.len() == 5 {
            &FIVE_FIELDS[..]
        } else {
            &SIX_FIELDS[..]
        };
        for (field, &(name, low, high)) in fields.iter().zip(checked) {
            check_range(field, name, low, high)
                .map_err(|e| format!("cron expression \"{trimmed}\": {e}; {}", usage()))?;
        }
        match fields.len() {
            5 => {
                let dow = standard_days_of_week(fields[4])
                    .map_err(|e| format!("cron expression \"{trimmed}\": {e}; {}", usage()))?;
                format!(
                    "0 {} {} {} {} {dow}",
                    fields[0], fields[1], fields[2], fields[3]
                )
            }
            6 | 7 => fields.join(" "),
            n => {
                return Err(format!(
                    "the cron expression \"{trimmed}\" has {n} field{}; {}",
                    if n == 1 { "" } else { "s" },
                    usage()
                ))
            }
        }
    };
    cron::Schedule::from_str(&crate_form).map_err(|e| {
        // The crate's message shows its own six-field form over several lines: keep its reason.
        let text = e.to_string();
        let reason = text.lines().last().unwrap_or_default().trim();
        format!(
            "invalid cron expression \"{trimmed}\" ({reason}); {}",
            usage()
        )
    })
}

/// Name and range of the leading fields of a five-field expression (day of week is checked by
/// [`standard_days_of_week`]).
const FIVE_FIELDS: [(&str, u32, u32); 4] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
];
/// The same with seconds first (six or seven fields).
const SIX_FIELDS: [(&str, u32, u32); 5] = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
];

/// Every number in `field` (lists, ranges, steps; `*`, `?` and month names pass) is within
/// `low..=high`; the error names the field and its range.
fn check_range(field: &str, name: &str, low: u32, high: u32) -> Result<(), String> {
    for item in field.split(',') {
        let base = item.split_once('/').map_or(item, |(base, _)| base);
        for part in base.split('-') {
            if part == "*" || part == "?" || part.chars().all(|c| c.is_ascii_alphabetic()) {
                continue;
            }
            match part.parse::<u32>() {
                Ok(n) if (low..=high).contains(&n) => {}
                Ok(n) => return Err(format!("{name} {n} is out of range; use {low}-{high}")),
                Err(_) => {
                    return Err(format!(
                        "{name} \"{part}\" is not a number from {low} to {high}"
                    ))
                }
            }
        }
    }
    Ok(())
}

/// The crate's form of a shortcut (it knows all but `@annually` and `@midnight`).
fn shortcut(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let known = match lower.as_str() {
        "@yearly" | "@annually" => "@yearly",
        "@monthly" => "@monthly",
        "@weekly" => "@weekly",
        "@daily" | "@midnight" => "@daily",
        "@hourly" => "@hourly",
        _ => return None,
    };
    Some(known.to_owned())
}

/// A standard day-of-week field (0-7, 0 and 7 = Sunday, names, ranges, lists, steps) in the
/// crate's numbering (1-7 = Sunday-Saturday).
fn standard_days_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".to_owned());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (
                b,
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("day-of-week step \"{s}\" is not a positive number"))?,
            ),
            None => (item, 1),
        };
        let (first, last) = match base.split_once('-') {
            _ if base == "*" => (0, 6),
            Some((a, b)) => (day_number(a)?, day_number(b)?),
            None if step > 1 => (day_number(base)?, 6),
            None => {
                let d = day_number(base)?;
                (d, d)
            }
        };
        if first > last {
            return Err(format!(
                "day-of-week range \"{base}\" runs backwards; write e.g. 1-5 (Monday to Friday)"
            ));
        }
        for d in (first..=last).step_by(step) {
            days[d % 7] = true;
        }
    }
    Ok(days
        .iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .map(|(d, _)| (d + 1).to_string())
        .collect::<Vec<_>>()
        .join(","))
}

/// 0-7 (0 and 7 = Sunday) or a day name.
fn day_number(text: &str) -> Result<usize, String> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    if let Ok(n) = text.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!(
                "day of week {n} is out of range; use 0-7 (0 and 7 are Sunday) or names such as MON"
            ))
        };
    }
    let lower = text.to_ascii_lowercase();
    NAMES
        .iter()
        .position(|n| lower.len() >= 3 && lower.starts_with(n))
        .ok_or_else(|| format!("\"{text}\" is not a day of the week; use 0-7 or names such as MON"))
}

/// An IANA time zone; a wrongly cased name gets a suggestion.
fn parse_zone(text: &str) -> Result<Tz, String> {
    let name = text.trim();
    Tz::from_str(name).map_err(|_| {
        let hint = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(name))
            .map(|z| format!(" (did you mean {}?)", z.name()))
            .unwrap_or_default();
        format!(
            "unknown time zone \"{name}\"{hint}; use an IANA name such as {ZONE_EXAMPLE}, \
             America/New_York or UTC"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instant of an RFC 3339 time.
    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect(text)
    }

    fn spec(cron: &str, zone: &str) -> Spec {
        Spec::parse(cron, zone).expect(cron)
    }

    /// The next `n` fire times after `from`, as RFC 3339 UTC.
    fn fires(spec: &Spec, from: &str, n: usize) -> Vec<String> {
        let mut t = at(from);
        (0..n)
            .map(|_| {
                t = spec.next_after(t).expect("fires");
                t.to_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
            })
            .collect()
    }

    #[test]
    fn five_field_weekdays_in_berlin() {
        let s = spec("0 9 * * 1-5", "Europe/Berlin");
        // Friday 2026-11-27 10:00 UTC → Monday 09:00 CET (08:00 UTC), then Tuesday.
        assert_eq!(
            fires(&s, "2026-11-27T10:00:00Z", 2),
            ["2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z"]
        );
        assert_eq!(s.local(at("2026-11-30T08:00:00Z")), "2026-11-30 09:00 CET");
    }

    #[test]
    fn standard_day_numbers_and_names_mean_the_same_days() {
        // 2026-11-29 is a Sunday.
        for expr in [
            "0 12 * * 0",
            "0 12 * * 7",
            "0 12 * * SUN",
            "0 12 * * sunday",
        ] {
            assert_eq!(
                fires(&spec(expr, "UTC"), "2026-11-25T00:00:00Z", 1),
                ["2026-11-29T12:00:00Z"],
                "{expr}"
            );
        }
        let weekend = spec("0 12 * * 6-7", "UTC");
        assert_eq!(
            fires(&weekend, "2026-11-25T00:00:00Z", 2),
            ["2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z"]
        );
        assert_eq!(standard_days_of_week("1-5").expect("ok"), "2,3,4,5,6");
        assert_eq!(standard_days_of_week("*/2").expect("ok"), "1,3,5,7");
        assert_eq!(standard_days_of_week("MON,wed,5").expect("ok"), "2,4,6");
    }

    #[test]
    fn six_field_and_shortcuts() {
        let every_second = spec("* * * * * *", "UTC");
        assert_eq!(
            fires(&every_second, "2026-01-01T00:00:00.400Z", 2),
            ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"]
        );
        // The crate's form counts days of week 1-7 from Sunday: 2 is Monday.
        assert_eq!(
            fires(&spec("0 30 8 * * 2", "UTC"), "2026-11-25T00:00:00Z", 1),
            ["2026-11-30T08:30:00Z"]
        );
        let cases = [
            ("@hourly", "2026-11-25T11:00:00Z"),
            ("@daily", "2026-11-26T00:00:00Z"),
            ("@midnight", "2026-11-26T00:00:00Z"),
            ("@weekly", "2026-11-29T00:00:00Z"),
            ("@monthly", "2026-12-01T00:00:00Z"),
            ("@YEARLY", "2027-01-01T00:00:00Z"),
            ("0 0 0 1 1 * 2030", "2030-01-01T00:00:00Z"),
        ];
        for (expr, want) in cases {
            assert_eq!(
                fires(&spec(expr, "UTC"), "2026-11-25T10:30:00Z", 1),
                [want],
                "{expr}"
            );
        }
    }

    #[test]
    fn berlin_spring_forward_runs_a_skipped_time_once_after_the_gap() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let s = spec("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, "2026-03-28T12:00:00Z", 3),
            [
                "2026-03-29T01:00:00Z", // the gap's end, 03:00 CEST
                "2026-03-30T00:30:00Z", // 02:30 CEST
                "2026-03-31T00:30:00Z",
            ]
        );
        // Every 15 minutes: 02:00..02:45 all collapse to one run at 03:00, then 03:15.
        let quarter = spec("*/15 * * * *", "Europe/Berlin");
        assert_eq!(
            fires(&quarter, "2026-03-29T00:40:00Z", 3),
            [
                "2026-03-29T00:45:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-29T01:15:00Z"
            ]
        );
    }

    #[test]
    fn berlin_fall_back_runs_a_repeated_time_once_at_its_first_occurrence() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
        let s = spec("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // Asked during the second 02:xx hour, the run already happened: next is tomorrow.
        assert_eq!(
            fires(&s, "2026-10-25T01:10:00Z", 1),
            ["2026-10-26T01:30:00Z"]
        );
        let hourly = spec("0 * * * *", "Europe/Berlin");
        assert_eq!(
            fires(&hourly, "2026-10-24T23:30:00Z", 3),
            [
                "2026-10-25T00:00:00Z", // 02:00 CEST
                "2026-10-25T02:00:00Z", // 03:00 CET; the second 02:00 does not run
                "2026-10-25T03:00:00Z",
            ]
        );
    }

    #[test]
    fn new_york_both_changes() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        let s = spec("30 2 * * *", "America/New_York");
        assert_eq!(
            fires(&s, "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
        );
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice, runs once.
        let s = spec("30 1 * * *", "America/New_York");
        assert_eq!(
            fires(&s, "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
        );
        assert_eq!(s.local(at("2026-11-01T05:30:00Z")), "2026-11-01 01:30 EDT");
    }

    #[test]
    fn bad_input_names_the_problem_with_an_example() {
        let cron_err = |c: &str| match Spec::parse(c, "UTC") {
            Err(SpecError::Cron(e)) => e,
            other => panic!("{c}: {other:?}"),
        };
        for (expr, needle) in [
            ("", "empty"),
            ("0 9 * *", "has 4 fields"),
            ("0 9 * * * * * *", "has 8 fields"),
            ("61 9 * * *", "minute 61 is out of range; use 0-59"),
            ("0 25 * * *", "hour 25 is out of range; use 0-23"),
            ("0 9-24 * * *", "hour 24 is out of range; use 0-23"),
            ("0 9 0 * *", "day of month 0 is out of range; use 1-31"),
            ("0 9 * 13 *", "month 13 is out of range; use 1-12"),
            ("60 0 9 * * *", "second 60 is out of range"),
            ("0 9x * * *", "hour \"9x\" is not a number"),
            ("0 9 * foo *", "invalid cron expression"),
            ("0 9 * * 8", "out of range"),
            ("0 9 * * 5-1", "backwards"),
            ("0 9 * * funday", "not a day of the week"),
            ("0 9 * * 1/0", "step"),
            ("@sometimes", "unknown cron shortcut"),
        ] {
            let e = cron_err(expr);
            assert!(e.contains(needle), "{expr}: {e}");
            assert!(e.contains(CRON_EXAMPLE), "{expr}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let zone_err = |z: &str| match Spec::parse("@daily", z) {
            Err(SpecError::Zone(e)) => e,
            other => panic!("{z}: {other:?}"),
        };
        assert!(zone_err("Mars/Olympus").contains("unknown time zone \"Mars/Olympus\""));
        assert!(zone_err("Mars/Olympus").contains(ZONE_EXAMPLE));
        assert!(zone_err("europe/berlin").contains("did you mean Europe/Berlin?"));
    }

    #[test]
    fn an_expression_that_never_fires_has_no_next_time() {
        assert_eq!(
            spec("0 0 0 30 2 *", "UTC").next_after(at("2026-01-01T00:00:00Z")),
            None
        );
    }
}
