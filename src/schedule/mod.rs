//! Scheduled digests: the one validation path ([`Draft`] → [`Schedule`]) that the CLI, the
//! Discord `/schedule` command and the webhook's `schedule_update` share, the operations on
//! stored schedules ([`ops`]), cron and time zones ([`spec`]) and the scheduler task
//! ([`scheduler`]).

pub mod ops;
pub mod personal;
pub mod scheduler;
pub mod spec;

use std::fmt;
use std::time::Duration;

use crate::config::Config;
use crate::model::{ChannelId, ChannelKind, Detail, GuildId, Schedule, Timestamp};

pub use spec::{Spec, SpecError};

/// Longest digest window in hours (31 days); also caps "since the previous run".
pub const MAX_WINDOW_HOURS: u32 = 744;
/// Window of a schedule's first digest when it has no `window_hours`.
pub const FIRST_WINDOW_HOURS: u32 = 24;
/// Most source channels per schedule.
pub const MAX_SOURCES: usize = 10;

/// How many upcoming fire times are checked against [`Rules::min_interval`].
const INTERVAL_PROBES: usize = 12;

/// The operator's limits every schedule is checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Channels that may not be summarized (`summary.exclude_channels`).
    pub excluded: Vec<ChannelId>,
    /// Least time between two fires (`scheduler.min_interval`; zero = no minimum).
    pub min_interval: Duration,
}

impl Rules {
    /// The rules of `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            excluded: config.summary.exclude_channels.clone(),
            min_interval: config.scheduler.min_interval,
        }
    }
}

/// The part of a schedule a validation error is about; each interface names it in its own
/// words (`--cron`, the `cron` option, the `cron` JSON field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The guild.
    Guild,
    /// The cron expression.
    Cron,
    /// The time zone.
    Timezone,
    /// The source channels.
    Channels,
    /// The target channel.
    PostTo,
    /// The window in hours.
    Hours,
    /// The output language.
    Language,
    /// The prompt variant.
    Kind,
    /// The detail level.
    Detail,
}

/// A validation error: which field, and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field to fix.
    pub field: Field,
    /// What is wrong, with an example of what is right.
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

fn invalid(field: Field, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// What a user asks for: a schedule's settable fields, before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Guild the schedule belongs to.
    pub guild_id: GuildId,
    /// Channels summarized.
    pub source_channels: Vec<ChannelId>,
    /// Channel the digest is posted to.
    pub target_channel: ChannelId,
    /// Cron expression.
    pub cron: String,
    /// IANA time zone.
    pub timezone: String,
    /// Fixed window in hours; None: since the previous run.
    pub window_hours: Option<u32>,
    /// Prompt variant override.
    pub kind: Option<ChannelKind>,
    /// Output language override.
    pub language: Option<String>,
    /// How long each digest may be.
    pub detail: Detail,
    /// Post a "quiet day" line for an empty window.
    pub quiet_day: bool,
    /// Who asks (user id or a label such as `cli`).
    pub created_by: String,
}

impl Draft {
    /// The settable fields of a stored schedule (to change some of them).
    pub fn of(s: &Schedule) -> Self {
        Self {
            guild_id: s.guild_id,
            source_channels: s.source_channels.clone(),
            target_channel: s.target_channel,
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            window_hours: s.window_hours,
            kind: s.kind,
            language: s.language.clone(),
            detail: s.detail,
            quiet_day: s.quiet_day,
            created_by: s.created_by.clone(),
        }
    }

    /// Check every field against the operator's `rules` (excluded channels may not be
    /// summarized; fires may not come closer than the minimum interval). Returns the parsed
    /// timing and the first fire time after `now`.
    pub fn validate(
        &mut self,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<(Spec, Timestamp), Invalid> {
        if self.guild_id.0 == 0 {
            return Err(invalid(
                Field::Guild,
                "the guild id must be a Discord id, not 0",
            ));
        }
        self.check_channels(&rules.excluded)?;
        if let Some(h) = self.window_hours {
            if !(1..=MAX_WINDOW_HOURS).contains(&h) {
                return Err(invalid(
                    Field::Hours,
                    format!("hours must be 1 to {MAX_WINDOW_HOURS} (e.g. 24 for a daily digest), not {h}"),
                ));
            }
        }
        if let Some(lang) = &self.language {
            // The same rule as the server setting: a name only, since it reaches the prompt.
            let lang = crate::settings::parse_language(lang)
                .map_err(|e| invalid(Field::Language, e.to_string()))?;
            self.language = Some(lang);
        }
        self.cron = self.cron.trim().to_owned();
        self.timezone = self.timezone.trim().to_owned();
        let spec = Spec::parse(&self.cron, &self.timezone).map_err(|e| match e {
            SpecError::Cron(m) => invalid(Field::Cron, m),
            SpecError::Zone(m) => invalid(Field::Timezone, m),
        })?;
        let next = spec.next_after(now).ok_or_else(|| {
            invalid(
                Field::Cron,
                format!(
                    "the cron expression \"{}\" never fires (e.g. 30 February); try \"{}\"",
                    self.cron,
                    spec::CRON_EXAMPLE
                ),
            )
        })?;
        self.check_interval(&spec, next, rules.min_interval)?;
        Ok((spec, next))
    }

    /// Refuse an expression whose upcoming fires come closer than `min` (a typo such as
    /// `* 9 * * 1-5` fires every minute for an hour).
    fn check_interval(&self, spec: &Spec, first: Timestamp, min: Duration) -> Result<(), Invalid> {
        if min.is_zero() {
            return Ok(());
        }
        let min_ms = i64::try_from(min.as_millis()).unwrap_or(i64::MAX);
        let mut previous = first;
        for _ in 0..INTERVAL_PROBES {
            let Some(next) = spec.next_after(previous) else {
                return Ok(());
            };
            let gap = next.millis().saturating_sub(previous.millis());
            if gap < min_ms {
                return Err(invalid(
                    Field::Cron,
                    format!(
                        "\"{}\" runs again {} after {}, more often than scheduler.min_interval ({}) \
                         allows; for once a day at 09:00 on weekdays use \"{}\"",
                        self.cron,
                        crate::config::format_duration(Duration::from_millis(
                            u64::try_from(gap).unwrap_or(0)
                        )),
                        spec.local(previous),
                        crate::config::format_duration(min),
                        spec::CRON_EXAMPLE
                    ),
                ));
            }
            previous = next;
        }
        Ok(())
    }

    fn check_channels(&mut self, excluded: &[ChannelId]) -> Result<(), Invalid> {
        let mut seen = Vec::with_capacity(self.source_channels.len());
        for c in &self.source_channels {
            if !seen.contains(c) {
                seen.push(*c);
            }
        }
        self.source_channels = seen;
        if self.source_channels.is_empty() || self.source_channels.len() > MAX_SOURCES {
            return Err(invalid(
                Field::Channels,
                format!("give 1 to {MAX_SOURCES} channels to summarize"),
            ));
        }
        if let Some(zero) = self.source_channels.iter().find(|c| c.0 == 0) {
            return Err(invalid(
                Field::Channels,
                format!("channel {zero} is not a Discord id"),
            ));
        }
        if let Some(c) = self.source_channels.iter().find(|c| excluded.contains(c)) {
            return Err(invalid(
                Field::Channels,
                format!("channel {c} is excluded from summaries (summary.exclude_channels)"),
            ));
        }
        if self.target_channel.0 == 0 {
            return Err(invalid(
                Field::PostTo,
                "the channel to post to must be a Discord id, not 0",
            ));
        }
        Ok(())
    }

    /// A new, enabled schedule from this (validated) draft, next firing at `next`.
    fn into_schedule(self, next: Timestamp) -> Schedule {
        Schedule {
            id: 0,
            guild_id: self.guild_id,
            source_channels: self.source_channels,
            target_channel: self.target_channel,
            cron: self.cron,
            timezone: self.timezone,
            window_hours: self.window_hours,
            kind: self.kind,
            language: self.language,
            enabled: true,
            created_by: self.created_by,
            last_run: None,
            next_run: Some(next),
            quiet_day: self.quiet_day,
            last_outcome: None,
            last_error: None,
            detail: self.detail,
        }
    }
}

/// Parse a prompt variant: `dev` or `general`.
pub fn parse_kind(text: &str) -> Result<ChannelKind, Invalid> {
    match text.trim().to_ascii_lowercase().as_str() {
        "dev" => Ok(ChannelKind::Dev),
        "general" => Ok(ChannelKind::General),
        other => Err(invalid(
            Field::Kind,
            format!("kind must be \"dev\" or \"general\", not \"{other}\""),
        )),
    }
}

/// Parse a detail level: `brief`, `standard` or `full`.
pub fn parse_detail(text: &str) -> Result<Detail, Invalid> {
    text.parse().map_err(|e| invalid(Field::Detail, e))
}

/// The digest window ending at fire time `fire`: the schedule's fixed window, else since its
/// previous run (at most [`MAX_WINDOW_HOURS`]), else [`FIRST_WINDOW_HOURS`].
pub fn window(schedule: &Schedule, fire: Timestamp) -> (Timestamp, Timestamp) {
    let longest = fire.minus_hours(MAX_WINDOW_HOURS);
    let start = match (schedule.window_hours, schedule.last_run) {
        (Some(h), _) => fire.minus_hours(h),
        (None, Some(last)) if last < fire => last.max(longest),
        (None, _) => fire.minus_hours(FIRST_WINDOW_HOURS),
    };
    (start, fire)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_764_000_000_000);

    pub(crate) fn draft() -> Draft {
        Draft {
            guild_id: GuildId(1),
            source_channels: vec![ChannelId(2), ChannelId(3), ChannelId(2)],
            target_channel: ChannelId(4),
            cron: " 0 9 * * 1-5 ".into(),
            timezone: "Europe/Berlin".into(),
            window_hours: None,
            kind: None,
            language: Some(" de ".into()),
            detail: Detail::Brief,
            quiet_day: false,
            created_by: "cli".into(),
        }
    }

    #[test]
    fn a_valid_draft_is_normalised() {
        let mut d = draft();
        let (_, next) = d.validate(&Rules::default(), NOW).expect("valid");
        assert!(next > NOW);
        assert_eq!(d.source_channels, [ChannelId(2), ChannelId(3)]);
        assert_eq!(
            (d.cron.as_str(), d.language.as_deref()),
            ("0 9 * * 1-5", Some("de"))
        );
        let s = d.into_schedule(next);
        assert!(s.enabled && s.next_run == Some(next) && s.last_run.is_none());
    }

    #[test]
    fn each_bad_field_is_named() {
        type Case = (fn(&mut Draft), Field);
        let cases: Vec<Case> = vec![
            (|d| d.guild_id = GuildId(0), Field::Guild),
            (|d| d.source_channels.clear(), Field::Channels),
            (
                |d| d.source_channels = (1..=11).map(ChannelId).collect(),
                Field::Channels,
            ),
            (|d| d.source_channels.push(ChannelId(0)), Field::Channels),
            (|d| d.source_channels.push(ChannelId(99)), Field::Channels),
            (|d| d.target_channel = ChannelId(0), Field::PostTo),
            (|d| d.window_hours = Some(0), Field::Hours),
            (|d| d.window_hours = Some(745), Field::Hours),
            (|d| d.language = Some("  ".into()), Field::Language),
            (|d| d.cron = "0 9 * *".into(), Field::Cron),
            (|d| d.cron = "0 0 0 30 2 *".into(), Field::Cron),
            (|d| d.timezone = "Europe/Berln".into(), Field::Timezone),
        ];
        for (i, (change, field)) in cases.into_iter().enumerate() {
            let mut d = draft();
            change(&mut d);
            let e = d
                .validate(
                    &Rules {
                        excluded: vec![ChannelId(99)],
                        ..Rules::default()
                    },
                    NOW,
                )
                .expect_err("invalid");
            assert_eq!(e.field, field, "case {i}: {e}");
        }
        assert_eq!(parse_kind(" Dev "), Ok(ChannelKind::Dev));
        assert_eq!(parse_kind("news").expect_err("bad").field, Field::Kind);
    }

    #[test]
    fn windows_follow_the_previous_run() {
        let mut s = draft().into_schedule(NOW);
        let fire = Timestamp(NOW.0 + 86_400_000);
        assert_eq!(window(&s, fire), (fire.minus_hours(24), fire));
        s.last_run = Some(Timestamp(fire.0 - 3_600_000));
        assert_eq!(window(&s, fire).0, Timestamp(fire.0 - 3_600_000));
        s.last_run = Some(Timestamp(0));
        assert_eq!(window(&s, fire).0, fire.minus_hours(MAX_WINDOW_HOURS));
        s.window_hours = Some(6);
        assert_eq!(window(&s, fire).0, fire.minus_hours(6));
    }

    #[test]
    fn schedules_firing_more_often_than_the_minimum_interval_are_refused() {
        let hourly = Rules {
            min_interval: Duration::from_secs(3600),
            ..Rules::default()
        };
        let mut typo = draft();
        typo.cron = "* 9 * * 1-5".into();
        let e = typo.validate(&hourly, NOW).expect_err("every minute");
        assert_eq!(e.field, Field::Cron);
        assert!(e.message.contains("runs again 1m after"), "{}", e.message);
        assert!(e.message.contains("0 9 * * 1-5"), "{}", e.message);
        for ok in ["0 9 * * 1-5", "@hourly", "0 9,10 * * *", "30 2 * * *"] {
            let mut d = draft();
            d.cron = ok.into();
            assert!(d.validate(&hourly, NOW).is_ok(), "{ok}");
        }
        let mut every_second = draft();
        every_second.cron = "* * * * * *".into();
        assert!(
            every_second.validate(&Rules::default(), NOW).is_ok(),
            "0 = no minimum"
        );
    }
}
