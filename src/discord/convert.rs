//! serenity types to domain types at the adapter's edge: messages and channels.

use serenity::model::channel::{GuildChannel, Message, MessageType};

use crate::model::{
    Attachment, Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind,
    Timestamp, UserId,
};

/// A serenity timestamp as Unix millis (None if it cannot be represented).
pub fn timestamp(t: &serenity::model::Timestamp) -> Option<Timestamp> {
    t.to_rfc3339().and_then(|s| Timestamp::parse_rfc3339(&s))
}

/// A gateway message (it carries its server and its author's member) as a [`ChatMessage`];
/// None when its timestamp is unusable.
pub fn message(m: &Message) -> Option<ChatMessage> {
    let nick = m.member.as_ref().and_then(|mem| mem.nick.as_deref());
    rest_message(m, m.guild_id.map(|g| GuildId(g.get())), nick)
}

/// A message as a [`ChatMessage`] in `guild` with its author's server nickname `nick`: REST
/// messages carry neither, so the caller knows the channel's server and looks the nickname up
/// ([`super::names::Authors`]). The shown name follows Discord's precedence
/// ([`super::names::display_name`]), the same as for a gateway message.
pub fn rest_message(
    m: &Message,
    guild: Option<GuildId>,
    nick: Option<&str>,
) -> Option<ChatMessage> {
    Some(ChatMessage {
        id: MessageId(m.id.get()),
        channel_id: ChannelId(m.channel_id.get()),
        guild_id: guild,
        author: Author {
            id: UserId(m.author.id.get()),
            name: m.author.name.clone(),
            display_name: super::names::display_name(nick, m.author.global_name.as_deref()),
            is_bot: m.author.bot,
        },
        timestamp: timestamp(&m.timestamp)?,
        edited_at: m.edited_timestamp.as_ref().and_then(timestamp),
        kind: kind(m.kind),
        content: m.content.clone(),
        reply_to: m
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|id| MessageId(id.get())),
        attachments: m
            .attachments
            .iter()
            .map(|a| Attachment {
                file_name: a.filename.clone(),
                url: a.url.clone(),
            })
            .collect(),
        reaction_count: m
            .reactions
            .iter()
            .map(|r| u32::try_from(r.count).unwrap_or(u32::MAX))
            .fold(0, u32::saturating_add),
        pinned: m.pinned,
    })
}

fn kind(t: MessageType) -> MessageKind {
    match t {
        MessageType::Regular => MessageKind::Default,
        MessageType::InlineReply => MessageKind::Reply,
        MessageType::MemberJoin => MessageKind::MemberJoin,
        MessageType::PinsAdd => MessageKind::ChannelPinned,
        MessageType::ThreadCreated => MessageKind::ThreadCreated,
        MessageType::ChatInputCommand => MessageKind::ChatInputCommand,
        _ => MessageKind::Other,
    }
}

/// A guild channel or thread as [`ChannelInfo`].
pub fn channel(c: &GuildChannel, guild_name: Option<&str>) -> ChannelInfo {
    ChannelInfo {
        id: ChannelId(c.id.get()),
        guild_id: Some(GuildId(c.guild_id.get())),
        guild_name: guild_name.map(str::to_owned),
        name: c.name.clone(),
        topic: c.topic.clone(),
        // A thread's channel; a channel's category is not kept (it is no parent for summaries).
        parent_id: c
            .parent_id
            .filter(|_| c.thread_metadata.is_some() || is_thread(c.kind))
            .map(|p| ChannelId(p.get())),
    }
}

fn is_thread(kind: serenity::all::ChannelType) -> bool {
    use serenity::all::ChannelType;
    matches!(
        kind,
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gateway_message_converts_with_nick_reply_and_reactions() {
        let m: Message = serde_json::from_value(json!({
            "id": "1100000000000000001", "channel_id": "22", "guild_id": "33",
            "author": {"id": "44", "username": "alice", "global_name": "Alice G",
                "discriminator": "0", "avatar": null},
            "member": {"nick": "Ali", "roles": [], "deaf": false, "mute": false,
                "joined_at": "2024-01-01T00:00:00+00:00", "flags": 0},
            "content": "hi", "timestamp": "2024-03-01T12:00:00.123+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": true, "type": 19,
            "message_reference": {"message_id": "1099999999999999999", "channel_id": "22"},
            "reactions": [{"count": 2, "count_details": {"burst": 0, "normal": 2},
                "me": false, "me_burst": false, "burst_colors": [],
                "emoji": {"id": null, "name": "👍"}}]
        }))
        .expect("valid message");
        let c = message(&m).expect("convertible");
        assert_eq!(c.id, MessageId(1_100_000_000_000_000_001));
        assert_eq!(c.author.shown_name(), "Ali");
        assert_eq!(c.kind, MessageKind::Reply);
        assert_eq!(c.reply_to, Some(MessageId(1_099_999_999_999_999_999)));
        assert_eq!(c.reaction_count, 2);
        assert!(c.pinned);
        assert_eq!(
            c.timestamp,
            Timestamp::parse_rfc3339("2024-03-01T12:00:00.123Z").expect("ts")
        );
    }

    #[test]
    fn a_rest_message_with_the_looked_up_nickname_names_its_author_like_the_gateway() {
        let gateway = json!({
            "id": "1100000000000000001", "channel_id": "22", "guild_id": "33",
            "author": {"id": "44", "username": "carol", "global_name": "Carol G",
                "discriminator": "0", "avatar": null},
            "member": {"nick": "Caz", "roles": [], "deaf": false, "mute": false,
                "joined_at": "2024-01-01T00:00:00+00:00", "flags": 0},
            "content": "hi", "timestamp": "2024-03-01T12:00:00.123+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0
        });
        let mut rest = gateway.clone();
        let fields = rest.as_object_mut().expect("object");
        fields.remove("member");
        fields.remove("guild_id");
        let live = message(&serde_json::from_value(gateway).expect("gateway")).expect("live");
        let rest: Message = serde_json::from_value(rest).expect("REST");
        let backfilled = rest_message(&rest, Some(GuildId(33)), Some("Caz")).expect("rest");
        assert_eq!(backfilled, live);
        assert_eq!(backfilled.author.shown_name(), "Caz");
        let unresolved = rest_message(&rest, Some(GuildId(33)), None).expect("rest");
        assert_eq!(
            unresolved.author.shown_name(),
            "Carol G",
            "global name, then username"
        );
    }
}
