//! The job queue shared by every trigger: job kinds and payloads, the group-commit enqueuer
//! (`queue.rs`), the worker pool on tokio (`worker.rs`) and what each kind does (`execute.rs`).

mod digest;
mod execute;
mod queue;
mod runner;
mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::model::{ChannelId, ChannelKind, Summary};

pub use queue::{Committer, EnqueueError, Enqueuer};
pub use runner::{JobRunner, RunnerError};
pub use worker::{PoolOptions, WorkerPool};

/// Job kind: summarize a channel window (payload [`SummaryJob`]).
pub const SUMMARY_REQUEST: &str = "summary_request";

/// Job kind: a scheduled digest (payload [`DigestJob`]).
pub const DIGEST: &str = "digest";

/// What a finished job's result becomes when a channel it summarized is opted out.
pub const REDACTED_RESULT: &str =
    r#"{"redacted":"a channel of this summary was opted out of summaries; its text was deleted"}"#;

/// True when `job` summarizes one of `channels` (a `summary_request` of it, or a `digest` with
/// it as a source); other kinds and unreadable payloads are not.
pub fn summarizes_any(job: &crate::model::Job, channels: &[ChannelId]) -> bool {
    let has = |id: u64| channels.contains(&ChannelId(id));
    match job.kind.as_str() {
        SUMMARY_REQUEST => {
            serde_json::from_str::<SummaryJob>(&job.payload).is_ok_and(|p| has(p.channel_id))
        }
        DIGEST => serde_json::from_str::<DigestJob>(&job.payload)
            .is_ok_and(|p| p.source_channels.iter().any(|c| has(*c))),
        _ => false,
    }
}

/// A boxed, sendable future, as returned by [`Publisher`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Posts a finished summary to a Discord channel (implemented by the Discord bot).
pub trait Publisher: Send + Sync {
    /// Post `summary` to `channel`; the error text is recorded on the job.
    fn post_summary(
        &self,
        channel: ChannelId,
        summary: &Summary,
    ) -> BoxFuture<'_, Result<(), String>>;

    /// Like [`Publisher::post_summary`], each message marked with a nonce derived from `nonce`
    /// (at most 20 characters), so a retry after a crash does not post it twice.
    fn post_summary_once(
        &self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), String>>;

    /// Post one plain line of text (e.g. a digest's "quiet day" note) to `channel`, once per
    /// `nonce` (at most 25 characters).
    fn post_text(
        &self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
    ) -> BoxFuture<'_, Result<(), String>>;
}

/// The stored payload of a `summary_request` job: the window is fixed when the request is
/// accepted, so a retry summarizes the same messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryJob {
    /// The channel summarized.
    pub channel_id: u64,
    /// Window start (Unix millis, inclusive).
    pub since: i64,
    /// Window end (Unix millis, exclusive).
    pub until: i64,
    /// Post the summary to this channel when done.
    pub post_to_channel_id: Option<u64>,
    /// Summarizer override: `builtin` or `openai`.
    pub provider: Option<String>,
    /// Output language override.
    pub language: Option<String>,
}

/// The stored payload of a `digest` job, fixed when the scheduler fires, so a retry posts the
/// same window to the same place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestJob {
    /// The schedule that fired.
    pub schedule_id: u64,
    /// The fire time (Unix millis); also the window's end.
    pub fire: i64,
    /// Window start (Unix millis, inclusive).
    pub since: i64,
    /// Channels summarized.
    pub source_channels: Vec<u64>,
    /// Channel the digest is posted to.
    pub target_channel: u64,
    /// Prompt variant override.
    pub kind: Option<ChannelKind>,
    /// Output language override.
    pub language: Option<String>,
    /// Post a "quiet day" line when the window holds no messages.
    pub quiet_day: bool,
}

/// Counters of what the workers did, for `/metrics` and `/health`.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Workers currently executing a job.
    pub busy: AtomicUsize,
    /// LLM tokens used by job summaries.
    pub tokens: AtomicU64,
    /// Group commits written by the enqueuer.
    pub enqueue_commits: AtomicU64,
    /// Submissions those commits held (new jobs and duplicates).
    pub enqueue_submissions: AtomicU64,
    /// Finished attempts by (kind, outcome: `done`, `retry`, `failed`).
    outcomes: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Summaries by (provider, served from cache).
    summaries: Mutex<BTreeMap<(String, bool), u64>>,
}

impl JobStats {
    /// Count one finished attempt.
    pub fn record_outcome(&self, kind: &str, outcome: &'static str) {
        bump(&self.outcomes, (kind.to_string(), outcome));
    }

    /// Count one summary produced by a job.
    pub fn record_summary(&self, summary: &Summary) {
        bump(&self.summaries, (summary.provider.clone(), summary.cached));
        self.tokens
            .fetch_add(summary.usage.total(), Ordering::Relaxed);
    }

    /// Finished attempts by (kind, outcome).
    pub fn outcomes(&self) -> Vec<((String, &'static str), u64)> {
        snapshot(&self.outcomes)
    }

    /// Summaries by (provider, cached).
    pub fn summaries(&self) -> Vec<((String, bool), u64)> {
        snapshot(&self.summaries)
    }
}

/// Add one to `key` (a poisoned lock still counts: the map holds plain integers).
fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *map.entry(key).or_insert(0) += 1;
}

/// A copy of the counters.
fn snapshot<K: Ord + Clone>(map: &Mutex<BTreeMap<K, u64>>) -> Vec<(K, u64)> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opting_a_channel_out_redacts_the_summaries_finished_jobs_hold() {
        let (_dir, store) = crate::store::test_support::temp_store();
        let now = crate::model::Timestamp(1_000);
        let summary = |c: u64| format!(r#"{{"channel_id":{c},"since":0,"until":1}}"#);
        let digest = r#"{"schedule_id":1,"fire":1,"since":0,"source_channels":[8,9],
            "target_channel":3,"kind":null,"language":null,"quiet_day":false}"#;
        let ids: Vec<u64> = [
            (SUMMARY_REQUEST, summary(5)),
            (SUMMARY_REQUEST, summary(6)),
            (DIGEST, digest.to_owned()),
            ("other", summary(5)),
        ]
        .iter()
        .map(|(kind, payload)| {
            let job = store.enqueue_job(kind, payload, now).expect("enqueue");
            store
                .complete_job(job.id, "secret summary text", now)
                .expect("done");
            job.id
        })
        .collect();
        let gone = [ChannelId(5), ChannelId(9)];
        let changed = store
            .redact_job_results(|j| summarizes_any(j, &gone), REDACTED_RESULT)
            .expect("redact");
        assert_eq!(changed, 2);
        let result = |id: u64| store.job(id).expect("read").and_then(|j| j.result);
        assert_eq!(result(ids[0]).as_deref(), Some(REDACTED_RESULT));
        assert_eq!(result(ids[1]).as_deref(), Some("secret summary text"));
        assert_eq!(
            result(ids[2]).as_deref(),
            Some(REDACTED_RESULT),
            "digest source"
        );
        assert_eq!(
            result(ids[3]).as_deref(),
            Some("secret summary text"),
            "unknown kind"
        );
    }
}
