//! The HTTP server's lifecycle: tiny_http accepts connections on a listener whose timeouts every
//! connection inherits ([`super::listener`]), at most `webhook.max_connections` at once, each
//! request head within [`MAX_HEAD_BYTES`] and `webhook.read_timeout`; a bounded set of request
//! threads takes parsed requests straight from tiny_http's queue and answers them with the
//! rouille handler in [`super::routes`]. [`WebServer::shutdown`] stops accepting and waits for
//! in-flight requests.

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::exchange::{self, BodyLimits, Then};
use super::listener;
use super::metrics::Metrics;
use super::routes::{self, State};
use super::standard;
use crate::config::Config;
use crate::jobs::JobRunner;
use crate::runtime::Runtime;
use crate::store::Store;
use crate::web::{ApiError, RateLimiter};

/// Most requests whose bodies are still arriving, each received on its own short-lived thread so
/// that slow uploads never occupy the request threads; beyond this, 503.
const MAX_UPLOADS: usize = 64;
/// Stack of a thread that only answers 503 (the rest of the body is not read).
const REJECT_STACK: usize = 128 * 1024;
/// How often shutdown looks whether the upload threads finished.
const UPLOAD_CHECK: Duration = Duration::from_millis(10);
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
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// What every request thread shares.
struct Shared {
    http: tiny_http::Server,
    state: State,
    limits: BodyLimits,
    stop: AtomicBool,
    /// Upload threads running.
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
    let http = tiny_http::Server::from_listener_with_limits(socket, None, limits)
        .map_err(|e| StartError::Other(e.to_string()))?;
    let metrics = Metrics::new(http.connection_stats());
    let shared = Arc::new(Shared {
        http,
        state: handler_state(config, store, jobs, runtime, metrics, discord)?,
        limits: BodyLimits {
            max_bytes: web.max_body_bytes,
            timeout: web.read_timeout,
        },
        stop: AtomicBool::new(false),
        uploads: AtomicUsize::new(0),
    });
    let threads =
        spawn_threads(&shared, web.http_threads).map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!(
        address = %bound,
        read_timeout = ?web.read_timeout,
        max_connections = web.max_connections,
        "webhook server listening"
    );
    Ok(WebServer {
        addr: bound,
        shared,
        threads,
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

/// `count` request threads (bounded: a flood cannot create more). On failure the threads
/// already started are stopped and joined.
fn spawn_threads(shared: &Arc<Shared>, count: usize) -> std::io::Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::with_capacity(count);
    for i in 0..count {
        let mine = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("webhook-http-{i}"))
            .spawn(move || serve_loop(&mine));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                stop_threads(shared, threads);
                return Err(e);
            }
        }
    }
    Ok(threads)
}

/// Set the stop flag, wake every thread (tiny_http hands each blocked `recv` one unblock, after
/// the requests already queued), join them; false if one of them panicked.
fn stop_threads(shared: &Shared, threads: Vec<JoinHandle<()>>) -> bool {
    shared.stop.store(true, Ordering::Relaxed);
    for _ in &threads {
        shared.http.unblock();
    }
    threads.into_iter().all(|t| t.join().is_ok())
}

/// One request thread: take parsed requests from tiny_http until shutdown. It blocks without
/// waking up while idle.
fn serve_loop(shared: &Arc<Shared>) {
    loop {
        match shared.http.recv() {
            Ok(request) if exchange::body_is_ready(&request) => serve(shared, request),
            Ok(request) => upload(shared, request),
            Err(_) if shared.stop.load(Ordering::Relaxed) => return,
            Err(e) => {
                // tiny_http's accept thread reports only errors the listener does not recover
                // from (transient ones are retried, see vendor/tiny_http/PATCHES.md), then stops;
                // open connections still get answered.
                tracing::error!(error = %e, "the webhook server stopped accepting connections; restart summarybot");
            }
        }
    }
}

/// Receive and answer a request whose body is still arriving on a thread of its own (at most
/// [`MAX_UPLOADS`] at once; 503 beyond).
fn upload(shared: &Arc<Shared>, request: tiny_http::Request) {
    if shared.uploads.fetch_add(1, Ordering::AcqRel) >= MAX_UPLOADS {
        shared.uploads.fetch_sub(1, Ordering::AcqRel);
        reject(shared, request);
        return;
    }
    let mine = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("webhook-upload".into())
        .spawn(move || {
            serve(&mine, request);
            mine.uploads.fetch_sub(1, Ordering::AcqRel);
        });
    if let Err(e) = spawned {
        // The request went down with the closure; tiny_http answers it with a 500.
        shared.uploads.fetch_sub(1, Ordering::AcqRel);
        tracing::error!(error = %e, "cannot start a thread to receive a request body");
    }
}

/// Answer 503 to an upload over the cap and close its connection (the body is not read). The
/// answer waits for the connection's earlier answers and for the client to take it, so it is
/// written on a small thread of its own (no body buffer; at most one write timeout), never on a
/// request thread.
fn reject(shared: &Shared, request: tiny_http::Request) {
    let busy = ApiError::unavailable(format!(
        "{MAX_UPLOADS} request bodies are arriving already; retry later"
    ));
    shared.state.metrics.record(UNREAD, busy.status);
    let spawned = std::thread::Builder::new()
        .name("webhook-reject".into())
        .stack_size(REJECT_STACK)
        .spawn(move || exchange::respond(request, busy.response(), Then::Close));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start a thread to refuse a request body");
    }
}

/// Answer one request: read its body, run the handler (a panic becomes a 500), respond; the
/// connection closes when the body was not read to its end (too large, too slow, broken).
fn serve(shared: &Shared, mut request: tiny_http::Request) {
    let (response, then) = match exchange::to_rouille(&mut request, shared.limits) {
        Ok(incoming) => {
            let response = panic::catch_unwind(AssertUnwindSafe(|| {
                routes::handle(&shared.state, &incoming.request)
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
            shared.state.metrics.record(UNREAD, e.status);
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

    /// Stop accepting connections and finish in-flight requests.
    pub async fn shutdown(self) {
        let threads = self.threads;
        let shared = self.shared;
        let joined = tokio::task::spawn_blocking(move || {
            let clean = stop_threads(&shared, threads);
            wait_for_uploads(&shared);
            // The last reference: dropping tiny_http's server closes the listening socket.
            drop(shared);
            clean
        })
        .await;
        if !matches!(joined, Ok(true)) {
            tracing::error!("a webhook server thread failed while stopping");
        }
        tracing::info!("webhook server stopped");
    }
}

/// Wait until the upload threads finished; each is bounded by the body deadline plus one read
/// timeout and the handler's own work.
fn wait_for_uploads(shared: &Shared) {
    let deadline = Instant::now() + shared.limits.timeout * 3;
    while shared.uploads.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        std::thread::sleep(UPLOAD_CHECK);
    }
}
