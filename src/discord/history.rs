//! The summary service's history source over Discord's REST API: pages of a channel's history
//! go through the ingest queue (ordered with live edits and deletes), which is flushed before
//! the fetch returns; unknown channels are looked up with `GET /channels/{id}`.

use serenity::all::GuildChannel;

use super::ingest::Ingest;
use super::post::Poster;
use super::{backfill, convert};
use crate::channel_summary::{Fetched, HistorySource};
use crate::jobs::BoxFuture;
use crate::model::{ChannelId, ChannelInfo, TimeWindow};

/// REST history through the bot's poster and ingest queue.
pub struct RestHistory {
    poster: Poster,
    ingest: Ingest,
}

impl RestHistory {
    /// A history source over `poster`, storing through `ingest`.
    pub fn new(poster: Poster, ingest: Ingest) -> Self {
        Self { poster, ingest }
    }
}

impl HistorySource for RestHistory {
    fn fetch<'a>(
        &'a self,
        channel: ChannelId,
        window: TimeWindow,
        max_messages: usize,
        allowed: &'a (dyn Fn() -> bool + Send + Sync),
    ) -> BoxFuture<'a, Result<Fetched, String>> {
        Box::pin(async move {
            let fetched = backfill::fetch_window(
                &self.poster,
                &self.ingest,
                channel,
                window,
                max_messages,
                allowed,
            )
            .await;
            // What was queued is stored before anyone reads the window (also after a failure).
            self.ingest.flush().await;
            fetched.map_err(|e| e.to_string())
        })
    }

    fn channel_info(&self, channel: ChannelId) -> BoxFuture<'_, Option<ChannelInfo>> {
        Box::pin(async move {
            let raw = match self.poster.channel(channel).await {
                Ok(raw) => raw,
                Err(e) => {
                    tracing::warn!(channel_id = %channel, error = %e, "cannot look up the channel");
                    return None;
                }
            };
            let parsed: GuildChannel = serde_json::from_value(raw).ok()?;
            Some(convert::channel(&parsed, None))
        })
    }
}
