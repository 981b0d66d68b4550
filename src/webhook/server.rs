//! The HTTP server's lifecycle: a bounded rouille thread pool on its own thread, the job
//! committer and the worker pool; [`WebServer::shutdown`] stops them in order.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Notify;

use super::metrics::Metrics;
use super::ratelimit::RateLimiter;
use super::routes::{self, State};
use super::standard;
use crate::config::Config;
use crate::jobs::{Committer, JobStats, PoolOptions, Publisher, WorkerPool};
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
    committer: Committer,
    pool: WorkerPool,
}

/// Start the server on `webhook.host:webhook.port` with the worker pool, on the current tokio
/// runtime. `publisher` posts summaries to Discord (None: posting jobs fail clearly).
pub fn start(
    config: &Config,
    store: &Arc<Store>,
    publisher: Option<Arc<dyn Publisher>>,
) -> Result<WebServer, StartError> {
    let wake = Arc::new(Notify::new());
    let stats = Arc::new(JobStats::default());
    let options = PoolOptions {
        workers: config.webhook.workers,
        max_attempts: config.webhook.max_attempts,
        ..PoolOptions::default()
    };
    let workers = options.workers;
    let pool = WorkerPool::start(
        config,
        Arc::clone(store),
        publisher,
        Arc::clone(&wake),
        Arc::clone(&stats),
        options,
    )
    .map_err(|e| StartError::Other(e.to_string()))?;
    let (committer, enqueuer) = Committer::start(Arc::clone(store), wake, Arc::clone(&stats))
        .map_err(|e| StartError::Other(e.to_string()))?;
    let web = &config.webhook;
    let secret = web.secret.expose().to_string();
    let shared = Arc::new(State {
        standard_key: standard::secret_key(&secret),
        secret: secret.into_bytes(),
        bearer_token: web.bearer_token.expose().to_string(),
        max_body_bytes: web.max_body_bytes,
        tolerance: web.timestamp_tolerance,
        idempotency_ttl: web.idempotency_ttl,
        store: Arc::clone(store),
        enqueuer,
        limiter: RateLimiter::new(web.rate_limit_per_minute),
        metrics: Metrics::default(),
        jobs: stats,
        workers,
        discord_enabled: config.discord.enabled,
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
        committer,
        pool,
    })
}

impl WebServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, finish in-flight requests, flush the committer, then let running jobs
    /// finish within `deadline` (unfinished ones run again at the next start).
    pub async fn shutdown(self, deadline: Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let http = self.http;
        let committer = self.committer;
        let joined = tokio::task::spawn_blocking(move || {
            if http.join().is_err() {
                tracing::error!("the webhook server thread panicked");
            }
            committer.stop();
        })
        .await;
        if let Err(e) = joined {
            tracing::error!(error = %e, "stopping the webhook server failed");
        }
        self.pool.shutdown(deadline).await;
        tracing::info!("webhook server stopped");
    }
}
