//! Personal digests: what a member asks for with `/digest subscribe` ([`Request`]), checked and
//! turned into a stored [`Subscription`]; when one fires ([`spec`]) and what window it covers
//! ([`window`]); and how it is described back to the member ([`describe`]).

use std::fmt::Write as _;

use super::{Spec, SpecError};
use crate::model::{Cadence, ChannelId, Detail, GuildId, Subscription, Timestamp, UserId};

/// Most channels a member may pick (more: leave `channels` empty for all they can read).
pub const MAX_CHANNELS: usize = 10;
/// Most channel summaries in one personal digest (the most active channels; the others are
/// named in one line).
pub const MAX_SUMMARIES: usize = 10;
/// Local hour of a subscription that names none.
pub const DEFAULT_HOUR: u8 = 9;
/// Time zone of a subscription that names none.
pub const DEFAULT_ZONE: &str = "UTC";
/// Day names as the `weekday` option offers them, Sunday first (cron's 0 … 6).
pub const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// What a member asks for, before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The server.
    pub guild_id: GuildId,
    /// The member.
    pub user_id: UserId,
    /// Daily or weekly.
    pub cadence: Cadence,
    /// Local hour, if given.
    pub hour: Option<i64>,
    /// Time zone, if given.
    pub timezone: Option<String>,
    /// Channels picked (empty: all they can read).
    pub channels: Vec<ChannelId>,
    /// Detail level.
    pub detail: Detail,
}

/// Parse a cadence as the `/digest subscribe` options give it: `daily`, or `weekly` with an
/// optional day name (Monday when none).
pub fn parse_cadence(every: &str, weekday: Option<&str>) -> Result<Cadence, String> {
    match every.trim().to_ascii_lowercase().as_str() {
        "daily" => match weekday {
            Some(_) => Err("`weekday` applies to weekly digests: add `every:weekly`".to_owned()),
            None => Ok(Cadence::Daily),
        },
        "weekly" => {
            let day = weekday.map_or("monday", str::trim).to_ascii_lowercase();
            WEEKDAYS
                .iter()
                .position(|d| *d == day)
                .and_then(|p| u8::try_from(p).ok())
                .map(Cadence::Weekly)
                .ok_or_else(|| format!("`weekday`: \"{day}\" is not a day; use monday … sunday"))
        }
        other => Err(format!(
            "`every`: \"{other}\" is not a cadence; use daily or weekly"
        )),
    }
}

impl Request {
    /// Check every field; returns the subscription to store (next fire after `now`) or what
    /// to fix, naming the option.
    pub fn validate(self, now: Timestamp) -> Result<Subscription, String> {
        let hour = match self.hour {
            None => DEFAULT_HOUR,
            Some(h) => u8::try_from(h)
                .ok()
                .filter(|h| *h < 24)
                .ok_or_else(|| format!("`hour`: {h} is not an hour; use 0 to 23"))?,
        };
        let timezone = self
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .unwrap_or(DEFAULT_ZONE)
            .to_owned();
        let mut channels: Vec<ChannelId> = Vec::with_capacity(self.channels.len());
        for c in self.channels {
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        if channels.len() > MAX_CHANNELS {
            return Err(format!(
                "`channels`: pick at most {MAX_CHANNELS} channels, or none for every channel \
                 you can read"
            ));
        }
        let mut sub = Subscription {
            id: 0,
            guild_id: self.guild_id,
            user_id: self.user_id,
            cadence: self.cadence,
            hour,
            timezone,
            channels,
            detail: self.detail,
            created_at: now,
            last_run: None,
            next_run: None,
            paused_at: None,
            pause_told: false,
            last_outcome: None,
        };
        let spec = spec(&sub).map_err(|e| match e {
            SpecError::Zone(m) => format!("`timezone`: {m}"),
            SpecError::Cron(m) => m,
        })?;
        sub.next_run = spec.next_after(now);
        Ok(sub)
    }
}

/// When `sub` fires: at minute 0 of its hour, every day or on its weekday, in its time zone.
pub fn spec(sub: &Subscription) -> Result<Spec, SpecError> {
    let day = match sub.cadence {
        Cadence::Daily => "*".to_owned(),
        Cadence::Weekly(d) => d.to_string(),
    };
    Spec::parse(&format!("0 {} * * {day}", sub.hour), &sub.timezone)
}

/// The window of a digest firing at `fire`: since the fire time before it (a day or a week,
/// 23 or 25 hours across a daylight-saving change, so no hour is left out or sent twice).
pub fn window(sub: &Subscription, fire: Timestamp) -> (Timestamp, Timestamp) {
    let hours = match sub.cadence {
        Cadence::Daily => 24,
        Cadence::Weekly(_) => 7 * 24,
    };
    let previous = spec(sub).ok().and_then(|spec| {
        let mut t = spec.next_after(fire.minus_hours(hours + 2))?;
        let mut before = None;
        while t < fire {
            before = Some(t);
            t = spec.next_after(t)?;
        }
        before
    });
    (previous.unwrap_or_else(|| fire.minus_hours(hours)), fire)
}

/// `daily` or `weekly` (the kind of a cadence, whatever its day).
pub fn cadence_kind(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Daily => "daily",
        Cadence::Weekly(_) => "weekly",
    }
}

/// The cadence in words: `daily` or `weekly on monday`.
pub fn cadence_text(cadence: Cadence) -> String {
    match cadence {
        Cadence::Daily => "daily".to_owned(),
        Cadence::Weekly(d) => format!(
            "weekly on {}",
            WEEKDAYS.get(usize::from(d)).copied().unwrap_or("monday")
        ),
    }
}

/// One line about `sub` for its member: cadence, time, channels, detail, next time or pause.
pub fn describe(sub: &Subscription) -> String {
    let mut line = format!(
        "**{}** at {:02}:00 {}, {}, {} detail",
        cadence_text(sub.cadence),
        sub.hour,
        sub.timezone,
        if sub.channels.is_empty() {
            "every channel you can read".to_owned()
        } else {
            sub.channels
                .iter()
                .map(|c| format!("<#{c}>"))
                .collect::<Vec<_>>()
                .join(" ")
        },
        sub.detail.as_str()
    );
    if sub.paused_at.is_some() {
        line.push_str(
            " — **paused**: I could not DM you (your DMs from this server are closed); allow \
             them and run `/digest subscribe` again",
        );
    } else if let Some(next) = sub.next_run {
        let _ = write!(line, " — next <t:{}:f>", next.0.div_euclid(1000));
    }
    line
}

/// What the member is told on their next command after their digests were paused.
pub fn pause_notice(guild_name: Option<&str>) -> String {
    format!(
        "Your personal digest{} is paused: I could not send you a DM (your DMs are closed). \
         Allow direct messages from server members, then run `/digest subscribe` again.",
        guild_name.map_or_else(String::new, |n| format!(" from **{n}**"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            guild_id: GuildId(1),
            user_id: UserId(2),
            cadence: Cadence::Daily,
            hour: Some(7),
            timezone: Some("Europe/Berlin".into()),
            channels: vec![ChannelId(5), ChannelId(6), ChannelId(5)],
            detail: Detail::Brief,
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect(text)
    }

    #[test]
    fn a_daily_digest_fires_at_the_members_local_hour() {
        // 2026-12-06 is a Sunday; Berlin is UTC+1 in winter.
        let sub = request()
            .validate(at("2026-12-06T10:00:00Z"))
            .expect("valid");
        assert_eq!(sub.channels, [ChannelId(5), ChannelId(6)], "deduplicated");
        assert_eq!(sub.next_run, Some(at("2026-12-07T06:00:00Z")));
        assert_eq!(
            window(&sub, at("2026-12-07T06:00:00Z")).0,
            at("2026-12-06T06:00:00Z")
        );
    }

    #[test]
    fn a_weekly_digest_fires_on_its_day() {
        let mut r = request();
        r.cadence = parse_cadence("Weekly", Some("Wednesday")).expect("cadence");
        r.timezone = None;
        r.hour = None;
        let sub = r.validate(at("2026-12-06T10:00:00Z")).expect("valid");
        assert_eq!(sub.next_run, Some(at("2026-12-09T09:00:00Z")));
        assert_eq!(
            window(&sub, at("2026-12-09T09:00:00Z")).0,
            at("2026-12-02T09:00:00Z")
        );
        assert_eq!(
            parse_cadence("weekly", None).expect("monday"),
            Cadence::Weekly(1)
        );
        assert!(describe(&sub).starts_with("**weekly on wednesday** at 09:00 UTC"));
    }

    #[test]
    fn a_window_across_a_daylight_saving_change_is_the_time_since_the_previous_digest() {
        let mut r = request();
        r.hour = Some(9);
        let sub = r.validate(at("2026-10-20T00:00:00Z")).expect("valid");
        // Berlin falls back on 2026-10-25: 09:00 is 07:00Z on the 24th, 08:00Z on the 25th.
        assert_eq!(
            window(&sub, at("2026-10-25T08:00:00Z")).0,
            at("2026-10-24T07:00:00Z"),
            "25 hours"
        );
        // And springs forward on 2026-03-29: 08:00Z on the 28th, 07:00Z on the 29th.
        assert_eq!(
            window(&sub, at("2026-03-29T07:00:00Z")).0,
            at("2026-03-28T08:00:00Z"),
            "23 hours"
        );
    }

    #[test]
    fn each_bad_option_is_named() {
        let now = at("2026-12-06T10:00:00Z");
        let mut r = request();
        r.hour = Some(24);
        assert!(r.validate(now).expect_err("hour").starts_with("`hour`"));
        let mut r = request();
        r.timezone = Some("Europe/Berln".into());
        assert!(r.validate(now).expect_err("zone").starts_with("`timezone`"));
        let mut r = request();
        r.channels = (1..=11).map(ChannelId).collect();
        assert!(r.validate(now).expect_err("many").starts_with("`channels`"));
        assert!(parse_cadence("hourly", None)
            .expect_err("cadence")
            .starts_with("`every`"));
        assert!(parse_cadence("weekly", Some("funday"))
            .expect_err("day")
            .starts_with("`weekday`"));
        assert!(parse_cadence("daily", Some("monday"))
            .expect_err("day on daily")
            .starts_with("`weekday`"));
    }

    #[test]
    fn a_paused_subscription_says_how_to_resume() {
        let mut sub = request().validate(Timestamp(0)).expect("valid");
        sub.paused_at = Some(Timestamp(1));
        let line = describe(&sub);
        assert!(
            line.contains("paused") && line.contains("/digest subscribe"),
            "{line}"
        );
        assert!(line.contains("<#5> <#6>"), "{line}");
    }
}
