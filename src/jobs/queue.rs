//! Group commit: request threads hand keyed jobs, and job workers their claims and attempt
//! outcomes, to one committer thread, which writes everything waiting at that moment in ONE
//! durable transaction and answers each sender once it committed. The workers' writes thus ride
//! on the webhook's commits instead of queueing for the single database writer between them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Notify;

use super::JobStats;
use crate::model::{Job, Timestamp};
use crate::store::{Enqueued, JobBatch, JobOutcome, KeyedJob, Store};

/// Most submissions written in one transaction.
const MAX_BATCH: usize = 512;
/// How often an idle committer checks whether it should stop.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// Most submissions waiting for the committer; senders block beyond that (back-pressure).
const QUEUE_DEPTH: usize = 4096;

/// Why a job could not be enqueued, claimed or recorded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EnqueueError {
    /// The database write failed; nothing was stored.
    #[error("the job could not be stored: {0}")]
    Store(String),
    /// The committer stopped (shutting down).
    #[error("the job queue is shutting down; retry later")]
    Stopped,
}

/// A job to enqueue, owned while it waits for the committer.
struct NewJob {
    key: String,
    key_expires_at: Timestamp,
    kind: String,
    payload: String,
}

/// One submission waiting for the committer, with where its answer goes.
enum Submission {
    /// A new keyed job.
    Enqueue(NewJob, SyncSender<Result<Enqueued, EnqueueError>>),
    /// The outcome of a job's attempt.
    Finish(u64, JobOutcome, SyncSender<Result<(), EnqueueError>>),
    /// A claim of the job due first, leased for the duration.
    Claim(Duration, SyncSender<Result<Option<Job>, EnqueueError>>),
}

/// A cloneable handle for writing to the job queue through the committer; each call blocks the
/// calling (non-async) thread until its write is durable.
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
        let job = NewJob {
            key: key.to_string(),
            key_expires_at: Timestamp(Timestamp::now().0.saturating_add(ttl_ms)),
            kind: kind.to_string(),
            payload: payload.to_string(),
        };
        self.submit(|reply| Submission::Enqueue(job, reply))
    }

    /// Claim the job due first (queued and due, or running with an expired lease), leased for
    /// `lease`; None when none is due. Returns once the claim is durable.
    pub fn claim(&self, lease: Duration) -> Result<Option<Job>, EnqueueError> {
        self.submit(|reply| Submission::Claim(lease, reply))
    }

    /// Record the outcome of job `id`'s attempt. Returns once it is durable: an outcome reported
    /// after this survives a crash.
    pub fn finish(&self, id: u64, outcome: JobOutcome) -> Result<(), EnqueueError> {
        self.submit(|reply| Submission::Finish(id, outcome, reply))
    }

    /// Hand a submission to the committer and wait for its answer.
    fn submit<T>(
        &self,
        make: impl FnOnce(SyncSender<Result<T, EnqueueError>>) -> Submission,
    ) -> Result<T, EnqueueError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(make(reply))
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
        commit(store, wake, stats, batch);
    }
}

/// Write one batch, count it, and answer every submitter (counted first, so a submitter that
/// got its answer sees its commit in `stats`). A submitter that gave up waiting is not an
/// error: its write is stored.
fn commit(store: &Store, wake: &Notify, stats: &JobStats, batch: Vec<Submission>) {
    let mut enqueues = Vec::new();
    let mut finishes = Vec::new();
    let mut claims = Vec::new();
    for submission in batch {
        match submission {
            Submission::Enqueue(job, reply) => enqueues.push((job, reply)),
            Submission::Finish(id, outcome, reply) => finishes.push((id, outcome, reply)),
            Submission::Claim(lease, reply) => claims.push((lease, reply)),
        }
    }
    let writes = JobBatch {
        finished: finishes.iter().map(|(id, o, _)| (*id, o)).collect(),
        enqueued: enqueues
            .iter()
            .map(|(j, _)| KeyedJob {
                key: &j.key,
                key_expires_at: j.key_expires_at,
                kind: &j.kind,
                payload: &j.payload,
            })
            .collect(),
        claims: claims.iter().map(|(lease, _)| *lease).collect(),
    };
    let mut written = store.commit_job_batch(&writes, Timestamp::now());
    let mut claim_error = None;
    if let (Err(e), false) = (&written, writes.claims.is_empty()) {
        // Claims must not cost the webhook its enqueues: the rest is written again without
        // them, and only the claims fail.
        tracing::warn!(error = %e, "a batch with claims failed; writing it again without them");
        claim_error = Some(EnqueueError::Store(e.to_string()));
        let without = JobBatch {
            claims: Vec::new(),
            ..writes
        };
        written = store.commit_job_batch(&without, Timestamp::now());
    }
    if !enqueues.is_empty() {
        stats.enqueue_commits.fetch_add(1, Ordering::Relaxed);
        stats
            .enqueue_submissions
            .fetch_add(enqueues.len() as u64, Ordering::Relaxed);
    }
    let written = match written {
        Ok(written) => written,
        Err(e) => {
            tracing::error!(
                error = %e,
                jobs = enqueues.len(),
                outcomes = finishes.len(),
                claims = claims.len(),
                "writing to the job queue failed"
            );
            let err = EnqueueError::Store(e.to_string());
            for (_, reply) in &enqueues {
                let _ = reply.send(Err(err.clone()));
            }
            for (_, _, reply) in &finishes {
                let _ = reply.send(Err(err.clone()));
            }
            for (_, reply) in &claims {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
    };
    for ((_, reply), result) in enqueues.iter().zip(written.enqueued) {
        if !result.duplicate {
            wake.notify_one();
        }
        let _ = reply.send(Ok(result));
    }
    for ((_, _, reply), result) in finishes.iter().zip(written.finished) {
        let _ = reply.send(result.map_err(|e| EnqueueError::Store(e.to_string())));
    }
    match claim_error {
        Some(err) => {
            for (_, reply) in &claims {
                let _ = reply.send(Err(err.clone()));
            }
        }
        None => {
            for ((_, reply), job) in claims.iter().zip(written.claimed) {
                let _ = reply.send(Ok(job));
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
    fn workers_claim_and_finish_through_the_committer_durably_and_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("q.redb")).expect("open"));
        let (committer, enqueuer) = Committer::start(
            Arc::clone(&store),
            Arc::new(Notify::new()),
            Arc::new(JobStats::default()),
        )
        .expect("start");
        let senders: Vec<_> = (0..8)
            .map(|i| {
                let enqueuer = enqueuer.clone();
                std::thread::spawn(move || {
                    for j in 0..20 {
                        let key = format!("k{i}-{j}");
                        enqueuer
                            .enqueue(&key, Duration::from_secs(60), "t", "{}")
                            .expect("enqueue");
                    }
                })
            })
            .collect();
        let finished = Arc::new(std::sync::Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, store, finished) =
                    (enqueuer.clone(), Arc::clone(&store), Arc::clone(&finished));
                std::thread::spawn(move || {
                    let deadline = std::time::Instant::now() + Duration::from_secs(60);
                    while finished.lock().expect("lock").len() < 160 {
                        assert!(std::time::Instant::now() < deadline, "jobs left unclaimed");
                        let Some(job) = queue.claim(Duration::from_secs(600)).expect("claim")
                        else {
                            std::thread::sleep(Duration::from_millis(1));
                            continue;
                        };
                        // Durable once the claim returned: a read sees committed state only.
                        let seen = store.job(job.id).expect("read").expect("job");
                        assert_eq!(seen.state, JobState::Running);
                        let done = JobOutcome::Done {
                            result: format!("r{}", job.id),
                        };
                        queue.finish(job.id, done).expect("finish");
                        let seen = store.job(job.id).expect("read").expect("job");
                        assert_eq!(seen.state, JobState::Done, "reported before committed");
                        finished.lock().expect("lock").push(job.id);
                    }
                })
            })
            .collect();
        for thread in senders.into_iter().chain(workers) {
            thread.join().expect("thread");
        }
        let mut ids = finished.lock().expect("lock").clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 160, "a job was claimed twice or lost");
        for id in ids {
            let job = store.job(id).expect("read").expect("job");
            assert_eq!((job.state, job.attempts), (JobState::Done, 1), "{job:?}");
            assert_eq!(job.result, Some(format!("r{id}")));
        }
        // An outcome for an unknown job is refused alone, with the job named.
        let unknown = JobOutcome::Done { result: "x".into() };
        let err = enqueuer.finish(9_999, unknown).expect_err("unknown job");
        assert!(err.to_string().contains("9999"), "{err}");
        drop(enqueuer);
        committer.stop();
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
