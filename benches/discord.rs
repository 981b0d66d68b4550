//! Discord bot figures against the fake Discord, with the real binary and the builtin
//! summarizer: idle RSS connected to 101 guilds × 20 channels, `/summarize` latency on a cached
//! window (interaction injected → edited response received), and gateway ingest throughput.
//!
//! Run with `cargo bench --bench discord` (release figures are the ones that count); set
//! `SUMMARYBOT_BIN` to measure another build of the binary, such as the shipped `dist` one.

#[path = "../tests/support/fake_discord.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "the bench uses part of the fake's API and none of its unit tests"
)]
mod fake_discord;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_discord::{
    now_ms, slash_command, snowflake_at, FakeDiscord, ALICE, APP_ID, GENERAL, TOKEN,
};
use serde_json::json;
use summarybot::model::{ChannelId, TimeWindow, Timestamp};

const GUILDS: u64 = 101;
const CHANNELS: u64 = 20;
const WAIT: Duration = Duration::from_secs(120);

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start_with_guilds(GUILDS - 1, CHANNELS);
    let mut child = spawn(dir.path(), &fake);
    fake.wait_for_identify(WAIT).expect("the bot identified");
    fake.wait_for_call(WAIT, |c| c.method == "PUT" && c.path.ends_with("/commands"))
        .expect("commands registered");

    let rss = settle_rss(child.id());
    println!(
        "discord idle RSS, {GUILDS} guilds x {CHANNELS} channels: {:.1} MiB (target <= 18 MiB; heap and stacks {:.1} MiB, mapped binary {:.1} MiB), {} threads",
        rss as f64 / 1024.0,
        status_field(child.id(), "RssAnon:") as f64 / 1024.0,
        status_field(child.id(), "RssFile:") as f64 / 1024.0,
        status_field(child.id(), "Threads:")
    );

    let latency = cached_summarize_latency(&fake);
    println!(
        "discord /summarize on a cached window, interaction to edited response: median {:.1} ms, max {:.1} ms (target <= 100 ms)",
        latency.0, latency.1
    );

    let (count, elapsed) = ingest_throughput(&fake, &mut child, dir.path());
    println!(
        "discord ingest through the gateway: {count} messages stored in {:.2} s = {:.0} messages/s (until a probe command saw them stored)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}

fn spawn(dir: &Path, fake: &FakeDiscord) -> Child {
    let config = format!(
        "[discord]\ntoken = \"{TOKEN}\"\napi_base_url = \"{}\"\ncooldown = \"0s\"\n\n\
         [llm]\nprovider = \"builtin\"\n\n[scheduler]\nenabled = false\n\n\
         [logging]\nlevel = \"WARN\"\n\n[storage]\npath = \"db/summarybot.redb\"\n",
        fake.api_base_url()
    );
    std::fs::write(dir.join("summarybot.toml"), config).expect("write config");
    // SUMMARYBOT_BIN measures another build (e.g. the shipped `dist` musl binary).
    let bin = std::env::var_os("SUMMARYBOT_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_summarybot").into());
    Command::new(bin)
        .arg("run")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn summarybot run")
}

/// Resident set size in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// A number from `/proc/{pid}/status` (its first word after `field`), 0 when unknown.
fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// RSS once it stopped changing by more than 1% for two seconds (the guilds are processed).
fn settle_rss(pid: u32) -> u64 {
    let deadline = Instant::now() + WAIT;
    let mut last = rss_kib(pid);
    let mut stable_since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let now = rss_kib(pid);
        if now.abs_diff(last) * 100 > last {
            stable_since = Instant::now();
        }
        last = now;
        if stable_since.elapsed() >= Duration::from_secs(2) {
            break;
        }
    }
    last
}

/// Median and max milliseconds from injecting `/summarize` to the edited response, cache warm.
fn cached_summarize_latency(fake: &FakeDiscord) -> (f64, f64) {
    for i in 0..200u64 {
        let id = snowflake_at(now_ms() - 3_000_000 + i * 1000, i);
        let text = format!("Message {i}: we discussed the release plan and item {i} of the list.");
        fake.inject_message(GENERAL, id, ALICE, &text);
    }
    let mut times = Vec::new();
    for n in 0..11u64 {
        let interaction = 9_000 + n;
        let payload = slash_command(interaction, ALICE, GENERAL, &json!([]));
        let sent = Instant::now();
        fake.inject_interaction(&payload);
        let path = format!("/api/v10/webhooks/{APP_ID}/token-{interaction}/messages/@original");
        let edit = fake
            .wait_for_call(WAIT, |c| c.method == "PATCH" && c.path == path)
            .expect("edited response");
        if n > 0 {
            // The first run fills the cache (and backfills); the rest are served from it.
            times.push(edit.at.duration_since(sent).as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1])
}

/// Inject messages as fast as the socket takes them; a `!summary` probe after them is answered
/// once everything queued before it is stored (summaries flush the ingest queue first). Then
/// stop the bot and count what was stored.
fn ingest_throughput(fake: &FakeDiscord, child: &mut Child, dir: &Path) -> (usize, Duration) {
    const N: u64 = 20_000;
    let channel = 500_000_000_000_000_000 + 1000; // channel-0 of generated guild 1
    let started = Instant::now();
    let base = now_ms() - 600_000;
    for i in 0..N {
        let id = snowflake_at(base + i / 100, i);
        fake.inject_message(channel, id, ALICE, "ingest throughput message");
    }
    let before = fake.calls().len();
    fake.inject_message(GENERAL, snowflake_at(now_ms(), 7), ALICE, "!summary 1");
    fake.wait_for_calls(WAIT, 1, |c| {
        c.method == "POST" && c.path.ends_with(&format!("/channels/{GENERAL}/messages"))
    });
    let elapsed = started.elapsed();
    assert!(fake.calls().len() > before, "the probe was not answered");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0));
    let store = summarybot::store::Store::open(&dir.join("db/summarybot.redb")).expect("open db");
    let all = TimeWindow {
        start: Timestamp(0),
        end: Timestamp(i64::MAX),
    };
    let stored = store
        .messages_in(ChannelId(channel), all)
        .expect("read")
        .len();
    (stored, elapsed)
}
