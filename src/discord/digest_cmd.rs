//! `/digest subscribe|list|unsubscribe`: a member's personal digests by DM (any member; each
//! acts on the invoker only, in this server). Subscribing checks the channels against the
//! member's permissions (from the cache) and the summary service's admission, then sends a DM
//! to check the member can be reached: with DMs closed nothing is stored and they are told
//! how to open them. Answers are ephemeral.
//!
//! A digest paused because DMs became closed is told to its member after the first answer to
//! their next command, whatever the command ([`remind_if_paused`]).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{CommandDataOption, CommandDataOptionValue, CommandInteraction, RoleId};

use super::interaction::{PrivateAnswer, EPHEMERAL};
use super::{permissions, Shared};
use crate::model::{Cadence, ChannelId, Detail, GuildId, Subscription, Timestamp, UserId};
use crate::schedule::personal::{self, Request, WEEKDAYS};

/// How long the reminder waits for the command's own answer.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// The `/digest` definition.
pub fn definition() -> Value {
    let days: Vec<Value> = WEEKDAYS
        .iter()
        .map(|d| json!({"name": d, "value": d}))
        .collect();
    let every = |required: bool| {
        json!({"type": 3, "name": "every", "description": "daily or weekly",
            "required": required,
            "choices": [{"name": "daily", "value": "daily"}, {"name": "weekly", "value": "weekly"}]})
    };
    json!({
        "name": "digest", "type": 1, "contexts": [0],
        "description": "Your own digest of this server's channels, sent to you by DM",
        "options": [
            {"type": 1, "name": "subscribe",
             "description": "Get a daily or weekly digest by DM (again: change it)",
             "options": [
                every(true),
                {"type": 4, "name": "hour", "description": "Hour to send it, 0-23 (default 9)",
                    "min_value": 0, "max_value": 23},
                {"type": 3, "name": "timezone",
                    "description": "Your time zone, e.g. Europe/Berlin (default UTC)",
                    "max_length": 64},
                {"type": 3, "name": "weekday", "description": "Weekly: the day (default monday)",
                    "choices": days},
                {"type": 3, "name": "channels",
                    "description": "Channels to cover, e.g. #general #dev (default: all you can read)",
                    "max_length": 400},
                super::commands::detail_option()
             ]},
            {"type": 1, "name": "list", "description": "Your personal digests in this server"},
            {"type": 1, "name": "unsubscribe", "description": "Stop your personal digests here",
             "options": [every(false)]}
        ]
    })
}

/// A parsed `/digest` subcommand.
#[derive(Debug)]
enum Sub {
    Subscribe(Request),
    List,
    Unsubscribe(Option<Cadence>),
}

/// Handle `/digest`: refusals at once, the rest deferred.
pub(super) fn handle(shared: &Arc<Shared>, cmd: &CommandInteraction) {
    let Some(guild) = cmd.guild_id.map(|g| GuildId(g.get())) else {
        return;
    };
    let user = UserId(cmd.user.id.get());
    let verdict = parse(cmd, guild, user)
        .and_then(|sub| refusal(shared, cmd, guild, &sub).map_or(Ok(sub), Err));
    tracing::info!(guild_id = %guild, user_id = %user, command = "digest",
        admitted = verdict.is_ok(), "command received");
    let answer = PrivateAnswer::to(cmd, "digest");
    let guild_name = guild_name(shared, cmd);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        match verdict {
            Err(text) => answer.now(&shared.poster, &text).await,
            Ok(sub) => {
                let made = run(&shared, guild, user, sub, guild_name);
                answer.deferred(&shared.poster, made).await;
            }
        }
    });
}

/// The server's name from the cache, if known.
fn guild_name(shared: &Shared, cmd: &CommandInteraction) -> Option<String> {
    let cache = shared.cache.get()?;
    cmd.guild_id
        .and_then(|g| cache.guild(g).map(|g| g.name.clone()))
}

/// The subcommand and its options, checked.
fn parse(cmd: &CommandInteraction, guild: GuildId, user: UserId) -> Result<Sub, String> {
    let usage = "Use `/digest subscribe`, `/digest list` or `/digest unsubscribe`.";
    let first = cmd.data.options.first().ok_or(usage)?;
    let CommandDataOptionValue::SubCommand(opts) = &first.value else {
        return Err(usage.to_owned());
    };
    let text = |name: &str| {
        opts.iter().find_map(|o| match (&o.value, o.name == name) {
            (CommandDataOptionValue::String(s), true) => Some(s.as_str()),
            _ => None,
        })
    };
    match first.name.as_str() {
        "subscribe" => {
            let cadence =
                personal::parse_cadence(text("every").unwrap_or("daily"), text("weekday"))?;
            let detail = match text("detail") {
                Some(d) => d.parse::<Detail>().map_err(|e| format!("`detail`: {e}"))?,
                None => Detail::Brief,
            };
            Ok(Sub::Subscribe(Request {
                guild_id: guild,
                user_id: user,
                cadence,
                hour: integer(opts, "hour"),
                timezone: text("timezone").map(str::to_owned),
                channels: text("channels")
                    .map(parse_channels)
                    .transpose()?
                    .unwrap_or_default(),
                detail,
            }))
        }
        "list" => Ok(Sub::List),
        "unsubscribe" => match text("every") {
            None => Ok(Sub::Unsubscribe(None)),
            Some(every) => personal::parse_cadence(every, None).map(|c| Sub::Unsubscribe(Some(c))),
        },
        _ => Err(usage.to_owned()),
    }
}

fn integer(opts: &[CommandDataOption], name: &str) -> Option<i64> {
    opts.iter().find_map(|o| match (&o.value, o.name == name) {
        (CommandDataOptionValue::Integer(i), true) => Some(*i),
        _ => None,
    })
}

/// Channels written as mentions (`<#id>`, what Discord puts in the text when a member picks
/// `#general`) or bare ids, separated by spaces or commas.
fn parse_channels(text: &str) -> Result<Vec<ChannelId>, String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|word| {
            let id = word
                .strip_prefix("<#")
                .and_then(|w| w.strip_suffix('>'))
                .unwrap_or(word);
            id.parse::<u64>()
                .ok()
                .filter(|id| *id > 0)
                .map(ChannelId)
                .ok_or_else(|| {
                    format!(
                        "`channels`: \"{}\" is not a channel; pick channels with # (e.g. \
                         `#general #dev`), or leave it out for every channel you can read",
                        crate::text::one_line(word)
                            .chars()
                            .take(40)
                            .collect::<String>()
                    )
                })
        })
        .collect()
}

/// Why a parsed request is refused before anything is stored: the feature is off (server or
/// operator), or a picked channel is one the member cannot read or the summaries may not use.
fn refusal(shared: &Shared, cmd: &CommandInteraction, guild: GuildId, sub: &Sub) -> Option<String> {
    let Sub::Subscribe(request) = sub else {
        return None;
    };
    if !shared.config.scheduler.enabled {
        return Some(
            "Personal digests need the bot's scheduler, which its operator turned off \
             (`scheduler.enabled`)."
                .to_owned(),
        );
    }
    if !shared.effective(guild).personal_digests {
        return Some(OFF.to_owned());
    }
    let Some(cache) = shared.cache.get() else {
        return (!request.channels.is_empty())
            .then(|| "I am still connecting to Discord; please try again in a minute.".to_owned());
    };
    let sguild = serenity::all::GuildId::new(guild.0);
    let roles: Vec<RoleId> = cmd
        .member
        .as_ref()
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    request.channels.iter().find_map(|&channel| {
        let is_text = cache.guild(sguild).is_some_and(|g| {
            g.channels
                .get(&serenity::all::ChannelId::new(channel.0))
                .is_some_and(|c| {
                    matches!(
                        c.kind,
                        serenity::all::ChannelType::Text | serenity::all::ChannelType::News
                    )
                })
        });
        if !is_text {
            return Some(format!(
                "<#{channel}> is not a text or announcement channel of this server."
            ));
        }
        let perms = super::client::member_permissions(
            cache,
            sguild,
            channel,
            cmd.user.id.get(),
            Some(&roles),
        );
        if let Some(missing) = perms.map_or(Some("View Channel"), permissions::missing_to_read) {
            return Some(format!(
                "You need the {missing} permission in <#{channel}> to get it in your digest."
            ));
        }
        shared
            .admit(guild, channel)
            .err()
            .map(|why| why.user_message(channel))
    })
}

/// What the server's switch being off says.
const OFF: &str = "Personal digests are turned off in this server by its admins \
                   (`/summarybot settings personal_digests:`).";

/// Carry out an admitted request; the text is the answer.
async fn run(
    shared: &Shared,
    guild: GuildId,
    user: UserId,
    sub: Sub,
    guild_name: Option<String>,
) -> String {
    let result = match sub {
        Sub::Subscribe(request) => subscribe(shared, request, guild_name.as_deref()).await,
        Sub::List => list(shared, guild, user).await,
        Sub::Unsubscribe(cadence) => unsubscribe(shared, guild, user, cadence).await,
    };
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, command = "digest", "the database failed");
        "Sorry, I could not read or change your digests (a database error); please try again \
         later."
            .to_owned()
    })
}

/// Check the member can get DMs, then store the subscription and wake the scheduler.
async fn subscribe(
    shared: &Shared,
    request: Request,
    guild_name: Option<&str>,
) -> Result<String, String> {
    let sub = match request.validate(Timestamp::now()) {
        Ok(sub) => sub,
        Err(problem) => return Ok(problem),
    };
    let line = personal::describe(&sub);
    let hello = format!(
        "You will get your {} digest of **{}** here: {}.",
        personal::cadence_text(sub.cadence),
        crate::text::one_line(guild_name.unwrap_or("the server")),
        line
    );
    let dm = shared.poster.open_dm(sub.user_id.0).await;
    let sent = match dm {
        Ok(dm) => shared
            .poster
            .create_message(dm, &json!({"content": hello}))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match sent {
        Err(crate::discord::PostError::Status { code, .. }) if code == crate::jobs::DMS_CLOSED => {
            return Ok(
                "I cannot send you DMs, so nothing was set up: allow direct messages from \
                 this server's members (the server's name → Privacy Settings → Direct \
                 Messages), then run `/digest subscribe` again."
                    .to_owned(),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, user_id = %sub.user_id, "could not send the digest's first DM");
            return Ok(format!(
                "I could not DM you just now ({e}); nothing was set up. Please try again later."
            ));
        }
        Ok(()) => {}
    }
    let store = Arc::clone(&shared.store);
    let (stored, replaced) = tokio::task::spawn_blocking(move || store.put_subscription(&sub))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    shared.runtime.notify_schedules_changed();
    Ok(format!(
        "{}: {}. I sent you a DM to check I can reach you.",
        if replaced { "Updated" } else { "Subscribed" },
        personal::describe(&stored)
    ))
}

/// The member's subscriptions in this server.
async fn list(shared: &Shared, guild: GuildId, user: UserId) -> Result<String, String> {
    let store = Arc::clone(&shared.store);
    let subs = tokio::task::spawn_blocking(move || store.subscriptions_of(user, Some(guild)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let off = !shared.effective(guild).personal_digests;
    if subs.is_empty() {
        return Ok(if off {
            OFF.to_owned()
        } else {
            "You have no personal digests in this server. `/digest subscribe every:daily` \
             starts one."
                .to_owned()
        });
    }
    let mut text = String::from("**Your personal digests here**\n");
    for sub in &subs {
        text.push_str("• ");
        text.push_str(&personal::describe(sub));
        text.push('\n');
    }
    if off {
        text.push_str(OFF);
        text.push_str(" Nothing is sent until they turn them on again.");
    }
    Ok(text)
}

/// Delete the member's subscriptions here (of one cadence, when given).
async fn unsubscribe(
    shared: &Shared,
    guild: GuildId,
    user: UserId,
    cadence: Option<Cadence>,
) -> Result<String, String> {
    let store = Arc::clone(&shared.store);
    let gone =
        tokio::task::spawn_blocking(move || store.delete_subscriptions(guild, user, cadence))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    if gone.is_empty() {
        return Ok(format!(
            "You have no {}personal digest in this server to stop.",
            cadence.map_or_else(String::new, |c| format!("{} ", personal::cadence_kind(c)))
        ));
    }
    shared.runtime.notify_schedules_changed();
    let names: Vec<String> = gone
        .iter()
        .map(|s| personal::cadence_text(s.cadence))
        .collect();
    Ok(format!(
        "Stopped: your {} digest{} from this server.",
        names.join(" and "),
        if gone.len() == 1 { "" } else { "s" }
    ))
}

/// When one of the member's digests was paused (DMs closed) and they were not told yet, tell
/// them in a private follow-up once `cmd` has its first answer. Called for every command
/// before it is handled.
pub(super) fn remind_if_paused(shared: &Arc<Shared>, cmd: &CommandInteraction) {
    let user = UserId(cmd.user.id.get());
    let (app, token) = (cmd.application_id.get(), cmd.token.clone());
    let answered = shared.poster.watch_answer(&token);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let untold = || async {
            let store = Arc::clone(&shared.store);
            tokio::task::spawn_blocking(move || store.subscriptions_of(user, None))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.paused_at.is_some() && !s.pause_told)
                .collect::<Vec<_>>()
        };
        if untold().await.is_empty()
            || tokio::time::timeout(ANSWER_WAIT, answered.notified())
                .await
                .is_err()
        {
            shared.poster.forget_answer(&token);
            return;
        }
        // Claim them after the answer (the command may have been the `/digest subscribe`
        // that resumed one), so two commands close together tell the member once.
        let paused = claim_untold(&shared, user, true).await;
        if paused.is_empty() {
            return;
        }
        let names: Vec<Option<String>> = paused
            .iter()
            .map(|s| {
                shared.cache.get().and_then(|c| {
                    c.guild(serenity::all::GuildId::new(s.guild_id.0))
                        .map(|g| g.name.clone())
                })
            })
            .collect();
        let text = personal::pause_notice(names.first().cloned().flatten().as_deref());
        let body = json!({"content": text, "flags": EPHEMERAL});
        if let Err(e) = shared.poster.followup(app, &token, &body).await {
            tracing::warn!(error = %e, user_id = %user, "could not tell a member their digest is paused");
            // Not told: the next command tries again.
            claim_untold(&shared, user, false).await;
        }
    });
}

/// Set `pause_told` to `told` on the member's paused subscriptions that have the other value,
/// each in one write (so only one caller claims a subscription); returns those changed.
async fn claim_untold(shared: &Shared, user: UserId, told: bool) -> Vec<Subscription> {
    let store = Arc::clone(&shared.store);
    let claimed = tokio::task::spawn_blocking(move || {
        let mut claimed = Vec::new();
        for s in store.subscriptions_of(user, None)? {
            let mut claim = false;
            let changed = store.modify_subscription(s.id, |sub| {
                claim = sub.paused_at.is_some() && sub.pause_told != told;
                if claim {
                    sub.pause_told = told;
                }
                claim
            })?;
            if let Some(sub) = changed.filter(|_| claim) {
                claimed.push(sub);
            }
        }
        Ok::<_, crate::store::StoreError>(claimed)
    })
    .await;
    if let Ok(Ok(claimed)) = claimed {
        claimed
    } else {
        tracing::warn!(user_id = %user, "could not record whether a member was told about their paused digest");
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_read_from_mentions_and_ids() {
        assert_eq!(
            parse_channels("<#12> 13,<#14>").expect("channels"),
            [ChannelId(12), ChannelId(13), ChannelId(14)]
        );
        assert!(parse_channels("  ").expect("none").is_empty());
        let e = parse_channels("<#12> general").expect_err("a name");
        assert!(e.starts_with("`channels`: \"general\""), "{e}");
        assert!(parse_channels("<@12>").is_err(), "a user mention");
        assert!(parse_channels("0").is_err());
    }
}
