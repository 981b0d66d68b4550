//! Black-box tests of `summarybot schedule`: a round trip add → list → pause → resume → remove
//! on a real database, the messages for a bad cron expression, time zone or kind, and the clear
//! refusal while `summarybot run` holds the database.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CONFIG: &str = r#"
[discord]
enabled = false

[storage]
path = "db/summarybot.redb"
"#;

fn run(dir: &Path, args: &[&str]) -> Output {
    support::summarybot(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run and expect success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Run and expect exit 2; returns stderr.
fn usage_error(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stderr)
}

const ADD: [&str; 14] = [
    "schedule",
    "add",
    "--guild",
    "100",
    "--channel",
    "200",
    "--channel",
    "201",
    "--post-to",
    "300",
    "--cron",
    "0 9 * * 1-5",
    "--timezone",
    "Europe/Berlin",
];

#[test]
fn add_list_pause_resume_remove_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("summarybot.toml"), CONFIG).expect("config");

    assert!(ok(dir, &["schedule", "list"]).contains("no schedules"));
    let mut add: Vec<&str> = ADD.to_vec();
    add.extend([
        "--quiet-day",
        "--kind",
        "dev",
        "--language",
        "German",
        "--detail",
        "Brief",
    ]);
    let added = ok(dir, &add);
    assert!(
        added.starts_with("added schedule 1: \"0 9 * * 1-5\" in Europe/Berlin, next run "),
        "{added}"
    );
    // Next run shown in the zone (CET or CEST) and in UTC.
    assert!(added.contains(" 09:00 CE"), "{added}");
    assert!(added.contains(" UTC)"), "{added}");

    let list = ok(dir, &["schedule", "list"]);
    let row = list.lines().nth(1).expect("a row");
    for part in [
        "1",
        "active",
        "0 9 * * 1-5",
        "Europe/Berlin",
        "200,201 -> 300",
        "09:00 CE",
    ] {
        assert!(row.contains(part), "{part} missing in {row}");
    }
    assert!(list.contains("\n      detail: brief\n"), "{list}");

    assert!(ok(dir, &["schedule", "pause", "1"]).contains("schedule 1 paused"));
    assert!(ok(dir, &["schedule", "list"]).contains("paused"));
    let resumed = ok(dir, &["schedule", "resume", "1"]);
    assert!(
        resumed.contains("schedule 1 resumed, next run"),
        "{resumed}"
    );
    assert!(ok(dir, &["schedule", "list"]).contains("active"));

    assert!(ok(dir, &["schedule", "remove", "1"]).contains("removed schedule 1"));
    let again = usage_error(dir, &["schedule", "remove", "1"]);
    assert!(again.contains("no schedule with id 1"), "{again}");
    assert!(usage_error(dir, &["schedule", "pause", "7"]).contains("no schedule with id 7"));
    assert!(ok(dir, &["schedule", "list"]).contains("no schedules"));
}

#[test]
fn bad_cron_zone_and_kind_name_the_flag_and_give_an_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("summarybot.toml"), CONFIG).expect("config");
    let with = |flag: &str, value: &str| {
        let mut args: Vec<String> = ADD.iter().map(ToString::to_string).collect();
        match args.iter().position(|a| a == flag) {
            Some(i) => args[i + 1] = value.to_owned(),
            None => args.extend([flag.to_owned(), value.to_owned()]),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        usage_error(dir, &args)
    };
    let e = with("--cron", "0 9 * *");
    assert!(e.contains("--cron:") && e.contains("has 4 fields"), "{e}");
    assert!(e.contains("\"0 9 * * 1-5\""), "{e}");
    let e = with("--cron", "* 9 * * 1-5");
    assert!(
        e.contains("--cron:")
            && e.contains("runs again 1m after")
            && e.contains("min_interval (1h)"),
        "a typo firing every minute from 09:00 is refused: {e}"
    );
    let e = with("--cron", "0 25 * * *");
    assert!(
        e.contains("--cron:") && e.contains("hour 25 is out of range; use 0-23"),
        "{e}"
    );
    assert!(
        !e.contains("0 0 25"),
        "the internal six-field form leaked: {e}"
    );
    let e = with("--channel", "dev");
    assert!(
        e.contains("\"dev\" is not a Discord id") && e.contains("Copy ID"),
        "{e}"
    );
    assert!(!e.contains("invalid digit"), "{e}");
    let e = with("--timezone", "Europe/Berln");
    assert!(
        e.contains("--timezone:") && e.contains("unknown time zone \"Europe/Berln\""),
        "{e}"
    );
    assert!(e.contains("Europe/Berlin"), "{e}");
    let e = with("--timezone", "europe/berlin");
    assert!(e.contains("did you mean Europe/Berlin?"), "{e}");
    let e = with("--kind", "news");
    assert!(e.contains("--kind:"), "{e}");
    let e = with("--hours", "0");
    assert!(e.contains("--hours:"), "{e}");
    let e = with("--detail", "tiny");
    assert!(
        e.contains("--detail: unknown detail level \"tiny\": use brief, standard or full"),
        "{e}"
    );
    assert!(
        ok(dir, &["schedule", "list"]).contains("no schedules"),
        "nothing stored"
    );
}

#[test]
fn schedule_changes_refuse_clearly_while_the_service_runs_and_list_goes_through_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    std::fs::write(dir.join("summarybot.toml"), CONFIG).expect("config");
    let mut service = support::summarybot(dir)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    let stderr = service.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("ready") {
                let _ = tx.send(());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(30));
    // Listing goes through the running service; changes are refused with the way to make them.
    let listed = run(dir, &["schedule", "list"]);
    let out = run(dir, &["schedule", "remove", "1"]);
    let mut bad: Vec<&str> = ADD.to_vec();
    bad[11] = "every day";
    let bad = run(dir, &bad);
    let _ = service.kill();
    let _ = service.wait();
    ready.expect("`run` became ready");
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("no schedules"),
        "{}",
        text(&listed.stdout)
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
    assert!(err.contains("/schedule in Discord"), "{err}");
    assert!(err.contains("schedule_update"), "{err}");
    // A bad argument is reported even while the database is locked.
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--cron:"),
        "{}",
        text(&bad.stderr)
    );
}
