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
mod progress;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{ChannelId, ChannelInfo, ChatMessage, MessageId};

use dce::{DceChannel, DceGuild, DceMessage};
use progress::{CountingReader, Progress};

/// Read buffer size: large enough that the progress bar's clock check is negligible.
const READ_BUFFER: usize = 256 * 1024;

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

/// Receives each converted message with the channel it belongs to.
type Sink<'s> = dyn FnMut(&ChannelInfo, ChatMessage) -> Result<(), String> + 's;

/// What the parse learned besides the messages.
struct Parsed {
    /// The channel the messages were labelled with (known when `messages` began).
    message_channel: ChannelInfo,
    /// The channel as known at the end of the file.
    final_channel: ChannelInfo,
    /// Entries skipped.
    skipped: usize,
}

/// Why the parse was stopped from inside the visitor (serde only carries a string error).
enum Abort {
    NotAnExport(String),
    Callback(String),
}

/// Parse state shared by the visitors.
struct State<'s, 'k> {
    fallback: ChannelInfo,
    guild: Option<DceGuild>,
    channel: Option<DceChannel>,
    /// Fixed when the `messages` array starts.
    message_channel: Option<ChannelInfo>,
    saw_messages: bool,
    skipped: usize,
    abort: Option<Abort>,
    sink: &'k mut Sink<'s>,
}

impl State<'_, '_> {
    fn current_channel(&self) -> ChannelInfo {
        let none = DceChannel::default();
        let channel = self.channel.as_ref().unwrap_or(&none);
        dce::channel_info(channel, self.guild.as_ref(), &self.fallback)
    }

    fn accept(&mut self, msg: Option<DceMessage>) -> Result<(), String> {
        let channel = match &self.message_channel {
            Some(c) => c,
            None => self.message_channel.insert(self.current_channel()),
        };
        if let Some(m) = msg.and_then(|m| m.into_chat_message(channel)) {
            (self.sink)(channel, m)
        } else {
            self.skipped += 1;
            Ok(())
        }
    }

    fn abort<E: de::Error>(&mut self, why: Abort) -> E {
        let text = match &why {
            Abort::NotAnExport(s) | Abort::Callback(s) => s.clone(),
        };
        self.abort = Some(why);
        E::custom(text)
    }
}

fn parse_file(path: &Path, opts: ReadOptions, sink: &mut Sink<'_>) -> Result<Parsed, ImportError> {
    let io_err = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let (file, size) = open_export(path)?;
    let mut progress = Progress::new(opts.progress, size, &file_label(path));
    let mut reader =
        BufReader::with_capacity(READ_BUFFER, CountingReader::new(file, &mut progress));
    let first_byte = skip_bom(&mut reader).map_err(io_err)?;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut state = State {
        fallback: fallback_channel(path),
        guild: None,
        channel: None,
        message_channel: None,
        saw_messages: false,
        skipped: 0,
        abort: None,
        sink,
    };
    let result = ExportSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    drop(de);
    if let Err(err) = result {
        return Err(classify(path, err, state.abort.take(), first_byte));
    }
    if !state.saw_messages {
        return Err(ImportError::NotAnExport {
            path: path.to_path_buf(),
            reason: "missing `messages`".into(),
        });
    }
    progress.finish();
    let final_channel = state.current_channel();
    Ok(Parsed {
        message_channel: state
            .message_channel
            .unwrap_or_else(|| final_channel.clone()),
        final_channel,
        skipped: state.skipped,
    })
}

/// Open the export and find its size (0 for pipes and other special files, whose size is
/// unknown). An empty regular file is rejected here.
fn open_export(path: &Path) -> Result<(File, u64), ImportError> {
    let io_err = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::other(
            "this is a directory; give the path of one exported .json file",
        )));
    }
    if !meta.is_file() {
        return Ok((file, 0));
    }
    if meta.len() == 0 {
        return Err(ImportError::NotAnExport {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    Ok((file, meta.len()))
}

/// The file name shown on the progress bar.
fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Skip a UTF-8 byte order mark (left by some Windows editors) and return the first
/// non-whitespace byte of the input, if the first buffer holds one.
fn skip_bom(reader: &mut impl BufRead) -> io::Result<Option<u8>> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(reader
        .fill_buf()?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace()))
}

/// Turn a parse failure into the error the user sees. `first_byte` is the first non-blank byte
/// of the file: anything but `{` or `[` means the file is not JSON at all (e.g. DCE's HTML, TXT
/// or CSV formats).
fn classify(
    path: &Path,
    err: serde_json::Error,
    abort: Option<Abort>,
    first_byte: Option<u8>,
) -> ImportError {
    let path = path.to_path_buf();
    match abort {
        Some(Abort::NotAnExport(reason)) => ImportError::NotAnExport { path, reason },
        Some(Abort::Callback(message)) => ImportError::Callback { path, message },
        None if err.is_io() => ImportError::Io {
            path,
            source: io::Error::from(err),
        },
        None => {
            let (line, column) = (err.line(), err.column());
            let message = if err.is_eof() {
                "the file ends too early (truncated download or interrupted export?); \
                 export the channel again"
                    .to_string()
            } else if err.is_syntax() && !matches!(first_byte, Some(b'{' | b'[')) {
                "this is not JSON (HTML, TXT and CSV exports cannot be imported); \
                 export the channel again with DiscordChatExporter's `--format Json`"
                    .to_string()
            } else {
                let text = err.to_string();
                let suffix = format!(" at line {line} column {column}");
                format!(
                    "{}; fix the file or export the channel again",
                    text.strip_suffix(&suffix).unwrap_or(&text)
                )
            };
            ImportError::Json {
                path,
                line,
                column,
                message,
            }
        }
    }
}

/// The channel assumed when the export has no `channel` object, from DCE's file naming
/// `Guild - category - channel [123].json` (see the module docs).
fn fallback_channel(path: &Path) -> ChannelInfo {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (before_id, id) = match stem.rfind('[') {
        Some(open) => {
            let rest = &stem[open + 1..];
            let digits = rest.split(']').next().unwrap_or_default();
            match digits.parse::<u64>() {
                Ok(id) if rest.contains(']') => (&stem[..open], Some(id)),
                _ => (stem.as_str(), None),
            }
        }
        None => (stem.as_str(), None),
    };
    let name = before_id
        .rsplit(" - ")
        .next()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("imported");
    let id = id.unwrap_or_else(|| derived_id(name));
    ChannelInfo {
        id: ChannelId(id),
        guild_id: None,
        guild_name: None,
        name: name.to_string(),
        topic: None,
        parent_id: None,
    }
}

/// A stable pseudo channel id from a name: the first 8 bytes of its SHA-256, top bit cleared
/// so it stays clear of the largest real snowflakes' sign issues in other tools.
fn derived_id(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) >> 1
}

/// The top-level export object.
struct ExportSeed<'a, 's, 'k>(&'a mut State<'s, 'k>);

impl<'de> DeserializeSeed<'de> for ExportSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExportSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DiscordChatExporter export object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "guild" => self.0.guild = map.next_value::<Option<DceGuild>>()?,
                "channel" => self.0.channel = map.next_value::<Option<DceChannel>>()?,
                "messages" => {
                    self.0.saw_messages = true;
                    map.next_value_seed(MessagesSeed(&mut *self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.0.abort(Abort::NotAnExport(
            "the file holds a JSON list, not an export object with `messages`".into(),
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self
            .0
            .abort(Abort::NotAnExport("the file holds `null`".into())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self
            .0
            .abort(Abort::NotAnExport("the file holds a single boolean".into())))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self
            .0
            .abort(Abort::NotAnExport("the file holds a single number".into())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_u64(v.unsigned_abs())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.visit_u64(0)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self
            .0
            .abort(Abort::NotAnExport("the file holds a single string".into())))
    }
}

/// The `messages` array: each element is converted and handed to the sink as it is parsed.
struct MessagesSeed<'a, 's, 'k>(&'a mut State<'s, 'k>);

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(msg) = seq.next_element_seed(MessageSeed)? {
            if let Err(message) = self.0.accept(msg) {
                return Err(self.0.abort(Abort::Callback(message)));
            }
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.not_a_list())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.not_a_list())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.not_a_list())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.not_a_list())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.not_a_list())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.not_a_list())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.not_a_list())
    }
}

impl MessagesSeed<'_, '_, '_> {
    fn not_a_list<E: de::Error>(self) -> E {
        self.0
            .abort(Abort::NotAnExport("`messages` is not a list".into()))
    }
}

/// One element of `messages`: an object becomes a [`DceMessage`]; anything else (`null`, a
/// number, ...) is consumed and reported as `None` so it is skipped and counted.
struct MessageSeed;

impl<'de> DeserializeSeed<'de> for MessageSeed {
    type Value = Option<DceMessage>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed {
    type Value = Option<DceMessage>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        DceMessage::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_channel_from_dce_file_name() {
        let c = fallback_channel(Path::new(
            "/x/Acme - Text Channels - dev-chat [1234567].json",
        ));
        assert_eq!(c.id, ChannelId(1_234_567));
        assert_eq!(c.name, "dev-chat");
        let c = fallback_channel(Path::new("general.json"));
        assert_eq!(c.name, "general");
        assert_eq!(c.id, ChannelId(derived_id("general")));
        assert_ne!(derived_id("general"), derived_id("random"));
        let c = fallback_channel(Path::new("odd [abc].json"));
        assert_eq!(c.name, "odd [abc]");
    }

    #[test]
    fn batch_dedups_keeping_last_and_sorts() {
        let mk = |id: u64, ts: i64, content: &str| ChatMessage {
            id: MessageId(id),
            channel_id: ChannelId(1),
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

    #[test]
    fn bom_is_skipped_and_first_byte_found() {
        let mut with_bom = &b"\xEF\xBB\xBF  \n{\"messages\":[]}"[..];
        assert_eq!(skip_bom(&mut with_bom).expect("read"), Some(b'{'));
        assert!(with_bom.starts_with(b"  \n{"));
        let mut html = &b"<!DOCTYPE html>"[..];
        assert_eq!(skip_bom(&mut html).expect("read"), Some(b'<'));
        let mut blank = &b"   "[..];
        assert_eq!(skip_bom(&mut blank).expect("read"), None);
    }

    #[test]
    fn non_json_input_gets_a_format_hint() {
        let err =
            serde_json::from_str::<serde_json::Value>("Porchlight - dev\n==").expect_err("bad");
        let text = classify(Path::new("dev.txt"), err, None, Some(b'P')).to_string();
        assert!(
            text.contains("not JSON") && text.contains("--format Json"),
            "{text}"
        );
    }

    #[test]
    fn json_error_message_drops_serde_position_suffix() {
        let err = serde_json::from_str::<serde_json::Value>("{\"a\": tru}").expect_err("bad");
        let e = classify(Path::new("f.json"), err, None, Some(b'{'));
        let text = e.to_string();
        assert!(text.starts_with("f.json:1:"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }
}
