//! The `personal_digest` job: a member's digest by DM (`/digest subscribe`). At send time the
//! member's permissions are asked of Discord and only channels they can read now are looked at
//! (a channel they lost is left out, never sent); the most active ones (at most
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
    let candidates = candidates(service, sub).await?;
    let readable = publisher
        .readable_by(sub.guild_id, sub.user_id, candidates)
        .await
        .map_err(|e| JobError {
            retryable: e.retryable,
            message: format!("cannot check which channels the member may read: {e}"),
        })?;
    let Some(readable) = readable else {
        return Ok("skipped: the member has left the server".to_owned());
    };
    let window = TimeWindow {
        start: job.since,
        end: job.fire,
    };
    let label = format!("personal {}", sub.id);
    let mut active = Vec::new();
    for channel in readable {
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
    active.sort_by(|a, b| b.1.cmp(&a.1));
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
            summaries.push(s);
        }
    }
    if summaries.is_empty() {
        return Ok("nothing new in the member's channels; no DM sent".to_owned());
    }
    match deliver(publisher, parts, job, sub, &summaries, &more).await {
        Ok(()) => {
            let messages: usize = summaries.iter().map(|s| s.message_count).sum();
            Ok(format!(
                "sent {} summar{} ({messages} messages) by DM",
                summaries.len(),
                if summaries.len() == 1 { "y" } else { "ies" }
            ))
        }
        Err(e) if e.dms_closed() => {
            pause(service, sub.id).await?;
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

/// The channels the member picked, else every stored channel of the server (not threads),
/// in the store's order.
async fn candidates(
    service: &ChannelSummaries,
    sub: &Subscription,
) -> Result<Vec<ChannelId>, JobError> {
    if !sub.channels.is_empty() {
        return Ok(sub.channels.clone());
    }
    let guild = sub.guild_id;
    let stored = blocking(service.store(), |s| s.channels()).await?;
    Ok(stored
        .into_iter()
        .filter(|c| c.guild_id == Some(guild) && c.parent_id.is_none())
        .map(|c| c.id)
        .collect())
}

/// Open the DM and send the heading, then each summary (every part once).
async fn deliver(
    publisher: &dyn super::Publisher,
    parts: &super::PartLog,
    job: &PersonalDigestJob,
    sub: &Subscription,
    summaries: &[Summary],
    more: &[ChannelId],
) -> Result<(), PublishError> {
    let dm = publisher.open_dm(sub.user_id).await?;
    let server = summaries[0]
        .channel
        .guild_name
        .clone()
        .unwrap_or_else(|| "your server".to_owned());
    publisher
        .post_text(
            dm,
            &heading(sub, &server, job.since, more),
            &nonce(job, "h"),
            parts,
        )
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
        text.push_str(&format!("\nAlso active: {}", list.join(", ")));
    }
    text.push_str("\n-# `/digest list` shows your digests; `/digest unsubscribe` stops them.");
    text
}

/// The nonce of part `part` of this fire time: the same on every attempt (so Discord drops a
/// repeat within a few minutes, and a retry skips the parts recorded as posted), 16
/// characters (Discord allows 25; a summary's messages add `:{i}`).
fn nonce(job: &PersonalDigestJob, part: &str) -> String {
    let digest = Sha256::digest(format!("p:{}:{}:{part}", job.subscription_id, job.fire.0));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..16].to_owned()
}

/// Pause subscription `id`: no digest until the member subscribes again; they are told on
/// their next command.
async fn pause(service: &ChannelSummaries, id: u64) -> Result<(), JobError> {
    let now = Timestamp::now();
    blocking(service.store(), move |s| {
        s.modify_subscription(id, |sub| {
            sub.paused_at = Some(now);
            sub.pause_told = false;
            true
        })
    })
    .await
    .map(|_| ())
}
