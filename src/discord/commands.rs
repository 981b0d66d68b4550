//! `/summarize` and `!summary`: options, access checks (invoker and bot), cooldown, the
//! deferred reply with throttled progress edits, and the summary as embeds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

use super::post::{embeds_body, footer, Poster};
use super::{backfill, cooldown, permissions, Shared};
use crate::model::{ChannelId, GuildId, Summary, TimeWindow, Timestamp};
use crate::summarize::engine::Request;
use crate::summarize::{render, Progress};

/// Default window in hours.
pub const DEFAULT_HOURS: u32 = 24;
/// Longest window in hours (one week).
pub const MAX_HOURS: u32 = 168;
/// Least time between two progress edits.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Interaction response flag: only the invoker sees it.
const EPHEMERAL: u64 = 64;

/// The slash commands registered with Discord.
pub fn definitions() -> Value {
    json!([{
        "name": "summarize", "type": 1,
        "description": "Summarize the recent messages of a channel",
        "contexts": [0],
        "options": [
            {"type": 4, "name": "hours", "description": "How many hours back (1-168, default 24)",
                "min_value": 1, "max_value": MAX_HOURS, "required": false},
            {"type": 7, "name": "channel", "description": "Channel or thread (default: this one)",
                "channel_types": [0, 5, 10, 11, 12], "required": false},
            {"type": 5, "name": "private", "description": "Only you see the summary",
                "required": false}
        ]
    },
    super::schedule_cmd::definition()])
}

/// A validated summary request from either command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// Guild it was invoked in.
    pub guild: GuildId,
    /// Channel to summarize.
    pub target: ChannelId,
    /// Who asked.
    pub user: u64,
    /// Window length.
    pub hours: u32,
    /// Reply only to the invoker.
    pub private: bool,
}

/// Why a request is refused before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Bad option value.
    Usage(String),
    /// The channel is excluded by configuration.
    Excluded,
    /// The invoker lacks a permission (its name).
    InvokerMissing(&'static str),
    /// The bot lacks a permission (its name).
    BotMissing(&'static str),
    /// The user must wait.
    Cooldown(Duration),
}

impl Refusal {
    /// The message shown to the user.
    pub fn message(&self, target: ChannelId) -> String {
        match self {
            Self::Usage(text) => text.clone(),
            Self::Excluded => format!("<#{target}> is excluded from summaries."),
            Self::InvokerMissing(p) => {
                format!("You need the {p} permission in <#{target}> to summarize it.")
            }
            Self::BotMissing(p) => {
                format!("I need the {p} permission in <#{target}> to summarize it.")
            }
            Self::Cooldown(wait) => cooldown::message(*wait),
        }
    }
}

/// Parse the `hours` text of `!summary [hours]`.
pub fn parse_hours(arg: Option<&str>) -> Result<u32, Refusal> {
    let Some(arg) = arg.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(DEFAULT_HOURS);
    };
    arg.parse::<i64>()
        .ok()
        .and_then(|h| check_hours(h).ok())
        .ok_or_else(|| Refusal::Usage(hours_usage(arg)))
}

/// Accept 1–168 hours.
pub fn check_hours(hours: i64) -> Result<u32, Refusal> {
    u32::try_from(hours)
        .ok()
        .filter(|h| (1..=MAX_HOURS).contains(h))
        .ok_or_else(|| Refusal::Usage(hours_usage(&hours.to_string())))
}

fn hours_usage(got: &str) -> String {
    format!("`{got}` is not a number of hours: use 1 to {MAX_HOURS} (default {DEFAULT_HOURS}).")
}

/// The checks every request passes, in order, before anything is read: exclusion, invoker and
/// bot permissions, then the cooldown (last, so a refused request does not start it).
pub(super) fn admit(
    shared: &Shared,
    inv: &Invocation,
    excluded: bool,
    invoker_perms: u64,
    bot_perms: u64,
) -> Result<(), Refusal> {
    if excluded {
        return Err(Refusal::Excluded);
    }
    if let Some(p) = permissions::missing_to_read(invoker_perms) {
        return Err(Refusal::InvokerMissing(p));
    }
    if let Some(p) = permissions::missing_to_read(bot_perms) {
        return Err(Refusal::BotMissing(p));
    }
    shared
        .cooldown
        .try_start(inv.user, Instant::now())
        .map_err(Refusal::Cooldown)
}

/// Run `/summarize` after admission: defer, summarize with progress edits, edit the reply.
pub(super) async fn run_slash(
    shared: Arc<Shared>,
    inv: Invocation,
    id: u64,
    app_id: u64,
    token: String,
) {
    let flags = if inv.private { EPHEMERAL } else { 0 };
    let defer = json!({"type": 5, "data": {"flags": flags}});
    if let Err(e) = shared.poster.interaction_callback(id, &token, &defer).await {
        tracing::error!(error = %e, command = "summarize", "could not defer the interaction");
        return;
    }
    let (tx, rx) = watch::channel(None);
    let progress_task = tokio::spawn(progress_edits(
        shared.poster.clone(),
        app_id,
        token.clone(),
        rx,
    ));
    let result = summarize(&shared, &inv, &tx).await;
    drop(tx);
    let _ = progress_task.await;
    let poster = &shared.poster;
    let sent = match result {
        Ok(summary) => {
            let messages = render::embeds(&summary, &footer(&summary));
            let mut sent = Ok(Value::Null);
            for (i, msg) in messages.iter().enumerate() {
                let mut body = embeds_body(msg);
                sent = if i == 0 {
                    poster.edit_original(app_id, &token, &body).await
                } else {
                    body["flags"] = json!(flags);
                    poster.followup(app_id, &token, &body).await
                };
                if sent.is_err() {
                    break;
                }
            }
            sent
        }
        Err(text) => {
            let body = json!({"content": text, "embeds": []});
            poster.edit_original(app_id, &token, &body).await
        }
    };
    if let Err(e) = sent {
        tracing::error!(error = %e, user_id = inv.user, channel_id = %inv.target, command = "summarize", "could not send the summary");
    }
}

/// Answer a refused `/summarize` at once, visible only to the invoker.
pub async fn refuse_slash(poster: &Poster, id: u64, token: &str, text: &str) {
    let body = json!({"type": 4, "data": {"content": text, "flags": EPHEMERAL}});
    if let Err(e) = poster.interaction_callback(id, token, &body).await {
        tracing::error!(error = %e, command = "summarize", "could not send a refusal");
    }
}

/// Run `!summary` after admission: reply to the command message with the summary.
pub(super) async fn run_prefix(shared: Arc<Shared>, inv: Invocation, reply_to: u64) {
    let (tx, _rx) = watch::channel(None);
    let bodies: Vec<Value> = match summarize(&shared, &inv, &tx).await {
        Ok(summary) => render::embeds(&summary, &footer(&summary))
            .iter()
            .map(embeds_body)
            .collect(),
        Err(text) => vec![json!({"content": text})],
    };
    for (i, mut body) in bodies.into_iter().enumerate() {
        if i == 0 {
            body["message_reference"] =
                json!({"message_id": reply_to.to_string(), "fail_if_not_exists": false});
        }
        if let Err(e) = shared.poster.create_message(inv.target, &body).await {
            tracing::error!(error = %e, channel_id = %inv.target, command = "summary", "could not send the summary");
            return;
        }
    }
}

/// Reply to a refused `!summary` in its channel.
pub async fn refuse_prefix(poster: &Poster, channel: ChannelId, reply_to: u64, text: &str) {
    let body = json!({"content": text,
        "message_reference": {"message_id": reply_to.to_string(), "fail_if_not_exists": false}});
    if let Err(e) = poster.create_message(channel, &body).await {
        tracing::error!(error = %e, command = "summary", "could not send a refusal");
    }
}

/// Read (backfilling when needed) and summarize; the error is the text shown to the user.
async fn summarize(
    shared: &Shared,
    inv: &Invocation,
    progress: &watch::Sender<Option<(usize, Progress)>>,
) -> Result<Summary, String> {
    let window = TimeWindow::last_hours(Timestamp::now(), inv.hours);
    if !shared.covers(inv.target, window) {
        match backfill::fetch_window(&shared.poster, &shared.ingest, inv.target, window).await {
            Ok(_) => shared.mark_covered(inv.target, window.start),
            Err(e) => {
                tracing::warn!(error = %e, channel_id = %inv.target, "backfill failed; summarizing what is stored");
            }
        }
    }
    shared.ingest.flush().await;
    let messages = shared
        .store
        .messages_in(inv.target, window)
        .map_err(|e| failure(inv, &e))?;
    let count = messages.len();
    let channel = shared.channel_info(inv.guild, inv.target);
    let request = Request {
        kind: crate::app::channel_kind(&shared.config, &channel),
        channel,
        window,
        messages,
        language: shared.config.summary.language.clone(),
        use_cache: true,
    };
    let report = |p: Progress| {
        progress.send_replace(Some((count, p)));
    };
    let summary = shared
        .engine
        .summarize(&request, &report)
        .await
        .map_err(|e| failure(inv, &e))?;
    tracing::info!(guild_id = %inv.guild, channel_id = %inv.target, user_id = inv.user,
        messages = count, cached = summary.cached, provider = %summary.provider, "summary served");
    Ok(summary)
}

fn failure(inv: &Invocation, e: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %e, guild_id = %inv.guild, channel_id = %inv.target, user_id = inv.user, "summary failed");
    "Sorry, the summary could not be made right now. Please try again later.".to_owned()
}

/// The progress line shown while a long window is summarized in parts.
pub fn progress_text(messages: usize, p: Progress) -> String {
    format!(
        "Reading {} messages… part {} of {}",
        group_thousands(messages),
        p.done.min(p.total),
        p.total
    )
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Edit the deferred reply with progress, at most every [`PROGRESS_EVERY`], until the sender
/// is dropped.
async fn progress_edits(
    poster: Poster,
    app_id: u64,
    token: String,
    mut rx: watch::Receiver<Option<(usize, Progress)>>,
) {
    loop {
        if rx.changed().await.is_err() {
            return;
        }
        let Some((count, p)) = *rx.borrow_and_update() else {
            continue;
        };
        let body = json!({"content": progress_text(count, p)});
        if let Err(e) = poster.edit_original(app_id, &token, &body).await {
            tracing::warn!(error = %e, "progress edit failed");
        }
        let until = tokio::time::Instant::now() + PROGRESS_EVERY;
        let mut pending = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                r = rx.changed() => {
                    if r.is_err() {
                        return;
                    }
                    pending = true;
                }
            }
        }
        if pending {
            // Show the newest progress now that the throttle allows it.
            rx.mark_changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_default_and_bounds() {
        assert_eq!(parse_hours(None), Ok(24));
        assert_eq!(parse_hours(Some(" 6 ")), Ok(6));
        assert_eq!(parse_hours(Some("168")), Ok(168));
        for bad in ["0", "169", "-3", "six"] {
            let err = parse_hours(Some(bad)).expect_err(bad);
            assert!(err.message(ChannelId(1)).contains("1 to 168"), "{err:?}");
        }
    }

    #[test]
    fn refusals_name_the_missing_permission_and_channel() {
        let text = Refusal::InvokerMissing("View Channel").message(ChannelId(42));
        assert_eq!(
            text,
            "You need the View Channel permission in <#42> to summarize it."
        );
        assert!(Refusal::BotMissing("Read Message History")
            .message(ChannelId(1))
            .starts_with("I need the Read Message History"));
    }

    #[test]
    fn progress_line_groups_thousands() {
        let p = Progress { done: 3, total: 7 };
        assert_eq!(
            progress_text(4812, p),
            "Reading 4,812 messages… part 3 of 7"
        );
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(12), "12");
    }

    #[test]
    fn definitions_have_the_three_options() {
        let defs = definitions();
        let names: Vec<&str> = defs[0]["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect();
        assert_eq!(names, ["hours", "channel", "private"]);
    }
}
