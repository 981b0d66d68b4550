//! The local control socket of a running service: a Unix socket beside the database file
//! (named after it: `summarybot.sock` for `summarybot.redb`; owner-only), through which the CLI reaches the
//! service that holds the database: `summarybot healthcheck` asks its health whatever triggers
//! are enabled (with the webhook off there is no HTTP port to ask), and the read-only commands
//! the database lock would refuse (`schedule list`, `usage`, `db stats`, `summarize --channel`)
//! run inside the service with the same output.
//!
//! The protocol: the client sends one JSON line, `{"op":"health"}` or
//! `{"op":"command","args":[...]}`, and the service answers one JSON line and closes. Only the
//! owner (the service user) and root can connect: the socket file is mode 0600 and its
//! directory the service's state directory.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::health::HealthSources;

/// File name of the socket of the default database (`summarybot.redb`).
pub const SOCKET_NAME: &str = "summarybot.sock";
/// Longest a client may take to read the answer before the service hangs up, and longest a
/// client waits for it.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// Largest request line the service reads.
const MAX_REQUEST: u64 = 64 * 1024;
/// Largest answer a client reads (a summary's text fits many times over).
const MAX_ANSWER: u64 = 16 * 1024 * 1024;
/// Connections answered at once; beyond, a connection is told the service is busy.
const MAX_CLIENTS: usize = 4;

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    /// The health body.
    Health,
    /// Run a command line (without the program name) inside the service.
    Command {
        /// The arguments.
        args: Vec<String>,
    },
}

/// The outcome of a command run inside the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// What the command printed to stdout.
    pub output: String,
    /// Its error message, when it failed.
    pub error: Option<String>,
    /// Its exit code (0, 1 or 2).
    pub exit: u8,
}

/// Runs a command line sent by a local client inside the service (the commands module supplies
/// it; this module only carries it).
pub type CommandRunner = Arc<dyn Fn(&[String]) -> Answer + Send + Sync>;

/// The socket of the service whose database is `db_path`: beside it, named after it
/// (`summarybot.redb` → `summarybot.sock`), so services with their databases in one directory
/// each have their own.
pub fn socket_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("sock")
}

/// The listening socket and its thread; stopped (and the file removed) by [`Control::stop`]
/// or on drop.
pub struct Control {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Control {
    /// Listen on `path` (a socket file left by a crash is replaced: the caller holds the
    /// database lock, so no other service owns it): answer health from `health` and run
    /// commands with `commands`.
    pub fn start(
        path: &Path,
        health: HealthSources,
        commands: CommandRunner,
    ) -> io::Result<Control> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("control".into())
                .stack_size(128 * 1024)
                .spawn(move || serve(&listener, &Handlers { health, commands }, &stop))?
        };
        Ok(Control {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    /// Stop answering and remove the socket file.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocked accept with a connection of our own.
        let _ = UnixStream::connect(&self.path);
        let _ = thread.join();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What a connection can be answered with.
struct Handlers {
    health: HealthSources,
    commands: CommandRunner,
}

/// Accept connections until `stop`, each answered on a thread of its own (at most
/// [`MAX_CLIENTS`] at once: a long `summarize` never delays a health check).
fn serve(listener: &UnixListener, handlers: &Handlers, stop: &AtomicBool) {
    let busy = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for conn in listener.incoming() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let conn = match conn {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "the control socket could not accept a connection");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            if busy.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
                busy.fetch_sub(1, Ordering::AcqRel);
                refuse(
                    conn,
                    "the service is answering other commands; try again in a moment",
                );
                continue;
            }
            let busy = Arc::clone(&busy);
            let spawned = std::thread::Builder::new()
                .name("control-client".into())
                .spawn_scoped(scope, move || {
                    answer(conn, handlers);
                    busy.fetch_sub(1, Ordering::AcqRel);
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a thread for a control connection");
            }
        }
    });
}

/// Read one request line (bounded in size and time) and write its answer.
fn answer(mut conn: UnixStream, handlers: &Handlers) {
    let _ = conn.set_read_timeout(Some(TIMEOUT));
    let _ = conn.set_write_timeout(Some(TIMEOUT));
    let mut line = String::new();
    let read = conn
        .try_clone()
        .map(|c| BufReader::new(c.take(MAX_REQUEST)).read_line(&mut line));
    let reply = match (read, serde_json::from_str::<Request>(line.trim())) {
        (Ok(Ok(_)), Ok(Request::Health)) => handlers.health.read().body,
        (Ok(Ok(_)), Ok(Request::Command { args })) => {
            serde_json::to_value((handlers.commands)(&args)).unwrap_or_default()
        }
        _ => {
            serde_json::json!({"error": "send one JSON line: {\"op\":\"health\"} or {\"op\":\"command\",\"args\":[...]}", "exit": 2})
        }
    };
    let mut text = reply.to_string();
    text.push('\n');
    let _ = conn.write_all(text.as_bytes());
}

/// Tell a client the service is busy.
fn refuse(mut conn: UnixStream, why: &str) {
    let _ = conn.set_write_timeout(Some(TIMEOUT));
    let text = format!("{}\n", serde_json::json!({"error": why, "exit": 1}));
    let _ = conn.write_all(text.as_bytes());
}

/// Send `request` to the service at `path` and read its one-line JSON answer, waiting at most
/// `wait` for it (`None`: as long as it takes).
fn ask(
    path: &Path,
    request: &Request,
    wait: Option<Duration>,
) -> Result<serde_json::Value, String> {
    let mut conn = UnixStream::connect(path).map_err(|e| {
        format!(
            "no running summarybot answers on {} ({e}); is `summarybot run` running with this configuration, as this user or root?",
            path.display()
        )
    })?;
    conn.set_read_timeout(wait).map_err(|e| e.to_string())?;
    conn.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_string(request).map_err(|e| e.to_string())?;
    line.push('\n');
    conn.write_all(line.as_bytes()).map_err(|e| {
        format!(
            "the service at {} did not take the request: {e}",
            path.display()
        )
    })?;
    let mut answer = String::new();
    conn.take(MAX_ANSWER)
        .read_to_string(&mut answer)
        .map_err(|e| format!("the service at {} did not answer: {e}", path.display()))?;
    serde_json::from_str(answer.trim()).map_err(|e| {
        format!(
            "the service at {} answered something that is not JSON ({e})",
            path.display()
        )
    })
}

/// Run `args` (a command line without the program name) inside the service at `path`.
pub fn run_command(path: &Path, args: &[String]) -> Result<Answer, String> {
    let request = Request::Command {
        args: args.to_vec(),
    };
    let value = ask(path, &request, None)?;
    serde_json::from_value(value.clone()).or_else(|_| {
        // A refusal (busy, bad request) carries an error and an exit code only.
        Ok::<_, String>(Answer {
            output: String::new(),
            error: value["error"].as_str().map(str::to_string),
            exit: value["exit"]
                .as_u64()
                .and_then(|e| u8::try_from(e).ok())
                .unwrap_or(1),
        })
    })
}

/// What a running service at `path` says of its health: the JSON body, or why it cannot be
/// asked.
pub fn ask_health(path: &Path) -> Result<serde_json::Value, String> {
    let health = ask(path, &Request::Health, Some(TIMEOUT))?;
    if health.get("status").is_none() {
        return Err(format!(
            "the service at {} answered something that is not its health: {health}",
            path.display()
        ));
    }
    Ok(health)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> (tempfile::TempDir, HealthSources) {
        let (dir, store) = crate::store::test_support::temp_store();
        let sources = HealthSources {
            store: Arc::new(store),
            runtime: Arc::default(),
            jobs: Arc::default(),
            workers: 2,
        };
        (dir, sources)
    }

    /// Echoes its arguments; `fail` exits 2 with an error.
    fn echo() -> CommandRunner {
        Arc::new(|args: &[String]| {
            if args.first().is_some_and(|a| a == "fail") {
                Answer {
                    output: String::new(),
                    error: Some("it failed".into()),
                    exit: 2,
                }
            } else {
                Answer {
                    output: format!("ran {}\n", args.join(" ")),
                    error: None,
                    exit: 0,
                }
            }
        })
    }

    #[test]
    fn the_socket_sits_beside_the_database() {
        assert_eq!(
            socket_path(Path::new("/var/lib/summarybot/summarybot.redb")),
            Path::new("/var/lib/summarybot/summarybot.sock")
        );
        assert_eq!(socket_path(Path::new("s.redb")), Path::new("s.sock"));
        assert_eq!(socket_path(Path::new("data/db")), Path::new("data/db.sock"));
    }

    #[test]
    fn answers_health_and_commands_owner_only_and_cleans_up() {
        let (dir, sources) = sources();
        let path = dir.path().join(SOCKET_NAME);
        // A file left by a crash is replaced.
        std::fs::write(&path, b"stale").expect("stale file");
        let control = Control::start(&path, sources.clone(), echo()).expect("start");
        let mode = std::fs::metadata(&path)
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        for _ in 0..3 {
            let health = ask_health(&path).expect("answer");
            assert_eq!(health["status"], "ok");
            assert_eq!(health["workers"]["count"], 2);
        }
        let args = vec!["db".to_string(), "stats".to_string()];
        assert_eq!(
            run_command(&path, &args).expect("answer"),
            Answer {
                output: "ran db stats\n".into(),
                error: None,
                exit: 0
            }
        );
        let failed = run_command(&path, &["fail".to_string()]).expect("answer");
        assert_eq!(
            (failed.error.as_deref(), failed.exit),
            (Some("it failed"), 2)
        );
        sources.store.fail_for_test("no space left on device");
        let health = ask_health(&path).expect("answer");
        assert_eq!(health["store"], "failed");
        control.stop();
        assert!(!path.exists(), "the socket file is removed at stop");
        let err = ask_health(&path).expect_err("nobody answers");
        assert!(err.contains("is `summarybot run` running"), "{err}");
    }

    #[test]
    fn a_silent_or_garbled_client_does_not_block_the_next() {
        let (dir, sources) = sources();
        let path = dir.path().join(SOCKET_NAME);
        let _control = Control::start(&path, sources, echo()).expect("start");
        // Connect and never send: it has a thread of its own and its own deadline.
        let _silent = UnixStream::connect(&path).expect("connect");
        let started = std::time::Instant::now();
        assert_eq!(ask_health(&path).expect("answer")["status"], "ok");
        assert!(started.elapsed() < TIMEOUT);
        let mut garbled = UnixStream::connect(&path).expect("connect");
        garbled.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("send");
        let mut reply = String::new();
        garbled.read_to_string(&mut reply).expect("reply");
        assert!(reply.contains("send one JSON line"), "{reply}");
    }

    #[test]
    fn something_that_is_not_json_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("other.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut request = String::new();
            BufReader::new(conn.try_clone().expect("clone"))
                .read_line(&mut request)
                .expect("request");
            conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n").expect("write");
        });
        let err = ask_health(&path).expect_err("not JSON");
        assert!(err.contains("not JSON"), "{err}");
        server.join().expect("server");
    }
}
