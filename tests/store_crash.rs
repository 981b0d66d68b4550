//! Crash safety and process locking of the store, with real child processes.
//!
//! This file has its own `main` (`harness = false`): the binary re-runs itself as the child,
//! handing it its role and the database path through the child's environment only. The child writes batches forever
//! and acknowledges each on stdout once `upsert_messages` returned; the parent SIGKILLs it at a
//! pseudo-random moment and checks that every acknowledged batch survived, whole.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use summarybot::model::{
    Author, ChannelId, ChatMessage, MessageId, MessageKind, TimeWindow, Timestamp, UserId,
};
use summarybot::store::{Store, StoreError};

/// Environment variable carrying the database path to the child.
const DB_ENV: &str = "SUMMARYBOT_TEST_CRASH_DB";
/// Environment variable naming the child's role: `writer` or `lock`.
const ROLE_ENV: &str = "SUMMARYBOT_TEST_CRASH_ROLE";
/// Messages per acknowledged batch.
const BATCH: u64 = 200;
/// Kill-and-check rounds.
const ROUNDS: usize = 30;
/// The channel the child writes to.
const CHANNEL: ChannelId = ChannelId(42);

/// Message `n` (1-based) of the sequence the child writes: ids and timestamps both increase.
fn message(n: u64) -> ChatMessage {
    ChatMessage {
        id: MessageId(n),
        channel_id: CHANNEL,
        guild_id: None,
        author: Author {
            id: UserId(n % 7 + 1),
            name: format!("user{}", n % 7),
            display_name: None,
            is_bot: false,
        },
        timestamp: Timestamp(1_700_000_000_000 + n as i64),
        edited_at: None,
        kind: MessageKind::Default,
        content: format!("message number {n} with some text to make the value a realistic size"),
        reply_to: None,
        attachments: Vec::new(),
        reaction_count: 0,
        pinned: false,
    }
}

fn everything() -> TimeWindow {
    TimeWindow {
        start: Timestamp(i64::MIN),
        end: Timestamp(i64::MAX),
    }
}

/// Start this test binary as a child in `role` with the database at `db`.
fn spawn_child(role: &str, db: &Path) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .env(DB_ENV, db)
        .env(ROLE_ENV, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// The database path handed to a child, or None when run without one.
fn child_db() -> Option<PathBuf> {
    std::env::var_os(DB_ENV).map(PathBuf::from)
}

/// Forward every line of the child's stdout to a channel until it closes.
fn read_lines(stdout: ChildStdout) -> (mpsc::Receiver<String>, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, reader)
}

/// The batch number of an `ack N` line (the test harness may print before it on the line).
fn ack_number(line: &str) -> Option<u64> {
    let (_, n) = line.rsplit_once("ack ")?;
    n.trim().parse().ok()
}

/// Wait until the child prints a line for which `pick` gives a value.
fn wait_for<T>(lines: &mpsc::Receiver<String>, pick: impl Fn(&str) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("child printed the expected line in time");
        if let Some(value) = pick(&line) {
            return value;
        }
    }
}

/// A small deterministic generator (xorshift64) for kill delays.
struct Rng(u64);

impl Rng {
    fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low + 1)
    }
}

/// Child role `writer`: write acknowledged batches until killed.
fn crash_child_writer(db: &Path) {
    let store = Store::open(db).expect("child opens the store");
    let stored = store.message_count(CHANNEL).expect("count");
    let mut batch = stored / BATCH;
    let mut out = std::io::stdout();
    loop {
        let msgs: Vec<_> = (batch * BATCH + 1..=(batch + 1) * BATCH)
            .map(message)
            .collect();
        store.upsert_messages(&msgs).expect("child writes a batch");
        batch += 1;
        writeln!(out, "ack {batch}").expect("stdout");
        out.flush().expect("flush stdout");
    }
}

fn killed_writer_loses_no_acknowledged_batch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("crash.redb");
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut acked = 0_u64;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut child = spawn_child("writer", &db);
        let (lines, reader) = read_lines(child.stdout.take().expect("child stdout"));
        // Ready once the child acknowledged its first batch of this round.
        let first = wait_for(&lines, ack_number);
        assert!(first > acked, "round {round}: batch numbers go backwards");
        thread::sleep(Duration::from_millis(rng.next_in(10, 150)));
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");
        reader.join().expect("reader thread");
        acked = lines
            .try_iter()
            .filter_map(|l| ack_number(&l))
            .fold(first, u64::max);

        let store = Store::open(&db).expect("reopen after kill");
        let report = store.check_consistency().expect("consistency check");
        assert!(report.is_ok(), "round {round}: {report:?}");
        let count = store.message_count(CHANNEL).expect("count");
        assert_eq!(count % BATCH, 0, "round {round}: a batch was partly stored");
        assert!(
            count >= acked * BATCH,
            "round {round}: {count} stored < {acked} batches acknowledged"
        );
        assert_eq!(
            report.messages, count,
            "round {round}: index and table disagree"
        );
        let stored = store.messages_in(CHANNEL, everything()).expect("read all");
        let expected_ids: Vec<u64> = (1..=count).collect();
        let ids: Vec<u64> = stored.iter().map(|m| m.id.0).collect();
        assert_eq!(
            ids, expected_ids,
            "round {round}: messages missing or out of order"
        );
        assert_eq!(stored.last(), Some(&message(count)));
    }
    assert!(acked >= ROUNDS as u64);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}

/// Child role `lock`: hold the database open until stdin closes.
fn lock_child_holder(db: &Path) {
    let _store = Store::open(db).expect("child opens the store");
    println!("ready");
    // Hold the database until the parent closes our stdin.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

fn second_process_gets_locked_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("locked.redb");
    let mut child = spawn_child("lock", &db);
    let (lines, reader) = read_lines(child.stdout.take().expect("child stdout"));
    wait_for(&lines, |l| l.trim_end().ends_with("ready").then_some(()));

    let err = Store::open(&db).expect_err("second process must be refused");
    assert!(
        matches!(&err, StoreError::Locked { path } if path == &db),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("already in use by another summarybot process"),
        "{err}"
    );

    drop(child.stdin.take());
    child.wait().expect("child exits");
    reader.join().expect("reader thread");
    Store::open(&db).expect("opens once the other process is gone");
}

/// Run as a child when the environment says so; otherwise run every test (optionally filtered by
/// a name given on the command line) and print a libtest-style summary line.
fn main() -> ExitCode {
    if let Some(db) = child_db() {
        match std::env::var(ROLE_ENV).as_deref() {
            Ok("writer") => crash_child_writer(&db),
            Ok("lock") => lock_child_holder(&db),
            other => panic!("unknown child role {other:?}"),
        }
        return ExitCode::SUCCESS;
    }
    let tests: [(&str, fn()); 2] = [
        (
            "killed_writer_loses_no_acknowledged_batch",
            killed_writer_loses_no_acknowledged_batch,
        ),
        (
            "second_process_gets_locked_error",
            second_process_gets_locked_error,
        ),
    ];
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!();
    println!(
        "test result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
