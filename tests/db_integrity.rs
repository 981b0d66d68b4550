//! A damaged database file is refused before anything reads it, never a panic later; `db
//! verify` tells a good file from a damaged one; `db backup` makes a copy that restores, with the
//! service stopped and while it runs. Corrupted copies are made here from a real database.

mod support;

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use chrono::NaiveDate;
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind, TimeWindow,
    Timestamp, TokenUsage, UserId,
};
use summarybot::store::{Span, Store, StoreError};
use summarybot::webhook::signature;
use support::bot_process::BotProcess;
use support::webhook_http as http;

const CHANNELS: u64 = 4;
const PER_CHANNEL: u64 = 5_000;
const SECRET: &str = "0123456789abcdef0123456789abcdef-integrity";

fn message(channel: u64, n: u64) -> ChatMessage {
    ChatMessage {
        id: MessageId(channel * 1_000_000 + n),
        channel_id: ChannelId(channel),
        guild_id: Some(GuildId(1)),
        author: Author {
            id: UserId(n % 9 + 1),
            name: format!("user{}", n % 9),
            display_name: Some(format!("User {}", n % 9)),
            is_bot: false,
        },
        timestamp: Timestamp(1_700_000_000_000 + n as i64 * 60_000),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!("message {n} {}", "with words ".repeat((n % 40) as usize)),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: (n % 3) as u32,
        pinned: false,
    }
}

fn everything() -> TimeWindow {
    TimeWindow {
        start: Timestamp(i64::MIN),
        end: Timestamp(i64::MAX),
    }
}

/// A database with something in most tables, closed cleanly; its message count.
fn real_database(path: &Path) -> u64 {
    let store = Store::open(path).expect("create");
    for channel in 1..=CHANNELS {
        store
            .put_channel(&ChannelInfo {
                name: format!("channel-{channel}"),
                ..ChannelInfo::unknown(ChannelId(channel), Some(GuildId(1)))
            })
            .expect("channel");
        for chunk in (0..PER_CHANNEL).step_by(1000) {
            let batch: Vec<_> = (chunk..chunk + 1000).map(|n| message(channel, n)).collect();
            store
                .ingest_messages(&batch, Timestamp(1_700_000_000_000))
                .expect("ingest");
        }
        store
            .put_coverage(&[(
                ChannelId(channel),
                Span {
                    since: Timestamp(0),
                    through: Timestamp(1),
                },
            )])
            .expect("coverage");
    }
    for i in 0..200 {
        let job = store
            .enqueue_job("summary_request", &format!("{{\"n\":{i}}}"), Timestamp(i))
            .expect("enqueue");
        if i % 2 == 0 {
            store
                .complete_job(job.id, "{\"ok\":true}", Timestamp(i + 1))
                .expect("complete");
        }
        store
            .claim_idempotency_key(
                &format!("webhook:{i}"),
                &job.id.to_string(),
                Timestamp(i64::MAX / 2),
                Timestamp(i),
            )
            .expect("key");
    }
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("day");
    store
        .add_usage(
            Some(GuildId(1)),
            day,
            "openai",
            "gpt-4o-mini",
            TokenUsage {
                prompt_tokens: 1000,
                completion_tokens: 200,
            },
        )
        .expect("usage");
    store.record_summary_latency(day, 1800).expect("latency");
    store.close().expect("clean close");
    CHANNELS * PER_CHANNEL
}

/// Copies of `bytes` damaged as a disk or a bad copy would: 8 bytes flipped at 20 offsets across
/// the file, one byte in each of 4 header spots, and 4 truncations.
fn damaged_copies(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let len = bytes.len();
    let mut copies = Vec::new();
    for k in 0..20 {
        let at = 4096 + (len - 4096) * k / 20 + 137;
        let mut copy = bytes.to_vec();
        for b in &mut copy[at..(at + 8).min(len)] {
            *b ^= 0xff;
        }
        copies.push((format!("8 bytes flipped at {at}"), copy));
    }
    for at in [64, 300, 700, 2000] {
        let mut copy = bytes.to_vec();
        copy[at] ^= 0x10;
        copies.push((format!("header byte {at} flipped"), copy));
    }
    for percent in [5, 50, 90, 99] {
        copies.push((
            format!("truncated to {percent}%"),
            bytes[..len * percent / 100].to_vec(),
        ));
    }
    copies
}

/// Read every table the way the service does, and copy every row; the rows per table.
fn read_everything(store: &Store, scratch: &Path) -> Result<Vec<(String, u64)>, StoreError> {
    store.stats()?;
    assert!(store.check_consistency()?.is_ok());
    for channel in 1..=CHANNELS {
        store.messages_in(ChannelId(channel), everything())?;
    }
    store.channels()?;
    store.recent_jobs(1000)?;
    store.schedules()?;
    let _ = std::fs::remove_file(scratch);
    Ok(store.backup_to(scratch)?.tables)
}

#[test]
fn damaged_copies_are_refused_at_open_or_served_whole_without_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = dir.path().join("original.redb");
    real_database(&original);
    let bytes = std::fs::read(&original).expect("read");
    let expected = {
        let store = Store::open(&original).expect("open");
        let tables = store.stats().expect("stats").tables;
        store.close().expect("close");
        tables
    };
    let scratch = dir.path().join("scratch.redb");
    let (mut refused, mut served) = (0, 0);
    for (what, copy) in damaged_copies(&bytes) {
        let path = dir.path().join("damaged.redb");
        std::fs::write(&path, &copy).expect("write copy");
        let outcome = catch_unwind(AssertUnwindSafe(|| match Store::open_verified(&path) {
            Err(e) => Err(e),
            Ok(store) => Ok(read_everything(&store, &scratch)),
        }))
        .unwrap_or_else(|_| panic!("{what}: panicked"));
        match outcome {
            Err(e) => {
                refused += 1;
                assert!(
                    matches!(
                        e,
                        StoreError::Corrupt { .. } | StoreError::NotADatabase { .. }
                    ),
                    "{what}: {e:?}"
                );
                let text = e.to_string();
                assert!(
                    text.contains("restore a backup made with `summarybot db backup`")
                        || text.contains("move the file away"),
                    "{what}: {text}"
                );
            }
            // Served only when the damage missed everything stored (free pages, unused bytes).
            Ok(tables) => {
                served += 1;
                assert_eq!(tables.expect("every row reads"), expected, "{what}");
            }
        }
    }
    println!("{refused} damaged copies refused at open, {served} served whole");
    assert!(refused >= 20, "only {refused} refused");
}

/// Run the real binary in `dir` with `args`.
fn summarybot(dir: &Path, args: &[&str]) -> Output {
    support::summarybot(dir)
        .args(args)
        .output()
        .expect("run summarybot")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Config for `dir`: the database at `db/summarybot.redb`, Discord off, the webhook on `port`.
fn write_config(dir: &Path, port: u16) -> String {
    let config = format!(
        "[discord]\nenabled = false\n[scheduler]\nenabled = false\n\
         [storage]\npath = \"db/summarybot.redb\"\nretention_days = 0\n\
         [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n"
    );
    std::fs::write(dir.join("summarybot.toml"), &config).expect("config");
    config
}

/// A damaged copy that a plain open accepts (the damage is in stored pages, found only by their
/// checksums), the kind that used to be served until a read panicked or returned wrong data.
fn quietly_damaged(bytes: &[u8]) -> Vec<u8> {
    let len = bytes.len();
    let mut copy = bytes.to_vec();
    // Messages fill most of the file: the middle is message pages.
    for b in &mut copy[len / 2..len / 2 + 8] {
        *b ^= 0xff;
    }
    copy
}

#[test]
fn run_refuses_a_damaged_file_and_says_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let db = dir.path().join("db").join("summarybot.redb");
    real_database(&db);
    let damaged = quietly_damaged(&std::fs::read(&db).expect("read"));
    std::fs::write(&db, &damaged).expect("damage");
    {
        let plain = Store::open(&db).expect("a plain open does not notice");
        drop(plain);
        std::fs::write(&db, &damaged).expect("damage again");
    }
    let config = write_config(dir.path(), http::free_port());
    let mut bot = BotProcess::start(dir.path(), &config);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code(), Some(1), "{}", bot.log());
    let log = bot.log();
    assert!(log.contains("is damaged"), "{log}");
    assert!(log.contains("summarybot db backup"), "{log}");
    assert!(log.contains("move the file away"), "{log}");
}

#[test]
fn db_verify_passes_a_good_file_and_fails_a_damaged_or_missing_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let db = dir.path().join("db").join("summarybot.redb");
    let messages = real_database(&db);
    write_config(dir.path(), http::free_port());

    let good = summarybot(dir.path(), &["db", "verify"]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    let out = text(&good.stdout);
    assert!(out.contains("every checksum matches"), "{out}");
    assert!(out.contains(&format!("{messages} messages")), "{out}");
    assert!(out.contains("indexes:   consistent"), "{out}");
    assert!(
        out.contains("schedules,") && out.contains("channels"),
        "{out}"
    );

    let damaged = dir.path().join("damaged.redb");
    std::fs::write(
        &damaged,
        quietly_damaged(&std::fs::read(&db).expect("read")),
    )
    .expect("write");
    let bad = summarybot(dir.path(), &["db", "verify", "damaged.redb"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(err.contains("damaged.redb failed verification"), "{err}");
    assert!(err.contains("summarybot db backup"), "{err}");

    let missing = summarybot(dir.path(), &["db", "verify", "nothing-here.redb"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("there is no such file"),
        "{}",
        text(&missing.stderr)
    );
    assert!(!dir.path().join("nothing-here.redb").exists());
}

fn message_count(path: &Path) -> u64 {
    let store = Store::open_verified(path).expect("the backup opens verified");
    let count = (1..=CHANNELS)
        .map(|c| store.message_count(ChannelId(c)).expect("count"))
        .sum();
    store.close().expect("close");
    count
}

#[test]
fn db_backup_copies_a_stopped_and_a_running_database_and_the_copy_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let db = dir.path().join("db").join("summarybot.redb");
    let messages = real_database(&db);
    let port = http::free_port();
    let config = write_config(dir.path(), port);

    let offline = summarybot(dir.path(), &["db", "backup", "offline.redb"]);
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    assert!(
        text(&offline.stdout).contains("copied from the database file"),
        "{}",
        text(&offline.stdout)
    );
    assert_eq!(message_count(&dir.path().join("offline.redb")), messages);
    let again = summarybot(dir.path(), &["db", "backup", "offline.redb"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut bot = BotProcess::start(dir.path(), &config);
    bot.wait_healthy(addr);
    // The route wants a fresh, signed request.
    let unsigned = http::request(addr, "POST", "/admin/backup?at=1", &[], b"").expect("post");
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    let stale = "/admin/backup?at=1";
    let sig = signature::sign_header(SECRET.as_bytes(), stale.as_bytes());
    let refused =
        http::request(addr, "POST", stale, &[("X-Signature-256", &sig)], b"").expect("post");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.body.contains("timestamp_tolerance"),
        "{}",
        refused.body
    );

    // The service answers with a file name only; the copy stays in its data directory.
    let fresh = format!("/admin/backup?at={}", Timestamp::now().0 / 1000);
    let sig = signature::sign_header(SECRET.as_bytes(), fresh.as_bytes());
    let answer =
        http::request(addr, "POST", &fresh, &[("X-Signature-256", &sig)], b"").expect("post");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let name = answer.json()["file"].as_str().expect("file").to_string();
    assert!(dir.path().join("db").join(&name).is_file(), "{name}");

    let online = summarybot(dir.path(), &["db", "backup", "online.redb"]);
    assert!(
        online.status.success(),
        "{}\n{}",
        text(&online.stderr),
        bot.log()
    );
    let out = text(&online.stdout);
    assert!(out.contains("copied by the running service"), "{out}");
    assert!(out.contains(&format!("{messages} messages")), "{out}");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path().join("db"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p != &db && !p.ends_with("summarybot.sock"))
        .collect();
    // Beside the database: the service's control socket, no copy.
    assert!(
        leftovers.is_empty(),
        "left beside the database: {leftovers:?}"
    );
    bot.stop();

    // Restore: the backup replaces the file, and the appliance runs on it.
    std::fs::rename(&db, dir.path().join("old.redb")).expect("move away");
    std::fs::copy(dir.path().join("online.redb"), &db).expect("restore");
    let mut restored = BotProcess::start(dir.path(), &config);
    restored.wait_healthy(addr);
    restored.stop();
    assert_eq!(message_count(&db), messages);
}
