//! Threads and forums in summaries: where a command was aimed (channel, thread or forum), which
//! public threads of a channel were active in a window, the "Threads" section listing them with
//! jump links, and the thread messages a `threads:true` or forum summary reads.

use std::collections::HashSet;
use std::hash::BuildHasher;

use crate::channel_summary::keep_newest;
use crate::model::{
    ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, Point, Section, SectionKind,
    TimeWindow,
};
use crate::store::{Store, StoreError};
use crate::summarize::lang::Lang;
use crate::summarize::render::escape;

/// Most threads listed (and read) for one summary; the most active ones are kept.
pub const MAX_THREADS: usize = 15;

/// What kind of channel a command targets, as the gateway cache describes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlaceKind {
    /// A text or announcement channel (or one the cache does not know).
    #[default]
    Channel,
    /// A public thread or forum post: summarized on its own.
    Thread,
    /// A private thread: summarized on its own, and only from inside it (whoever can invoke a
    /// command there is a member; a parent channel's reader may not be).
    PrivateThread,
    /// A forum: a container of posts (threads); its summary covers its active posts.
    Forum,
}

impl PlaceKind {
    /// True for a thread or forum post (posting there needs Send Messages in Threads).
    pub fn is_thread(self) -> bool {
        matches!(self, Self::Thread | Self::PrivateThread)
    }
}

/// A public thread whose parent is the target. Private threads are never listed: members of
/// the parent channel may not see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRef {
    /// Thread id.
    pub id: ChannelId,
    /// Thread name (a forum post's title).
    pub name: String,
}

/// The target of a command: its kind and its public threads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// Channel, thread or forum.
    pub kind: PlaceKind,
    /// Public threads whose parent is the target (empty for a thread).
    pub threads: Vec<ThreadRef>,
}

impl Place {
    /// True when the summary reads thread messages: a forum always, a channel with `threads:true`.
    pub fn reads_threads(&self, include: bool) -> bool {
        match self.kind {
            PlaceKind::Forum => true,
            PlaceKind::Channel => include,
            PlaceKind::Thread | PlaceKind::PrivateThread => false,
        }
    }
}

/// The channel whose kind (`summary.dev_channels`, `general_channels`, or a guess from its name
/// and topic) a summary of `channel` uses: a thread takes its parent's, anything else its own.
pub fn kind_source(place: &Place, channel: &ChannelInfo) -> ChannelId {
    match (place.kind, channel.parent_id) {
        (PlaceKind::Thread | PlaceKind::PrivateThread, Some(parent)) => parent,
        _ => channel.id,
    }
}

/// A thread with stored messages in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveThread {
    /// The thread.
    pub thread: ThreadRef,
    /// Its stored messages in the window.
    pub messages: usize,
}

/// The threads of `place` with stored messages in `window`, most active first (ties: newest
/// thread first), at most [`MAX_THREADS`].
pub fn active(
    store: &Store,
    place: &Place,
    window: TimeWindow,
) -> Result<Vec<ActiveThread>, StoreError> {
    let mut out = Vec::new();
    for thread in &place.threads {
        let messages = store.message_count_in(thread.id, window)?;
        if messages > 0 {
            out.push(ActiveThread {
                thread: thread.clone(),
                messages,
            });
        }
    }
    out.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(b.thread.id.0.cmp(&a.thread.id.0))
    });
    out.truncate(MAX_THREADS);
    Ok(out)
}

/// The "Threads" section: one point per active thread, its name linking to the thread, with
/// its message count in `lang`.
pub fn section(guild: GuildId, threads: &[ActiveThread], lang: Lang) -> Option<Section> {
    if threads.is_empty() {
        return None;
    }
    let points = threads
        .iter()
        .map(|t| Point {
            text: format!(
                "[{}](https://discord.com/channels/{guild}/{}) — {}",
                link_label(&t.thread.name, lang),
                t.thread.id,
                lang.count(&lang.strings().messages, t.messages)
            ),
            citations: Vec::new(),
        })
        .collect();
    Some(Section {
        kind: SectionKind::Threads,
        points,
    })
}

/// A thread name safe inside a Markdown link label: on one line, brackets turned into
/// parentheses (escaped brackets confuse link parsers), Markdown escaped, never empty.
fn link_label(name: &str, lang: Lang) -> String {
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('[', "(")
        .replace(']', ")");
    if name.is_empty() {
        lang.strings().unnamed_thread.to_owned()
    } else {
        escape(&name)
    }
}

/// The newest `cap` of `base` (oldest first) and the messages of `threads` in `window`, and how
/// many older ones were left out. Kept to `cap` after each thread, so memory stays within two
/// caps' worth however many threads there are.
pub fn with_thread_messages(
    store: &Store,
    mut base: Vec<ChatMessage>,
    threads: &[ActiveThread],
    window: TimeWindow,
    cap: usize,
) -> Result<(Vec<ChatMessage>, usize), StoreError> {
    let mut left_out = 0;
    for t in threads {
        let read = store.newest_messages_in(t.thread.id, window, cap)?;
        base.extend(read.messages);
        left_out += read.left_out;
        base.sort_by_key(|m| (m.timestamp, m.id.0));
        left_out += keep_newest(&mut base, cap);
    }
    base.sort_by_key(|m| (m.timestamp, m.id.0));
    Ok((base, left_out))
}

/// Ids of the messages that are not in `channel`: citations of them would link to the wrong
/// place (a jump link names the channel), so they are dropped; the Threads section links there.
pub fn foreign_ids(messages: &[ChatMessage], channel: ChannelId) -> HashSet<MessageId> {
    messages
        .iter()
        .filter(|m| m.channel_id != channel)
        .map(|m| m.id)
        .collect()
}

/// Drop citations of `foreign` messages from every point.
pub fn drop_citations<S: BuildHasher>(sections: &mut [Section], foreign: &HashSet<MessageId, S>) {
    if foreign.is_empty() {
        return;
    }
    for point in sections.iter_mut().flat_map(|s| s.points.iter_mut()) {
        point.citations.retain(|id| !foreign.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;
    use crate::store::test_support::{msg, temp_store};

    fn thread(id: u64, name: &str) -> ThreadRef {
        ThreadRef {
            id: ChannelId(id),
            name: name.into(),
        }
    }

    fn window() -> TimeWindow {
        TimeWindow {
            start: Timestamp(100),
            end: Timestamp(1000),
        }
    }

    #[test]
    fn active_threads_have_messages_in_the_window_most_active_first() {
        let (_d, s) = temp_store();
        s.upsert_messages(&[
            msg(7, 1, 50, "before the window"),
            msg(8, 2, 200, "a"),
            msg(9, 3, 300, "b"),
            msg(9, 4, 400, "c"),
        ])
        .expect("upsert");
        let place = Place {
            kind: PlaceKind::Channel,
            threads: vec![thread(7, "quiet"), thread(8, "one"), thread(9, "two")],
        };
        let got = active(&s, &place, window()).expect("active");
        let names: Vec<(&str, usize)> = got
            .iter()
            .map(|t| (t.thread.name.as_str(), t.messages))
            .collect();
        assert_eq!(names, [("two", 2), ("one", 1)]);

        let (merged, left_out) =
            with_thread_messages(&s, vec![msg(1, 5, 250, "parent")], &got, window(), 100)
                .expect("merge");
        assert_eq!(left_out, 0);
        // With a cap of 2: the newest two of all four, the other two counted.
        let (capped, left_out) =
            with_thread_messages(&s, vec![msg(1, 5, 250, "parent")], &got, window(), 2)
                .expect("merge");
        let newest: Vec<u64> = capped.iter().map(|m| m.id.0).collect();
        assert_eq!((newest, left_out), (vec![3, 4], 2));
        let ids: Vec<u64> = merged.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, [2, 5, 3, 4], "oldest first across channels");
        let foreign = foreign_ids(&merged, ChannelId(1));
        assert_eq!(foreign.len(), 3);
        assert!(!foreign.contains(&MessageId(5)));
    }

    #[test]
    fn at_most_max_threads_are_kept() {
        let (_d, s) = temp_store();
        let ids = 10..10 + MAX_THREADS as u64 + 5;
        let batch: Vec<_> = ids.clone().map(|c| msg(c, c, 500, "x")).collect();
        s.upsert_messages(&batch).expect("upsert");
        let place = Place {
            kind: PlaceKind::Forum,
            threads: ids.map(|c| thread(c, "t")).collect(),
        };
        let got = active(&s, &place, window()).expect("active");
        assert_eq!(got.len(), MAX_THREADS);
        assert_eq!(got[0].thread.id, ChannelId(10 + MAX_THREADS as u64 + 4));
    }

    #[test]
    fn the_section_links_each_thread_with_an_escaped_name() {
        let threads = [
            ActiveThread {
                thread: thread(55, "release [v2]\n*plan*"),
                messages: 3,
            },
            ActiveThread {
                thread: thread(56, "  "),
                messages: 1,
            },
        ];
        let section = section(GuildId(9), &threads, Lang::En).expect("section");
        assert_eq!(section.kind, SectionKind::Threads);
        assert_eq!(
            section.points[0].text,
            "[release (v2) \\*plan\\*](https://discord.com/channels/9/55) — 3 messages"
        );
        assert_eq!(
            section.points[1].text,
            "[(unnamed thread)](https://discord.com/channels/9/56) — 1 message"
        );
        assert!(super::section(GuildId(9), &[], Lang::En).is_none());
        let german = super::section(GuildId(9), &threads, Lang::De).expect("section");
        assert_eq!(
            german.points[1].text,
            "[(unbenannter Thread)](https://discord.com/channels/9/56) — 1 Nachricht"
        );
    }

    #[test]
    fn citations_of_thread_messages_are_dropped() {
        let mut sections = vec![Section {
            kind: SectionKind::KeyPoints,
            points: vec![Point {
                text: "x".into(),
                citations: vec![MessageId(1), MessageId(2)],
            }],
        }];
        drop_citations(&mut sections, &HashSet::from([MessageId(2)]));
        assert_eq!(sections[0].points[0].citations, [MessageId(1)]);
    }

    #[test]
    fn a_thread_takes_its_parents_kind() {
        let mut info = ChannelInfo::unknown(ChannelId(5), Some(GuildId(1)));
        info.parent_id = Some(ChannelId(2));
        let mut place = Place {
            kind: PlaceKind::Thread,
            threads: Vec::new(),
        };
        assert_eq!(kind_source(&place, &info), ChannelId(2));
        place.kind = PlaceKind::PrivateThread;
        assert_eq!(kind_source(&place, &info), ChannelId(2));
        // A channel's parent is its category: it keeps its own kind.
        place.kind = PlaceKind::Channel;
        assert_eq!(kind_source(&place, &info), ChannelId(5));
        info.parent_id = None;
        place.kind = PlaceKind::Thread;
        assert_eq!(kind_source(&place, &info), ChannelId(5));
    }

    #[test]
    fn only_forums_and_opted_in_channels_read_threads() {
        let mut place = Place::default();
        assert!(!place.reads_threads(false));
        assert!(place.reads_threads(true));
        place.kind = PlaceKind::Forum;
        assert!(place.reads_threads(false));
        place.kind = PlaceKind::Thread;
        assert!(!place.reads_threads(true));
        place.kind = PlaceKind::PrivateThread;
        assert!(!place.reads_threads(true));
    }
}
