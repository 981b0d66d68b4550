//! Coverage: which spans of a channel's history the store holds completely. Two sources:
//! the live gateway session (every event since it started is stored) and the persisted spans
//! (backfills and gap fills, kept across restarts). A persisted span is joined to the live
//! session only once a gap fill (or a backfill reaching the session) has shown nothing is missing
//! between them; until then windows past it are fetched again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::model::{ChannelId, TimeWindow, Timestamp};
use crate::store::{Span, Store, StoreError};

/// The coverage bookkeeping of one process.
pub struct Coverage {
    store: Arc<Store>,
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    /// Since when live gateway events are stored; `None` without a gateway.
    since: Option<Timestamp>,
    /// Set while the session is down (lost, not yet resumed or replaced): events after this
    /// moment may never arrive, so the session vouches for nothing until it is back.
    lost_at: Option<Timestamp>,
    /// When the session last started or resumed.
    vouched_at: Option<Timestamp>,
    /// Channels whose persisted span runs into the live session.
    joined: HashSet<ChannelId>,
}

impl Live {
    /// See [`Coverage::would_lose`].
    fn loses(&self, now: Timestamp, grace: Duration) -> bool {
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        self.since.is_some()
            && self.lost_at.is_none()
            && self
                .vouched_at
                .is_none_or(|v| v.millis().saturating_add(grace_ms) <= now.millis())
    }
}

/// Is `window` inside `span` (joined: running on into the live session), or inside the live
/// session starting at `live`?
pub fn covers(
    span: Option<Span>,
    joined: bool,
    live: Option<Timestamp>,
    window: TimeWindow,
) -> bool {
    if window.end <= window.start || live.is_some_and(|l| window.start >= l) {
        return true;
    }
    span.is_some_and(|s| {
        s.since <= window.start && (window.end <= s.through || (joined && live.is_some()))
    })
}

impl Coverage {
    /// Coverage over `store`, with no live session yet.
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            live: Mutex::new(Live::default()),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A gateway session started at `at` (the first, or a new one after a resume failed): live
    /// events are stored from now on, and no persisted span is trusted past its end until a
    /// gap fill joins it again.
    pub fn session_started(&self, at: Timestamp) {
        let mut live = self.live();
        live.since = Some(at);
        live.lost_at = None;
        live.vouched_at = Some(at);
        live.joined.clear();
    }

    /// Events received at `at` or before were dropped unstored: the live session vouches only
    /// for what arrives from now on (as a new session would), but a loss of the connection
    /// stays noted.
    pub fn events_dropped(&self, at: Timestamp) {
        let mut live = self.live();
        if live.since.is_some() {
            live.since = Some(at);
            live.joined.clear();
        }
    }

    /// The gateway connection was lost; `last_alive` is when it last delivered an event. Until
    /// it resumes ([`Coverage::session_resumed`]) or a new session starts, no window is trusted
    /// to the live session: they are fetched over REST. Record the session's coverage up to
    /// `last_alive` first ([`Coverage::checkpoint`]), so what it did store stays known.
    /// Marked only when [`Coverage::would_lose`] holds at `now`, checked and marked under one
    /// lock (a READY arriving meanwhile wins). True when it was marked.
    pub fn lose_if_due(&self, last_alive: Timestamp, now: Timestamp, grace: Duration) -> bool {
        let mut live = self.live();
        match live.since {
            Some(since) if live.loses(now, grace) => {
                live.lost_at = Some(last_alive.max(since));
                true
            }
            _ => false,
        }
    }

    /// Would a loss noticed at `now` end the live session? Not without one, not when it is
    /// down already, and not when it started or resumed less than `grace` before `now` (the
    /// one noticing may not have seen the new connection yet).
    pub fn would_lose(&self, now: Timestamp, grace: Duration) -> bool {
        self.live().loses(now, grace)
    }

    /// The lost session was resumed at `at`: Discord replayed what it missed, so it vouches
    /// again.
    pub fn session_resumed(&self, at: Timestamp) {
        let mut live = self.live();
        live.lost_at = None;
        live.vouched_at = Some(at);
    }

    /// When the live session was lost, while it is down.
    pub fn lost_at(&self) -> Option<Timestamp> {
        self.live().lost_at
    }

    /// Since when live events of a channel are stored: the session's start, or later when the
    /// channel was opted in later (`opted_in`). None without a session, or while it is down.
    pub fn live_since(&self, opted_in: Option<Timestamp>) -> Option<Timestamp> {
        let live = self.live();
        let since = live.since.filter(|_| live.lost_at.is_none())?;
        Some(opted_in.map_or(since, |t| t.max(since)))
    }

    /// True when every message of `channel` in `window` is stored.
    pub fn covers(
        &self,
        channel: ChannelId,
        opted_in: Option<Timestamp>,
        window: TimeWindow,
    ) -> Result<bool, StoreError> {
        let live = self.live_since(opted_in);
        let joined = self.live().joined.contains(&channel);
        Ok(covers(self.store.coverage(channel)?, joined, live, window))
    }

    /// Record that every message of `channel` in `[since, through]` is now stored (a backfill or
    /// gap fill finished). It merges with an overlapping span; otherwise the newer span wins.
    /// A span reaching the live session joins it.
    pub fn record(
        &self,
        channel: ChannelId,
        since: Timestamp,
        through: Timestamp,
        opted_in: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let live = self.live_since(opted_in);
        let was_joined = self.live().joined.contains(&channel);
        let old = self.store.coverage(channel)?;
        let old_end = |s: Span| {
            if was_joined {
                Timestamp(i64::MAX)
            } else {
                s.through
            }
        };
        let mut span = Span { since, through };
        let mut joined = live.is_some_and(|l| through >= l);
        if let Some(old) = old {
            if old.since <= through && since <= old_end(old) {
                span = Span {
                    since: old.since.min(since),
                    through: old.through.max(through),
                };
                joined |= was_joined;
            } else if old_end(old) > through {
                return Ok(()); // what is recorded is newer
            }
        }
        self.store.put_coverage(&[(channel, span)])?;
        let mut live = self.live();
        if joined {
            live.joined.insert(channel);
        } else {
            live.joined.remove(&channel);
        }
        Ok(())
    }

    /// Write the live session's coverage of `channels` up to `now`, so a restart knows what the
    /// session stored: a joined span runs to `now`, else the session's own span (from its start,
    /// or the channel's later opt-in) replaces an older one.
    pub fn checkpoint(
        &self,
        channels: &[(ChannelId, Option<Timestamp>)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut spans = Vec::with_capacity(channels.len());
        for &(channel, opted_in) in channels {
            let Some(live) = self.live_since(opted_in) else {
                return Ok(());
            };
            let joined = self.live().joined.contains(&channel);
            let since = match self.store.coverage(channel)? {
                Some(old) if joined => old.since.min(live),
                _ => live,
            };
            if since <= now {
                spans.push((
                    channel,
                    Span {
                        since,
                        through: now,
                    },
                ));
            }
        }
        self.store.put_coverage(&spans)?;
        let mut live = self.live();
        live.joined.extend(spans.iter().map(|(c, _)| *c));
        Ok(())
    }

    /// Forget every span (an opt-out deleted messages; an opt-in leaves a gap before it).
    pub fn forget(&self) -> Result<(), StoreError> {
        self.live().joined.clear();
        self.store.clear_coverage()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn w(start: i64, end: i64) -> TimeWindow {
        TimeWindow {
            start: Timestamp(start),
            end: Timestamp(end),
        }
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "compared with Option<Span> results"
    )]
    fn span(since: i64, through: i64) -> Option<Span> {
        Some(Span {
            since: Timestamp(since),
            through: Timestamp(through),
        })
    }

    #[test]
    fn windows_are_covered_by_the_live_session_or_a_span() {
        let live = Some(Timestamp(100));
        assert!(covers(None, false, live, w(100, 200)), "inside the session");
        assert!(!covers(None, false, live, w(99, 200)), "starts before it");
        assert!(!covers(None, false, None, w(100, 200)), "no gateway");
        assert!(covers(span(10, 50), false, live, w(20, 50)));
        assert!(
            !covers(span(10, 50), false, live, w(20, 60)),
            "a gap after the span"
        );
        assert!(
            covers(span(10, 50), true, live, w(20, 500)),
            "joined to the session"
        );
        assert!(
            !covers(span(10, 50), true, None, w(20, 500)),
            "offline: no session"
        );
        assert!(
            !covers(span(10, 50), true, live, w(5, 60)),
            "before the span"
        );
        assert!(covers(None, false, None, w(5, 5)), "an empty window");
    }

    #[test]
    fn spans_merge_join_the_session_and_survive_a_restart_unjoined() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let c = ChannelId(1);
        let coverage = Coverage::new(Arc::clone(&store));
        coverage.session_started(Timestamp(1_000));
        coverage
            .record(c, Timestamp(500), Timestamp(1_200), None)
            .expect("record");
        assert!(coverage.covers(c, None, w(600, 5_000)).expect("read"));
        coverage
            .record(c, Timestamp(100), Timestamp(600), None)
            .expect("older, overlapping");
        assert!(coverage.covers(c, None, w(100, 5_000)).expect("read"));
        coverage
            .record(c, Timestamp(10), Timestamp(20), None)
            .expect("older, disjoint: ignored");
        assert!(!coverage.covers(c, None, w(10, 30)).expect("read"));
        coverage
            .checkpoint(&[(c, None), (ChannelId(2), None)], Timestamp(2_000))
            .expect("checkpoint");
        assert_eq!(store.coverage(c).expect("read"), span(100, 2_000));
        assert_eq!(
            store.coverage(ChannelId(2)).expect("read"),
            span(1_000, 2_000)
        );

        // A restart: the spans are known, but not trusted past their end until joined.
        let after = Coverage::new(Arc::clone(&store));
        after.session_started(Timestamp(9_000));
        assert!(after.covers(c, None, w(100, 2_000)).expect("read"));
        assert!(
            !after.covers(c, None, w(100, 9_500)).expect("read"),
            "downtime"
        );
        after
            .record(c, Timestamp(2_000), Timestamp(9_100), None)
            .expect("gap filled");
        assert!(after.covers(c, None, w(100, 99_999)).expect("read"));
        // An opt-in after the session started: live coverage starts then.
        assert!(!after
            .covers(ChannelId(3), Some(Timestamp(9_500)), w(9_200, 9_600))
            .expect("read"));
        after.forget().expect("forget");
        assert!(!after.covers(c, None, w(100, 2_000)).expect("read"));
    }

    #[test]
    fn a_lost_session_vouches_only_up_to_its_last_event_until_it_resumes() {
        let (_d, store) = temp_store();
        let store = Arc::new(store);
        let c = ChannelId(1);
        let coverage = Coverage::new(Arc::clone(&store));
        let grace = Duration::from_millis(250);
        assert!(!coverage.would_lose(Timestamp(5_000), grace), "no session");
        coverage.session_started(Timestamp(1_000));
        assert!(coverage.covers(c, None, w(1_000, 5_000)).expect("read"));
        assert!(
            !coverage.would_lose(Timestamp(1_100), grace),
            "a session this new is not lost"
        );
        assert!(coverage.would_lose(Timestamp(4_000), grace));

        // Lost at 4,000 with its last event at 3,000: what it stored is recorded up to then.
        coverage
            .checkpoint(&[(c, None)], Timestamp(3_000))
            .expect("checkpoint");
        assert!(coverage.lose_if_due(Timestamp(3_000), Timestamp(4_000), grace));
        assert_eq!(coverage.lost_at(), Some(Timestamp(3_000)));
        assert!(
            !coverage.would_lose(Timestamp(9_000), grace),
            "already down"
        );
        assert!(coverage.covers(c, None, w(1_000, 3_000)).expect("read"));
        assert!(
            !coverage.covers(c, None, w(1_000, 5_000)).expect("read"),
            "nothing after its last event"
        );
        assert!(
            !coverage.covers(c, None, w(3_500, 5_000)).expect("read"),
            "not even inside the session's span"
        );
        assert_eq!(coverage.live_since(None), None);
        // A checkpoint while down records nothing new.
        coverage
            .checkpoint(&[(c, None)], Timestamp(8_000))
            .expect("checkpoint");
        assert_eq!(store.coverage(c).expect("read"), span(1_000, 3_000));

        // RESUMED: the missed events were replayed, the session vouches again.
        coverage.session_resumed(Timestamp(8_500));
        assert!(coverage.covers(c, None, w(1_000, 9_000)).expect("read"));
        assert!(
            !coverage.would_lose(Timestamp(8_600), grace),
            "just resumed"
        );
        assert!(coverage.would_lose(Timestamp(9_000), grace));
    }
}
