//! Time and peak memory of summarizing a huge window with the builtin engine, through the real
//! binary: `summarize --input EXPORT` and, after `import EXPORT`, `summarize --channel ID --all`,
//! at 10,000 and 100,000 messages. Each case is its own process, so each has its own peak
//! (VmHWM, from GNU time's maximum RSS when `/usr/bin/time` exists, else sampled from
//! `/proc/PID/status` every millisecond).
//!
//! The export is generated (seeded, so every run sees the same file) in DiscordChatExporter's
//! JSON format with every field DCE writes, chat-like message lengths (many short lines, some
//! paragraphs and code blocks) and a vocabulary that grows with the window (issue numbers,
//! versions, paths).
//!
//! The same two cases then run with the LLM engine (`--provider openai`, the default
//! `llm.*` settings: gpt-4o-mini, 16,000-token context) against the fake OpenAI-compatible
//! server of the tests (`tests/support/fake_openai.rs`) on a real port; the table says how many
//! chat calls each made and how many messages `--dry-run` says are sent.
//!
//! Run with `cargo bench --bench window_memory [-- --bin PATH] [SIZES...]`, e.g.
//! `cargo bench --bench window_memory -- --bin target/dist/summarybot 10000 100000`; `--keep`
//! leaves the exports and databases in place (for heaptrack and friends).

use std::path::{Path, PathBuf};

/// Window sizes measured when none are given.
const DEFAULT_SIZES: [usize; 2] = [10_000, 100_000];

#[path = "common/dce_export.rs"]
mod dce_export;
#[path = "../tests/support/fake_openai.rs"]
#[allow(
    dead_code,
    reason = "the benchmark answers every call with the default summary"
)]
mod fake_openai;
#[path = "common/peak.rs"]
mod peak;
#[path = "common/rng.rs"]
#[allow(dead_code, reason = "each benchmark uses a part of it")]
mod rng;
use dce_export::{write_export, CHANNEL_ID};
use fake_openai::FakeOpenAi;
use peak::{measure, Run};
use summarybot::config::DEFAULT_MAX_WINDOW_MESSAGES;

/// The summary's message count and how many older messages it left out, checked so a case
/// cannot pass by summarizing nothing.
fn message_count(run: &Run) -> (u64, u64) {
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("summary JSON");
    let count = json["message_count"].as_u64().expect("message_count");
    (count, json["left_out"].as_u64().unwrap_or(0))
}

/// What a window of `n` messages is summarized from with the default
/// `summary.max_window_messages`: its newest messages, and how many older ones are left out.
fn expected(n: usize) -> (u64, u64) {
    let read = n.min(DEFAULT_MAX_WINDOW_MESSAGES);
    (read as u64, (n - read) as u64)
}

fn report(case: &str, messages: usize, run: &Run) {
    report_with(case, messages, run, "");
}

fn report_with(case: &str, messages: usize, run: &Run, calls: &str) {
    println!(
        "| {case} | {messages} | {:.2} s | {:.1} MiB | {calls} |",
        run.wall.as_secs_f64(),
        run.peak_kib as f64 / 1024.0
    );
}

/// Point the binary run in `work` at `fake` (LLM settings otherwise the defaults).
fn write_llm_config(work: &Path, fake: &FakeOpenAi) {
    let config = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmax_retries = 1\n",
        fake.base_url()
    );
    std::fs::write(work.join("summarybot.toml"), config).expect("write config");
}

/// `summarize ARGS` with the LLM engine, measured; its chat calls and the messages `--dry-run`
/// says it sends (`sent of window, N calls`).
fn measure_llm(
    bin: &Path,
    work: &Path,
    fake: &FakeOpenAi,
    args: &[&str],
    n: usize,
) -> (Run, String) {
    let llm = [
        "--provider",
        "openai",
        "--format",
        "json",
        "--no-cache",
        "--no-fallback",
    ];
    let mut dry = args.to_vec();
    dry.extend(llm);
    dry.push("--dry-run");
    let plan: serde_json::Value =
        serde_json::from_slice(&measure(bin, work, &dry).stdout).expect("dry-run JSON");
    let omitted = plan["omitted_oldest"].as_u64().expect("omitted_oldest");
    let before = fake.chat_requests().len();
    let mut full = args.to_vec();
    full.extend(llm);
    let run = measure(bin, work, &full);
    assert_eq!(message_count(&run), expected(n), "the window is reported");
    let calls = fake.chat_requests().len() - before;
    let sent = expected(n).0 - omitted;
    let note = format!("{sent} of {n} messages sent, {calls} calls");
    (run, note)
}

fn main() {
    let mut bin = PathBuf::from(env!("CARGO_BIN_EXE_summarybot"));
    let mut sizes: Vec<usize> = Vec::new();
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bin" => bin = PathBuf::from(args.next().expect("--bin PATH")),
            "--bench" => {}
            "--keep" => keep = true,
            n => sizes.push(n.replace(['_', ','], "").parse().expect("a window size")),
        }
    }
    if sizes.is_empty() {
        sizes = DEFAULT_SIZES.to_vec();
    }
    let bin = std::fs::canonicalize(&bin).expect("the binary exists");
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "window memory: {} (peak RSS {})",
        bin.display(),
        if Path::new("/usr/bin/time").exists() {
            "= GNU time's maximum RSS"
        } else {
            "= VmHWM sampled every 1 ms"
        }
    );
    println!("| case | messages | time | peak RSS | LLM |");
    println!("|---|---|---|---|---|");
    let fake = FakeOpenAi::start();
    for &n in &sizes {
        let work = dir.path().join(n.to_string());
        std::fs::create_dir_all(&work).expect("case dir");
        let export = work.join("export.json");
        let (text, median) = write_export(&export, n, 0x5EED_0015_0000_0001 ^ n as u64);
        let size = std::fs::metadata(&export).map_or(0, |m| m.len());
        let export = export.to_str().expect("utf-8 path");
        eprintln!(
            "{n} messages: export {:.1} MB, text {:.1} MB (mean {} chars, median {median})",
            size as f64 / 1e6,
            text as f64 / 1e6,
            text / n.max(1)
        );
        let builtin = ["--provider", "builtin", "--format", "json", "--no-cache"];
        let mut args = vec!["summarize", "--input", export];
        args.extend(builtin);
        let run = measure(&bin, &work, &args);
        assert_eq!(
            message_count(&run),
            expected(n),
            "the newest messages summarized"
        );
        report("`summarize --input` (export)", n, &run);

        let import = measure(&bin, &work, &["import", export]);
        report("`import` (for the store case)", n, &import);
        let channel = CHANNEL_ID.to_string();
        let mut args = vec!["summarize", "--channel", &channel, "--all"];
        args.extend(builtin);
        let run = measure(&bin, &work, &args);
        assert_eq!(
            message_count(&run),
            expected(n),
            "the newest messages summarized"
        );
        report("`summarize --channel --all` (store)", n, &run);

        write_llm_config(&work, &fake);
        let (run, note) = measure_llm(&bin, &work, &fake, &["summarize", "--input", export], n);
        report_with("LLM: `summarize --input` (export)", n, &run, &note);
        let args = ["summarize", "--channel", &channel, "--all"];
        let (run, note) = measure_llm(&bin, &work, &fake, &args, n);
        report_with("LLM: `summarize --channel --all` (store)", n, &run, &note);
        if !keep {
            let _ = std::fs::remove_dir_all(&work);
        }
    }
    if keep {
        eprintln!("exports and databases kept in {}", dir.keep().display());
    }
}
