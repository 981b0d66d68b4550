//! The durable job queue: jobs by id plus a `(state, time, id)` index, so claiming the next due
//! job (or recovering one whose worker died) is one range scan.

use std::time::Duration;

use redb::{ReadableTable, Table, WriteTransaction};

use super::idempotency::KeyTables;
use super::job_batch::JobOutcome;
use super::schema::{next_id_in, JOBS, JOB_QUEUE, META};
use super::{codec, OrStore, Store, StoreError};
use crate::model::{Job, JobState, Timestamp};

/// Record name used in decode errors.
const WHAT: &str = "job";
/// Meta counter of job ids.
const ID_COUNTER: &str = "next_job_id";

/// The index's state byte.
fn state_code(state: JobState) -> u8 {
    match state {
        JobState::Queued => 0,
        JobState::Running => 1,
        JobState::Done => 2,
        JobState::Failed => 3,
    }
}

/// The job's queue index key: while pending, its next attempt (or lease expiry); once
/// finished, the time it finished (for pruning).
pub(super) fn queue_key(job: &Job) -> (u8, i64, u64) {
    let time = match job.state {
        JobState::Queued | JobState::Running => job.next_attempt_at.0,
        JobState::Done | JobState::Failed => job.updated_at.0,
    };
    (state_code(job.state), time, job.id)
}

/// A job to enqueue under an idempotency key.
#[derive(Clone, Copy, Debug)]
pub struct KeyedJob<'a> {
    /// The idempotency key (e.g. a webhook delivery id).
    pub key: &'a str,
    /// When the key is forgotten and the same key creates a new job again.
    pub key_expires_at: Timestamp,
    /// Job kind.
    pub kind: &'a str,
    /// Kind-specific parameters as JSON text.
    pub payload: &'a str,
}

/// The outcome of enqueueing a [`KeyedJob`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    /// The job created now, or the one the key created before.
    pub job_id: u64,
    /// The key was already live: nothing new was enqueued.
    pub duplicate: bool,
}

/// The queue index inside a write transaction.
type QueueTable<'t> = Table<'t, (u8, i64, u64), ()>;

impl Store {
    /// Add a queued job, due now.
    pub fn enqueue_job(
        &self,
        kind: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<Job, StoreError> {
        let mut jobs = self.enqueue_jobs(&[(kind, payload)], now)?;
        jobs.pop().ok_or(StoreError::Database {
            detail: "enqueueing one job returned none".to_string(),
        })
    }

    /// Add several queued `(kind, payload)` jobs, due now, in ONE durable transaction (group
    /// commit for bursts of webhook deliveries). Returns them in order, with their ids.
    pub fn enqueue_jobs(
        &self,
        jobs: &[(&str, &str)],
        now: Timestamp,
    ) -> Result<Vec<Job>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|txn| {
            let mut tables = JobTables::open(txn)?;
            jobs.iter()
                .map(|&(kind, payload)| tables.rows.insert_new(kind, payload, now))
                .collect()
        })
    }

    /// Enqueue one job under an idempotency key, both in ONE durable transaction: a live key
    /// returns the job it created before (`duplicate: true`) and enqueues nothing.
    pub fn enqueue_job_with_key(
        &self,
        job: &KeyedJob<'_>,
        now: Timestamp,
    ) -> Result<Enqueued, StoreError> {
        let mut out = self.enqueue_jobs_with_keys(std::slice::from_ref(job), now)?;
        out.pop().ok_or(StoreError::Database {
            detail: "enqueueing one keyed job returned none".to_string(),
        })
    }

    /// Group commit of [`Store::enqueue_job_with_key`]: every job and key in ONE durable
    /// transaction, results in order. A key repeated within the batch is a duplicate of its
    /// first occurrence.
    pub fn enqueue_jobs_with_keys(
        &self,
        jobs: &[KeyedJob<'_>],
        now: Timestamp,
    ) -> Result<Vec<Enqueued>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|txn| {
            let mut tables = JobTables::open(txn)?;
            jobs.iter().map(|j| tables.enqueue_keyed(j, now)).collect()
        })
    }

    /// The job `key` created, while the key is live at `now` in the last committed state (a
    /// read, no disk sync): a delivery seen before is answered without a write.
    pub fn live_keyed_job(&self, key: &str, now: Timestamp) -> Result<Option<u64>, StoreError> {
        let Some(stored) = self.live_idempotency_value(key, now)? else {
            return Ok(None);
        };
        job_id_of(key, &stored).map(Some)
    }

    /// At startup, when no worker can be running yet: put every running job (its worker died
    /// with the previous process) back in the queue, due now. Returns how many.
    pub fn requeue_running_jobs(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(|txn| {
            let code = state_code(JobState::Running);
            let mut tables = JobTables::open(txn)?;
            let ids: Vec<u64> = {
                let rows = tables
                    .rows
                    .queue
                    .range((code, i64::MIN, 0)..=(code, i64::MAX, u64::MAX))
                    .or_store()?;
                rows.map(|e| e.or_store().map(|(k, _)| k.value().2))
                    .collect::<Result<_, _>>()?
            };
            for &id in &ids {
                let old = tables.rows.load(id)?;
                let job = Job {
                    state: JobState::Queued,
                    next_attempt_at: now,
                    updated_at: now,
                    ..old.clone()
                };
                tables.rows.save(Some(&old), &job)?;
            }
            Ok(ids.len() as u64)
        })
    }

    /// Claim the job due first: a queued job whose next attempt is due, or a running one whose
    /// lease expired (its worker died). It becomes running with `attempts + 1` and a lease
    /// until `now + lease`.
    pub fn claim_next_job(
        &self,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        self.write(|txn| JobTables::open(txn)?.claim_due(now, lease))
    }

    /// When the next job is due: the earliest queued job's next attempt or running job's lease
    /// expiry; None when no job is pending. A read: cheap to call from idle workers.
    pub fn next_job_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|txn| {
            let queue = txn.open_table(JOB_QUEUE).or_store()?;
            let mut due: Option<i64> = None;
            for state in [JobState::Queued, JobState::Running] {
                let code = state_code(state);
                let first = queue
                    .range((code, i64::MIN, 0)..=(code, i64::MAX, u64::MAX))
                    .or_store()?
                    .next()
                    .transpose()
                    .or_store()?;
                if let Some((key, _)) = first {
                    let time = key.value().1;
                    due = Some(due.map_or(time, |d| d.min(time)));
                }
            }
            Ok(due.map(Timestamp))
        })
    }

    /// Mark a job done with its result (JSON text).
    pub fn complete_job(&self, id: u64, result: &str, now: Timestamp) -> Result<(), StoreError> {
        let done = JobOutcome::Done {
            result: result.to_string(),
        };
        self.update_job(id, |job| done.apply(job, now))
    }

    /// Record a failed attempt: `Some(retry_at)` queues it again for then, `None` fails it for good.
    pub fn fail_job(
        &self,
        id: u64,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let failed = JobOutcome::Failed {
            error: error.to_string(),
            retry_at,
        };
        self.update_job(id, |job| failed.apply(job, now))
    }

    /// Replace a job's payload with `f(payload)` in one transaction (a job records what it
    /// has done so far there, e.g. the messages it posted).
    pub fn update_job_payload(
        &self,
        id: u64,
        f: impl FnOnce(&str) -> String,
    ) -> Result<(), StoreError> {
        self.update_job(id, |job| job.payload = f(&job.payload))
    }

    /// One job by id.
    pub fn job(&self, id: u64) -> Result<Option<Job>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(JOBS).or_store()?;
            let value = table.get(id).or_store()?;
            value.map(|v| codec::decode(WHAT, v.value())).transpose()
        })
    }

    /// The `limit` most recently enqueued jobs, newest first.
    pub fn recent_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(JOBS).or_store()?;
            table
                .iter()
                .or_store()?
                .rev()
                .take(limit)
                .map(|e| codec::decode(WHAT, e.or_store()?.1.value()))
                .collect()
        })
    }

    /// How many jobs are in `state`.
    pub fn job_count(&self, state: JobState) -> Result<u64, StoreError> {
        self.read(|txn| {
            let queue = txn.open_table(JOB_QUEUE).or_store()?;
            let code = state_code(state);
            let mut count = 0;
            for entry in queue
                .range((code, i64::MIN, 0)..=(code, i64::MAX, u64::MAX))
                .or_store()?
            {
                entry.or_store()?;
                count += 1;
            }
            Ok(count)
        })
    }

    /// Retention: delete done and failed jobs that finished before `cutoff`. Returns the count.
    pub fn prune_finished_jobs(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.write(|txn| {
            let mut queue = txn.open_table(JOB_QUEUE).or_store()?;
            let mut jobs = txn.open_table(JOBS).or_store()?;
            let mut pruned = 0;
            for state in [JobState::Done, JobState::Failed] {
                let code = state_code(state);
                let range = (code, i64::MIN, 0)..(code, cutoff.0, 0);
                for entry in queue.extract_from_if(range, |_, ()| true).or_store()? {
                    let id = entry.or_store()?.0.value().2;
                    jobs.remove(id).or_store()?;
                    pruned += 1;
                }
            }
            Ok(pruned)
        })
    }

    /// Replace the result of every finished job that `matches` with `note` (e.g. when its
    /// channel was opted out, the summary it holds must go too). Returns how many were changed.
    pub fn redact_job_results(
        &self,
        matches: impl Fn(&Job) -> bool,
        note: &str,
    ) -> Result<u64, StoreError> {
        self.write(|txn| redact_in(txn, matches, note))
    }

    /// Load a job, change it with `f`, and save it with its index row moved.
    fn update_job(&self, id: u64, f: impl FnOnce(&mut Job)) -> Result<(), StoreError> {
        self.write(|txn| JobTables::open(txn)?.update(id, f))
    }
}

/// [`Store::redact_job_results`] inside an open write transaction.
pub(super) fn redact_in(
    txn: &WriteTransaction,
    matches: impl Fn(&Job) -> bool,
    note: &str,
) -> Result<u64, StoreError> {
    let mut changed = Vec::new();
    {
        let table = txn.open_table(JOBS).or_store()?;
        for entry in table.iter().or_store()? {
            let (_, value) = entry.or_store()?;
            let job: Job = codec::decode(WHAT, value.value())?;
            if job.result.as_deref().is_some_and(|r| r != note) && matches(&job) {
                changed.push(job);
            }
        }
    }
    for mut job in changed.iter().cloned() {
        job.result = Some(note.to_owned());
        // The index key depends on state and times only: it does not move.
        let bytes = codec::encode(WHAT, &job)?;
        txn.open_table(JOBS)
            .or_store()?
            .insert(job.id, bytes.as_slice())
            .or_store()?;
    }
    Ok(changed.len() as u64)
}

/// The job queue's tables (with the idempotency keys and the id counter), open in a write
/// transaction: a group commit opens them once for all of its jobs instead of once per job.
pub(super) struct JobTables<'t> {
    rows: JobRows<'t>,
    keys: KeyTables<'t>,
}

/// The jobs, their queue index and the id counter.
struct JobRows<'t> {
    jobs: Table<'t, u64, &'static [u8]>,
    queue: QueueTable<'t>,
    meta: Table<'t, &'static str, u64>,
}

impl<'t> JobTables<'t> {
    /// Open the tables in `txn`.
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(JobTables {
            rows: JobRows {
                jobs: txn.open_table(JOBS).or_store()?,
                queue: txn.open_table(JOB_QUEUE).or_store()?,
                meta: txn.open_table(META).or_store()?,
            },
            keys: KeyTables::open(txn)?,
        })
    }

    /// Load job `id`, change it with `f`, and save it with its index row moved.
    pub(super) fn update(&mut self, id: u64, f: impl FnOnce(&mut Job)) -> Result<(), StoreError> {
        let old = self.rows.load(id)?;
        let mut job = old.clone();
        f(&mut job);
        self.rows.save(Some(&old), &job)
    }

    /// Claim the job due first at `now` (see [`Store::claim_next_job`]).
    pub(super) fn claim_due(
        &mut self,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let old = loop {
            let due = {
                let queued = first_due(&self.rows.queue, JobState::Queued, now)?;
                let expired = first_due(&self.rows.queue, JobState::Running, now)?;
                match (queued, expired) {
                    (Some(q), Some(r)) => Some(if (r.1, r.2) < (q.1, q.2) { r } else { q }),
                    (q, r) => q.or(r),
                }
            };
            let Some(key @ (_, _, id)) = due else {
                return Ok(None);
            };
            match self.rows.load(id) {
                Ok(job) => break job,
                // A due row whose job is gone or unreadable would be due forever and fail every
                // claim (and, batched, every write with it): its index row goes; the job row, if
                // any, stays for `db verify` to report.
                Err(e @ (StoreError::JobNotFound { .. } | StoreError::Decode { .. })) => {
                    tracing::error!(error = %e, job_id = id, "a queued job cannot be read; it is taken off the queue");
                    self.rows.queue.remove(key).or_store()?;
                }
                Err(e) => return Err(e),
            }
        };
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let job = Job {
            state: JobState::Running,
            attempts: old.attempts.saturating_add(1),
            next_attempt_at: Timestamp(now.0.saturating_add(lease_ms)),
            updated_at: now,
            ..old.clone()
        };
        self.rows.save(Some(&old), &job)?;
        Ok(Some(job))
    }

    /// Claim `job.key` and, when it was not live, create the job.
    pub(super) fn enqueue_keyed(
        &mut self,
        job: &KeyedJob<'_>,
        now: Timestamp,
    ) -> Result<Enqueued, StoreError> {
        let mut created = None;
        let JobTables { rows, keys } = self;
        let previous = keys.claim(job.key, job.key_expires_at, now, || {
            let new = rows.insert_new(job.kind, job.payload, now)?;
            created = Some(new.id);
            Ok(new.id.to_string())
        })?;
        match (previous, created) {
            (None, Some(job_id)) => Ok(Enqueued {
                job_id,
                duplicate: false,
            }),
            (Some(stored), _) => job_id_of(job.key, &stored).map(|job_id| Enqueued {
                job_id,
                duplicate: true,
            }),
            (None, None) => Err(StoreError::Database {
                detail: "an idempotency key was claimed without creating its job".to_string(),
            }),
        }
    }
}

impl JobRows<'_> {
    /// Create a queued job due `now`.
    fn insert_new(&mut self, kind: &str, payload: &str, now: Timestamp) -> Result<Job, StoreError> {
        let job = Job {
            id: next_id_in(&mut self.meta, ID_COUNTER)?,
            kind: kind.to_string(),
            payload: payload.to_string(),
            state: JobState::Queued,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
            last_error: None,
            result: None,
        };
        self.save(None, &job)?;
        Ok(job)
    }

    /// Read a job; a missing id is [`StoreError::JobNotFound`].
    fn load(&self, id: u64) -> Result<Job, StoreError> {
        match self.jobs.get(id).or_store()? {
            Some(v) => codec::decode(WHAT, v.value()),
            None => Err(StoreError::JobNotFound { id }),
        }
    }

    /// Write `job` and move its index row from where `old` had it.
    fn save(&mut self, old: Option<&Job>, job: &Job) -> Result<(), StoreError> {
        let bytes = codec::encode(WHAT, job)?;
        if let Some(old) = old {
            self.queue.remove(queue_key(old)).or_store()?;
        }
        self.queue.insert(queue_key(job), ()).or_store()?;
        self.jobs.insert(job.id, bytes.as_slice()).or_store()?;
        Ok(())
    }
}

/// The job id an idempotency key of a keyed job holds.
fn job_id_of(key: &str, stored: &str) -> Result<u64, StoreError> {
    stored.parse().map_err(|_| StoreError::Decode {
        what: "idempotency key",
        detail: format!("key {key:?} holds {stored:?}, not a job id"),
    })
}

/// The earliest index row of `state` whose time is at or before `now`.
fn first_due(
    queue: &QueueTable<'_>,
    state: JobState,
    now: Timestamp,
) -> Result<Option<(u8, i64, u64)>, StoreError> {
    let code = state_code(state);
    let first = queue
        .range((code, i64::MIN, 0)..=(code, now.0, u64::MAX))
        .or_store()?
        .next()
        .transpose()
        .or_store()?;
    Ok(first.map(|(key, _)| key.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    const LEASE: Duration = Duration::from_secs(60);

    #[test]
    fn claims_oldest_due_first_and_nothing_when_empty() {
        let (_d, s) = temp_store();
        assert_eq!(s.next_job_due().expect("due"), None);
        assert!(s
            .claim_next_job(Timestamp(0), LEASE)
            .expect("claim")
            .is_none());
        let a = s
            .enqueue_job("digest", "{}", Timestamp(10))
            .expect("enqueue");
        let b = s
            .enqueue_job("digest", "{}", Timestamp(5))
            .expect("enqueue");
        let c = s
            .enqueue_job("digest", "{}", Timestamp(50))
            .expect("enqueue");
        assert_eq!((a.id, b.id, c.id), (1, 2, 3));
        let first = s
            .claim_next_job(Timestamp(20), LEASE)
            .expect("claim")
            .expect("job");
        assert_eq!(first.id, b.id);
        assert_eq!((first.state, first.attempts), (JobState::Running, 1));
        assert_eq!(first.next_attempt_at, Timestamp(60_020));
        assert_eq!(
            s.claim_next_job(Timestamp(20), LEASE)
                .expect("claim")
                .map(|j| j.id),
            Some(a.id)
        );
        // c is not due yet.
        assert!(s
            .claim_next_job(Timestamp(20), LEASE)
            .expect("claim")
            .is_none());
        assert_eq!(s.job_count(JobState::Running).expect("count"), 2);
        assert_eq!(s.job_count(JobState::Queued).expect("count"), 1);
        // c is due at 50, before the running jobs' leases expire.
        assert_eq!(s.next_job_due().expect("due"), Some(Timestamp(50)));
    }

    #[test]
    fn batch_enqueue_assigns_increasing_ids_in_one_go() {
        let (_d, s) = temp_store();
        assert!(s.enqueue_jobs(&[], Timestamp(0)).expect("empty").is_empty());
        let jobs = s
            .enqueue_jobs(&[("a", "1"), ("b", "2"), ("c", "3")], Timestamp(7))
            .expect("enqueue");
        let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(s.job(2).expect("get").expect("present").kind, "b");
        assert_eq!(s.job_count(JobState::Queued).expect("count"), 3);
        let first = s.claim_next_job(Timestamp(7), LEASE).expect("claim");
        assert_eq!(first.map(|j| j.kind), Some("a".to_string()));
    }

    #[test]
    fn expired_lease_is_recovered() {
        let (_d, s) = temp_store();
        let j = s
            .enqueue_job("summary_request", "{\"c\":1}", Timestamp(0))
            .expect("enqueue");
        s.claim_next_job(Timestamp(0), LEASE)
            .expect("claim")
            .expect("job");
        assert_eq!(s.next_job_due().expect("due"), Some(Timestamp(60_000)));
        assert!(s
            .claim_next_job(Timestamp(59_999), LEASE)
            .expect("claim")
            .is_none());
        let again = s
            .claim_next_job(Timestamp(60_000), LEASE)
            .expect("claim")
            .expect("recovered");
        assert_eq!(
            (again.id, again.attempts, again.payload.as_str()),
            (j.id, 2, "{\"c\":1}")
        );
    }

    #[test]
    fn retry_then_final_failure_then_success_path() {
        let (_d, s) = temp_store();
        let j = s
            .enqueue_job("digest", "{}", Timestamp(0))
            .expect("enqueue");
        s.claim_next_job(Timestamp(0), LEASE).expect("claim");
        s.fail_job(j.id, "429", Some(Timestamp(1000)), Timestamp(1))
            .expect("fail");
        let queued = s.job(j.id).expect("get").expect("present");
        assert_eq!(
            (queued.state, queued.last_error.as_deref()),
            (JobState::Queued, Some("429"))
        );
        assert!(s
            .claim_next_job(Timestamp(999), LEASE)
            .expect("claim")
            .is_none());
        s.claim_next_job(Timestamp(1000), LEASE)
            .expect("claim")
            .expect("retried");
        s.fail_job(j.id, "gave up", None, Timestamp(1001))
            .expect("fail");
        assert_eq!(
            s.job(j.id).expect("get").expect("present").state,
            JobState::Failed
        );
        assert!(s
            .claim_next_job(Timestamp(i64::MAX), LEASE)
            .expect("claim")
            .is_none());

        let k = s
            .enqueue_job("digest", "{}", Timestamp(2000))
            .expect("enqueue");
        s.claim_next_job(Timestamp(2000), LEASE).expect("claim");
        s.complete_job(k.id, "{\"ok\":true}", Timestamp(2001))
            .expect("complete");
        let done = s.job(k.id).expect("get").expect("present");
        assert_eq!(
            (done.state, done.result.as_deref()),
            (JobState::Done, Some("{\"ok\":true}"))
        );
        assert_eq!(s.recent_jobs(1).expect("recent")[0].id, k.id);
        assert_eq!(s.recent_jobs(10).expect("recent").len(), 2);
        assert!(matches!(
            s.complete_job(99, "", Timestamp(0)),
            Err(StoreError::JobNotFound { id: 99 })
        ));
        assert_eq!(s.prune_finished_jobs(Timestamp(2001)).expect("prune"), 1);
        assert!(s.job(j.id).expect("get").is_none());
        assert_eq!(s.prune_finished_jobs(Timestamp(2002)).expect("prune"), 1);
    }

    fn keyed<'a>(key: &'a str, payload: &'a str) -> KeyedJob<'a> {
        KeyedJob {
            key,
            key_expires_at: Timestamp(1_000),
            kind: "summary_request",
            payload,
        }
    }

    #[test]
    fn keyed_enqueue_deduplicates_within_and_across_batches() {
        let (_d, s) = temp_store();
        let out = s
            .enqueue_jobs_with_keys(
                &[keyed("a", "1"), keyed("b", "2"), keyed("a", "3")],
                Timestamp(0),
            )
            .expect("enqueue");
        let summary: Vec<_> = out.iter().map(|e| (e.job_id, e.duplicate)).collect();
        assert_eq!(summary, vec![(1, false), (2, false), (1, true)]);
        assert_eq!(s.job_count(JobState::Queued).expect("count"), 2);
        let again = s
            .enqueue_job_with_key(&keyed("b", "x"), Timestamp(999))
            .expect("enqueue");
        assert_eq!((again.job_id, again.duplicate), (2, true));
        assert_eq!(s.job(2).expect("get").expect("present").payload, "2");
        // Once the key expired, the same key creates a new job.
        let fresh = s
            .enqueue_job_with_key(&keyed("b", "y"), Timestamp(1_000))
            .expect("enqueue");
        assert_eq!((fresh.job_id, fresh.duplicate), (3, false));
        assert!(s
            .enqueue_jobs_with_keys(&[], Timestamp(0))
            .expect("empty")
            .is_empty());
    }

    #[test]
    fn running_jobs_are_requeued_at_startup() {
        let (_d, s) = temp_store();
        s.enqueue_jobs(&[("a", "1"), ("b", "2")], Timestamp(0))
            .expect("enqueue");
        s.claim_next_job(Timestamp(0), LEASE).expect("claim");
        assert_eq!(s.requeue_running_jobs(Timestamp(5)).expect("requeue"), 1);
        assert_eq!(s.job_count(JobState::Running).expect("count"), 0);
        let claim = || {
            s.claim_next_job(Timestamp(5), LEASE)
                .expect("claim")
                .map(|j| (j.id, j.attempts))
        };
        // Job 2 was due earlier (0) than the requeued job 1 (5); job 1 keeps its attempt count.
        assert_eq!(claim(), Some((2, 1)));
        assert_eq!(claim(), Some((1, 2)));
        assert_eq!(s.requeue_running_jobs(Timestamp(6)).expect("requeue"), 2);
        s.claim_next_job(Timestamp(6), LEASE).expect("claim");
        assert_eq!(s.requeue_running_jobs(Timestamp(6)).expect("requeue"), 1);
        assert_eq!(s.requeue_running_jobs(Timestamp(7)).expect("requeue"), 0);
    }
}
