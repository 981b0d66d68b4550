//! Import of DiscordChatExporter JSON exports: streaming parse, conversion to [`ChatMessage`],
//! duplicate handling and clear errors for files that are malformed or not exports.
//!
//! The file is read through a `BufReader` and parsed with a serde visitor that converts each
//! message as soon as it is parsed, so a 100 MB export never sits in memory as text or as a
//! JSON tree. Real exports put `guild` and `channel` before `messages`. When `channel` is missing
//! (or only comes after `messages`), the channel is taken from the file name: DCE names files
//! `Guild - category - channel [123456789].json`, so the id in brackets and the last
//! ` - `-separated part become the channel id and name; without a bracketed id, a stable id is
//! derived from the name (so two such imports of different channels do not merge). In
//! [`read_export`] a `channel` found after `messages` still wins (the messages are re-labelled);
//! in [`stream_export`] batches already handed out keep the channel known when `messages` began.

mod dce;
mod input;
mod parse;
mod progress;
mod tail;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::{ChannelInfo, ChatMessage, MessageId};

use parse::parse_file;
pub use tail::{read_export_tail, ExportTail};

/// Counts from one import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Distinct messages imported.
    pub messages: usize,
    /// Messages whose id was already seen earlier in the file (the last occurrence wins).
    pub duplicates: usize,
    /// Entries skipped because they had no parsable id or timestamp (or were not objects).
    pub skipped: usize,
}

/// A whole export in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The exported channel.
    pub channel: ChannelInfo,
    /// Its messages, deduplicated by id, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Counts.
    pub stats: ImportStats,
}

/// How to read an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

/// Why an export could not be imported. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The export file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid JSON (or ends early).
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Json {
        /// The export file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// Valid JSON, but not shaped like a DiscordChatExporter export.
    #[error(
        "{} is not a DiscordChatExporter export: {reason}; export the channel with \
         DiscordChatExporter using the JSON format (`--format Json`)",
        path.display()
    )]
    NotAnExport {
        /// The export file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// The caller's batch handler failed (e.g. the store could not save the messages).
    #[error("importing {} stopped: saving messages failed: {message}", path.display())]
    Callback {
        /// The export file.
        path: PathBuf,
        /// The handler's error.
        message: String,
    },
}

/// Read a whole export into memory: messages deduplicated by id (last occurrence wins) and
/// sorted oldest first.
pub fn read_export(path: &Path, opts: &ReadOptions) -> Result<Export, ImportError> {
    let mut messages: Vec<ChatMessage> = Vec::new();
    let mut index: HashMap<MessageId, usize> = HashMap::new();
    let mut duplicates = 0;
    let parsed = parse_file(path, *opts, &mut |_, msg| {
        if let Some(&at) = index.get(&msg.id) {
            duplicates += 1;
            messages[at] = msg;
        } else {
            index.insert(msg.id, messages.len());
            messages.push(msg);
        }
        Ok(())
    })?;
    drop(index);
    if parsed.final_channel.id != parsed.message_channel.id
        || parsed.final_channel.guild_id != parsed.message_channel.guild_id
    {
        for m in &mut messages {
            m.channel_id = parsed.final_channel.id;
            m.guild_id = parsed.final_channel.guild_id;
        }
    }
    messages.sort_by_key(|m| (m.timestamp, m.id));
    let stats = ImportStats {
        messages: messages.len(),
        duplicates,
        skipped: parsed.skipped,
    };
    Ok(Export {
        channel: parsed.final_channel,
        messages,
        stats,
    })
}

/// Stream an export: calls `on_batch` with up to `batch_size` messages at a time (each batch
/// deduplicated and sorted oldest first; batches follow the file's order) and returns the channel
/// the batches were labelled with, plus counts. A duplicate of a message from an earlier batch is
/// handed out again (the store's upsert replaces by id) and counted in `duplicates`, not in
/// `messages`. A `batch_size` of 0 is treated as 1.
pub fn stream_export<E: fmt::Display>(
    path: &Path,
    opts: &ReadOptions,
    batch_size: usize,
    mut on_batch: impl FnMut(&ChannelInfo, Vec<ChatMessage>) -> Result<(), E>,
) -> Result<(ChannelInfo, ImportStats), ImportError> {
    let batch_size = batch_size.max(1);
    let mut batch = Batch::new(batch_size);
    let mut seen: HashSet<MessageId> = HashSet::new();
    let mut duplicates = 0;
    let mut sink = |channel: &ChannelInfo, msg: ChatMessage| -> Result<(), String> {
        if !seen.insert(msg.id) {
            duplicates += 1;
        }
        batch.push(msg);
        if batch.is_full() {
            on_batch(channel, batch.take()).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let parsed = parse_file(path, *opts, &mut sink)?;
    if !batch.is_empty() {
        on_batch(&parsed.message_channel, batch.take()).map_err(|e| ImportError::Callback {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let stats = ImportStats {
        messages: seen.len(),
        duplicates,
        skipped: parsed.skipped,
    };
    Ok((parsed.message_channel, stats))
}

/// Messages waiting to be handed out, deduplicated by id within the batch.
struct Batch {
    messages: Vec<ChatMessage>,
    index: HashMap<MessageId, usize>,
    capacity: usize,
}

impl Batch {
    fn new(capacity: usize) -> Self {
        Self {
            messages: Vec::with_capacity(capacity.min(4096)),
            index: HashMap::new(),
            capacity,
        }
    }

    fn push(&mut self, msg: ChatMessage) {
        if let Some(&at) = self.index.get(&msg.id) {
            self.messages[at] = msg;
        } else {
            self.index.insert(msg.id, self.messages.len());
            self.messages.push(msg);
        }
    }

    fn is_full(&self) -> bool {
        self.messages.len() >= self.capacity
    }

    fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    fn take(&mut self) -> Vec<ChatMessage> {
        self.index.clear();
        let mut out = std::mem::take(&mut self.messages);
        out.sort_by_key(|m| (m.timestamp, m.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_dedups_keeping_last_and_sorts() {
        let mk = |id: u64, ts: i64, content: &str| ChatMessage {
            id: MessageId(id),
            channel_id: crate::model::ChannelId(1),
            guild_id: None,
            author: crate::model::Author {
                id: crate::model::UserId(1),
                name: "a".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: crate::model::Timestamp(ts),
            edited_at: None,
            kind: crate::model::MessageKind::Default,
            content: content.into(),
            reply_to: None,
            attachments: vec![],
            reaction_count: 0,
            pinned: false,
        };
        let mut b = Batch::new(3);
        b.push(mk(2, 20, "old"));
        b.push(mk(1, 10, "x"));
        assert!(!b.is_full());
        b.push(mk(2, 20, "new"));
        assert!(!b.is_full());
        b.push(mk(3, 5, "y"));
        assert!(b.is_full());
        let out = b.take();
        assert!(b.is_empty());
        let ids: Vec<u64> = out.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, [3, 1, 2]);
        assert_eq!(out[2].content, "new");
    }
}
