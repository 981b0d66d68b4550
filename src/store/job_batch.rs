//! One group commit of the job queue: attempt outcomes, new keyed jobs and claims, written in ONE
//! durable transaction, so the job workers' writes share the webhook's commits instead of
//! queueing for the single writer between them (see `crate::jobs::queue`).

use std::time::Duration;

use super::jobs::JobTables;
use super::{Enqueued, KeyedJob, Store, StoreError};
use crate::model::{Job, JobState, Timestamp};

/// How an attempt of a job ended, as stored on the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done, with its result (JSON text).
    Done {
        /// The result.
        result: String,
    },
    /// Failed: queued again at `retry_at`, or failed for good when `None`.
    Failed {
        /// What went wrong.
        error: String,
        /// When to try again; `None`: never.
        retry_at: Option<Timestamp>,
    },
}

impl JobOutcome {
    /// Apply the outcome to `job`, finished at `now`.
    pub(super) fn apply(&self, job: &mut Job, now: Timestamp) {
        job.updated_at = now;
        match self {
            JobOutcome::Done { result } => {
                job.state = JobState::Done;
                job.result = Some(result.clone());
            }
            JobOutcome::Failed { error, retry_at } => {
                job.last_error = Some(error.clone());
                match retry_at {
                    Some(at) => {
                        job.state = JobState::Queued;
                        job.next_attempt_at = *at;
                    }
                    None => job.state = JobState::Failed,
                }
            }
        }
    }
}

/// What one group commit writes, in this order: outcomes, new jobs, claims (so a claim may take
/// a job enqueued in the same commit, or one a finished attempt queued again).
#[derive(Debug, Default)]
pub struct JobBatch<'a> {
    /// Outcomes of finished attempts, by job id.
    pub finished: Vec<(u64, &'a JobOutcome)>,
    /// Jobs to enqueue under their idempotency keys.
    pub enqueued: Vec<KeyedJob<'a>>,
    /// One claim per entry, with the lease it asks for.
    pub claims: Vec<Duration>,
}

impl JobBatch<'_> {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.enqueued.is_empty() && self.claims.is_empty()
    }
}

/// What a committed [`JobBatch`] did, each list in the order of the batch's.
#[derive(Debug)]
pub struct JobBatchResult {
    /// Per outcome: recorded, or why not (an unknown or unreadable job; the rest was written).
    pub finished: Vec<Result<(), StoreError>>,
    /// Per new job: its id, or the job its key created before.
    pub enqueued: Vec<Enqueued>,
    /// Per claim: the job claimed, None when none was due.
    pub claimed: Vec<Option<Job>>,
}

impl Store {
    /// Write `batch` in ONE durable transaction at `now`. A whole-transaction failure (disk,
    /// database) fails every part; an outcome for a job that is missing or unreadable fails
    /// alone.
    pub fn commit_job_batch(
        &self,
        batch: &JobBatch<'_>,
        now: Timestamp,
    ) -> Result<JobBatchResult, StoreError> {
        self.write(|txn| {
            // Opened once for the whole batch, not per job.
            let mut tables = JobTables::open(txn)?;
            let mut finished = Vec::with_capacity(batch.finished.len());
            for &(id, outcome) in &batch.finished {
                match tables.update(id, |job| outcome.apply(job, now)) {
                    Ok(()) => finished.push(Ok(())),
                    Err(e @ (StoreError::JobNotFound { .. } | StoreError::Decode { .. })) => {
                        finished.push(Err(e));
                    }
                    Err(e) => return Err(e),
                }
            }
            let enqueued = batch
                .enqueued
                .iter()
                .map(|job| tables.enqueue_keyed(job, now))
                .collect::<Result<Vec<_>, _>>()?;
            let claimed = batch
                .claims
                .iter()
                .map(|&lease| tables.claim_due(now, lease))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(JobBatchResult {
                finished,
                enqueued,
                claimed,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    const LEASE: Duration = Duration::from_secs(60);

    fn keyed<'a>(key: &'a str, payload: &'a str) -> KeyedJob<'a> {
        KeyedJob {
            key,
            key_expires_at: Timestamp(1_000_000),
            kind: "t",
            payload,
        }
    }

    #[test]
    fn one_commit_records_outcomes_enqueues_and_claims_what_it_enqueued() {
        let (_d, s) = temp_store();
        let now = Timestamp(1_000);
        s.enqueue_job("t", "old", now).expect("enqueue");
        let running = s.claim_next_job(now, LEASE).expect("claim").expect("due");
        let done = JobOutcome::Done { result: "r".into() };
        let batch = JobBatch {
            finished: vec![(running.id, &done), (999, &done)],
            enqueued: vec![keyed("a", "pa"), keyed("b", "pb"), keyed("a", "again")],
            claims: vec![LEASE, LEASE, LEASE],
        };
        let out = s
            .commit_job_batch(&batch, Timestamp(2_000))
            .expect("commit");
        // The unknown job fails alone.
        assert!(out.finished[0].is_ok());
        assert!(matches!(
            out.finished[1],
            Err(StoreError::JobNotFound { id: 999 })
        ));
        let finished = s.job(running.id).expect("read").expect("job");
        assert_eq!(finished.state, JobState::Done);
        assert_eq!(finished.result.as_deref(), Some("r"));
        // Two new jobs; the repeated key is a duplicate of the first.
        let ids: Vec<_> = out
            .enqueued
            .iter()
            .map(|e| (e.job_id, e.duplicate))
            .collect();
        assert_eq!(ids[2], (ids[0].0, true));
        assert!(!ids[0].1 && !ids[1].1);
        // The claims took the two jobs enqueued in the same commit, oldest first; none was left.
        let claimed: Vec<_> = out
            .claimed
            .iter()
            .map(|j| j.as_ref().map(|j| j.id))
            .collect();
        assert_eq!(claimed, vec![Some(ids[0].0), Some(ids[1].0), None]);
        let job = s.job(ids[0].0).expect("read").expect("job");
        assert_eq!((job.state, job.attempts), (JobState::Running, 1));
        assert_eq!(job.next_attempt_at, Timestamp(2_000 + 60_000));
    }

    #[test]
    fn an_unreadable_or_missing_queued_job_is_taken_off_the_queue_and_fails_no_batch() {
        use crate::store::schema::{JOBS, JOB_QUEUE};
        use crate::store::OrStore;
        let (_d, s) = temp_store();
        let now = Timestamp(1_000);
        let bad = s.enqueue_job("t", "bad", now).expect("enqueue").id;
        let good = s
            .enqueue_job("t", "good", Timestamp(1_001))
            .expect("enqueue")
            .id;
        s.write(|txn| {
            // A job row that no longer decodes, and a queue row whose job is gone (queued = 0).
            txn.open_table(JOBS)
                .or_store()?
                .insert(bad, &b"\xff\x00"[..])
                .or_store()?;
            txn.open_table(JOB_QUEUE)
                .or_store()?
                .insert((0, 0, 777), ())
                .or_store()?;
            Ok(())
        })
        .expect("damage");
        let batch = JobBatch {
            enqueued: vec![keyed("k", "new")],
            claims: vec![LEASE, LEASE],
            ..JobBatch::default()
        };
        // The webhook's enqueue in the same commit is stored, and the claims go on past them.
        let out = s
            .commit_job_batch(&batch, Timestamp(2_000))
            .expect("commit");
        let new = out.enqueued[0].job_id;
        let claimed: Vec<_> = out
            .claimed
            .iter()
            .map(|j| j.as_ref().map(|j| j.id))
            .collect();
        assert_eq!(claimed, vec![Some(good), Some(new)]);
        // Nothing stays due that would fail the next batch.
        let again = JobBatch {
            claims: vec![LEASE],
            ..JobBatch::default()
        };
        let out = s
            .commit_job_batch(&again, Timestamp(3_000))
            .expect("commit");
        assert!(out.claimed[0].is_none());
    }

    #[test]
    fn a_failed_attempt_queued_again_in_a_batch_is_claimed_when_due() {
        let (_d, s) = temp_store();
        let now = Timestamp(1_000);
        s.enqueue_job("t", "p", now).expect("enqueue");
        let job = s.claim_next_job(now, LEASE).expect("claim").expect("due");
        let retry = JobOutcome::Failed {
            error: "503".into(),
            retry_at: Some(Timestamp(1_500)),
        };
        let batch = JobBatch {
            finished: vec![(job.id, &retry)],
            claims: vec![LEASE],
            ..JobBatch::default()
        };
        let out = s
            .commit_job_batch(&batch, Timestamp(2_000))
            .expect("commit");
        let again = out.claimed[0].as_ref().expect("due again");
        assert_eq!((again.id, again.attempts), (job.id, 2));
        assert_eq!(again.last_error.as_deref(), Some("503"));
        let gave_up = JobOutcome::Failed {
            error: "gone".into(),
            retry_at: None,
        };
        let batch = JobBatch {
            finished: vec![(job.id, &gave_up)],
            claims: vec![LEASE],
            ..JobBatch::default()
        };
        let out = s
            .commit_job_batch(&batch, Timestamp(3_000))
            .expect("commit");
        assert!(out.claimed[0].is_none());
        assert_eq!(s.job_count(JobState::Failed).expect("count"), 1);
    }
}
