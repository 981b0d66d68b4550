//! A running `summarybot run` child for black-box tests: written config, stderr captured for
//! failure messages, SIGTERM with a clean-exit check, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bot process and where it runs.
pub struct BotProcess {
    dir: PathBuf,
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
}

impl BotProcess {
    /// Write `config` to `dir/summarybot.toml` and start `summarybot run` there.
    pub fn start(dir: &Path, config: &str) -> Self {
        Self::start_with_env(dir, config, &[])
    }

    /// Like [`BotProcess::start`], with extra environment variables (`(name, value)`).
    pub fn start_with_env(dir: &Path, config: &str, env: &[(&str, &str)]) -> Self {
        std::fs::write(dir.join("summarybot.toml"), config).expect("write config");
        let mut child = super::summarybot(dir)
            .envs(env.iter().copied())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn summarybot run");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log lock").push(line);
            }
        });
        Self {
            dir: dir.to_path_buf(),
            child: Some(child),
            log,
        }
    }

    /// Everything the bot logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Its process id (for `/proc` readings).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The directory it runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// SIGTERM, then wait (polling) for exit code 0 within 30 s.
    pub fn stop(&mut self) {
        self.terminate();
        let exit = self.wait_exit(Duration::from_secs(30));
        assert_eq!(exit.code(), Some(0), "log:\n{}", self.log());
    }

    /// Send SIGTERM and return at once (the shutdown runs on; see [`BotProcess::wait_exit`]).
    pub fn terminate(&mut self) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGKILL: no chance to finish anything (crash tests).
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    /// Wait (polling) until `GET /health` on `addr` answers 200, failing at once if the process
    /// exits and after 30 s otherwise.
    pub fn wait_healthy(&mut self, addr: std::net::SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = super::webhook_http::request(addr, "GET", "/health", &[], b"");
            if health.is_ok_and(|r| r.status == 200) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("summarybot exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no /health answer:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait (polling) until the process exits on its own within `within`; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + within;
        loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                return exit;
            }
            assert!(Instant::now() < deadline, "still running:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
