//! Backfill: fetch the part of a window the store does not cover over REST, newest first,
//! 100 messages a page with `before`, until the window's start; pages go through ingest.

use serenity::model::channel::Message;

use super::convert;
use super::ingest::{Ingest, Op};
use super::post::{PostError, Poster};
use crate::model::{ChannelId, TimeWindow, Timestamp};

/// Messages per page (Discord's maximum).
pub const PAGE: u8 = 100;
/// Most pages fetched for one window (10,000 messages).
pub const MAX_PAGES: usize = 100;
/// Discord's snowflake epoch (2015-01-01T00:00:00Z) in Unix millis.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The smallest snowflake at or after `t` (for `before=`/`after=` bounds).
pub fn snowflake_at(t: Timestamp) -> u64 {
    u64::try_from(t.millis() - DISCORD_EPOCH_MS).unwrap_or(0) << 22
}

/// Fetch `channel`'s messages in `window` over REST and queue them for storage, while
/// `allowed()` holds (asked before each message is queued). Returns how many were fetched
/// (after the caller flushes the ingest queue they are in the store).
pub async fn fetch_window(
    poster: &Poster,
    ingest: &Ingest,
    channel: ChannelId,
    window: TimeWindow,
    allowed: &(dyn Fn() -> bool + Sync),
) -> Result<usize, PostError> {
    let mut before = snowflake_at(window.end);
    let mut fetched = 0;
    for _ in 0..MAX_PAGES {
        let page = poster.messages_before(channel, before, PAGE).await?;
        let full_page = page.len() >= usize::from(PAGE);
        let mut reached_start = false;
        for raw in page {
            let Some(msg) = serde_json::from_value::<Message>(raw)
                .ok()
                .and_then(|m| convert::message(&m))
            else {
                continue;
            };
            before = before.min(msg.id.0);
            if msg.timestamp < window.start {
                reached_start = true;
            } else if window.contains(msg.timestamp) {
                // Asked before every message: pushing can wait on a full queue, and an opt-out
                // that lands meanwhile must stop the rest.
                if !allowed() {
                    tracing::info!(channel_id = %channel, "channel excluded or opted out; backfill stopped");
                    return Ok(fetched);
                }
                fetched += 1;
                ingest.push(Op::Upsert(msg)).await;
            }
        }
        if reached_start || !full_page {
            break;
        }
    }
    tracing::info!(channel_id = %channel, fetched, "backfilled over REST");
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_bounds_follow_the_discord_epoch() {
        assert_eq!(snowflake_at(Timestamp(DISCORD_EPOCH_MS)), 0);
        assert_eq!(snowflake_at(Timestamp(DISCORD_EPOCH_MS + 1)), 1 << 22);
        assert_eq!(snowflake_at(Timestamp(0)), 0, "before the epoch clamps");
    }
}
