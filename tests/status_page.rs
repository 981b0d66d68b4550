//! Black-box HTTP tests of the admin status page: the real binary on a loopback port with a
//! seeded database. Off by default; login with CSRF, cookie flags and rate limiting; every view
//! and JSON twin; security headers; malformed input; and no message content or summary text in
//! any response.

mod support;

use std::process::Stdio;

use support::status_site::{
    form_encode, form_token, set_cookies, StatusServer, CRON, GUILD_NAME, JOB_ERROR, MARKER,
    PASSWORD,
};
use support::webhook_http::{request, Response};

const VIEWS: [&str; 5] = [
    "/status",
    "/status/",
    "/status/schedules",
    "/status/jobs",
    "/status/plots",
];
const APIS: [&str; 4] = [
    "/status/api/overview",
    "/status/api/schedules",
    "/status/api/jobs",
    "/status/api/plots",
];

fn assert_security_headers(r: &Response, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(r.header(name), Some(value), "{what}: {name}");
    }
}

fn assert_no_content(r: &Response, what: &str) {
    assert!(
        !r.body.contains(MARKER),
        "{what} leaks message content or summary text: {}",
        r.body
    );
}

#[test]
fn the_page_is_off_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    std::fs::write(
        dir.path().join("summarybot.toml"),
        format!(
            "[discord]\nenabled = false\n[scheduler]\nenabled = false\n[storage]\npath = \"s.redb\"\n\
             [webhook]\nenabled = true\nport = {port}\nsecret = \"{}\"\n",
            support::status_site::SECRET
        ),
    )
    .expect("config");
    let mut child = support::summarybot(dir.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !request(addr, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200) {
        assert!(std::time::Instant::now() < deadline, "server not ready");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for path in [
        "/status",
        "/status/login",
        "/status/api/overview",
        "/status/static/style.css",
    ] {
        let r = request(addr, "GET", path, &[], b"").expect("request");
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(r.body.contains("status.enabled"), "{}", r.body);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn enabling_without_a_password_hash_is_a_clear_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("summarybot.toml"),
        format!(
            "[discord]\nenabled = false\n[webhook]\nenabled = true\nsecret = \"{}\"\n[status]\nenabled = true\n",
            support::status_site::SECRET
        ),
    )
    .expect("config");
    let out = support::summarybot(dir.path())
        .arg("run")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("status.password_hash"), "{stderr}");
    assert!(
        stderr.contains("summarybot status hash-password"),
        "{stderr}"
    );

    std::fs::write(
        dir.path().join("summarybot.toml"),
        "[discord]\nenabled = false\n[status]\nenabled = true\npassword_hash = \"hunter2\"\n",
    )
    .expect("config");
    let out = support::summarybot(dir.path())
        .arg("run")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a usable password hash"), "{stderr}");
    assert!(stderr.contains("webhook.enabled = true"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "secrets are never echoed: {stderr}"
    );
}

#[test]
fn hash_password_refuses_short_passwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = support::summarybot(dir.path())
        .args(["status", "hash-password"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"short\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
}

#[test]
fn unauthenticated_requests_go_to_the_login_page() {
    let server = StatusServer::start("");
    for path in VIEWS {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/status/login"), "{path}");
        assert_security_headers(&r, path);
    }
    for path in APIS {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 401, "{path}");
        assert!(r.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("POST /status/login"));
        assert_security_headers(&r, path);
    }
    // A made-up or expired session cookie is no better.
    let r = server.get("/status/jobs", &[("Cookie", "sb_session=0123abcd")]);
    assert_eq!(r.status, 303);
    // The stylesheet and script are public and typed.
    let css = server.get("/status/static/style.css", &[]);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let js = server.get("/status/static/app.js", &[]);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.body.contains("time[datetime]"));
    let login = server.get("/status/login", &[]);
    assert_security_headers(&login, "login");
    assert!(login.body.contains(r#"type="password""#));
    assert!(!login.body.contains("<script>"), "no inline script");
}

#[test]
fn login_sets_strict_cookies_and_needs_the_csrf_token() {
    let server = StatusServer::start("");
    let (cookie, csrf) = server.login_form(&[]);
    let login_cookie = set_cookies(&server.get("/status/login", &[])).join("\n");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/status"] {
        assert!(login_cookie.contains(flag), "{login_cookie}");
    }
    assert!(
        !login_cookie.contains("Secure"),
        "plain HTTP: {login_cookie}"
    );
    let password = form_encode(PASSWORD);

    // Without the cookie, or with a token that does not match it: 403.
    let r = server.post_form(
        "/status/login",
        &[],
        &format!("csrf={csrf}&password={password}"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = server.post_form(
        "/status/login",
        &[("Cookie", &cookie)],
        &format!("csrf=other&password={password}"),
    );
    assert_eq!(r.status, 403, "{}", r.body);

    let r = server.post_form(
        "/status/login",
        &[("Cookie", &cookie)],
        &format!("csrf={csrf}&password={password}"),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/status"));
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("sb_session="))
        .expect("session cookie");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/status",
        "Max-Age=43200",
    ] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "{session}");
    let pair = session.split(';').next().expect("pair");
    assert_eq!(server.get("/status", &[("Cookie", pair)]).status, 200);
    // Logged in, the login page sends you home.
    assert_eq!(server.get("/status/login", &[("Cookie", pair)]).status, 303);
}

#[test]
fn cookies_are_secure_behind_a_tls_proxy() {
    let server = StatusServer::start("");
    let https = [("X-Forwarded-Proto", "https")];
    let r = server.get("/status/login", &https);
    assert!(
        set_cookies(&r).iter().all(|c| c.contains("; Secure")),
        "{:?}",
        set_cookies(&r)
    );
    let secure = StatusServer::start("secure_cookies = true");
    let r = secure.get("/status/login", &[]);
    assert!(set_cookies(&r).iter().all(|c| c.contains("; Secure")));
}

#[test]
fn wrong_passwords_get_401_then_429() {
    let server = StatusServer::start("login_attempts_per_minute = 3");
    let (cookie, csrf) = server.login_form(&[]);
    let attempt = |password: &str| {
        server.post_form(
            "/status/login",
            &[("Cookie", &cookie)],
            &format!("csrf={csrf}&password={}", form_encode(password)),
        )
    };
    for _ in 0..3 {
        let r = attempt("not the password");
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("Wrong password."));
        assert!(set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("sb_session=")));
    }
    // Even the right password waits now.
    let r = attempt(PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.body.contains("Too many login attempts"));
    assert!(server.log().contains("status page login failed"));
}

#[test]
fn every_view_and_api_shows_metadata_and_never_content() {
    let server = StatusServer::start("");
    server.summarize_via_webhook();
    let cookie = server.login();
    let auth = [("Cookie", cookie.as_str())];
    let (done, failed) = server.jobs;

    let overview = server.get("/status", &auth);
    assert_eq!(overview.status, 200);
    assert_eq!(
        overview.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for needle in [
        "Healthy",
        "Database",
        "Workers",
        "Scheduler",
        "Version",
        "Last commit",
        r#"name="viewport""#,
    ] {
        assert!(overview.body.contains(needle), "overview lacks {needle}");
    }
    let schedules = server.get("/status/schedules", &auth);
    for needle in [
        CRON,
        GUILD_NAME,
        "#general",
        "Europe/Berlin",
        "<time datetime=",
    ] {
        assert!(
            schedules.body.contains(needle),
            "schedules lack {needle}: {}",
            schedules.body
        );
    }
    let jobs = server.get("/status/jobs", &auth);
    for needle in [
        format!(r#"data-id="{done}""#),
        format!(r#"data-id="{failed}""#),
        "schedule".into(),
        "webhook".into(),
        JOB_ERROR.into(),
        "4.2 s".into(),
        "Duration is the time from enqueueing".into(),
    ] {
        assert!(
            jobs.body.contains(&needle),
            "jobs lack {needle}: {}",
            jobs.body
        );
    }
    let plots = server.get("/status/plots", &auth);
    assert_eq!(plots.body.matches("<svg").count(), 3, "{}", plots.body);
    for needle in [
        "budget 50k",
        GUILD_NAME,
        "p95",
        r#"class="bar""#,
        r#"class="point""#,
    ] {
        assert!(plots.body.contains(needle), "plots lack {needle}");
    }

    for path in VIEWS {
        let r = server.get(path, &auth);
        assert_eq!(r.status, 200, "{path}");
        assert_security_headers(&r, path);
        assert_no_content(&r, path);
    }
    for path in APIS {
        let r = server.get(path, &auth);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{path}"
        );
        assert_security_headers(&r, path);
        assert_no_content(&r, path);
    }
    assert_no_content(&server.get("/status/login", &[]), "login");

    check_api_values(&server, &auth, done);
}

/// The JSON twins carry the seeded numbers.
fn check_api_values(server: &StatusServer, auth: &[(&str, &str)], done: u64) {
    let api = server.get("/status/api/overview", auth).json();
    assert_eq!(api["store"]["ok"], true);
    assert!(api["store"]["last_commit"].as_i64().is_some(), "{api}");
    assert_eq!(api["workers"]["failed"], 1);
    assert_eq!(api["cost"]["tokens_today"], 12_500);
    assert_eq!(api["cost"]["tokens_30_days"], 12_500 + 61_500 + 3_500);
    assert_eq!(api["recent_failures"][0]["error"], JOB_ERROR);
    let api = server.get("/status/api/schedules", auth).json();
    assert_eq!(api["schedules"][0]["cron"], CRON);
    assert_eq!(api["schedules"][0]["guild"]["name"], GUILD_NAME);
    assert_eq!(api["schedules"][0]["last_outcome"]["job_id"], done);
    assert_eq!(api["schedules"][0]["last_outcome"]["state"], "done");
    let api = server.get("/status/api/jobs", auth).json();
    let rows = api["jobs"].as_array().expect("jobs");
    assert_eq!(rows.len(), 3, "two seeded and one webhook job: {api}");
    let seeded = rows.iter().find(|j| j["id"] == done).expect("done job");
    assert_eq!(
        (seeded["trigger"].as_str(), seeded["duration_ms"].as_i64()),
        (Some("schedule"), Some(4200))
    );
    let api = server.get("/status/api/plots", auth).json();
    assert_eq!(api["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(api["daily_token_budget"], 50_000);
    assert_eq!(api["tokens"][0]["tokens"][29], 12_500);
    let ingested: u64 = api["messages_per_hour"]
        .as_array()
        .expect("hours")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .sum();
    assert_eq!(ingested, 15);
    let summaries: u64 = api["summaries"]
        .as_array()
        .expect("days")
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .sum();
    assert_eq!(
        summaries, 5,
        "four seeded latencies and the webhook job's summary"
    );
}

#[test]
fn logout_needs_the_csrf_token_and_ends_the_session() {
    let server = StatusServer::start("");
    let cookie = server.login();
    let auth = [("Cookie", cookie.as_str())];
    let csrf = form_token(&server.get("/status", &auth).body);
    let r = server.post_form("/status/logout", &auth, "csrf=wrong");
    assert_eq!(r.status, 403);
    assert_eq!(server.get("/status", &auth).status, 200, "still logged in");
    let r = server.post_form("/status/logout", &auth, &format!("csrf={csrf}"));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/status/login"));
    assert!(set_cookies(&r)
        .iter()
        .any(|c| c.starts_with("sb_session=;") && c.contains("Max-Age=0")));
    assert_eq!(
        server.get("/status", &auth).status,
        303,
        "the session is gone"
    );
    assert_eq!(server.get("/status/api/jobs", &auth).status, 401);
}

#[test]
fn malformed_requests_get_clear_errors() {
    let server = StatusServer::start("");
    let cookie = server.login();
    let auth = [("Cookie", cookie.as_str())];
    let (login_cookie, csrf) = server.login_form(&[]);
    let with_login = [("Cookie", login_cookie.as_str())];
    let r = server.post_form("/status/login", &with_login, "csrf=%zz&password=x");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("urlencoded"));
    let big = format!("csrf={csrf}&password={}", "a".repeat(5000));
    let r = server.post_form("/status/login", &with_login, &big);
    assert_eq!(r.status, 413);
    let r = server.post_form("/status/login", &with_login, &format!("csrf={csrf}"));
    assert_eq!(r.status, 401, "a missing password is a wrong one");
    assert_eq!(server.get("/status/nope", &auth).status, 404);
    let r = server.get("/status/api/nope", &auth);
    assert_eq!(r.status, 404);
    assert!(r.body.contains("overview, schedules, jobs or plots"));
    let r = request(server.addr, "PUT", "/status", &auth, b"").expect("put");
    assert_eq!(r.status, 405);
    let r = request(server.addr, "DELETE", "/status/login", &[], b"").expect("delete");
    assert_eq!(r.status, 405);
    assert_eq!(server.get("/status/logout", &auth).status, 405);
    assert_eq!(server.get("/status/../health", &[]).status, 404);
}
