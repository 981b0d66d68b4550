//! What concerns a member in a channel's new messages, and the order `/catchup` lists channels
//! in: mentions of them or their roles, then replies to them, then threads they posted in, then
//! activity. Pure: messages and a member in, signals and an order out.

use std::cmp::Reverse;

use crate::model::{ChatMessage, MessageId, Timestamp, UserId};

/// The member catching up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Their user id.
    pub user: UserId,
    /// Their roles in the server (not `@everyone`).
    pub roles: Vec<u64>,
}

impl Member {
    /// True when `content` mentions the member (`<@id>`, `<@!id>`) or one of their roles
    /// (`<@&id>`), as Discord keeps mentions in a message's text.
    pub fn is_mentioned_in(&self, content: &str) -> bool {
        let mut rest = content;
        while let Some(at) = rest.find("<@") {
            rest = &rest[at + 2..];
            let (role, digits) = match rest.strip_prefix('&') {
                Some(r) => (true, r),
                None => (false, rest.strip_prefix('!').unwrap_or(rest)),
            };
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            if !digits[end..].starts_with('>') {
                continue;
            }
            let Ok(id) = digits[..end].parse::<u64>() else {
                continue;
            };
            if (role && self.roles.contains(&id)) || (!role && id == self.user.0) {
                return true;
            }
        }
        false
    }
}

/// What concerns the member in one channel's new messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signals {
    /// Messages that mention them or one of their roles.
    pub mentions: usize,
    /// Replies to their messages.
    pub replies: usize,
    /// The channel is a thread they posted in.
    pub posted_in_thread: bool,
    /// Messages by others.
    pub messages: usize,
    /// When the newest of them was sent.
    pub latest: Timestamp,
}

impl Signals {
    /// The signals of `messages` (a channel's window): `is_theirs` says whether a replied-to
    /// message is the member's; `posted_in_thread` whether the channel is a thread they wrote in.
    /// The member's own messages count for nothing.
    pub fn of(
        messages: &[ChatMessage],
        member: &Member,
        is_theirs: impl Fn(MessageId) -> bool,
        posted_in_thread: bool,
    ) -> Self {
        let mut s = Self {
            mentions: 0,
            replies: 0,
            posted_in_thread,
            messages: 0,
            latest: Timestamp(0),
        };
        for m in messages.iter().filter(|m| m.author.id != member.user) {
            s.messages += 1;
            s.latest = s.latest.max(m.timestamp);
            if member.is_mentioned_in(&m.content) {
                s.mentions += 1;
            }
            if m.reply_to.is_some_and(&is_theirs) {
                s.replies += 1;
            }
        }
        s
    }

    /// Anything new from others.
    pub fn is_news(&self) -> bool {
        self.messages > 0
    }

    /// The sort key, most concerning first once reversed.
    fn key(&self) -> (usize, usize, bool, usize, Timestamp) {
        (
            self.mentions,
            self.replies,
            self.posted_in_thread,
            self.messages,
            self.latest,
        )
    }
}

/// `channels` with news, most concerning first: more mentions, then more replies, then a thread
/// they posted in, then more messages, then the most recent; equal ones keep their order.
pub fn rank<T>(mut channels: Vec<(T, Signals)>) -> Vec<(T, Signals)> {
    channels.retain(|(_, s)| s.is_news());
    channels.sort_by_key(|(_, s)| Reverse(s.key()));
    channels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::msg;

    const ME: UserId = UserId(9);
    const ROLE: u64 = 77;

    fn me() -> Member {
        Member {
            user: ME,
            roles: vec![ROLE],
        }
    }

    fn signals(mentions: usize, replies: usize, thread: bool, messages: usize) -> Signals {
        Signals {
            mentions,
            replies,
            posted_in_thread: thread,
            messages,
            latest: Timestamp(0),
        }
    }

    #[test]
    fn mentions_of_the_member_or_their_roles_are_found_in_the_text() {
        let m = me();
        for yes in ["hi <@9>", "<@!9> look", "ping <@&77>!", "<@1> and <@9>"] {
            assert!(m.is_mentioned_in(yes), "{yes}");
        }
        for no in [
            "<@99>", "<@&7>", "<@9", "@9", "<#9>", "<@&9>", "<@!>", "<@ 9>", "",
        ] {
            assert!(!m.is_mentioned_in(no), "{no}");
        }
    }

    #[test]
    fn signals_count_others_messages_mentions_and_replies_to_the_member() {
        let mut mention = msg(1, 1, 10, "<@9> can you review?");
        mention.author.id = UserId(2);
        let mut reply = msg(1, 2, 20, "agreed");
        reply.author.id = UserId(3);
        reply.reply_to = Some(MessageId(500));
        let mut other_reply = msg(1, 3, 30, "no");
        other_reply.author.id = UserId(3);
        other_reply.reply_to = Some(MessageId(600));
        let mut mine = msg(1, 4, 40, "<@9> talking to myself");
        mine.author.id = ME;
        let s = Signals::of(
            &[mention, reply, other_reply, mine],
            &me(),
            |id| id == MessageId(500),
            false,
        );
        assert_eq!(
            s,
            Signals {
                mentions: 1,
                replies: 1,
                posted_in_thread: false,
                messages: 3,
                latest: Timestamp(30),
            }
        );
    }

    #[test]
    fn mentions_rank_before_replies_before_threads_before_activity() {
        let ranked = rank(vec![
            ("busy", signals(0, 0, false, 50)),
            ("thread", signals(0, 0, true, 1)),
            ("reply", signals(0, 1, false, 2)),
            ("quiet", signals(0, 0, false, 0)),
            ("mention", signals(1, 0, false, 1)),
            ("two mentions", signals(2, 0, false, 1)),
            ("less busy", signals(0, 0, false, 3)),
        ]);
        let order: Vec<&str> = ranked.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            order,
            [
                "two mentions",
                "mention",
                "reply",
                "thread",
                "busy",
                "less busy"
            ],
            "a channel without news is left out"
        );
    }

    #[test]
    fn equal_activity_puts_the_most_recent_first() {
        let mut old = signals(0, 0, false, 2);
        old.latest = Timestamp(5);
        let mut new = old;
        new.latest = Timestamp(9);
        let ranked = rank(vec![("old", old), ("new", new)]);
        assert_eq!(ranked[0].0, "new");
    }
}
