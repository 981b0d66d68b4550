//! Bounded memory for huge windows (issue #15): what the real binary needs per message when it
//! summarizes a window with the builtin engine, from an export and from the store. Measured as
//! the growth of peak RSS between a small and a larger window of the same generated channel, so
//! the binary's fixed cost (code, runtime, allocator, the LLM's tokenizer) does not count. The
//! LLM engine runs against the fake OpenAI-compatible server on a real port.

#[path = "../benches/common/dce_export.rs"]
mod dce_export;
#[path = "support/fake_openai.rs"]
#[allow(dead_code, reason = "every call gets the default summary")]
mod fake_openai;
#[path = "../benches/common/peak.rs"]
#[allow(dead_code, reason = "the test reads peaks, not times")]
mod peak;
#[path = "../benches/common/rng.rs"]
#[allow(dead_code, reason = "the export generator uses a part of it")]
mod rng;

use std::path::Path;

use dce_export::{write_export, CHANNEL_ID};
use fake_openai::FakeOpenAi;
use peak::measure;

const BIN: &str = env!("CARGO_BIN_EXE_summarybot");
const SMALL: usize = 2_000;
const LARGE: usize = 16_000;
/// Most peak RSS a summary may add per message of the window. The generated messages carry
/// about 90 characters of text (about 1 KiB of export JSON); holding them as messages takes
/// about 0.35 KiB each, and the summary's working state must stay about as small again (it took
/// about 2.9 KiB a message when every message's and sentence's words were kept as strings).
const MAX_KIB_PER_MESSAGE: f64 = 1.6;

/// Most peak RSS an LLM summary may add per message of the window, from an export and from the
/// store (which holds more per message, as for the builtin). The map step sends only the newest
/// messages that fit `max_chunks` prompts (about 5,000 of these with the default 16,000-token
/// context), so beyond the messages themselves it holds little per message: about 0.41 and 0.73
/// KiB; it took 0.96 and 1.20 KiB when every message was copied (to withhold secrets) and
/// formatted as a prompt line.
const MAX_LLM_KIB_PER_MESSAGE: (f64, f64) = (0.65, 0.95);

const BUILTIN: [&str; 5] = ["--provider", "builtin", "--format", "json", "--no-cache"];

const LLM: [&str; 6] = [
    "--provider",
    "openai",
    "--format",
    "json",
    "--no-cache",
    "--no-fallback",
];

/// Peak RSS (KiB) of `summarize --input` and of `summarize --channel --all` after an import,
/// for a window of `messages`, with the builtin engine.
fn peaks(dir: &Path, messages: usize) -> (u64, u64) {
    peaks_with(dir, messages, &BUILTIN)
}

/// [`peaks`] with the engine `options` select.
fn peaks_with(dir: &Path, messages: usize, options: &[&str]) -> (u64, u64) {
    let work = dir.join(messages.to_string());
    std::fs::create_dir_all(&work).expect("case dir");
    let export = work.join("export.json");
    write_export(&export, messages, 0x5EED_0015_0000_0001 ^ messages as u64);
    let export = export.to_str().expect("utf-8 path");
    let bin = Path::new(BIN);

    let mut args = vec!["summarize", "--input", export];
    args.extend(options);
    let from_export = measure(bin, &work, &args);
    assert_eq!(summarized(&from_export.stdout), messages);

    measure(bin, &work, &["import", export]);
    let channel = CHANNEL_ID.to_string();
    let mut args = vec!["summarize", "--channel", &channel, "--all"];
    args.extend(options);
    let from_store = measure(bin, &work, &args);
    assert_eq!(summarized(&from_store.stdout), messages);
    (from_export.peak_kib, from_store.peak_kib)
}

fn summarized(stdout: &[u8]) -> usize {
    let json: serde_json::Value = serde_json::from_slice(stdout).expect("summary JSON");
    usize::try_from(json["message_count"].as_u64().expect("message_count")).expect("fits")
}

#[test]
fn a_summary_adds_little_memory_per_message_from_an_export_and_from_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (export_small, store_small) = peaks(dir.path(), SMALL);
    let (export_large, store_large) = peaks(dir.path(), LARGE);
    let per_message =
        |small: u64, large: u64| large.saturating_sub(small) as f64 / (LARGE - SMALL) as f64;
    let export = per_message(export_small, export_large);
    let store = per_message(store_small, store_large);
    assert!(
        export <= MAX_KIB_PER_MESSAGE,
        "summarize --input: {export:.2} KiB per message ({export_small} KiB at {SMALL}, \
         {export_large} KiB at {LARGE})"
    );
    assert!(
        store <= MAX_KIB_PER_MESSAGE,
        "summarize --channel: {store:.2} KiB per message ({store_small} KiB at {SMALL}, \
         {store_large} KiB at {LARGE})"
    );
}

#[test]
fn an_llm_summary_adds_little_memory_per_message_from_an_export_and_from_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeOpenAi::start();
    let config = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmax_retries = 1\n",
        fake.base_url()
    );
    for n in [SMALL, LARGE] {
        let work = dir.path().join(n.to_string());
        std::fs::create_dir_all(&work).expect("case dir");
        std::fs::write(work.join("summarybot.toml"), &config).expect("config");
    }
    let (export_small, store_small) = peaks_with(dir.path(), SMALL, &LLM);
    let calls_small = fake.chat_requests().len();
    let (export_large, store_large) = peaks_with(dir.path(), LARGE, &LLM);
    assert!(
        fake.chat_requests().len() > calls_small + 2,
        "the larger window is summarized map-reduce (calls: {calls_small} for both small runs, {} in all)",
        fake.chat_requests().len()
    );
    let per_message =
        |small: u64, large: u64| large.saturating_sub(small) as f64 / (LARGE - SMALL) as f64;
    let export = per_message(export_small, export_large);
    let store = per_message(store_small, store_large);
    eprintln!(
        "LLM: export {export_small} -> {export_large} KiB ({export:.2} KiB/message), store \
         {store_small} -> {store_large} KiB ({store:.2} KiB/message)"
    );
    assert!(
        export <= MAX_LLM_KIB_PER_MESSAGE.0,
        "LLM summarize --input: {export:.2} KiB per message ({export_small} KiB at {SMALL}, \
         {export_large} KiB at {LARGE})"
    );
    assert!(
        store <= MAX_LLM_KIB_PER_MESSAGE.1,
        "LLM summarize --channel: {store:.2} KiB per message ({store_small} KiB at {SMALL}, \
         {store_large} KiB at {LARGE})"
    );
}
