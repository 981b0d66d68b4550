//! The streaming parse: serde visitors that walk the top-level export object and hand each
//! message to a sink as soon as it is parsed, and the mapping of parse failures to
//! [`ImportError`]s.

use std::fmt;
use std::io::{self, BufReader};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::dce::{self, DceChannel, DceGuild, DceMessage};
use super::input::{fallback_channel, file_label, open_export, skip_bom};
use super::progress::{CountingReader, Progress};
use super::{ImportError, ReadOptions};
use crate::model::{ChannelInfo, ChatMessage};

/// Read buffer size: large enough that the progress bar's clock check is negligible.
const READ_BUFFER: usize = 256 * 1024;

/// Receives each converted message with the channel it belongs to.
pub(super) type Sink<'s> = dyn FnMut(&ChannelInfo, ChatMessage) -> Result<(), String> + 's;

/// What the parse learned besides the messages.
pub(super) struct Parsed {
    /// The channel the messages were labelled with (known when `messages` began).
    pub(super) message_channel: ChannelInfo,
    /// The channel as known at the end of the file.
    pub(super) final_channel: ChannelInfo,
    /// Entries skipped.
    pub(super) skipped: usize,
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

/// Parse the export at `path`, handing each message to `sink`.
pub(super) fn parse_file(
    path: &Path,
    opts: ReadOptions,
    sink: &mut Sink<'_>,
) -> Result<Parsed, ImportError> {
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

/// Implements the `Visitor` methods for JSON scalars (`null`, booleans, numbers, strings) with
/// one body; `$what` names the kind of value found, for messages.
macro_rules! visit_scalars {
    (|$this:ident, $what:ident| $body:expr) => {
        fn visit_unit<E: de::Error>($this) -> Result<Self::Value, E> {
            let $what = "`null`";
            $body
        }
        fn visit_bool<E: de::Error>($this, _: bool) -> Result<Self::Value, E> {
            let $what = "a boolean";
            $body
        }
        fn visit_i64<E: de::Error>($this, _: i64) -> Result<Self::Value, E> {
            let $what = "a number";
            $body
        }
        fn visit_u64<E: de::Error>($this, _: u64) -> Result<Self::Value, E> {
            let $what = "a number";
            $body
        }
        fn visit_f64<E: de::Error>($this, _: f64) -> Result<Self::Value, E> {
            let $what = "a number";
            $body
        }
        fn visit_str<E: de::Error>($this, _: &str) -> Result<Self::Value, E> {
            let $what = "a string";
            $body
        }
    };
}

/// The top-level export object: `guild` and `channel` are kept, `messages` is streamed, any
/// other key is skipped without being stored.
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

    visit_scalars!(|self, what| Err(self
        .0
        .abort(Abort::NotAnExport(format!("the file holds just {what}")))));
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

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.0.abort(Abort::NotAnExport(
            "`messages` is not a list but an object".into(),
        )))
    }

    visit_scalars!(|self, what| Err(self.0.abort(Abort::NotAnExport(format!(
        "`messages` is not a list but {what}"
    )))));
}

/// One element of `messages`: an object becomes a [`DceMessage`]; anything else (`null`, a
/// number, a list, an object with a wrong-typed field) is consumed and reported as `None` so it
/// is skipped and counted.
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

    /// The object is read whole (one message is small), then converted: a field of the wrong
    /// type (`"isPinned": "yes"`) skips that message instead of aborting the file.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let object = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let id = object.get("id").map(ToString::to_string);
        match DceMessage::deserialize(object) {
            Ok(message) => Ok(Some(message)),
            Err(e) => {
                tracing::warn!(message_id = id.as_deref().unwrap_or("?"), error = %e,
                    "skipping a message with a field of the wrong type");
                Ok(None)
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        tracing::debug!("skipping a list found in place of a message");
        Ok(None)
    }

    visit_scalars!(|self, what| {
        tracing::debug!(found = what, "skipping a non-object entry in `messages`");
        Ok(None)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
