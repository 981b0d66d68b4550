//! The local control socket of a running service: a Unix socket beside the database file
//! (`summarybot.sock` in the storage directory, owner-only), so that `summarybot healthcheck`
//! can ask the service how it is whatever triggers are enabled — with the webhook off there is
//! no HTTP port to ask.
//!
//! The protocol has nothing to parse: a client connects and the service writes one JSON line,
//! the [`crate::health`] body, then closes. Only the owner (the service user) and root can
//! connect: the socket file is mode 0600 and its directory the service's state directory.

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::health::HealthSources;

/// File name of the socket, in the directory of the database file.
pub const SOCKET_NAME: &str = "summarybot.sock";
/// Longest a client may take to read the answer before the service hangs up, and longest a
/// client waits for it.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer a client reads.
const MAX_ANSWER: u64 = 64 * 1024;

/// The socket of the service whose database is `db_path`.
pub fn socket_path(db_path: &Path) -> PathBuf {
    match db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.join(SOCKET_NAME),
        None => PathBuf::from(SOCKET_NAME),
    }
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
    /// database lock, so no other service owns it) and answer every connection with `health`.
    pub fn start(path: &Path, health: HealthSources) -> io::Result<Control> {
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
                .spawn(move || serve(&listener, &health, &stop))?
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

/// Answer connections one at a time until `stop` (each answer is bounded by [`TIMEOUT`]).
fn serve(listener: &UnixListener, health: &HealthSources, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match conn {
            Ok(mut conn) => {
                let _ = conn.set_write_timeout(Some(TIMEOUT));
                let mut line = health.read().body.to_string();
                line.push('\n');
                let _ = conn.write_all(line.as_bytes());
            }
            Err(e) => {
                tracing::warn!(error = %e, "the control socket could not accept a connection");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What a running service at `path` says of its health: the JSON body, or why it cannot be
/// asked.
pub fn ask_health(path: &Path) -> Result<serde_json::Value, String> {
    let conn = UnixStream::connect(path).map_err(|e| {
        format!(
            "no running summarybot answers on {} ({e}); is `summarybot run` running with this configuration, as this user or root?",
            path.display()
        )
    })?;
    conn.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    conn.take(MAX_ANSWER)
        .read_to_string(&mut answer)
        .map_err(|e| format!("the service at {} did not answer: {e}", path.display()))?;
    serde_json::from_str(answer.trim()).map_err(|e| {
        format!(
            "the service at {} answered something that is not its health ({e})",
            path.display()
        )
    })
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

    #[test]
    fn the_socket_sits_beside_the_database() {
        assert_eq!(
            socket_path(Path::new("/var/lib/summarybot/summarybot.redb")),
            Path::new("/var/lib/summarybot/summarybot.sock")
        );
        assert_eq!(socket_path(Path::new("s.redb")), Path::new(SOCKET_NAME));
    }

    #[test]
    fn answers_health_owner_only_and_cleans_up() {
        let (dir, sources) = sources();
        let path = dir.path().join(SOCKET_NAME);
        // A file left by a crash is replaced.
        std::fs::write(&path, b"stale").expect("stale file");
        let control = Control::start(&path, sources.clone()).expect("start");
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
        sources.store.fail_for_test("no space left on device");
        let health = ask_health(&path).expect("answer");
        assert_eq!(health["store"], "failed");
        control.stop();
        assert!(!path.exists(), "the socket file is removed at stop");
        let err = ask_health(&path).expect_err("nobody answers");
        assert!(err.contains("is `summarybot run` running"), "{err}");
    }

    #[test]
    fn a_client_that_never_reads_does_not_block_the_next() {
        let (dir, sources) = sources();
        let path = dir.path().join(SOCKET_NAME);
        let _control = Control::start(&path, sources).expect("start");
        // Connect and never read: the answer is small enough to sit in the socket buffer.
        let _idle = UnixStream::connect(&path).expect("connect");
        let started = std::time::Instant::now();
        assert_eq!(ask_health(&path).expect("answer")["status"], "ok");
        assert!(started.elapsed() < TIMEOUT);
    }

    #[test]
    fn something_that_is_not_health_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("other.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n").expect("write");
        });
        let err = ask_health(&path).expect_err("not JSON");
        assert!(err.contains("not its health"), "{err}");
        server.join().expect("server");
    }
}
