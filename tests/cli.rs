//! Black-box tests of the real `summarybot` binary: exit codes, config commands, offline
//! summaries of the bundled export, import into a real database, the database lock.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_summarybot");
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/dev-channel-export.json"
);

/// A temp working directory and a command builder with a clean environment, so no variable of
/// the machine running the tests (an OPENAI_API_KEY, say) changes the outcome.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("binary runs")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A config valid for `run` with no credentials: Discord off, builtin summarizer.
const OFFLINE_RUN_CONFIG: &str = r#"
[discord]
enabled = false

[scheduler]
enabled = false

[storage]
path = "db/summarybot.redb"
"#;

#[test]
fn version_names_version_commit_and_target() {
    let out = Sandbox::new().run(&["--version"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    assert!(text.contains("commit "), "{text}");
    assert!(text.contains("linux"), "{text}");
}

#[test]
fn help_lists_every_subcommand() {
    let out = Sandbox::new().run(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in [
        "run",
        "summarize",
        "import",
        "schedule",
        "config",
        "db",
        "usage",
        "forget",
        "webhook",
        "update",
        "completions",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(sub)),
            "missing {sub} in:\n{text}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(
        sb.run(&["summarize", "--hours", "0", "-i", "x.json"])
            .status
            .code(),
        Some(2)
    );
    let out = sb.run(&["--log-level", "loud", "db", "stats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--log-level"), "{}", stderr(&out));
}

#[test]
fn missing_explicit_config_is_a_config_error() {
    let out = Sandbox::new().run(&["--config", "nope.toml", "config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.toml"), "{}", stderr(&out));
}

#[test]
fn config_init_writes_once_and_never_overwrites() {
    let sb = Sandbox::new();
    let out = sb.run(&["config", "init", "my.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(sb.path().join("my.toml")).expect("written");
    assert!(written.contains("[discord]") && written.contains("[llm]"));

    sb.write("my.toml", "# my edits\n");
    let again = sb.run(&["config", "init", "my.toml"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let kept = std::fs::read_to_string(sb.path().join("my.toml")).expect("still there");
    assert_eq!(kept, "# my edits\n");
}

#[test]
fn config_check_reports_every_problem_at_once() {
    let sb = Sandbox::new();
    sb.write(
        "summarybot.toml",
        r#"
environment = "production"
debug = true

[discord]
token = "short"

[llm]
temperature = 3.5
max_tokens = 50

[webhook]
enabled = true
port = 80
secret = "tooshort"
"#,
    );
    let out = sb
        .cmd(&["config", "check"])
        .env("OPENAI_MAX_TOKENS", "lots")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "debug",
        "discord.token",
        "llm.temperature",
        "webhook.port",
        "webhook.secret",
        "OPENAI_MAX_TOKENS",
    ] {
        assert!(err.contains(needle), "missing {needle} in:\n{err}");
    }
    assert!(!err.contains("short\""), "a secret value leaked:\n{err}");
}

/// `config check` with `var` pointing at `target`, killed if it runs for more than 10 s (a FIFO
/// used to hang the start forever).
fn check_with_secret_file(sb: &Sandbox, var: &str, target: &Path) -> Output {
    let mut child = sb
        .cmd(&["config", "check"])
        .env(var, target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("config check with {var}={} hung", target.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn secret_files_must_be_small_regular_files() {
    let sb = Sandbox::new();
    let devices = [
        (PathBuf::from("/dev/zero"), "a character device"),
        (sb.path().to_path_buf(), "a directory"),
    ];
    for (target, kind) in devices {
        let out = check_with_secret_file(&sb, "WEBHOOK_SECRET_FILE", &target);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("webhook.secret") && err.contains(kind) && err.contains("regular file"),
            "{err}"
        );
        assert!(err.len() < 2_000, "{} bytes of errors", err.len());
    }
    let fifo = sb.path().join("secret.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = check_with_secret_file(&sb, "DISCORD_TOKEN_FILE", &fifo);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("named pipe (FIFO)"),
        "{}",
        stderr(&out)
    );
    let big = sb.write("big-secret", &"k".repeat(100_000));
    let out = check_with_secret_file(&sb, "OPENAI_API_KEY_FILE", &big);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("100000 bytes, more than the 65536"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_huge_config_value_is_cut_in_the_error_and_a_huge_file_refused() {
    let sb = Sandbox::new();
    let value = "9".repeat(900_000);
    sb.write(
        "summarybot.toml",
        &format!("[webhook]\nport = \"{value}\"\n"),
    );
    let out = sb.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("webhook.port"), "{err}");
    assert!(err.contains("more bytes)"), "{err}");
    assert!(err.len() < 4_000, "{} bytes of errors", err.len());

    sb.write("summarybot.toml", &format!("# {}\n", "x".repeat(2 << 20)));
    let out = sb.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("more than the 1048576"), "{err}");
    assert!(err.len() < 2_000, "{} bytes of errors", err.len());
}

#[test]
fn config_check_rejects_unknown_keys() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", "[llm]\nmodle = \"gpt-4o\"\n");
    let out = sb.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("modle"), "{}", stderr(&out));
}

#[test]
fn config_check_accepts_a_complete_config() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let out = sb.run(&["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("configuration OK"));
}

#[test]
fn config_check_accepts_the_old_worker_keys_with_a_warning() {
    let sb = Sandbox::new();
    sb.write(
        "summarybot.toml",
        &format!("{OFFLINE_RUN_CONFIG}\n[webhook]\nworkers = 4\n"),
    );
    let out = sb.run(&["config", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("configuration OK"));
    let err = stderr(&out);
    assert!(
        err.contains("warning: webhook.workers = 4 (from ")
            && err.contains("was renamed to jobs.workers"),
        "{err}"
    );
    let shown = sb.run(&["config", "show"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        stdout(&shown).contains("[jobs]\nworkers = 4\n"),
        "{}",
        stdout(&shown)
    );
}

#[test]
fn config_show_hides_secrets_from_file_and_env() {
    let sb = Sandbox::new();
    let token = "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I-fake-token";
    sb.write(
        "summarybot.toml",
        &format!("[discord]\ntoken = \"{token}\"\n"),
    );
    let key = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz0123";
    let out = sb
        .cmd(&["config", "show"])
        .env("OPENAI_API_KEY", key)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains(token) && !text.contains(key),
        "secret leaked:\n{text}"
    );
    assert!(text.contains("***"));
}

#[test]
fn summarize_the_bundled_export_offline() {
    let sb = Sandbox::new();
    let out = sb.run(&["summarize", "--input", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("## Key Discussion Points"), "{text}");
    assert!(
        text.contains("https://discord.com/channels/"),
        "no jump links:\n{text}"
    );
    // Offline summarizing writes no database next to the user's files.
    assert!(!sb.path().join("data").exists());
}

#[test]
fn the_builtin_summary_speaks_the_readers_language_or_says_it_keeps_english() {
    let sb = Sandbox::new();
    let run = |language: &str| {
        let out = sb.run(&["summarize", "--input", SAMPLE, "--language", language]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let german = run("German");
    assert!(
        german.contains("## Wichtigste Diskussionspunkte"),
        "{german}"
    );
    assert!(german.contains(" Nachrichten · Teilnehmende: "), "{german}");
    assert!(!german.contains("## Key Discussion Points"), "{german}");
    let japanese = run("ja");
    assert!(japanese.contains("## 主な議論のポイント"), "{japanese}");
    assert!(japanese.contains("件のメッセージ · 参加者: "), "{japanese}");
    let unknown = run("Klingon");
    assert!(unknown.contains("## Key Discussion Points"), "{unknown}");
    assert!(
        unknown.contains("has no words for \"Klingon\", so its own text stays in English."),
        "{unknown}"
    );
    assert!(!german.contains("stays in English"), "{german}");
}

#[test]
fn summarize_json_carries_sections_citations_and_model() {
    let out = Sandbox::new().run(&["summarize", "--input", SAMPLE, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["provider"], "builtin");
    assert_eq!(json["cached"], false);
    assert!(json["message_count"].as_u64().unwrap_or(0) >= 250, "{json}");
    assert!(!json["sections"].as_array().expect("sections").is_empty());
}

#[test]
fn summarize_a_malformed_export_names_the_file_and_position() {
    let sb = Sandbox::new();
    let path = sb.write("broken.json", "{\n  \"messages\": [ {\"id\": \"1\", }\n");
    let out = sb.run(&["summarize", "--input", path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("broken.json:2:"),
        "no file:line:column in {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn summarize_rejects_a_bad_window() {
    let sb = Sandbox::new();
    let out = sb.run(&["summarize", "-i", SAMPLE, "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since"), "{}", stderr(&out));
}

#[test]
fn the_quick_start_summarizes_the_imported_sample_with_all() {
    // As the README's Quick start has it, with no config file at all.
    let sb = Sandbox::new();
    let out = sb.run(&["import", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = sb.run(&[
        "summarize",
        "--channel",
        "871325106388582430",
        "--all",
        "--format",
        "json",
    ]);
    assert!(all.status.success(), "{}", stderr(&all));
    let json: serde_json::Value = serde_json::from_slice(&all.stdout).expect("json");
    assert_eq!(json["message_count"], 276, "{json}");
    let clash = sb.run(&[
        "summarize",
        "--channel",
        "871325106388582430",
        "--all",
        "--hours",
        "2",
    ]);
    assert_eq!(clash.status.code(), Some(2), "{}", stderr(&clash));
}

#[test]
fn a_stored_channel_focused_on_a_topic_and_its_dry_run() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let out = sb.run(&["import", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let base = ["summarize", "--channel", "871325106388582430", "--all"];
    let run = |extra: &[&str]| sb.run(&[&base[..], extra].concat());

    let dry = run(&["--dry-run", "--topic", "Zigbee", "--detail", "brief"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let text = stdout(&dry);
    assert!(text.contains("of 276 are about “Zigbee”"), "{text}");
    assert!(text.contains("detail:            brief"), "{text}");
    assert!(
        text.contains("builtin (offline): no LLM call, no cost"),
        "{text}"
    );

    let focused = |out: &Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", stderr(out));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let first = focused(&run(&["--topic", "Zigbee", "--format", "json"]));
    assert_eq!(first["focus"], "Zigbee", "{first}");
    let count = first["message_count"].as_u64().unwrap_or(0);
    assert!((1..276).contains(&count), "{first}");
    // From the cache, the summary still says what it is focused on.
    let again = focused(&run(&["--topic", "Zigbee", "--format", "json"]));
    assert_eq!(
        (again["cached"].as_bool(), &again["focus"]),
        (Some(true), &first["focus"])
    );
    let whole = focused(&run(&["--format", "json"]));
    assert_eq!(whole["message_count"], 276);
    assert!(whole.get("focus").is_none(), "{whole}");

    let none = run(&["--topic", "xylophone"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("no message in this window is about “xylophone”"),
        "{}",
        stderr(&none)
    );
    let bad = run(&["--topic", "  "]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("the topic has no words"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn import_then_summarize_from_the_database_uses_the_cache() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let out = sb.run(&["import", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported"), "{}", stdout(&out));

    let stats = sb.run(&["db", "stats"]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    assert!(stdout(&stats).contains("messages"), "{}", stdout(&stats));

    let export: serde_json::Value =
        serde_json::from_slice(&std::fs::read(SAMPLE).expect("sample")).expect("json");
    let channel = export["channel"]["id"]
        .as_str()
        .expect("channel id")
        .to_string();
    let args = [
        "summarize",
        "--channel",
        &channel,
        "--since",
        "2000-01-01T00:00:00Z",
        "--format",
        "json",
    ];
    let first = sb.run(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    assert_eq!(first["cached"], false);
    assert!(first["message_count"].as_u64().unwrap_or(0) >= 250);

    let second = sb.run(&args);
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).expect("json");
    assert_eq!(second["cached"], true, "second run should hit the cache");
    assert_eq!(first["sections"], second["sections"]);

    let prune = sb.run(&["db", "prune"]);
    assert!(prune.status.success(), "{}", stderr(&prune));
}

#[test]
fn webhook_sign_prints_the_github_style_signature() {
    let sb = Sandbox::new();
    let body = sb.write("body.json", "what do ya want for nothing?");
    let out = sb.run(&[
        "webhook",
        "sign",
        "--secret",
        "Jefe",
        "--file",
        body.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let missing = sb.run(&["webhook", "sign", "--file", "body.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("--secret"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn completions_are_generated() {
    let out = Sandbox::new().run(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("summarybot"));
}

/// A running `summarybot run`, killed on drop.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `run` and wait (by reading its log, no fixed sleep) until it says it is ready.
fn start_run(sb: &Sandbox) -> Running {
    let mut child = sb
        .cmd(&["run"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn run");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("ready") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("`run` did not become ready");
    Running { child }
}

#[test]
fn healthcheck_asks_the_running_service_even_with_every_trigger_off() {
    // Discord, scheduler and webhook off: no port to ask, the control socket answers.
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let before = sb.run(&["healthcheck"]);
    assert_eq!(before.status.code(), Some(1), "{}", stderr(&before));
    assert!(
        stderr(&before).contains("is `summarybot run` running"),
        "{}",
        stderr(&before)
    );
    let running = start_run(&sb);
    let socket = sb.path().join("db/summarybot.sock");
    assert!(
        socket.exists(),
        "the control socket sits beside the database"
    );
    let healthy = sb.run(&["healthcheck"]);
    assert!(healthy.status.success(), "{}", stderr(&healthy));
    assert_eq!(stdout(&healthy).trim(), "healthy");
    drop(running); // SIGKILL: the socket file stays, nobody answers on it.
    let after = sb.run(&["healthcheck"]);
    assert_eq!(after.status.code(), Some(1), "{}", stderr(&after));
}

#[test]
fn read_only_commands_go_through_the_running_service_with_the_same_output() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let imported = sb.run(&["import", SAMPLE]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let commands: [&[&str]; 4] = [
        &["db", "stats"],
        &["schedule", "list"],
        &["usage"],
        &[
            "summarize",
            "--channel",
            "871325106388582430",
            "--all",
            "--no-cache",
        ],
    ];
    let alone: Vec<String> = commands
        .iter()
        .map(|args| {
            let out = sb.run(args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            stdout(&out)
        })
        .collect();
    let _running = start_run(&sb);
    for (args, expected) in commands.iter().zip(&alone) {
        let out = sb.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let got = stdout(&out);
        if args[0] == "db" {
            // The service's own writes change sizes and add tables; the report is the same.
            for line in ["database:       db/summarybot.redb", "messages", "channels"] {
                assert!(
                    got.contains(line) && expected.contains(line),
                    "{line}: {got}"
                );
            }
        } else {
            assert_eq!(&got, expected, "{args:?}");
        }
    }
    // What the service does not run for the command line is still refused with the reason.
    let import = sb.run(&["import", SAMPLE]);
    assert_eq!(import.status.code(), Some(1));
    assert!(
        stderr(&import).contains("already in use"),
        "{}",
        stderr(&import)
    );
    let bad = sb.run(&[
        "summarize",
        "--channel",
        "871325106388582430",
        "--since",
        "nope",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn a_second_run_on_the_same_database_fails_fast_and_sigterm_stops_cleanly() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let mut first = start_run(&sb);

    let second = sb.run(&["run"]);
    assert_eq!(second.status.code(), Some(1));
    let err = stderr(&second);
    assert!(err.contains("already in use"), "{err}");

    let pid = first.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = first.child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "SIGTERM should stop `run` cleanly");
}

#[test]
fn a_reader_that_goes_away_does_not_crash_the_command() {
    // `summarybot summarize ... | head -1`: stdout closes after the first line.
    let sb = Sandbox::new();
    let mut child = sb
        .cmd(&["summarize", "--input", SAMPLE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn summarizing_a_channel_that_was_never_stored_says_so() {
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let out = sb.run(&["summarize", "--channel", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in the database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn forget_deletes_a_members_messages_also_beside_the_running_service_and_undo_reverses_it() {
    const CHANNEL: &str = "871325106388582430";
    // In the sample: Sam wrote 42 messages, Mara 38, of 276.
    const SAM: &str = "402918374650118144";
    const MARA: &str = "318204576401227776";
    let sb = Sandbox::new();
    sb.write("summarybot.toml", OFFLINE_RUN_CONFIG);
    let import = || {
        let out = sb.run(&["import", SAMPLE]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let summary = || -> serde_json::Value {
        let out = sb.run(&[
            "summarize",
            "--channel",
            CHANNEL,
            "--all",
            "--no-cache",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let names = |json: &serde_json::Value| json["participants"].to_string();
    import();
    let before = summary();
    assert_eq!(before["message_count"], 276);
    assert!(names(&before).contains("\"Sam\""), "{before}");

    let out = sb.run(&["forget", "--user", SAM]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("42 stored message(s) deleted in 1 channel(s)")
            && text.contains("on every server this bot serves"),
        "{text}"
    );
    let after = summary();
    assert_eq!(after["message_count"], 234, "{after}");
    assert!(!names(&after).contains("\"Sam\""), "{after}");
    import();
    assert_eq!(
        summary()["message_count"],
        234,
        "importing again does not bring them back"
    );

    // Beside the running service, through its control socket.
    let running = start_run(&sb);
    let out = sb.run(&["forget", "--user", MARA]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("38 stored message(s) deleted"),
        "{}",
        stdout(&out)
    );
    let again = sb.run(&["forget", "--user", SAM]);
    assert!(
        stdout(&again).contains("was already opted out") && stdout(&again).contains(": 0 stored"),
        "{}",
        stdout(&again)
    );
    let undo = sb.run(&["forget", "--user", SAM, "--undo"]);
    assert!(undo.status.success(), "{}", stderr(&undo));
    assert!(
        stdout(&undo).contains("opted in again"),
        "{}",
        stdout(&undo)
    );
    let twice = sb.run(&["forget", "--user", SAM, "--undo"]);
    assert!(
        stdout(&twice).contains("was not opted out"),
        "{}",
        stdout(&twice)
    );
    let bad = sb.run(&["forget", "--user", "sam"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("is not a Discord id"),
        "{}",
        stderr(&bad)
    );
    drop(running);

    // Sam opted in again: importing stores his messages; Mara's stay out.
    import();
    assert_eq!(summary()["message_count"], 276 - 38);
}

/// A DiscordChatExporter export of `n` chat messages, one a minute from 2026-03-01 10:00 UTC.
fn big_export(sb: &Sandbox, n: usize) -> PathBuf {
    let start = 1_772_359_200_i64; // 2026-03-01T10:00:00Z
    let messages: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let at = chrono::DateTime::from_timestamp(start + 60 * i as i64, 0).expect("time");
            serde_json::json!({
                "id": (900_000 + i).to_string(),
                "type": "Default",
                "timestamp": at.to_rfc3339(),
                "content": format!("we shipped parser release {i}; please review issue #{}", i % 97),
                "author": {"id": (10 + i % 7).to_string(), "name": format!("member{}", i % 7), "isBot": false},
            })
        })
        .collect();
    let export = serde_json::json!({
        "guild": {"id": "5", "name": "Big"},
        "channel": {"id": "77", "name": "busy", "type": "GuildTextChat"},
        "messages": messages,
    });
    sb.write("big.json", &export.to_string())
}

/// `summarybot ARGS` with `summary.max_window_messages = 1000` (from the environment).
fn run_capped(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd(args)
        .env("SUMMARYBOT_SUMMARY__MAX_WINDOW_MESSAGES", "1000")
        .output()
        .expect("runs")
}

/// The JSON a successful command printed.
fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn a_window_over_max_window_messages_is_summarized_from_its_newest_and_says_so() {
    let sb = Sandbox::new();
    let export = big_export(&sb, 1_200);
    let export = export.to_str().expect("utf8");
    let capped = |args: &[&str]| run_capped(&sb, args);
    let whole = json_of(&capped(&[
        "summarize",
        "--input",
        export,
        "--format",
        "json",
    ]));
    assert_eq!(
        (whole["message_count"].as_u64(), whole["left_out"].as_u64()),
        (Some(1_000), Some(200)),
        "{whole}"
    );
    // The last 19 hours (1,140 messages): the newest 1,000 of them.
    let hours = json_of(&capped(&[
        "summarize",
        "--input",
        export,
        "--hours",
        "19",
        "--format",
        "json",
    ]));
    assert_eq!(
        (hours["message_count"].as_u64(), hours["left_out"].as_u64()),
        (Some(1_000), Some(140)),
        "{hours}"
    );
    // A window ending before the export does: its newest 1,000 of 1,100.
    let until = json_of(&capped(&[
        "summarize",
        "--input",
        export,
        "--until",
        "2026-03-02T04:20:00Z",
        "--format",
        "json",
    ]));
    assert_eq!(
        (until["message_count"].as_u64(), until["left_out"].as_u64()),
        (Some(1_000), Some(100)),
        "{until}"
    );
    let text = capped(&["summarize", "--input", export]);
    assert!(
        stdout(&text).contains("200 older messages left out (window limit)"),
        "{}",
        stdout(&text)
    );
    // The default cap (100,000) leaves nothing out and says nothing.
    let all = json_of(&sb.run(&["summarize", "--input", export, "--format", "json"]));
    assert_eq!(
        (all["message_count"].as_u64(), all.get("left_out")),
        (Some(1_200), None),
        "{all}"
    );

    // From the store, through the one summary path: the same cap.
    assert!(sb.run(&["import", export]).status.success());
    let stored = json_of(&capped(&[
        "summarize",
        "--channel",
        "77",
        "--all",
        "--format",
        "json",
    ]));
    assert_eq!(
        (
            stored["message_count"].as_u64(),
            stored["left_out"].as_u64()
        ),
        (Some(1_000), Some(200)),
        "{stored}"
    );
}

#[test]
fn the_dry_run_says_what_the_window_cap_leaves_out_and_a_bad_cap_is_refused() {
    let sb = Sandbox::new();
    let export = big_export(&sb, 1_200);
    let export = export.to_str().expect("utf8");
    let capped = |args: &[&str]| run_capped(&sb, args);
    let dry = json_of(&capped(&[
        "summarize",
        "--input",
        export,
        "--dry-run",
        "--format",
        "json",
    ]));
    assert_eq!(
        (dry["messages"].as_u64(), dry["left_out"].as_u64()),
        (Some(1_000), Some(200)),
        "{dry}"
    );
    let dry = capped(&["summarize", "--input", export, "--dry-run"]);
    assert!(
        stdout(&dry).contains(
            "the 200 oldest messages of the window (summary.max_window_messages = 1,000)"
        ),
        "{}",
        stdout(&dry)
    );

    // A cap out of range is a config error that names the key and the range.
    let bad = sb
        .cmd(&["summarize", "--input", export])
        .env("SUMMARYBOT_SUMMARY__MAX_WINDOW_MESSAGES", "10")
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("summary.max_window_messages"),
        "{}",
        stderr(&bad)
    );
    assert!(stderr(&bad).contains("1000"), "{}", stderr(&bad));
}
