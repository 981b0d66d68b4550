//! What each job kind does: `summary_request` summarizes stored messages of a channel window
//! with the configured engine and, when asked, posts the summary through the [`Publisher`];
//! `digest` runs a scheduled digest (see `digest.rs`).

use std::sync::Arc;

use crate::config::{Config, LlmProvider};
use crate::model::{ChannelId, ChannelInfo, ChannelKind, Job, TimeWindow, Timestamp};
use crate::store::Store;
use crate::summarize::engine::Request;
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
    config: &Config,
    store: &Arc<Store>,
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
            summary_request(config, store, publisher, stats, &payload).await
        }
        DIGEST => {
            let payload: DigestJob = serde_json::from_str(&job.payload).map_err(|e| {
                JobError::permanent(format!("the stored digest payload is invalid: {e}"))
            })?;
            super::digest::run(config, store, publisher, stats, &payload).await
        }
        other => Err(JobError::permanent(format!(
            "unknown job kind {other:?}; this summarybot cannot run it"
        ))),
    }
}

/// The settings of the channel's server; a channel its server opted out (or a thread of one)
/// is refused for good.
fn server_settings(
    store: &Store,
    channel: &ChannelInfo,
) -> Result<crate::settings::GuildSettings, JobError> {
    let Some(guild) = channel.guild_id else {
        return Ok(crate::settings::GuildSettings::default());
    };
    let settings = store
        .guild_settings(guild)
        .map_err(|e| JobError::transient(e.to_string()))?
        .unwrap_or_default();
    let opted_out = settings.is_opted_out(channel.id)
        || channel.parent_id.is_some_and(|p| settings.is_opted_out(p));
    if opted_out {
        return Err(JobError::permanent(format!(
            "channel {} is opted out of summaries on its server (/summarybot optin allows them again)",
            channel.id
        )));
    }
    Ok(settings)
}

/// Summarize the window and post it when asked.
async fn summary_request(
    config: &Config,
    store: &Arc<Store>,
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
    let config = with_overrides(config, job)?;
    let engine = crate::app::build_engine(&config, Some(Arc::clone(store)), true)
        .map_err(|e| JobError::permanent(format!("{e:#}")))?;
    let window = TimeWindow {
        start: Timestamp(job.since),
        end: Timestamp(job.until),
    };
    let (channel, messages) = load(store, ChannelId(job.channel_id), window).await?;
    if is_excluded(&config, &channel) {
        return Err(JobError::permanent(format!(
            "channel {} is excluded from summaries (summary.exclude_channels)",
            channel.id
        )));
    }
    let settings = server_settings(store, &channel)?;
    let request = Request {
        kind: prompt_kind(&config, &settings, store, &channel),
        channel,
        window,
        messages,
        language: job
            .language
            .clone()
            .or_else(|| settings.effective(&config).language),
        use_cache: true,
    };
    let summary = engine
        .summarize(&request, &|_| {})
        .await
        .map_err(|e| JobError::transient(e.to_string()))?;
    // An opt-out while the summary was being made wins: nothing is posted or kept.
    server_settings(store, &request.channel)?;
    stats.record_summary(&summary);
    if let (Some(channel), Some(publisher)) = (target, publisher) {
        publisher
            .post_summary(channel, &summary)
            .await
            .map_err(|e| {
                JobError::transient(format!("posting to channel {channel} failed: {e}"))
            })?;
    }
    Ok(render::json(&summary))
}

/// The configuration with the job's provider override applied.
fn with_overrides(config: &Config, job: &SummaryJob) -> Result<Config, JobError> {
    let mut config = config.clone();
    match job.provider.as_deref() {
        None => {}
        Some("builtin") => config.llm.provider = LlmProvider::Builtin,
        Some("openai") => config.llm.provider = LlmProvider::OpenAi,
        Some(other) => {
            return Err(JobError::permanent(format!(
                "unknown provider {other:?}; use \"builtin\" or \"openai\""
            )))
        }
    }
    Ok(config)
}

/// The channel's metadata (or a placeholder) and its messages in `window`, read off the runtime.
pub(super) use crate::app::is_excluded;

/// The prompt variant for `channel` under the server's settings; a thread takes the variant of
/// the channel it belongs to (when that channel is stored).
pub(super) fn prompt_kind(
    config: &Config,
    settings: &crate::settings::GuildSettings,
    store: &Store,
    channel: &ChannelInfo,
) -> ChannelKind {
    let parent = channel
        .parent_id
        .and_then(|p| store.channel(p).ok().flatten());
    crate::app::guild_channel_kind(config, settings, parent.as_ref().unwrap_or(channel))
}

pub(super) async fn load(
    store: &Arc<Store>,
    channel: ChannelId,
    window: TimeWindow,
) -> Result<(ChannelInfo, Vec<crate::model::ChatMessage>), JobError> {
    let store = Arc::clone(store);
    let read = tokio::task::spawn_blocking(move || {
        let messages = store.messages_in(channel, window)?;
        let info = store.channel(channel)?;
        Ok::<_, crate::store::StoreError>((info, messages))
    })
    .await
    .map_err(|e| JobError::transient(e.to_string()))?
    .map_err(|e| JobError::transient(format!("cannot read stored messages: {e}")))?;
    let (info, messages) = read;
    let info = info.unwrap_or_else(|| {
        ChannelInfo::unknown(channel, messages.first().and_then(|m| m.guild_id))
    });
    Ok((info, messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GuildId, UserId};
    use crate::settings::Change;
    use crate::store::test_support::temp_store;

    fn info(id: u64, parent: Option<u64>) -> ChannelInfo {
        ChannelInfo {
            id: ChannelId(id),
            guild_id: Some(GuildId(1)),
            guild_name: None,
            name: "general".into(),
            topic: None,
            parent_id: parent.map(ChannelId),
        }
    }

    #[test]
    fn jobs_use_the_servers_settings_and_refuse_opted_out_channels() {
        let (_d, store) = temp_store();
        store
            .update_guild_settings(GuildId(1), |s| {
                let (by, at) = (UserId(2), Timestamp(0));
                s.apply(&Change::Language(Some("German".into())), by, at);
                s.apply(&Change::OptOut(ChannelId(5)), by, at);
            })
            .expect("settings");
        let ok = server_settings(&store, &info(4, None)).expect("allowed");
        assert_eq!(ok.language.as_deref(), Some("German"));
        for (channel, parent) in [(5, None), (6, Some(5))] {
            let err = server_settings(&store, &info(channel, parent)).expect_err("opted out");
            assert!(!err.retryable);
            assert!(err.message.contains("opted out"), "{}", err.message);
        }
        let mut outside = info(5, None);
        outside.guild_id = None;
        assert!(server_settings(&store, &outside).is_ok());
    }

    #[test]
    fn threads_follow_their_channel_for_exclusion_and_prompt_kind() {
        let (_d, store) = temp_store();
        let mut config = Config::default();
        config.summary.exclude_channels = vec![ChannelId(7)];
        assert!(is_excluded(&config, &info(7, None)));
        assert!(is_excluded(&config, &info(8, Some(7))), "a thread of it");
        assert!(!is_excluded(&config, &info(9, Some(4))));

        let mut dev = info(4, None);
        dev.name = "backend-dev".into();
        store.put_channel(&dev).expect("parent stored");
        let thread = info(10, Some(4));
        let settings = crate::settings::GuildSettings::default();
        assert_eq!(
            prompt_kind(&config, &settings, &store, &thread),
            ChannelKind::Dev,
            "the thread takes its parent's variant"
        );
        assert_eq!(
            prompt_kind(&config, &settings, &store, &info(11, None)),
            ChannelKind::General
        );
    }
}
