//! Reading the newest messages of an export with bounded memory: `summarize --input` on an
//! export of any size holds at most `cap` messages, plus one id and timestamp for every other
//! message (to know the window and how many were left out).

use std::collections::{BTreeMap, HashMap};
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
/// the kept messages are the newest of any window ending there.
pub fn read_export_tail(
    path: &Path,
    opts: &ReadOptions,
    before: Option<Timestamp>,
    cap: usize,
) -> Result<ExportTail, ImportError> {
    let mut sent: HashMap<MessageId, Timestamp> = HashMap::new();
    let mut kept: BTreeMap<(Timestamp, MessageId), ChatMessage> = BTreeMap::new();
    let parsed = parse_file(path, *opts, &mut |_, msg| {
        if let Some(earlier) = sent.insert(msg.id, msg.timestamp) {
            kept.remove(&(earlier, msg.id));
        }
        if before.is_none_or(|end| msg.timestamp < end) {
            kept.insert((msg.timestamp, msg.id), msg);
            if kept.len() > cap {
                kept.pop_first();
            }
        }
        Ok(())
    })?;
    let mut newest: Vec<ChatMessage> = kept.into_values().collect();
    if parsed.final_channel.id != parsed.message_channel.id
        || parsed.final_channel.guild_id != parsed.message_channel.guild_id
    {
        for m in &mut newest {
            m.channel_id = parsed.final_channel.id;
            m.guild_id = parsed.final_channel.guild_id;
        }
    }
    let mut timestamps: Vec<Timestamp> = sent.into_values().collect();
    timestamps.sort_unstable();
    Ok(ExportTail {
        channel: parsed.final_channel,
        newest,
        timestamps,
    })
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
    fn a_malformed_export_is_the_same_error_as_a_whole_read() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("broken.json");
        std::fs::write(&path, r#"{"messages": [{"id": "1", "#).expect("write");
        let err = read_export_tail(&path, &ReadOptions::default(), None, 10).expect_err("fails");
        assert!(matches!(err, ImportError::Json { .. }), "{err}");
    }
}
