//! End to end: the real binary summarizing the bundled export through the fake OpenAI-compatible
//! server over real HTTP, including the fallback and the user-facing failure messages.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::fake_openai::{FakeOpenAi, Fault};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/dev-channel-export.json"
);

/// Summarize the sample through the fake with the whole window in one call.
fn summarize(dir: &Path, fake: &FakeOpenAi, extra: &[&str]) -> Output {
    summarize_with_context(dir, fake, 128_000, extra)
}

fn summarize_with_context(
    dir: &Path,
    fake: &FakeOpenAi,
    context_tokens: u32,
    extra: &[&str],
) -> Output {
    summarize_command(dir, fake, context_tokens, extra)
        .output()
        .expect("binary runs")
}

/// The `summarybot summarize` command of [`summarize_with_context`], not started yet.
fn summarize_command(
    dir: &Path,
    fake: &FakeOpenAi,
    context_tokens: u32,
    extra: &[&str],
) -> Command {
    let config = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"llama3.1\"\n\
         timeout = \"2s\"\nmax_retries = 1\ncontext_tokens = {context_tokens}\n",
        fake.base_url()
    );
    std::fs::write(dir.join("summarybot.toml"), config).expect("write config");
    let mut command = support::summarybot(dir);
    command.args(["summarize", "--input", SAMPLE]).args(extra);
    command
}

#[test]
fn prints_the_llm_summary_with_jump_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    let out = summarize(dir.path(), &fake, &["--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["provider"], "openai");
    assert_eq!(json["model"], "llama3.1");
    assert!(
        json["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 0,
        "{json}"
    );
    let text = json.to_string();
    assert!(
        text.contains("fake-openai"),
        "not the fake's summary: {text}"
    );
    assert!(
        text.contains("https://discord.com/channels/"),
        "no citations: {text}"
    );

    let requests = fake.chat_requests();
    assert!(!requests.is_empty());
    let prompt = requests[0].prompt_text();
    assert!(
        prompt.contains("[m1]"),
        "messages are not labelled: {prompt}"
    );
    assert!(
        requests.iter().all(|r| r.header("authorization").is_none()),
        "no key configured, none must be sent"
    );
}

#[test]
fn a_rejected_key_falls_back_to_the_builtin_summary_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::InvalidApiKey);
    let out = summarize(dir.path(), &fake, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("API key was rejected"), "{text}");
    assert!(text.contains("## "), "no builtin summary: {text}");
    assert_eq!(fake.chat_requests().len(), 1, "401 must not be retried");
}

#[test]
fn an_endpoint_echoing_the_key_never_gets_it_into_the_output() {
    const KEY: &str = "sk-cli-echo-0123456789abcdefghijklmnop";
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.answer_all(Fault::EchoAuthorization {
        status: 400,
        padding: 0,
    });
    // With the fallback the reason is in the printed summary; without, in the error.
    for (extra, code) in [(&[][..], 0), (&["--no-fallback"][..], 1)] {
        let out = summarize_command(dir.path(), &fake, 128_000, extra)
            .env("OPENAI_API_KEY", KEY)
            .output()
            .expect("binary runs");
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{all}");
        assert!(!all.contains(KEY), "{extra:?}: the key was printed: {all}");
        assert!(
            all.contains("Authorization: Bearer *** (credential ***)"),
            "{extra:?}: {all}"
        );
    }
    assert_eq!(
        fake.chat_requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[test]
fn without_fallback_the_user_gets_the_clear_message_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::InsufficientQuota);
    let out = summarize(dir.path(), &fake, &["--no-fallback"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no credits left"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("{\""),
        "raw dump: {err}"
    );
    assert_eq!(
        fake.chat_requests().len(),
        1,
        "insufficient_quota must not be retried"
    );
}

#[test]
fn a_window_larger_than_the_context_is_summarized_map_reduce_into_one_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    let out = summarize_with_context(dir.path(), &fake, 6_000, &["--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["provider"], "openai", "{json}");
    let requests = fake.chat_requests();
    assert!(
        requests.len() >= 3,
        "expected chunk calls plus a combining call, got {}",
        requests.len()
    );
    // Every chunk prompt fits the small context (4 characters a token is generous for English).
    for r in &requests {
        assert!(
            r.prompt_text().len() < 6_000 * 4,
            "a prompt overflows the context"
        );
    }
    // One summary comes out, with the usage of every call added up.
    let prompt_tokens = json["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    assert!(
        prompt_tokens > 6_000,
        "usage not summed over calls: {prompt_tokens}"
    );
}

/// An answer far past every detail budget: four sections of twelve long bullets, each citing a
/// message of the sample.
fn long_answer() -> String {
    use std::fmt::Write as _;
    let mut answer = String::new();
    for (h, base) in [
        ("Key Discussion Points", 1),
        ("Important Decisions/Outcomes", 40),
        ("Action Items", 80),
        ("Technical Details", 120),
    ] {
        let _ = writeln!(answer, "## {h}");
        for i in 0..12 {
            let _ = writeln!(
                answer,
                "- Point {i} of {h}: {} [m{}]",
                "a long explanation of what was said and why ".repeat(3),
                base + i
            );
        }
    }
    answer
}

#[test]
fn the_detail_level_is_asked_for_and_an_overlong_answer_is_trimmed_to_it() {
    use summarybot::summarize::render::visible_chars;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.answer_all(Fault::Reply(long_answer()));
    let mut seen = Vec::new();
    for (detail, budget, asked) in [
        (
            "brief",
            Some(700),
            Some("a short TL;DR of at most 700 characters"),
        ),
        (
            "standard",
            Some(2_000),
            Some("at most 2,000 characters in all"),
        ),
        ("full", None, None),
    ] {
        let out = summarize(dir.path(), &fake, &["--detail", detail]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let visible = visible_chars(&text);
        match budget {
            Some(b) => assert!(visible <= b, "{detail}: {visible} > {b}:\n{text}"),
            None => assert!(visible > 5_000, "full is not trimmed: {visible}"),
        }
        assert!(text.starts_with("**#dev**"), "the header stays: {text}");
        assert!(
            text.contains("Point 0 of Key Discussion Points"),
            "the first point stays: {text}"
        );
        assert!(!text.contains("[m"), "no raw citation: {text}");
        let prompt = fake
            .chat_requests()
            .last()
            .expect("a request")
            .prompt_text();
        match asked {
            Some(line) => assert!(prompt.contains(line), "{detail}: {prompt}"),
            None => assert!(!prompt.contains("Length:"), "full asks for no length"),
        }
        seen.push(visible);
    }
    assert!(seen[0] < seen[1] && seen[1] < seen[2], "{seen:?}");
    assert_eq!(fake.chat_requests().len(), 3);

    let bad = summarize(dir.path(), &fake, &["--detail", "tiny"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("use brief, standard or full"), "{err}");
    assert_eq!(
        fake.chat_requests().len(),
        3,
        "nothing sent for a bad value"
    );
}

#[test]
fn a_topic_keeps_only_its_messages_and_says_so_and_an_unknown_topic_calls_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    let out = summarize(dir.path(), &fake, &["--topic", "wasm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("focused on “wasm”"), "{text}");
    let prompt = fake.chat_requests()[0].prompt_text();
    let sent = prompt.lines().filter(|l| l.starts_with("[m")).count();
    assert!((5..100).contains(&sent), "{sent} of 276 messages sent");
    assert!(prompt.to_lowercase().contains("wasm"));
    assert!(
        !prompt.contains("zigbee"),
        "an unrelated thread of the sample was sent"
    );

    let none = summarize(dir.path(), &fake, &["--topic", "xylophone"]);
    assert_eq!(none.status.code(), Some(1));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("no message in this window is about “xylophone”"),
        "{err}"
    );
    assert_eq!(
        fake.chat_requests().len(),
        1,
        "no LLM call without messages"
    );
}

/// The dry-run's value of `label` (e.g. `LLM calls:`), as a number.
fn dry_run_number(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in:\n{text}"));
    let digits: String = line[label.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn dry_run_prints_messages_tokens_parts_and_cost_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    let config = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"llama3.1\"\n\
         timeout = \"2s\"\nmax_retries = 1\ncontext_tokens = 6000\nmax_tokens = 1000\n\
         [llm.prices]\n\"llama3.1\" = [1.0, 2.0]\n",
        fake.base_url()
    );
    std::fs::write(dir.path().join("summarybot.toml"), config).expect("write config");
    let run = |extra: &[&str]| {
        support::summarybot(dir.path())
            .args(["summarize", "--input", SAMPLE])
            .args(extra)
            .output()
            .expect("binary runs")
    };
    let out = run(&["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(fake.requests().is_empty(), "the dry run reached the LLM");
    assert_eq!(dry_run_number(&text, "messages:"), 276, "{text}");
    let parts = dry_run_number(&text, "map-reduce parts:");
    let calls = dry_run_number(&text, "LLM calls:");
    assert!(
        parts >= 2,
        "6,000 tokens of context cannot hold the sample: {text}"
    );
    assert_eq!(calls, parts + 1, "{text}");
    let input = dry_run_number(&text, "input tokens:");
    let output = dry_run_number(&text, "output reserved:");
    assert!(input > 10_000, "{text}");
    assert_eq!(output, calls * 1_000, "llm.max_tokens per call: {text}");
    let cost = (input as f64 * 1.0 + output as f64 * 2.0) / 1_000_000.0;
    let expected = format!("at most {}", summarybot::pricing::format_usd(cost));
    assert!(text.contains(&expected), "{expected} in:\n{text}");

    // The plan is what a real run does: as many calls as announced.
    let real = run(&[]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(fake.chat_requests().len() as u64, calls);

    let json = run(&["--dry-run", "--format", "json", "--topic", "wasm"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["messages"], 276);
    assert!(
        doc["messages_on_topic"].as_u64().is_some_and(|n| n < 100),
        "{doc}"
    );
    assert!(
        doc["estimated_cost_usd"].as_f64().is_some_and(|c| c > 0.0),
        "{doc}"
    );

    let builtin = run(&["--dry-run", "--provider", "builtin"]);
    let text = String::from_utf8_lossy(&builtin.stdout);
    assert!(
        text.contains("builtin (offline): no LLM call, no cost"),
        "{text}"
    );
    assert_eq!(
        fake.chat_requests().len() as u64,
        calls,
        "still nothing sent"
    );
}
