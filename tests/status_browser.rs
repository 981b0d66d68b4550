//! The status page in a real browser: headless Chromium driven over chromedriver's W3C WebDriver
//! HTTP API logs in, opens every view, and checks the rendered DOM (seeded schedule and jobs,
//! three SVG plots, local times added by the page's script under its CSP, the stylesheet
//! applied, no message content). Saves screenshots in the test's temp dir, and also in
//! `$SUMMARYBOT_SCREENSHOT_DIR` when set (how `assets/status-page.png` was made).
//!
//! Needs Debian's `chromium` and `chromium-driver` packages (`.ci/test` installs them); without
//! them the test fails and says so.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::status_site::{StatusServer, CRON, GUILD_NAME, JOB_ERROR, MARKER, PASSWORD};
use support::webhook_http::request;

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A chromedriver process with one browser session; both end on drop.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let missing = "headless Chromium is needed for this test: install Debian's `chromium` and `chromium-driver` packages (`apt-get install chromium chromium-driver`; .ci/test does this)";
        // Debian's packages, or the Google Chrome and chromedriver of GitHub's runner images.
        let chromium = on_path(&[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ])
        .expect(missing);
        let chromedriver = on_path(&["chromedriver"])
            .or_else(|| {
                std::env::var_os("CHROMEWEBDRIVER")
                    .map(|dir| PathBuf::from(dir).join("chromedriver"))
                    .filter(|p| p.is_file())
            })
            .expect(missing);
        let port = support::webhook_http::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !request(addr, "GET", "/status", &[], b"")
            .is_ok_and(|r| r.status == 200 && r.json()["value"]["ready"] == true)
        {
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut browser = Self {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", &caps);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver command; returns its `value`.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" || method == "DELETE" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let r = request(
            self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        )
        .expect("webdriver request");
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        r.json()["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    fn path(&self) -> String {
        self.script("return location.pathname;", &[])
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Wait (with a deadline) until the page at `path` has loaded.
    fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self.script("return [location.pathname, document.readyState];", &[]);
            if state[0] == path && state[1] == "complete" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still at {state}, expected {path}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait (with a deadline) until the page's text contains `text`.
    fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let body = self.script("return document.body ? document.body.innerText : '';", &[]);
            if body.as_str().is_some_and(|b| b.contains(text)) {
                return;
            }
            assert!(Instant::now() < deadline, "{text:?} never appeared: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn script(&self, script: &str, args: &[Value]) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({ "script": script, "args": args }),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            &json!({ "using": "css selector", "value": css }),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            &json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.session_call("POST", &format!("/element/{id}/click"), &json!({}));
    }

    fn resize(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            &json!({ "width": width, "height": height }),
        );
    }

    /// A PNG screenshot of the viewport, saved as `name` in `dirs`.
    fn screenshot(&self, name: &str, dirs: &[&Path]) {
        let encoded = self.session_call("GET", "/screenshot", &Value::Null);
        let png = summarybot::webhook::standard::base64_decode(encoded.as_str().expect("base64"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        for dir in dirs {
            std::fs::write(dir.join(name), &png).expect("write screenshot");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Facts about the rendered page.
const PROBE: &str = r"
const q = (css) => document.querySelectorAll(css).length;
const header = document.querySelector('header');
return {
  text: document.body.innerText,
  html: document.documentElement.outerHTML,
  schedules: q('#schedules tr.schedule'),
  jobs: q('#jobs tr.job'),
  failed: q('#jobs tr.job.failed'),
  plots: q('svg.plot'),
  points: q('svg.plot circle.point'),
  bars: q('svg.plot rect.bar'),
  limits: q('svg.plot line.limit'),
  times: q('time[datetime]'),
  local: q('time .local'),
  header: header ? getComputedStyle(header).backgroundColor : null,
};";

#[test]
fn an_admin_logs_in_and_sees_every_view_in_a_real_browser() {
    // .ci/test sets this (after a loud SKIPPED line) only when it could not install a browser.
    if let Ok(why) = std::env::var("SUMMARYBOT_BROWSER_SKIPPED") {
        if on_path(&["chromedriver"]).is_none() {
            eprintln!("SKIPPED: status page browser test ({why})");
            return;
        }
    }
    let server = StatusServer::start("");
    let browser = Browser::start();
    let base = format!("http://{}", server.addr);
    let shots = tempfile::tempdir().expect("screenshot dir");
    let extra = std::env::var_os("SUMMARYBOT_SCREENSHOT_DIR").map(PathBuf::from);
    let mut dirs = vec![shots.path()];
    if let Some(dir) = &extra {
        dirs.push(dir.as_path());
    }

    browser.resize(1200, 1000);
    browser.go(&format!("{base}/status/jobs"));
    assert_eq!(
        browser.path(),
        "/status/login",
        "unauthenticated: sent to the login page"
    );
    browser.type_into("#password", "wrong password");
    browser.click("button[type=submit]");
    browser.wait_for_text("Wrong password.");
    browser.type_into("#password", PASSWORD);
    browser.click("button[type=submit]");
    browser.wait_for_path("/status");

    let overview = browser.script(PROBE, &[]);
    let text = overview["text"].as_str().unwrap_or_default();
    for needle in ["Healthy", "Database", "Workers", "Scheduler", "Version"] {
        assert!(text.contains(needle), "overview lacks {needle}: {text}");
    }
    assert_eq!(
        overview["header"], "rgb(31, 41, 55)",
        "the stylesheet loads under the CSP"
    );
    assert!(
        overview["local"].as_u64() > Some(0),
        "the script adds local times: {overview}"
    );
    assert_eq!(overview["local"], overview["times"]);
    browser.screenshot("overview.png", &dirs);

    browser.go(&format!("{base}/status/schedules"));
    let schedules = browser.script(PROBE, &[]);
    assert_eq!(schedules["schedules"], 1, "{}", schedules["text"]);
    let text = schedules["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(CRON) && text.contains(GUILD_NAME) && text.contains("UTC"),
        "{text}"
    );

    browser.go(&format!("{base}/status/jobs"));
    let jobs = browser.script(PROBE, &[]);
    assert_eq!(
        (jobs["jobs"].as_u64(), jobs["failed"].as_u64()),
        (Some(2), Some(1)),
        "{}",
        jobs["text"]
    );
    assert!(jobs["text"]
        .as_str()
        .unwrap_or_default()
        .contains(JOB_ERROR));

    browser.go(&format!("{base}/status/plots"));
    let plots = browser.script(PROBE, &[]);
    assert_eq!(plots["plots"], 3, "{}", plots["text"]);
    assert!(
        plots["points"].as_u64() > Some(0) && plots["bars"].as_u64() > Some(0),
        "{plots}"
    );
    assert_eq!(plots["limits"], 1, "the token budget line");
    browser.screenshot("plots.png", &dirs);

    for page in [&overview, &schedules, &jobs, &plots] {
        assert!(
            !page["html"].as_str().unwrap_or_default().contains(MARKER),
            "content leaked"
        );
    }

    // A phone-sized viewport: the overview still renders (cards stack) for the README.
    browser.resize(420, 900);
    browser.go(&format!("{base}/status"));
    assert_eq!(browser.script(PROBE, &[])["plots"], 0);
    browser.screenshot("overview-phone.png", &dirs);

    // Logging out ends the session: the views send you back to the login page.
    browser.click("header form button");
    browser.wait_for_path("/status/login");
    browser.go(&format!("{base}/status/plots"));
    assert_eq!(browser.path(), "/status/login");
    assert!(shots.path().join("overview.png").is_file());
}
