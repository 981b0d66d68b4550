//! What each job kind does: `summary_request` summarizes a channel window through the summary
//! service (`crate::channel_summary`) and, when asked, posts it through the [`Publisher`];
//! `digest` runs a scheduled digest (see `digest.rs`).

use crate::channel_summary::{ChannelRequest, ChannelSummaries, SummaryError};
use crate::config::LlmProvider;
use crate::model::{ChannelId, Job, TimeWindow, Timestamp};
use crate::summarize::render;

use super::{DigestJob, JobStats, Publisher, SummaryJob, DIGEST, SUMMARY_REQUEST};

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
    match job.kind.as_str() {
        SUMMARY_REQUEST => {
            let payload: SummaryJob = serde_json::from_str(&job.payload).map_err(|e| {
                JobError::permanent(format!(
                    "the stored summary_request payload is invalid: {e}"
                ))
            })?;
            summary_request(service, publisher, stats, &payload).await
        }
        DIGEST => {
            let payload: DigestJob = serde_json::from_str(&job.payload).map_err(|e| {
                JobError::permanent(format!("the stored digest payload is invalid: {e}"))
            })?;
            super::digest::run(service, publisher, stats, &payload).await
        }
        other => Err(JobError::permanent(format!(
            "unknown job kind {other:?}; this summarybot cannot run it"
        ))),
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

/// Summarize the window through the summary service and post it when asked.
async fn summary_request(
    service: &ChannelSummaries,
    publisher: Option<&dyn Publisher>,
    stats: &JobStats,
    job: &SummaryJob,
) -> Result<String, JobError> {
    let target = job.post_to_channel_id.map(ChannelId);
    if let (Some(channel), None) = (target, publisher) {
        return Err(JobError::permanent(format!(
            "Discord is not enabled; cannot post to channel {channel}"
        )));
    }
    let provider = provider_override(job)?;
    let window = TimeWindow {
        start: Timestamp(job.since),
        end: Timestamp(job.until),
    };
    let channel = service.channel(ChannelId(job.channel_id), None).await;
    let mut request = ChannelRequest::new(channel, window);
    request.language.clone_from(&job.language);
    request.provider = provider;
    let served = service.summarize(request, &|_| {}).await?;
    stats.record_summary(&served.summary);
    if let (Some(channel), Some(publisher)) = (target, publisher) {
        publisher
            .post_summary(channel, &served.summary)
            .await
            .map_err(|e| {
                JobError::transient(format!("posting to channel {channel} failed: {e}"))
            })?;
    }
    Ok(render::json(&served.summary))
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
