//! The serde shapes of a DiscordChatExporter JSON export and their conversion to domain types.
//!
//! Every field is optional and unknown fields are ignored, so old exports (no `exportedAt`,
//! `roles`, `reference.type`) and new ones (extra fields) read the same way. Ids and timestamps
//! are lenient: a string of digits or a number; anything unparsable becomes `None`, and the caller
//! decides (a message without an id or timestamp is skipped and counted).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::model::{
    Attachment, Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind,
    Timestamp, UserId,
};

/// Name shown for a message whose author object is missing.
const UNKNOWN_AUTHOR: &str = "Unknown User";

/// A Discord snowflake written as a string of digits (or, leniently, a number).
/// `None` when present but unparsable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Snowflake(pub(super) Option<u64>);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SnowflakeVisitor;
        impl Visitor<'_> for SnowflakeVisitor {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake id (string of digits or number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                Ok(Snowflake(v.trim().parse().ok()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
                Ok(Snowflake(u64::try_from(v).ok()))
            }
        }
        deserializer.deserialize_any(SnowflakeVisitor)
    }
}

/// A point in time written as RFC 3339 text (or, leniently, Unix milliseconds).
/// `None` when present but unparsable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct DceTime(pub(super) Option<Timestamp>);

impl<'de> Deserialize<'de> for DceTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = DceTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DceTime, E> {
                Ok(DceTime(Timestamp::parse_rfc3339(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DceTime, E> {
                Ok(DceTime(i64::try_from(v).ok().map(Timestamp)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DceTime, E> {
                Ok(DceTime(Some(Timestamp(v))))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// The message `type`: DCE writes the enum name (`"Reply"`); raw numeric Discord types are
/// accepted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DceType(pub(super) MessageKind);

impl DceType {
    /// Map DCE's type name (case-insensitive) to a kind; unknown names are system messages.
    fn from_name(name: &str) -> MessageKind {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "default" => MessageKind::Default,
            "reply" => MessageKind::Reply,
            "guildmemberjoin" => MessageKind::MemberJoin,
            "channelpinnedmessage" => MessageKind::ChannelPinned,
            "threadcreated" => MessageKind::ThreadCreated,
            "chatinputcommand" | "contextmenucommand" => MessageKind::ChatInputCommand,
            _ => MessageKind::Other,
        }
    }

    /// Map a numeric Discord message type to a kind.
    fn from_number(n: u64) -> MessageKind {
        match n {
            0 => MessageKind::Default,
            19 => MessageKind::Reply,
            7 => MessageKind::MemberJoin,
            6 => MessageKind::ChannelPinned,
            18 => MessageKind::ThreadCreated,
            20 | 23 => MessageKind::ChatInputCommand,
            _ => MessageKind::Other,
        }
    }
}

impl<'de> Deserialize<'de> for DceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor;
        impl Visitor<'_> for TypeVisitor {
            type Value = DceType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message type name such as \"Default\" or \"Reply\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DceType, E> {
                Ok(DceType(DceType::from_name(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DceType, E> {
                Ok(DceType(DceType::from_number(v)))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<DceType, E> {
                Ok(DceType(MessageKind::Other))
            }
        }
        deserializer.deserialize_any(TypeVisitor)
    }
}

/// Top-level `guild` object.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceGuild {
    pub(super) id: Option<Snowflake>,
    pub(super) name: Option<String>,
}

impl DceGuild {
    /// The guild id; DCE writes `0` for direct messages, which has no guild.
    fn guild_id(&self) -> Option<GuildId> {
        flat(self.id).filter(|&id| id != 0).map(GuildId)
    }
}

/// Top-level `channel` object. For threads, DCE writes the parent channel as the category.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceChannel {
    pub(super) id: Option<Snowflake>,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) category_id: Option<Snowflake>,
    pub(super) name: Option<String>,
    pub(super) topic: Option<String>,
}

impl DceChannel {
    /// True when the channel type names a thread (`GuildPublicThread`, `GuildPrivateThread`, ...).
    fn is_thread(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.to_ascii_lowercase().contains("thread"))
    }
}

/// `author` of a message.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceAuthor {
    pub(super) id: Option<Snowflake>,
    pub(super) name: Option<String>,
    pub(super) nickname: Option<String>,
    pub(super) is_bot: Option<bool>,
}

/// One entry of `attachments`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceAttachment {
    pub(super) url: Option<String>,
    pub(super) file_name: Option<String>,
}

/// One entry of `reactions` (the emoji itself is not needed; its id is often `null`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceReaction {
    pub(super) count: Option<u64>,
}

/// `reference` of a reply (or of a pin notice).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceReference {
    pub(super) message_id: Option<Snowflake>,
}

/// `forwardedMessage` of a forward (newer exports): the forwarded text lives here and the
/// forwarding message's own `content` is empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceForwarded {
    pub(super) content: Option<String>,
}

/// Prefix marking text taken from a forwarded message.
const FORWARDED_PREFIX: &str = "(forwarded) ";

/// One element of `messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct DceMessage {
    pub(super) id: Option<Snowflake>,
    #[serde(rename = "type")]
    pub(super) kind: Option<DceType>,
    pub(super) timestamp: Option<DceTime>,
    pub(super) timestamp_edited: Option<DceTime>,
    pub(super) is_pinned: Option<bool>,
    pub(super) content: Option<String>,
    pub(super) author: Option<DceAuthor>,
    pub(super) attachments: Option<Vec<DceAttachment>>,
    pub(super) reactions: Option<Vec<DceReaction>>,
    pub(super) reference: Option<DceReference>,
    pub(super) forwarded_message: Option<DceForwarded>,
}

/// The message's own text, or for a forward (empty own text) the forwarded text, marked.
fn message_text(own: Option<String>, forwarded: Option<DceForwarded>) -> String {
    let own = own.unwrap_or_default();
    if !own.trim().is_empty() {
        return own;
    }
    match forwarded
        .and_then(|f| f.content)
        .filter(|c| !c.trim().is_empty())
    {
        Some(text) => format!("{FORWARDED_PREFIX}{text}"),
        None => own,
    }
}

fn flat(id: Option<Snowflake>) -> Option<u64> {
    id.and_then(|s| s.0)
}

fn flat_time(t: Option<DceTime>) -> Option<Timestamp> {
    t.and_then(|t| t.0)
}

/// Build the channel description from the export's `channel` and `guild` objects; a missing
/// channel id or name comes from `fallback` (derived from the file name by the caller).
pub(super) fn channel_info(
    channel: &DceChannel,
    guild: Option<&DceGuild>,
    fallback: &ChannelInfo,
) -> ChannelInfo {
    let name = channel
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| fallback.name.clone(), str::to_string);
    ChannelInfo {
        id: flat(channel.id).map_or(fallback.id, ChannelId),
        guild_id: guild.and_then(DceGuild::guild_id),
        guild_name: guild.and_then(|g| g.name.clone()).filter(|n| !n.is_empty()),
        name,
        topic: channel.topic.clone().filter(|t| !t.trim().is_empty()),
        parent_id: if channel.is_thread() {
            flat(channel.category_id).map(ChannelId)
        } else {
            None
        },
    }
}

impl DceAuthor {
    fn into_author(self) -> Author {
        let name = self
            .name
            .filter(|n| !n.is_empty())
            .or_else(|| self.nickname.clone())
            .unwrap_or_else(|| UNKNOWN_AUTHOR.to_string());
        let display_name = self.nickname.filter(|n| !n.trim().is_empty() && *n != name);
        Author {
            id: UserId(flat(self.id).unwrap_or(0)),
            name,
            display_name,
            is_bot: self.is_bot.unwrap_or(false),
        }
    }
}

impl DceAttachment {
    /// An attachment with neither a URL nor a file name carries nothing and is dropped.
    fn into_attachment(self) -> Option<Attachment> {
        let url = self.url.unwrap_or_default();
        let file_name = self.file_name.filter(|n| !n.is_empty()).or_else(|| {
            url.split('?')
                .next()
                .and_then(|u| u.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        })?;
        Some(Attachment { file_name, url })
    }
}

impl DceMessage {
    /// Convert to a domain message in `channel`; `None` when the id or timestamp is missing or
    /// unparsable. A reaction entry without a `count` counts as one (it exists, so someone
    /// reacted). A message without `type` is a `Reply` when it has a `reference`, else `Default`.
    pub(super) fn into_chat_message(self, channel: &ChannelInfo) -> Option<ChatMessage> {
        let id = flat(self.id)?;
        let timestamp = flat_time(self.timestamp)?;
        let reply_to = self
            .reference
            .and_then(|r| flat(r.message_id))
            .map(MessageId);
        let kind = self.kind.map_or(
            if reply_to.is_some() {
                MessageKind::Reply
            } else {
                MessageKind::Default
            },
            |k| k.0,
        );
        let reaction_count = self
            .reactions
            .unwrap_or_default()
            .iter()
            .map(|r| r.count.unwrap_or(1))
            .fold(0u32, |sum, n| {
                sum.saturating_add(u32::try_from(n).unwrap_or(u32::MAX))
            });
        Some(ChatMessage {
            id: MessageId(id),
            channel_id: channel.id,
            guild_id: channel.guild_id,
            author: self.author.unwrap_or_default().into_author(),
            timestamp,
            edited_at: flat_time(self.timestamp_edited),
            kind,
            content: message_text(self.content, self.forwarded_message),
            reply_to,
            attachments: self
                .attachments
                .unwrap_or_default()
                .into_iter()
                .filter_map(DceAttachment::into_attachment)
                .collect(),
            reaction_count,
            pinned: self.is_pinned.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> ChannelInfo {
        ChannelInfo {
            id: ChannelId(10),
            guild_id: Some(GuildId(20)),
            guild_name: None,
            name: "dev".into(),
            topic: None,
            parent_id: None,
        }
    }

    fn convert(json: &str) -> Option<ChatMessage> {
        let m: DceMessage = serde_json::from_str(json).expect("valid message json");
        m.into_chat_message(&channel())
    }

    #[test]
    fn full_message_maps_every_field() {
        let m = convert(
            r#"{"id":"1100","type":"Reply","timestamp":"2024-03-01T12:00:00.000+00:00",
            "timestampEdited":"2024-03-01T12:05:00+00:00","isPinned":true,"content":"hi",
            "author":{"id":"7","name":"alice","nickname":"Alice A","isBot":false,"roles":[]},
            "attachments":[{"id":"1","url":"https://cdn/x/log.txt","fileName":"log.txt","fileSizeBytes":3}],
            "reactions":[{"emoji":{"id":null,"name":"👍"},"count":2},{"emoji":{"id":"5","name":"x"},"count":3}],
            "reference":{"messageId":"1099","channelId":"10","guildId":"20"},"extra":{"a":[1]}}"#,
        )
        .expect("converts");
        assert_eq!(m.id, MessageId(1100));
        assert_eq!(m.channel_id, ChannelId(10));
        assert_eq!(m.guild_id, Some(GuildId(20)));
        assert_eq!(m.kind, MessageKind::Reply);
        assert_eq!(m.timestamp.millis(), 1_709_294_400_000);
        assert_eq!(m.edited_at, Some(Timestamp(1_709_294_700_000)));
        assert!(m.pinned);
        assert_eq!(m.content, "hi");
        assert_eq!(m.author.id, UserId(7));
        assert_eq!(m.author.shown_name(), "Alice A");
        assert_eq!(m.reply_to, Some(MessageId(1099)));
        assert_eq!(m.reaction_count, 5);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].file_name, "log.txt");
    }

    #[test]
    fn minimal_message_gets_defaults() {
        let m = convert(r#"{"id":"5","timestamp":"2024-03-01T12:00:00+00:00"}"#).expect("ok");
        assert_eq!(m.kind, MessageKind::Default);
        assert_eq!(m.author.name, UNKNOWN_AUTHOR);
        assert_eq!(m.author.id, UserId(0));
        assert!(m.content.is_empty() && m.attachments.is_empty() && !m.pinned);
        assert_eq!(m.edited_at, None);
    }

    #[test]
    fn missing_or_bad_id_or_timestamp_is_skipped() {
        assert!(convert(r#"{"timestamp":"2024-03-01T12:00:00+00:00"}"#).is_none());
        assert!(convert(r#"{"id":"abc","timestamp":"2024-03-01T12:00:00+00:00"}"#).is_none());
        assert!(convert(r#"{"id":"5"}"#).is_none());
        assert!(convert(r#"{"id":"5","timestamp":"last tuesday"}"#).is_none());
        assert!(convert(r#"{"id":null,"timestamp":null}"#).is_none());
    }

    #[test]
    fn local_offsets_and_long_fractions_are_normalised_to_utc() {
        let m =
            convert(r#"{"id":"1","timestamp":"2024-03-01T14:00:00.1234567+02:00"}"#).expect("ok");
        assert_eq!(m.timestamp.millis(), 1_709_294_400_123);
        assert!(convert(r#"{"id":-5,"timestamp":"2024-03-01T12:00:00Z"}"#).is_none());
    }

    #[test]
    fn nickname_equal_to_name_is_not_a_display_name() {
        let m = convert(
            r#"{"id":1,"timestamp":1000,"author":{"id":"2","name":"bob","nickname":"bob"}}"#,
        )
        .expect("ok");
        assert_eq!(m.author.display_name, None);
        assert_eq!(m.timestamp, Timestamp(1000));
    }

    #[test]
    fn type_names_and_numbers_map_to_kinds() {
        for (name, kind) in [
            ("Default", MessageKind::Default),
            ("reply", MessageKind::Reply),
            ("GuildMemberJoin", MessageKind::MemberJoin),
            ("ChannelPinnedMessage", MessageKind::ChannelPinned),
            ("ThreadCreated", MessageKind::ThreadCreated),
            ("ChatInputCommand", MessageKind::ChatInputCommand),
            ("RecipientAdd", MessageKind::Other),
        ] {
            assert_eq!(DceType::from_name(name), kind, "{name}");
        }
        assert_eq!(DceType::from_number(19), MessageKind::Reply);
        assert_eq!(DceType::from_number(7), MessageKind::MemberJoin);
        assert_eq!(DceType::from_number(3), MessageKind::Other);
    }

    #[test]
    fn untyped_message_with_reference_is_a_reply() {
        let m = convert(
            r#"{"id":"2","timestamp":"2024-03-01T12:00:00Z","reference":{"messageId":"1"}}"#,
        )
        .expect("ok");
        assert_eq!(m.kind, MessageKind::Reply);
        assert_eq!(m.reply_to, Some(MessageId(1)));
    }

    #[test]
    fn forwarded_text_is_used_when_own_content_is_empty() {
        let m = convert(
            r#"{"id":"1","timestamp":"2025-01-01T00:00:00Z","content":"",
            "forwardedMessage":{"timestamp":"2024-12-31T00:00:00Z","content":"release is out"}}"#,
        )
        .expect("ok");
        assert_eq!(m.content, "(forwarded) release is out");
        let own = convert(
            r#"{"id":"1","timestamp":"2025-01-01T00:00:00Z","content":"look",
            "forwardedMessage":{"content":"release is out"}}"#,
        )
        .expect("ok");
        assert_eq!(own.content, "look");
    }

    #[test]
    fn attachment_name_falls_back_to_url() {
        let a = DceAttachment {
            url: Some("https://cdn.example/a/b/trace.log?ex=1".into()),
            file_name: None,
        };
        assert_eq!(
            a.into_attachment().map(|a| a.file_name).as_deref(),
            Some("trace.log")
        );
        assert!(DceAttachment::default().into_attachment().is_none());
    }

    #[test]
    fn reactions_without_count_count_once_and_sum_saturates() {
        let m = convert(
            r#"{"id":"1","timestamp":"2024-03-01T12:00:00Z",
            "reactions":[{"emoji":{"id":null}},{"count":18446744073709551615}]}"#,
        )
        .expect("ok");
        assert_eq!(m.reaction_count, u32::MAX);
    }

    #[test]
    fn channel_info_from_export_objects() {
        let fallback = channel();
        let ch: DceChannel = serde_json::from_str(
            r#"{"id":"300","type":"GuildPublicThread","categoryId":"299","category":"dev","name":"release 1.2","topic":""}"#,
        )
        .expect("json");
        let g: DceGuild =
            serde_json::from_str(r#"{"id":"0","name":"Direct Messages"}"#).expect("json");
        let info = channel_info(&ch, Some(&g), &fallback);
        assert_eq!(info.id, ChannelId(300));
        assert_eq!(info.parent_id, Some(ChannelId(299)));
        assert_eq!(info.guild_id, None);
        assert_eq!(info.topic, None);
        assert_eq!(info.name, "release 1.2");

        let plain = channel_info(&DceChannel::default(), None, &fallback);
        assert_eq!(plain.id, fallback.id);
        assert_eq!(plain.name, fallback.name);
        assert_eq!(plain.parent_id, None);
    }
}
