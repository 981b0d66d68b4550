//! The `digest` job: summarize each source channel of a schedule over the window fixed when it
//! fired, post the summaries to the target channel through the [`Publisher`](super::Publisher) (or a one-line
//! "quiet day" note, or nothing, for an empty window), and record the outcome on the schedule.

use crate::summarize::lang::Lang;
use std::sync::Arc;

use crate::channel_summary::{ChannelRequest, ChannelSummaries, SummaryError};
use crate::model::{ChannelId, ChannelKind, ChatMessage, Detail, GuildId, Summary, TimeWindow};
use crate::store::Store;

use super::execute::{posting_failed, JobError, Post};
use super::{DigestJob, JobStats};

/// Run a digest; `Ok` holds its result (JSON text). Every attempt's outcome is recorded on the
/// schedule (`last_outcome` on success, `last_error` on failure).
pub(super) async fn run(
    service: &ChannelSummaries,
    publisher: Option<Post<'_>>,
    stats: &JobStats,
    job: &DigestJob,
) -> Result<String, JobError> {
    let store = service.store();
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
        Some(publisher) => digest(service, publisher, stats, job, guild).await,
        None => Err(JobError::permanent(format!(
            "Discord is not enabled; cannot post the digest to channel {}",
            job.target_channel
        ))),
    };
    let (outcome, error) = match &result {
        Ok(outcome) => (Some(outcome.clone()), None),
        Err(e) => (None, Some(crate::redact::redacted(&e.message))),
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
    service: &ChannelSummaries,
    (publisher, parts): Post<'_>,
    stats: &JobStats,
    job: &DigestJob,
    guild: GuildId,
) -> Result<String, JobError> {
    let window = TimeWindow {
        start: job.since,
        end: job.fire,
    };
    let target = job.target_channel;
    super::execute::check_can_post(publisher, target).await?;
    let (summaries, left_out) = summarize_sources(service, stats, job, guild, window).await?;
    if summaries.is_empty() {
        // A channel left out was not quiet: it is not named, and with none left nothing is said.
        let quiet: Vec<ChannelId> = job
            .source_channels
            .iter()
            .copied()
            .filter(|c| !left_out.contains(c))
            .collect();
        if quiet.is_empty() {
            return Ok(
                "every source channel was left out (excluded or opted out); nothing posted"
                    .to_owned(),
            );
        }
        if !job.quiet_day {
            return Ok("no messages in the window; nothing posted".to_owned());
        }
        let settings = service.settings().get(guild);
        let lang = Lang::for_output(service.language(&settings, job.language.clone()).as_deref());
        publisher
            .post_text(
                target,
                &quiet_line(&quiet, job.since.0, lang),
                &nonce(job, "q"),
                parts,
            )
            .await
            .map_err(|e| posting_failed(target, &e))?;
        return Ok("no messages in the window; posted the quiet-day note".to_owned());
    }
    let messages: usize = summaries.iter().map(|s| s.message_count).sum();
    for (i, summary) in summaries.iter().enumerate() {
        // Named by the channel's place among the schedule's sources, which a retry keeps: the
        // list of summaries can shrink or grow between attempts (a channel found quiet, or
        // opted out), and a recorded part must name the same channel's summary.
        let source = job
            .source_channels
            .iter()
            .position(|c| *c == summary.channel.id)
            .map_or_else(|| format!("x{i}"), |p| p.to_string());
        publisher
            .post_summary_once(target, summary, &nonce(job, &source), parts)
            .await
            .map_err(|e| posting_failed(target, &e))?;
    }
    Ok(format!(
        "posted {} summar{} ({messages} messages)",
        summaries.len(),
        if summaries.len() == 1 { "y" } else { "ies" }
    ))
}

/// One summary per source channel that had discussion in the window (the window completed
/// from Discord first), in the server's language and channel kind unless the schedule sets
/// them. A channel the summary service refuses (excluded, opted out — also after the schedule
/// was made or while its summary was made) is left out (returned second); unreadable settings
/// fail the digest.
async fn summarize_sources(
    service: &ChannelSummaries,
    stats: &JobStats,
    job: &DigestJob,
    guild: GuildId,
    window: TimeWindow,
) -> Result<(Vec<Summary>, Vec<ChannelId>), JobError> {
    let style = Style {
        kind: job.kind,
        language: job.language.clone(),
        detail: job.detail,
    };
    let label = format!("schedule {}", job.schedule_id);
    let mut summaries = Vec::new();
    let mut left = Vec::new();
    for &channel in &job.source_channels {
        let at = Source {
            guild,
            channel,
            window,
        };
        match summarize_channel(service, stats, at, &style, &label).await? {
            Made::Summary(summary) => summaries.push(*summary),
            Made::Quiet => {}
            Made::LeftOut => left.push(channel),
        }
    }
    Ok((summaries, left))
}

/// How a digest's summaries are written (None: the server's kind and language).
#[derive(Clone, Debug, Default)]
pub(super) struct Style {
    /// Prompt variant override.
    pub kind: Option<ChannelKind>,
    /// Output language override.
    pub language: Option<String>,
    /// How long each summary may be.
    pub detail: Detail,
}

/// One channel's window, for a digest.
#[derive(Clone, Copy, Debug)]
pub(super) struct Source {
    /// The server.
    pub guild: GuildId,
    /// The channel.
    pub channel: ChannelId,
    /// The window.
    pub window: TimeWindow,
}

/// What one channel gave a digest.
pub(super) enum Made {
    /// Its summary.
    Summary(Box<Summary>),
    /// Nobody wrote anything in the window.
    Quiet,
    /// The summary service refused it for good (excluded, opted out).
    LeftOut,
}

/// Summarize `at` through the one summary path (window completed from Discord first); a
/// refusal for good leaves it out (logged with `label`), any other failure fails the attempt.
pub(super) async fn summarize_channel(
    service: &ChannelSummaries,
    stats: &JobStats,
    at: Source,
    style: &Style,
    label: &str,
) -> Result<Made, JobError> {
    let info = service.channel(at.channel, Some(at.guild)).await;
    let mut request = ChannelRequest::new(info, at.window);
    request.kind = style.kind;
    request.language.clone_from(&style.language);
    request.detail = style.detail;
    let prepared = match service.prepare(request).await {
        Ok(prepared) => prepared,
        Err(e) => return left_out(label, at.channel, e).map(|()| Made::LeftOut),
    };
    if discussion(&prepared.messages) == 0 {
        return Ok(Made::Quiet);
    }
    match service.finish(prepared, &|_| {}).await {
        Ok(served) => {
            stats.record_summary(&served.summary);
            Ok(Made::Summary(Box::new(served.summary)))
        }
        Err(e) => left_out(label, at.channel, e).map(|()| Made::LeftOut),
    }
}

/// How many messages people wrote in `at` (the window completed from Discord first); None
/// when the summary service refuses the channel for good.
pub(super) async fn discussion_in(
    service: &ChannelSummaries,
    at: Source,
    label: &str,
) -> Result<Option<usize>, JobError> {
    let info = service.channel(at.channel, Some(at.guild)).await;
    match service.prepare(ChannelRequest::new(info, at.window)).await {
        Ok(prepared) => Ok(Some(discussion(&prepared.messages))),
        Err(e) => left_out(label, at.channel, e).map(|()| None),
    }
}

/// A source the service refused for good is left out (and logged); any other failure fails
/// the attempt.
fn left_out(label: &str, channel: ChannelId, e: SummaryError) -> Result<(), JobError> {
    match e {
        SummaryError::Barred(why) if why.is_decision() => {
            tracing::warn!(channel_id = %channel, digest = label, reason = %why,
                "channel left out of the digest");
            Ok(())
        }
        other => Err(other.into()),
    }
}

/// How many messages people wrote (bots, including this one, and system notices do not count).
fn discussion(messages: &[ChatMessage]) -> usize {
    messages
        .iter()
        .filter(|m| !m.author.is_bot && !m.kind.is_system())
        .count()
}

/// The "quiet day" note for `channels` since `since`, in `lang`: channel mentions and a Discord
/// timestamp, never a ping.
fn quiet_line(channels: &[ChannelId], since: i64, lang: Lang) -> String {
    let channels: Vec<String> = channels.iter().map(|c| format!("<#{c}>")).collect();
    lang.strings()
        .quiet_day
        .replace("{channels}", &channels.join(", "))
        .replace("{since}", &format!("<t:{}:f>", since.div_euclid(1000)))
}

/// The nonce of part `part` of a digest: the same on every attempt of this fire time, so Discord
/// drops a repeat sent within a few minutes (`{schedule}:{fire seconds}:{part}`, under 25
/// characters); a later retry skips the parts the job recorded as posted.
fn nonce(job: &DigestJob, part: &str) -> String {
    format!("{}:{}:{part}", job.schedule_id, job.fire.0.div_euclid(1000))
}

/// Run a store call off the async runtime.
pub(super) async fn blocking<T: Send + 'static>(
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
    use crate::jobs::{PartLog, Publisher};
    use crate::model::{ChannelKind, GuildId, MessageKind, Schedule, Timestamp};
    use crate::store::test_support::temp_store;
    use std::sync::Mutex;

    /// Records what was posted.
    #[derive(Default)]
    struct Recorder {
        posts: Mutex<Vec<(u64, String)>>,
        /// What [`Publisher::cannot_post`] answers.
        blocked: Option<String>,
    }

    impl Publisher for Recorder {
        fn cannot_post(&self, _channel: ChannelId) -> super::super::BoxFuture<'_, Option<String>> {
            Box::pin(async { self.blocked.clone() })
        }

        fn post_summary(
            &self,
            channel: ChannelId,
            summary: &Summary,
        ) -> super::super::BoxFuture<'_, Result<(), super::super::PublishError>> {
            let line = format!("summary of {}", summary.channel.id);
            Box::pin(async move {
                self.posts.lock().expect("lock").push((channel.0, line));
                Ok(())
            })
        }

        fn post_summary_once<'a>(
            &'a self,
            channel: ChannelId,
            summary: &Summary,
            nonce: &str,
            _parts: &'a PartLog,
        ) -> super::super::BoxFuture<'a, Result<(), super::super::PublishError>> {
            // Named by the channel's place among the sources (10, 11), whatever else is posted.
            let place = u8::from(summary.channel.id == ChannelId(11));
            assert_eq!(nonce, format!("1:2000:{place}"));
            self.post_summary(channel, summary)
        }

        fn post_text<'a>(
            &'a self,
            channel: ChannelId,
            text: &str,
            nonce: &str,
            _parts: &'a PartLog,
        ) -> super::super::BoxFuture<'a, Result<(), super::super::PublishError>> {
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
            detail: crate::model::Detail::default(),
        }
    }

    fn job(id: u64, quiet_day: bool) -> DigestJob {
        DigestJob {
            schedule_id: id,
            fire: Timestamp(2_000_000),
            since: Timestamp(1_000_000),
            source_channels: vec![ChannelId(10), ChannelId(11)],
            target_channel: ChannelId(20),
            kind: None,
            language: None,
            detail: crate::model::Detail::default(),
            quiet_day,
        }
    }

    fn service(store: &Arc<Store>) -> ChannelSummaries {
        ChannelSummaries::new(crate::config::Config::default(), Arc::clone(store), true)
            .expect("service")
    }

    async fn run_job(store: &Arc<Store>, job: &DigestJob, publisher: &Recorder) -> String {
        let payload = super::super::JobPayload::Digest(job.clone());
        let stored = store
            .enqueue_job(payload.kind(), &payload.encode(), Timestamp(0))
            .expect("enqueue");
        let parts = PartLog::new(Arc::clone(store), &stored);
        run(
            &service(store),
            Some((publisher, &parts)),
            &JobStats::default(),
            job,
        )
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
    async fn nothing_is_summarized_when_the_target_cannot_take_posts() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        let mut msg = crate::store::test_support::msg(10, 1, 1_500_000, "we ship on friday");
        msg.guild_id = Some(GuildId(1));
        store.upsert_messages(&[msg]).expect("store");
        let why = "the bot needs the Embed Links permission in channel 20 to post summaries there";
        let publisher = Recorder {
            blocked: Some(why.to_owned()),
            ..Recorder::default()
        };
        let payload = super::super::JobPayload::Digest(job(id, true));
        let stored = store
            .enqueue_job(payload.kind(), &payload.encode(), Timestamp(0))
            .expect("enqueue");
        let parts = PartLog::new(Arc::clone(&store), &stored);
        let stats = JobStats::default();
        let err = run(
            &service(&store),
            Some((&publisher, &parts)),
            &stats,
            &job(id, true),
        )
        .await
        .expect_err("refused");
        assert_eq!((err.message.as_str(), err.retryable), (why, false));
        assert!(publisher.posts.lock().expect("lock").is_empty());
        assert!(stats.summaries().is_empty(), "summarized anyway");
        let stored = store.schedule(id).expect("get").expect("present");
        assert_eq!(stored.last_error.as_deref(), Some(why));
    }

    #[tokio::test]
    async fn a_summary_part_is_named_by_its_channel_not_by_what_else_had_discussion() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        // Only the second source had discussion: its part is still "…:1", so a retry in which
        // the first source has messages too cannot take it for the first one's.
        let mut msg = crate::store::test_support::msg(11, 1, 1_500_000, "we ship on friday");
        msg.guild_id = Some(GuildId(1));
        store.upsert_messages(&[msg]).expect("store");
        let publisher = Recorder::default();
        let result = run_job(&store, &job(id, true), &publisher).await;
        assert!(result.contains("posted 1 summary"), "{result}");
        assert_eq!(
            *publisher.posts.lock().expect("lock"),
            [(20, "summary of 11".to_owned())]
        );
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
    async fn a_channel_left_out_is_not_called_quiet() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let id = store.insert_schedule(&schedule()).expect("insert");
        let opt_out = |c: u64| {
            store
                .update_guild_settings(GuildId(1), |s| {
                    let change = crate::settings::Change::OptOut(ChannelId(c));
                    s.apply(&change, crate::model::UserId(7), Timestamp(1));
                })
                .expect("settings");
        };
        // #10 had discussion but is opted out; #11 was quiet.
        opt_out(10);
        let mut opted = crate::store::test_support::msg(10, 1, 1_500_000, "we ship on friday");
        opted.guild_id = Some(GuildId(1));
        store.upsert_messages(&[opted]).expect("store");
        let publisher = Recorder::default();
        run_job(&store, &job(id, true), &publisher).await;
        assert_eq!(
            *publisher.posts.lock().expect("lock"),
            [(
                20,
                "Quiet day: no new messages in <#11> since <t:1000:f>.".to_owned()
            )]
        );
        // Every source left out: no note, and the outcome says why.
        opt_out(11);
        let result = run_job(&store, &job(id, true), &publisher).await;
        assert!(
            result.contains("every source channel was left out"),
            "{result}"
        );
        assert_eq!(publisher.posts.lock().expect("lock").len(), 1);
        let stored = store.schedule(id).expect("get").expect("present");
        assert!(stored
            .last_outcome
            .is_some_and(|o| o.contains("left out") && o.contains("nothing posted")));
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
        // In the schedule's language.
        let mut german = job(id, true);
        german.language = Some("German".into());
        run_job(&store, &german, &publisher).await;
        assert_eq!(
            publisher.posts.lock().expect("lock")[1].1,
            "Ruhiger Tag: keine neuen Nachrichten in <#10>, <#11> seit <t:1000:f>."
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
        let err = run(&service(&store), None, &JobStats::default(), &job(id, true))
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
