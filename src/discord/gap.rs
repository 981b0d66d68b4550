//! The gateway side of gap fill and coverage: when a session starts (READY — the first, or a
//! new one after a resume failed), the channels the bot can read, with their `last_message_id`,
//! go to the summary service's gap fill in the background; now and then, and at shutdown, the
//! session's coverage is recorded.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{ChannelType, GuildId as SGuildId};
use serenity::cache::Cache;
use serenity::gateway::{ConnectionStage, ShardManager};

use super::{convert, permissions, Shared};
use crate::channel_summary::gap_fill::{Candidate, MAX_PER_CHANNEL};
use crate::model::{ChannelId, ChannelInfo, GuildId, Timestamp};

/// Longest wait for the guilds announced in READY to arrive before the gap fill starts anyway.
const GUILDS_WAIT: Duration = Duration::from_secs(15);
/// How often the live session's coverage is recorded while running.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_secs(10 * 60);

/// A new gateway session: live events are stored from now on; fill what was missed before.
pub(super) fn session_started(shared: &Arc<Shared>, cache: &Arc<Cache>, guilds: Vec<SGuildId>) {
    shared.service.coverage().session_started(Timestamp::now());
    let _ = shared.cache.set(Arc::clone(cache));
    let shared = Arc::clone(shared);
    let cache = Arc::clone(cache);
    tokio::spawn(async move {
        wait_for_guilds(&cache, &guilds).await;
        // Live events received meanwhile are stored before comparing with Discord.
        shared.ingest.flush().await;
        let candidates = readable_channels(&shared, &cache)
            .into_iter()
            .map(|(channel, last_message_id)| Candidate {
                channel,
                last_message_id,
            })
            .collect();
        let runtime = Arc::clone(&shared.runtime);
        let report = move |r: &crate::runtime::GapFill| {
            let r = r.clone();
            runtime.update_discord(|d| d.gap_fill = Some(r));
        };
        shared
            .service
            .gap_fill(candidates, MAX_PER_CHANNEL, &report)
            .await;
        checkpoint(&shared);
    });
}

/// Wait (bounded) until every guild of READY is in the cache.
async fn wait_for_guilds(cache: &Cache, guilds: &[SGuildId]) {
    let deadline = tokio::time::Instant::now() + GUILDS_WAIT;
    while guilds.iter().any(|g| cache.guild(*g).is_none()) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Channels and threads of the served guilds that hold messages and that the bot can read,
/// with Discord's newest message id in each.
fn readable_channels(shared: &Shared, cache: &Cache) -> Vec<(ChannelInfo, Option<u64>)> {
    let mut out = Vec::new();
    for guild_id in cache.guilds() {
        if !shared.serves(Some(GuildId(guild_id.get()))) {
            continue;
        }
        let Some(guild) = cache.guild(guild_id) else {
            continue;
        };
        let all = guild.channels.values().chain(guild.threads.iter());
        for c in all {
            let holds_messages = matches!(
                c.kind,
                ChannelType::Text
                    | ChannelType::News
                    | ChannelType::PublicThread
                    | ChannelType::PrivateThread
                    | ChannelType::NewsThread
            );
            if !holds_messages {
                continue;
            }
            let id = ChannelId(c.id.get());
            let readable = super::client::bot_permissions(cache, guild_id, id)
                .is_some_and(|p| permissions::missing_to_read(p).is_none());
            if readable {
                out.push((
                    convert::channel(c, Some(&guild.name)),
                    c.last_message_id.map(serenity::all::MessageId::get),
                ));
            }
        }
    }
    out
}

/// Record what the live session stored of every readable channel up to now.
pub(super) fn checkpoint(shared: &Shared) {
    let Some(cache) = shared.cache.get() else {
        return; // never connected: the session stored nothing
    };
    let channels: Vec<ChannelInfo> = readable_channels(shared, cache)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    shared.service.checkpoint(&channels);
}

/// How often the shards' connection stages are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How far before the last event's arrival the session still vouches for: events in flight
/// and the difference between Discord's clock (message times) and this machine's.
const LOSS_MARGIN: Duration = Duration::from_secs(60);
/// A session that started or resumed this recently is not taken for lost: the shard's runner
/// reports `Connected` a moment after its READY or RESUMED is dispatched.
const NEW_SESSION_GRACE: Duration = Duration::from_millis(250);

/// When each shard last delivered an event. A shard that is lost vouches only up to its own
/// last event: Discord sends a guild's events to one shard only, so the others' events say
/// nothing about it.
#[derive(Default)]
pub(super) struct ShardClock(Mutex<HashMap<u32, Timestamp>>);

impl ShardClock {
    /// `shard` delivered an event at `at`.
    pub(super) fn seen(&self, shard: u32, at: Timestamp) {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.insert(shard, at);
    }

    /// The earliest last event among the `down` shards: what all of them vouch for. A shard
    /// that never delivered one vouches for nothing (the epoch: coverage then falls back to the
    /// session's start). `None` when no shard is named.
    fn last_alive(&self, down: &BTreeSet<u32>) -> Option<Timestamp> {
        let last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        down.iter()
            .map(|s| last.get(s).copied().unwrap_or(Timestamp(0)))
            .min()
    }
}

/// Watch the shards until shutdown begins: while any is not connected (serenity dispatches no
/// stage change when a resume fails and the shard restarts, and a restarting shard has no
/// runner at all), the live session vouches for what it stored up to its last event and for
/// nothing later, until a RESUMED ([`session_resumed`]) or a new READY. Keeps the `connected`
/// flag of `/health` true to the shards too.
pub(super) async fn watch_shards(shared: Arc<Shared>, manager: Arc<ShardManager>) {
    // Every shard that ever had a runner: a restarting one has none for a while.
    let mut known = BTreeSet::new();
    let mut ticker = tokio::time::interval(WATCH_EVERY);
    while shared.accepting.load(Ordering::SeqCst) {
        ticker.tick().await;
        let connected: BTreeSet<u32> = {
            let runners = manager.runners.lock().await;
            known.extend(runners.keys().map(|s| s.0));
            runners
                .iter()
                .filter(|(_, r)| r.stage == ConnectionStage::Connected)
                .map(|(s, _)| s.0)
                .collect()
        };
        let down: BTreeSet<u32> = known.difference(&connected).copied().collect();
        let whole = !known.is_empty() && down.is_empty();
        if !shared.accepting.load(Ordering::SeqCst) {
            break;
        }
        if !whole {
            session_lost(&shared, &down);
        }
        if shared.runtime.discord().connected != whole {
            shared.runtime.update_discord(|d| d.connected = whole);
        }
    }
}

/// The `down` shards' connections are gone: see [`watch_shards`].
fn session_lost(shared: &Shared, down: &BTreeSet<u32>) {
    let Some(cache) = shared.cache.get() else {
        return; // never connected: there is no session to lose
    };
    if !shared
        .service
        .coverage()
        .would_lose(Timestamp::now(), NEW_SESSION_GRACE)
    {
        return;
    }
    // Messages are timed by Discord's clock, events by ours when they arrive: step back by a
    // margin so a message sent just before the last event arrived is still fetched.
    let last_event = shared
        .shard_clock
        .last_alive(down)
        .or(shared.runtime.discord().last_event)
        .unwrap_or_else(Timestamp::now);
    let margin = i64::try_from(LOSS_MARGIN.as_millis()).unwrap_or(i64::MAX);
    let last_alive = Timestamp(last_event.millis().saturating_sub(margin));
    let channels: Vec<ChannelInfo> = readable_channels(shared, cache)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    shared
        .service
        .session_lost(&channels, last_alive, NEW_SESSION_GRACE);
}

/// The lost session was resumed: Discord replayed the events it missed, in order, before
/// RESUMED, so it vouches for its whole span again.
pub(super) fn session_resumed(shared: &Shared) {
    if shared.service.coverage().lost_at().is_some() {
        tracing::info!("gateway session resumed; the events it missed were replayed");
    }
    shared.service.coverage().session_resumed(Timestamp::now());
}

/// Record the session's coverage every [`CHECKPOINT_EVERY`] until shutdown begins.
pub(super) async fn checkpoints(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    ticker.tick().await;
    while shared.accepting.load(Ordering::SeqCst) {
        ticker.tick().await;
        if shared.accepting.load(Ordering::SeqCst) {
            shared.ingest.flush().await;
            checkpoint(&shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_shard_vouches_up_to_its_own_last_event_not_the_other_shards() {
        let clock = ShardClock::default();
        clock.seen(0, Timestamp(1_000));
        clock.seen(1, Timestamp(2_000));
        // Shard 0 keeps delivering its guilds' events after shard 1 fell silent.
        clock.seen(0, Timestamp(90_000));
        assert_eq!(
            clock.last_alive(&BTreeSet::from([1])),
            Some(Timestamp(2_000))
        );
        assert_eq!(
            clock.last_alive(&BTreeSet::from([0])),
            Some(Timestamp(90_000))
        );
        // Several down: only what all of them vouch for.
        assert_eq!(
            clock.last_alive(&BTreeSet::from([0, 1])),
            Some(Timestamp(2_000))
        );
        // A shard that never delivered anything vouches for nothing of its own.
        assert_eq!(clock.last_alive(&BTreeSet::from([2])), Some(Timestamp(0)));
        assert_eq!(
            clock.last_alive(&BTreeSet::from([1, 2])),
            Some(Timestamp(0))
        );
        assert_eq!(clock.last_alive(&BTreeSet::new()), None);
    }
}
