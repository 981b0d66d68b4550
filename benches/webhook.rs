//! Webhook benchmark: signed, deduplicated, durably queued requests per second and p50/p99
//! latency from a bounded load generator on loopback, then the same with 10% duplicates and 10%
//! bad signatures mixed in. The server runs in-process with its worker pool, twice: with jobs
//! that post to a stand-in for Discord (500 ms per post, as in production the workers mostly
//! wait), and with jobs that finish at once (the workers' durable writes compete with the
//! enqueues for every disk sync: the worst case).
//!
//! Run with `cargo bench --bench webhook [-- REQUESTS CLIENTS HTTP_THREADS]`; prints one line
//! per run. Defaults: 20,000 requests, 64 keep-alive connections, `webhook.http_threads`' default.

#[path = "../tests/support/webhook_http.rs"]
#[allow(dead_code, reason = "the tests use other parts of the client")]
mod http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use summarybot::config::Config;
use summarybot::jobs::{BoxFuture, JobRunner, PartLog, PublishError, Publisher};
use summarybot::model::{ChannelId, Summary};
use summarybot::secret::Secret;
use summarybot::store::Store;
use summarybot::webhook::signature::sign_header;

const SECRET: &str = "bench-secret-0123456789abcdef0123456789";
/// Default total requests per run and concurrent keep-alive connections.
const REQUESTS: usize = 20_000;
const CLIENTS: usize = 64;

/// What one request of a mixed run is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fresh,
    Duplicate,
    BadSignature,
}

/// Latencies and status counts of one run.
struct Run {
    latencies: Vec<Duration>,
    statuses: [usize; 4],
    elapsed: Duration,
}

/// How long the stand-in for Discord takes to post a summary (a REST call from a Pi).
const POST_TIME: Duration = Duration::from_millis(500);

/// Stands in for Discord: every post succeeds after [`POST_TIME`].
struct SlowDiscord;

impl Publisher for SlowDiscord {
    fn post_summary(&self, _: ChannelId, _: &Summary) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async {
            tokio::time::sleep(POST_TIME).await;
            Ok(())
        })
    }

    fn post_summary_once<'a>(
        &'a self,
        channel: ChannelId,
        summary: &Summary,
        _: &str,
        _: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        self.post_summary(channel, summary)
    }

    fn post_text<'a>(
        &'a self,
        _: ChannelId,
        _: &str,
        _: &str,
        _: &'a PartLog,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async {
            tokio::time::sleep(POST_TIME).await;
            Ok(())
        })
    }
}

/// What the queued jobs do while the load runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Jobs {
    /// Summarize and post to Discord (taking [`POST_TIME`]), as in production.
    Posting,
    /// Summarize an empty window and finish at once: the workers' own durable writes (claim,
    /// result) compete with the enqueues for the disk all the time.
    Instant,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let requests = args.next().and_then(|a| a.parse().ok()).unwrap_or(REQUESTS);
    let clients = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(CLIENTS)
        .max(1);
    let mut config = Config::default();
    if let Some(threads) = args.next().and_then(|a| a.parse().ok()) {
        config.webhook.http_threads = threads;
    }
    config.webhook.enabled = true;
    config.webhook.host = "127.0.0.1".into();
    config.webhook.port = 0;
    config.webhook.secret = Secret::new(SECRET);
    config.webhook.rate_limit_per_minute = u32::MAX;
    println!(
        "webhook bench: {requests} requests over {clients} keep-alive connections, {} request threads, {} job workers",
        config.webhook.http_threads, config.jobs.workers
    );
    for jobs in [Jobs::Posting, Jobs::Instant] {
        bench(&config, jobs, requests, clients)?;
    }
    Ok(())
}

/// One server on a fresh database: the clean run, the mixed run, the group-commit figure.
fn bench(
    config: &Config,
    jobs: Jobs,
    requests: usize,
    clients: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(&dir.path().join("bench.redb"))?);
    let rt = tokio::runtime::Runtime::new()?;
    let (runner, web) = {
        let _guard = rt.enter();
        let publisher: Option<Arc<dyn Publisher>> = match jobs {
            Jobs::Posting => Some(Arc::new(SlowDiscord)),
            Jobs::Instant => None,
        };
        let service = Arc::new(
            summarybot::channel_summary::ChannelSummaries::new(
                config.clone(),
                Arc::clone(&store),
                true,
            )
            .map_err(|e| format!("cannot build the summary service: {e}"))?,
        );
        let runner = JobRunner::start(config, &service, publisher)?;
        let web = summarybot::webhook::start(config, &store, &runner, Arc::default(), None)?;
        (runner, web)
    };
    let addr = web.addr();
    let label = match jobs {
        Jobs::Posting => "jobs posting to Discord",
        Jobs::Instant => "jobs finishing at once",
    };
    let post = jobs == Jobs::Posting;
    let clean = load(addr, requests, clients, "clean", 0, post)?;
    report(&format!("signed, unique; {label}"), &clean);
    let mixed = load(addr, requests, clients, "mixed", 10, post)?;
    report(
        &format!("10% duplicates, 10% bad signatures; {label}"),
        &mixed,
    );
    let metrics = http::request(addr, "GET", "/metrics", &[], b"")?.body;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let commits = value("summarybot_enqueue_commits_total ");
    let submissions = value("summarybot_enqueue_submissions_total ");
    println!(
        "webhook group commit ({label}): {submissions} deliveries in {commits} durable commits ({:.1} per commit)",
        submissions / commits.max(1.0)
    );
    rt.block_on(async {
        web.shutdown().await;
        runner.shutdown(Duration::from_secs(10)).await;
    });
    Ok(())
}

/// Send `requests` over `clients` connections; `mix_percent` each of duplicates and bad
/// signatures.
fn load(
    addr: SocketAddr,
    requests: usize,
    clients: usize,
    run: &str,
    mix_percent: usize,
    post: bool,
) -> Result<Run, Box<dyn std::error::Error>> {
    let per_client = requests / clients;
    // Every connection is opened and warmed up with one request before the clock starts, so the
    // figures measure requests, not connection setup.
    let mut threads = Vec::with_capacity(clients);
    let mut start_clients = Vec::with_capacity(clients);
    for c in 0..clients {
        let mut conn = http::Conn::open(addr)?;
        conn.send("GET", "/health", &[], b"")?;
        let (go, wait) = std::sync::mpsc::channel::<()>();
        start_clients.push(go);
        let run = run.to_string();
        threads.push(std::thread::spawn(move || {
            wait.recv().map_err(|e| e.to_string())?;
            client(conn, &run, c, per_client, mix_percent, post)
        }));
    }
    let start = Instant::now();
    for go in start_clients {
        go.send(())?;
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut statuses = [0; 4];
    for thread in threads {
        let (lat, st) = thread.join().map_err(|_| "a client thread panicked")??;
        latencies.extend(lat);
        for (total, n) in statuses.iter_mut().zip(st) {
            *total += n;
        }
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Run {
        latencies,
        statuses,
        elapsed,
    })
}

type ClientResult = Result<(Vec<Duration>, [usize; 4]), String>;

/// One keep-alive connection sending its share; counts 202, 200, 401 and anything else.
fn client(
    mut conn: http::Conn,
    run: &str,
    c: usize,
    count: usize,
    mix: usize,
    post: bool,
) -> ClientResult {
    let mut latencies = Vec::with_capacity(count);
    let mut statuses = [0; 4];
    for i in 0..count {
        let kind = match (i * 7 + c) % 100 {
            n if n < mix => Kind::Duplicate,
            n if n < 2 * mix => Kind::BadSignature,
            _ => Kind::Fresh,
        };
        let n = if kind == Kind::Duplicate && i > 0 {
            i - 1
        } else {
            i
        };
        let post_to = if post {
            r#","post_to_channel_id":"9""#
        } else {
            ""
        };
        // The signature covers the body alone, so a delivery is told apart by its body.
        let id = format!("{run}-{c}-{n}");
        let body = format!(
            r#"{{"type":"summary_request","channel_id":"{}","hours":1,"request_id":"{id}"{post_to}}}"#,
            c + 1
        );
        let sig = if kind == Kind::BadSignature {
            sign_header(b"wrong secret", body.as_bytes())
        } else {
            sign_header(SECRET.as_bytes(), body.as_bytes())
        };
        let sent = Instant::now();
        let response = conn
            .send(
                "POST",
                "/webhook",
                &[("X-Signature-256", &sig)],
                body.as_bytes(),
            )
            .map_err(|e| e.to_string())?;
        latencies.push(sent.elapsed());
        let slot = match response.status {
            202 => 0,
            200 => 1,
            401 => 2,
            _ => 3,
        };
        statuses[slot] += 1;
    }
    Ok((latencies, statuses))
}

/// Print one line.
fn report(name: &str, run: &Run) {
    let pct = |p: usize| {
        run.latencies
            .get((run.latencies.len() * p / 100).min(run.latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rate = run.latencies.len() as f64 / run.elapsed.as_secs_f64();
    println!(
        "webhook {name}: {} requests in {:.2} s = {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (202 queued {}, 200 duplicate {}, 401 {}, other {})",
        run.latencies.len(),
        run.elapsed.as_secs_f64(),
        pct(50).as_secs_f64() * 1000.0,
        pct(99).as_secs_f64() * 1000.0,
        run.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        run.statuses[0],
        run.statuses[1],
        run.statuses[2],
        run.statuses[3],
    );
}
