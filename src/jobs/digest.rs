//! The `digest` job: summarize each source channel of a schedule over the window fixed when it
//! fired, post the summaries to the target channel through the [`Publisher`] (or a one-line
//! "quiet day" note, or nothing, for an empty window), and record the outcome on the schedule.

use std::sync::Arc;

use crate::config::Config;
use crate::model::{ChannelId, ChatMessage, GuildId, Summary, TimeWindow, Timestamp};
use crate::settings::GuildSettings;
use crate::store::Store;
use crate::summarize::engine::Request;

use super::execute::{is_excluded, load, prompt_kind, JobError};
use super::{DigestJob, JobStats, Publisher};

/// Run a digest; `Ok` holds its result (JSON text). Every attempt's outcome is recorded on the
/// schedule (`last_outcome` on success, `last_error` on failure).
pub(super) async fn run(
    config: &Config,
    store: &Arc<Store>,
    publisher: Option<&dyn Publisher>,
    stats: &JobStats,
    job: &DigestJob,
) -> Result<String, JobError> {
    let id = job.schedule_id;
    let guild = blocking(store, move |s| {
        s.schedule(id).map(|s| s.map(|s| s.guild_id))
    })
    .await?;
    let Some(guild) = guild else {
        tracing::info!(
            schedule_id = id,
            "the schedule was deleted; its digest is skipped"
        );
        return Ok(serde_json::json!({"outcome": "skipped: the schedule was deleted"}).to_string());
    };
    let result = match publisher {
        Some(publisher) => digest(config, store, publisher, stats, job, guild).await,
        None => Err(JobError::permanent(format!(
            "Discord is not enabled; cannot post the digest to channel {}",
            job.target_channel
        ))),
    };
    let (outcome, error) = match &result {
        Ok(outcome) => (Some(outcome.clone()), None),
        Err(e) => (None, Some(e.message.clone())),
    };
    let recorded = blocking(store, move |s| {
        s.modify_schedule(id, |schedule| {
            if let Some(o) = outcome {
                schedule.last_outcome = Some(o);
            }
            schedule.last_error = error;
            true
        })
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(schedule_id = id, error = %e.message, "could not record the digest's outcome");
    }
    tracing::info!(schedule_id = id, ok = result.is_ok(), "digest finished");
    result.map(|outcome| serde_json::json!({ "outcome": outcome }).to_string())
}

/// Summarize and post; returns the outcome line.
async fn digest(
    config: &Config,
    store: &Arc<Store>,
    publisher: &dyn Publisher,
    stats: &JobStats,
    job: &DigestJob,
    guild: GuildId,
) -> Result<String, JobError> {
    let window = TimeWindow {
        start: Timestamp(job.since),
        end: Timestamp(job.fire),
    };
    let target = ChannelId(job.target_channel);
    let settings = blocking(store, move |s| s.guild_settings(guild))
        .await?
        .unwrap_or_default();
    let summaries = summarize_sources(config, store, stats, job, &settings, window).await?;
    if summaries.is_empty() {
        if !job.quiet_day {
            return Ok("no messages in the window; nothing posted".to_owned());
        }
        publisher
            .post_text(target, &quiet_line(job), &nonce(job, "q"))
            .await
            .map_err(|e| JobError::transient(format!("posting to channel {target} failed: {e}")))?;
        return Ok("no messages in the window; posted the quiet-day note".to_owned());
    }
    let messages: usize = summaries.iter().map(|s| s.message_count).sum();
    for (i, summary) in summaries.iter().enumerate() {
        publisher
            .post_summary_once(target, summary, &nonce(job, &i.to_string()))
            .await
            .map_err(|e| JobError::transient(format!("posting to channel {target} failed: {e}")))?;
    }
    Ok(format!(
        "posted {} summar{} ({messages} messages)",
        summaries.len(),
        if summaries.len() == 1 { "y" } else { "ies" }
    ))
}

/// One summary per source channel that had discussion in the window, in the server's language
/// and channel kind unless the schedule sets them; excluded and opted-out channels are skipped,
/// even if they were excluded after the schedule was made.
async fn summarize_sources(
    config: &Config,
    store: &Arc<Store>,
    stats: &JobStats,
    job: &DigestJob,
    settings: &GuildSettings,
    window: TimeWindow,
) -> Result<Vec<Summary>, JobError> {
    let engine = crate::app::build_engine(config, Some(Arc::clone(store)), true)
        .map_err(|e| JobError::permanent(format!("{e:#}")))?;
    let mut summaries = Vec::new();
    for channel in job.source_channels.iter().map(|c| ChannelId(*c)) {
        let (info, messages) = load(store, channel, window).await?;
        if is_excluded(config, &info) {
            tracing::warn!(channel_id = %channel, schedule_id = job.schedule_id, "channel is excluded from summaries; left out of the digest");
            continue;
        }
        let opted_out = settings.is_opted_out(channel)
            || info.parent_id.is_some_and(|p| settings.is_opted_out(p));
        if opted_out {
            tracing::warn!(channel_id = %channel, schedule_id = job.schedule_id, "channel is opted out by its server; left out of the digest");
            continue;
        }
        if !has_discussion(&messages) {
            continue;
        }
        let request = Request {
            kind: job
                .kind
                .unwrap_or_else(|| prompt_kind(config, settings, store, &info)),
            language: job
                .language
                .clone()
                .or_else(|| settings.effective(config).language),
            channel: info,
            window,
            messages,
            use_cache: true,
        };
        let summary = engine
            .summarize(&request, &|_| {})
            .await
            .map_err(|e| JobError::transient(e.to_string()))?;
        if opted_out_now(store, &request.channel) {
            tracing::warn!(channel_id = %channel, schedule_id = job.schedule_id, "channel was opted out while its digest was made (or its server settings could not be read); left out");
            continue;
        }
        stats.record_summary(&summary);
        summaries.push(summary);
    }
    Ok(summaries)
}

/// True when the channel's server opted it (or the channel of a thread) out by now; a read error
/// counts as opted out (nothing is posted that might not be allowed).
fn opted_out_now(store: &Store, channel: &crate::model::ChannelInfo) -> bool {
    let Some(guild) = channel.guild_id else {
        return false;
    };
    match store.guild_settings(guild) {
        Ok(settings) => settings.is_some_and(|s| {
            s.is_opted_out(channel.id) || channel.parent_id.is_some_and(|p| s.is_opted_out(p))
        }),
        Err(_) => true,
    }
}

/// True when a person wrote something (bots, including this one, and system notices do not count).
fn has_discussion(messages: &[ChatMessage]) -> bool {
    messages
        .iter()
        .any(|m| !m.author.is_bot && !m.kind.is_system())
}

/// The "quiet day" note: channel mentions and a Discord timestamp, never a ping.
fn quiet_line(job: &DigestJob) -> String {
    let channels: Vec<String> = job
        .source_channels
        .iter()
        .map(|c| format!("<#{c}>"))
        .collect();
    format!(
        "Quiet day: no new messages in {} since <t:{}:f>.",
        channels.join(", "),
        job.since.div_euclid(1000)
    )
}

/// The nonce of part `part` of a digest: the same on every attempt of this fire time, so Discord
/// drops a repeat sent after a crash (`{schedule}:{fire seconds}:{part}`, under 25 characters).
fn nonce(job: &DigestJob, part: &str) -> String {
    format!("{}:{}:{part}", job.schedule_id, job.fire.div_euclid(1000))
}

/// Run a store call off the async runtime.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, JobError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| JobError::transient(e.to_string()))?
        .map_err(|e| JobError::transient(format!("database error: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelKind, GuildId, MessageKind, Schedule};
    use crate::store::test_support::temp_store;
    use std::sync::Mutex;

    /// Records what was posted.
    #[derive(Default)]
    struct Recorder {
        posts: Mutex<Vec<(u64, String)>>,
    }

    impl Publisher for Recorder {
        fn post_summary(
            &self,
            channel: ChannelId,
            summary: &Summary,
        ) -> super::super::BoxFuture<'_, Result<(), String>> {
            let line = format!("summary of {}", summary.channel.id);
            Box::pin(async move {
                self.posts.lock().expect("lock").push((channel.0, line));
                Ok(())
            })
        }

        fn post_summary_once(
            &self,
            channel: ChannelId,
            summary: &Summary,
            nonce: &str,
        ) -> super::super::BoxFuture<'_, Result<(), String>> {
            assert_eq!(nonce, "1:2000:0");
            self.post_summary(channel, summary)
        }

        fn post_text(
            &self,
            channel: ChannelId,
            text: &str,
            nonce: &str,
        ) -> super::super::BoxFuture<'_, Result<(), String>> {
            assert_eq!(nonce, "1:2000:q");
            let text = text.to_owned();
            Box::pin(async move {
                self.posts.lock().expect("lock").push((channel.0, text));
                Ok(())
            })
        }
    }

    fn schedule() -> Schedule {
        Schedule {
            id: 0,
            guild_id: GuildId(1),
            source_channels: vec![ChannelId(10), ChannelId(11)],
            target_channel: ChannelId(20),
            cron: "@daily".into(),
            timezone: "UTC".into(),
            window_hours: None,
            kind: Some(ChannelKind::General),
            language: None,
            enabled: true,
            created_by: "test".into(),
            last_run: None,
            next_run: None,
            quiet_day: true,
            last_outcome: None,
            last_error: Some("earlier failure".into()),
        }
    }

    fn job(id: u64, quiet_day: bool) -> DigestJob {
        DigestJob {
            schedule_id: id,
            fire: 2_000_000,
            since: 1_000_000,
            source_channels: vec![10, 11],
            target_channel: 20,
            kind: None,
            language: None,
            quiet_day,
        }
    }

    async fn run_job(store: &Arc<Store>, job: &DigestJob, publisher: &Recorder) -> String {
        let config = Config::default();
        run(&config, store, Some(publisher), &JobStats::default(), job)
            .await
            .expect("digest runs")
    }

    #[tokio::test]
    async fn posts_one_summary_per_channel_with_discussion_and_records_it() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        let mut msg = crate::store::test_support::msg(10, 1, 1_500_000, "we ship on friday");
        msg.guild_id = Some(GuildId(1));
        let mut bot = crate::store::test_support::msg(11, 2, 1_500_000, "beep");
        bot.author.is_bot = true;
        let mut join = crate::store::test_support::msg(11, 3, 1_500_000, "");
        join.kind = MessageKind::MemberJoin;
        store.upsert_messages(&[msg, bot, join]).expect("store");
        let publisher = Recorder::default();
        let result = run_job(&store, &job(id, true), &publisher).await;
        assert!(result.contains("posted 1 summary (1 messages)"), "{result}");
        assert_eq!(
            *publisher.posts.lock().expect("lock"),
            [(20, "summary of 10".to_owned())]
        );
        let stored = store.schedule(id).expect("get").expect("present");
        assert_eq!(
            stored.last_outcome.as_deref(),
            Some("posted 1 summary (1 messages)")
        );
        assert_eq!(stored.last_error, None);
    }

    #[tokio::test]
    async fn channels_the_server_opted_out_are_left_out_of_the_digest() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        let (by, at) = (crate::model::UserId(7), Timestamp(1));
        store
            .update_guild_settings(GuildId(1), |s| {
                s.apply(&crate::settings::Change::OptOut(ChannelId(10)), by, at);
            })
            .expect("settings");
        let opted = crate::store::test_support::msg(10, 1, 1_500_000, "we ship on friday");
        let kept = crate::store::test_support::msg(11, 2, 1_500_000, "the docs are done");
        store.upsert_messages(&[opted, kept]).expect("store");
        let publisher = Recorder::default();
        let result = run_job(&store, &job(id, false), &publisher).await;
        assert!(result.contains("posted 1 summary (1 messages)"), "{result}");
        assert_eq!(
            *publisher.posts.lock().expect("lock"),
            [(20, "summary of 11".to_owned())]
        );
    }

    #[tokio::test]
    async fn an_empty_window_posts_a_quiet_line_or_nothing() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        let publisher = Recorder::default();
        run_job(&store, &job(id, false), &publisher).await;
        assert!(publisher.posts.lock().expect("lock").is_empty());
        run_job(&store, &job(id, true), &publisher).await;
        assert_eq!(
            *publisher.posts.lock().expect("lock"),
            [(
                20,
                "Quiet day: no new messages in <#10>, <#11> since <t:1000:f>.".to_owned()
            )]
        );
    }

    #[tokio::test]
    async fn a_deleted_schedule_posts_nothing_and_no_discord_fails_clearly() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let publisher = Recorder::default();
        let result = run_job(&store, &job(99, true), &publisher).await;
        assert!(result.contains("deleted"), "{result}");
        assert!(publisher.posts.lock().expect("lock").is_empty());
        let id = store.insert_schedule(&schedule()).expect("insert");
        let err = run(
            &Config::default(),
            &store,
            None,
            &JobStats::default(),
            &job(id, true),
        )
        .await
        .expect_err("no publisher");
        assert!(
            err.message.contains("Discord is not enabled"),
            "{}",
            err.message
        );
        let stored = store.schedule(id).expect("get").expect("present");
        assert!(stored
            .last_error
            .is_some_and(|e| e.contains("Discord is not enabled")));
    }
}
