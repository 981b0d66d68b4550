//! The job queue shared by every trigger: job kinds and payloads, the group-commit enqueuer
//! (`queue.rs`), the worker pool on tokio (`worker.rs`) and what each kind does (`execute.rs`).

mod digest;
mod execute;
mod parts;
mod payload;
mod personal;
mod queue;
mod runner;
mod worker;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::model::{ChannelId, GuildId, Summary, UserId};

pub use parts::PartLog;
pub use payload::{
    DigestJob, JobPayload, PayloadError, PersonalDigestJob, SummaryJob, DIGEST, PERSONAL_DIGEST,
    SUMMARY_REQUEST,
};
pub use queue::{Committer, EnqueueError, Enqueuer};
pub use runner::{JobRunner, RunnerError};
pub use worker::{PoolOptions, WorkerPool};

/// What a finished job's result becomes when a channel it summarized is opted out.
pub const REDACTED_RESULT: &str =
    r#"{"redacted":"a channel of this summary was opted out of summaries; its text was deleted"}"#;

/// True when `job` summarizes one of `channels` (a `summary_request` of it, or a `digest` with
/// it as a source); other kinds and unreadable payloads are not.
pub fn summarizes_any(job: &crate::model::Job, channels: &[ChannelId]) -> bool {
    JobPayload::decode(job)
        .is_ok_and(|p| p.summarized_channels().iter().any(|c| channels.contains(c)))
}

/// A boxed, sendable future, as returned by [`Publisher`].
pub use crate::llm::BoxFuture;

/// Why a post failed, and whether trying again may help (a timeout, 5xx or rate limit may; a
/// missing permission or an unknown channel will not).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PublishError {
    /// A later attempt may succeed.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
    /// Discord's JSON error code (0 when none).
    pub code: u64,
}

impl PublishError {
    /// A failure a retry may fix.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
            code: 0,
        }
    }

    /// A failure a retry cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
            code: 0,
        }
    }

    /// True when Discord refused a DM because the member does not accept DMs from the bot
    /// (50007 Cannot send messages to this user).
    pub fn dms_closed(&self) -> bool {
        self.code == DMS_CLOSED
    }
}

/// What a member may read in a server, as Discord says now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readable {
    /// The server's name.
    pub server: String,
    /// The channels they may read.
    pub channels: Vec<ChannelId>,
}

/// Discord's JSON error code for a DM the member does not accept.
pub const DMS_CLOSED: u64 = 50007;

/// Posts a finished summary to a Discord channel (implemented by the Discord bot).
pub trait Publisher: Send + Sync {
    /// Post `summary` to `channel`; the error is recorded on the job.
    fn post_summary(
        &self,
        channel: ChannelId,
        summary: &Summary,
    ) -> BoxFuture<'_, Result<(), PublishError>>;

    /// Like [`Publisher::post_summary`], once: message `i` is the part `{nonce}:{i}` (`nonce` at
    /// most 20 characters). A part in `parts` (posted by an earlier attempt) is skipped; each
    /// new one carries its nonce (so Discord drops a repeat within a few minutes) and is
    /// recorded in `parts` as soon as Discord created it.
    fn post_summary_once<'a>(
        &'a self,
        channel: ChannelId,
        summary: &Summary,
        nonce: &str,
        parts: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>>;

    /// Why nothing can be posted to `channel` (the first permission the bot lacks there), asked
    /// before a job summarizes, so no LLM tokens are spent on a summary that cannot be posted;
    /// None when it can, or when that cannot be known (the post itself then tells).
    fn cannot_post(&self, _channel: ChannelId) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }

    /// Post one plain line of text (e.g. a digest's "quiet day") to `channel` as the part
    /// `nonce` (at most 25 characters), once, like [`Publisher::post_summary_once`].
    fn post_text<'a>(
        &'a self,
        channel: ChannelId,
        text: &str,
        nonce: &str,
        parts: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>>;

    /// The DM channel with `user`, opened when needed. A publisher that cannot send DMs says so.
    fn open_dm(&self, _user: UserId) -> BoxFuture<'_, Result<ChannelId, PublishError>> {
        Box::pin(async { Err(PublishError::permanent("this publisher cannot send DMs")) })
    }

    /// Of `channels` of `guild` (none: every text and announcement channel it has), those
    /// `user` may read now (None: they are no longer a member).
    /// A publisher that cannot ask Discord fails, so nothing is ever sent unchecked.
    fn readable_by(
        &self,
        _guild: GuildId,
        _user: UserId,
        _channels: Vec<ChannelId>,
    ) -> BoxFuture<'_, Result<Option<Readable>, PublishError>> {
        Box::pin(async {
            Err(PublishError::permanent(
                "this publisher cannot check a member's permissions",
            ))
        })
    }
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
