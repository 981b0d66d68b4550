//! Gap fill after downtime: when a gateway session starts (the first, or a new one because the
//! old could not be resumed), every readable stored channel whose newest Discord message is
//! newer than what the store holds gets what was posted meanwhile, bounded by
//! `storage.retention_days` and a per-channel cap. Channels with nothing new are joined to the
//! live session without a request.

use std::time::Instant;

use super::ChannelSummaries;
use crate::model::{snowflake_time, ChannelInfo, TimeWindow, Timestamp};
use crate::runtime::GapFill;

/// Most messages fetched for one channel by a gap fill (10 pages).
pub const MAX_PER_CHANNEL: usize = 1_000;

/// A channel the gateway reported, with Discord's newest message id in it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The channel (a thread with its `parent_id`).
    pub channel: ChannelInfo,
    /// `last_message_id` from the guild or channel payload (`None`: no message yet).
    pub last_message_id: Option<u64>,
}

/// What the gap fill did (shown by `/health` and the status page).
pub type Report = GapFill;

impl ChannelSummaries {
    /// Fill what `candidates` missed since the store's newest message (or coverage) of each,
    /// one channel at a time (Discord's rate limits apply). Needs an attached history source.
    /// `report` is told the progress after each channel.
    pub async fn gap_fill(
        &self,
        candidates: Vec<Candidate>,
        max_per_channel: usize,
        report_to: &(dyn Fn(&Report) + Send + Sync),
    ) -> Report {
        let started = Instant::now();
        let mut report = Report {
            started_at: Timestamp::now(),
            running: true,
            channels_checked: 0,
            channels_filled: 0,
            messages: 0,
            requests: 0,
            incomplete: 0,
            duration_ms: 0,
        };
        report_to(&report);
        for candidate in candidates {
            self.fill_one(&candidate, max_per_channel, &mut report)
                .await;
            report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            report_to(&report);
        }
        report.running = false;
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report_to(&report);
        tracing::info!(
            channels_checked = report.channels_checked,
            channels_filled = report.channels_filled,
            messages = report.messages,
            requests = report.requests,
            incomplete = report.incomplete,
            duration_ms = report.duration_ms,
            "gap fill finished"
        );
        report
    }

    async fn fill_one(&self, candidate: &Candidate, cap: usize, report: &mut Report) {
        let channel = &candidate.channel;
        if !self.may_store(channel) {
            return;
        }
        let (newest, span) = match (
            self.store.latest_message(channel.id),
            self.store.coverage(channel.id),
        ) {
            (Ok(newest), Ok(span)) => (newest, span),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(channel_id = %channel.id, error = %e, "gap fill cannot read the store; channel skipped");
                return;
            }
        };
        if newest.is_none() && span.is_none() {
            return; // not a stored channel: its windows are fetched when first summarized
        }
        report.channels_checked += 1;
        let newest_time = newest.map(|(t, _)| t);
        // What is known complete up to: the coverage when it reaches the newest stored message,
        // else only from the newest stored message on (an older span may have a gap after it).
        let (since, known_until) = match span {
            Some(s) if newest_time.is_none_or(|t| s.through >= t) => (s.since, s.through),
            _ => {
                let t = newest_time.unwrap_or(Timestamp(0));
                (t, t)
            }
        };
        let opted_in = self.opted_in(channel);
        let now = Timestamp::now();
        let missed = candidate.last_message_id.is_some_and(|last| {
            newest.is_none_or(|(_, id)| last > id.0) && snowflake_time(last) > known_until
        });
        if !missed {
            if let Err(e) = self.coverage.record(channel.id, since, now, opted_in) {
                tracing::warn!(channel_id = %channel.id, error = %e, "cannot record coverage");
            }
            return;
        }
        let Some(history) = self.history() else {
            return;
        };
        let retention = self.config.storage.retention_days;
        let floor = if retention > 0 {
            Timestamp(now.0 - i64::from(retention) * 86_400_000)
        } else {
            Timestamp(i64::MIN)
        };
        // From just after what is known (that message is stored already).
        let after_known = Timestamp(known_until.0.saturating_add(1));
        let window = TimeWindow {
            start: after_known.max(floor),
            end: Timestamp(now.0 + 1),
        };
        let allowed = || self.may_store(channel);
        report.channels_filled += 1;
        match history.fetch(channel.id, window, cap, &allowed).await {
            Ok(fetched) => {
                report.messages += fetched.messages;
                report.requests += fetched.requests;
                let since = if fetched.complete && window.start == after_known {
                    since
                } else {
                    report.incomplete += 1;
                    // Capped: complete only from the oldest message fetched on.
                    fetched.oldest.unwrap_or(now)
                };
                if let Err(e) = self.coverage.record(channel.id, since, now, opted_in) {
                    tracing::warn!(channel_id = %channel.id, error = %e, "cannot record coverage");
                }
            }
            Err(e) => {
                report.incomplete += 1;
                tracing::warn!(channel_id = %channel.id, error = %e, "gap fill of a channel failed; its windows are fetched when summarized");
            }
        }
    }
}
