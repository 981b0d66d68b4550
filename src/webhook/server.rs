//! The HTTP server's lifecycle: tiny_http accepts connections on a listener whose timeouts every
//! connection inherits ([`super::listener`]), at most `webhook.max_connections` at once, each
//! request head within [`MAX_HEAD_BYTES`] and `webhook.read_timeout`. Each request is answered on
//! its connection's own thread with the rouille handler in [`super::routes`], at most
//! `webhook.http_threads` at once (no handoff to another thread and back per request).
//! [`WebServer::shutdown`] stops accepting and waits for in-flight requests.

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::exchange::{self, BodyLimits, Then};
use super::listener;
use super::metrics::Metrics;
use super::permits::Permits;
use super::routes::{self, State};
use super::standard;
use crate::config::Config;
use crate::jobs::JobRunner;
use crate::runtime::Runtime;
use crate::store::Store;
use crate::web::ApiError;
use crate::web::RateLimiter;

/// Most requests whose bodies are still arriving at once (each on its connection's thread,
/// without taking one of the `webhook.http_threads` places); beyond this, 503.
const MAX_UPLOADS: usize = 64;
/// How often shutdown looks whether the in-flight requests finished.
const IN_FLIGHT_CHECK: Duration = Duration::from_millis(10);
/// Metrics route label of requests whose body never arrived.
const UNREAD: &str = "unread";
/// Largest request line plus headers; beyond, 431 and the connection closes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {detail}; check webhook.host and webhook.port (is another program using the port?)")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        detail: String,
    },
    /// A thread could not be started or the queue could not be prepared.
    #[error("cannot start the webhook server: {0}")]
    Other(String),
}

/// The running server.
pub struct WebServer {
    addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    handling: Arc<Handling>,
    /// Reports the accept loop's fatal error.
    watcher: JoinHandle<()>,
}

/// What every connection thread shares to answer its requests (not the tiny_http server, so
/// that dropping it at shutdown closes the listener while connection threads still run).
struct Handling {
    state: State,
    limits: BodyLimits,
    /// Requests handled at once (`webhook.http_threads`).
    handlers: Permits,
    /// Set at shutdown: later requests get 503 and their connections close.
    stop: AtomicBool,
    /// Requests being answered (shutdown waits for them).
    in_flight: AtomicUsize,
    /// Requests whose bodies are still arriving.
    uploads: AtomicUsize,
}

/// Start the server on `webhook.host:webhook.port`, feeding `jobs`; `/health` reports `runtime`.
/// `discord` is the bot's REST client (its rate-limit state is shared), when the bot runs.
pub fn start(
    config: &Config,
    store: &Arc<Store>,
    jobs: &JobRunner,
    runtime: Arc<Runtime>,
    discord: Option<crate::discord::Poster>,
) -> Result<WebServer, StartError> {
    let web = &config.webhook;
    let addr = format!("{}:{}", web.host, web.port);
    let bind_error = |detail: String| StartError::Bind {
        addr: addr.clone(),
        detail,
    };
    let socket = listener::bind(&addr, web.read_timeout).map_err(|e| bind_error(e.to_string()))?;
    let bound = socket.local_addr().map_err(|e| bind_error(e.to_string()))?;
    listener::check_descriptors(web.max_connections);
    let limits = tiny_http::Limits {
        max_connections: web.max_connections,
        max_header_bytes: MAX_HEAD_BYTES,
        header_timeout: Some(web.read_timeout),
        error_page: exchange::error_page,
    };
    let stats = Arc::new(tiny_http::ConnectionStats::default());
    let handling = Arc::new(Handling {
        state: handler_state(
            config,
            store,
            jobs,
            runtime,
            Metrics::new(Arc::clone(&stats)),
            discord,
        )?,
        limits: BodyLimits {
            max_bytes: web.max_body_bytes,
            timeout: web.read_timeout,
        },
        handlers: Permits::new(web.http_threads),
        stop: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        uploads: AtomicUsize::new(0),
    });
    let mine = Arc::clone(&handling);
    let handler: tiny_http::Handler = Arc::new(move |request| handle(&mine, request));
    let http = tiny_http::Server::from_listener_with_handler(socket, None, limits, stats, handler)
        .map_err(|e| StartError::Other(e.to_string()))?;
    let http = Arc::new(http);
    let watcher = spawn_watcher(&http, &handling).map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!(
        address = %bound,
        read_timeout = ?web.read_timeout,
        max_connections = web.max_connections,
        "webhook server listening"
    );
    Ok(WebServer {
        addr: bound,
        http,
        handling,
        watcher,
    })
}

/// The check of a schedule's `post_to_channel_id` against the bot's permissions there, when
/// the bot runs (it runs on the current async runtime, with the bot's REST client).
fn post_access(
    discord: Option<crate::discord::Poster>,
) -> Option<crate::discord::access::PostAccess> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    discord.map(|poster| crate::discord::access::PostAccess::new(poster, runtime))
}

/// The handler's settings and shared parts.
fn handler_state(
    config: &Config,
    store: &Arc<Store>,
    jobs: &JobRunner,
    runtime: Arc<Runtime>,
    metrics: Metrics,
    discord: Option<crate::discord::Poster>,
) -> Result<State, StartError> {
    let web = &config.webhook;
    let secret = web.secret.expose().to_string();
    let live = crate::status::Live {
        store: Arc::clone(store),
        runtime: Arc::clone(&runtime),
        jobs: jobs.stats(),
        workers: jobs.workers(),
    };
    let status = crate::status::StatusSite::new(config, live).map_err(StartError::Other)?;
    Ok(State {
        standard_key: standard::secret_key(&secret),
        secret: secret.into_bytes(),
        bearer_token: web.bearer_token.expose().to_string(),
        max_body_bytes: web.max_body_bytes,
        tolerance: web.timestamp_tolerance,
        idempotency_ttl: web.idempotency_ttl,
        store: Arc::clone(store),
        enqueuer: jobs.enqueuer(),
        limiter: RateLimiter::new(web.rate_limit_per_minute),
        discord_enabled: config.discord.enabled,
        metrics,
        jobs: jobs.stats(),
        workers: jobs.workers(),
        health: crate::health::HealthSources {
            store: Arc::clone(store),
            runtime: Arc::clone(&runtime),
            jobs: jobs.stats(),
            workers: jobs.workers(),
        },
        runtime,
        schedule_rules: crate::schedule::Rules::of(config),
        post_access: post_access(discord),
        status,
    })
}

/// A thread that reports the accept loop's fatal error, if one comes (it blocks without waking
/// up until then or shutdown).
fn spawn_watcher(
    http: &Arc<tiny_http::Server>,
    handling: &Arc<Handling>,
) -> std::io::Result<JoinHandle<()>> {
    let (http, handling) = (Arc::clone(http), Arc::clone(handling));
    std::thread::Builder::new()
        .name("webhook-accept".into())
        .spawn(move || {
            while let Err(e) = http.recv() {
                if handling.stop.load(Ordering::Relaxed) {
                    return;
                }
                // tiny_http's accept thread reports only errors the listener does not recover
                // from (transient ones are retried, see vendor/tiny_http/PATCHES.md), then stops;
                // open connections still get answered.
                tracing::error!(error = %e, "the webhook server stopped accepting connections; restart summarybot");
            }
        })
}

/// Answer one request on its connection's thread: 503 once shutting down; a body still
/// arriving is received here without taking one of the `webhook.http_threads` places (at most
/// [`MAX_UPLOADS`] at once; 503 beyond); any other request waits for a place.
fn handle(handling: &Handling, request: tiny_http::Request) {
    let _counted = Counted::enter(&handling.in_flight);
    if handling.stop.load(Ordering::Relaxed) {
        let closing = ApiError::unavailable("the server is shutting down; retry later");
        handling.state.metrics.record(UNREAD, closing.status);
        exchange::respond(request, closing.response(), Then::Close);
    } else if exchange::body_is_ready(&request) {
        let _place = handling.handlers.acquire();
        serve(handling, request);
    } else {
        upload(handling, request);
    }
}

/// A request counted in an atomic while this lives.
struct Counted<'a> {
    count: &'a AtomicUsize,
    /// How many were counted before this one.
    before: usize,
}

impl<'a> Counted<'a> {
    /// Count one more; the guard counts it off on drop.
    fn enter(count: &'a AtomicUsize) -> Self {
        let before = count.fetch_add(1, Ordering::AcqRel);
        Counted { count, before }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Receive and answer a request whose body is still arriving (at most [`MAX_UPLOADS`] at once;
/// beyond, 503 and the connection closes without the body being read).
fn upload(handling: &Handling, request: tiny_http::Request) {
    let counted = Counted::enter(&handling.uploads);
    if counted.before >= MAX_UPLOADS {
        drop(counted);
        let busy = ApiError::unavailable(format!(
            "{MAX_UPLOADS} request bodies are arriving already; retry later"
        ));
        handling.state.metrics.record(UNREAD, busy.status);
        exchange::respond(request, busy.response(), Then::Close);
        return;
    }
    serve(handling, request);
}

/// Answer one request: read its body, run the handler (a panic becomes a 500), respond; the
/// connection closes when the body was not read to its end (too large, too slow, broken).
fn serve(handling: &Handling, mut request: tiny_http::Request) {
    let (response, then) = match exchange::to_rouille(&mut request, handling.limits) {
        Ok(incoming) => {
            let response = panic::catch_unwind(AssertUnwindSafe(|| {
                routes::handle(&handling.state, &incoming.request)
            }))
            .unwrap_or_else(|_| {
                ApiError::internal("the request handler failed; see the log").response()
            });
            let then = if incoming.body_complete {
                Then::KeepAlive
            } else {
                Then::Close
            };
            (response, then)
        }
        Err(e) => {
            handling.state.metrics.record(UNREAD, e.status);
            (e.response(), Then::Close)
        }
    };
    exchange::respond(request, response, then);
}

impl WebServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting connections and finish in-flight requests; requests that arrive later on
    /// open connections get 503 and their connections close.
    pub async fn shutdown(self) {
        let WebServer {
            http,
            handling,
            watcher,
            ..
        } = self;
        let joined = tokio::task::spawn_blocking(move || {
            handling.stop.store(true, Ordering::Relaxed);
            http.unblock();
            let clean = watcher.join().is_ok();
            // The last reference: dropping tiny_http's server closes the listening socket.
            drop(http);
            wait_for_requests(&handling);
            clean
        })
        .await;
        if !matches!(joined, Ok(true)) {
            tracing::error!("a webhook server thread failed while stopping");
        }
        tracing::info!("webhook server stopped");
    }
}

/// Wait until the requests being answered finished; each is bounded by the body deadline plus
/// one read timeout and the handler's own work.
fn wait_for_requests(handling: &Handling) {
    let deadline = Instant::now() + handling.limits.timeout * 3;
    while handling.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(IN_FLIGHT_CHECK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Mutex;
    use std::thread;
    use tiny_http::{ConnectionStats, Handler, Limits, Request, Response, Server};

    #[test]
    fn tiny_http_answers_each_request_on_its_connections_thread_in_order() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen: Arc<Mutex<Vec<(String, thread::ThreadId)>>> = Arc::default();
        let log = Arc::clone(&seen);
        let handler: Handler = Arc::new(move |rq: Request| {
            log.lock()
                .expect("lock")
                .push((rq.url().to_string(), thread::current().id()));
            let answer = Response::from_string(format!("answer {}", rq.url()));
            let _ = rq.respond(answer);
        });
        let stats = Arc::new(ConnectionStats::default());
        let server = Server::from_listener_with_handler(
            listener,
            None,
            Limits::default(),
            Arc::clone(&stats),
            handler,
        )
        .expect("server");
        let read_answers = |stream: &mut TcpStream, urls: &[&str]| {
            let mut text = String::new();
            let mut buf = [0; 4096];
            while !urls.iter().all(|u| text.contains(&format!("answer {u}"))) {
                let n = stream.read(&mut buf).expect("read");
                assert!(n > 0, "closed early: {text}");
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            text
        };
        // Two connections, the first sending two pipelined requests.
        let mut first = TcpStream::connect(addr).expect("connect");
        first
            .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let text = read_answers(&mut first, &["/a", "/b"]);
        assert!(text.find("answer /a") < text.find("answer /b"), "{text}");
        let mut second = TcpStream::connect(addr).expect("connect");
        second
            .write_all(b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        read_answers(&mut second, &["/c"]);
        let seen = seen.lock().expect("lock").clone();
        let urls: Vec<&str> = seen.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(urls, ["/a", "/b", "/c"]);
        // One thread per connection answers all of its requests; none is the test's own.
        assert_eq!(seen[0].1, seen[1].1);
        assert_ne!(seen[0].1, seen[2].1);
        assert!(seen.iter().all(|(_, t)| *t != thread::current().id()));
        // Nothing was queued for `recv`, and the connections were counted.
        assert!(server
            .recv_timeout(Duration::from_millis(50))
            .expect("no error")
            .is_none());
        assert_eq!(server.connection_stats().open(), 2);
        assert!(Arc::ptr_eq(&server.connection_stats(), &stats));
    }
}
