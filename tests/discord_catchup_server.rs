//! End-to-end: `/catchup` without a channel, the real binary against the fake Discord with the
//! builtin summarizer — what happened in the server since the member's last message there,
//! privately: channels ranked by what concerns them, each with a TL;DR and a jump link, never a
//! channel they cannot read; "nothing new"; the refusals (options that need a channel, the
//! cooldown shared with `/summarize`).

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::discord_bot::{DiscordBot, WAIT};
use support::fake_discord::{
    command, id_ago, slash_command, text_channel, thread, FakeDiscord, RestCall, ALICE, APP_ID,
    BOB, DAVE, GENERAL, GUILD, SECRET,
};

/// Where Bob is mentioned.
const DESIGN: u64 = 200_000_000_000_000_011;
/// Where Alice replies to Bob.
const BACKEND: u64 = 200_000_000_000_000_012;
/// Activity only.
const RANDOM: u64 = 200_000_000_000_000_013;
/// A public thread of `GENERAL` Bob posted in earlier.
const MIGRATION: u64 = 210_000_000_000_000_011;

fn catchup(id: u64, user: u64, channel: u64, options: &Value) -> Value {
    command("catchup", id, user, channel, options)
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

fn link(channel: u64, message: u64) -> String {
    format!("https://discord.com/channels/{GUILD}/{channel}/{message}")
}

/// The description of the reply's embed.
fn description(call: &RestCall) -> String {
    call.json["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every reply to an interaction was sent with `allowed_mentions` none.
fn assert_no_mentions(fake: &FakeDiscord) {
    let replies: Vec<RestCall> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET" && c.path.contains("/webhooks/"))
        .collect();
    assert!(!replies.is_empty());
    for call in replies {
        assert_eq!(
            call.json["allowed_mentions"],
            json!({"parse": []}),
            "{}",
            call.path
        );
    }
}

/// The edit of interaction `id`'s reply that carries text content (no embeds).
fn wait_content(bot: &DiscordBot, fake: &FakeDiscord, id: u64) -> String {
    let path = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    let call = fake
        .wait_for_call(WAIT, |c| {
            c.method == "PATCH"
                && c.path == path
                && c.json["content"].as_str().is_some_and(|t| !t.is_empty())
        })
        .unwrap_or_else(|| panic!("no text reply to {id}:\n{}", bot.log()));
    call.json["content"].as_str().unwrap_or_default().to_owned()
}

/// The line of `text` that lists `channel`, and its position among the lines.
fn line_of(text: &str, channel: u64) -> (usize, String) {
    let found = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(&format!("<#{channel}>")));
    let Some((i, line)) = found else {
        panic!("<#{channel}> is not listed:\n{text}");
    };
    (i, line.to_owned())
}

/// The TL;DR lines (quoted) right under line `at`.
fn tldr_under(text: &str, at: usize) -> Vec<String> {
    text.lines()
        .skip(at + 1)
        .take_while(|l| l.starts_with("> "))
        .map(str::to_owned)
        .collect()
}

/// The first new message of each channel Bob sees, in the order expected.
struct Firsts {
    mention: u64,
    reply: u64,
    in_thread: u64,
    random: u64,
}

/// Three text channels and a thread besides `GENERAL` and `SECRET`; Bob's last message is in
/// `BACKEND` 3 h ago. After it: a mention of Bob in `DESIGN`, a reply to him in `BACKEND`, a
/// message in the thread he posted in, three in `RANDOM`, and a mention of Bob in `SECRET`,
/// which he cannot read. Alice's last message is the thread's; only `SECRET` has one after it.
fn server(fake: &FakeDiscord) -> Firsts {
    for (id, name) in [(DESIGN, "design"), (BACKEND, "backend"), (RANDOM, "random")] {
        fake.dispatch("CHANNEL_CREATE", &text_channel(id, name));
    }
    fake.dispatch(
        "THREAD_CREATE",
        &thread(MIGRATION, GENERAL, "db-migration", 11),
    );

    // Before Bob's last message: not news.
    fake.inject_message(
        MIGRATION,
        id_ago(minutes(360), 1),
        BOB,
        "I can take the migration.",
    );
    fake.inject_message(
        RANDOM,
        id_ago(minutes(300), 2),
        ALICE,
        "Old news about the printer.",
    );
    let bobs_last = id_ago(minutes(180), 3);
    fake.inject_message(
        BACKEND,
        bobs_last,
        BOB,
        "The flaky test is in the cache layer.",
    );
    // After it.
    fake.inject_message(
        SECRET,
        id_ago(minutes(150), 4),
        DAVE,
        &format!("<@{BOB}> salary numbers for the staff meeting are final."),
    );
    let reply = id_ago(minutes(120), 5);
    fake.inject_reply(
        BACKEND,
        reply,
        ALICE,
        "Agreed, the cache layer needs a lock around the refresh.",
        bobs_last,
    );
    let random_first = id_ago(minutes(90), 6);
    fake.inject_message(
        RANDOM,
        random_first,
        ALICE,
        "The office coffee machine is fixed now.",
    );
    fake.inject_message(
        RANDOM,
        id_ago(minutes(85), 7),
        ALICE,
        "Parking lot is closed on Monday for repairs.",
    );
    fake.inject_message(
        RANDOM,
        id_ago(minutes(80), 8),
        ALICE,
        "Lunch is at noon on Friday in the big room.",
    );
    let mention = id_ago(minutes(60), 9);
    fake.inject_message(
        DESIGN,
        mention,
        ALICE,
        &format!("<@{BOB}> can you review the design doc for the new billing API?"),
    );
    let in_thread = id_ago(minutes(30), 10);
    fake.inject_message(
        MIGRATION,
        in_thread,
        ALICE,
        "The migration plan is ready for review tomorrow.",
    );
    fake.inject_message(
        SECRET,
        id_ago(minutes(10), 11),
        DAVE,
        "The staff meeting moved to 3 pm.",
    );

    Firsts {
        mention,
        reply,
        in_thread,
        random: random_first,
    }
}

#[test]
fn catchup_without_a_channel_ranks_what_concerns_you_across_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "cooldown = \"0s\"");
    let firsts = server(&fake);
    fake.inject_interaction(&catchup(7301, BOB, GENERAL, &json!([])));
    let defer = bot.wait_defer(&fake, 7301);
    assert_eq!(defer.json["type"], 5);
    assert_eq!(defer.json["data"]["flags"], 64, "only Bob sees it");
    let answer = bot.wait_summary(&fake, 7301);
    let text = description(&answer);
    let whole = serde_json::to_string(&answer.json).unwrap_or_default();

    // Mention, then reply, then the thread he posted in, then activity only.
    let (design, design_line) = line_of(&text, DESIGN);
    let (backend, backend_line) = line_of(&text, BACKEND);
    let (thread_at, thread_line) = line_of(&text, MIGRATION);
    let (random, random_line) = line_of(&text, RANDOM);
    assert!(
        design < backend && backend < thread_at && thread_at < random,
        "{text}"
    );
    assert!(design_line.contains("1 mention of you"), "{design_line}");
    assert!(backend_line.contains("1 reply to you"), "{backend_line}");
    assert!(
        thread_line.contains("a thread you posted in"),
        "{thread_line}"
    );
    assert!(
        random_line.contains("3 messages") && !random_line.contains("mention"),
        "{random_line}"
    );
    // Each with a jump link to its first new message, and a TL;DR of what was said.
    for (line, channel, first) in [
        (&design_line, DESIGN, firsts.mention),
        (&backend_line, BACKEND, firsts.reply),
        (&thread_line, MIGRATION, firsts.in_thread),
        (&random_line, RANDOM, firsts.random),
    ] {
        assert!(
            line.contains(&format!("[jump]({})", link(channel, first))),
            "{line}"
        );
    }
    for (at, words) in [
        (design, &["design doc"][..]),
        (backend, &["cache layer"]),
        (thread_at, &["migration plan"]),
        (random, &["coffee machine", "Parking lot", "Lunch"]),
    ] {
        let tldr = tldr_under(&text, at);
        assert!(
            (1..=2).contains(&tldr.len())
                && tldr.iter().any(|l| words.iter().any(|w| l.contains(w))),
            "no TL;DR with {words:?} under line {at}:\n{text}"
        );
    }
    assert!(
        !text.contains("printer"),
        "before his last message:\n{text}"
    );
    assert_eq!(
        answer.json["embeds"][0]["title"],
        "What you missed: 4 channels"
    );
    let footer = answer.json["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        footer.starts_with("since your last message in this server, 3 h 0 min ago ("),
        "{footer}"
    );
    // #secret is never named, linked or quoted.
    for leak in [
        SECRET.to_string(),
        "salary".to_owned(),
        "staff meeting".to_owned(),
    ] {
        assert!(!whole.contains(&leak), "{leak} leaked:\n{whole}");
    }
    assert_no_mentions(&fake);

    // Alice can read #secret: since her last message (in the thread), it is all that is new.
    fake.inject_interaction(&catchup(7302, ALICE, GENERAL, &json!([])));
    let text = description(&bot.wait_summary(&fake, 7302));
    let (_, line) = line_of(&text, SECRET);
    assert!(line.contains("1 message"), "{text}");
    assert_eq!(text.matches("<#").count(), 1, "{text}");
    bot.stop();
}

#[test]
fn nothing_new_options_that_need_a_channel_and_the_shared_cooldown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let mut bot = DiscordBot::connected(dir.path(), &fake, "");
    fake.inject_message(
        GENERAL,
        id_ago(minutes(120), 1),
        ALICE,
        "We decided to ship on Friday.",
    );
    fake.inject_message(GENERAL, id_ago(minutes(2), 2), BOB, "Back from holidays.");
    // Only in a channel Bob cannot read.
    fake.inject_message(
        SECRET,
        id_ago(minutes(1), 3),
        ALICE,
        "Staff-only planning notes.",
    );

    // `public` needs a channel: refused at once, privately, saying what to add.
    fake.inject_interaction(&catchup(
        7401,
        BOB,
        GENERAL,
        &json!([{"name": "public", "type": 5, "value": true}]),
    ));
    let refusal = bot.wait_defer(&fake, 7401);
    assert_eq!(refusal.json["type"], 4);
    assert_eq!(refusal.json["data"]["flags"], 64);
    let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("add `channel:`"), "{content}");

    // Nothing new in what Bob can read since his message (the refusal started no cooldown).
    fake.inject_interaction(&catchup(7402, BOB, GENERAL, &json!([])));
    assert_eq!(bot.wait_defer(&fake, 7402).json["data"]["flags"], 64);
    let text = wait_content(&bot, &fake, 7402);
    assert!(
        text.starts_with(
            "Nothing new in the channels you can read: since your last message in this server, 2 min ago ("
        ),
        "{text}"
    );
    assert!(
        !text.contains("Staff") && !text.contains(&SECRET.to_string()),
        "{text}"
    );

    // Again at once, or /summarize: the cooldown they share (30 s by default).
    for (id, cmd) in [
        (7403, catchup(7403, BOB, GENERAL, &json!([]))),
        (7404, slash_command(7404, BOB, GENERAL, &json!([]))),
    ] {
        fake.inject_interaction(&cmd);
        let refusal = bot.wait_defer(&fake, id);
        assert_eq!(refusal.json["type"], 4);
        assert_eq!(refusal.json["data"]["flags"], 64);
        let content = refusal.json["data"]["content"].as_str().unwrap_or_default();
        assert!(
            content.starts_with("This command is on cooldown."),
            "{content}"
        );
    }
    assert_no_mentions(&fake);
    bot.stop();
}

#[test]
fn with_an_llm_only_the_top_three_tldrs_are_requests_the_rest_are_builtin() {
    use support::fake_openai::FakeOpenAi;
    let llm = FakeOpenAi::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start();
    let llm_section = llm.llm_section();
    let mut bot = DiscordBot::start_with_llm(dir.path(), &fake, "cooldown = \"0s\"", &llm_section);
    bot.wait_connected(&fake);
    server(&fake);
    fake.inject_interaction(&catchup(7501, BOB, GENERAL, &json!([])));
    let text = description(&bot.wait_summary(&fake, 7501));
    let requests = llm.chat_requests();
    assert_eq!(
        requests.len(),
        3,
        "one brief request for each of the top 3:\n{text}"
    );
    for r in &requests {
        assert!(r.prompt_text().contains("short TL;DR"), "not brief");
    }
    for channel in [DESIGN, BACKEND, MIGRATION] {
        let (at, _) = line_of(&text, channel);
        assert!(
            tldr_under(&text, at)
                .iter()
                .any(|l| l.contains("The team discussed")),
            "not the LLM's TL;DR for <#{channel}>:\n{text}"
        );
    }
    let (at, _) = line_of(&text, RANDOM);
    let builtin = &tldr_under(&text, at)[0];
    assert!(
        !builtin.contains("The team discussed") && builtin.contains("**alice**"),
        "the 4th is the builtin's:\n{text}"
    );
    bot.stop();
}
