//! Tests of the builtin summarizer on small realistic conversations.

use super::*;
use crate::model::{
    Author, ChannelId, ChannelInfo, MessageKind, Point, TimeWindow, Timestamp, UserId,
};

struct Chat {
    messages: Vec<ChatMessage>,
}

impl Chat {
    fn new() -> Self {
        Self {
            messages: Vec::new(),
        }
    }

    fn say(&mut self, user: u64, name: &str, content: &str) -> MessageId {
        let id = MessageId(1000 + self.messages.len() as u64);
        self.messages.push(ChatMessage {
            id,
            channel_id: ChannelId(7),
            guild_id: None,
            author: Author {
                id: UserId(user),
                name: name.to_lowercase(),
                display_name: Some(name.to_string()),
                is_bot: name.ends_with("Bot"),
            },
            timestamp: Timestamp(1_700_000_000_000 + self.messages.len() as i64 * 60_000),
            edited_at: None,
            kind: MessageKind::Default,
            content: content.to_string(),
            reply_to: None,
            attachments: Vec::new(),
            reaction_count: 0,
            pinned: false,
        });
        id
    }

    fn reply(&mut self, to: MessageId, user: u64, name: &str, content: &str) -> MessageId {
        let id = self.say(user, name, content);
        if let Some(m) = self.messages.last_mut() {
            m.reply_to = Some(to);
            m.kind = MessageKind::Reply;
        }
        id
    }
}

fn channel() -> ChannelInfo {
    ChannelInfo {
        id: ChannelId(7),
        guild_id: None,
        guild_name: None,
        name: "backend".to_string(),
        topic: None,
        parent_id: None,
    }
}

fn run(messages: &[ChatMessage], kind: ChannelKind) -> Draft {
    let channel = channel();
    BuiltinSummarizer::new().summarize_now(SummaryInput {
        channel: &channel,
        kind,
        window: TimeWindow::last_hours(Timestamp(1_800_000_000_000), 24),
        messages,
        language: None,
        detail: crate::model::Detail::Full,
    })
}

fn section(draft: &Draft, kind: SectionKind) -> &[Point] {
    draft
        .sections
        .iter()
        .find(|s| s.kind == kind)
        .map_or(&[], |s| s.points.as_slice())
}

#[test]
fn realistic_conversation_yields_every_section() {
    let mut chat = Chat::new();
    chat.say(1, "Alex", "The staging deploy keeps timing out when the cache warms up, the redis connection pool is exhausted.");
    let proposal = chat.say(
        2,
        "Sam",
        "Should we raise the redis pool size to 64 and add a warmup delay to the deploy script?",
    );
    let agree = chat.reply(proposal, 1, "Alex", "agreed");
    let decided = chat.say(
        3,
        "Priya",
        "Decision: we'll use the managed redis cluster for staging from now on.",
    );
    let ask = chat.say(
        3,
        "Priya",
        "<@2> can you update the deploy script with the new pool size?",
    );
    let will = chat.say(
        2,
        "Sam",
        "Sure, I'll update the deploy script and the runbook tonight.",
    );
    let code = chat.say(1, "Alex", "Here is the error from the logs:\n```\nthread 'main' panicked at src/cache.rs:42: pool timed out\n```");
    let link = chat.say(
        2,
        "Sam",
        "Redis pooling docs: https://redis.io/docs/manual/pipelining/ worth a read",
    );
    let again = chat.say(
        1,
        "Alex",
        "same link as before https://redis.io/docs/manual/pipelining",
    );
    let open = chat.say(
        3,
        "Priya",
        "Does anyone know whether the managed cluster supports TLS on port 6380?",
    );
    chat.say(
        99,
        "DeployBot",
        "Merged PR #42 into main: bump redis pool size",
    );
    let draft = run(&chat.messages, ChannelKind::Dev);

    let decisions = section(&draft, SectionKind::Decisions);
    assert!(decisions
        .iter()
        .any(|p| p.citations == vec![decided] && p.text.starts_with("**Priya**: Decision")));
    assert!(decisions
        .iter()
        .any(|p| p.citations == vec![proposal, agree] && p.text.contains("agreed by **Alex**")));

    let actions = section(&draft, SectionKind::ActionItems);
    assert!(
        actions.iter().any(|p| p.citations == vec![ask]
            && p.text.starts_with("**Sam** to update the deploy script")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|p| p.citations == vec![will]
            && p.text.starts_with("**Sam** will update the deploy script")),
        "{actions:?}"
    );

    let technical = section(&draft, SectionKind::Technical);
    assert!(
        technical
            .iter()
            .any(|p| p.citations == vec![code] && p.text.contains("panicked at src/cache.rs:42")),
        "{technical:?}"
    );

    let links = section(&draft, SectionKind::Links);
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].citations, vec![link, again]);
    assert!(links[0].text.starts_with("Redis pooling docs"));

    let questions = section(&draft, SectionKind::OpenQuestions);
    assert_eq!(
        questions
            .iter()
            .map(|p| p.citations.clone())
            .collect::<Vec<_>>(),
        vec![vec![open]]
    );

    let changes = section(&draft, SectionKind::CodeChanges);
    assert!(changes.iter().any(|p| p.text.contains("Merged PR #42")));
    assert!(!section(&draft, SectionKind::KeyPoints).is_empty());
    assert!(draft.sections.iter().all(|s| !s.points.is_empty()));
    let general = run(&chat.messages, ChannelKind::General);
    assert!(section(&general, SectionKind::CodeChanges).is_empty());
}

#[test]
fn empty_input_gives_empty_sections() {
    let draft = run(&[], ChannelKind::Dev);
    assert!(draft.sections.is_empty());
    assert_eq!(draft.usage, TokenUsage::default());
}

#[test]
fn bots_and_noise_are_not_key_points() {
    let mut chat = Chat::new();
    chat.say(
        9,
        "MusicBot",
        "Now playing: a very long song title about databases and migrations and schemas",
    );
    chat.say(1, "Alex", "lol");
    chat.say(
        2,
        "Sam",
        "The database migration for the billing schema is scheduled for Thursday night.",
    );
    chat.say(
        3,
        "Kim",
        "Thursday works, the billing schema migration needs a backup first.",
    );
    let draft = run(&chat.messages, ChannelKind::General);
    let keys = section(&draft, SectionKind::KeyPoints);
    assert!(!keys.is_empty());
    assert!(keys
        .iter()
        .all(|p| !p.text.contains("MusicBot") && !p.text.contains("lol")));
}

#[test]
fn near_duplicates_and_long_messages_are_trimmed() {
    let mut chat = Chat::new();
    let long = format!(
        "The release checklist {}",
        "covers every packaging step in detail ".repeat(30)
    );
    chat.say(1, "Alex", &long);
    chat.say(
        2,
        "Sam",
        "The release checklist covers every packaging step in detail",
    );
    chat.say(
        3,
        "Kim",
        "The release checklist covers every packaging step in detail!",
    );
    let draft = run(&chat.messages, ChannelKind::General);
    let keys = section(&draft, SectionKind::KeyPoints);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].text.chars().count() <= text::POINT_CHARS + 12);
}

#[test]
fn summaries_are_deterministic_and_fast_enough_for_big_windows() {
    let mut chat = Chat::new();
    for i in 0..3000_u64 {
        let text = format!(
            "message {i} about topic {} with detail {} and link https://x.io/{}",
            i % 17,
            i % 5,
            i % 40
        );
        chat.say(i % 23, &format!("User{}", i % 23), &text);
    }
    let first = run(&chat.messages, ChannelKind::Dev);
    let second = run(&chat.messages, ChannelKind::Dev);
    assert_eq!(first, second);
    assert!(section(&first, SectionKind::KeyPoints).len() <= 7);
    assert!(section(&first, SectionKind::Links).len() <= 10);
}

#[test]
fn random_markup_never_panics_and_citations_are_real() {
    const PIECES: &[&str] = &[
        "<@12>",
        "<@!3>",
        "<#4>",
        "<:x:5>",
        "<a:y:6>",
        "<t:99:R>",
        "<",
        ">",
        "@",
        "`",
        "```",
        "[",
        "]",
        "(",
        ")",
        "](",
        ":",
        "?",
        ".",
        "!",
        "İ",
        "ß",
        "😀",
        "\n",
        " ",
        "http://",
        "https://a.io/",
        "I'll ",
        "can you ",
        "agreed",
        "todo",
        "merged ",
        "assigned to ",
        "v1.2.3",
        "src/a.rs",
        "word",
        "Should we ",
        "let's ",
        "é́",
        "—",
    ];
    let mut seed = 0x1234_5678_9ABC_DEF1_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut chat = Chat::new();
    for i in 0..400 {
        let content: String = (0..next(30)).map(|_| PIECES[next(PIECES.len())]).collect();
        let user = next(6) as u64;
        let id = chat.say(user, &format!("U{user}"), &content);
        if i > 0 && next(3) == 0 {
            let to = MessageId(1000 + next(i) as u64);
            if let Some(m) = chat.messages.last_mut() {
                m.reply_to = Some(to);
            }
        }
        assert_eq!(id, MessageId(1000 + i as u64));
    }
    let ids: Vec<MessageId> = chat.messages.iter().map(|m| m.id).collect();
    let draft = run(&chat.messages, ChannelKind::Dev);
    for section in &draft.sections {
        assert!(!section.points.is_empty() && section.points.len() <= 10);
        for point in &section.points {
            assert!(!point.text.trim().is_empty());
            assert!(!point.citations.is_empty());
            assert!(point.citations.iter().all(|c| ids.contains(c)));
        }
    }
    assert!(draft.sections.len() >= 3, "{draft:?}");
}

#[test]
fn action_items_are_attributed_to_the_right_person() {
    let mut chat = Chat::new();
    let report = chat.say(
        1,
        "Alex",
        "The nightly backup job failed again on the storage box.",
    );
    let ask = chat.reply(
        report,
        2,
        "Sam",
        "Could you rerun the backup job with verbose logging?",
    );
    chat.say(
        3,
        "Kim",
        "Let me know if the storage box needs more disk space.",
    );
    let todo = chat.say(
        3,
        "Kim",
        "TODO: rotate the backup credentials, assigned to @Sam",
    );
    chat.say(1, "Alex", "Should I'll really do that?");
    let draft = run(&chat.messages, ChannelKind::General);
    let actions = section(&draft, SectionKind::ActionItems);
    let texts: Vec<(&str, &[MessageId])> = actions
        .iter()
        .map(|p| (p.text.as_str(), p.citations.as_slice()))
        .collect();
    assert_eq!(actions.len(), 2, "{texts:?}");
    assert!(
        actions[0]
            .text
            .starts_with("**Alex** to rerun the backup job")
            && actions[0].citations == vec![ask],
        "{texts:?}"
    );
    assert!(
        actions[1].text.starts_with("**Sam**: TODO: rotate") && actions[1].citations == vec![todo],
        "{texts:?}"
    );
}

#[test]
fn technical_points_that_only_restate_a_key_point_are_dropped() {
    let point = |text: &str, ids: &[u64]| Point {
        text: text.into(),
        citations: ids.iter().copied().map(MessageId).collect(),
    };
    let key = vec![point("the plan", &[1]), point("the fix", &[2])];
    let mut sections = vec![
        Section {
            kind: SectionKind::Technical,
            points: vec![point("plan again", &[1]), point("a stack trace", &[3])],
        },
        Section {
            kind: SectionKind::CodeChanges,
            points: vec![point("fix again", &[2])],
        },
        Section {
            kind: SectionKind::Links,
            points: vec![point("link in the plan", &[1])],
        },
    ];
    drop_repeats_of(&key, &mut sections);
    let kinds: Vec<SectionKind> = sections.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, vec![SectionKind::Technical, SectionKind::Links]);
    assert_eq!(sections[0].points, vec![point("a stack trace", &[3])]);
}
