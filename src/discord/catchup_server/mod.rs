//! `/catchup` without a channel: what happened in the server since the member's last message
//! there, answered privately in one message. Channels they can read (View Channel and Read
//! Message History, as `/summarize` checks, and the summary service's admission) with new
//! messages are ranked by what concerns them ([`rank`]), each with a TL;DR from the one summary
//! path at `brief` detail and a jump link to its first new message ([`reply`]).
//!
//! TL;DR cost: the [`LLM_TLDRS`] highest-ranked channels use the configured summarizer (one
//! brief request each, counted against the server's daily token budget by the engine like any
//! summary, cached like any summary); the rest use the builtin, which costs no tokens.

mod rank;
mod reply;
mod words;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use serenity::all::{
    ChannelId as SChannelId, ChannelType, CommandInteraction, GuildId as SGuildId,
};
use serenity::cache::Cache;

use self::rank::{Member, Signals};
use self::reply::Entry;
use super::{catchup, cooldown, permissions, Shared};
use crate::channel_summary::{ChannelRequest, SummaryError};
use crate::config::LlmProvider;
use crate::model::{
    jump_link, ChannelId, Detail, GuildId, MessageId, TimeWindow, Timestamp, UserId,
};
use crate::store::StoreError;
use crate::summarize::lang::Lang;

/// Most channels listed; the others are counted.
pub const MAX_SHOWN: usize = 10;
/// Channels (the highest ranked) whose TL;DR comes from the configured summarizer.
pub const LLM_TLDRS: usize = 3;

/// True when `cmd` (a `/catchup`) names no channel: the server-wide catch-up.
pub(super) fn is_server_wide(cmd: &CommandInteraction) -> bool {
    !cmd.data.options.iter().any(|o| o.name == "channel")
}

/// A readable channel or thread of the server.
#[derive(Clone, Copy, Debug)]
struct Place {
    id: ChannelId,
    thread: bool,
}

/// What a server-wide catch-up needs, taken from the interaction and the cache at once.
struct Request {
    guild: GuildId,
    member: Member,
    /// Channels and threads the member may read, admitted by the summary service.
    readable: Vec<Place>,
    /// Every channel and thread of the server (where their last message is looked for).
    all: Vec<ChannelId>,
    id: u64,
    app_id: u64,
    token: String,
}

/// Start a server-wide `/catchup`: refusals (options that need a channel, the cooldown) are
/// answered at once; otherwise the readable channels are listed from the cache now and the
/// answer is made in its own task.
pub(super) fn start(shared: &Arc<Shared>, cache: &Cache, cmd: &CommandInteraction) {
    if !shared.accepting.load(Ordering::SeqCst) {
        return;
    }
    let Some(sguild) = cmd.guild_id else { return };
    let guild = GuildId(sguild.get());
    let user = cmd.user.id.get();
    let (id, app_id, token) = (cmd.id.get(), cmd.application_id.get(), cmd.token.clone());
    let refusal = refusal(shared, guild, user, cmd);
    tracing::info!(guild_id = %guild, user_id = user, command = "catchup", scope = "server",
        admitted = refusal.is_none(), "command received");
    let shared = Arc::clone(shared);
    if let Some(text) = refusal {
        tokio::spawn(async move {
            let _running = shared.inflight.enter();
            super::commands::refuse_slash(&shared.poster, id, &token, &text).await;
        });
        return;
    }
    let roles: Vec<serenity::all::RoleId> = cmd
        .member
        .as_ref()
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    let member = Member {
        user: UserId(user),
        roles: roles.iter().map(|r| r.get()).collect(),
    };
    let (readable, all) = places(&shared, cache, sguild, user, &roles);
    let req = Request {
        guild,
        member,
        readable,
        all,
        id,
        app_id,
        token,
    };
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        run(&shared, req).await;
    });
}

/// Why the request is refused, in the user's words: `public`/`detail` need a channel, or the
/// cooldown (checked last, so a refused request does not start it).
fn refusal(shared: &Shared, guild: GuildId, user: u64, cmd: &CommandInteraction) -> Option<String> {
    if cmd
        .data
        .options
        .iter()
        .any(|o| matches!(o.name.as_str(), "public" | "detail"))
    {
        return Some(
            "`public` and `detail` apply to one channel's catch-up: add `channel:` (e.g. \
             `/catchup channel:#general public:true`). Without a channel, the catch-up covers \
             the whole server, briefly, and only you see it."
                .to_owned(),
        );
    }
    let period = shared.effective(guild).cooldown;
    shared
        .cooldown
        .try_start_with(guild, user, Instant::now(), period)
        .err()
        .map(cooldown::message)
}

/// The server's text channels, announcement channels and public threads the member may read
/// (their permissions there, as `/summarize` checks them, and the summary service's
/// admission), and every channel and thread of the server. Private threads are never read:
/// their members are not known here.
fn places(
    shared: &Shared,
    cache: &Cache,
    guild: SGuildId,
    user: u64,
    roles: &[serenity::all::RoleId],
) -> (Vec<Place>, Vec<ChannelId>) {
    let listed: Vec<(SChannelId, ChannelType, bool)> = match cache.guild(guild) {
        Some(g) => g
            .channels
            .values()
            .map(|c| (c.id, c.kind, false))
            .chain(g.threads.iter().map(|t| (t.id, t.kind, true)))
            .collect(),
        None => Vec::new(),
    };
    let all = listed
        .iter()
        .map(|(id, _, _)| ChannelId(id.get()))
        .collect();
    let readable = listed
        .into_iter()
        .filter(|(_, kind, _)| {
            matches!(
                kind,
                ChannelType::Text
                    | ChannelType::News
                    | ChannelType::PublicThread
                    | ChannelType::NewsThread
            )
        })
        .map(|(id, _, thread)| Place {
            id: ChannelId(id.get()),
            thread,
        })
        .filter(|p| {
            let perms = super::client::member_permissions(cache, guild, p.id, user, Some(roles));
            perms.is_some_and(|bits| permissions::missing_to_read(bits).is_none())
                && super::client::admission(shared, cache, Some(guild), p.id).is_ok()
        })
        .collect();
    (readable, all)
}

/// Defer privately, make the answer, edit the reply.
async fn run(shared: &Shared, req: Request) {
    let defer = json!({"type": 5, "data": {"flags": super::interaction::EPHEMERAL}});
    if let Err(e) = shared
        .poster
        .interaction_callback(req.id, &req.token, &defer)
        .await
    {
        tracing::error!(error = %e, command = "catchup", "could not defer the interaction");
        return;
    }
    let body = match answer(shared, &req).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, guild_id = %req.guild, user_id = %req.member.user, command = "catchup", "catch-up failed");
            json!({"content": "Sorry, the catch-up could not be made right now. Please try again later.",
                "embeds": []})
        }
    };
    if let Err(e) = shared
        .poster
        .edit_original(req.app_id, &req.token, &body)
        .await
    {
        tracing::error!(error = %e, user_id = %req.member.user, command = "catchup", "could not send the catch-up");
    }
}

/// The reply: ranked channels with news since the member's last message in the server, or
/// "nothing new".
async fn answer(shared: &Shared, req: &Request) -> Result<Value, StoreError> {
    let now = Timestamp::now();
    shared.ingest.flush().await;
    let cap = shared.config.discord.catchup_max;
    let user = req.member.user;
    let since = catchup::since_in(&shared.store, &req.all, user, now, cap)?;
    let window = since.window(now);
    let lang = Lang::for_output(shared.effective(req.guild).language.as_deref());
    let w = words::words(lang);
    let note = since.note_from(now, w.since, w.last);
    let mut found: Vec<((ChannelId, MessageId), Signals)> = Vec::new();
    for place in &req.readable {
        // Its newest `summary.max_window_messages` at most, one channel at a time.
        let messages = shared
            .store
            .newest_messages_in(place.id, window, shared.config.summary.max_window_messages)?
            .messages;
        let Some(first) = messages.first().map(|m| m.id) else {
            continue;
        };
        let posted = place.thread
            && shared
                .store
                .last_message_by(place.id, user, Timestamp(0))?
                .is_some();
        let store = &shared.store;
        let is_theirs = |id: MessageId| {
            store
                .message(place.id, id)
                .ok()
                .flatten()
                .is_some_and(|m| m.author.id == user)
        };
        let signals = Signals::of(&messages, &req.member, is_theirs, posted);
        found.push(((place.id, first), signals));
    }
    let ranked = rank::rank(found);
    if ranked.is_empty() {
        return Ok(reply::nothing(&note, w));
    }
    let more = ranked.len().saturating_sub(MAX_SHOWN);
    let mut entries = Vec::new();
    for (i, ((channel, first), signals)) in ranked.into_iter().take(MAX_SHOWN).enumerate() {
        let Some(tldr) = tldr(shared, req.guild, channel, window, i < LLM_TLDRS).await else {
            continue; // barred meanwhile: not shown at all
        };
        entries.push(Entry {
            channel,
            signals,
            tldr,
            link: jump_link(Some(req.guild), channel, first),
        });
    }
    tracing::info!(guild_id = %req.guild, user_id = %user, command = "catchup", scope = "server",
        channels = entries.len(), more, "catch-up served");
    Ok(reply::body(&entries, more, &note, lang, w))
}

/// A channel's TL;DR from the summary service at `brief` detail (the configured summarizer when
/// `configured`, else the builtin); None when the channel may no longer be summarized, no lines
/// when the summary failed.
async fn tldr(
    shared: &Shared,
    guild: GuildId,
    channel: ChannelId,
    window: TimeWindow,
    configured: bool,
) -> Option<Vec<String>> {
    let mut req = ChannelRequest::new(shared.channel_info(guild, channel), window);
    req.detail = Detail::Brief;
    if !configured {
        req.provider = Some(LlmProvider::Builtin);
    }
    match shared.service.summarize(req, &|_| {}).await {
        Ok(served) => Some(reply::tldr(&served.summary)),
        Err(SummaryError::Barred(_)) => None,
        Err(e) => {
            tracing::warn!(error = %e, channel_id = %channel, command = "catchup", "no TL;DR for a channel");
            Some(Vec::new())
        }
    }
}
