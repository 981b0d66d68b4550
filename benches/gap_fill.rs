//! Gap fill after downtime, with the real binary against the fake Discord and the builtin
//! summarizer: 100 stored channels (5 generated guilds × 20 channels) each missed 200 messages
//! while the bot was down. Prints the gap fill's wall time, REST requests and messages fetched
//! (from `/health`, checked against the fake's request log), and how soon `/summarize` is
//! answered meanwhile: one injected right after IDENTIFY and one injected once the gap fill's
//! first REST read arrived, each timed from process start and from injection.
//!
//! The fake's HTTP server (rouille/tiny_http) does not set TCP_NODELAY, so a large (chunked)
//! history page on a reused keep-alive connection waits ~40 ms for a delayed ACK; the bench
//! measures that stall on its own and prints how much of the fill it accounts for.
//!
//! Run with `cargo bench --bench gap_fill` (release figures are the ones that count).

#[path = "../tests/support/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "the bench uses part of the test harness and none of its unit tests"
)]
mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind, Timestamp, UserId,
};
use support::bot_process::BotProcess;
use support::fake_discord::{
    extra_guild_id, message, now_ms, slash_command, snowflake_at, FakeDiscord, RestCall, ALICE,
    APP_ID, BOB, GENERAL, TOKEN,
};
use support::webhook_http;

/// Generated guilds and text channels in each: 100 channels.
const GUILDS: u64 = 5;
const CHANNELS: u64 = 20;
/// Messages each channel missed while the bot was down.
const MISSED: u64 = 200;
const WAIT: Duration = Duration::from_secs(180);

/// Channel `j` of generated guild `i` (the fake's numbering).
fn channel_id(i: u64, j: u64) -> u64 {
    500_000_000_000_000_000 + i * 1000 + j
}

fn all_channels() -> impl Iterator<Item = (u64, u64)> {
    (1..=GUILDS).flat_map(|i| (0..CHANNELS).map(move |j| (i, j)))
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeDiscord::start_with_guilds(GUILDS, CHANNELS);
    let base = now_ms() - 3 * 3_600_000;
    seed_store(dir.path(), base);
    seed_missed(&fake, base);
    let port = webhook_http::free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let started = Instant::now();
    let mut bot = spawn(dir.path(), &fake, port);
    fake.wait_for_identify(WAIT).expect("the bot identified");
    let identified = started.elapsed();

    // Right after IDENTIFY (READY and the GUILD_CREATEs are on the socket before it).
    let first = summarize(&fake, 9_001);
    // Once the gap fill is under way: its first REST read has arrived.
    let gap_channels: HashSet<String> = all_channels()
        .map(|(i, j)| format!("/api/v10/channels/{}/messages", channel_id(i, j)))
        .collect();
    let is_gap_read = |c: &RestCall| c.method == "GET" && gap_channels.contains(&c.path);
    let first_read = fake
        .wait_for_call(WAIT, is_gap_read)
        .expect("the gap fill started");
    let second = summarize(&fake, 9_002);

    let report = wait_gap_fill(addr);
    let calls = fake.calls();
    let reads: Vec<&RestCall> = calls.iter().filter(|c| is_gap_read(c)).collect();
    let last_read = reads.last().map_or(first_read.at, |c| c.at);
    let hwm = vm_kib(bot.pid(), "VmHWM:");
    bot.stop();
    let line = bot
        .log()
        .lines()
        .find(|l| l.contains("gap fill finished"))
        .map_or_else(
            || "(no `gap fill finished` line logged)".to_owned(),
            str::to_owned,
        );

    let (fresh, reused) = fake_page_latency(&fake, channel_id(1, 0));
    let since_start = |at: Instant| at.duration_since(started).as_secs_f64() * 1000.0;
    println!(
        "gap fill, {} channels x {MISSED} missed messages ({GUILDS} guilds x {CHANNELS} channels, fake Discord on loopback):",
        GUILDS * CHANNELS
    );
    println!(
        "  duration_ms {} (from /health), channels_checked {}, channels_filled {}, messages {}, requests {}, incomplete {}",
        report["duration_ms"],
        report["channels_checked"],
        report["channels_filled"],
        report["messages"],
        report["requests"],
        report["incomplete"]
    );
    println!("  (channels_checked: also #general, covered by the first /summarize)");
    println!(
        "  fake Discord saw {} GET .../messages for those channels, the first at {:.0} ms and the last at {:.0} ms after process start ({:.0} ms apart) = {:.0} messages/s overall",
        reads.len(),
        since_start(first_read.at),
        since_start(last_read),
        last_read.duration_since(first_read.at).as_secs_f64() * 1000.0,
        report["messages"].as_f64().unwrap_or(0.0)
            / (report["duration_ms"].as_f64().unwrap_or(1.0).max(1.0) / 1000.0)
    );
    let (within, between) = gaps(&reads);
    println!(
        "  between consecutive reads: median {within:.1} ms within a channel (next page), {between:.1} ms from a channel's last page to the next channel's first"
    );
    // Every channel's first two pages are full (48 KB, chunked); the third holds one message.
    let full_pages = (MISSED / 100) * GUILDS * CHANNELS;
    let stall_ms = reused * full_pages as f64;
    println!(
        "  the fake alone serves such a full page (100 messages, ~48 KB, chunked) in {fresh:.1} ms on a new connection but {reused:.1} ms (median) on a reused keep-alive one: its HTTP server does not set TCP_NODELAY (Nagle + delayed ACK). The bot reuses its connection, so ~{:.1} s of the fill is that stall of the fake ({full_pages} full pages), leaving ~{:.2} s for the bot itself",
        stall_ms / 1000.0,
        (report["duration_ms"].as_f64().unwrap_or(0.0) - stall_ms).max(0.0) / 1000.0
    );
    println!("  log: {line}");
    println!(
        "  bot peak RSS (VmHWM) after the fill: {:.1} MiB",
        hwm as f64 / 1024.0
    );
    println!(
        "  IDENTIFY answered {:.0} ms after process start",
        identified.as_secs_f64() * 1000.0
    );
    for (label, t) in [
        ("injected right after IDENTIFY", &first),
        ("injected after the gap fill's first REST read", &second),
    ] {
        println!(
            "  /summarize {label}: deferred {:.1} ms and edited reply {:.1} ms after injection; reply {:.0} ms after process start{}",
            ms(t.deferred - t.injected),
            ms(t.edited - t.injected),
            since_start(t.edited),
            if t.edited < last_read {
                format!(
                    " ({:.0} ms before the gap fill's last REST read)",
                    ms(last_read - t.edited)
                )
            } else {
                " (after the gap fill's last REST read)".into()
            }
        );
    }
}

/// Median milliseconds between consecutive reads of the same channel, and between the last
/// read of one channel and the first of the next.
fn gaps(reads: &[&RestCall]) -> (f64, f64) {
    let (mut within, mut between) = (Vec::new(), Vec::new());
    for pair in reads.windows(2) {
        let gap = ms(pair[1].at - pair[0].at);
        if pair[0].path == pair[1].path {
            within.push(gap);
        } else {
            between.push(gap);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    (median(within), median(between))
}

/// Milliseconds the fake takes to serve a full history page of `channel`: on a new connection,
/// and the median of 10 more on the same keep-alive connection (the client sets TCP_NODELAY,
/// as the bot's HTTP client does).
fn fake_page_latency(fake: &FakeDiscord, channel: u64) -> (f64, f64) {
    let base = fake.api_base_url();
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_owned();
    let stream = TcpStream::connect(&host).expect("connect to the fake");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream);
    let request = format!(
        "GET /api/v10/channels/{channel}/messages?limit=100&before={} HTTP/1.1\r\nHost: {host}\r\n\r\n",
        u64::MAX / 2
    );
    let mut times = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .expect("send");
        let body = read_response(&mut reader);
        times.push(ms(t.elapsed()));
        assert!(body.len() > 10_000, "a full page");
    }
    let fresh = times.remove(0);
    times.sort_by(f64::total_cmp);
    (fresh, times[times.len() / 2])
}

/// One HTTP/1.1 response body (Content-Length or chunked).
fn read_response(r: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.trim().eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if !chunked {
        body.resize(length.unwrap_or(0), 0);
        r.read_exact(&mut body).expect("body");
        return body;
    }
    loop {
        let mut size = String::new();
        r.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        let mut chunk = vec![0; n + 2];
        r.read_exact(&mut chunk).expect("chunk");
        if n == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One older message per channel in the bot's database (and the channel's record), so every
/// channel counts as stored. The store is closed before the bot opens it.
fn seed_store(dir: &Path, base: u64) {
    let store = summarybot::store::Store::open(&dir.join("db/summarybot.redb")).expect("open db");
    let mut infos = Vec::new();
    let mut msgs = Vec::new();
    for (i, j) in all_channels() {
        let channel = channel_id(i, j);
        let guild = GuildId(extra_guild_id(i));
        infos.push(ChannelInfo {
            id: ChannelId(channel),
            guild_id: Some(guild),
            guild_name: Some(format!("Guild {i}")),
            name: format!("channel-{j}"),
            topic: None,
            parent_id: None,
        });
        msgs.push(ChatMessage {
            id: MessageId(snowflake_at(base, j)),
            channel_id: ChannelId(channel),
            guild_id: Some(guild),
            author: Author {
                id: UserId(ALICE),
                name: "alice".into(),
                display_name: None,
                is_bot: false,
            },
            timestamp: Timestamp(base as i64),
            edited_at: None,
            kind: MessageKind::Default,
            content: "seen live before the downtime".into(),
            reply_to: None,
            attachments: Vec::new(),
            reaction_count: 0,
            pinned: false,
        });
    }
    store.put_channels(&infos).expect("put channels");
    store.upsert_messages(&msgs).expect("upsert messages");
}

/// Discord's REST history of every channel: the stored message, then [`MISSED`] newer ones the
/// bot never saw (not dispatched on the gateway). GUILD_CREATE then carries the newest as
/// `last_message_id`.
fn seed_missed(fake: &FakeDiscord, base: u64) {
    const SUBJECTS: [&str; 5] = [
        "the deploy pipeline",
        "the release notes",
        "the database migration",
        "the login page",
        "the staging cluster",
    ];
    for (i, j) in all_channels() {
        let channel = channel_id(i, j);
        let guild = extra_guild_id(i).to_string();
        let mut list = Vec::new();
        let mut old = message(
            channel,
            snowflake_at(base, j),
            ALICE,
            "seen live before the downtime",
            base,
        );
        old["guild_id"] = json!(guild);
        list.push(old);
        for n in 0..MISSED {
            // One message every 10 s during the last ~hour of the downtime.
            let sent = base + 3_600_000 + n * 10_000;
            let author = if n % 2 == 0 { ALICE } else { BOB };
            let text = format!(
                "Message {n}: {} needs a review before friday, item {n}.",
                SUBJECTS[(n % 5) as usize]
            );
            let mut m = message(channel, snowflake_at(sent, n), author, &text, sent);
            m["guild_id"] = json!(guild);
            list.push(m);
        }
        fake.add_history(list);
    }
}

fn spawn(dir: &Path, fake: &FakeDiscord, port: u16) -> BotProcess {
    let config = format!(
        "[discord]\ntoken = \"{TOKEN}\"\napi_base_url = \"{}\"\ncooldown = \"0s\"\n\n\
         [llm]\nprovider = \"builtin\"\n\n[scheduler]\nenabled = false\n\n\
         [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\n\
         secret = \"0123456789abcdef0123456789abcdef-bench\"\n\n\
         [logging]\nlevel = \"INFO\"\n\n[storage]\npath = \"db/summarybot.redb\"\n",
        fake.api_base_url()
    );
    BotProcess::start(dir, &config)
}

/// When a `/summarize` was injected, deferred (interaction callback) and answered (edit).
struct Answered {
    injected: Instant,
    deferred: Instant,
    edited: Instant,
}

/// Inject `/summarize` in `#general` and wait for its callback and edited reply.
fn summarize(fake: &FakeDiscord, interaction: u64) -> Answered {
    let payload = slash_command(interaction, ALICE, GENERAL, &json!([]));
    let injected = Instant::now();
    fake.inject_interaction(&payload);
    let callback = format!("/api/v10/interactions/{interaction}/token-{interaction}/callback");
    let deferred = fake
        .wait_for_call(WAIT, |c| c.method == "POST" && c.path == callback)
        .expect("interaction callback");
    let edit = format!("/api/v10/webhooks/{APP_ID}/token-{interaction}/messages/@original");
    let edited = fake
        .wait_for_call(WAIT, |c| c.method == "PATCH" && c.path == edit)
        .expect("edited response");
    Answered {
        injected,
        deferred: deferred.at,
        edited: edited.at,
    }
}

/// Poll `/health` until the gap fill has finished; its report.
fn wait_gap_fill(addr: SocketAddr) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let fill = webhook_http::request(addr, "GET", "/health", &[], b"")
            .map_or(Value::Null, |r| r.json()["discord"]["gap_fill"].clone());
        if fill["running"] == false {
            return fill;
        }
        assert!(Instant::now() < deadline, "the gap fill did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `/proc/{pid}/status` figure in KiB (`VmRSS:`, `VmHWM:`).
fn vm_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
