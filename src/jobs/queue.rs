//! Group commit: request threads hand keyed jobs to one committer thread, which writes every job
//! waiting at that moment in ONE durable transaction and answers each sender once it committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Notify;

use super::JobStats;
use crate::model::Timestamp;
use crate::store::{Enqueued, KeyedJob, Store};

/// Most jobs written in one transaction.
const MAX_BATCH: usize = 512;
/// How often an idle committer checks whether it should stop.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// Most submissions waiting for the committer; senders block beyond that (back-pressure).
const QUEUE_DEPTH: usize = 4096;

/// Why a job could not be enqueued.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EnqueueError {
    /// The database write failed; nothing was stored.
    #[error("the job could not be stored: {0}")]
    Store(String),
    /// The committer stopped (shutting down).
    #[error("the job queue is shutting down; retry later")]
    Stopped,
}

/// One submission waiting for the committer.
struct Submission {
    key: String,
    key_expires_at: Timestamp,
    kind: String,
    payload: String,
    reply: SyncSender<Result<Enqueued, EnqueueError>>,
}

/// A cloneable handle for submitting jobs; each call blocks until its job is durable.
#[derive(Clone)]
pub struct Enqueuer {
    tx: SyncSender<Submission>,
    /// Read first: a key already committed is a duplicate, answered without the committer.
    store: Arc<Store>,
}

impl Enqueuer {
    /// Enqueue `kind`/`payload` under idempotency `key` (kept for `ttl`). Blocks the calling
    /// (non-async) thread until the transaction holding it committed. A key live in the last
    /// committed state is answered as a duplicate at once: its job is on disk already.
    pub fn enqueue(
        &self,
        key: &str,
        ttl: Duration,
        kind: &str,
        payload: &str,
    ) -> Result<Enqueued, EnqueueError> {
        let known = self
            .store
            .live_keyed_job(key, Timestamp::now())
            .map_err(|e| EnqueueError::Store(e.to_string()))?;
        if let Some(job_id) = known {
            return Ok(Enqueued {
                job_id,
                duplicate: true,
            });
        }
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let (reply, answer) = mpsc::sync_channel(1);
        let submission = Submission {
            key: key.to_string(),
            key_expires_at: Timestamp(Timestamp::now().0.saturating_add(ttl_ms)),
            kind: kind.to_string(),
            payload: payload.to_string(),
            reply,
        };
        self.tx
            .send(submission)
            .map_err(|_| EnqueueError::Stopped)?;
        answer.recv().map_err(|_| EnqueueError::Stopped)?
    }
}

/// The committer thread; stops when every [`Enqueuer`] is dropped or on [`Committer::stop`].
pub struct Committer {
    thread: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Committer {
    /// Start the committer over `store`; `wake` is notified once per newly queued job; commits
    /// are counted in `stats`.
    pub fn start(
        store: Arc<Store>,
        wake: Arc<Notify>,
        stats: Arc<JobStats>,
    ) -> std::io::Result<(Committer, Enqueuer)> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let enqueuer = Enqueuer {
            tx,
            store: Arc::clone(&store),
        };
        let thread = std::thread::Builder::new()
            .name("job-committer".into())
            .spawn(move || commit_loop(&store, &wake, &stats, &flag, &rx))?;
        Ok((
            Committer {
                thread: Some(thread),
                stop,
            },
            enqueuer,
        ))
    }

    /// Commit what was already submitted, then stop (within about a second); later
    /// submissions get [`EnqueueError::Stopped`].
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the job committer thread panicked");
            }
        }
    }
}

/// Receive submissions until every sender is gone or `stop` is set and nothing is waiting,
/// committing them in batches.
fn commit_loop(
    store: &Store,
    wake: &Notify,
    stats: &JobStats,
    stop: &AtomicBool,
    rx: &Receiver<Submission>,
) {
    loop {
        let first = match rx.recv_timeout(STOP_CHECK) {
            Ok(s) => s,
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        commit(store, wake, stats, &batch);
    }
}

/// Write one batch, count it, and answer every submitter (counted first, so a submitter that
/// got its answer sees its commit in `stats`).
fn commit(store: &Store, wake: &Notify, stats: &JobStats, batch: &[Submission]) {
    let jobs: Vec<KeyedJob<'_>> = batch
        .iter()
        .map(|s| KeyedJob {
            key: &s.key,
            key_expires_at: s.key_expires_at,
            kind: &s.kind,
            payload: &s.payload,
        })
        .collect();
    let written = store.enqueue_jobs_with_keys(&jobs, Timestamp::now());
    stats.enqueue_commits.fetch_add(1, Ordering::Relaxed);
    stats
        .enqueue_submissions
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    match written {
        Ok(results) => {
            for (submission, result) in batch.iter().zip(results) {
                if !result.duplicate {
                    wake.notify_one();
                }
                // A submitter that gave up waiting is not an error: its job is stored.
                let _ = submission.reply.send(Ok(result));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch.len(), "enqueueing jobs failed");
            let err = EnqueueError::Store(e.to_string());
            for submission in batch {
                let _ = submission.reply.send(Err(err.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobState;

    #[test]
    fn concurrent_submissions_are_committed_and_deduplicated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("q.redb")).expect("open"));
        let wake = Arc::new(Notify::new());
        let stats = Arc::new(JobStats::default());
        let (committer, enqueuer) =
            Committer::start(Arc::clone(&store), wake, Arc::clone(&stats)).expect("start");
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let enqueuer = enqueuer.clone();
                std::thread::spawn(move || {
                    (0..20)
                        .map(|j| {
                            // Every key is submitted twice (by threads i and i ^ 1).
                            let key = format!("k{}-{j}", i / 2);
                            enqueuer
                                .enqueue(&key, Duration::from_secs(60), "t", "{}")
                                .expect("enqueue")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let results: Vec<Enqueued> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("thread"))
            .collect();
        drop(enqueuer);
        committer.stop();
        let fresh = results.iter().filter(|r| !r.duplicate).count();
        assert_eq!(fresh, 80);
        assert_eq!(results.len(), 160);
        assert_eq!(store.job_count(JobState::Queued).expect("count"), 80);
        let commits = stats.enqueue_commits.load(Ordering::Relaxed);
        // A duplicate whose first submission was already committed is answered without the
        // committer; one racing with it goes through it.
        let submitted = stats.enqueue_submissions.load(Ordering::Relaxed);
        assert!((80..=160).contains(&submitted), "{submitted}");
        assert!((1..=submitted).contains(&commits), "{commits}");
    }

    #[test]
    fn a_committed_key_is_a_duplicate_without_another_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("q.redb")).expect("open"));
        let stats = Arc::new(JobStats::default());
        let (committer, enqueuer) = Committer::start(
            Arc::clone(&store),
            Arc::new(Notify::new()),
            Arc::clone(&stats),
        )
        .expect("start");
        let ttl = Duration::from_secs(60);
        let first = enqueuer.enqueue("k", ttl, "t", "{}").expect("enqueue");
        assert!(!first.duplicate);
        let again = enqueuer.enqueue("k", ttl, "t", "{}").expect("enqueue");
        assert_eq!((again.job_id, again.duplicate), (first.job_id, true));
        // Answered from the committed state: the committer saw one submission, one commit.
        assert_eq!(stats.enqueue_submissions.load(Ordering::Relaxed), 1);
        assert_eq!(stats.enqueue_commits.load(Ordering::Relaxed), 1);
        // An expired key is not a duplicate: it goes to the committer and makes a new job.
        let short = enqueuer
            .enqueue("brief", Duration::ZERO, "t", "{}")
            .expect("enqueue");
        let after = enqueuer
            .enqueue("brief", Duration::ZERO, "t", "{}")
            .expect("enqueue");
        assert!(!after.duplicate);
        assert_ne!(after.job_id, short.job_id);
        drop(enqueuer);
        committer.stop();
        assert_eq!(store.job_count(JobState::Queued).expect("count"), 3);
    }

    #[test]
    fn a_stopped_committer_refuses_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("q.redb")).expect("open"));
        let (tx, rx) = mpsc::sync_channel(1);
        drop(rx);
        let enqueuer = Enqueuer { tx, store };
        let err = enqueuer
            .enqueue("k", Duration::from_secs(1), "t", "{}")
            .expect_err("stopped");
        assert!(matches!(err, EnqueueError::Stopped));
    }
}
