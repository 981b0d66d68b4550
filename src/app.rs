//! Wiring: builds the summary engine from the configuration, and runs the appliance (`run`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::commands::{open_store, Context, Failure};
use crate::config::{Config, LlmProvider, Scope};
use crate::jobs::Publisher;
use crate::llm::openai::{OpenAiClient, OpenAiOptions};
use crate::model::{ChannelId, ChannelInfo, ChannelKind, Summary, Timestamp};
use crate::runtime::Runtime;
use crate::store::Store;
use crate::summarize::builtin::BuiltinSummarizer;
use crate::summarize::engine::{CachePolicy, Engine};
use crate::summarize::mapreduce::{LlmOptions, LlmSummarizer};
use crate::summarize::prompt::Templates;

/// How long running jobs may take to finish at shutdown.
const JOB_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// How often `run` applies retention and purges expired keys and cached summaries.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Build the summary engine the configuration asks for. With `fallback`, an LLM failure falls
/// back to the builtin summarizer (labelled as such). With a store, summaries are cached and token
/// usage recorded there.
pub fn build_engine(
    config: &Config,
    store: Option<Arc<Store>>,
    fallback: bool,
) -> anyhow::Result<Engine> {
    let builtin: Arc<BuiltinSummarizer> = Arc::new(BuiltinSummarizer::new());
    let mut engine = match config.llm.provider {
        LlmProvider::Builtin => Engine::new(builtin),
        LlmProvider::OpenAi => {
            let llm = &config.llm;
            let client = OpenAiClient::new(OpenAiOptions {
                base_url: llm.base_url.clone(),
                api_key: (!llm.api_key.is_empty()).then(|| llm.api_key.clone()),
                model: llm.model.clone(),
                timeout: llm.timeout,
                max_retries: llm.max_retries,
                ..OpenAiOptions::default()
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let templates = Templates::load(config.summary.prompts_dir.as_deref())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let summarizer = LlmSummarizer::new(
                Arc::new(client),
                templates,
                LlmOptions {
                    context_tokens: llm.context_tokens as usize,
                    max_tokens: llm.max_tokens,
                    temperature: llm.temperature,
                    concurrency: llm.concurrency,
                    ..LlmOptions::default()
                },
            );
            // Reject a context too small for max_tokens plus the prompt now, not per request.
            summarizer
                .data_tokens()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let engine = Engine::new(Arc::new(summarizer));
            if fallback {
                engine.with_fallback(builtin)
            } else {
                engine
            }
        }
    };
    if let Some(store) = store {
        let cache = CachePolicy {
            ttl: config.cache.ttl,
            max_entries: config.cache.max_entries,
        };
        engine = engine
            .with_store(store, Some(cache))
            .with_daily_token_budget(config.llm.daily_token_budget, config.llm.max_tokens);
    }
    Ok(engine)
}

/// True when `channel`, or the channel a thread belongs to, is in `summary.exclude_channels`.
pub fn is_excluded(config: &Config, channel: &ChannelInfo) -> bool {
    let excluded = &config.summary.exclude_channels;
    excluded.contains(&channel.id) || channel.parent_id.is_some_and(|p| excluded.contains(&p))
}

/// Why nothing of `channel` may be stored: excluded by the operator (itself or its thread's
/// channel) or opted out by its server; `None` when it may be.
pub fn storage_barred(
    config: &Config,
    store: &Store,
    channel: &ChannelInfo,
) -> Result<Option<&'static str>, crate::store::StoreError> {
    if is_excluded(config, channel) {
        return Ok(Some("is in summary.exclude_channels"));
    }
    let Some(guild) = channel.guild_id else {
        return Ok(None);
    };
    let settings = store.guild_settings(guild)?.unwrap_or_default();
    let opted_out = settings.is_opted_out(channel.id)
        || channel.parent_id.is_some_and(|p| settings.is_opted_out(p));
    Ok(opted_out.then_some("is opted out by its server (/summarybot optin allows it again)"))
}

/// The prompt variant for a channel: forced by `summary.dev_channels` / `general_channels`, else
/// guessed from its name and topic.
pub fn channel_kind(config: &Config, channel: &ChannelInfo) -> ChannelKind {
    if config.summary.dev_channels.contains(&channel.id) {
        ChannelKind::Dev
    } else if config.summary.general_channels.contains(&channel.id) {
        ChannelKind::General
    } else {
        ChannelKind::guess(&channel.name, channel.topic.as_deref())
    }
}

/// The prompt variant for a channel of a server: the server's own choice
/// (`/summarybot settings channel: kind:`) first, else [`channel_kind`].
pub fn guild_channel_kind(
    config: &Config,
    settings: &crate::settings::GuildSettings,
    channel: &ChannelInfo,
) -> ChannelKind {
    settings
        .channel_kind(channel.id)
        .unwrap_or_else(|| channel_kind(config, channel))
}

/// `summarybot run`: validate everything, take the database lock, run until SIGINT/SIGTERM.
pub fn run_command(ctx: &Context) -> Result<(), Failure> {
    let config = ctx.config(Scope::Full)?;
    let _log = ctx.init_logging(&config);
    let store = Arc::new(open_store(&config)?);
    // Fail at start, not at the first request, when the LLM settings cannot work.
    build_engine(&config, Some(Arc::clone(&store)), true)
        .map_err(|e| Failure::Usage(format!("{e:#}")))?;
    let rt = crate::commands::runtime()?;
    rt.block_on(serve(&config, &store))?;
    drop(store);
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn serve(config: &Config, store: &Arc<Store>) -> anyhow::Result<()> {
    tracing::info!(
        version = crate::VERSION_LINE,
        database = %config.storage.path.display(),
        provider = config.llm.provider.as_str(),
        "summarybot started"
    );
    let runtime = Arc::new(Runtime::default());
    runtime.update_scheduler(|s| s.enabled = config.scheduler.enabled);
    // Listen before saying "ready": a signal that arrives with no listener would be lost.
    let shutdown = shutdown_signal()?;
    tokio::pin!(shutdown);
    let mut bot = if config.discord.enabled {
        let bot = crate::discord::start(config, Arc::clone(store), Arc::clone(&runtime))
            .await
            .context("cannot start the Discord bot")?;
        Some(bot)
    } else {
        None
    };
    // The job workers (every trigger's jobs) post summaries through Discord's REST API.
    let publisher: Option<Arc<dyn Publisher>> = if config.discord.enabled {
        let poster = crate::discord::poster(config).context("cannot set up Discord posting")?;
        Some(Arc::new(DiscordPublisher(poster)))
    } else {
        None
    };
    let jobs = crate::jobs::JobRunner::start(config, store, publisher)?;
    let scheduler = config.scheduler.enabled.then(|| {
        crate::schedule::scheduler::Scheduler::start(
            Arc::clone(store),
            jobs.enqueuer(),
            Arc::clone(&runtime),
            config.scheduler.catch_up,
        )
    });
    let web = if config.webhook.enabled {
        Some(crate::webhook::start(
            config,
            store,
            &jobs,
            Arc::clone(&runtime),
        )?)
    } else {
        None
    };
    let updates = update_watcher(config, &runtime);
    tracing::info!("ready");
    let mut ticker = tokio::time::interval(MAINTENANCE_EVERY);
    let mut bot_failure = None;
    loop {
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutdown requested");
                break;
            }
            _ = ticker.tick() => maintenance(config, store),
            reason = crate::discord::stopped(bot.as_mut()) => {
                bot_failure = Some(reason);
                break;
            }
        }
    }
    // Stop taking new work first (HTTP, then Discord), then let running jobs finish.
    if let Some(updates) = updates {
        updates.abort();
    }
    if let Some(web) = web {
        web.shutdown().await;
    }
    if let Some(bot) = bot {
        bot.shutdown(config.discord.shutdown_deadline).await;
    }
    if let Some(scheduler) = scheduler {
        scheduler.shutdown().await;
    }
    jobs.shutdown(JOB_SHUTDOWN_DEADLINE).await;
    match bot_failure {
        Some(reason) => Err(anyhow::anyhow!("the Discord connection failed: {reason}")),
        None => Ok(()),
    }
}

/// Job results posted to Discord through the bot's REST poster (allowed_mentions none, retries).
struct DiscordPublisher(crate::discord::post::Poster);

impl Publisher for DiscordPublisher {
    fn post_summary(
        &self,
        channel: ChannelId,
        summary: &Summary,
    ) -> crate::llm::BoxFuture<'_, Result<(), String>> {
        let summary = summary.clone();
        Box::pin(async move {
            self.0
                .post_summary(channel, &summary)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn post_summary_once(
        &self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
    ) -> crate::llm::BoxFuture<'_, Result<(), String>> {
        let (summary, nonce) = (summary.clone(), nonce.to_owned());
        Box::pin(async move {
            self.0
                .post_summary_once(channel, &summary, Some(&nonce))
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn post_text(
        &self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
    ) -> crate::llm::BoxFuture<'_, Result<(), String>> {
        let mut body = serde_json::json!({ "content": text });
        crate::discord::post::with_nonce(&mut body, nonce);
        Box::pin(async move {
            self.0
                .create_message(channel, &body)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// The background release check, when `update.check_interval` or `update.check_on_start` asks
/// for one. It only logs, unless `update.auto` is set.
fn update_watcher(config: &Config, runtime: &Arc<Runtime>) -> Option<tokio::task::JoinHandle<()>> {
    let wanted = !config.update.check_interval.is_zero() || config.update.check_on_start;
    if !wanted {
        return None;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::warn!(error = %e, "cannot locate the running binary; update checks are off");
            return None;
        }
    };
    let settings = crate::update::UpdateSettings::from_config(config, exe, None);
    let policy = crate::update::WatchPolicy {
        interval: config.update.check_interval,
        auto: config.update.auto,
        check_now: config.update.check_on_start,
        root: "/".into(),
    };
    Some(tokio::spawn(crate::update::watch(
        settings,
        policy,
        Arc::clone(runtime),
    )))
}

/// Apply retention, purge expired idempotency keys and cached summaries, and prune the
/// status page's history older than 31 days; failures are logged, not fatal.
fn maintenance(config: &Config, store: &Store) {
    let now = Timestamp::now();
    let days = config.storage.retention_days;
    if days > 0 {
        let cutoff = Timestamp(now.millis() - i64::from(days) * 86_400_000);
        match store.prune_messages_before(cutoff) {
            Ok(n) if n > 0 => tracing::info!(pruned = n, "retention applied"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention failed"),
        }
    }
    if let Err(e) = store.purge_expired_idempotency_keys(now) {
        tracing::error!(error = %e, "purging idempotency keys failed");
    }
    if let Err(e) = store.purge_expired_summaries(now) {
        tracing::error!(error = %e, "purging expired cached summaries failed");
    }
    if let Err(e) = store.prune_history(now) {
        tracing::error!(error = %e, "pruning the status history failed");
    }
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed when this returns.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GuildId, UserId};
    use crate::settings::Change;
    use crate::store::test_support::temp_store;

    fn info(id: u64, parent: Option<u64>) -> ChannelInfo {
        ChannelInfo {
            parent_id: parent.map(ChannelId),
            ..ChannelInfo::unknown(ChannelId(id), Some(GuildId(1)))
        }
    }

    #[test]
    fn excluded_and_opted_out_channels_and_their_threads_are_barred_from_storage() {
        let (_dir, store) = temp_store();
        let mut config = Config::default();
        config.summary.exclude_channels = vec![ChannelId(7)];
        store
            .update_guild_settings(GuildId(1), |s| {
                s.apply(&Change::OptOut(ChannelId(5)), UserId(2), Timestamp(0));
            })
            .expect("settings");
        let barred = |c: ChannelInfo| storage_barred(&config, &store, &c).expect("read");
        assert!(barred(info(7, None)).is_some_and(|r| r.contains("exclude_channels")));
        assert!(
            barred(info(8, Some(7))).is_some(),
            "a thread of an excluded channel"
        );
        assert!(barred(info(5, None)).is_some_and(|r| r.contains("opted out")));
        assert!(
            barred(info(6, Some(5))).is_some(),
            "a thread of an opted-out channel"
        );
        assert_eq!(barred(info(4, None)), None);
    }
}
