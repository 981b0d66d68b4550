//! Reading the newest messages of an export with bounded memory: `summarize --input` on an
//! export of any size holds at most 1.25 × `cap` messages, plus one id and timestamp for every
//! message (to know the window and how many were left out).

use std::collections::HashMap;
use std::path::Path;

use super::parse::parse_file;
use super::{ImportError, ReadOptions};
use crate::model::{ChannelInfo, ChatMessage, MessageId, TimeWindow, Timestamp};

/// The newest messages of an export before a time, and every message's timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportTail {
    /// The exported channel.
    pub channel: ChannelInfo,
    /// The newest `cap` messages sent before `before`, deduplicated by id (the last
    /// occurrence wins), oldest first.
    pub newest: Vec<ChatMessage>,
    /// The send time of every distinct message of the export, ascending.
    pub timestamps: Vec<Timestamp>,
}

impl ExportTail {
    /// Keep the messages in `window` and return how many of the window's messages are not
    /// kept (older than the newest `cap`).
    pub fn into_window(self, window: TimeWindow) -> (ChannelInfo, Vec<ChatMessage>, usize) {
        let in_window = self.timestamps.partition_point(|t| *t < window.end)
            - self.timestamps.partition_point(|t| *t < window.start);
        let messages: Vec<ChatMessage> = self
            .newest
            .into_iter()
            .filter(|m| window.contains(m.timestamp))
            .collect();
        let left_out = in_window.saturating_sub(messages.len());
        (self.channel, messages, left_out)
    }
}

/// Read the export at `path`, keeping only the newest `cap` messages sent before `before` (all
/// of them when None). The window's end must be `before` or the export's last message, so that
/// the kept messages are the newest of any window ending there. Up to `cap` messages it reads as
/// [`super::read_export`] does (one vector, one index); past it, the oldest are dropped each time
/// a quarter of `cap` more has arrived, so at most 1.25 × `cap` are held.
pub fn read_export_tail(
    path: &Path,
    opts: &ReadOptions,
    before: Option<Timestamp>,
    cap: usize,
) -> Result<ExportTail, ImportError> {
    // Every copy's id and time (16 bytes a message), deduplicated at the end.
    let mut sent: Vec<(MessageId, Timestamp)> = Vec::new();
    let mut kept = Kept::new(cap);
    let parsed = parse_file(path, *opts, &mut |_, msg| {
        sent.push((msg.id, msg.timestamp));
        if before.is_none_or(|end| msg.timestamp < end) {
            kept.push(msg);
        } else {
            // A later copy moved past the end: an earlier copy kept must not stand in for it.
            kept.remove(msg.id);
        }
        Ok(())
    })?;
    let mut newest = kept.finish();
    if parsed.final_channel.id != parsed.message_channel.id
        || parsed.final_channel.guild_id != parsed.message_channel.guild_id
    {
        for m in &mut newest {
            m.channel_id = parsed.final_channel.id;
            m.guild_id = parsed.final_channel.guild_id;
        }
    }
    let mut timestamps = last_copies(sent);
    timestamps.sort_unstable();
    Ok(ExportTail {
        channel: parsed.final_channel,
        newest,
        timestamps,
    })
}

/// The time of the last copy of each id, in no particular order.
fn last_copies(mut sent: Vec<(MessageId, Timestamp)>) -> Vec<Timestamp> {
    // Reversed, a stable sort by id puts each id's last copy first; dedup keeps the first.
    sent.reverse();
    sent.sort_by_key(|&(id, _)| id);
    sent.dedup_by_key(|&mut (id, _)| id);
    sent.into_iter().map(|(_, at)| at).collect()
}

/// The newest messages so far, deduplicated by id (a later copy replaces an earlier one).
struct Kept {
    messages: Vec<ChatMessage>,
    index: HashMap<MessageId, usize>,
    cap: usize,
    slack: usize,
}

impl Kept {
    fn new(cap: usize) -> Self {
        Self {
            messages: Vec::new(),
            index: HashMap::new(),
            cap,
            slack: (cap / 4).max(1),
        }
    }

    fn push(&mut self, msg: ChatMessage) {
        if let Some(&at) = self.index.get(&msg.id) {
            self.messages[at] = msg;
            return;
        }
        self.index.insert(msg.id, self.messages.len());
        self.messages.push(msg);
        if self.messages.len() >= self.cap + self.slack {
            self.drop_oldest();
        }
    }

    /// Forget the copy of `id` kept, if any.
    fn remove(&mut self, id: MessageId) {
        if let Some(at) = self.index.remove(&id) {
            self.messages.swap_remove(at);
            if let Some(moved) = self.messages.get(at) {
                self.index.insert(moved.id, at);
            }
        }
    }

    /// Sort, keep the newest `cap`, and index them again.
    fn drop_oldest(&mut self) {
        self.messages.sort_by_key(|m| (m.timestamp, m.id));
        let over = self.messages.len().saturating_sub(self.cap);
        self.messages.drain(..over);
        self.index.clear();
        for (at, m) in self.messages.iter().enumerate() {
            self.index.insert(m.id, at);
        }
    }

    fn finish(mut self) -> Vec<ChatMessage> {
        self.index = HashMap::new();
        self.messages.sort_by_key(|m| (m.timestamp, m.id));
        let over = self.messages.len().saturating_sub(self.cap);
        self.messages.drain(..over);
        self.messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::read_export;

    fn export(dir: &Path, messages: &[(u64, &str, &str)]) -> std::path::PathBuf {
        let items: Vec<String> = messages
            .iter()
            .map(|(id, ts, text)| {
                format!(
                    r#"{{"id":"{id}","type":"Default","timestamp":"{ts}","content":"{text}","author":{{"id":"7","name":"ana","isBot":false}}}}"#
                )
            })
            .collect();
        let body = format!(
            r#"{{"guild":{{"id":"1","name":"g"}},"channel":{{"id":"2","name":"general","type":"GuildTextChat"}},"messages":[{}]}}"#,
            items.join(",")
        );
        let path = dir.join("export.json");
        std::fs::write(&path, body).expect("write");
        path
    }

    fn ids(v: &[ChatMessage]) -> Vec<u64> {
        v.iter().map(|m| m.id.0).collect()
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("timestamp")
    }

    #[test]
    fn keeps_the_newest_and_counts_what_the_window_loses() {
        let dir = tempfile::tempdir().expect("dir");
        let path = export(
            dir.path(),
            &[
                (1, "2026-01-01T10:00:00Z", "a"),
                (3, "2026-01-01T12:00:00Z", "c"),
                (2, "2026-01-01T11:00:00Z", "b"),
                (4, "2026-01-01T13:00:00Z", "d"),
                (5, "2026-01-01T14:00:00Z", "e"),
                // A later copy of 3 wins, as in `read_export`.
                (3, "2026-01-01T12:00:00Z", "c edited"),
            ],
        );
        let tail = read_export_tail(&path, &ReadOptions::default(), None, 3).expect("read");
        assert_eq!(ids(&tail.newest), [3, 4, 5]);
        assert_eq!(tail.newest[0].content, "c edited");
        assert_eq!(tail.timestamps.len(), 5);
        let whole = TimeWindow {
            start: ts("2026-01-01T10:00:00Z"),
            end: ts("2026-01-01T14:00:01Z"),
        };
        let (channel, messages, left_out) = tail.clone().into_window(whole);
        assert_eq!(
            (channel.id.0, ids(&messages), left_out),
            (2, vec![3, 4, 5], 2)
        );

        // With a cap above the export's size it reads what `read_export` reads.
        let all = read_export_tail(&path, &ReadOptions::default(), None, 100).expect("read");
        let reference = read_export(&path, &ReadOptions::default()).expect("read");
        assert_eq!(all.newest, reference.messages);
        assert_eq!(all.into_window(whole).2, 0);

        // A window ending earlier (`--until`): the newest before its end.
        let until = ts("2026-01-01T13:00:00Z");
        let early = read_export_tail(&path, &ReadOptions::default(), Some(until), 2).expect("read");
        let window = TimeWindow {
            start: ts("2026-01-01T10:30:00Z"),
            end: until,
        };
        let (_, messages, left_out) = early.into_window(window);
        assert_eq!((ids(&messages), left_out), (vec![2, 3], 0));
        let window = TimeWindow {
            start: ts("2026-01-01T09:00:00Z"),
            end: until,
        };
        let early = read_export_tail(&path, &ReadOptions::default(), Some(until), 2).expect("read");
        assert_eq!(early.into_window(window).2, 1);
    }

    #[test]
    fn a_later_copy_past_the_end_replaces_an_earlier_one_before_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = export(
            dir.path(),
            &[
                (1, "2026-01-01T10:00:00Z", "a"),
                (2, "2026-01-01T11:00:00Z", "b"),
                (3, "2026-01-01T12:00:00Z", "c"),
                (2, "2026-01-01T15:00:00Z", "b, as exported again later"),
            ],
        );
        let until = ts("2026-01-01T13:00:00Z");
        let window = TimeWindow {
            start: ts("2026-01-01T00:00:00Z"),
            end: until,
        };
        let tail = read_export_tail(&path, &ReadOptions::default(), Some(until), 10).expect("read");
        // As `read_export` has it: message 2 is at 15:00, outside the window.
        let reference = read_export(&path, &ReadOptions::default()).expect("read");
        let expected: Vec<ChatMessage> = reference
            .messages
            .into_iter()
            .filter(|m| window.contains(m.timestamp))
            .collect();
        let (_, messages, left_out) = tail.into_window(window);
        assert_eq!((ids(&messages), left_out), (vec![1, 3], 0));
        assert_eq!(messages, expected);
    }

    #[test]
    fn any_order_and_duplicates_give_the_newest_of_a_whole_read() {
        let dir = tempfile::tempdir().expect("dir");
        let mut state = 0x2545_F491_u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % n
        };
        let texts: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        let mut items: Vec<(u64, String, &str)> = Vec::new();
        for text in &texts {
            // Ids 1..=120 (so some repeat), each id's time fixed by the id.
            let id = 1 + next(120);
            let minute = id * 7 % 1_440;
            let at = format!("2026-01-01T{:02}:{:02}:00Z", minute / 60, minute % 60);
            items.push((id, at, text));
        }
        let listed: Vec<(u64, &str, &str)> = items
            .iter()
            .map(|(id, at, t)| (*id, at.as_str(), *t))
            .collect();
        let path = export(dir.path(), &listed);
        let reference = read_export(&path, &ReadOptions::default()).expect("read");
        for cap in [1, 7, 50, 119, 500] {
            let tail = read_export_tail(&path, &ReadOptions::default(), None, cap).expect("read");
            let skip = reference.messages.len().saturating_sub(cap);
            assert_eq!(tail.newest, reference.messages[skip..], "cap {cap}");
            assert_eq!(tail.timestamps.len(), reference.messages.len());
        }
    }

    #[test]
    fn a_malformed_export_is_the_same_error_as_a_whole_read() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("broken.json");
        std::fs::write(&path, r#"{"messages": [{"id": "1", "#).expect("write");
        let err = read_export_tail(&path, &ReadOptions::default(), None, 10).expect_err("fails");
        assert!(matches!(err, ImportError::Json { .. }), "{err}");
    }
}
