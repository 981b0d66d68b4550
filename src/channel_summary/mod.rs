//! The one summary path every trigger uses — `/summarize`, `!summary`, `/catchup`, a webhook
//! `summary_request`, a scheduled digest and `summarybot summarize --channel`. It owns, once:
//! admission (who may be stored and summarized), a complete window (stored messages plus what
//! Discord has that the store does not cover, with coverage persisted across restarts), the gap
//! fill after downtime, the prompt kind and language, and the engines (built once, shared).
//! Triggers keep only what is theirs: parsing their input, the invoker's permissions, delivery.

pub mod admission;
pub mod coverage;
mod engines;
pub mod gap_fill;
pub mod history;

use std::sync::{Arc, OnceLock};

pub use admission::{Admission, Barred};
pub use engines::{llm_summarizer, Engines};
pub use history::{Fetched, HistorySource};

use crate::config::{Config, LlmProvider};
use crate::model::{ChannelId, ChannelInfo, ChannelKind, ChatMessage, Detail, GuildId, Summary};
use crate::model::{TimeWindow, Timestamp};
use crate::settings::{GuildSettings, Registry};
use crate::store::{Store, StoreError};
use crate::summarize::engine::{EngineError, Request};
use crate::summarize::focus::Topic;
use crate::summarize::lang::Strings;
use crate::summarize::ProgressFn;

/// Most messages fetched over REST to complete one window (100 pages of 100).
pub const MAX_WINDOW_FETCH: usize = 10_000;

/// Most times a summary is made again because members opted out while it was being made.
const MAX_REMAKES: usize = 3;

/// Why no summary was made.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The channel may not be summarized.
    #[error("{0}")]
    Barred(Barred),
    /// The requested provider cannot be used with this configuration.
    #[error("the {provider} summarizer cannot be used: {reason}")]
    Provider {
        /// The provider asked for.
        provider: &'static str,
        /// Why it could not be built.
        reason: String,
    },
    /// The database failed.
    #[error("cannot read stored messages: {0}")]
    Store(#[from] StoreError),
    /// The engine failed (and fallback is off, or the cache failed).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Members kept opting out while the summary was being made; none of the drafts was kept.
    #[error("members kept opting out of summaries while this one was being made; try again")]
    OptOutRace,
}

impl SummaryError {
    /// Trying again later may succeed (a database or LLM hiccup, settings being repaired).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Barred(b) => !b.is_decision(),
            Self::Provider { .. } | Self::Engine(EngineError::OffTopic(_)) => false,
            Self::Store(_) | Self::Engine(_) | Self::OptOutRace => true,
        }
    }
}

/// Whether the summarized window held everything Discord has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// The store covered the window, or what it lacked was fetched.
    Complete,
    /// Only stored messages: no Discord connection here (the CLI with the service stopped).
    StoredOnly,
    /// Fetching from Discord failed or was capped; stored messages were summarized.
    FetchFailed,
}

impl Completeness {
    /// A note (a sentence in `strings`' language) for an incomplete window.
    pub fn note(self, strings: &Strings) -> Option<&'static str> {
        match self {
            Self::Complete => None,
            Self::StoredOnly => Some(strings.stored_only_offline),
            Self::FetchFailed => Some(strings.stored_only_fetch_failed),
        }
    }
}

/// A channel window to summarize, as a trigger asks for it.
#[derive(Clone, Debug)]
pub struct ChannelRequest {
    /// The channel (see [`ChannelSummaries::channel`]).
    pub channel: ChannelInfo,
    /// The window.
    pub window: TimeWindow,
    /// Prompt variant forced by the trigger (a schedule's, the CLI's `--kind`).
    pub kind: Option<ChannelKind>,
    /// Output language asked for by the trigger (else the server's, else the operator's).
    pub language: Option<String>,
    /// Summarizer asked for by the trigger (else the configured one).
    pub provider: Option<LlmProvider>,
    /// How long the summary may be.
    pub detail: Detail,
    /// Keep only the messages about this topic (and their reply chains).
    pub topic: Option<Topic>,
    /// Read and write the summary cache.
    pub use_cache: bool,
}

impl ChannelRequest {
    /// A request with the defaults: the channel's kind and language, the configured provider,
    /// cached.
    pub fn new(channel: ChannelInfo, window: TimeWindow) -> Self {
        Self {
            channel,
            window,
            kind: None,
            language: None,
            provider: None,
            detail: Detail::default(),
            topic: None,
            use_cache: true,
        }
    }
}

/// An admitted request with its messages read, ready for the engine. A trigger that adds
/// messages (a channel's threads) changes `messages` before [`ChannelSummaries::finish`].
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The channel.
    pub channel: ChannelInfo,
    /// The server's settings in force.
    pub settings: Arc<GuildSettings>,
    /// The window.
    pub window: TimeWindow,
    /// Messages of the window, oldest first: its newest `summary.max_window_messages`.
    pub messages: Vec<ChatMessage>,
    /// Older messages of the window not read (over `summary.max_window_messages`).
    pub left_out: usize,
    /// Prompt variant.
    pub kind: ChannelKind,
    /// Output language.
    pub language: Option<String>,
    /// Summarizer (None: the configured one).
    pub provider: Option<LlmProvider>,
    /// How long the summary may be.
    pub detail: Detail,
    /// Keep only the messages about this topic (and their reply chains).
    pub topic: Option<Topic>,
    /// Read and write the summary cache.
    pub use_cache: bool,
    /// Whether the window held everything Discord has.
    pub completeness: Completeness,
}

impl Prepared {
    /// The engine request this prepared window makes.
    pub fn request(self) -> Request {
        Request {
            channel: self.channel,
            kind: self.kind,
            window: self.window,
            messages: self.messages,
            language: self.language,
            detail: self.detail,
            topic: self.topic,
            use_cache: self.use_cache,
            server_budget: self.settings.daily_token_budget,
        }
    }
}

/// A finished summary and how complete its window was.
#[derive(Clone, Debug)]
pub struct Served {
    /// The summary.
    pub summary: Summary,
    /// Whether the window held everything Discord has.
    pub completeness: Completeness,
}

/// The channel-summary service.
pub struct ChannelSummaries {
    config: Arc<Config>,
    store: Arc<Store>,
    admission: Admission,
    engines: Engines,
    history: OnceLock<Arc<dyn HistorySource>>,
    coverage: coverage::Coverage,
}

impl ChannelSummaries {
    /// The service over `store`: loads every server's settings and builds the configured engine
    /// (a bad LLM setting fails here, at start). `fallback`: an LLM failure falls back to the
    /// builtin summarizer.
    pub fn new(config: Config, store: Arc<Store>, fallback: bool) -> Result<Self, String> {
        let config = Arc::new(config);
        let admission = Admission::load(&config, Arc::clone(&store))
            .map_err(|e| format!("cannot read the per-server settings: {e}"))?;
        let engines = Engines::new(Arc::clone(&config), Some(Arc::clone(&store)), fallback)?;
        Ok(Self {
            coverage: coverage::Coverage::new(Arc::clone(&store)),
            admission,
            config,
            store,
            engines,
            history: OnceLock::new(),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Every server's settings (changed through it by `/summarybot`).
    pub fn settings(&self) -> &Arc<Registry> {
        self.admission.settings()
    }

    /// The coverage bookkeeping (the gateway adapter reports sessions and checkpoints).
    pub fn coverage(&self) -> &coverage::Coverage {
        &self.coverage
    }

    /// Use `history` to complete windows from now on (the Discord adapter, once connected).
    pub fn attach_history(&self, history: Arc<dyn HistorySource>) {
        if self.history.set(history).is_err() {
            tracing::warn!("a history source was already attached; the new one is ignored");
        }
    }

    fn history(&self) -> Option<&Arc<dyn HistorySource>> {
        self.history.get()
    }

    // --- admission -------------------------------------------------------------------------

    /// May `channel` (its `parent_id` set for a thread) be stored and summarized? Returns the
    /// server's settings in force when it may.
    pub fn admit(&self, channel: &ChannelInfo) -> Result<Arc<GuildSettings>, Barred> {
        self.admission.check(channel)
    }

    /// [`ChannelSummaries::admit`] as a yes/no, for the gateway's per-event check.
    pub fn may_store(&self, channel: &ChannelInfo) -> bool {
        self.admit(channel).is_ok()
    }

    fn opted_in(&self, channel: &ChannelInfo) -> Option<Timestamp> {
        self.admission.opted_in(channel)
    }

    /// Record what the live session stored of `channels` up to now (at shutdown, and now and
    /// then while running), so a restart knows it; barred channels are left out.
    pub fn checkpoint(&self, channels: &[ChannelInfo]) {
        self.checkpoint_through(channels, Timestamp::now());
    }

    /// The gateway connection was lost (it last delivered an event at `last_alive`): record
    /// what the session stored of `channels` up to then, and trust it with nothing later until
    /// it resumes or a new session starts (windows are fetched over REST meanwhile). Nothing
    /// happens when a session started or resumed less than `grace` ago (see
    /// [`Coverage::would_lose`]).
    pub fn session_lost(
        &self,
        channels: &[ChannelInfo],
        last_alive: Timestamp,
        grace: std::time::Duration,
    ) {
        if !self.coverage.would_lose(Timestamp::now(), grace) {
            return;
        }
        self.checkpoint_through(channels, last_alive);
        // Checked again with the marking: a READY during the checkpoint's write wins.
        if !self
            .coverage
            .lose_if_due(last_alive, Timestamp::now(), grace)
        {
            return;
        }
        tracing::info!(
            last_alive = %last_alive,
            "gateway session lost; windows after its last event are fetched from Discord until it resumes"
        );
    }

    fn checkpoint_through(&self, channels: &[ChannelInfo], through: Timestamp) {
        let live: Vec<_> = channels
            .iter()
            .filter(|c| self.may_store(c))
            .map(|c| (c.id, self.opted_in(c)))
            .collect();
        if let Err(e) = self.coverage.checkpoint(&live, through) {
            tracing::warn!(error = %e, "cannot record what the session stored");
        }
    }

    // --- channel, kind, language -------------------------------------------------------------

    /// What is known of `channel`: the store's record, else what Discord says (then stored),
    /// else a placeholder named by its id in `guild`.
    pub async fn channel(&self, channel: ChannelId, guild: Option<GuildId>) -> ChannelInfo {
        if let Ok(Some(info)) = self.store.channel(channel) {
            return info;
        }
        if let Some(history) = self.history() {
            if let Some(info) = history.channel_info(channel).await {
                // Kept only for channels that may be stored, as the gateway does.
                if self.may_store(&info) {
                    if let Err(e) = self.store.put_channel(&info) {
                        tracing::warn!(channel_id = %channel, error = %e, "cannot store channel metadata");
                    }
                }
                return info;
            }
        }
        // Its server, from a stored message, so admission sees the server's opt-outs.
        let guild = guild.or_else(|| {
            let (_, id) = self.store.latest_message(channel).ok().flatten()?;
            self.store.message(channel, id).ok().flatten()?.guild_id
        });
        ChannelInfo::unknown(channel, guild)
    }

    /// The prompt variant of `channel` under its server's settings: the server's choice, else
    /// `summary.dev_channels` / `general_channels`, else guessed from name and topic. A thread
    /// takes the variant of the channel it belongs to.
    pub fn kind(&self, settings: &GuildSettings, channel: &ChannelInfo) -> ChannelKind {
        let parent = channel
            .parent_id
            .and_then(|p| self.store.channel(p).ok().flatten());
        let source = parent.as_ref().unwrap_or(channel);
        settings
            .channel_kind(source.id)
            .or_else(|| channel.parent_id.and_then(|p| settings.channel_kind(p)))
            .unwrap_or_else(|| operator_kind(&self.config, source))
    }

    /// The output language: the request's, else the server's, else the operator's.
    pub fn language(&self, settings: &GuildSettings, requested: Option<String>) -> Option<String> {
        requested.or_else(|| settings.effective(&self.config).language)
    }

    // --- complete windows --------------------------------------------------------------------

    /// Make the store hold every message of `channel` in `window`: fetch over REST what it does
    /// not cover (asking admission before every message), then record the coverage.
    pub async fn complete(&self, channel: &ChannelInfo, window: TimeWindow) -> Completeness {
        let opted_in = self.opted_in(channel);
        match self.coverage.covers(channel.id, opted_in, window) {
            Ok(true) => return Completeness::Complete,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(channel_id = %channel.id, error = %e, "cannot read coverage; fetching");
            }
        }
        let Some(history) = self.history() else {
            return Completeness::StoredOnly;
        };
        // What the live session stored (its tail of the window) is not fetched again.
        let fetch = match self.coverage.live_since(opted_in) {
            Some(live) if live > window.start && live < window.end => TimeWindow {
                start: window.start,
                end: live,
            },
            _ => window,
        };
        let allowed = || self.may_store(channel);
        match history
            .fetch(channel.id, fetch, MAX_WINDOW_FETCH, &allowed)
            .await
        {
            Ok(fetched) if fetched.complete => {
                let through = Timestamp(window.end.0.saturating_sub(1)).min(Timestamp::now());
                if let Err(e) = self
                    .coverage
                    .record(channel.id, window.start, through, opted_in)
                {
                    tracing::warn!(channel_id = %channel.id, error = %e, "cannot record coverage");
                }
                Completeness::Complete
            }
            Ok(_) => Completeness::FetchFailed,
            Err(e) => {
                tracing::warn!(error = %e, channel_id = %channel.id, "fetching history failed; summarizing what is stored");
                Completeness::FetchFailed
            }
        }
    }

    // --- the summary path --------------------------------------------------------------------

    /// Admit, complete the window, read it, and pick kind and language.
    pub async fn prepare(&self, req: ChannelRequest) -> Result<Prepared, SummaryError> {
        let settings = self.admit(&req.channel).map_err(SummaryError::Barred)?;
        let completeness = self.complete(&req.channel, req.window).await;
        let read = self.store.newest_messages_in(
            req.channel.id,
            req.window,
            self.config.summary.max_window_messages,
        )?;
        let mut messages = read.messages;
        self.drop_opted_out(&mut messages)?;
        Ok(Prepared {
            kind: req
                .kind
                .unwrap_or_else(|| self.kind(&settings, &req.channel)),
            language: self.language(&settings, req.language),
            channel: req.channel,
            settings,
            window: req.window,
            messages,
            left_out: read.left_out,
            provider: req.provider,
            detail: req.detail,
            topic: req.topic,
            use_cache: req.use_cache,
            completeness,
        })
    }

    /// Summarize a prepared window with the shared engine (cache, budget, fallback, usage). A
    /// channel barred meanwhile (an opt-out while the summary was made) wins: nothing is returned.
    pub async fn finish(
        &self,
        prepared: Prepared,
        progress: ProgressFn<'_>,
    ) -> Result<Served, SummaryError> {
        let engine =
            self.engines
                .get(prepared.provider)
                .map_err(|reason| SummaryError::Provider {
                    provider: prepared.provider.map_or("configured", LlmProvider::as_str),
                    reason,
                })?;
        let completeness = prepared.completeness;
        let mut prepared = prepared;
        // Again here: a trigger may have added messages (threads) since `prepare`.
        self.drop_opted_out(&mut prepared.messages)?;
        let left_out = prepared.left_out
            + keep_newest(
                &mut prepared.messages,
                self.config.summary.max_window_messages,
            );
        let mut request = prepared.request();
        let mut summary = engine.summarize(&request, progress).await?;
        // A member who opted out while it was made (an LLM call takes seconds): the summary may
        // quote them, so its cache entry goes and it is made again without them, as often as
        // that happens, up to a limit.
        let mut remade = 0;
        while self.drop_opted_out(&mut request.messages)? > 0 {
            self.store
                .invalidate_channel_summaries(request.channel.id)?;
            if remade == MAX_REMAKES {
                return Err(SummaryError::OptOutRace);
            }
            remade += 1;
            summary = engine.summarize(&request, progress).await?;
        }
        self.admit(&request.channel).map_err(SummaryError::Barred)?;
        // A cached summary keeps the channel as it was then: show it as it is now.
        summary.channel = request.channel;
        summary.left_out = left_out;
        Ok(Served {
            summary,
            completeness,
        })
    }

    /// Leave out the messages of members who opted out (`/summarybot forget-me`): no summary
    /// quotes or cites them, whichever trigger asked and wherever the window came from.
    /// Returns how many were left out.
    fn drop_opted_out(&self, messages: &mut Vec<ChatMessage>) -> Result<usize, StoreError> {
        let opted_out = self.store.opted_out_users()?;
        let before = messages.len();
        if !opted_out.is_empty() {
            messages.retain(|m| !opted_out.contains(&m.author.id));
        }
        Ok(before - messages.len())
    }

    /// The whole path for one channel window.
    pub async fn summarize(
        &self,
        req: ChannelRequest,
        progress: ProgressFn<'_>,
    ) -> Result<Served, SummaryError> {
        let prepared = self.prepare(req).await?;
        self.finish(prepared, progress).await
    }
}

/// Keep the newest `cap` of `messages` (oldest first), returning how many older ones went: a
/// trigger that adds messages (a channel's threads) stays within `summary.max_window_messages`.
pub fn keep_newest(messages: &mut Vec<ChatMessage>, cap: usize) -> usize {
    let over = messages.len().saturating_sub(cap);
    messages.drain(..over);
    over
}

/// The operator's prompt variant for a channel: `summary.dev_channels` / `general_channels`,
/// else guessed from its name and topic.
pub fn operator_kind(config: &Config, channel: &ChannelInfo) -> ChannelKind {
    if config.summary.dev_channels.contains(&channel.id) {
        ChannelKind::Dev
    } else if config.summary.general_channels.contains(&channel.id) {
        ChannelKind::General
    } else {
        ChannelKind::guess(&channel.name, channel.topic.as_deref())
    }
}

#[cfg(test)]
mod tests;
