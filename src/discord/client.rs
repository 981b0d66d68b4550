//! The serenity adapter: builds the client (proxy, small cache, intents) and turns gateway
//! events into ingest operations and command runs. No summarizing logic lives here.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serenity::all::{
    ChannelId as SChannelId, ChannelType, CommandDataOptionValue, CommandInteraction, Context,
    EventHandler, GuildChannel, GuildId as SGuildId, Interaction, Message, MessageId as SMessageId,
    MessageUpdateEvent, PermissionOverwriteType, Ready, ResumedEvent, RoleId,
};
use serenity::async_trait;
use serenity::cache::Cache;
use serenity::gateway::{ConnectionStage, ShardStageUpdateEvent};
use serenity::http::HttpBuilder;
use serenity::model::guild::Guild;
use serenity::Client;

use super::commands::{self, Invocation, Refusal};
use super::ingest::Op;
use super::interaction::{answer_now, Reply, RESTARTING};
use super::permissions::{self, MemberContext, Overwrite, Target};
use super::threads::{Place, PlaceKind, ThreadRef};
use super::{convert, Shared};
use crate::channel_summary::Barred;
use crate::config::Config;
use crate::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, Detail, GuildId, MessageId, MessageKind,
    Timestamp, UserId,
};
use crate::summarize::focus::Topic;

/// Build the serenity client: REST through `discord.api_base_url`, no message cache.
pub(super) async fn build(config: &Config, shared: Arc<Shared>) -> Result<Client, serenity::Error> {
    let mut http = HttpBuilder::new(config.discord.token.expose());
    if let Some(proxy) = super::proxy_for(&config.discord.api_base_url) {
        // serenity ignores a proxy while its ratelimiter is on. serenity's HTTP client makes only
        // the gateway look-ups (`GET /gateway`, `/gateway/bot`); every other REST call is the
        // Poster's, which keeps Discord's rate limits itself (`ratelimit.rs`).
        http = http.proxy(proxy).ratelimiter_disabled(true);
    }
    serenity::client::ClientBuilder::new_with_http(http.build(), super::intents())
        .cache_settings(cache_settings())
        .event_handler(Handler { shared })
        .await
}

/// What serenity caches: the guilds alone (their channels, threads, roles, members and owner are
/// what admission, places and permission checks read, see [`member_permissions`]). No messages
/// (they go to the store), no users, and no channel-to-guild index (every lookup starts from
/// the guild: `Cache::guild`, never `Cache::channel`).
fn cache_settings() -> serenity::cache::Settings {
    let mut cache = serenity::cache::Settings::default();
    cache.max_messages = 0;
    cache.cache_users = false;
    cache.cache_channels = false;
    cache.cache_guilds = true;
    cache
}

struct Handler {
    shared: Arc<Shared>,
}

fn gid(g: SGuildId) -> GuildId {
    GuildId(g.get())
}

fn cid(c: SChannelId) -> ChannelId {
    ChannelId(c.get())
}

impl Handler {
    async fn push(&self, ctx: &Context, op: Op) {
        self.seen(ctx);
        if !self.shared.ingest.push(op).await {
            tracing::warn!("ingest is closed; event dropped");
        }
    }

    /// Note that the gateway, and `ctx`'s shard, is alive (for /health, the status page and
    /// what a lost shard vouches for).
    fn seen(&self, ctx: &Context) {
        let now = Timestamp::now();
        self.shared.shard_clock.seen(ctx.shard_id.0, now);
        self.shared
            .runtime
            .update_discord(|d| d.last_event = Some(now));
    }

    fn stores(&self, cache: &Cache, guild: Option<SGuildId>, channel: ChannelId) -> bool {
        self.shared.serves(guild.map(gid)) && admission(&self.shared, cache, guild, channel).is_ok()
    }

    async fn channel_seen(&self, ctx: &Context, c: &GuildChannel, guild_name: Option<&str>) {
        let info = convert::channel(c, guild_name);
        if self.shared.serves(Some(gid(c.guild_id))) && self.shared.service.may_store(&info) {
            self.push(ctx, Op::Channel(info)).await;
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let app_id = ready.application.id.get();
        self.shared.app_id.store(app_id, Ordering::SeqCst);
        let shards = ready.shard.map_or(1, |s| s.total);
        self.shared.runtime.update_discord(|d| {
            d.connected = true;
            d.shards = shards;
            d.last_event = Some(Timestamp::now());
        });
        self.shared
            .shard_clock
            .seen(ctx.shard_id.0, Timestamp::now());
        tracing::info!(
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            invite = %super::invite_url(app_id),
            "connected to Discord"
        );
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move { register(&shared, app_id).await });
        // A READY is a new session (a resumed one gets RESUMED): fill what was missed.
        let guilds = ready.guilds.iter().map(|g| g.id).collect();
        super::gap::session_started(&self.shared, &ctx.cache, guilds);
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        if !self.shared.serves(Some(gid(guild.id))) {
            return;
        }
        let guilds = if self.shared.guilds.is_empty() {
            ctx.cache.guild_count()
        } else {
            ctx.cache
                .guilds()
                .into_iter()
                .filter(|g| self.shared.guilds.contains(&gid(*g)))
                .count()
        };
        self.shared.runtime.update_discord(|d| d.guilds = guilds);
        for c in guild.channels.values().chain(guild.threads.iter()) {
            self.channel_seen(&ctx, c, Some(&guild.name)).await;
        }
    }

    async fn channel_create(&self, ctx: Context, channel: GuildChannel) {
        self.channel_seen(&ctx, &channel, None).await;
    }

    async fn channel_update(&self, ctx: Context, _old: Option<GuildChannel>, new: GuildChannel) {
        self.channel_seen(&ctx, &new, None).await;
    }

    async fn thread_create(&self, ctx: Context, thread: GuildChannel) {
        self.channel_seen(&ctx, &thread, None).await;
    }

    async fn thread_update(&self, ctx: Context, _old: Option<GuildChannel>, new: GuildChannel) {
        // A renamed thread or forum post keeps its summaries' titles current.
        self.channel_seen(&ctx, &new, None).await;
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let channel = cid(msg.channel_id);
        if !self.shared.serves(msg.guild_id.map(gid)) {
            return;
        }
        let verdict = admission(&self.shared, &ctx.cache, msg.guild_id, channel);
        let stores = verdict.is_ok();
        // A channel the server opted out (or whose settings are unreadable) is not stored, but
        // `!summary` there is told why it is refused; the operator's exclusions stay silent.
        if matches!(verdict, Err(Barred::Excluded { .. })) {
            return;
        }
        if let (Some(guild), Some(member)) = (msg.guild_id, &msg.member) {
            let user = UserId(msg.author.id.get());
            self.shared
                .names
                .remember(gid(guild), user, member.nick.clone());
        }
        if let Some(chat) = convert::message(&msg).filter(|_| stores) {
            self.push(&ctx, Op::Upsert(chat)).await;
        }
        if !msg.author.bot {
            if let Some(args) =
                prefix_args(&self.shared.config.discord.command_prefix, &msg.content)
            {
                prefix_command(&self.shared, &ctx.cache, &msg, args);
            }
        }
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        if !self.stores(&ctx.cache, event.guild_id, cid(event.channel_id)) {
            return;
        }
        let Some(content) = event.content.clone() else {
            return; // an embed-only update: nothing the store keeps changed
        };
        // Discord also sends the whole message when it adds link previews (no
        // `edited_timestamp`, same content): the store applies only a changed text or edit time.
        let edited_at = event.edited_timestamp.as_ref().and_then(convert::timestamp);
        let full = full_message(&event, &content, edited_at).map(Box::new);
        self.push(
            &ctx,
            Op::Edit {
                channel: cid(event.channel_id),
                id: MessageId(event.id.get()),
                content,
                edited_at,
                full,
            },
        )
        .await;
    }

    async fn message_delete(
        &self,
        ctx: Context,
        channel: SChannelId,
        id: SMessageId,
        guild: Option<SGuildId>,
    ) {
        if self.stores(&ctx.cache, guild, cid(channel)) {
            let ids = vec![MessageId(id.get())];
            self.push(
                &ctx,
                Op::Delete {
                    channel: cid(channel),
                    ids,
                },
            )
            .await;
        }
    }

    async fn message_delete_bulk(
        &self,
        ctx: Context,
        channel: SChannelId,
        ids: Vec<SMessageId>,
        guild: Option<SGuildId>,
    ) {
        if self.stores(&ctx.cache, guild, cid(channel)) {
            let ids = ids.into_iter().map(|i| MessageId(i.get())).collect();
            self.push(
                &ctx,
                Op::Delete {
                    channel: cid(channel),
                    ids,
                },
            )
            .await;
        }
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let connected = event.new == ConnectionStage::Connected;
        self.shared
            .runtime
            .update_discord(|d| d.connected = connected);
    }

    async fn resume(&self, ctx: Context, _event: ResumedEvent) {
        self.seen(&ctx);
        super::gap::session_resumed(&self.shared);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        self.seen(&ctx);
        let cmd = match interaction {
            Interaction::Command(cmd) => cmd,
            Interaction::Component(click) => return super::feedback::clicked(&self.shared, click),
            _ => return,
        };
        if !self.shared.serves(cmd.guild_id.map(gid)) {
            return; // other guilds are ignored
        }
        if !self.shared.accepting.load(Ordering::SeqCst) {
            answer_restarting(&self.shared, &cmd);
            return;
        }
        super::digest_cmd::remind_if_paused(&self.shared, &cmd);
        match cmd.data.name.as_str() {
            "summarize" => slash_command(&self.shared, &ctx.cache, &cmd, false),
            "catchup" if super::catchup_server::is_server_wide(&cmd) => {
                super::catchup_server::start(&self.shared, &ctx.cache, &cmd);
            }
            "catchup" => slash_command(&self.shared, &ctx.cache, &cmd, true),
            "schedule" => super::schedule_cmd::start(&self.shared, &cmd),
            "summarybot" => super::admin_cmd::handle(&self.shared, &cmd),
            "digest" => super::digest_cmd::handle(&self.shared, &cmd),
            _ => {} // unknown commands are ignored
        }
    }
}

/// The summary service's admission for `channel`, a thread with the channel it belongs to. It
/// runs for every gateway event: the thread's channel comes from serenity's cache, and only a
/// channel the cache does not know is looked up in the store.
pub(super) fn admission(
    shared: &Shared,
    cache: &Cache,
    guild: Option<SGuildId>,
    channel: ChannelId,
) -> Result<(), Barred> {
    let Some(guild) = guild else {
        return shared
            .service
            .admit(&ChannelInfo::unknown(channel, None))
            .map(|_| ());
    };
    let info = cached_info(cache, guild, channel)
        .unwrap_or_else(|| shared.channel_info(gid(guild), channel));
    shared.service.admit(&info).map(|_| ())
}

/// What admission needs of `channel` (its server, and its parent for a thread) from the cache;
/// `None` when the cache does not know it.
fn cached_info(cache: &Cache, guild: SGuildId, channel: ChannelId) -> Option<ChannelInfo> {
    let g = cache.guild(guild)?;
    let id = SChannelId::new(channel.0);
    let parent_id = if g.channels.contains_key(&id) {
        None
    } else {
        g.threads.iter().find(|t| t.id == id)?.parent_id.map(cid)
    };
    Some(ChannelInfo {
        parent_id,
        ..ChannelInfo::unknown(channel, Some(gid(guild)))
    })
}

/// The channel a (cached) thread belongs to; `None` for channels and unknown threads.
fn thread_parent(cache: &Cache, guild: SGuildId, thread: ChannelId) -> Option<ChannelId> {
    let g = cache.guild(guild)?;
    let id = SChannelId::new(thread.0);
    g.threads
        .iter()
        .find(|t| t.id == id)
        .and_then(|t| t.parent_id)
        .map(cid)
}

/// The arguments after `{prefix}summary`, if `content` is that command.
fn prefix_args<'a>(prefix: &str, content: &'a str) -> Option<&'a str> {
    let rest = content
        .trim_start()
        .strip_prefix(prefix)?
        .strip_prefix("summary")?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// The whole message from an update event that carries it (Discord sends full objects).
fn full_message(
    e: &MessageUpdateEvent,
    content: &str,
    edited_at: Option<Timestamp>,
) -> Option<ChatMessage> {
    let author = e.author.as_ref()?;
    Some(ChatMessage {
        id: MessageId(e.id.get()),
        channel_id: cid(e.channel_id),
        guild_id: e.guild_id.map(gid),
        author: Author {
            id: UserId(author.id.get()),
            name: author.name.clone(),
            display_name: super::names::display_name(
                e.member.as_ref().and_then(|m| m.as_ref()?.nick.as_deref()),
                author.global_name.as_deref(),
            ),
            is_bot: author.bot,
        },
        timestamp: e.timestamp.as_ref().and_then(convert::timestamp)?,
        edited_at,
        kind: MessageKind::Default,
        content: content.to_owned(),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 0,
        pinned: e.pinned.unwrap_or(false),
    })
}

/// Start `/summarize` (or `/catchup`, private by default): checks run at once (no I/O), then
/// the summary runs in its own task.
fn slash_command(shared: &Arc<Shared>, cache: &Cache, cmd: &CommandInteraction, catchup: bool) {
    let Some(guild) = cmd.guild_id else { return };
    let user = cmd.user.id.get();
    let reply = reply_of(shared, cmd);
    let (id, token) = (reply.id, reply.token.clone());
    let mut inv = Invocation {
        guild: gid(guild),
        target: cid(cmd.channel_id),
        user,
        hours: shared.effective(gid(guild)).default_hours,
        private: catchup,
        catchup,
        threads: false,
        detail: Detail::default(),
        topic: None,
        place: Place::default(),
    };
    let mut refusal = None;
    for opt in &cmd.data.options {
        match (opt.name.as_str(), &opt.value) {
            ("hours", CommandDataOptionValue::Integer(h)) => match commands::check_hours(*h) {
                Ok(h) => inv.hours = h,
                Err(r) => refusal = Some(r),
            },
            ("channel", CommandDataOptionValue::Channel(c)) => inv.target = cid(*c),
            ("private", CommandDataOptionValue::Boolean(p)) => inv.private = *p,
            ("public", CommandDataOptionValue::Boolean(p)) => inv.private = !*p,
            ("threads", CommandDataOptionValue::Boolean(t)) => inv.threads = *t,
            ("detail", CommandDataOptionValue::String(d)) => match d.parse() {
                Ok(d) => inv.detail = d,
                Err(e) => refusal = Some(Refusal::Usage(format!("`detail`: {e}."))),
            },
            ("topic", CommandDataOptionValue::String(t)) => match Topic::parse(t) {
                Ok(t) => inv.topic = Some(t),
                Err(e) => refusal = Some(Refusal::Usage(format!("`topic`: {e}."))),
            },
            _ => {}
        }
    }
    inv.place = place(shared, cache, guild, inv.target);
    if inv.target == cid(cmd.channel_id) && inv.place.kind == PlaceKind::Channel {
        // A thread the cache does not know (a private one the bot is not in): Discord says.
        inv.place.kind = match cmd.channel.as_ref().map(|c| c.kind) {
            Some(ChannelType::PrivateThread) => PlaceKind::PrivateThread,
            Some(ChannelType::PublicThread | ChannelType::NewsThread) => PlaceKind::Thread,
            _ => PlaceKind::Channel,
        };
    }
    // Another channel's summary may reach people who cannot read that channel: only the invoker
    // sees it, unless it is this channel's own thread (or this thread's channel).
    let here = cid(cmd.channel_id);
    let same_audience = inv.target == here
        || thread_parent(cache, guild, inv.target) == Some(here)
        || thread_parent(cache, guild, here) == Some(inv.target);
    if !same_audience {
        inv.private = true;
    }
    if inv.place.kind == PlaceKind::PrivateThread && inv.target != cid(cmd.channel_id) {
        refusal = refusal.or(Some(Refusal::PrivateThreadFromOutside));
    }
    // The invoker's permissions in the target: Discord computed them for us.
    let invoker = if inv.target == cid(cmd.channel_id) {
        cmd.member.as_ref().and_then(|m| m.permissions)
    } else {
        cmd.data
            .resolved
            .channels
            .get(&SChannelId::new(inv.target.0))
            .and_then(|c| c.permissions)
    }
    .map_or(0, |p| p.bits());
    let bot = bot_permissions(cache, guild, inv.target).or_else(|| {
        (inv.target == cid(cmd.channel_id)).then(|| cmd.app_permissions.map_or(0, |p| p.bits()))
    });
    let verdict = if let Some(r) = refusal {
        Err(r)
    } else {
        let barred = admission(shared, cache, Some(guild), inv.target).err();
        commands::admit(shared, &inv, barred, invoker, bot.unwrap_or(0), false)
    };
    tracing::info!(guild_id = %inv.guild, channel_id = %inv.target, user_id = user,
        command = inv.command(), hours = inv.hours, admitted = verdict.is_ok(), "command received");
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        match verdict {
            Ok(()) => commands::run_slash(Arc::clone(&shared), inv, reply).await,
            Err(r) => {
                commands::refuse_slash(&shared.poster, id, &token, &r.message(inv.target)).await;
            }
        }
    });
}

/// Answer a command that arrives during shutdown at once, so Discord does not show "The
/// application did not respond" (initial responses are due within 3 seconds).
fn answer_restarting(shared: &Arc<Shared>, cmd: &CommandInteraction) {
    let shared = Arc::clone(shared);
    let (id, token) = (cmd.id.get(), cmd.token.clone());
    let command = cmd.data.name.clone();
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        answer_now(&shared.poster, id, &token, RESTARTING, &command).await;
    });
}

/// Where `cmd`'s answer goes (see [`Reply`]), received now.
fn reply_of(shared: &Shared, cmd: &CommandInteraction) -> Reply {
    let mut reply = Reply::new(
        (cmd.id.get(), cmd.application_id.get(), cmd.token.clone()),
        cid(cmd.channel_id),
        cmd.user.id.get(),
        cmd.app_permissions.map_or(0, |p| p.bits()),
        shared.token_lifetime,
    );
    reply.in_thread = cmd.channel.as_ref().is_some_and(|c| {
        matches!(
            c.kind,
            ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
        )
    });
    reply
}

/// Start `!summary [hours]` in the message's channel.
fn prefix_command(shared: &Arc<Shared>, cache: &Cache, msg: &Message, args: &str) {
    let Some(guild) = msg.guild_id else { return };
    let target = cid(msg.channel_id);
    if !shared.accepting.load(Ordering::SeqCst) {
        let shared_now = Arc::clone(shared);
        let bot = bot_permissions(cache, guild, target).unwrap_or(0);
        let place = (target, place(shared, cache, guild, target).kind);
        let reply_to = msg.id.get();
        tokio::spawn(async move {
            let _running = shared_now.inflight.enter();
            commands::refuse_prefix(&shared_now.poster, place, reply_to, RESTARTING, bot).await;
        });
        return;
    }
    let roles: Vec<RoleId> = msg
        .member
        .as_ref()
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    let invoker = member_permissions(cache, guild, target, msg.author.id.get(), Some(&roles));
    let bot = bot_permissions(cache, guild, target).unwrap_or(0);
    let default_hours = shared.effective(gid(guild)).default_hours;
    let place = place(shared, cache, guild, target);
    let kind = place.kind;
    let verdict = commands::parse_prefix_args(args, default_hours).and_then(|(hours, detail)| {
        let inv = Invocation {
            guild: gid(guild),
            target,
            user: msg.author.id.get(),
            hours,
            private: false,
            catchup: false,
            threads: false,
            detail,
            topic: None,
            place,
        };
        let barred = admission(shared, cache, Some(guild), target).err();
        commands::admit(shared, &inv, barred, invoker.unwrap_or(0), bot, true).map(|()| inv)
    });
    tracing::info!(guild_id = %guild, channel_id = %target, user_id = msg.author.id.get(),
        command = "summary", admitted = verdict.is_ok(), "command received");
    let shared = Arc::clone(shared);
    let reply_to = msg.id.get();
    tokio::spawn(async move {
        let _running = shared.inflight.enter();
        match verdict {
            Ok(inv) => commands::run_prefix(Arc::clone(&shared), inv, reply_to).await,
            Err(r) => {
                let text = r.message(target);
                let place = (target, kind);
                commands::refuse_prefix(&shared.poster, place, reply_to, &text, bot).await;
            }
        }
    });
}

/// What `target` is (channel, thread or forum) and its public threads, from the cached guild.
/// Private threads are left out (members of the parent channel may not see them), and so are
/// threads excluded by config or opted out: they are neither listed nor read.
fn place(shared: &Shared, cache: &Cache, guild: SGuildId, target: ChannelId) -> Place {
    let Some(g) = cache.guild(guild) else {
        return Place::default();
    };
    let sid = SChannelId::new(target.0);
    let thread = g.threads.iter().find(|t| t.id == sid);
    let kind = match (g.channels.get(&sid), thread) {
        (Some(c), _) if c.kind == ChannelType::Forum => PlaceKind::Forum,
        (None, Some(t)) if t.kind == ChannelType::PrivateThread => PlaceKind::PrivateThread,
        (None, Some(_)) => PlaceKind::Thread,
        _ => PlaceKind::Channel,
    };
    if thread.is_some() {
        return Place {
            kind,
            threads: Vec::new(),
        };
    }
    let threads = g
        .threads
        .iter()
        .filter(|t| t.parent_id == Some(sid))
        .filter(|t| matches!(t.kind, ChannelType::PublicThread | ChannelType::NewsThread))
        .filter(|t| {
            let mut info = convert::channel(t, None);
            info.parent_id = Some(target);
            shared.service.may_store(&info)
        })
        .map(|t| ThreadRef {
            id: cid(t.id),
            name: t.name.clone(),
        })
        .collect();
    Place { kind, threads }
}

/// The first permission the bot lacks to post a summary in `channel` (a channel or thread),
/// from the cached guild; None when it has them all, or when the cache does not know the
/// channel (then only the send itself can tell).
pub(super) fn bot_missing_to_post(
    cache: &Cache,
    guild: GuildId,
    channel: ChannelId,
) -> Option<&'static str> {
    let guild = SGuildId::new(guild.0);
    let thread = thread_parent(cache, guild, channel).is_some();
    let perms = bot_permissions(cache, guild, channel)?;
    permissions::missing_to_post(perms, thread)
}

pub(super) fn bot_permissions(cache: &Cache, guild: SGuildId, channel: ChannelId) -> Option<u64> {
    let me = cache.current_user().id.get();
    member_permissions(cache, guild, channel, me, None)
}

/// A member's permissions in a channel (a thread uses its parent's overwrites), from the cached
/// guild. `roles` overrides the cached member's roles (message events carry them).
pub(super) fn member_permissions(
    cache: &Cache,
    guild: SGuildId,
    channel: ChannelId,
    user: u64,
    roles: Option<&[RoleId]>,
) -> Option<u64> {
    let g = cache.guild(guild)?;
    let sid = SChannelId::new(channel.0);
    let chan = g
        .channels
        .get(&sid)
        .or_else(|| g.threads.iter().find(|t| t.id == sid))?;
    let chan = chan
        .parent_id
        .filter(|_| chan.thread_metadata.is_some())
        .and_then(|p| g.channels.get(&p))
        .unwrap_or(chan);
    let member_roles: Vec<RoleId> = match roles {
        Some(r) => r.to_vec(),
        None => g
            .members
            .get(&serenity::all::UserId::new(user))
            .map(|m| m.roles.clone())?,
    };
    let role_perms: Vec<(u64, u64)> = member_roles
        .iter()
        .filter_map(|r| {
            g.roles
                .get(r)
                .map(|role| (r.get(), role.permissions.bits()))
        })
        .collect();
    let overwrites: Vec<Overwrite> = chan
        .permission_overwrites
        .iter()
        .map(|o| Overwrite {
            target: match o.kind {
                PermissionOverwriteType::Member(u) => Target::Member(u.get()),
                PermissionOverwriteType::Role(r) => Target::Role(r.get()),
                _ => Target::Role(0),
            },
            allow: o.allow.bits(),
            deny: o.deny.bits(),
        })
        .collect();
    let everyone = g
        .roles
        .get(&RoleId::new(guild.get()))
        .map_or(0, |r| r.permissions.bits());
    Some(permissions::compute(&MemberContext {
        guild_id: guild.get(),
        owner_id: g.owner_id.get(),
        user_id: user,
        everyone,
        roles: &role_perms,
        overwrites: &overwrites,
    }))
}

/// Register the slash commands in each configured guild, or globally.
async fn register(shared: &Shared, app_id: u64) {
    let defs = commands::definitions();
    let targets: Vec<Option<u64>> = if shared.guilds.is_empty() {
        vec![None]
    } else {
        shared.guilds.iter().map(|g| Some(g.0)).collect()
    };
    for guild in targets {
        match shared.poster.register_commands(app_id, guild, &defs).await {
            Ok(()) => tracing::info!(guild_id = ?guild, "slash commands registered"),
            Err(e) => {
                tracing::error!(error = %e, guild_id = ?guild, "registering slash commands failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_guilds_and_nothing_the_bot_does_not_read() {
        // What the bot reads end to end is covered by tests/discord_*.rs (permission checks,
        // threads, forums); this pins down that nothing else is cached.
        let settings = cache_settings();
        assert!(
            settings.cache_guilds,
            "permission checks read cached guilds"
        );
        assert_eq!(settings.max_messages, 0);
        assert!(!settings.cache_users && !settings.cache_channels);
    }

    #[test]
    fn prefix_command_needs_the_exact_word() {
        assert_eq!(prefix_args("!", "!summary"), Some(""));
        assert_eq!(prefix_args("!", "  !summary 6"), Some(" 6"));
        assert_eq!(prefix_args("!", "!summaryx"), None);
        assert_eq!(prefix_args("!", "summary"), None);
        assert_eq!(prefix_args("?", "?summary 2"), Some(" 2"));
    }
}
