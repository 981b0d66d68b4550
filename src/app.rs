//! Wiring only: starts the parts of the appliance in order, connects them, and stops them in
//! the reverse order on SIGINT/SIGTERM. No other module imports anything from here but `run`
//! (called by the `run` command).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::channel_summary::ChannelSummaries;
use crate::config::Config;
use crate::jobs::Publisher;
use crate::model::Timestamp;
use crate::runtime::Runtime;
use crate::store::Store;

/// How long running jobs may take to finish at shutdown.
const JOB_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// How often `run` applies retention and purges expired keys and cached summaries.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Run the appliance on `store` until SIGINT/SIGTERM: the summary service (its engine built now,
/// so bad LLM settings fail here), then the Discord bot, the job workers, the scheduler, the
/// webhook server and the update watcher, stopped in the reverse order. Call it on a
/// multi-threaded tokio runtime.
///
/// `commands` runs the command lines local clients send over the control socket.
pub async fn run(
    config: &Config,
    store: &Arc<Store>,
    commands: crate::control::CommandRunner,
) -> Result<(), RunError> {
    let service = ChannelSummaries::new(config.clone(), Arc::clone(store), true)
        .map(Arc::new)
        .map_err(RunError::Config)?;
    serve(config, store, service, commands)
        .await
        .map_err(RunError::Failed)
}

/// Why [`run`] stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration cannot work (e.g. the LLM settings).
    #[error("{0}")]
    Config(String),
    /// Something failed while running.
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

async fn serve(
    config: &Config,
    store: &Arc<Store>,
    service: Arc<ChannelSummaries>,
    commands: crate::control::CommandRunner,
) -> anyhow::Result<()> {
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
        let bot = crate::discord::start(config, Arc::clone(&service), Arc::clone(&runtime))
            .await
            .context("cannot start the Discord bot")?;
        Some(bot)
    } else {
        None
    };
    // The job workers (every trigger's jobs) post summaries through Discord's REST API, with
    // the bot's client: one rate-limit state for every REST caller.
    let publisher: Option<Arc<dyn Publisher>> = match &bot {
        Some(bot) => Some(Arc::new(crate::discord::DiscordPublisher::new(
            bot.poster(),
        ))),
        None => None,
    };
    let jobs = crate::jobs::JobRunner::start(config, &service, publisher)?;
    let scheduler = config.scheduler.enabled.then(|| {
        crate::schedule::scheduler::Scheduler::start(
            Arc::clone(store),
            jobs.enqueuer(),
            Arc::clone(&runtime),
            config.scheduler.catch_up,
        )
    });
    let control = control_socket(config, store, &runtime, &jobs, commands);
    let web = if config.webhook.enabled {
        Some(crate::webhook::start(
            config,
            store,
            &jobs,
            Arc::clone(&runtime),
            bot.as_ref().map(crate::discord::Bot::poster),
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
    if let Some(control) = control {
        control.stop();
    }
    match bot_failure {
        Some(reason) => Err(anyhow::anyhow!("the Discord connection failed: {reason}")),
        None => Ok(()),
    }
}

/// The control socket `summarybot healthcheck` and the commands the database lock would refuse
/// use, beside the database. Without it the service still runs (its triggers do not need it),
/// so a failure is a warning.
fn control_socket(
    config: &Config,
    store: &Arc<Store>,
    runtime: &Arc<Runtime>,
    jobs: &crate::jobs::JobRunner,
    commands: crate::control::CommandRunner,
) -> Option<crate::control::Control> {
    let path = crate::control::socket_path(&config.storage.path);
    let health = crate::health::HealthSources {
        store: Arc::clone(store),
        runtime: Arc::clone(runtime),
        jobs: jobs.stats(),
        workers: jobs.workers(),
    };
    match crate::control::Control::start(&path, health, commands) {
        Ok(control) => Some(control),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot open the control socket; `summarybot healthcheck` will report this service as down");
            None
        }
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
/// status page's history older than 31 days and summary feedback older than 30; failures are logged, not fatal.
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
    if let Err(e) = store.prune_feedback(now) {
        tracing::error!(error = %e, "pruning old summary feedback failed");
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
