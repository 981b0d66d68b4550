//! Backfill: fetch the part of a window the store does not cover over REST, newest first,
//! 100 messages a page with `before`, until the window's start; pages go through ingest.
//! Authors are named as on the gateway: their server nicknames are looked up (once each).

use serenity::model::channel::Message;

use super::convert;
use super::ingest::{Ingest, Op};
use super::names::Authors;
use super::post::{PostError, Poster};
use crate::channel_summary::Fetched;
use crate::model::{ChannelId, TimeWindow};

/// Messages per page (Discord's maximum).
pub const PAGE: u8 = 100;
/// Most pages fetched for one window (10,000 messages).
pub const MAX_PAGES: usize = 100;

pub use crate::model::snowflake_at;

/// Fetch `channel`'s messages in `window` over REST, newest first, at most `max_messages`, and
/// queue them for storage while `allowed()` holds (asked before each message is queued), named
/// with `authors`' nicknames. The caller flushes the ingest queue to have them in the store.
pub async fn fetch_window(
    poster: &Poster,
    ingest: &Ingest,
    authors: &mut Authors<'_>,
    channel: ChannelId,
    window: TimeWindow,
    max_messages: usize,
    allowed: &(dyn Fn() -> bool + Send + Sync),
) -> Result<Fetched, PostError> {
    let mut before = snowflake_at(window.end);
    let mut fetched = Fetched::default();
    let pages = max_messages.div_ceil(usize::from(PAGE)).min(MAX_PAGES);
    for _ in 0..pages {
        let page = poster.messages_before(channel, before, PAGE).await?;
        fetched.requests += 1;
        let full_page = page.len() >= usize::from(PAGE);
        for raw in page {
            let Ok(m) = serde_json::from_value::<Message>(raw) else {
                continue;
            };
            let Some(sent) = convert::timestamp(&m.timestamp) else {
                continue;
            };
            before = before.min(m.id.get());
            if sent < window.start {
                fetched.complete = true;
            } else if window.contains(sent) {
                let nick = authors.nick(&m).await;
                let Some(msg) = convert::rest_message(&m, authors.guild(), nick.as_deref()) else {
                    continue;
                };
                // Asked before every message: pushing (or a member look-up) can wait, and an
                // opt-out that lands meanwhile must stop the rest.
                if !allowed() {
                    tracing::info!(channel_id = %channel, "channel excluded or opted out; fetch stopped");
                    fetched.complete = false;
                    return Ok(fetched);
                }
                fetched.messages += 1;
                fetched.oldest = Some(msg.timestamp);
                ingest.push(Op::Upsert(msg)).await;
            }
        }
        if !full_page {
            fetched.complete = true;
        }
        if fetched.complete {
            break;
        }
    }
    tracing::info!(channel_id = %channel, fetched = fetched.messages, requests = fetched.requests,
        complete = fetched.complete, "fetched history over REST");
    Ok(fetched)
}
