//! `/summarize`, `/catchup` and `!summary`: options, access checks (invoker and bot), cooldown,
//! the deferred reply with throttled progress edits, and the summary as embeds. A thread is
//! summarized on its own; a channel summary lists its active threads; a forum's covers its posts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

use super::interaction::{self, Reply};
use super::post::{footer, summary_bodies_with, Poster};
use super::threads::{self, ActiveThread, Place, PlaceKind};
use super::{archived, catchup, cooldown, permissions, Shared};
use crate::channel_summary::{Barred, Completeness, Prepared, SummaryError};
use crate::model::{
    ChannelId, ChatMessage, Detail, GuildId, Summary, TimeWindow, Timestamp, UserId,
};
use crate::store::{Newest, StoreError};
use crate::summarize::engine::EngineError;
use crate::summarize::focus::Topic;
use crate::summarize::lang::Lang;
use crate::summarize::{render, Progress};

/// Default window in hours (a server can change it with `/summarybot settings window:`).
pub const DEFAULT_HOURS: u32 = crate::settings::DEFAULT_HOURS;
/// Longest window in hours (one week).
pub const MAX_HOURS: u32 = crate::settings::MAX_HOURS;
/// Least time between two progress edits.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The slash commands registered with Discord.
pub fn definitions() -> Value {
    json!([
        summarize_definition(),
        catchup::definition(),
        super::schedule_cmd::definition(),
        super::admin_cmd::definition(),
        super::digest_cmd::definition()
    ])
}

/// The `/summarize` definition.
fn summarize_definition() -> Value {
    json!({
        "name": "summarize", "type": 1,
        "description": "Summarize the recent messages of a channel",
        "contexts": [0],
        "options": [
            {"type": 4, "name": "hours", "description": "How many hours back (1-168; default: the server's window, 24 h unless changed)",
                "min_value": 1, "max_value": MAX_HOURS, "required": false},
            {"type": 7, "name": "channel", "description": "Channel, thread or forum (default: this one)",
                "channel_types": [0, 5, 10, 11, 12, 15], "required": false},
            {"type": 5, "name": "private", "description": "Only you see the summary",
                "required": false},
            {"type": 5, "name": "threads",
                "description": "Include the messages of the channel's active threads",
                "required": false},
            detail_option(),
            {"type": 3, "name": "topic",
                "description": "Only what is about these words (and the replies around it)",
                "max_length": crate::summarize::focus::MAX_TOPIC_CHARS, "required": false}
        ]
    })
}

/// The `detail` option of `/summarize` and `/catchup`.
pub(super) fn detail_option() -> Value {
    json!({"type": 3, "name": "detail",
        "description": "How long: brief (a TL;DR), standard (default) or full (every point)",
        "required": false,
        "choices": Detail::ALL.map(|d| json!({"name": d.as_str(), "value": d.as_str()}))})
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
    /// `/catchup`: the window starts after the invoker's last message (`hours` is unused).
    pub catchup: bool,
    /// Include the messages of the target's active threads (`threads:true`).
    pub threads: bool,
    /// How long the summary may be.
    pub detail: Detail,
    /// Only what is about this topic (`/summarize topic:`).
    pub topic: Option<Topic>,
    /// What the target is (channel, thread, forum) and its public threads.
    pub place: Place,
}

impl Invocation {
    /// The command name, for logs.
    pub fn command(&self) -> &'static str {
        if self.catchup {
            "catchup"
        } else {
            "summarize"
        }
    }
}

/// A finished summary and what its footer should add (the catch-up's "since").
pub struct Served {
    /// The summary, with its Threads section.
    pub summary: Summary,
    /// Shown first in the footer.
    pub note: Option<String>,
}

impl Served {
    /// The footer: the note, then counts, window and provider.
    pub fn footer(&self) -> String {
        let base = footer(&self.summary);
        match &self.note {
            Some(note) => format!("{note} · {base}"),
            None => base,
        }
    }
}

/// Why a request is refused before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Bad option value.
    Usage(String),
    /// The summary service refuses the channel (excluded, opted out, settings unreadable).
    Barred(Barred),
    /// The invoker lacks a permission (its name).
    InvokerMissing(&'static str),
    /// The bot lacks a permission (its name).
    BotMissing(&'static str),
    /// The bot lacks a permission to post the summary in the channel (its name).
    BotCannotPost(&'static str),
    /// The user must wait.
    Cooldown(Duration),
    /// A private thread was named from outside it (its members are not known here).
    PrivateThreadFromOutside,
}

impl Refusal {
    /// The message shown to the user.
    pub fn message(&self, target: ChannelId) -> String {
        let target = &target;
        match self {
            Self::Usage(text) => text.clone(),
            Self::Barred(why) => why.user_message(*target),
            Self::InvokerMissing(p) => {
                format!("You need the {p} permission in <#{target}> to summarize it.")
            }
            Self::BotMissing(p) => {
                format!("I need the {p} permission in <#{target}> to summarize it.")
            }
            Self::BotCannotPost(p) => {
                format!("I need the {p} permission in <#{target}> to post a summary there.")
            }
            Self::Cooldown(wait) => cooldown::message(*wait),
            Self::PrivateThreadFromOutside => format!(
                "<#{target}> is a private thread: run the command inside it to summarize it."
            ),
        }
    }
}

/// Parse the arguments of `!summary [hours] [detail]` (in any order; hours may end in `h`):
/// the window in hours (`default` when not given) and the detail level.
pub fn parse_prefix_args(args: &str, default: u32) -> Result<(u32, Detail), Refusal> {
    let mut hours = None;
    let mut detail = None;
    for word in args.split_whitespace() {
        if let Ok(d) = word.parse::<Detail>() {
            if detail.replace(d).is_some() {
                return Err(Refusal::Usage(format!(
                    "Give one detail level, not several. {PREFIX_USAGE}"
                )));
            }
        } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            let number = word.strip_suffix(['h', 'H']).unwrap_or(word);
            if hours
                .replace(parse_hours_or(Some(number), default)?)
                .is_some()
            {
                return Err(Refusal::Usage(format!(
                    "Give one number of hours, not several. {PREFIX_USAGE}"
                )));
            }
        } else {
            return Err(Refusal::Usage(format!(
                "`{word}` is neither a number of hours nor a detail level (brief, standard or \
                 full). {PREFIX_USAGE}"
            )));
        }
    }
    Ok((hours.unwrap_or(default), detail.unwrap_or_default()))
}

/// How `!summary` is used, shown after a wrong argument.
const PREFIX_USAGE: &str = "Use e.g. `!summary`, `!summary 6` or `!summary 24h brief`.";

/// Parse the `hours` text of `!summary [hours]`.
pub fn parse_hours(arg: Option<&str>) -> Result<u32, Refusal> {
    parse_hours_or(arg, DEFAULT_HOURS)
}

/// Parse the `hours` text of `!summary [hours]`, `default` when there is none (the server's
/// default window).
pub fn parse_hours_or(arg: Option<&str>, default: u32) -> Result<u32, Refusal> {
    let Some(arg) = arg.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(default);
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

/// The checks every request passes, in order, before anything is read: the summary service's
/// admission (`barred`), invoker and bot permissions (with `posts_here`, the bot's permissions
/// to post the summary in the target too: `!summary` answers with a message there, the slash
/// commands through their interaction), then the cooldown (last, so a refused request does not
/// start it).
pub(super) fn admit(
    shared: &Shared,
    inv: &Invocation,
    barred: Option<Barred>,
    invoker_perms: u64,
    bot_perms: u64,
    posts_here: bool,
) -> Result<(), Refusal> {
    if let Some(why) = barred {
        return Err(Refusal::Barred(why));
    }
    if let Some(p) = permissions::missing_to_read(invoker_perms) {
        return Err(Refusal::InvokerMissing(p));
    }
    if let Some(p) = permissions::missing_to_read(bot_perms) {
        return Err(Refusal::BotMissing(p));
    }
    if let Some(p) =
        permissions::missing_to_post(bot_perms, inv.place.kind.is_thread()).filter(|_| posts_here)
    {
        return Err(Refusal::BotCannotPost(p));
    }
    let period = shared.effective(inv.guild).cooldown;
    shared
        .cooldown
        .try_start_with(inv.guild, inv.user, Instant::now(), period)
        .map_err(Refusal::Cooldown)
}

/// Run `/summarize` or `/catchup` after admission: defer (ephemeral when private), summarize
/// with progress edits, edit the reply (or, once the token is too old, post the summary in the
/// channel or the invoker's DMs, see [`interaction::deliver`]).
pub(super) async fn run_slash(shared: Arc<Shared>, inv: Invocation, reply: Reply) {
    let flags = if inv.private {
        interaction::EPHEMERAL
    } else {
        0
    };
    let defer = json!({"type": 5, "data": {"flags": flags}});
    let poster = &shared.poster;
    if let Err(e) = poster
        .interaction_callback(reply.id, &reply.token, &defer)
        .await
    {
        tracing::error!(error = %e, command = inv.command(), "could not defer the interaction");
        return;
    }
    let (tx, rx) = watch::channel(None);
    let progress_task = tokio::spawn(progress_edits(
        poster.clone(),
        reply.clone(),
        inv.private,
        rx,
    ));
    let result = summarize(&shared, &inv, &tx).await;
    drop(tx);
    let _ = progress_task.await;
    let mut bodies: Vec<Value> = match result {
        Ok(served) => summary_bodies_with(&served.summary, &served.footer()),
        Err(text) => vec![json!({"content": text, "embeds": []})],
    };
    let late = interaction::Late {
        about: inv.target,
        private: inv.private,
    };
    // The note names a channel and says the member's DMs are closed: theirs alone to read.
    if let Some(note) = inv
        .private
        .then(|| shared.undelivered.take_note(inv.user))
        .flatten()
    {
        bodies[0] = interaction::with_note(&bodies[0], &note);
    }
    let lost = &shared.undelivered;
    if let Err(e) = interaction::deliver(poster, &reply, flags, &bodies, &late, lost).await {
        tracing::error!(error = %e, user_id = inv.user, channel_id = %inv.target, command = inv.command(), "could not send the summary");
    }
}

/// Answer a refused `/summarize` at once, visible only to the invoker.
pub async fn refuse_slash(poster: &Poster, id: u64, token: &str, text: &str) {
    interaction::answer_now(poster, id, token, text, "summarize").await;
}

/// Run `!summary` after admission: reply to the command message with the summary.
pub(super) async fn run_prefix(shared: Arc<Shared>, inv: Invocation, reply_to: u64) {
    let (tx, _rx) = watch::channel(None);
    let bodies: Vec<Value> = match summarize(&shared, &inv, &tx).await {
        Ok(served) => summary_bodies_with(&served.summary, &served.footer()),
        Err(text) => vec![json!({"content": text})],
    };
    for (i, body) in bodies.into_iter().enumerate() {
        // Admitted: the bot has Read Message History, so the first part may be a reply.
        let reply = (i == 0).then_some(reply_to);
        if let Err(e) = send_reply(&shared.poster, inv.target, reply, body).await {
            tracing::error!(error = %e, channel_id = %inv.target, command = "summary", "could not send the summary");
            return;
        }
    }
}

/// Send `body` in `channel`, as a reply to message `reply_to` when given. A reply needs Read
/// Message History: when Discord refuses it with 403 Missing Permissions (the cached
/// permissions were behind), it is sent again as a plain message, so the user still sees it.
async fn send_reply(
    poster: &Poster,
    channel: ChannelId,
    reply_to: Option<u64>,
    body: Value,
) -> Result<Value, super::PostError> {
    let Some(reply_to) = reply_to else {
        return poster.create_message(channel, &body).await;
    };
    let mut reply = body.clone();
    reply["message_reference"] =
        json!({"message_id": reply_to.to_string(), "fail_if_not_exists": false});
    match poster.create_message(channel, &reply).await {
        Err(e) if e.is_missing_permissions() => {
            tracing::warn!(error = %e, channel_id = %channel, "reply refused; sending it without the reference");
            poster.create_message(channel, &body).await
        }
        sent => sent,
    }
}

/// Answer a refused `!summary` in its channel: as a reply when the bot's permissions there
/// (`bot_perms`) allow one, else as a plain message. Without permission to send at all, nothing
/// can be shown: the log says which permission is missing.
pub(super) async fn refuse_prefix(
    poster: &Poster,
    place: (ChannelId, PlaceKind),
    reply_to: u64,
    text: &str,
    bot_perms: u64,
) {
    let (channel, kind) = place;
    if let Some(missing) = permissions::missing_to_send(bot_perms, kind.is_thread()) {
        tracing::warn!(channel_id = %channel, command = "summary", missing,
            "cannot answer !summary: the bot lacks a permission in the channel");
        return;
    }
    let reply = permissions::may_reply(bot_perms).then_some(reply_to);
    if let Err(e) = send_reply(poster, channel, reply, json!({"content": text})).await {
        tracing::error!(error = %e, command = "summary", "could not send a refusal");
    }
}

/// Make sure the store holds `channel`'s messages in `window` (the summary service fetches what
/// it does not cover), then flush pending live writes so a read sees them.
pub(super) async fn ensure_stored(
    shared: &Shared,
    guild: GuildId,
    channel: ChannelId,
    window: TimeWindow,
) {
    let info = shared.channel_info(guild, channel);
    shared.service.complete(&info, window).await;
    shared.ingest.flush().await;
}

/// The window to summarize, and where a catch-up starts: the last `hours`, or the catch-up
/// window.
async fn window_of(
    shared: &Shared,
    inv: &Invocation,
    now: Timestamp,
) -> Result<(TimeWindow, Option<catchup::Since>), String> {
    if inv.catchup {
        let since = catchup::resolve(shared, inv.guild, inv.target, UserId(inv.user), now)
            .await
            .map_err(|e| failure(inv, &e))?;
        return Ok((since.window(now), Some(since)));
    }
    let window = TimeWindow::last_hours(now, inv.hours);
    if inv.place.kind != PlaceKind::Forum {
        ensure_stored(shared, inv.guild, inv.target, window).await;
    }
    Ok((window, None))
}

/// The messages to summarize in `window` (the target's; with threads:true or for a forum, its
/// active threads' too, each backfilled when needed), the target's active threads, and how many
/// older messages were not read (over `summary.max_window_messages` per channel or thread).
async fn read_input(
    shared: &Shared,
    inv: &Invocation,
    window: TimeWindow,
) -> Result<(Vec<ChatMessage>, Vec<ActiveThread>, usize), String> {
    let reads_threads = inv.place.reads_threads(inv.threads);
    let place = if reads_threads {
        archived::with_archived(shared, inv, window).await
    } else {
        inv.place.clone()
    };
    if reads_threads {
        let mut newest: Vec<ChannelId> = place.threads.iter().map(|t| t.id).collect();
        newest.sort_unstable_by_key(|t| std::cmp::Reverse(t.0));
        for thread in newest.into_iter().take(threads::MAX_THREADS) {
            ensure_stored(shared, inv.guild, thread, window).await;
        }
    }
    let store = &shared.store;
    let fail = |e: StoreError| failure(inv, &e);
    let active = threads::active(store, &place, window).map_err(fail)?;
    let cap = shared.service.config().summary.max_window_messages;
    let own = if inv.place.kind == PlaceKind::Forum {
        Newest::default() // a forum holds no messages of its own, only posts
    } else {
        store
            .newest_messages_in(inv.target, window, cap)
            .map_err(fail)?
    };
    if reads_threads {
        threads::with_thread_messages(store, own.messages, &active, window, cap)
            .map(|(all, left_out)| (all, active, own.left_out + left_out))
            .map_err(fail)
    } else {
        Ok((own.messages, active, own.left_out))
    }
}

/// Read (backfilling when needed) and summarize; the error is the text shown to the user.
async fn summarize(
    shared: &Shared,
    inv: &Invocation,
    progress: &watch::Sender<Option<(usize, Progress)>>,
) -> Result<Served, String> {
    archived::check_private_thread(shared, inv).await?;
    let now = Timestamp::now();
    let (window, since) = window_of(shared, inv, now).await?;
    let (messages, active, left_out) = read_input(shared, inv, window).await?;
    let foreign = threads::foreign_ids(&messages, inv.target);
    let count = messages.len();
    let channel = shared.channel_info(inv.guild, inv.target);
    let settings = shared
        .service
        .admit(&channel)
        .map_err(|why| why.user_message(inv.target))?;
    let prepared = Prepared {
        kind: shared.service.kind(&settings, &channel),
        language: shared.service.language(&settings, None),
        channel,
        settings,
        window,
        messages,
        left_out,
        provider: None,
        detail: inv.detail,
        topic: inv.topic.clone(),
        use_cache: true,
        completeness: Completeness::Complete,
    };
    let report = |p: Progress| {
        progress.send_replace(Some((count, p)));
    };
    let mut summary = match shared.service.finish(prepared, &report).await {
        Ok(served) => served.summary,
        Err(SummaryError::Barred(why)) => return Err(why.user_message(inv.target)),
        Err(SummaryError::Engine(EngineError::OffTopic(topic))) => {
            return Err(format!(
                "Nothing in this window of <#{}> is about “{}”: try other words or a longer \
                 window.",
                inv.target,
                render::escape(&topic)
            ))
        }
        Err(e) => return Err(failure(inv, &e)),
    };
    threads::drop_citations(&mut summary.sections, &foreign);
    let lang = Lang::for_output(summary.language.as_deref());
    summary
        .sections
        .extend(threads::section(inv.guild, &active, lang));
    let note = since.map(|s| s.note(now, lang.strings()));
    tracing::info!(guild_id = %inv.guild, channel_id = %inv.target, user_id = inv.user,
        command = inv.command(), messages = count, threads = active.len(), cached = summary.cached,
        provider = %summary.provider, "summary served");
    Ok(Served { summary, note })
}

fn failure(inv: &Invocation, e: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %e, guild_id = %inv.guild, channel_id = %inv.target, user_id = inv.user, "summary failed");
    "Sorry, the summary could not be made right now. Please try again later.".to_owned()
}

/// The progress line shown while a long window is summarized in parts.
pub fn progress_text(messages: usize, p: Progress) -> String {
    format!(
        "Reading {} messages… part {} of {}",
        crate::text::thousands(messages as u64),
        p.done.min(p.total),
        p.total
    )
}

/// Edit the deferred reply with progress, at most every [`PROGRESS_EVERY`], until the sender
/// is dropped; when the interaction token is about to expire first, say instead where the
/// summary will go ([`interaction::late_notice`]) and stop editing.
async fn progress_edits(
    poster: Poster,
    reply: Reply,
    private: bool,
    rx: watch::Receiver<Option<(usize, Progress)>>,
) {
    tokio::select! {
        () = throttled_progress(&poster, &reply, rx) => {}
        () = tokio::time::sleep_until(reply.deadline()) => {
            tracing::info!(user_id = reply.user, "the interaction token is about to expire; no more edits");
            let body = json!({"content": interaction::late_notice(&reply, private)});
            if let Err(e) = poster.edit_original(reply.app_id, &reply.token, &body).await {
                tracing::warn!(error = %e, "could not say where the summary will go");
            }
        }
    }
}

/// The progress edits of [`progress_edits`].
async fn throttled_progress(
    poster: &Poster,
    reply: &Reply,
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
        if let Err(e) = poster
            .edit_original(reply.app_id, &reply.token, &body)
            .await
        {
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
        assert_eq!(parse_hours_or(None, 6), Ok(6), "the server's window");
        assert_eq!(parse_hours_or(Some(" "), 6), Ok(6));
        assert_eq!(parse_hours_or(Some("3"), 6), Ok(3));
        for bad in ["0", "169", "-3", "six"] {
            let err = parse_hours(Some(bad)).expect_err(bad);
            assert!(err.message(ChannelId(1)).contains("1 to 168"), "{err:?}");
        }
    }

    #[test]
    fn prefix_arguments_take_hours_and_a_detail_level_in_any_order() {
        assert_eq!(parse_prefix_args("", 6), Ok((6, Detail::Standard)));
        assert_eq!(parse_prefix_args(" 24h brief", 6), Ok((24, Detail::Brief)));
        assert_eq!(parse_prefix_args("FULL 3", 6), Ok((3, Detail::Full)));
        assert_eq!(parse_prefix_args("brief", 6), Ok((6, Detail::Brief)));
        assert_eq!(parse_prefix_args("12", 6), Ok((12, Detail::Standard)));
        let text = |args: &str| {
            parse_prefix_args(args, 6)
                .expect_err(args)
                .message(ChannelId(1))
        };
        let tiny = text("24h tiny");
        assert!(tiny.contains("`tiny` is neither"), "{tiny}");
        assert!(tiny.contains("brief, standard or full"), "{tiny}");
        assert!(tiny.contains("!summary 24h brief"), "{tiny}");
        assert!(text("200h").contains("1 to 168"));
        assert!(text("brief full").contains("one detail level"));
        assert!(text("2 3").contains("one number of hours"));
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
        assert_eq!(
            Refusal::PrivateThreadFromOutside.message(ChannelId(7)),
            "<#7> is a private thread: run the command inside it to summarize it."
        );
    }

    #[test]
    fn progress_line_groups_thousands() {
        let p = Progress { done: 3, total: 7 };
        assert_eq!(
            progress_text(4812, p),
            "Reading 4,812 messages… part 3 of 7"
        );
    }

    #[test]
    fn definitions_have_summarize_with_its_options_and_catchup() {
        let defs = definitions();
        let names: Vec<&str> = defs[0]["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["hours", "channel", "private", "threads", "detail", "topic"]
        );
        let detail = &defs[0]["options"][4];
        assert_eq!(detail["choices"][0]["value"], "brief");
        assert_eq!(detail["choices"][2]["value"], "full");
        assert_eq!(
            defs[1]["options"][1]["name"], "detail",
            "/catchup has it too"
        );
        assert_eq!(defs[1]["name"], "catchup");
    }
}
