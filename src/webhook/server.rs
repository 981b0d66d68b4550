//! The HTTP server's lifecycle: a bounded rouille thread pool driven from its own thread;
//! [`WebServer::shutdown`] stops accepting and waits for in-flight requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::metrics::Metrics;
use super::ratelimit::RateLimiter;
use super::routes::{self, State};
use super::standard;
use crate::config::Config;
use crate::jobs::JobRunner;
use crate::runtime::Runtime;
use crate::store::Store;

/// Request-handling threads (bounded: a flood cannot create more).
const HTTP_THREADS: usize = 16;
/// How often the accept loop checks for shutdown.
const POLL: Duration = Duration::from_millis(100);

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
    stop: Arc<AtomicBool>,
    http: JoinHandle<()>,
}

/// Start the server on `webhook.host:webhook.port`, feeding `jobs`; `/health` reports `runtime`.
pub fn start(
    config: &Config,
    store: &Arc<Store>,
    jobs: &JobRunner,
    runtime: Arc<Runtime>,
) -> Result<WebServer, StartError> {
    let web = &config.webhook;
    let secret = web.secret.expose().to_string();
    let status = crate::status::StatusSite::from_config(config).map_err(StartError::Other)?;
    let shared = Arc::new(State {
        standard_key: standard::secret_key(&secret),
        secret: secret.into_bytes(),
        bearer_token: web.bearer_token.expose().to_string(),
        max_body_bytes: web.max_body_bytes,
        tolerance: web.timestamp_tolerance,
        idempotency_ttl: web.idempotency_ttl,
        store: Arc::clone(store),
        enqueuer: jobs.enqueuer(),
        limiter: RateLimiter::new(web.rate_limit_per_minute),
        metrics: Metrics::default(),
        jobs: jobs.stats(),
        workers: jobs.workers(),
        runtime,
        excluded: config.summary.exclude_channels.clone(),
        status,
    });
    let addr = format!("{}:{}", web.host, web.port);
    let server = rouille::Server::new(addr.as_str(), move |request| {
        routes::handle(&shared, request)
    })
    .map_err(|e| StartError::Bind {
        addr: addr.clone(),
        detail: e.to_string(),
    })?
    .pool_size(HTTP_THREADS);
    let bound = server.server_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let http = std::thread::Builder::new()
        .name("webhook-http".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                server.poll_timeout(POLL);
            }
            // Finish in-flight requests; dropping the server closes the socket.
            server.join();
        })
        .map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!(address = %bound, "webhook server listening");
    Ok(WebServer {
        addr: bound,
        stop,
        http,
    })
}

impl WebServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting connections and finish in-flight requests.
    pub async fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        let http = self.http;
        let joined = tokio::task::spawn_blocking(move || http.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            tracing::error!("the webhook server thread failed while stopping");
        }
        tracing::info!("webhook server stopped");
    }
}
