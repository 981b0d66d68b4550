//! A full disk, for real: a small tmpfs is filled until the store's writes fail, then freed. The
//! store must refuse writes clearly while full, report itself failed, and take writes again once
//! space is back, without a restart and without losing what it held. Needs root for the mount;
//! each test prints `SKIPPED:` and returns without it.

mod support;

use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use summarybot::discord::ingest::{self, Op, HELD_MAX};
use summarybot::model::{
    Author, ChannelId, ChatMessage, MessageId, MessageKind, Timestamp, UserId,
};
use summarybot::store::{Store, StoreError};
use summarybot::webhook::signature;
use support::bot_process::BotProcess;
use support::tmpfs::Tmpfs;
use support::webhook_http as http;

const CHANNEL: ChannelId = ChannelId(7);
/// Longest a recovery may take once the disk has room again (a debug build on a busy machine).
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

/// Message `n`, with a body large enough that a batch needs fresh pages.
fn message(n: u64) -> ChatMessage {
    ChatMessage {
        id: MessageId(n),
        channel_id: CHANNEL,
        guild_id: None,
        author: Author {
            id: UserId(1 + n % 5),
            name: format!("user{}", n % 5),
            display_name: None,
            is_bot: false,
        },
        timestamp: Timestamp(1_700_000_000_000 + n as i64),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!(
            "message {n}: {}",
            "some words of a realistic length ".repeat(8)
        ),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 0,
        pinned: false,
    }
}

fn batch(first: u64, count: u64) -> Vec<ChatMessage> {
    (first..first + count).map(message).collect()
}

/// Fill the disk, then write batches from id `next` on until the store refuses one (a write or
/// two may still land in pages redb freed earlier). Returns the error and the next unused id.
fn write_until_refused(store: &Store, disk: &Tmpfs, mut next: u64) -> (StoreError, u64) {
    disk.fill();
    for _ in 0..100 {
        match store.upsert_messages(&batch(next, 200)) {
            Ok(_) => next += 200,
            Err(e) => return (e, next),
        }
    }
    panic!("the full disk never refused a write");
}

#[test]
fn a_full_disk_fails_writes_and_the_store_takes_them_again_once_space_is_freed() {
    let Some(disk) = Tmpfs::mount("store_recovers_after_disk_full", "8m") else {
        return;
    };
    let path = disk.path().join("summarybot.redb");
    let store = Store::open(&path).expect("open");
    store.upsert_messages(&batch(1, 200)).expect("first batch");

    let (err, next) = write_until_refused(&store, &disk, 201);
    assert!(err.to_string().contains("No space left"), "{err}");
    let stored = store.message_count(CHANNEL).expect("reads still work");
    assert_eq!(stored, next - 1, "a refused batch left nothing behind");
    let failure = store.failure().expect("the store reports itself failed");
    assert!(failure.reason.contains("No space left"), "{failure:?}");

    // While the disk stays full every write is refused with what to do, including after a
    // reopen was tried (the probe write fails, so the database is left as it is).
    let until = Instant::now() + summarybot::store::RETRY_EVERY * 2;
    while Instant::now() < until {
        let refused = store
            .upsert_messages(&batch(next, 200))
            .expect_err("refused while full");
        assert!(refused.to_string().contains("free disk space"), "{refused}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        store
            .failure()
            .is_some_and(|f| f.reason.contains("still refuses writes")),
        "{:?}",
        store.failure()
    );

    disk.free();
    let freed = Instant::now();
    while let Err(e) = store.upsert_messages(&batch(next, 200)) {
        assert!(freed.elapsed() < RECOVERY_LIMIT, "no recovery: {e}");
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "store: writes work again {} ms after the disk was freed",
        freed.elapsed().as_millis()
    );
    assert_eq!(store.failure(), None);
    assert_eq!(store.message_count(CHANNEL).expect("count"), stored + 200);
    assert!(store.check_consistency().expect("check").is_ok());

    store.close().expect("clean close");
    let reopened = Store::open_verified(&path).expect("the file verifies");
    assert_eq!(
        reopened.message_count(CHANNEL).expect("count"),
        stored + 200
    );
}

#[test]
fn a_backup_onto_a_full_disk_fails_alone_and_the_live_store_keeps_writing() {
    let Some(backups) = Tmpfs::mount("backup_onto_full_disk", "4m") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("summarybot.redb")).expect("open");
    // About 8 MB of messages: more than the 4 MB disk the backup goes to.
    for first in (1..=20_000).step_by(1_000) {
        store.upsert_messages(&batch(first, 1_000)).expect("seed");
    }

    let dest = backups.path().join("copy.redb");
    let err = store.backup_to(&dest).expect_err("the copy does not fit");
    assert!(
        matches!(&err, StoreError::Backup { .. }),
        "a backup's own disk error is a backup error: {err:?}"
    );
    assert!(err.to_string().contains("copy.redb"), "{err}");
    assert_eq!(store.failure(), None, "the live store is not failed");
    assert!(!dest.exists(), "no partial copy under the final name");
    store
        .upsert_messages(&batch(20_001, 200))
        .expect("the live store still takes writes");
    assert_eq!(store.message_count(CHANNEL).expect("count"), 20_200);
}

/// Collects every log line of this test binary (the writer logs from tokio's threads).
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_holds_what_the_full_disk_refused_and_stores_it_once_space_is_freed() {
    let Some(disk) = Tmpfs::mount("ingest_holds_and_retries", "64m") else {
        return;
    };
    let log = LogBuffer::default();
    let writer_log = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer_log.clone())
        .with_ansi(false)
        .init();
    let store = Arc::new(Store::open(&disk.path().join("summarybot.redb")).expect("open"));
    store.upsert_messages(&batch(1, 200)).expect("first batch");
    let (_, next) = write_until_refused(&store, &disk, 201);
    let stored = store.message_count(CHANNEL).expect("count");

    let losses = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&losses);
    let (ingest, writer) = ingest::start(
        Arc::clone(&store),
        Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
    );
    // More than the writer holds: the newest 500 messages are dropped, the oldest kept.
    let over = 500;
    let pushed = HELD_MAX as u64 + over;
    for id in next..next + pushed {
        assert!(ingest.push(Op::Upsert(message(id))).await);
    }
    // A deletion still fits past the cap: one stored message and one held.
    assert!(
        ingest
            .push(Op::Delete {
                channel: CHANNEL,
                ids: vec![MessageId(1), MessageId(next)],
            })
            .await
    );
    let deadline = Instant::now() + RECOVERY_LIMIT;
    while losses.load(Ordering::SeqCst) < over as usize {
        assert!(Instant::now() < deadline, "not dropped: {}", log.text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.message_count(CHANNEL).expect("count"), stored);
    let text = log.text();
    assert!(
        text.contains("WARN") && text.contains("they are held and retried"),
        "{text}"
    );
    assert!(
        text.contains("newer messages, edits and channel updates are dropped"),
        "{text}"
    );

    disk.free();
    let freed = Instant::now();
    tokio::time::timeout(RECOVERY_LIMIT, ingest.flush())
        .await
        .expect("the held events are stored once the disk has room");
    println!(
        "ingest: {HELD_MAX} held events stored {} ms after the disk was freed",
        freed.elapsed().as_millis()
    );
    assert_eq!(losses.load(Ordering::SeqCst), over as usize);
    assert_eq!(
        store.message_count(CHANNEL).expect("count"),
        stored + HELD_MAX as u64 - 2
    );
    let kept_last = next + HELD_MAX as u64 - 1;
    assert!(store
        .message(CHANNEL, MessageId(kept_last))
        .expect("read")
        .is_some());
    assert!(store
        .message(CHANNEL, MessageId(kept_last + 1))
        .expect("read")
        .is_none());
    assert!(store
        .message(CHANNEL, MessageId(1))
        .expect("read")
        .is_none());
    assert!(log
        .text()
        .contains("events were dropped while the store refused writes"));
    writer.close().await;
}

/// The appliance (`summarybot run`, real binary) with its database on `disk` and the webhook on.
struct DiskBot {
    dir: tempfile::TempDir,
    bot: BotProcess,
    addr: std::net::SocketAddr,
}

const SECRET: &str = "0123456789abcdef0123456789abcdef-disk";
const BEARER: &str = "bearer-token-0123456789abcdef0123456789";

impl DiskBot {
    fn start(disk: &Tmpfs) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = http::free_port();
        let config = format!(
            "[discord]\nenabled = false\n[scheduler]\nenabled = false\n\
             [storage]\npath = \"{}\"\n\
             [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n\
             bearer_token = \"{BEARER}\"\nrate_limit_per_minute = 100000\n",
            disk.path().join("summarybot.redb").display()
        );
        let mut bot = BotProcess::start(dir.path(), &config);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        bot.wait_healthy(addr);
        Self { dir, bot, addr }
    }

    /// A signed summary request with its own delivery id `n`.
    fn trigger(&self, n: u64) -> http::Response {
        let body = format!(
            r#"{{"type":"summary_request","channel_id":"123456789012345678","hours":{n}}}"#
        );
        let sig = signature::sign_header(SECRET.as_bytes(), body.as_bytes());
        let id = format!("delivery-{n}");
        http::request(
            self.addr,
            "POST",
            "/webhook",
            &[("X-Signature-256", &sig), ("X-Request-Id", &id)],
            body.as_bytes(),
        )
        .expect("POST /webhook")
    }

    fn health(&self) -> http::Response {
        http::request(self.addr, "GET", "/health", &[], b"").expect("GET /health")
    }

    /// `summarybot healthcheck`'s exit code.
    fn healthcheck(&self) -> Option<i32> {
        support::summarybot(self.dir.path())
            .arg("healthcheck")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run healthcheck")
            .code()
    }
}

#[test]
fn the_appliance_answers_503_and_fails_its_health_while_the_disk_is_full_then_recovers() {
    let Some(disk) = Tmpfs::mount("appliance_recovers_after_disk_full", "16m") else {
        return;
    };
    let mut app = DiskBot::start(&disk);
    let first = app.trigger(1);
    assert_eq!(first.status, 202, "{}", first.body);

    disk.fill();
    let mut n = 2;
    let refused = loop {
        let answer = app.trigger(n);
        n += 1;
        if answer.status == 503 {
            break answer;
        }
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert!(
            n < 500,
            "the full disk never refused a job:\n{}",
            app.bot.log()
        );
    };
    assert!(refused.body.contains("No space left"), "{}", refused.body);
    let health = app.health();
    assert_eq!(health.status, 503, "{}", health.body);
    let json = health.json();
    assert_eq!(json["store"], "failed", "{json}");
    assert!(
        json["store_error"]
            .as_str()
            .is_some_and(|e| e.contains("No space left") || e.contains("refuses writes")),
        "{json}"
    );
    assert_eq!(app.healthcheck(), Some(1));
    assert_eq!(app.trigger(n).status, 503);

    disk.free();
    let freed = Instant::now();
    loop {
        n += 1;
        let answer = app.trigger(n);
        if answer.status == 202 {
            break;
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(
            freed.elapsed() < RECOVERY_LIMIT,
            "no recovery:\n{}",
            app.bot.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "appliance: a webhook was accepted {} ms after the disk was freed",
        freed.elapsed().as_millis()
    );
    let health = app.health();
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["store"], "ok");
    assert_eq!(app.healthcheck(), Some(0));
    // What was accepted before the disk filled is still there.
    let auth = format!("Bearer {BEARER}");
    let job = http::request(app.addr, "GET", "/jobs/1", &[("Authorization", &auth)], b"")
        .expect("job status");
    assert_eq!(job.status, 200, "{}", job.body);
    let log = app.bot.log();
    assert!(
        log.contains("database reopened; writes work again"),
        "{log}"
    );
    app.bot.stop();
}
