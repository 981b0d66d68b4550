//! `/catchup`: "what did I miss here?" — the window since the invoker's last message in the
//! channel (capped by `discord.catchup_max`; the last 24 h when they have not written there),
//! and the footer note saying what "since" resolved to.
//!
//! What counts as "your last message": the newest stored message you wrote in that channel or
//! thread, of any kind — a `!summary` text command is a message and counts. Slash commands
//! (`/catchup` itself, `/summarize`) are interactions, not messages, and do not count; the
//! bot's reply to a public `/summarize` is the bot's message, not yours.

use std::time::Duration;

use serde_json::{json, Value};

use super::Shared;
use crate::model::{ChannelId, GuildId, TimeWindow, Timestamp, UserId};
use crate::store::{Store, StoreError};
use crate::summarize::lang::Strings;

/// The window when the invoker has not written in the channel within the cap (24 h).
pub const FIRST_TIME_HOURS: u32 = 24;

/// The `/catchup` slash command definition.
pub fn definition() -> Value {
    json!({
        "name": "catchup", "type": 1,
        "description": "What you missed since your last message: in the whole server, or in one channel",
        "contexts": [0],
        "options": [
            {"type": 5, "name": "public", "description": "Show the summary to everyone (default: only you; needs a channel)",
                "required": false},
            super::commands::detail_option(),
            {"type": 7, "name": "channel",
                "description": "Only this channel, thread or forum (default: every channel you can read)",
                "channel_types": [0, 5, 10, 11, 12, 15], "required": false}
        ]
    })
}

/// Where a catch-up starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// Just after the invoker's last message, sent at this time.
    LastMessage(Timestamp),
    /// No message of theirs within the cap: the last `hours` hours.
    NotWritten {
        /// Window length in hours.
        hours: u32,
        /// The cap that was searched.
        cap: Duration,
    },
}

impl Since {
    /// The window from this start to `now`.
    pub fn window(self, now: Timestamp) -> TimeWindow {
        match self {
            // The invoker's own message is not part of what they missed.
            Self::LastMessage(t) => TimeWindow {
                start: Timestamp(t.0.saturating_add(1)),
                end: now,
            },
            Self::NotWritten { hours, .. } => TimeWindow::last_hours(now, hours),
        }
    }

    /// The footer note in `strings`' language (plain text: footers render no Markdown or
    /// `<t:…>` timestamps).
    pub fn note(self, now: Timestamp, strings: &Strings) -> String {
        self.note_from(now, strings.catchup_since, strings.catchup_last)
    }

    /// The note from templates: `since` (`{ago}`, `{time}`) after a message of theirs, `last`
    /// (`{hours}`, `{cap}`) when there was none.
    pub fn note_from(self, now: Timestamp, since: &str, last: &str) -> String {
        match self {
            Self::LastMessage(t) => since
                .replace("{ago}", &ago(now.0.saturating_sub(t.0)))
                .replace("{time}", &t.to_string()),
            Self::NotWritten { hours, cap } => last
                .replace("{hours}", &hours.to_string())
                .replace("{cap}", &crate::config::format_duration(cap)),
        }
    }
}

/// Where the catch-up of `user` in `channel` starts, from the store: after their newest message
/// within `cap` before `now`, else the last 24 h (or `cap` when shorter).
pub fn since(
    store: &Store,
    channel: ChannelId,
    user: UserId,
    now: Timestamp,
    cap: Duration,
) -> Result<Since, StoreError> {
    since_in(store, &[channel], user, now, cap)
}

/// Where the catch-up of `user` over `channels` (a server's) starts: after their newest message
/// in any of them within `cap` before `now`, else the last 24 h (or `cap` when shorter).
pub fn since_in(
    store: &Store,
    channels: &[ChannelId],
    user: UserId,
    now: Timestamp,
    cap: Duration,
) -> Result<Since, StoreError> {
    let floor = cap_start(now, cap);
    let mut last = None;
    for channel in channels {
        if let Some(m) = store.last_message_by(*channel, user, floor)? {
            if m.timestamp < now {
                last = last.max(Some(m.timestamp));
            }
        }
    }
    Ok(match last {
        Some(t) => Since::LastMessage(t),
        None => Since::NotWritten {
            hours: first_time_hours(cap),
            cap,
        },
    })
}

/// Resolve the catch-up start, backfilling over REST first when the store does not cover the
/// part of the channel that is searched (then the lookup is repeated on the fuller store).
pub(super) async fn resolve(
    shared: &Shared,
    guild: GuildId,
    channel: ChannelId,
    user: UserId,
    now: Timestamp,
) -> Result<Since, StoreError> {
    let cap = shared.config.discord.catchup_max;
    shared.ingest.flush().await;
    let first = since(&shared.store, channel, user, now, cap)?;
    let searched = match first {
        Since::LastMessage(t) => TimeWindow { start: t, end: now },
        Since::NotWritten { .. } => TimeWindow {
            start: cap_start(now, cap),
            end: now,
        },
    };
    super::commands::ensure_stored(shared, guild, channel, searched).await;
    since(&shared.store, channel, user, now, cap)
}

fn cap_start(now: Timestamp, cap: Duration) -> Timestamp {
    let millis = i64::try_from(cap.as_millis()).unwrap_or(i64::MAX);
    Timestamp(now.0.saturating_sub(millis))
}

/// 24 h, or the cap when it is shorter (in whole hours, at least 1).
fn first_time_hours(cap: Duration) -> u32 {
    let cap_hours = u32::try_from(cap.as_secs() / 3600).unwrap_or(u32::MAX);
    FIRST_TIME_HOURS.min(cap_hours).max(1)
}

/// `3 d 4 h`, `2 h 5 min`, `7 min`, `less than a minute`.
fn ago(millis: i64) -> String {
    let minutes = millis.max(0) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (d, h, m) {
        (0, 0, 0) => "less than a minute".to_owned(),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{msg, temp_store};
    use crate::summarize::lang::Lang;

    const HOUR: i64 = 3_600_000;
    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

    #[test]
    fn since_the_last_message_excludes_it_and_older_ones() {
        let (_d, s) = temp_store();
        let now = Timestamp(1000 * HOUR);
        s.upsert_messages(&[
            msg(1, 1, now.0 - 50 * HOUR, "older"),
            msg(1, 2, now.0 - 3 * HOUR, "my last"),
        ])
        .expect("upsert");
        let user = UserId(9);
        let got = since(&s, ChannelId(1), user, now, WEEK).expect("since");
        assert_eq!(got, Since::LastMessage(Timestamp(now.0 - 3 * HOUR)));
        let window = got.window(now);
        assert_eq!(window.start, Timestamp(now.0 - 3 * HOUR + 1));
        assert_eq!(window.end, now);
        assert!(!window.contains(Timestamp(now.0 - 3 * HOUR)));
        assert_eq!(
            got.note(now, Lang::En.strings()),
            format!(
                "catch-up since your last message here, 3 h 0 min ago ({})",
                Timestamp(now.0 - 3 * HOUR)
            )
        );
        assert_eq!(
            got.note(now, Lang::De.strings()),
            format!(
                "Nachholen seit deiner letzten Nachricht hier vor 3 h 0 min ({})",
                Timestamp(now.0 - 3 * HOUR)
            )
        );
    }

    #[test]
    fn no_message_within_the_cap_means_the_last_24_hours() {
        let (_d, s) = temp_store();
        let now = Timestamp(1000 * HOUR);
        s.upsert_messages(&[msg(1, 1, now.0 - 200 * HOUR, "long ago")])
            .expect("upsert");
        let got = since(&s, ChannelId(1), UserId(9), now, WEEK).expect("since");
        assert_eq!(
            got,
            Since::NotWritten {
                hours: 24,
                cap: WEEK
            }
        );
        assert_eq!(got.window(now), TimeWindow::last_hours(now, 24));
        assert_eq!(
            got.note(now, Lang::En.strings()),
            "catch-up: last 24 h (you haven't written here in the last 7d)"
        );
        assert_eq!(
            got.note(now, Lang::Fr.strings()),
            "rattrapage : dernières 24 h (tu n'as rien écrit ici depuis 7d)"
        );
        let other = since(&s, ChannelId(1), UserId(5), now, WEEK).expect("since");
        assert!(matches!(other, Since::NotWritten { .. }));
    }

    #[test]
    fn a_cap_shorter_than_a_day_bounds_the_first_time_window() {
        let cap = Duration::from_secs(6 * 3600);
        assert_eq!(first_time_hours(cap), 6);
        assert_eq!(first_time_hours(Duration::from_secs(60)), 1);
        assert_eq!(first_time_hours(WEEK), 24);
    }

    #[test]
    fn ago_reads_naturally() {
        assert_eq!(ago(-5), "less than a minute");
        assert_eq!(ago(59_999), "less than a minute");
        assert_eq!(ago(7 * 60_000), "7 min");
        assert_eq!(ago(2 * HOUR + 5 * 60_000), "2 h 5 min");
        assert_eq!(ago(76 * HOUR), "3 d 4 h");
    }

    #[test]
    fn the_definition_has_the_public_detail_and_channel_options() {
        let def = definition();
        assert_eq!(def["name"], "catchup");
        assert_eq!(def["options"][0]["name"], "public");
        assert_eq!(def["options"][1]["name"], "detail");
        let channel = &def["options"][2];
        assert_eq!(channel["name"], "channel");
        assert_eq!(channel["type"], 7);
        assert_eq!(channel["required"], false, "without it: the whole server");
        assert_eq!(
            channel["channel_types"],
            super::super::commands::definitions()[0]["options"][1]["channel_types"],
            "the channels /summarize accepts"
        );
        assert_eq!(def["options"].as_array().map(Vec::len), Some(3));
        assert!(def["description"].as_str().is_some_and(|d| d.len() <= 100));
    }

    #[test]
    fn since_in_a_server_starts_after_the_newest_message_in_any_channel() {
        let (_d, s) = temp_store();
        let now = Timestamp(1000 * HOUR);
        s.upsert_messages(&[
            msg(1, 1, now.0 - 5 * HOUR, "in one"),
            msg(2, 2, now.0 - 2 * HOUR, "in two"),
            msg(3, 3, now.0 - HOUR, "in three, not searched"),
        ])
        .expect("upsert");
        let got = since_in(&s, &[ChannelId(1), ChannelId(2)], UserId(9), now, WEEK).expect("since");
        assert_eq!(got, Since::LastMessage(Timestamp(now.0 - 2 * HOUR)));
        let none = since_in(&s, &[], UserId(9), now, WEEK).expect("since");
        assert!(matches!(none, Since::NotWritten { hours: 24, .. }));
    }
}
