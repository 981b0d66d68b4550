//! What each job kind does: `summary_request` summarizes a channel window through the summary
//! service (`crate::channel_summary`) and, when asked, posts it through the [`Publisher`];
//! `digest` runs a scheduled digest (see `digest.rs`).

use crate::channel_summary::{ChannelRequest, ChannelSummaries, SummaryError};
use crate::config::LlmProvider;
use crate::model::{ChannelId, Job, TimeWindow};
use crate::summarize::focus::Topic;
use crate::summarize::lang::Lang;
use crate::summarize::render;

use std::sync::Arc;

use super::{JobPayload, JobStats, PartLog, PublishError, Publisher, SummaryJob};

/// Where a job posts: the publisher and the parts the job has posted so far.
pub(super) type Post<'a> = (&'a dyn Publisher, &'a PartLog);

/// A failed attempt.
#[derive(Debug)]
pub(super) struct JobError {
    /// Trying again may succeed.
    pub retryable: bool,
    /// What went wrong (stored on the job).
    pub message: String,
}

impl JobError {
    pub(super) fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
        }
    }

    pub(super) fn transient(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
        }
    }
}

/// Run `job`; `Ok` holds its result (JSON text).
pub(super) async fn run(
    service: &ChannelSummaries,
    publisher: Option<&dyn Publisher>,
    stats: &JobStats,
    job: &Job,
) -> Result<String, JobError> {
    let parts = PartLog::new(Arc::clone(service.store()), job);
    match JobPayload::decode(job).map_err(|e| JobError::permanent(e.to_string()))? {
        JobPayload::SummaryRequest(payload) => {
            let post = publisher.map(|p| (p, &parts));
            summary_request(service, post, stats, job.id, &payload).await
        }
        JobPayload::Digest(payload) => {
            let post = publisher.map(|p| (p, &parts));
            super::digest::run(service, post, stats, &payload).await
        }
        JobPayload::PersonalDigest(payload) => {
            let post = publisher.map(|p| (p, &parts));
            super::personal::run(service, post, stats, &payload).await
        }
    }
}

impl From<SummaryError> for JobError {
    fn from(e: SummaryError) -> Self {
        Self {
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

/// Summarize the window through the summary service and post it when asked (once: the parts
/// carry the nonce `j{job id}:{i}`).
async fn summary_request(
    service: &ChannelSummaries,
    publisher: Option<Post<'_>>,
    stats: &JobStats,
    job_id: u64,
    job: &SummaryJob,
) -> Result<String, JobError> {
    let target = job.post_to_channel_id;
    if let (Some(channel), None) = (target, publisher) {
        return Err(JobError::permanent(format!(
            "Discord is not enabled; cannot post to channel {channel}"
        )));
    }
    let provider = provider_override(job)?;
    if let (Some(channel), Some((publisher, _))) = (target, publisher) {
        check_can_post(publisher, channel).await?;
    }
    let window = TimeWindow {
        start: job.since,
        end: job.until,
    };
    let channel = service.channel(job.channel_id, None).await;
    let mut request = ChannelRequest::new(channel, window);
    request.language.clone_from(&job.language);
    request.provider = provider;
    request.detail = job.detail;
    request.topic = job
        .topic
        .as_deref()
        .map(Topic::parse)
        .transpose()
        .map_err(|e| JobError::permanent(format!("field `topic`: {e}")))?;
    let served = service.summarize(request, &|_| {}).await?;
    stats.record_summary(&served.summary);
    if let (Some(channel), Some((publisher, parts))) = (target, publisher) {
        publisher
            .post_summary_once(channel, &served.summary, &format!("j{job_id}"), parts)
            .await
            .map_err(|e| posting_failed(channel, &e))?;
    }
    let strings = Lang::for_output(served.summary.language.as_deref()).strings();
    Ok(render::json_with_note(
        &served.summary,
        served.completeness.note(strings),
    ))
}

/// Fail (for good) before summarizing when the bot cannot post to `channel`.
pub(super) async fn check_can_post(
    publisher: &dyn Publisher,
    channel: ChannelId,
) -> Result<(), JobError> {
    match publisher.cannot_post(channel).await {
        Some(why) => Err(JobError::permanent(why)),
        None => Ok(()),
    }
}

/// A failed post as a job error: retried only when a retry may help.
pub(super) fn posting_failed(channel: ChannelId, e: &PublishError) -> JobError {
    JobError {
        retryable: e.retryable,
        message: format!("posting to channel {channel} failed: {e}"),
    }
}

/// The job's summarizer override, if any.
fn provider_override(job: &SummaryJob) -> Result<Option<LlmProvider>, JobError> {
    match job.provider.as_deref() {
        None => Ok(None),
        Some("builtin") => Ok(Some(LlmProvider::Builtin)),
        Some("openai") => Ok(Some(LlmProvider::OpenAi)),
        Some(other) => Err(JobError::permanent(format!(
            "unknown provider {other:?}; use \"builtin\" or \"openai\""
        ))),
    }
}
