//! The summary service's history source over Discord's REST API: pages of a channel's history
//! go through the ingest queue (ordered with live edits and deletes), which is flushed before
//! the fetch returns; unknown channels are looked up with `GET /channels/{id}`. REST messages
//! name neither their server nor their author's member: the server is the channel's, and
//! authors' nicknames come from [`MemberNames`].

use std::sync::Arc;

use serenity::all::GuildChannel;

use super::ingest::Ingest;
use super::names::{Authors, MemberNames};
use super::post::Poster;
use super::{backfill, convert};
use crate::channel_summary::{Fetched, HistorySource};
use crate::jobs::BoxFuture;
use crate::model::{ChannelId, ChannelInfo, GuildId, TimeWindow};
use crate::store::Store;

/// REST history through the bot's poster and ingest queue.
pub struct RestHistory {
    poster: Poster,
    ingest: Ingest,
    store: Arc<Store>,
    names: Arc<MemberNames>,
}

impl RestHistory {
    /// A history source over `poster`, storing through `ingest`; channels' servers are read
    /// from `store` (else asked of Discord), authors' nicknames from `names`.
    pub fn new(poster: Poster, ingest: Ingest, store: Arc<Store>, names: Arc<MemberNames>) -> Self {
        Self {
            poster,
            ingest,
            store,
            names,
        }
    }

    /// The server `channel` belongs to: as stored, else as Discord says.
    async fn guild_of(&self, channel: ChannelId) -> Option<GuildId> {
        let stored = self.store.channel(channel).ok().flatten();
        match stored.and_then(|c| c.guild_id) {
            Some(g) => Some(g),
            None => self.channel_info(channel).await?.guild_id,
        }
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
            let mut authors = Authors::new(&self.names, self.guild_of(channel).await);
            let fetched = backfill::fetch_window(
                &self.poster,
                &self.ingest,
                &mut authors,
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
