//! The `personal_digest` job: a member's digest by DM (`/digest subscribe`). At send time the
//! member's permissions are asked of Discord and only channels they can read now are looked at
//! (a channel they lost is left out, never sent): those they picked, else every text and
//! announcement channel of the server (the summary service then leaves out what the operator
//! excluded and the server opted out). The most active ones (at most
//! [`MAX_SUMMARIES`]) are summarized through the one summary path (admission, opt-outs, the
//! server's budget) and sent by DM, each part once (nonces, recorded parts). When Discord
//! refuses the DM (the member's DMs are closed), the subscription is paused and the member is
//! told on their next command.

use sha2::{Digest as _, Sha256};

use crate::channel_summary::ChannelSummaries;
use crate::model::{ChannelId, Subscription, Summary, TimeWindow, Timestamp};
use crate::schedule::personal::{cadence_text, MAX_SUMMARIES};

use super::digest::{blocking, discussion_in, summarize_channel, Made, Source, Style};
use super::execute::{JobError, Post};
use super::{JobStats, PersonalDigestJob, PublishError};

/// Run a personal digest; `Ok` holds its result (JSON text). The outcome is recorded on the
/// subscription (`last_outcome`).
pub(super) async fn run(
    service: &ChannelSummaries,
    publisher: Option<Post<'_>>,
    stats: &JobStats,
    job: &PersonalDigestJob,
) -> Result<String, JobError> {
    let store = service.store();
    let id = job.subscription_id;
    let sub = blocking(store, move |s| s.subscription(id)).await?;
    let result = match (sub, publisher) {
        (None, _) => Ok("skipped: the subscription was removed".to_owned()),
        (Some(sub), _) if sub.paused_at.is_some() => {
            Ok("skipped: paused until the member subscribes again".to_owned())
        }
        (Some(_), None) => Err(JobError::permanent(
            "Discord is not enabled; cannot send a personal digest",
        )),
        (Some(sub), Some(post)) => send(service, post, stats, job, &sub).await,
    };
    let line = match &result {
        Ok(outcome) => outcome.clone(),
        Err(e) => format!("failed: {}", crate::redact::redacted(&e.message)),
    };
    let recorded = blocking(store, move |s| {
        s.modify_subscription(id, |sub| {
            sub.last_outcome = Some(line);
            true
        })
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(subscription_id = id, error = %e.message, "could not record the personal digest's outcome");
    }
    tracing::info!(
        subscription_id = id,
        ok = result.is_ok(),
        "personal digest finished"
    );
    result.map(|outcome| serde_json::json!({ "outcome": outcome }).to_string())
}

/// Make the digest and DM it; returns the outcome line.
async fn send(
    service: &ChannelSummaries,
    (publisher, parts): Post<'_>,
    stats: &JobStats,
    job: &PersonalDigestJob,
    sub: &Subscription,
) -> Result<String, JobError> {
    if !service
        .settings()
        .get(sub.guild_id)
        .effective(service.config())
        .personal_digests
    {
        return Ok("skipped: personal digests are off in this server".to_owned());
    }
    let readable = publisher
        .readable_by(sub.guild_id, sub.user_id, sub.channels.clone())
        .await
        .map_err(|e| JobError {
            retryable: e.retryable,
            message: format!("cannot check which channels the member may read: {e}"),
        })?;
    let Some(readable) = readable else {
        // Nothing can ever be sent again: the subscription goes (data minimization).
        let (guild, user) = (sub.guild_id, sub.user_id);
        blocking(service.store(), move |s| {
            s.delete_subscriptions(guild, user, None)
        })
        .await?;
        return Ok(
            "removed: the member has left the server (or the bot is no longer in it)".to_owned(),
        );
    };
    let server = readable.server;
    let window = TimeWindow {
        start: job.since,
        end: job.fire,
    };
    let label = format!("personal {}", sub.id);
    let mut active = Vec::new();
    for channel in readable.channels {
        let at = Source {
            guild: sub.guild_id,
            channel,
            window,
        };
        if let Some(n) = discussion_in(service, at, &label).await?.filter(|n| *n > 0) {
            active.push((at, n));
        }
    }
    // Most active first; a tie keeps the channels' order.
    active.sort_by_key(|a| std::cmp::Reverse(a.1));
    let more: Vec<ChannelId> = active
        .iter()
        .skip(MAX_SUMMARIES)
        .map(|(at, _)| at.channel)
        .collect();
    let style = Style {
        detail: sub.detail,
        ..Style::default()
    };
    let mut summaries = Vec::new();
    for (at, _) in active.into_iter().take(MAX_SUMMARIES) {
        if let Made::Summary(s) = summarize_channel(service, stats, at, &style, &label).await? {
            summaries.push(*s);
        }
    }
    if summaries.is_empty() {
        return Ok("nothing new in the member's channels; no DM sent".to_owned());
    }
    let heading = heading(sub, &server, job.since, &more);
    match deliver(publisher, parts, job, sub, &heading, &summaries).await {
        Ok(()) => {
            let messages: usize = summaries.iter().map(|s| s.message_count).sum();
            Ok(format!(
                "sent {} summar{} ({messages} messages) by DM",
                summaries.len(),
                if summaries.len() == 1 { "y" } else { "ies" }
            ))
        }
        Err(e) if e.dms_closed() => {
            pause(service, sub).await?;
            tracing::info!(subscription_id = sub.id, user_id = %sub.user_id,
                "the member's DMs are closed; the personal digest is paused");
            Ok("paused: the member's DMs are closed".to_owned())
        }
        Err(e) => Err(JobError {
            retryable: e.retryable,
            message: format!("sending the DM failed: {e}"),
        }),
    }
}

/// Open the DM and send the heading, then each summary (every part once).
async fn deliver(
    publisher: &dyn super::Publisher,
    parts: &super::PartLog,
    job: &PersonalDigestJob,
    sub: &Subscription,
    heading: &str,
    summaries: &[Summary],
) -> Result<(), PublishError> {
    let dm = publisher.open_dm(sub.user_id).await?;
    publisher
        .post_text(dm, heading, &nonce(job, "h"), parts)
        .await?;
    for summary in summaries {
        let part = nonce(job, &summary.channel.id.to_string());
        publisher
            .post_summary_once(dm, summary, &part, parts)
            .await?;
    }
    Ok(())
}

/// The DM's first line: which digest, since when, and the active channels not summarized.
fn heading(sub: &Subscription, server: &str, since: Timestamp, more: &[ChannelId]) -> String {
    let mut text = format!(
        "Your {} digest of **{}** since <t:{}:f>.",
        cadence_text(sub.cadence),
        crate::text::one_line(server),
        since.0.div_euclid(1000)
    );
    if !more.is_empty() {
        let list: Vec<String> = more.iter().map(|c| format!("<#{c}>")).collect();
        text.push_str("\nAlso active: ");
        text.push_str(&list.join(", "));
    }
    text.push_str("\n-# `/digest list` shows your digests; `/digest unsubscribe` stops them.");
    text
}

/// The nonce of part `part` of this fire time: the same on every attempt (so Discord drops a
/// repeat within a few minutes, and a retry skips the parts recorded as posted), 16
/// characters (Discord allows 25; a summary's messages add `:{i}`).
fn nonce(job: &PersonalDigestJob, part: &str) -> String {
    let digest = Sha256::digest(format!("p:{}:{}:{part}", job.subscription_id, job.fire.0));
    crate::encoding::to_hex(&digest[..8])
}

/// Pause `sub`: no digest until the member subscribes again; they are told on their next
/// command. A subscription renewed since the job read it (its welcome DM got through) stays.
async fn pause(service: &ChannelSummaries, sub: &Subscription) -> Result<(), JobError> {
    let now = Timestamp::now();
    let (id, made) = (sub.id, sub.created_at);
    blocking(service.store(), move |s| {
        s.modify_subscription(id, |current| {
            let same = current.created_at == made;
            if same {
                current.paused_at = Some(now);
                current.pause_told = false;
            }
            same
        })
    })
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::jobs::{BoxFuture, JobPayload, PartLog, Publisher};
    use crate::model::{Cadence, ChannelInfo, Detail, GuildId, UserId};
    use crate::store::test_support::{msg, temp_store};
    use crate::store::Store;

    const DM: ChannelId = ChannelId(900);
    const USER: UserId = UserId(7);

    /// A Discord that lets the member read `readable`, and records DMs.
    #[derive(Default)]
    struct FakeDms {
        readable: Vec<ChannelId>,
        /// The member left the server.
        gone: bool,
        /// Sends answer 50007.
        closed: bool,
        /// (channel, text or "summary of {channel}", nonce)
        sent: Mutex<Vec<(ChannelId, String, String)>>,
        /// The channel lists whose permissions were asked (empty: every channel).
        asked: Mutex<Vec<Vec<ChannelId>>>,
    }

    impl FakeDms {
        fn send(&self, channel: ChannelId, what: String, nonce: &str) -> Result<(), PublishError> {
            if self.closed {
                return Err(PublishError {
                    retryable: false,
                    message: "Cannot send messages to this user".into(),
                    code: crate::jobs::DMS_CLOSED,
                });
            }
            self.sent
                .lock()
                .expect("lock")
                .push((channel, what, nonce.to_owned()));
            Ok(())
        }

        fn texts(&self) -> Vec<String> {
            let sent = self.sent.lock().expect("lock");
            sent.iter().map(|(_, t, _)| t.clone()).collect()
        }
    }

    impl Publisher for FakeDms {
        fn post_summary(
            &self,
            channel: ChannelId,
            summary: &Summary,
        ) -> BoxFuture<'_, Result<(), PublishError>> {
            let r = self.send(channel, format!("summary of {}", summary.channel.id), "");
            Box::pin(async move { r })
        }

        fn post_summary_once<'a>(
            &'a self,
            channel: ChannelId,
            summary: &Summary,
            nonce: &str,
            _parts: &'a PartLog,
        ) -> BoxFuture<'a, Result<(), PublishError>> {
            let r = self.send(channel, format!("summary of {}", summary.channel.id), nonce);
            Box::pin(async move { r })
        }

        fn post_text<'a>(
            &'a self,
            channel: ChannelId,
            text: &str,
            nonce: &str,
            _parts: &'a PartLog,
        ) -> BoxFuture<'a, Result<(), PublishError>> {
            let r = self.send(channel, text.to_owned(), nonce);
            Box::pin(async move { r })
        }

        fn open_dm(&self, user: UserId) -> BoxFuture<'_, Result<ChannelId, PublishError>> {
            assert_eq!(user, USER);
            Box::pin(async { Ok(DM) })
        }

        fn readable_by(
            &self,
            guild: GuildId,
            user: UserId,
            channels: Vec<ChannelId>,
        ) -> BoxFuture<'_, Result<Option<crate::jobs::Readable>, PublishError>> {
            assert_eq!((guild, user), (GuildId(1), USER));
            self.asked.lock().expect("lock").push(channels.clone());
            // None picked: every channel of the server, of which the member reads `readable`.
            let answer = (!self.gone).then(|| crate::jobs::Readable {
                server: "Home".to_owned(),
                channels: if channels.is_empty() {
                    self.readable.clone()
                } else {
                    channels
                        .into_iter()
                        .filter(|c| self.readable.contains(c))
                        .collect()
                },
            });
            Box::pin(async move { Ok(answer) })
        }
    }

    fn subscription(channels: &[u64]) -> Subscription {
        Subscription {
            id: 0,
            guild_id: GuildId(1),
            user_id: USER,
            cadence: Cadence::Daily,
            hour: 9,
            timezone: "UTC".into(),
            channels: channels.iter().copied().map(ChannelId).collect(),
            detail: Detail::Brief,
            created_at: Timestamp(0),
            last_run: None,
            next_run: None,
            paused_at: None,
            pause_told: false,
            last_outcome: None,
        }
    }

    /// A store with channels 10, 11, 12 of server 1 (and a thread of 10, and a channel of
    /// server 2), each with `counts[i]` messages by people in the window.
    fn store_with(counts: [u64; 3]) -> (tempfile::TempDir, Arc<Store>) {
        let (dir, store) = temp_store();
        let info = |id: u64, guild: u64, parent: Option<u64>| ChannelInfo {
            id: ChannelId(id),
            guild_id: Some(GuildId(guild)),
            guild_name: Some("Home".into()),
            name: format!("c{id}"),
            topic: None,
            parent_id: parent.map(ChannelId),
        };
        store
            .put_channels(&[
                info(10, 1, None),
                info(11, 1, None),
                info(12, 1, None),
                info(13, 1, Some(10)),
                info(20, 2, None),
            ])
            .expect("channels");
        let mut id = 1;
        for (channel, n) in [10, 11, 12].into_iter().zip(counts) {
            let batch: Vec<_> = (0..n)
                .map(|i| {
                    id += 1;
                    let mut m = msg(
                        channel,
                        id,
                        1_500_000 + i64::try_from(i).unwrap_or(0),
                        "we ship on friday",
                    );
                    m.guild_id = Some(GuildId(1));
                    m
                })
                .collect();
            store.upsert_messages(&batch).expect("messages");
        }
        (dir, Arc::new(store))
    }

    fn job(id: u64) -> PersonalDigestJob {
        PersonalDigestJob {
            subscription_id: id,
            fire: Timestamp(2_000_000),
            since: Timestamp(1_000_000),
        }
    }

    async fn run_job(store: &Arc<Store>, id: u64, dms: &FakeDms) -> String {
        let payload = JobPayload::PersonalDigest(job(id));
        let stored = store
            .enqueue_job(payload.kind(), &payload.encode(), Timestamp(0))
            .expect("enqueue");
        let parts = PartLog::new(Arc::clone(store), &stored);
        let service =
            ChannelSummaries::new(crate::config::Config::default(), Arc::clone(store), true)
                .expect("service");
        run(
            &service,
            Some((dms, &parts)),
            &JobStats::default(),
            &job(id),
        )
        .await
        .expect("runs")
    }

    #[tokio::test]
    async fn only_channels_the_member_can_read_now_are_sent_most_active_first() {
        let (_d, store) = store_with([1, 3, 2]);
        let (sub, _) = store.put_subscription(&subscription(&[])).expect("put");
        let dms = FakeDms {
            readable: vec![ChannelId(10), ChannelId(11)],
            ..FakeDms::default()
        };
        let result = run_job(&store, sub.id, &dms).await;
        assert!(
            result.contains("sent 2 summaries (4 messages) by DM"),
            "{result}"
        );
        assert_eq!(
            *dms.asked.lock().expect("lock"),
            [Vec::<ChannelId>::new()],
            "none picked: every channel of the server, as Discord lists it"
        );
        let texts = dms.texts();
        assert!(
            texts[0].starts_with("Your daily digest of **Home** since <t:1000:f>."),
            "{}",
            texts[0]
        );
        assert_eq!(
            texts[1..],
            ["summary of 11", "summary of 10"],
            "12 is not readable"
        );
        // The nonces are the same on a retry (a part already posted is then skipped).
        let nonces: Vec<String> = dms
            .sent
            .lock()
            .expect("lock")
            .iter()
            .map(|s| s.2.clone())
            .collect();
        assert_eq!(nonces.len(), 3);
        assert!(nonces.iter().all(|n| n.len() == 16));
        assert_eq!(nonces[1], nonce(&job(sub.id), "11"));
        let stored = store.subscription(sub.id).expect("get").expect("present");
        assert_eq!(
            stored.last_outcome.as_deref(),
            Some("sent 2 summaries (4 messages) by DM")
        );
    }

    #[tokio::test]
    async fn past_the_most_active_ten_channels_the_others_are_named_in_one_line() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        // Channels 101..=112: channel 100 + i has i messages, so 101 and 102 are the least active.
        let mut id = 0;
        for i in 1..=12_u64 {
            let batch: Vec<_> = (0..i)
                .map(|k| {
                    id += 1;
                    let mut m = msg(
                        100 + i,
                        id,
                        1_500_000 + i64::try_from(k).unwrap_or(0),
                        "the build is green again",
                    );
                    m.guild_id = Some(GuildId(1));
                    m
                })
                .collect();
            store.upsert_messages(&batch).expect("messages");
        }
        let (sub, _) = store.put_subscription(&subscription(&[])).expect("put");
        let dms = FakeDms {
            readable: (101..=112).map(ChannelId).collect(),
            ..FakeDms::default()
        };
        let result = run_job(&store, sub.id, &dms).await;
        assert!(result.contains("sent 10 summaries"), "{result}");
        let texts = dms.texts();
        assert!(
            texts[0].contains("\nAlso active: <#102>, <#101>\n"),
            "{}",
            texts[0]
        );
        assert_eq!(texts[1], "summary of 112", "most active first");
        assert_eq!(texts.len(), 11);
    }

    #[tokio::test]
    async fn closed_dms_pause_the_subscription() {
        let (_d, store) = store_with([1, 0, 0]);
        let (sub, _) = store.put_subscription(&subscription(&[10])).expect("put");
        let dms = FakeDms {
            readable: vec![ChannelId(10)],
            closed: true,
            ..FakeDms::default()
        };
        let result = run_job(&store, sub.id, &dms).await;
        assert!(
            result.contains("paused: the member's DMs are closed"),
            "{result}"
        );
        let stored = store.subscription(sub.id).expect("get").expect("present");
        assert!(stored.paused_at.is_some() && !stored.pause_told);
        // The next fire time makes nothing while paused.
        let again = run_job(&store, sub.id, &FakeDms::default()).await;
        assert!(again.contains("skipped: paused"), "{again}");
    }

    #[tokio::test]
    async fn nothing_is_sent_when_off_quiet_gone_or_removed() {
        let (_d, store) = store_with([0, 2, 0]);
        let (sub, _) = store
            .put_subscription(&subscription(&[10, 11]))
            .expect("put");
        // Only 10 is readable, and it is quiet: no DM.
        let quiet = FakeDms {
            readable: vec![ChannelId(10)],
            ..FakeDms::default()
        };
        let result = run_job(&store, sub.id, &quiet).await;
        assert!(result.contains("nothing new"), "{result}");
        assert!(quiet.texts().is_empty());
        // The member left the server.
        let gone = FakeDms {
            gone: true,
            ..FakeDms::default()
        };
        assert!(run_job(&store, sub.id, &gone)
            .await
            .contains("left the server"));
        assert!(gone.texts().is_empty());
        assert!(
            store.subscription(sub.id).expect("get").is_none(),
            "a subscription that can never be sent again is deleted"
        );
        let (sub, _) = store
            .put_subscription(&subscription(&[10, 11]))
            .expect("put");
        // The server's admins turned the feature off.
        store
            .update_guild_settings(GuildId(1), |g| g.personal_digests_off = true)
            .expect("settings");
        let off = FakeDms {
            readable: vec![ChannelId(11)],
            ..FakeDms::default()
        };
        let result = run_job(&store, sub.id, &off).await;
        assert!(result.contains("off in this server"), "{result}");
        assert!(off.texts().is_empty() && off.asked.lock().expect("lock").is_empty());
        // Unsubscribed since it fired.
        store
            .delete_subscriptions(GuildId(1), USER, None)
            .expect("delete");
        assert!(run_job(&store, sub.id, &off).await.contains("removed"));
    }
}
