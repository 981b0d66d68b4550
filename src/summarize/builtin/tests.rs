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

/// The bundled sample (276 messages of a release week) summarized at `detail` and rendered as
/// Markdown, the way the CLI prints it.
fn sample_markdown(detail: crate::model::Detail) -> String {
    sample_markdown_in(detail, None)
}

/// [`sample_markdown`] in the output `language`.
fn sample_markdown_in(detail: crate::model::Detail, language: Option<&str>) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/examples/dev-channel-export.json");
    let export = crate::import::read_export(&path, &crate::import::ReadOptions::default())
        .expect("the bundled sample reads");
    let messages = export.messages;
    let window = TimeWindow {
        start: messages.first().map_or(Timestamp(0), |m| m.timestamp),
        end: messages.last().map_or(Timestamp(0), |m| m.timestamp),
    };
    let draft = BuiltinSummarizer::new().summarize_now(SummaryInput {
        channel: &export.channel,
        kind: ChannelKind::Dev,
        window,
        messages: &messages,
        language,
        detail,
    });
    let summary = crate::model::Summary {
        channel: export.channel.clone(),
        window,
        message_count: messages.len(),
        participants: crate::summarize::engine::participants(&messages),
        sections: draft.sections,
        provider: PROVIDER.to_string(),
        model: MODEL.to_string(),
        usage: TokenUsage::default(),
        cached: false,
        fallback_reason: None,
        focus: None,
        created_at: window.end,
        language: language.map(str::to_owned),
        withheld: 0,
        left_out: 0,
        cache_entry: None,
    };
    crate::summarize::render::markdown(&summary)
}

/// Characters a reader sees: every `[text](target)` link counted as its text, the rest as written
/// (Markdown markers included, so the count is an upper bound of what Discord shows).
fn visible_chars(markdown: &str) -> usize {
    let mut count = 0;
    let mut rest = markdown.trim_end();
    while let Some(open) = rest.find('[') {
        count += rest[..open].chars().count();
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|mid| {
            let close = after[mid + 2..].find(')')?;
            (!after[..mid].contains('[')).then_some((mid, mid + 2 + close + 1))
        });
        if let Some((mid, end)) = link {
            count += after[..mid].chars().count();
            rest = &after[end..];
        } else {
            count += 1;
            rest = after;
        }
    }
    count + rest.chars().count()
}

/// The text of one `## Title` section of rendered Markdown.
fn markdown_section<'a>(markdown: &'a str, title: &str) -> &'a str {
    let heading = format!("## {title}\n");
    markdown.split_once(&heading).map_or("", |(_, rest)| {
        rest.split_once("\n## ")
            .map_or(rest, |(section, _)| section)
    })
}

#[test]
fn visible_chars_count_links_as_their_text() {
    assert_eq!(visible_chars("- **A**: ok [12](https://x.io/1)\n"), 14);
    assert_eq!(visible_chars("a [b] c"), 7);
}

fn standard(messages: &[ChatMessage], kind: ChannelKind) -> Draft {
    let channel = channel();
    BuiltinSummarizer::new().summarize_now(SummaryInput {
        channel: &channel,
        kind,
        window: TimeWindow::last_hours(Timestamp(1_800_000_000_000), 24),
        messages,
        language: None,
        detail: crate::model::Detail::Standard,
    })
}

#[test]
fn sample_standard_summary_fits_2000_chars_and_keeps_the_outcomes() {
    let md = sample_markdown(crate::model::Detail::Standard);
    let visible = visible_chars(&md);
    assert!(visible <= 2_000, "{visible} visible chars:\n{md}");
    let decisions = markdown_section(&md, SectionKind::Decisions.title());
    for outcome in [
        "we'll go with WASM (wasmtime) as the only rules runtime for 1.0",
        "Feature freeze is in effect",
        "v0.9.0-rc2 is out",
        "0.9.0 final tomorrow 09:00 UTC",
        "no lazy-loading in 0.9.0, it goes into 0.9.1",
    ] {
        assert!(decisions.contains(outcome), "{outcome:?} missing:\n{md}");
    }
    let actions = markdown_section(&md, SectionKind::ActionItems.title());
    for task in [
        "**Q**: RFC 0007 feedback round until next friday",
        "**Priya**: discussion on Pi 3 support for 1.0",
        "**Tobias**: unwrap lint PR #414 for 0.10",
        "**Q**: lazy-load scene editor for 0.9.1",
        "**Sam**: review #422 (config errors) on friday",
        "**Fen**: publish the upgrade guide with the release",
        "owns the RFC writeup, please put the benchmark numbers in it",
    ] {
        assert!(actions.contains(task), "{task:?} missing:\n{md}");
    }
    // Acknowledgments and approvals never stand alone without their object.
    for fragment in [
        "agreed.",
        "otherwise approved",
        "to put the benchmark numbers in it",
    ] {
        assert!(
            !md.contains(&format!("**: {fragment}")),
            "{fragment:?}:\n{md}"
        );
    }
    assert!(!md.contains("** to put the benchmark"), "{md}");
    let questions = markdown_section(&md, SectionKind::OpenQuestions.title());
    assert!(
        questions.contains("keep pi 3 support at all for 1.0?"),
        "{md}"
    );
    for answered in ["scene editor in or out", "zigbee devices", "Lua or WASM"] {
        assert!(
            !questions.contains(answered),
            "{answered:?} was answered:\n{md}"
        );
    }
}

#[test]
fn sample_brief_summary_fits_700_chars() {
    let md = sample_markdown(crate::model::Detail::Brief);
    let visible = visible_chars(&md);
    assert!(visible <= 700, "{visible} visible chars:\n{md}");
    assert!(md.contains("we'll go with WASM"), "{md}");
    assert!(md.contains("0.9.0 final tomorrow 09:00 UTC"), "{md}");
}

#[test]
fn the_builtin_writes_its_own_words_in_the_readers_language() {
    use crate::model::Detail;
    let english = sample_markdown(Detail::Full);
    assert!(english.contains("(asked by **"), "{english}");
    assert!(english.contains("reported an error: "), "{english}");
    let german = sample_markdown_in(Detail::Full, Some("German"));
    for phrase in [
        "soll: ",
        "(Bitte von **",
        "meldete einen Fehler: ",
        "(geteilt von ",
    ] {
        assert!(german.contains(phrase), "{phrase:?} missing:\n{german}");
    }
    for phrase in ["(asked by", "reported an error", "(shared by", "** will "] {
        assert!(
            !german.contains(phrase),
            "{phrase:?} left in English:\n{german}"
        );
    }
    let japanese = sample_markdown_in(Detail::Standard, Some("ja"));
    assert!(
        japanese.contains("の担当: ") || japanese.contains("が担当: "),
        "{japanese}"
    );
}

#[test]
fn sample_full_summary_is_the_index() {
    let md = sample_markdown(crate::model::Detail::Full);
    assert!(visible_chars(&md) > 4_000, "{md}");
    assert!(
        md.contains("## Links") && md.contains("## Technical Details"),
        "{md}"
    );
    assert!(
        md.matches("](https://discord.com/channels/").count() >= 35,
        "{md}"
    );
    // Code changes need substance in every mode: a PR, a commit, a file.
    let changes = markdown_section(&md, SectionKind::CodeChanges.title());
    assert!(
        !changes.contains("I already have a branch that half works"),
        "{md}"
    );
    assert!(changes.contains("merged. (re #423)"), "{md}");
}

#[test]
fn acknowledgments_attach_to_what_they_answer() {
    let mut chat = Chat::new();
    chat.say(
        1,
        "Alex",
        "The nightly export job takes four hours on the old database server.",
    );
    let plan = chat.say(
        2,
        "Sam",
        "Plan: move the nightly export to the read replica and run it at 02:00 UTC.",
    );
    let ack = chat.reply(plan, 3, "Kim", "👍");
    let agreed = chat.say(1, "Alex", "agreed.");
    chat.say(
        3,
        "Kim",
        "Unrelated: the coffee machine on floor two is broken again today.",
    );
    let draft = standard(&chat.messages, ChannelKind::General);
    let cited: Vec<MessageId> = draft
        .sections
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| p.citations.clone()))
        .collect();
    assert!(
        !cited.contains(&ack) && !cited.contains(&agreed),
        "{draft:?}"
    );
    let texts: Vec<&str> = draft
        .sections
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.text.as_str()))
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("read replica")),
        "the acknowledged plan is a point: {texts:?}"
    );
    assert!(texts.iter().all(|t| !t.ends_with("agreed.")), "{texts:?}");
    assert_eq!(
        units::acknowledgments(&prepare(&chat.messages)).get(&plan),
        Some(&2)
    );
}

#[test]
fn questions_answered_later_are_not_open_but_deferred_ones_are() {
    let mut chat = Chat::new();
    chat.say(
        1,
        "Alex",
        "For the 2.0 release do we keep the legacy plugin loader at all?",
    );
    chat.say(1, "Alex", "It blocks the new sandbox work.");
    chat.say(
        2,
        "Sam",
        "Should we ask the plugin authors in the forum first?",
    );
    chat.say(3, "Kim", "Good question, I don't know yet.");
    chat.say(
        4,
        "Lee",
        "Is the staging database migration finished already?",
    );
    chat.say(
        5,
        "Ola",
        "Does anyone know whether arm64 runners support nested virtualization?",
    );
    chat.say(6, "Bo", "no idea, sorry");
    chat.say(
        1,
        "Alex",
        "Decided: the legacy plugin loader is dropped in the 2.0 release, the sandbox replaces it.",
    );
    chat.say(
        2,
        "Sam",
        "The staging database migration finished an hour ago.",
    );
    let draft = run(&chat.messages, ChannelKind::General);
    let open: Vec<&str> = section(&draft, SectionKind::OpenQuestions)
        .iter()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        open,
        vec![
            "**Sam**: Should we ask the plugin authors in the forum first?",
            "**Ola**: Does anyone know whether arm64 runners support nested virtualization?"
        ],
        "the loader question is settled by the decision, the migration one by a later statement; \
         the deferred ones stay"
    );
}

#[test]
fn code_changes_need_substance_and_short_ones_take_their_object() {
    let mut chat = Chat::new();
    chat.say(
        2,
        "Priya",
        "https://github.com/o/r/pull/423 restores the old client id default",
    );
    chat.say(3, "Sam", "approved, nice that it's small");
    let merged = chat.say(1, "Mara", "merged.");
    chat.say(
        4,
        "Jonas",
        "I already have a branch that half works for the dashboard",
    );
    let draft = run(&chat.messages, ChannelKind::Dev);
    let changes = section(&draft, SectionKind::CodeChanges);
    assert!(
        changes
            .iter()
            .any(|p| p.text == "**Mara**: merged. (re #423)" && p.citations == vec![merged]),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|p| !p.text.contains("half works")),
        "{changes:?}"
    );
}

#[test]
fn recap_items_name_their_owner_and_merge_earlier_promises() {
    let mut chat = Chat::new();
    let promise = chat.say(
        3,
        "Tobias",
        "I'll do the unwrap lint PR for the zigbee crate after lunch.",
    );
    chat.say(
        1,
        "Mara (maintainer)",
        "Release notes are ready for review now.",
    );
    chat.say(
        2,
        "Ada R.",
        "The release build for arm finished in twelve minutes.",
    );
    let recap = chat.say(
        1,
        "Mara (maintainer)",
        "recap of open items:\n- Tobias: unwrap lint PR for the zigbee crate\n- Ada: publish the arm release build\n- Nobody: something",
    );
    let draft = standard(&chat.messages, ChannelKind::General);
    let actions = section(&draft, SectionKind::ActionItems);
    assert!(
        actions.iter().any(
            |p| p.text == "**Tobias**: unwrap lint PR for the zigbee crate"
                && p.citations == vec![recap, promise]
        ),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|p| p.text == "**Ada R.**: publish the arm release build"),
        "{actions:?}"
    );
    assert!(
        actions.iter().all(|p| !p.text.contains("Nobody")),
        "{actions:?}"
    );
}

#[test]
fn decisions_keep_their_object_not_the_acknowledgment() {
    let mut chat = Chat::new();
    chat.say(
        2,
        "Sam",
        "I'd rather not change the router the day before a release, honestly.",
    );
    let decided = chat.say(
        1,
        "Mara",
        "agreed. decision: **no lazy-loading in 0.9.0**, it goes into 0.9.1.",
    );
    chat.say(
        3,
        "Q",
        "fair, I'll have the lazy-loading PR ready for 0.9.1 anyway",
    );
    let draft = standard(&chat.messages, ChannelKind::General);
    let decisions = section(&draft, SectionKind::Decisions);
    assert_eq!(
        decisions
            .iter()
            .map(|p| (p.text.as_str(), p.citations.clone()))
            .collect::<Vec<_>>(),
        vec![(
            "**Mara**: decision: no lazy-loading in 0.9.0, it goes into 0.9.1.",
            vec![decided]
        )]
    );
}

#[test]
fn short_summaries_shrink_with_small_windows() {
    let mut chat = Chat::new();
    for i in 0..12 {
        chat.say(
            i % 3,
            &format!("P{}", i % 3),
            &format!("Turn {i}: the conference budget needs {i} more seats for the workshop."),
        );
    }
    let draft = standard(&chat.messages, ChannelKind::General);
    let chars: usize = draft
        .sections
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.text.chars().count()))
        .sum();
    let written: usize = chat
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    assert!(
        chars > 0 && chars * 2 < written,
        "{chars} of {written}: {draft:?}"
    );
}
