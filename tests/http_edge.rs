//! Black-box tests of the webhook server's edge against what a hostile or broken client can do:
//! the real binary on a loopback port, its open-files limit lowered with `prlimit` (util-linux),
//! and its threads, descriptors and memory read from `/proc`. A flood of idle connections, a
//! descriptor shortage, a huge or endless header, a trickled body and a non-ASCII header must
//! each get an answer and a closed connection, never a dead or bloated process.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use support::bot_process::BotProcess;
use support::webhook_http::{self as http, request};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

/// The bot with the webhook on and `webhook_extra` in `[webhook]`, healthy.
struct Edge {
    _dir: tempfile::TempDir,
    bot: BotProcess,
    addr: SocketAddr,
}

impl Edge {
    fn start(webhook_extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = http::free_port();
        let config = format!(
            "[discord]\nenabled = false\n[scheduler]\nenabled = false\n[storage]\npath = \"db/s.redb\"\n\
             [webhook]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nsecret = \"{SECRET}\"\n\
             rate_limit_per_minute = 100000\n{webhook_extra}\n"
        );
        let mut bot = BotProcess::start(dir.path(), &config);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        bot.wait_healthy(addr);
        Self {
            _dir: dir,
            bot,
            addr,
        }
    }

    fn pid(&self) -> u32 {
        self.bot.pid()
    }

    /// A number from `/proc/PID/status` (`Threads`, `VmRSS` in kB).
    fn status(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_else(|e| panic!("the bot is gone ({e}):\n{}", self.bot.log()));
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    }

    /// Its open descriptors' numbers.
    fn descriptors(&self) -> Vec<u64> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("fd dir")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// Lower its open-files limit so that exactly `free` descriptor numbers are left (a new
    /// descriptor takes the lowest free number below the limit), once the connections of
    /// earlier requests are closed (its descriptors unchanged for 300 ms).
    fn leave_descriptors(&self, free: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut used = self.descriptors();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.descriptors();
            if now == used || Instant::now() > deadline {
                break;
            }
            used = now;
        }
        let mut limit = free;
        while used.iter().filter(|&&fd| fd < limit).count() as u64 + free > limit {
            limit += 1;
        }
        let status = Command::new("prlimit")
            .args([
                "--pid",
                &self.pid().to_string(),
                &format!("--nofile={limit}:{limit}"),
            ])
            .status()
            .expect("prlimit (util-linux) runs");
        assert!(status.success(), "prlimit --nofile={limit} failed");
    }

    fn alive(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}/status", self.pid())).exists()
    }

    fn metric(&self, name: &str) -> u64 {
        let text = request(self.addr, "GET", "/metrics", &[], b"")
            .expect("metrics")
            .body;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }

    /// `GET /health` answers 200 again within a few seconds (connections closed by the test are
    /// noticed by the server's connection threads on their next read).
    fn healthy_again(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match request(self.addr, "GET", "/health", &[], b"") {
                Ok(r) if r.status == 200 => return,
                other => assert!(
                    Instant::now() < deadline,
                    "no healthy answer: {other:?}\n{}",
                    self.bot.log()
                ),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What a connection got within `wait`: the bytes, and whether the server closed it.
fn received(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    match http::wait_closed(stream, Instant::now() + wait) {
        Ok(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), true),
        Err(_) => (String::new(), false),
    }
}

/// More idle connections than `webhook.max_connections`, under an open-files limit that would
/// fit 56 connections: the bot holds 16 (with 16 connection threads), answers every other one
/// 503 at once, lives, counts them, and is healthy again once the flood ends. Before the cap,
/// each connection took two descriptors and a thread until `try_clone` found none and panicked.
#[test]
fn a_connection_flood_is_capped_and_counted_and_the_bot_lives() {
    const CAP: usize = 16;
    let edge = Edge::start(&format!("max_connections = {CAP}\nread_timeout = \"30s\""));
    let threads_before = edge.status("Threads");
    let fds_before = edge.descriptors().len();
    // Room for 56 connections and one more descriptor: without the cap the 57th accept takes
    // the last descriptor and its second one cannot be had.
    edge.leave_descriptors(2 * 56 + 1);

    let mut flood: Vec<TcpStream> = (0..120)
        .map(|i| TcpStream::connect(edge.addr).unwrap_or_else(|e| panic!("connect {i}: {e}")))
        .collect();
    let mut refused = 0;
    for stream in &mut flood {
        let (text, closed) = received(stream, Duration::from_millis(200));
        if closed {
            assert!(
                text.starts_with("HTTP/1.1 503") && text.contains("webhook.max_connections"),
                "{text}"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 120 - CAP, "connections over the cap are refused");

    // A real client during the flood gets a prompt answer too: 503, not a hang.
    let busy = request(edge.addr, "GET", "/health", &[], b"").expect("answered at once");
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.json()["error"], "unavailable");

    assert!(edge.alive(), "{}", edge.bot.log());
    let threads = edge.status("Threads");
    assert!(
        threads <= threads_before + CAP as u64 + 4,
        "{threads} threads (before: {threads_before})"
    );
    let fds = edge.descriptors().len();
    assert!(
        fds <= fds_before + 2 * CAP + 1,
        "{fds} descriptors (before: {fds_before})"
    );

    drop(flood);
    edge.healthy_again();
    assert!(
        edge.metric("summarybot_http_connections_refused_total") >= (120 - CAP + 1) as u64,
        "{}",
        edge.bot.log()
    );
    assert!(!edge.bot.log().contains("panicked"), "{}", edge.bot.log());
}

/// Descriptors run out below `webhook.max_connections`: a connection whose second descriptor
/// cannot be had is closed and counted, one that finds none at all waits in the backlog, never
/// a panic, and the server takes connections again once descriptors are free. Which of the two
/// a flood meets depends on whether an odd or even number of descriptors is left (the process
/// may hold one more than the test saw), so the flood runs with both.
#[test]
fn running_out_of_descriptors_closes_connections_without_a_crash() {
    let edge = Edge::start("max_connections = 256\nread_timeout = \"30s\"");
    let mut closed = 0;
    // The higher first: a hard limit can be lowered but not raised again.
    for free in [2 * 5 + 2, 2 * 5 + 1] {
        edge.leave_descriptors(free);
        let mut flood: Vec<TcpStream> = (0..12)
            .map(|i| TcpStream::connect(edge.addr).unwrap_or_else(|e| panic!("connect {i}: {e}")))
            .collect();
        // With one descriptor left, the next connection gets it for itself but none for its
        // second handle, and is closed at once.
        closed += flood
            .iter_mut()
            .map(|s| received(s, Duration::from_millis(300)).1)
            .filter(|&closed| closed)
            .count();
        assert!(edge.alive(), "{}", edge.bot.log());
        drop(flood);
        edge.healthy_again();
    }
    assert!(
        closed >= 1,
        "the connections without a descriptor are closed"
    );
    assert!(edge.metric("summarybot_http_connections_refused_total") >= 1);
    assert!(!edge.bot.log().contains("panicked"), "{}", edge.bot.log());
}

/// A chunked body whose chunk-size line never ends, and an upgrade whose body is the raw
/// connection, are answered at once (411 and 400) and closed, without reading anything of them.
#[test]
fn chunked_bodies_and_upgrades_are_refused_at_once_and_closed() {
    let edge = Edge::start("");
    let rss_before = edge.status("VmRSS");
    let heads: [(&[u8], &str); 2] = [
        (
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            " 411 ",
        ),
        (
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: x\r\nContent-Length: 10\r\n\r\n",
            " 400 ",
        ),
    ];
    for (head, status) in heads {
        let mut stream = TcpStream::connect(edge.addr).expect("connect");
        stream.write_all(head).expect("head");
        // Endless hex digits (a chunk size that never ends), sent while the answer comes.
        let _ = stream.write_all(&vec![b'f'; 64 * 1024]);
        let (answer, closed) = received(&mut stream, Duration::from_secs(3));
        assert!(answer.contains(status), "{answer}");
        assert!(closed, "the connection is closed after {status}");
    }
    assert!(edge.status("VmRSS") < rss_before + 4 * 1024, "memory grew");
    assert!(edge.alive(), "{}", edge.bot.log());
}

/// A request head of 64 MiB (one `X-Big` header) is answered 431 after 16 KiB and closed, and
/// the bot's memory stays where it was (0.12.0 buffered the whole line); 40 headers of 500
/// bytes (20 KB in all) are refused too, while a 12 KiB header still passes.
#[test]
fn an_oversized_header_is_431_and_memory_stays_flat() {
    let edge = Edge::start("");
    let big = "x".repeat(12 * 1024);
    let fine = request(edge.addr, "GET", "/health", &[("X-Big", &big)], b"").expect("answered");
    assert_eq!(fine.status, 200, "12 KiB of headers pass: {}", fine.body);
    let rss_before = edge.status("VmRSS");

    let mut stream = TcpStream::connect(edge.addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = writer.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
        for _ in 0..1024 {
            if sent.is_err() {
                break;
            }
            sent = writer.write_all(&chunk);
        }
        sent.and_then(|()| writer.write_all(b"\r\n\r\n"))
    });
    let (text, closed) = received(&mut stream, Duration::from_secs(20));
    assert!(closed, "the connection is closed");
    assert!(
        text.starts_with("HTTP/1.1 431") && text.contains("\"error\":\"headers_too_large\""),
        "{text}"
    );
    assert!(
        sender.join().expect("sender").is_err(),
        "the server stopped reading long before 64 MiB"
    );
    let rss_after = edge.status("VmRSS");
    assert!(
        rss_after < rss_before + 4 * 1024,
        "VmRSS grew from {rss_before} kB to {rss_after} kB"
    );

    let many = "y".repeat(500);
    let names: Vec<String> = (0..40).map(|i| format!("X-Many-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), many.as_str())).collect();
    let r = request(edge.addr, "GET", "/health", &headers, b"").expect("answered");
    assert_eq!(r.status, 431, "{}", r.body);
    assert!(edge.metric("summarybot_http_requests_total{route=\"unparsed\",status=\"431\"}") >= 2);
}

/// Header bytes trickled one per 250 ms never let a single read time out; the head as a whole
/// must still arrive within `webhook.read_timeout` (2 s) of its first byte, else 408 and the
/// connection is closed (it used to stay open for as long as the trickle lasted).
#[test]
fn a_header_trickle_is_408_and_closed_at_the_deadline() {
    let edge = Edge::start("read_timeout = \"2s\"");
    let (text, open_for) = trickle(
        edge.addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_secs(15),
    );
    assert_408_at_the_deadline(&text, open_for);
    // Its connection thread is gone too: a normal request is still answered at once.
    let r = request(edge.addr, "GET", "/health", &[], b"").expect("health");
    assert_eq!(r.status, 200);
}

/// A body trickled one byte per 250 ms gets its 408 once `webhook.read_timeout` (2 s) has
/// passed, and the connection is closed right after (the rest of the body used to be drained
/// at the client's pace, keeping the connection open for minutes).
#[test]
fn a_trickled_body_is_408_and_the_connection_closes() {
    let edge = Edge::start("read_timeout = \"2s\"");
    let (text, open_for) = trickle(
        edge.addr,
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\nX-Signature-256: sha256=00\r\n\r\n{",
        Duration::from_secs(15),
    );
    assert_408_at_the_deadline(&text, open_for);
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
}

/// The same for a small body (up to 1 KiB, which tiny_http used to read before the handler ran,
/// bounded only per read: the trickle held the connection for minutes).
#[test]
fn a_trickled_small_body_is_408_and_the_connection_closes() {
    let edge = Edge::start("read_timeout = \"2s\"");
    let (text, open_for) = trickle(
        edge.addr,
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 512\r\nX-Signature-256: sha256=00\r\n\r\n{",
        Duration::from_secs(15),
    );
    assert_408_at_the_deadline(&text, open_for);
}

/// A 408 naming `webhook.read_timeout`, with the connection closed about 2 s (the configured
/// `read_timeout`) after the first byte.
fn assert_408_at_the_deadline(text: &str, open_for: Duration) {
    assert!(
        text.starts_with("HTTP/1.1 408") && text.contains("webhook.read_timeout"),
        "{text}"
    );
    assert!(
        open_for >= Duration::from_millis(1900) && open_for < Duration::from_secs(5),
        "closed after {open_for:?}"
    );
}

/// Send `head`, then one more byte every 250 ms until the server closes the connection (or
/// `give_up` passes): what it answered and how long the connection was open.
fn trickle(addr: SocketAddr, head: &[u8], give_up: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(head).expect("head");
    let mut writer = stream.try_clone().expect("clone");
    std::thread::spawn(move || {
        while started.elapsed() < give_up && writer.write_all(b"a").is_ok() {
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let sent = http::wait_closed(&mut stream, started + give_up)
        .unwrap_or_else(|e| panic!("still open after {give_up:?}: {e}"));
    (
        String::from_utf8_lossy(&sent).into_owned(),
        started.elapsed(),
    )
}

/// A header value with a byte outside ASCII gets a 400 in the server's JSON error shape (the
/// connection used to close without an answer), and the connection is closed.
#[test]
fn a_non_ascii_header_is_400_with_a_json_error() {
    let edge = Edge::start("");
    let mut stream = http::open_raw(
        edge.addr,
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Name: café\r\n\r\n".as_bytes(),
    )
    .expect("send");
    let (text, closed) = received(&mut stream, Duration::from_secs(10));
    assert!(closed, "the connection is closed");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let body = &text[text.find("\r\n\r\n").expect("a body") + 4..];
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(json["error"], "bad_request");
    assert!(
        json["detail"].as_str().is_some_and(|d| d.contains("ASCII")),
        "{json}"
    );
    assert_eq!(
        edge.metric("summarybot_http_requests_total{route=\"unparsed\",status=\"400\"}"),
        1
    );
}
