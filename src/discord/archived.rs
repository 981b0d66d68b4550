//! Threads the gateway cache does not know. GUILD_CREATE carries only active threads, and
//! serenity 0.12 does not handle THREAD_LIST_SYNC, so a thread archived before the bot connected
//! is found over REST (`GET /channels/{id}/threads/archived/public`, newest archive first,
//! paged with `before` and `has_more`), reading back only as far as a window needs. A private
//! thread the bot is not a member of cannot be read at all: that is asked of Discord too.

use serde_json::Value;
use serenity::all::GuildChannel;

use super::commands::Invocation;
use super::ingest::Op;
use super::post::{PostError, Poster};
use super::threads::{Place, PlaceKind, ThreadRef};
use super::{convert, Shared};
use crate::model::{ChannelId, ChannelInfo, TimeWindow, Timestamp};

/// `inv`'s place with the public threads of its target archived within `window` added (the
/// gateway cache knows only active ones); each one found is stored as a channel (its name and
/// parent), unless it may not be stored (excluded, opted out), then it is left out.
pub(super) async fn with_archived(shared: &Shared, inv: &Invocation, window: TimeWindow) -> Place {
    let mut place = inv.place.clone();
    let found = match archived_since(&shared.poster, inv.target, window.start).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, channel_id = %inv.target, "cannot list archived threads");
            return place;
        }
    };
    for info in found {
        if place.threads.iter().any(|t| t.id == info.id) || !shared.service.may_store(&info) {
            continue;
        }
        place.threads.push(ThreadRef {
            id: info.id,
            name: info.name.clone(),
        });
        shared.ingest.push(Op::Channel(info)).await;
    }
    place
}

/// Refuse a private thread the bot is not a member of: Discord lets only members read it, so
/// its summary would be empty. Asked of Discord (the cache may not know the thread at all).
pub(super) async fn check_private_thread(shared: &Shared, inv: &Invocation) -> Result<(), String> {
    if inv.place.kind != PlaceKind::PrivateThread {
        return Ok(());
    }
    match shared.poster.is_thread_member(inv.target).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "I am not a member of the private thread <#{}>, so I cannot read it: add me to the \
             thread (mention me in it), then try again.",
            inv.target
        )),
        Err(e) => {
            tracing::warn!(error = %e, channel_id = %inv.target, "cannot check thread membership");
            Ok(())
        }
    }
}

/// Threads asked for per page (Discord's most).
const PAGE: u8 = 100;
/// Most pages read for one window (10,000 threads archived within a week is beyond any server).
const MAX_PAGES: usize = 100;

/// The public threads of `parent` (a channel or forum) archived at or after `since`: a thread
/// archived before the window started has no message in it.
pub async fn archived_since(
    poster: &Poster,
    parent: ChannelId,
    since: Timestamp,
) -> Result<Vec<ChannelInfo>, PostError> {
    let mut found: Vec<ChannelInfo> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut before: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = poster
            .archived_public_threads(parent, before.as_deref(), PAGE)
            .await?;
        let (threads, reached_start) = read_page(&page, since);
        let known = found.len();
        found.extend(threads.into_iter().filter(|t| ids.insert(t.id)));
        let last = page["threads"]
            .as_array()
            .and_then(|t| t.last())
            .and_then(|t| t["thread_metadata"]["archive_timestamp"].as_str());
        match last {
            // A page that brought nothing new would only repeat (more threads archived at one
            // instant than a page holds): stop rather than loop.
            Some(last) if !reached_start && page["has_more"] == true && found.len() > known => {
                before = Some(just_after(last));
            }
            _ => break,
        }
    }
    Ok(found)
}

/// `before` for the page after one that ended with a thread archived at `last`: `before` is
/// exclusive, and more threads may have been archived at that same instant, so the next page
/// starts just after it (its repeats are dropped by id).
fn just_after(last: &str) -> String {
    Timestamp::parse_rfc3339(last).map_or_else(
        || last.to_owned(),
        |t| {
            Timestamp(t.0.saturating_add(1))
                .to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        },
    )
}

/// The threads of one page archived at or after `since`, and whether the page reached a thread
/// archived before it (no later page can hold one of the window's).
fn read_page(page: &Value, since: Timestamp) -> (Vec<ChannelInfo>, bool) {
    let mut threads = Vec::new();
    for raw in page["threads"].as_array().into_iter().flatten() {
        let archived = raw["thread_metadata"]["archive_timestamp"]
            .as_str()
            .and_then(Timestamp::parse_rfc3339);
        if archived.is_some_and(|at| at < since) {
            return (threads, true);
        }
        match serde_json::from_value::<GuildChannel>(raw.clone()) {
            Ok(thread) => threads.push(convert::channel(&thread, None)),
            Err(e) => tracing::warn!(error = %e, "an archived thread Discord listed is unreadable"),
        }
    }
    (threads, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn thread(id: u64, archived: &str) -> Value {
        json!({"id": id.to_string(), "type": 11, "guild_id": "1", "name": format!("t{id}"),
            "parent_id": "5", "owner_id": "2", "last_message_id": null,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {"archived": true, "auto_archive_duration": 1440,
                "archive_timestamp": archived, "locked": false}})
    }

    #[test]
    fn the_next_page_starts_just_after_the_last_archive_time_so_ties_are_not_skipped() {
        assert_eq!(
            just_after("2026-03-01T10:00:00.000000+00:00"),
            "2026-03-01T10:00:00.001Z"
        );
        // Unreadable: passed on as Discord gave it.
        assert_eq!(just_after("yesterday"), "yesterday");
    }

    #[test]
    fn a_page_stops_at_the_first_thread_archived_before_the_window() {
        let since = Timestamp::parse_rfc3339("2026-03-01T00:00:00+00:00").expect("time");
        let page = json!({"threads": [
            thread(3, "2026-03-02T10:00:00.000000+00:00"),
            thread(2, "2026-03-01T00:00:00.000000+00:00"),
            thread(1, "2026-02-27T09:00:00.000000+00:00"),
        ], "members": [], "has_more": true});
        let (threads, reached) = read_page(&page, since);
        let ids: Vec<u64> = threads.iter().map(|t| t.id.0).collect();
        assert_eq!(ids, [3, 2]);
        assert!(reached);
        assert_eq!(threads[0].parent_id, Some(ChannelId(5)));
        assert_eq!(threads[0].name, "t3");
        let (_, reached) = read_page(
            &json!({"threads": [thread(3, "2026-03-02T10:00:00Z")]}),
            since,
        );
        assert!(!reached);
    }
}
