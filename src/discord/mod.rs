//! The Discord bot: serenity gateway client, batched ingest, `/summarize` and `!summary`,
//! permission checks, safe posting. [`start`] connects; [`Bot::shutdown`] stops taking
//! commands, lets in-flight summaries finish within a deadline, closes the shards and flushes
//! the ingest queue.

pub mod access;
mod admin_cmd;
pub mod archived;
pub mod backfill;
pub mod catchup;
mod catchup_server;
mod client;
pub mod commands;
pub mod convert;
pub mod cooldown;
mod digest_cmd;
pub mod feedback;
mod gap;
mod history;
pub mod ingest;
pub mod interaction;
pub mod names;
pub mod permissions;
pub mod post;
mod privacy_cmd;
mod publisher;
mod ratelimit;
mod schedule_cmd;
pub mod threads;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serenity::gateway::ShardManager;
use serenity::prelude::GatewayIntents;
use tokio::sync::Notify;

use crate::channel_summary::{Barred, ChannelSummaries};
use crate::config::Config;
use crate::model::{ChannelId, ChannelInfo, GuildId, Timestamp};
use crate::runtime::Runtime;
use crate::store::Store;

pub use post::{PostError, Poster};
pub use publisher::DiscordPublisher;

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// The REST client could not be set up.
    #[error(transparent)]
    Post(#[from] PostError),
    /// Discord refused the token.
    #[error("Discord rejected the bot token ({0}): check DISCORD_TOKEN (Developer Portal → Bot → Reset Token)")]
    Unauthorized(u16),
    /// serenity refused to build the client.
    #[error("cannot set up the Discord client: {0}")]
    Client(#[from] serenity::Error),
}

/// A REST poster for `config` (for webhook jobs and digests that post without a gateway).
pub fn poster(config: &Config) -> Result<Poster, PostError> {
    Poster::new(&config.discord.api_base_url, config.discord.token.clone())
}

/// State shared by event handlers and commands.
struct Shared {
    config: Config,
    store: Arc<Store>,
    /// The one summary path: admission, complete windows, kind, language, engine.
    service: Arc<ChannelSummaries>,
    /// Every server's settings (the service's).
    settings: Arc<crate::settings::Registry>,
    poster: Poster,
    ingest: ingest::Ingest,
    cooldown: cooldown::Cooldown,
    guilds: HashSet<GuildId>,
    /// False once shutdown began: new commands are ignored.
    accepting: AtomicBool,
    inflight: InFlight,
    app_id: AtomicU64,
    /// Live state reported to /health and the status page.
    runtime: Arc<Runtime>,
    /// serenity's cache, once connected (the gap fill and checkpoints read its channels, the
    /// member names its members).
    cache: Arc<std::sync::OnceLock<Arc<serenity::cache::Cache>>>,
    /// Authors' server nicknames for messages that come without them (REST history).
    names: Arc<names::MemberNames>,
    /// When each shard last delivered an event (what a lost shard vouches for).
    shard_clock: gap::ShardClock,
    /// How long interaction tokens live ([`interaction::token_lifetime`]).
    token_lifetime: Duration,
    /// Summaries lost because they outlived their token and the invoker's DMs are closed.
    undelivered: interaction::Undelivered,
}

impl Shared {
    /// True when events from `guild` are handled (`discord.guild_ids`, empty = all).
    fn serves(&self, guild: Option<GuildId>) -> bool {
        guild.is_some_and(|g| self.guilds.is_empty() || self.guilds.contains(&g))
    }

    /// Forget what backfills covered: stored messages of a channel and its threads were deleted
    /// (an opt-out) or are missing (an opt-in). Costs at most some extra REST reads later.
    fn forget_coverage(&self) {
        if let Err(e) = self.service.coverage().forget() {
            tracing::warn!(error = %e, "cannot forget the recorded coverage");
        }
    }

    /// The server's settings in force (its own, else the config file's).
    fn effective(&self, guild: GuildId) -> crate::settings::Effective {
        self.settings.get(guild).effective(&self.config)
    }

    /// The summary service's admission for `channel` of `guild` (a stored thread with its
    /// channel).
    fn admit(&self, guild: GuildId, channel: ChannelId) -> Result<(), Barred> {
        self.service
            .admit(&self.channel_info(guild, channel))
            .map(|_| ())
    }

    /// The role whose members may manage schedules in `guild` beside members with Manage
    /// Server: the server's `/summarybot settings schedule_role`, else `scheduler.manager_role`.
    fn schedule_manager_role(&self, guild: GuildId) -> Option<u64> {
        self.effective(guild).schedule_manager_role
    }

    /// What the store knows about a channel, or a placeholder named by its id.
    fn channel_info(&self, guild: GuildId, id: ChannelId) -> ChannelInfo {
        self.store
            .channel(id)
            .ok()
            .flatten()
            .unwrap_or_else(|| ChannelInfo::unknown(id, Some(guild)))
    }
}

/// Counts running commands so shutdown can wait for them.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Decrements [`InFlight`] when a command ends, however it ends.
struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    fn enter(&self) -> InFlightGuard<'_> {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self)
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The running bot.
pub struct Bot {
    shared: Arc<Shared>,
    shard_manager: Arc<ShardManager>,
    client: tokio::task::JoinHandle<()>,
    writer: ingest::Writer,
    /// Receives why the connection ended when it ended without [`Bot::shutdown`].
    stopped: tokio::sync::oneshot::Receiver<String>,
}

/// Permissions the bot asks for when invited: View Channels, Send Messages, Send Messages in
/// Threads, Embed Links, Read Message History, Use Application Commands.
pub const INVITE_PERMISSIONS: u64 = permissions::VIEW_CHANNEL
    | permissions::SEND_MESSAGES
    | permissions::SEND_MESSAGES_IN_THREADS
    | permissions::EMBED_LINKS
    | permissions::READ_MESSAGE_HISTORY
    | (1 << 31);

/// The OAuth2 URL that adds the bot (with its slash commands) to a server.
pub fn invite_url(app_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={app_id}\
         &scope=bot%20applications.commands&permissions={INVITE_PERMISSIONS}"
    )
}

/// The gateway events the bot needs: guilds and channels, messages, and message content.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// Where serenity should send requests for `api_base_url`: None for Discord itself, else the
/// base without its `/api` suffix (serenity appends `/api/v10/...` to a proxy).
pub fn proxy_for(api_base_url: &str) -> Option<String> {
    let base = api_base_url.trim_end_matches('/');
    if base == post::DEFAULT_API_BASE {
        return None;
    }
    Some(base.strip_suffix("/api").unwrap_or(base).to_owned())
}

/// Connect to Discord (or `discord.api_base_url`) and start ingesting and answering commands.
/// The summary service completes windows through this connection's REST history from now on.
pub async fn start(
    config: &Config,
    service: Arc<ChannelSummaries>,
    runtime: Arc<Runtime>,
) -> Result<Bot, DiscordError> {
    runtime.update_discord(|d| d.enabled = true);
    let poster = poster(config)?;
    check_token(&poster).await?;
    let store = Arc::clone(service.store());
    // Events the writer had to drop were never stored: the live session vouches only for what
    // arrives after the last one (windows before it are fetched from Discord again).
    let coverage = Arc::clone(&service);
    let on_loss = Box::new(move || coverage.coverage().events_dropped(Timestamp::now()));
    let (ingest, writer) = ingest::start(Arc::clone(&store), on_loss);
    let cache = Arc::new(std::sync::OnceLock::new());
    let names = Arc::new(names::MemberNames::new(poster.clone(), Arc::clone(&cache)));
    service.attach_history(Arc::new(history::RestHistory::new(
        poster.clone(),
        ingest.clone(),
        Arc::clone(&store),
        Arc::clone(&names),
    )));
    let shared = Arc::new(Shared {
        config: config.clone(),
        store,
        settings: Arc::clone(service.settings()),
        service,
        poster,
        ingest,
        cooldown: cooldown::Cooldown::new(config.discord.cooldown, crate::settings::MAX_COOLDOWN),
        guilds: config.discord.guild_ids.iter().copied().collect(),
        accepting: AtomicBool::new(true),
        inflight: InFlight::default(),
        app_id: AtomicU64::new(0),
        runtime,
        cache,
        names,
        shard_clock: gap::ShardClock::default(),
        token_lifetime: interaction::token_lifetime(
            std::env::var(interaction::LIFETIME_ENV).ok().as_deref(),
        ),
        undelivered: interaction::Undelivered::default(),
    });
    tokio::spawn(gap::checkpoints(Arc::clone(&shared)));
    let mut client = client::build(config, Arc::clone(&shared)).await?;
    let shard_manager = Arc::clone(&client.shard_manager);
    tokio::spawn(gap::watch_shards(
        Arc::clone(&shared),
        Arc::clone(&shard_manager),
    ));
    let shards = config.discord.shards;
    let (stopped_tx, stopped) = tokio::sync::oneshot::channel();
    let watched = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let result = match shards {
            // serenity 0.12 reads the range's end as inclusive ("up to and including").
            Some(s) => client.start_shard_range(s.first..s.last, s.total).await,
            None => client.start().await,
        };
        if watched.accepting.load(Ordering::SeqCst) {
            let why = result
                .err()
                .map_or_else(|| "the gateway closed".to_owned(), |e| e.to_string());
            let _ = stopped_tx.send(format!(
                "{why} (check DISCORD_TOKEN, discord.api_base_url, and that the Message Content \
                 intent is enabled for the bot in the Discord Developer Portal)"
            ));
        }
    });
    Ok(Bot {
        shared,
        shard_manager,
        client: task,
        writer,
        stopped,
    })
}

/// Fail fast on a wrong token (serenity would retry forever); other failures (Discord not
/// reachable yet) are left to the gateway's own reconnects.
async fn check_token(poster: &Poster) -> Result<(), DiscordError> {
    match poster.current_user().await {
        Err(PostError::Status {
            status: status @ (401 | 403),
            ..
        }) => Err(DiscordError::Unauthorized(status)),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the bot token; connecting anyway");
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

/// Resolves with the reason when `bot`'s connection ended on its own (a rejected token, a
/// disallowed intent...); never resolves for `None` or while connected.
pub async fn stopped(bot: Option<&mut Bot>) -> String {
    let Some(bot) = bot else {
        return std::future::pending().await;
    };
    match (&mut bot.stopped).await {
        Ok(reason) => reason,
        Err(_) => std::future::pending().await,
    }
}

impl Bot {
    /// The bot's REST client: its clones share one rate-limit state, so every caller (the job
    /// workers' digests too) keeps within the same limits.
    pub fn poster(&self) -> Poster {
        self.shared.poster.clone()
    }

    /// Stop taking commands, let in-flight ones finish within `deadline`, close the shards and
    /// flush every pending ingest write.
    pub async fn shutdown(self, deadline: Duration) {
        self.shared.accepting.store(false, Ordering::SeqCst);
        tracing::info!("no longer taking commands (they are told to try again in a minute)");
        if tokio::time::timeout(deadline, self.shared.inflight.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(
                ?deadline,
                "in-flight summaries did not finish before the deadline"
            );
        }
        self.shard_manager.shutdown_all().await;
        if tokio::time::timeout(Duration::from_secs(5), self.client)
            .await
            .is_err()
        {
            tracing::warn!("the Discord client did not stop within 5 s");
        }
        self.writer.close().await;
        // Everything the session received is stored now: record what it covered.
        gap::checkpoint(&self.shared);
        tracing::info!("Discord bot stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_url_asks_for_exactly_the_needed_permissions() {
        assert_eq!(INVITE_PERMISSIONS, 277_025_475_584);
        assert_eq!(
            invite_url(42),
            "https://discord.com/oauth2/authorize?client_id=42\
             &scope=bot%20applications.commands&permissions=277025475584"
        );
    }

    #[test]
    fn proxy_strips_api_and_leaves_discord_alone() {
        assert_eq!(proxy_for("https://discord.com/api"), None);
        assert_eq!(proxy_for("https://discord.com/api/"), None);
        assert_eq!(
            proxy_for("http://127.0.0.1:4000/api"),
            Some("http://127.0.0.1:4000".to_owned())
        );
        assert_eq!(
            proxy_for("http://proxy.local:8080"),
            Some("http://proxy.local:8080".to_owned())
        );
    }
}
