//! The job runner: the group-commit enqueuer and the worker pool started together, shared by
//! every trigger (webhook, schedules, commands), and stopped together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Committer, Enqueuer, JobStats, PoolOptions, Publisher, WorkerPool};
use crate::channel_summary::ChannelSummaries;
use crate::config::Config;

/// Why the runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// Jobs interrupted by the last shutdown could not be requeued.
    #[error("cannot prepare the job queue: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The committer thread could not be started.
    #[error("cannot start the job committer thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Running workers plus the enqueuer that feeds them.
pub struct JobRunner {
    pool: WorkerPool,
    committer: Committer,
    enqueuer: Enqueuer,
    stats: Arc<JobStats>,
    workers: usize,
}

impl JobRunner {
    /// Requeue jobs a previous process left running and start `jobs.workers` workers (with
    /// `jobs.max_attempts`) on the current tokio runtime. `publisher` posts summaries to
    /// Discord; None makes jobs that ask for posting fail clearly.
    pub fn start(
        config: &Config,
        service: &Arc<ChannelSummaries>,
        publisher: Option<Arc<dyn Publisher>>,
    ) -> Result<JobRunner, RunnerError> {
        let store = service.store();
        let wake = Arc::new(Notify::new());
        let stats = Arc::new(JobStats::default());
        let options = PoolOptions {
            workers: config.jobs.workers,
            max_attempts: config.jobs.max_attempts,
            ..PoolOptions::default()
        };
        let workers = options.workers;
        let (committer, enqueuer) =
            Committer::start(Arc::clone(store), Arc::clone(&wake), Arc::clone(&stats))?;
        let pool = match WorkerPool::start(
            Arc::clone(service),
            publisher,
            enqueuer.clone(),
            wake,
            Arc::clone(&stats),
            options,
        ) {
            Ok(pool) => pool,
            Err(e) => {
                drop(enqueuer);
                committer.stop();
                return Err(e.into());
            }
        };
        Ok(JobRunner {
            pool,
            committer,
            enqueuer,
            stats,
            workers,
        })
    }

    /// A handle for enqueueing jobs durably (blocking; call from non-async threads or
    /// `spawn_blocking`).
    pub fn enqueuer(&self) -> Enqueuer {
        self.enqueuer.clone()
    }

    /// The workers' counters.
    pub fn stats(&self) -> Arc<JobStats> {
        Arc::clone(&self.stats)
    }

    /// How many workers run.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Let running jobs finish within `deadline` (their outcomes are committed; unfinished
    /// ones run again at the next start), then stop taking submissions after committing those
    /// already received. Stop the webhook server first so no request is refused half-way.
    pub async fn shutdown(self, deadline: Duration) {
        self.pool.shutdown(deadline).await;
        tracing::info!("job workers stopped");
        drop(self.enqueuer);
        let committer = self.committer;
        if let Err(e) = tokio::task::spawn_blocking(move || committer.stop()).await {
            tracing::error!(error = %e, "stopping the job committer failed");
        }
    }
}
