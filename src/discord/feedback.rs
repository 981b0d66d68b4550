//! 👍/👎 feedback on posted summaries: the buttons put on the last message of a cached summary,
//! their `custom_id` (`fb:<up|down>:<kind>:<detail>:<cache key>`), and a member's click, recorded
//! once per member per summary while the summary's cache entry lives; a click after that takes
//! the buttons off.

use std::sync::Arc;

use serde_json::{json, Value};
use serenity::all::ComponentInteraction;

use super::post::PostError;
use super::Shared;
use crate::model::{CacheEntryRef, ChannelKind, Detail, GuildId, Summary, Timestamp, UserId};
use crate::store::{Recorded, Vote};

/// What every feedback `custom_id` starts with.
const PREFIX: &str = "fb";
/// Length of a cache key (hex SHA-256).
const KEY_LEN: usize = 64;

/// What a feedback button says about a summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Click {
    /// 👍 (true) or 👎.
    pub up: bool,
    /// The summary's cache entry.
    pub entry: CacheEntryRef,
}

/// The `custom_id` of a summary's 👍 (`up`) or 👎 button (at most 89 characters; Discord allows 100).
pub fn custom_id(entry: &CacheEntryRef, up: bool) -> String {
    format!(
        "{PREFIX}:{}:{}:{}:{}",
        if up { "up" } else { "down" },
        entry.kind.as_str(),
        entry.detail.as_str(),
        entry.key
    )
}

/// Read a `custom_id`: `None` when it is not a feedback button, `Some(Err(()))` when it is one
/// this build cannot read (a malformed or foreign id), never a panic.
pub fn parse(custom_id: &str) -> Option<Result<Click, ()>> {
    let rest = custom_id.strip_prefix(PREFIX)?.strip_prefix(':')?;
    Some(parse_fields(rest).ok_or(()))
}

fn parse_fields(rest: &str) -> Option<Click> {
    let mut fields = rest.split(':');
    let up = match fields.next()? {
        "up" => true,
        "down" => false,
        _ => return None,
    };
    let kind_name = fields.next()?;
    let kind = ChannelKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind_name)?;
    let detail_name = fields.next()?;
    let detail = Detail::ALL
        .into_iter()
        .find(|d| d.as_str() == detail_name)?;
    let key = fields.next()?;
    let hex = key.len() == KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex || fields.next().is_some() {
        return None;
    }
    Some(Click {
        up,
        entry: CacheEntryRef {
            key: key.to_owned(),
            kind,
            detail,
        },
    })
}

/// One action row with the 👍 and 👎 buttons of `entry`.
pub fn components(entry: &CacheEntryRef) -> Value {
    let button = |up: bool, emoji: &str, label: &str| {
        json!({"type": 2, "style": 2, "custom_id": custom_id(entry, up),
            "emoji": {"name": emoji}, "label": label})
    };
    json!([{"type": 1, "components": [
        button(true, "👍", "Helpful"),
        button(false, "👎", "Not helpful"),
    ]}])
}

/// Put the feedback buttons on the last of a summary's message bodies, when the summary is
/// cached (an uncached one, e.g. the builtin standing in for a failed LLM, gets none).
pub fn attach(bodies: &mut [Value], summary: &Summary) {
    attach_entry(bodies, summary.cache_entry.as_ref());
}

/// Put `entry`'s buttons on the last body, when there is an entry.
fn attach_entry(bodies: &mut [Value], entry: Option<&CacheEntryRef>) {
    let (Some(entry), Some(Value::Object(last))) = (entry, bodies.last_mut()) else {
        return;
    };
    last.insert("components".into(), components(entry));
}

/// The answer to a click that changed nothing in the store.
fn emoji(up: bool) -> &'static str {
    if up {
        "👍"
    } else {
        "👎"
    }
}

/// Feedback for this summary has closed: its cache entry expired or was dropped (its buttons
/// are taken off the message).
pub const CLOSED: &str = "Feedback on this summary has closed (it is no longer in the cache: it \
    expired, or the channel's messages changed). Ask for a new summary to rate that one.";
/// The button's id could not be read.
pub const UNREADABLE: &str =
    "This button could not be read (it may be from another version of the bot); ask for a new \
     summary to rate it.";

/// The answer to a recorded vote.
pub fn answer(recorded: Recorded, up: bool) -> String {
    let e = emoji(up);
    match recorded {
        Recorded::New => format!("Thanks, your {e} is recorded."),
        Recorded::Changed => {
            format!("Your vote on this summary is now {e} (each member counts once).")
        }
        Recorded::Unchanged => {
            format!("You already gave this summary {e}; each member counts once.")
        }
    }
}

/// Handle a component click: answer a feedback button (ephemerally), ignore other components.
/// A click in a DM (on a personal digest) has no server: its summary's cache entry decides.
pub(super) fn clicked(shared: &Arc<Shared>, click: ComponentInteraction) {
    if let Some(guild) = click.guild_id {
        if !shared.serves(Some(GuildId(guild.get()))) {
            return;
        }
    }
    let Some(parsed) = parse(&click.data.custom_id) else {
        return; // not a feedback button
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let user = UserId(click.user.id.get());
        let outcome = match parsed {
            Ok(parsed) => record(&shared, &parsed, user),
            Err(()) => Outcome::Answer(UNREADABLE.to_owned()),
        };
        let sent = match outcome {
            Outcome::Answer(text) => {
                let body = json!({"type": 4, "data": {"content": text, "flags": super::interaction::EPHEMERAL}});
                shared
                    .poster
                    .interaction_callback(click.id.get(), &click.token, &body)
                    .await
            }
            Outcome::Closed => close(&shared, &click).await,
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, user_id = %user, "could not answer a feedback click");
        }
    });
}

/// What a click gets.
enum Outcome {
    /// An ephemeral answer.
    Answer(String),
    /// Feedback on the summary has closed: its buttons are taken off, the member told why.
    Closed,
}

/// Answer a click on a closed summary: acknowledge without a new message (type 6), take the
/// buttons off the summary's message, and tell the member privately (a follow-up).
async fn close(shared: &Shared, click: &ComponentInteraction) -> Result<(), PostError> {
    let poster = &shared.poster;
    let (id, app, token) = (click.id.get(), click.application_id.get(), &click.token);
    poster
        .interaction_callback(id, token, &json!({"type": 6}))
        .await?;
    if let Err(e) = poster
        .edit_original(app, token, &json!({"components": []}))
        .await
    {
        tracing::warn!(error = %e, "could not take the closed feedback buttons off");
    }
    poster
        .followup(
            app,
            token,
            &json!({"content": CLOSED, "flags": super::interaction::EPHEMERAL}),
        )
        .await
        .map(|_| ())
}

/// Record `user`'s vote while the summary's cache entry lives.
fn record(shared: &Shared, click: &Click, user: UserId) -> Outcome {
    let now = Timestamp::now();
    let summary = match shared.store.cached_summary(&click.entry.key, now) {
        Ok(Some(summary)) => summary,
        Ok(None) => return Outcome::Closed,
        Err(e) => return Outcome::Answer(failed(&e, user)),
    };
    let vote = Vote {
        up: click.up,
        provider: summary.provider,
        model: summary.model,
        kind: click.entry.kind.as_str().to_owned(),
        detail: click.entry.detail.as_str().to_owned(),
        at: now,
    };
    match shared.store.record_feedback(&click.entry.key, user, &vote) {
        Ok(recorded) => {
            tracing::info!(user_id = %user, up = click.up, ?recorded, "summary feedback");
            Outcome::Answer(answer(recorded, click.up))
        }
        Err(e) => Outcome::Answer(failed(&e, user)),
    }
}

fn failed(e: &dyn std::fmt::Display, user: UserId) -> String {
    tracing::error!(error = %e, user_id = %user, "could not record summary feedback");
    "Sorry, your vote could not be recorded right now; please try again later.".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> CacheEntryRef {
        CacheEntryRef {
            key: "ab".repeat(32),
            kind: ChannelKind::Dev,
            detail: Detail::Brief,
        }
    }

    #[test]
    fn ids_round_trip_and_fit_discord_s_limit() {
        for kind in ChannelKind::ALL {
            for detail in Detail::ALL {
                for up in [true, false] {
                    let entry = CacheEntryRef {
                        kind,
                        detail,
                        ..entry()
                    };
                    let id = custom_id(&entry, up);
                    assert!(id.len() <= 100, "{id}");
                    assert_eq!(parse(&id), Some(Ok(Click { up, entry })));
                }
            }
        }
    }

    #[test]
    fn malformed_ids_are_refused_and_foreign_ones_ignored() {
        let key = "ab".repeat(32);
        for foreign in ["", "f", "fb", "fbx:up", "schedule:1", "👍"] {
            assert_eq!(parse(foreign), None, "{foreign:?}");
        }
        for bad in [
            "fb:".to_owned(),
            "fb:up".to_owned(),
            format!("fb:sideways:general:brief:{key}"),
            format!("fb:up:poetry:brief:{key}"),
            format!("fb:up:general:huge:{key}"),
            "fb:up:general:brief:abc".to_owned(),
            format!("fb:up:general:brief:{}", "AB".repeat(32)),
            format!("fb:up:general:brief:{}", "zz".repeat(32)),
            format!("fb:up:general:brief:{key}:extra"),
            format!("fb:up:general:brief:{}", "é".repeat(32)),
            format!("fb:up:general:brief:{key}{}", ":".repeat(200)),
        ] {
            assert_eq!(parse(&bad), Some(Err(())), "{bad:?}");
        }
    }

    #[test]
    fn buttons_go_on_the_last_message_of_a_cached_summary_only() {
        let mut bodies = vec![json!({"content": ""}), json!({"content": ""})];
        attach_entry(&mut bodies, None);
        assert!(bodies.iter().all(|b| b.get("components").is_none()));
        attach_entry(&mut bodies, Some(&entry()));
        assert!(bodies[0].get("components").is_none());
        let row = &bodies[1]["components"][0];
        assert_eq!(row["type"], 1);
        assert_eq!(row["components"][0]["type"], 2);
        assert_eq!(row["components"][0]["emoji"]["name"], "👍");
        assert_eq!(
            row["components"][1]["custom_id"],
            custom_id(&entry(), false)
        );
    }

    #[test]
    fn answers_say_a_member_counts_once() {
        assert!(answer(Recorded::New, true).contains("👍 is recorded"));
        assert!(answer(Recorded::Unchanged, false).contains("already gave this summary 👎"));
        assert!(answer(Recorded::Changed, false).contains("now 👎"));
    }
}
