//! The worker pool: a bounded number of tokio tasks that claim due jobs, run them, and record the
//! outcome — done, queued again after an exponential backoff with jitter, or failed for good.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use super::execute::{self, JobError};
use super::{Enqueuer, JobStats, Publisher};
use crate::backoff::{Backoff, Jitter};
use crate::channel_summary::ChannelSummaries;
use crate::model::{Job, Timestamp};
use crate::store::{JobOutcome, Store};

/// How long a claimed job stays leased to its worker before another may take it over.
const LEASE: Duration = Duration::from_secs(15 * 60);
/// Longest sleep of an idle worker between looks at the queue (new jobs wake it at once).
const IDLE_MAX: Duration = Duration::from_secs(60);
/// Pause after a failed database read before trying again.
const IDLE_RETRY: Duration = Duration::from_secs(1);
/// First retry delay; doubled per attempt.
const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Finished jobs are kept this long for `GET /jobs/{id}`.
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 86_400);
/// How often finished jobs are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Settings of the pool.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Concurrent workers.
    pub workers: usize,
    /// Attempts before a job fails for good.
    pub max_attempts: u32,
    /// First retry delay, doubled per attempt (with jitter, capped at 15 min).
    pub backoff_base: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            max_attempts: 5,
            backoff_base: BACKOFF_BASE,
        }
    }
}

/// Everything a worker needs, shared.
struct Shared {
    service: Arc<ChannelSummaries>,
    store: Arc<Store>,
    publisher: Option<Arc<dyn Publisher>>,
    /// Claims and outcomes go through the committer, in its group commits.
    queue: Enqueuer,
    wake: Arc<Notify>,
    stats: Arc<JobStats>,
    options: PoolOptions,
    /// Draws for the retry delays.
    jitter: Jitter,
}

/// The running pool; [`WorkerPool::shutdown`] stops it.
pub struct WorkerPool {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl WorkerPool {
    /// Requeue jobs left running by a previous process, then start the workers on the current
    /// tokio runtime; they claim jobs and record outcomes through `queue`'s committer. `wake`
    /// is notified when new jobs are queued.
    pub fn start(
        service: Arc<ChannelSummaries>,
        publisher: Option<Arc<dyn Publisher>>,
        queue: Enqueuer,
        wake: Arc<Notify>,
        stats: Arc<JobStats>,
        options: PoolOptions,
    ) -> Result<WorkerPool, crate::store::StoreError> {
        let store = Arc::clone(service.store());
        let requeued = store.requeue_running_jobs(Timestamp::now())?;
        if requeued > 0 {
            tracing::info!(
                jobs = requeued,
                "requeued jobs interrupted by the last shutdown"
            );
        }
        let shared = Arc::new(Shared {
            service,
            store,
            publisher,
            queue,
            wake,
            stats,
            options,
            jitter: Jitter::from_clock(),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for _ in 0..shared.options.workers.max(1) {
            tasks.spawn(work(Arc::clone(&shared), stopped.clone()));
        }
        tasks.spawn(prune(Arc::clone(&shared), stopped));
        Ok(WorkerPool { tasks, stop })
    }

    /// Stop claiming jobs and let running ones finish within `deadline`; jobs still running
    /// then are abandoned and run again at the next start.
    pub async fn shutdown(mut self, deadline: Duration) {
        let _ = self.stop.send(true);
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, all_done).await.is_err() {
            tracing::warn!(
                "jobs still running at the shutdown deadline stay queued for the next start"
            );
            self.tasks.abort_all();
        }
    }
}

/// One worker: claim, run, record; sleep until woken, a retry is due, or shutdown.
///
/// Only a due job costs a write transaction: an idle worker reads when the next job is due and
/// sleeps until then (at most [`IDLE_MAX`]), so an idle appliance does not write to its disk.
async fn work(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let wait = match next_due(&shared).await {
            Ok(Some(due)) if due <= Timestamp::now() => match claim(&shared).await {
                Ok(Some(job)) => {
                    run_one(&shared, job).await;
                    continue;
                }
                // Another worker took it.
                Ok(None) => Duration::ZERO,
                Err(e) => {
                    tracing::error!(error = %e, "claiming a job failed");
                    IDLE_RETRY
                }
            },
            Ok(Some(due)) => Duration::from_millis(
                u64::try_from(due.0.saturating_sub(Timestamp::now().0)).unwrap_or(0),
            )
            .min(IDLE_MAX),
            Ok(None) => IDLE_MAX,
            Err(e) => {
                tracing::error!(error = %e, "reading the job queue failed");
                IDLE_RETRY
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// When the next job is due (queued, or running with an expired lease), read off the runtime.
async fn next_due(shared: &Arc<Shared>) -> Result<Option<Timestamp>, String> {
    let store = Arc::clone(&shared.store);
    tokio::task::spawn_blocking(move || store.next_job_due())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Claim the next due job (durably, in the committer's next group commit) off the runtime's
/// threads.
async fn claim(shared: &Arc<Shared>) -> Result<Option<Job>, String> {
    let queue = shared.queue.clone();
    tokio::task::spawn_blocking(move || queue.claim(LEASE))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Run one claimed job and record its outcome.
async fn run_one(shared: &Arc<Shared>, job: Job) {
    shared.stats.busy.fetch_add(1, Ordering::Relaxed);
    tracing::info!(job_id = job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let outcome = crate::panic_policy::contain(execute::run(
        &shared.service,
        shared.publisher.as_deref(),
        &shared.stats,
        &job,
    ))
    .await
    .unwrap_or_else(|panic| {
        Err(JobError::permanent(format!(
            "the job panicked: {panic} (a bug: please report it)"
        )))
    });
    shared.stats.busy.fetch_sub(1, Ordering::Relaxed);
    let (label, stored) = record(shared, &job, outcome);
    shared.stats.record_outcome(&job.kind, label);
    let queue = shared.queue.clone();
    let id = job.id;
    // Durable once it returns (the committer answers after its commit).
    let saved = tokio::task::spawn_blocking(move || queue.finish(id, stored)).await;
    let failure = match saved {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    match failure {
        None => tracing::info!(job_id = job.id, outcome = label, "job finished"),
        Some(error) => tracing::error!(job_id = job.id, %error, "recording the job outcome failed"),
    }
}

/// Decide what to store for an outcome: done, retry later, or failed. Results and errors are
/// stored redacted ([`crate::redact`]): they are returned by `GET /jobs/{id}` and shown on the
/// status page.
fn record(
    shared: &Shared,
    job: &Job,
    outcome: Result<String, JobError>,
) -> (&'static str, JobOutcome) {
    let id = job.id;
    match outcome {
        Ok(result) => (
            "done",
            JobOutcome::Done {
                result: crate::redact::redacted(&result),
            },
        ),
        Err(e) => {
            let give_up = !e.retryable || job.attempts >= shared.options.max_attempts;
            let message = crate::redact::redacted(&e.message);
            let message = if give_up && e.retryable {
                format!("{message} (gave up after {} attempts)", job.attempts)
            } else {
                message
            };
            tracing::warn!(job_id = id, error = %message, give_up, "job attempt failed");
            if give_up {
                (
                    "failed",
                    JobOutcome::Failed {
                        error: message,
                        retry_at: None,
                    },
                )
            } else {
                let delay = retry_schedule(shared.options.backoff_base)
                    .delay(job.attempts.saturating_sub(1), shared.jitter.next_unit());
                let at = Timestamp(Timestamp::now().0.saturating_add(millis(delay)));
                (
                    "retry",
                    JobOutcome::Failed {
                        error: message,
                        retry_at: Some(at),
                    },
                )
            }
        }
    }
}

/// The delays between a job's attempts: after attempt `n` (1-based) step `n - 1`, i.e. `base`
/// doubled per attempt, capped at [`BACKOFF_MAX`], scaled by jitter into its upper half (so the
/// retries of many jobs spread out).
fn retry_schedule(base: Duration) -> Backoff {
    Backoff::new(base, BACKOFF_MAX).with_jitter(0.5, 1.0)
}

/// Milliseconds of a duration, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Hourly: delete finished jobs older than [`KEEP_FINISHED`].
async fn prune(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        let store = Arc::clone(&shared.store);
        let cutoff = Timestamp(Timestamp::now().0.saturating_sub(millis(KEEP_FINISHED)));
        match tokio::task::spawn_blocking(move || store.prune_finished_jobs(cutoff)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(pruned = n, "old finished jobs deleted"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "pruning finished jobs failed"),
            Err(e) => tracing::error!(error = %e, "pruning finished jobs failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = stopped.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        // Step n follows attempt n + 1.
        let s = retry_schedule(BACKOFF_BASE);
        assert!(s.delay(0, 0.999) < Duration::from_secs(5));
        assert!(s.delay(0, 0.999) > Duration::from_millis(4900));
        assert_eq!(s.delay(0, 0.0), Duration::from_millis(2500));
        assert_eq!(s.delay(1, 0.0), Duration::from_secs(5));
        assert_eq!(s.delay(2, 0.0), Duration::from_secs(10));
        assert_eq!(s.delay(49, 0.0), BACKOFF_MAX / 2);
        assert!(s.delay(49, 0.99) <= BACKOFF_MAX);
    }

    /// Panics in the first `panics` posts, fails the next `failures` (with `error`, default
    /// "discord said 503"), then records where it posted.
    #[derive(Default)]
    struct FlakyPublisher {
        panics: std::sync::atomic::AtomicU32,
        failures: std::sync::atomic::AtomicU32,
        error: &'static str,
        posted: std::sync::Mutex<Vec<u64>>,
    }

    /// Take one from `counter` when it is above zero.
    fn take_one(counter: &std::sync::atomic::AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    impl Publisher for FlakyPublisher {
        fn post_summary(
            &self,
            channel: crate::model::ChannelId,
            _summary: &crate::model::Summary,
        ) -> super::super::BoxFuture<'_, Result<(), super::super::PublishError>> {
            Box::pin(async move {
                assert!(!take_one(&self.panics), "the publisher hit a bug");
                if take_one(&self.failures) {
                    let error = if self.error.is_empty() {
                        "discord said 503"
                    } else {
                        self.error
                    };
                    return Err(super::super::PublishError::transient(error));
                }
                self.posted.lock().expect("lock").push(channel.0);
                Ok(())
            })
        }

        fn post_summary_once<'a>(
            &'a self,
            channel: crate::model::ChannelId,
            summary: &crate::model::Summary,
            _nonce: &str,
            _parts: &'a super::super::PartLog,
        ) -> super::super::BoxFuture<'a, Result<(), super::super::PublishError>> {
            self.post_summary(channel, summary)
        }

        fn post_text<'a>(
            &'a self,
            channel: crate::model::ChannelId,
            _text: &str,
            _nonce: &str,
            _parts: &'a super::super::PartLog,
        ) -> super::super::BoxFuture<'a, Result<(), super::super::PublishError>> {
            Box::pin(async move {
                self.posted.lock().expect("lock").push(channel.0);
                Ok(())
            })
        }
    }

    /// Run `count` posting jobs, one after the other, through one pool posting with `publisher`;
    /// each job as it finished.
    async fn run_posting_jobs(
        publisher: &Arc<FlakyPublisher>,
        max_attempts: u32,
        count: usize,
    ) -> Vec<Job> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("w.redb")).expect("open"));
        let wake = Arc::new(Notify::new());
        let options = PoolOptions {
            workers: 2,
            max_attempts,
            backoff_base: Duration::from_millis(20),
        };
        let service = Arc::new(
            ChannelSummaries::new(crate::config::Config::default(), Arc::clone(&store), true)
                .expect("service"),
        );
        let stats = Arc::new(JobStats::default());
        let (committer, queue) = super::super::Committer::start(
            Arc::clone(&store),
            Arc::clone(&wake),
            Arc::clone(&stats),
        )
        .expect("committer");
        let pool = WorkerPool::start(
            service,
            Some(Arc::clone(publisher) as Arc<dyn Publisher>),
            queue,
            Arc::clone(&wake),
            stats,
            options,
        )
        .expect("start");
        let payload = r#"{"channel_id":5,"since":0,"until":1000,"post_to_channel_id":9,"provider":null,"language":null}"#;
        let mut finished = Vec::new();
        for _ in 0..count {
            let job = store
                .enqueue_job(super::super::SUMMARY_REQUEST, payload, Timestamp::now())
                .expect("enqueue");
            wake.notify_one();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            finished.push(loop {
                let current = store.job(job.id).expect("get").expect("present");
                if matches!(
                    current.state,
                    crate::model::JobState::Done | crate::model::JobState::Failed
                ) {
                    break current;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "job stuck: {current:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            });
        }
        pool.shutdown(Duration::from_secs(5)).await;
        tokio::task::spawn_blocking(move || committer.stop())
            .await
            .expect("stop");
        finished
    }

    /// Run one posting job through a pool whose publisher fails `failures` times.
    async fn run_posting_job(failures: u32, max_attempts: u32) -> (Job, Vec<u64>) {
        let publisher = Arc::new(FlakyPublisher {
            failures: std::sync::atomic::AtomicU32::new(failures),
            ..FlakyPublisher::default()
        });
        let job = run_posting_jobs(&publisher, max_attempts, 1)
            .await
            .remove(0);
        let posted = publisher.posted.lock().expect("lock").clone();
        (job, posted)
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_next_job_runs() {
        let publisher = Arc::new(FlakyPublisher {
            panics: std::sync::atomic::AtomicU32::new(1),
            ..FlakyPublisher::default()
        });
        let jobs = run_posting_jobs(&publisher, 5, 2).await;
        assert_eq!(
            jobs[0].state,
            crate::model::JobState::Failed,
            "{:?}",
            jobs[0]
        );
        assert_eq!(jobs[0].attempts, 1, "a panic is not retried");
        let error = jobs[0].last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("the job panicked: the publisher hit a bug"),
            "{error}"
        );
        assert_eq!(jobs[1].state, crate::model::JobState::Done, "{:?}", jobs[1]);
        assert_eq!(*publisher.posted.lock().expect("lock"), vec![9]);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_then_the_summary_is_posted() {
        let (job, posted) = run_posting_job(2, 5).await;
        assert_eq!(job.state, crate::model::JobState::Done, "{job:?}");
        assert_eq!(job.attempts, 3);
        assert_eq!(posted, vec![9]);
        let result: serde_json::Value =
            serde_json::from_str(job.result.as_deref().expect("result")).expect("json");
        assert_eq!(result["provider"], "builtin");
    }

    #[tokio::test]
    async fn a_job_fails_for_good_after_max_attempts() {
        let (job, posted) = run_posting_job(10, 3).await;
        assert_eq!(job.state, crate::model::JobState::Failed, "{job:?}");
        assert_eq!(job.attempts, 3);
        let error = job.last_error.expect("error");
        assert!(
            error.contains("discord said 503") && error.contains("gave up after 3 attempts"),
            "{error}"
        );
        assert!(posted.is_empty());
    }

    #[tokio::test]
    async fn a_stored_job_error_never_holds_a_secret() {
        crate::redact::protect("worker-test-token-5c1d7e");
        let publisher = Arc::new(FlakyPublisher {
            failures: std::sync::atomic::AtomicU32::new(1),
            error:
                "Discord answered 400: Invalid header Authorization: Bot worker-test-token-5c1d7e",
            ..FlakyPublisher::default()
        });
        let job = run_posting_jobs(&publisher, 1, 1).await.remove(0);
        let error = job.last_error.expect("error");
        assert!(!error.contains("worker-test-token"), "{error}");
        assert!(
            error.contains("Authorization: Bot *** (gave up after 1 attempts)"),
            "{error}"
        );
    }
}
