//! The Discord bot: serenity gateway client, batched ingest, `/summarize` and `!summary`,
//! permission checks, safe posting. [`start`] connects; [`Bot::shutdown`] stops taking
//! commands, lets in-flight summaries finish within a deadline, closes the shards and flushes
//! the ingest queue.

mod admin_cmd;
pub mod backfill;
pub mod catchup;
mod client;
pub mod commands;
pub mod convert;
pub mod cooldown;
pub mod ingest;
pub mod permissions;
pub mod post;
mod schedule_cmd;
pub mod threads;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serenity::gateway::ShardManager;
use serenity::prelude::GatewayIntents;
use tokio::sync::Notify;

use crate::config::Config;
use crate::model::{ChannelId, ChannelInfo, GuildId, TimeWindow, Timestamp};
use crate::runtime::Runtime;
use crate::store::Store;
use crate::summarize::engine::Engine;

pub use post::{PostError, Poster};

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// The REST client could not be set up.
    #[error(transparent)]
    Post(#[from] PostError),
    /// The summary engine could not be built.
    #[error("cannot build the summary engine: {0}")]
    Engine(String),
    /// The per-server settings could not be read.
    #[error("cannot read the per-server settings: {0}")]
    Settings(#[from] crate::store::StoreError),
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
    engine: Engine,
    poster: Poster,
    ingest: ingest::Ingest,
    cooldown: cooldown::Cooldown,
    excluded: HashSet<ChannelId>,
    guilds: HashSet<GuildId>,
    /// False once shutdown began: new commands are ignored.
    accepting: AtomicBool,
    inflight: InFlight,
    app_id: AtomicU64,
    /// Since when live events have been stored (windows starting later need no backfill).
    connected_since: Timestamp,
    /// Per channel, the earliest time backfilled in this process.
    covered_since: Mutex<HashMap<ChannelId, Timestamp>>,
    /// Live state reported to /health and the status page.
    runtime: Arc<Runtime>,
    /// Per-server settings (`/summarybot`).
    settings: crate::settings::Registry,
}

impl Shared {
    /// True when events from `guild` are handled (`discord.guild_ids`, empty = all).
    fn serves(&self, guild: Option<GuildId>) -> bool {
        guild.is_some_and(|g| self.guilds.is_empty() || self.guilds.contains(&g))
    }

    /// True when the store holds every message of `window` in `channel` (live events are
    /// stored since connecting, or since the channel — or a thread's channel — was opted back in).
    fn covers(&self, channel: ChannelId, window: TimeWindow) -> bool {
        let parent = self
            .store
            .channel(channel)
            .ok()
            .flatten()
            .and_then(|c| c.parent_id);
        let live_since = [Some(channel), parent]
            .into_iter()
            .flatten()
            .filter_map(|c| self.settings.opted_in_at(c))
            .max()
            .map_or(self.connected_since, |t| t.max(self.connected_since));
        window.start >= live_since
            || self
                .covered_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&channel)
                .is_some_and(|t| *t <= window.start)
    }

    /// Forget what backfill covered: stored messages of a channel and its threads were deleted
    /// (an opt-out) or are missing (an opt-in). Costs at most some extra REST reads later.
    fn forget_coverage(&self) {
        self.covered_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The server's settings in force (its own, else the config file's).
    fn effective(&self, guild: GuildId) -> crate::settings::Effective {
        self.settings.get(guild).effective(&self.config)
    }

    /// True when `channel`, or the channel a stored thread belongs to, is opted out.
    fn opted_out(&self, guild: GuildId, channel: ChannelId) -> bool {
        self.settings.is_opted_out(channel)
            || self
                .channel_info(guild, channel)
                .parent_id
                .is_some_and(|p| self.settings.is_opted_out(p))
    }

    /// True when nothing of `channel` may be stored or summarized: it (or, for a thread, its
    /// parent as far as the store knows it) is excluded by config or opted out by its server.
    fn blocks(&self, guild: GuildId, channel: ChannelId) -> bool {
        let barred = |c: ChannelId| self.excluded.contains(&c) || self.settings.is_opted_out(c);
        barred(channel)
            || self
                .channel_info(guild, channel)
                .parent_id
                .is_some_and(barred)
    }

    /// The role whose members may manage schedules in `guild` beside members with Manage
    /// Server: the server's `/summarybot settings schedule_role`, else `scheduler.manager_role`.
    fn schedule_manager_role(&self, guild: GuildId) -> Option<u64> {
        self.effective(guild).schedule_manager_role
    }

    fn mark_covered(&self, channel: ChannelId, since: Timestamp) {
        let mut map = self
            .covered_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(channel).or_insert(since);
        *entry = (*entry).min(since);
    }

    /// What the store knows about a channel, or a placeholder named by its id.
    fn channel_info(&self, guild: GuildId, id: ChannelId) -> ChannelInfo {
        self.store
            .channel(id)
            .ok()
            .flatten()
            .unwrap_or(ChannelInfo {
                id,
                guild_id: Some(guild),
                guild_name: None,
                name: id.to_string(),
                topic: None,
                parent_id: None,
            })
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

/// Permissions the bot asks for when invited: View Channels, Send Messages, Embed Links, Read
/// Message History, Use Application Commands.
pub const INVITE_PERMISSIONS: u64 = permissions::VIEW_CHANNEL
    | permissions::SEND_MESSAGES
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
pub async fn start(
    config: &Config,
    store: Arc<Store>,
    runtime: Arc<Runtime>,
) -> Result<Bot, DiscordError> {
    runtime.update_discord(|d| d.enabled = true);
    let engine = crate::app::build_engine(config, Some(Arc::clone(&store)), true)
        .map_err(|e| DiscordError::Engine(format!("{e:#}")))?;
    let poster = poster(config)?;
    check_token(&poster).await?;
    let (ingest, writer) = ingest::start(Arc::clone(&store));
    let settings = crate::settings::Registry::load(Arc::clone(&store))?;
    let shared = Arc::new(Shared {
        config: config.clone(),
        store,
        engine,
        poster,
        ingest,
        cooldown: cooldown::Cooldown::new(config.discord.cooldown, crate::settings::MAX_COOLDOWN),
        excluded: config.summary.exclude_channels.iter().copied().collect(),
        guilds: config.discord.guild_ids.iter().copied().collect(),
        accepting: AtomicBool::new(true),
        inflight: InFlight::default(),
        app_id: AtomicU64::new(0),
        connected_since: Timestamp::now(),
        covered_since: Mutex::new(HashMap::new()),
        runtime,
        settings,
    });
    let mut client = client::build(config, Arc::clone(&shared)).await?;
    let shard_manager = Arc::clone(&client.shard_manager);
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
    /// Stop taking commands, let in-flight ones finish within `deadline`, close the shards and
    /// flush every pending ingest write.
    pub async fn shutdown(self, deadline: Duration) {
        self.shared.accepting.store(false, Ordering::SeqCst);
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
        tracing::info!("Discord bot stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_url_asks_for_exactly_the_needed_permissions() {
        assert_eq!(INVITE_PERMISSIONS, 2_147_568_640);
        assert_eq!(
            invite_url(42),
            "https://discord.com/oauth2/authorize?client_id=42\
             &scope=bot%20applications.commands&permissions=2147568640"
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
