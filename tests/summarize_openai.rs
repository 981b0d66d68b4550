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
    summarize_file_command(dir, fake, context_tokens, SAMPLE, extra)
}

/// [`summarize_command`] for another export file.
fn summarize_file_command(
    dir: &Path,
    fake: &FakeOpenAi,
    context_tokens: u32,
    input: &str,
    extra: &[&str],
) -> Command {
    let config = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"llama3.1\"\n\
         timeout = \"2s\"\nmax_retries = 1\ncontext_tokens = {context_tokens}\n",
        fake.base_url()
    );
    std::fs::write(dir.join("summarybot.toml"), config).expect("write config");
    let mut command = support::summarybot(dir);
    command.args(["summarize", "--input", input]).args(extra);
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

#[test]
fn an_answer_with_german_headings_keeps_its_sections_and_is_shown_in_german() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::Reply(
        "## Wichtigste Diskussionspunkte\n- Das Release wurde besprochen [m1]\n\n\
         ## Wichtige Entscheidungen/Ergebnisse\n- WASM statt Lua [m2]\n\n\
         ## Aufgaben\n- Changelog schreiben [m3]\n\n\
         ## Technische Details\n- Timeout auf 30s [m4]\n"
            .into(),
    ));
    let out = summarize(
        dir.path(),
        &fake,
        &["--language", "German", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let sections: Vec<(&str, &str)> = json["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap_or(""),
                s["points"][0]["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        sections,
        [
            ("key_points", "Das Release wurde besprochen"),
            ("decisions", "WASM statt Lua"),
            ("action_items", "Changelog schreiben"),
            ("technical", "Timeout auf 30s"),
        ],
        "{json}"
    );
    assert_eq!(json["sections"][2]["title"], "Aufgaben");
    let prompt = fake.chat_requests()[0].prompt_text();
    assert!(
        prompt.contains("Write the summary in German, headings included")
            && prompt.contains("## Aufgaben (for Action Items)"),
        "{prompt}"
    );
}

#[test]
fn japanese_and_unknown_languages_reach_the_prompt_and_the_headings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::Reply(
        "## 主な議論のポイント\n- リリースについて議論 [m1]\n## アクションアイテム\n- 変更履歴を書く [m2]\n"
            .into(),
    ));
    let out = summarize(dir.path(), &fake, &["--language", "ja"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("## 主な議論のポイント\n- リリースについて議論"),
        "{text}"
    );
    assert!(
        text.contains("## アクションアイテム\n- 変更履歴を書く"),
        "{text}"
    );

    // Unknown language: asked for in the prompt, English headings kept and parsed, and no
    // "keeps English" note (the LLM wrote in the language).
    let out = summarize(dir.path(), &fake, &["--language", "Klingon"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("## Important Decisions/Outcomes"), "{text}");
    assert!(!text.contains("stays in English"), "{text}");
    let prompt = fake.chat_requests()[1].prompt_text();
    assert!(
        prompt.contains("Write the summary in Klingon, but keep the headings"),
        "{prompt}"
    );
}

/// The sample export cut to its first `keep` messages, with `contents[i]` replacing the text of
/// message `i`, written to `dir/name`.
fn export_with(dir: &Path, name: &str, keep: usize, contents: &[&str]) -> String {
    let text = std::fs::read_to_string(SAMPLE).expect("sample");
    let mut export: serde_json::Value = serde_json::from_str(&text).expect("sample json");
    let messages = export["messages"].as_array_mut().expect("messages");
    messages.truncate(keep);
    for (message, content) in messages.iter_mut().zip(contents) {
        message["content"] = serde_json::Value::String((*content).to_string());
    }
    let path = dir.join(name);
    std::fs::write(&path, export.to_string()).expect("write export");
    path.to_string_lossy().into_owned()
}

#[test]
fn secrets_never_reach_the_llm_and_the_footer_counts_them() {
    const SECRETS: [&str; 5] = [
        "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        "hunter2hunter2",
        "Tr0ub4dor3",
        "AKIAIOSFODNN7EXAMPLE",
        "mara.k@example.org",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let input = export_with(
        dir.path(),
        "secrets.json",
        12,
        &[
            "CI token for the release job: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
            "db is up, DB_PASSWORD=hunter2hunter2 for now",
            "hook: https://deploy:Tr0ub4dor3@ci.example.com/hook",
            "aws key AKIAIOSFODNN7EXAMPLE, mail mara.k@example.org for access",
        ],
    );
    let fake = FakeOpenAi::start();
    let out = summarize_file_command(dir.path(), &fake, 128_000, &input, &[])
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: String = fake
        .chat_requests()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    for secret in SECRETS {
        assert!(!body.contains(secret), "{secret} was sent to the LLM");
    }
    for placeholder in [
        "[token withheld]",
        "DB_PASSWORD=[password withheld]",
        "https://deploy:***@ci.example.com/hook",
        "[email withheld]",
    ] {
        assert!(body.contains(placeholder), "no {placeholder} in {body}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("_5 secrets withheld from the LLM_"), "{text}");

    // E-mail addresses are sent when the operator says so; the rest stays withheld, in German.
    let fake = FakeOpenAi::start();
    let out = summarize_file_command(dir.path(), &fake, 128_000, &input, &["--language", "de"])
        .env("SUMMARYBOT_LLM__WITHHOLD_EMAILS", "false")
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: String = fake
        .chat_requests()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert!(body.contains("mara.k@example.org"), "{body}");
    assert!(!body.contains("hunter2hunter2"), "{body}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("_4 Geheimnisse dem LLM vorenthalten_"),
        "{text}"
    );
}

#[test]
fn a_decision_credited_to_someone_outside_its_cited_messages_is_credited_to_their_authors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = export_with(
        dir.path(),
        "credit.json",
        6,
        &["Decision: lazy-loading waits for 0.9.1", "", "sounds good"],
    );
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::Reply(
        "## Important Decisions/Outcomes\n\
         - **Zed** decided that lazy-loading waits for 0.9.1 [m1]\n\
         - **Sam** agreed to it [m3]\n\
         - **Zed** will announce it [m99]\n\
         ## Key Discussion Points\n\
         - Tobias decided the release date [m1]\n"
            .into(),
    ));
    let out = summarize_file_command(dir.path(), &fake, 128_000, &input, &["--format", "json"])
        .env("LOG_LEVEL", "warn")
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let texts = |i: usize| -> Vec<String> {
        json["sections"][i]["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| p["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        texts(0),
        ["Mara (maintainer) decided the release date"],
        "{json}"
    );
    assert_eq!(
        texts(1),
        [
            "**Mara (maintainer)** decided that lazy-loading waits for 0.9.1",
            "**Sam** agreed to it",
        ],
        "{json}"
    );
    assert!(!json.to_string().contains("Zed"), "{json}");
    // Logged with the bullet's position, never its text.
    assert!(
        stderr.contains("credited the cited authors instead"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bullet=1") || stderr.contains("\"bullet\":1"),
        "{stderr}"
    );
    assert!(!stderr.contains("Zed"), "{stderr}");
}
