//! Messages: keyed `(channel, timestamp, id)` for one-scan window reads, plus an id index for
//! edits and deletes; retention pruning.

use std::ops::RangeBounds;

use redb::{ReadableTable, Table, WriteTransaction};

use super::schema::{CHANNELS, MESSAGES, MESSAGE_IDS};
use super::{codec, privacy, summaries, OrStore, Store, StoreError};
use crate::model::{ChannelId, ChatMessage, MessageId, TimeWindow, Timestamp, UserId};

/// Record name used in decode errors.
pub(super) const WHAT: &str = "message";

/// The messages table inside a write transaction.
pub(super) type MessageTable<'t> = Table<'t, (u64, i64, u64), &'static [u8]>;
/// The id index inside a write transaction.
pub(super) type IdTable<'t> = Table<'t, (u64, u64), i64>;

/// A window read with a cap: its newest messages and how many older ones were left out.
#[derive(Debug, Default, PartialEq)]
pub struct Newest {
    /// The newest messages of the window, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Messages of the window older than those, not read.
    pub left_out: usize,
}

impl Store {
    /// Store a batch of messages in ONE durable transaction (group commit). A message whose id
    /// is already stored replaces it, moving it if its timestamp changed. Returns how many were written.
    pub fn upsert_messages(&self, msgs: &[ChatMessage]) -> Result<usize, StoreError> {
        if msgs.is_empty() {
            return Ok(0);
        }
        self.write(|txn| upsert_in(txn, msgs))
    }

    /// Apply a message update: `edited_at` is Discord's `edited_timestamp` (none when Discord
    /// only added link previews), `now` the edit time of a changed text that comes without one.
    /// Only a changed text or a changed edit time is an edit; anything else (an unfurl) returns
    /// false and leaves the message and the cache alone, as do an unknown message and an update
    /// older than the stored version. An edit invalidates the channel's cached summaries (they
    /// may quote the old text).
    pub fn edit_message(
        &self,
        channel: ChannelId,
        id: MessageId,
        content: &str,
        edited_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(|txn| {
            let mut messages = txn.open_table(MESSAGES).or_store()?;
            let ids = txn.open_table(MESSAGE_IDS).or_store()?;
            let Some(ts) = ids.get((channel.0, id.0)).or_store()?.map(|v| v.value()) else {
                return Ok(false);
            };
            let key = (channel.0, ts, id.0);
            let Some(mut msg) = read_message(&messages, key)? else {
                return Err(index_mismatch(channel, id));
            };
            let retimed = edited_at.is_some_and(|at| msg.edited_at != Some(at));
            if msg.content == content && !retimed {
                return Ok(false);
            }
            let edited_at = edited_at.unwrap_or(now);
            if msg.version() > edited_at {
                return Ok(false);
            }
            content.clone_into(&mut msg.content);
            msg.edited_at = Some(edited_at);
            messages
                .insert(key, codec::encode(WHAT, &msg)?.as_slice())
                .or_store()?;
            summaries::invalidate_channel(txn, channel)?;
            Ok(true)
        })
    }

    /// Delete messages by id; unknown ids are skipped. Invalidates the channel's cached
    /// summaries when anything was deleted. Returns how many were deleted.
    pub fn delete_messages(
        &self,
        channel: ChannelId,
        ids: &[MessageId],
    ) -> Result<usize, StoreError> {
        self.write(|txn| {
            let mut messages = txn.open_table(MESSAGES).or_store()?;
            let mut index = txn.open_table(MESSAGE_IDS).or_store()?;
            let mut deleted = 0;
            for id in ids {
                if remove_by_id(&mut messages, &mut index, channel, *id)? {
                    deleted += 1;
                }
            }
            if deleted > 0 {
                summaries::invalidate_channel(txn, channel)?;
            }
            Ok(deleted)
        })
    }

    /// The channel's messages in `[window.start, window.end)`, oldest first.
    pub fn messages_in(
        &self,
        channel: ChannelId,
        window: TimeWindow,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        if window.end <= window.start {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, window.start.0, 0)..(channel.0, window.end.0, 0);
            messages
                .range(range)
                .or_store()?
                .map(|entry| {
                    let (_, value) = entry.or_store()?;
                    codec::decode(WHAT, value.value())
                })
                .collect()
        })
    }

    /// The newest `cap` of the channel's messages in `[window.start, window.end)`, oldest first,
    /// and how many older ones of the window were left out (counted, never decoded): reading
    /// a window costs memory for `cap` messages at most, however long it is.
    pub fn newest_messages_in(
        &self,
        channel: ChannelId,
        window: TimeWindow,
        cap: usize,
    ) -> Result<Newest, StoreError> {
        if window.end <= window.start {
            return Ok(Newest::default());
        }
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, window.start.0, 0)..(channel.0, window.end.0, 0);
            let mut entries = messages.range(range).or_store()?.rev();
            let mut newest = Vec::new();
            for entry in entries.by_ref().take(cap) {
                let (_, value) = entry.or_store()?;
                newest.push(codec::decode(WHAT, value.value())?);
            }
            let mut left_out = 0;
            for entry in entries {
                entry.or_store()?;
                left_out += 1;
            }
            newest.reverse();
            Ok(Newest {
                messages: newest,
                left_out,
            })
        })
    }

    /// One message by id, if stored.
    pub fn message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.read(|txn| {
            let ids = txn.open_table(MESSAGE_IDS).or_store()?;
            let Some(ts) = ids.get((channel.0, id.0)).or_store()?.map(|v| v.value()) else {
                return Ok(None);
            };
            let messages = txn.open_table(MESSAGES).or_store()?;
            read_message(&messages, (channel.0, ts, id.0))?
                .map(Some)
                .ok_or_else(|| index_mismatch(channel, id))
        })
    }

    /// The newest stored message `user` wrote in `channel` at or after `since` (a backward scan
    /// of that part of the channel only; `/catchup` bounds it by `discord.catchup_max`).
    pub fn last_message_by(
        &self,
        channel: ChannelId,
        user: UserId,
        since: Timestamp,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, since.0, 0)..=(channel.0, i64::MAX, u64::MAX);
            for entry in messages.range(range).or_store()?.rev() {
                let (_, value) = entry.or_store()?;
                let msg: ChatMessage = codec::decode(WHAT, value.value())?;
                if msg.author.id == user {
                    return Ok(Some(msg));
                }
            }
            Ok(None)
        })
    }

    /// How many messages the channel has in `[window.start, window.end)`, without decoding them.
    pub fn message_count_in(
        &self,
        channel: ChannelId,
        window: TimeWindow,
    ) -> Result<usize, StoreError> {
        if window.end <= window.start {
            return Ok(0);
        }
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, window.start.0, 0)..(channel.0, window.end.0, 0);
            let mut count = 0;
            for entry in messages.range(range).or_store()? {
                entry.or_store()?;
                count += 1;
            }
            Ok(count)
        })
    }

    /// The send time of the channel's newest stored message.
    pub fn latest_message_time(&self, channel: ChannelId) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.latest_message(channel)?.map(|(t, _)| t))
    }

    /// The send times of the channel's oldest and newest stored messages.
    pub fn stored_span(
        &self,
        channel: ChannelId,
    ) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, i64::MIN, 0)..=(channel.0, i64::MAX, u64::MAX);
            let mut all = messages.range(range).or_store()?;
            let first = all.next().transpose().or_store()?;
            let last = all.next_back().transpose().or_store()?;
            Ok(first.map(|(key, _)| {
                let oldest = Timestamp(key.value().1);
                let newest = last.map_or(oldest, |(key, _)| Timestamp(key.value().1));
                (oldest, newest)
            }))
        })
    }

    /// The send time and id of the channel's newest stored message.
    pub fn latest_message(
        &self,
        channel: ChannelId,
    ) -> Result<Option<(Timestamp, MessageId)>, StoreError> {
        self.read(|txn| {
            let messages = txn.open_table(MESSAGES).or_store()?;
            let range = (channel.0, i64::MIN, 0)..=(channel.0, i64::MAX, u64::MAX);
            let last = messages
                .range(range)
                .or_store()?
                .next_back()
                .transpose()
                .or_store()?;
            Ok(last.map(|(key, _)| {
                let (_, ts, id) = key.value();
                (Timestamp(ts), MessageId(id))
            }))
        })
    }

    /// Number of stored messages in the channel (all time).
    pub fn message_count(&self, channel: ChannelId) -> Result<u64, StoreError> {
        self.read(|txn| {
            let ids = txn.open_table(MESSAGE_IDS).or_store()?;
            let range = (channel.0, 0)..=(channel.0, u64::MAX);
            let mut count = 0;
            for entry in ids.range(range).or_store()? {
                entry.or_store()?;
                count += 1;
            }
            Ok(count)
        })
    }

    /// Forget a channel entirely (deleted channel, or an admin's request): its messages, its
    /// metadata and its cached summaries, in one transaction. Returns how many messages went.
    pub fn forget_channel(&self, channel: ChannelId) -> Result<u64, StoreError> {
        self.write(|txn| {
            let mut messages = txn.open_table(MESSAGES).or_store()?;
            let mut ids = txn.open_table(MESSAGE_IDS).or_store()?;
            let all = (channel.0, i64::MIN, 0)..=(channel.0, i64::MAX, u64::MAX);
            let doomed = keys_in(&messages, all)?;
            let removed = remove_keys(&mut messages, &mut ids, &doomed)?;
            txn.open_table(CHANNELS)
                .or_store()?
                .remove(channel.0)
                .or_store()?;
            summaries::invalidate_channel(txn, channel)?;
            Ok(removed)
        })
    }

    /// Retention: delete every message sent before `cutoff`, in one transaction. Returns the count.
    pub fn prune_messages_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.write(|txn| {
            let mut messages = txn.open_table(MESSAGES).or_store()?;
            let mut ids = txn.open_table(MESSAGE_IDS).or_store()?;
            let mut pruned = 0;
            let mut next_channel = first_channel_from(&messages, 0)?;
            while let Some(channel) = next_channel {
                let old = (channel, i64::MIN, 0)..(channel, cutoff.0, 0);
                let doomed = keys_in(&messages, old)?;
                pruned += remove_keys(&mut messages, &mut ids, &doomed)?;
                next_channel = match channel.checked_add(1) {
                    Some(after) => first_channel_from(&messages, after)?,
                    None => None,
                };
            }
            Ok(pruned)
        })
    }
}

/// Write `msgs` inside an open write transaction (replacing and moving stored versions); returns
/// how many were written. Messages of members who opted out are dropped here, in the same
/// transaction as the write: every path that stores messages passes through this function.
pub(super) fn upsert_in(txn: &WriteTransaction, msgs: &[ChatMessage]) -> Result<usize, StoreError> {
    let mut messages = txn.open_table(MESSAGES).or_store()?;
    let mut ids = txn.open_table(MESSAGE_IDS).or_store()?;
    let opted_out = privacy::opted_out_in(txn)?;
    let mut written = 0;
    for msg in msgs {
        if opted_out.contains(&msg.author.id) {
            continue;
        }
        written += 1;
        let bytes = codec::encode(WHAT, msg)?;
        let (channel, id, ts) = (msg.channel_id.0, msg.id.0, msg.timestamp.0);
        let previous = ids.insert((channel, id), ts).or_store()?.map(|v| v.value());
        if let Some(old_ts) = previous.filter(|&old| old != ts) {
            messages.remove((channel, old_ts, id)).or_store()?;
        }
        messages
            .insert((channel, ts, id), bytes.as_slice())
            .or_store()?;
    }
    Ok(written)
}

/// Decode the message at `key`, if present.
fn read_message(
    messages: &impl ReadableTable<(u64, i64, u64), &'static [u8]>,
    key: (u64, i64, u64),
) -> Result<Option<ChatMessage>, StoreError> {
    messages
        .get(key)
        .or_store()?
        .map(|v| codec::decode(WHAT, v.value()))
        .transpose()
}

/// Remove one message and its index entry; false when the id is unknown.
fn remove_by_id(
    messages: &mut MessageTable<'_>,
    index: &mut IdTable<'_>,
    channel: ChannelId,
    id: MessageId,
) -> Result<bool, StoreError> {
    let Some(ts) = index
        .remove((channel.0, id.0))
        .or_store()?
        .map(|v| v.value())
    else {
        return Ok(false);
    };
    messages.remove((channel.0, ts, id.0)).or_store()?;
    Ok(true)
}

/// The first channel id ≥ `from` that has messages.
fn first_channel_from(messages: &MessageTable<'_>, from: u64) -> Result<Option<u64>, StoreError> {
    let first = messages
        .range((from, i64::MIN, 0)..)
        .or_store()?
        .next()
        .transpose()
        .or_store()?;
    Ok(first.map(|(key, _)| key.value().0))
}

/// Keys of the messages in `range`.
fn keys_in(
    messages: &MessageTable<'_>,
    range: impl RangeBounds<(u64, i64, u64)>,
) -> Result<Vec<(u64, i64, u64)>, StoreError> {
    messages
        .range(range)
        .or_store()?
        .map(|entry| Ok(entry.or_store()?.0.value()))
        .collect()
}

/// Remove these messages and their index rows. Returns the count.
pub(super) fn remove_keys(
    messages: &mut MessageTable<'_>,
    ids: &mut IdTable<'_>,
    keys: &[(u64, i64, u64)],
) -> Result<u64, StoreError> {
    for &(channel, ts, id) in keys {
        messages.remove((channel, ts, id)).or_store()?;
        ids.remove((channel, id)).or_store()?;
    }
    Ok(keys.len() as u64)
}

/// The id index points at a message that is not there.
fn index_mismatch(channel: ChannelId, id: MessageId) -> StoreError {
    StoreError::Corrupt {
        detail: format!(
            "the index lists message {id} in channel {channel} but the message is missing"
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    pub use crate::store::test_support::msg;

    fn window(start: i64, end: i64) -> TimeWindow {
        TimeWindow {
            start: Timestamp(start),
            end: Timestamp(end),
        }
    }

    fn ids(v: &[ChatMessage]) -> Vec<u64> {
        v.iter().map(|m| m.id.0).collect()
    }

    #[test]
    fn a_capped_read_keeps_the_newest_and_counts_the_rest() {
        let (_d, s) = temp_store();
        let batch: Vec<ChatMessage> = (0..10)
            .map(|i| msg(1, 100 + i, 1_000 + i as i64 * 10, "m"))
            .chain([msg(2, 500, 1_050, "other channel")])
            .collect();
        s.upsert_messages(&batch).expect("upsert");
        let got = s
            .newest_messages_in(ChannelId(1), window(1_020, 1_090), 3)
            .expect("scan");
        // The window holds 102..=108 (1,090 is outside): the newest three, oldest first.
        assert_eq!(ids(&got.messages), vec![106, 107, 108]);
        assert_eq!(got.left_out, 4);
        let all = s
            .newest_messages_in(ChannelId(1), window(0, 10_000), 100)
            .expect("scan");
        assert_eq!(
            all.messages,
            s.messages_in(ChannelId(1), window(0, 10_000))
                .expect("scan")
        );
        assert_eq!(all.left_out, 0);
        let none = s
            .newest_messages_in(ChannelId(1), window(2_000, 1_000), 3)
            .expect("scan");
        assert_eq!(none, Newest::default());
    }

    #[test]
    fn window_scan_is_half_open_and_per_channel() {
        let (_d, s) = temp_store();
        let batch = vec![
            msg(1, 10, 100, "a"),
            msg(1, 11, 200, "b"),
            msg(1, 12, 300, "c"),
            msg(2, 13, 200, "other channel"),
            msg(1, 14, 200, "same time"),
        ];
        assert_eq!(s.upsert_messages(&batch).expect("upsert"), 5);
        let got = s.messages_in(ChannelId(1), window(100, 300)).expect("scan");
        assert_eq!(ids(&got), vec![10, 11, 14]);
        assert_eq!(got[0], batch[0]);
        assert_eq!(
            ids(&s.messages_in(ChannelId(1), window(101, 301)).expect("scan")),
            vec![11, 14, 12]
        );
        assert!(s
            .messages_in(ChannelId(1), window(300, 300))
            .expect("scan")
            .is_empty());
        assert!(s
            .messages_in(ChannelId(3), window(0, 1000))
            .expect("scan")
            .is_empty());
        assert_eq!(
            s.latest_message_time(ChannelId(1)).expect("latest"),
            Some(Timestamp(300))
        );
        assert_eq!(s.latest_message_time(ChannelId(3)).expect("latest"), None);
        assert_eq!(s.upsert_messages(&[]).expect("empty"), 0);
    }

    #[test]
    fn last_message_by_finds_the_newest_of_that_user_since_the_bound() {
        let (_d, s) = temp_store();
        let mut batch = vec![
            msg(1, 10, 100, "old"),
            msg(1, 11, 200, "newer"),
            msg(1, 12, 300, "someone else"),
            msg(2, 13, 400, "other channel"),
        ];
        batch[2].author.id = UserId(99);
        s.upsert_messages(&batch).expect("upsert");
        let user = batch[0].author.id;
        let found = |since: i64| {
            s.last_message_by(ChannelId(1), user, Timestamp(since))
                .expect("lookup")
                .map(|m| m.id.0)
        };
        assert_eq!(found(0), Some(11), "the newest, not the first");
        assert_eq!(found(200), Some(11), "the bound is inclusive");
        assert_eq!(found(201), None, "older messages are outside the cap");
        assert_eq!(
            s.last_message_by(ChannelId(1), UserId(99), Timestamp(0))
                .expect("lookup")
                .map(|m| m.id.0),
            Some(12)
        );
        assert_eq!(
            s.last_message_by(ChannelId(3), user, Timestamp(0))
                .expect("lookup"),
            None
        );
        assert_eq!(
            s.message_count_in(ChannelId(1), window(100, 300))
                .expect("count"),
            2
        );
        assert_eq!(
            s.message_count_in(ChannelId(1), window(300, 100))
                .expect("count"),
            0
        );
    }

    #[test]
    fn reupsert_replaces_and_moves() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[msg(1, 10, 100, "old")])
            .expect("upsert");
        s.upsert_messages(&[msg(1, 10, 500, "new")])
            .expect("upsert");
        let all = s.messages_in(ChannelId(1), window(0, 1000)).expect("scan");
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].timestamp, all[0].content.as_str()),
            (Timestamp(500), "new")
        );
        assert_eq!(s.message_count(ChannelId(1)).expect("count"), 1);
    }

    #[test]
    fn edit_and_delete_by_id() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[msg(1, 10, 100, "hello"), msg(1, 11, 200, "bye")])
            .expect("upsert");
        assert!(s
            .edit_message(
                ChannelId(1),
                MessageId(10),
                "hello!",
                Some(Timestamp(150)),
                Timestamp(999)
            )
            .expect("edit"));
        let m = s
            .message(ChannelId(1), MessageId(10))
            .expect("get")
            .expect("present");
        assert_eq!(
            (m.content.as_str(), m.edited_at),
            ("hello!", Some(Timestamp(150)))
        );
        // A stale edit event is ignored; an unknown id reports false.
        assert!(!s
            .edit_message(
                ChannelId(1),
                MessageId(10),
                "older",
                Some(Timestamp(120)),
                Timestamp(999)
            )
            .expect("edit"));
        assert!(!s
            .edit_message(
                ChannelId(1),
                MessageId(99),
                "x",
                Some(Timestamp(150)),
                Timestamp(999)
            )
            .expect("edit"));
        assert_eq!(
            s.delete_messages(ChannelId(1), &[MessageId(10), MessageId(99)])
                .expect("delete"),
            1
        );
        assert_eq!(
            ids(&s.messages_in(ChannelId(1), window(0, 1000)).expect("scan")),
            vec![11]
        );
        assert!(s
            .message(ChannelId(1), MessageId(10))
            .expect("get")
            .is_none());
    }

    #[test]
    fn prune_removes_old_messages_in_every_channel() {
        let (_d, s) = temp_store();
        let batch: Vec<_> = (0..30_u64)
            .map(|i| msg(i % 3 + 1, i + 1, (i as i64) * 10, "x"))
            .chain([msg(u64::MAX, 1000, 5, "edge channel")])
            .collect();
        s.upsert_messages(&batch).expect("upsert");
        // Timestamps 0..=140 (15 messages) plus the edge channel's one are before 150.
        assert_eq!(s.prune_messages_before(Timestamp(150)).expect("prune"), 16);
        for c in 1..=3 {
            let left = s
                .messages_in(ChannelId(c), window(i64::MIN, i64::MAX))
                .expect("scan");
            assert!(left.iter().all(|m| m.timestamp >= Timestamp(150)));
            assert_eq!(
                s.message_count(ChannelId(c)).expect("count"),
                left.len() as u64
            );
        }
        assert_eq!(s.prune_messages_before(Timestamp(150)).expect("prune"), 0);
    }

    #[test]
    fn forget_channel_removes_everything_of_that_channel_only() {
        let (_d, s) = temp_store();
        let batch = [
            msg(1, 1, i64::MIN, "very old"),
            msg(1, 2, i64::MAX, "far future"),
            msg(1, 3, 0, "now"),
            msg(2, 4, 0, "other"),
        ];
        s.upsert_messages(&batch).expect("upsert");
        assert_eq!(s.forget_channel(ChannelId(1)).expect("forget"), 3);
        assert_eq!(s.message_count(ChannelId(1)).expect("count"), 0);
        assert_eq!(s.message_count(ChannelId(2)).expect("count"), 1);
        assert!(s.check_consistency().expect("check").is_ok());
    }

    #[test]
    fn corrupt_value_is_an_error_not_a_panic() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[msg(1, 10, 100, "fine")])
            .expect("upsert");
        s.write(|txn| {
            let mut t = txn.open_table(MESSAGES).or_store()?;
            t.insert((1, 100, 10), [1_u8, 0xff, 0xff, 0xff].as_slice())
                .or_store()?;
            Ok(())
        })
        .expect("corrupt it");
        let err = s
            .messages_in(ChannelId(1), window(0, 1000))
            .expect_err("decode fails");
        assert!(
            matches!(
                err,
                StoreError::Decode {
                    what: "message",
                    ..
                }
            ),
            "{err}"
        );
    }
}
