//! Request handling: routing, rate limiting, body limits, signature checks, idempotent durable
//! enqueue, job status, health and metrics. Runs on rouille's threads and never touches tokio.

use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rouille::{Request, Response};
use sha2::{Digest, Sha256};

use super::metrics::Metrics;
use super::payload::{self, WebhookRequest};
use super::signature;
use super::standard;
use crate::encoding::{constant_time_eq, to_hex};
use crate::jobs::{Enqueuer, JobPayload, JobStats};
use crate::model::{JobState, Timestamp};
use crate::runtime::Runtime;
use crate::store::Store;
use crate::web::{ApiError, RateLimiter};

/// Longest idempotency key accepted from a header.
const MAX_KEY_LEN: usize = 200;

/// Settings and shared parts the handler needs.
pub struct State {
    /// Raw secret for `sha256=` signatures.
    pub secret: Vec<u8>,
    /// Key for Standard Webhooks signatures (decoded `whsec_`).
    pub standard_key: Vec<u8>,
    /// Bearer token for `GET /jobs/{id}` (empty: none).
    pub bearer_token: String,
    /// Body limit.
    pub max_body_bytes: usize,
    /// Standard Webhooks timestamp tolerance.
    pub tolerance: Duration,
    /// How long idempotency keys are remembered.
    pub idempotency_ttl: Duration,
    /// The database.
    pub store: Arc<Store>,
    /// The group-commit enqueuer.
    pub enqueuer: Enqueuer,
    /// Per-IP limits.
    pub limiter: RateLimiter,
    /// Whether the Discord client runs (a `post_to_channel_id` needs it).
    pub discord_enabled: bool,
    /// Request counters.
    pub metrics: Metrics,
    /// Worker counters.
    pub jobs: Arc<JobStats>,
    /// Worker count.
    pub workers: usize,
    /// What `/health` reports (shared with the control socket).
    pub health: crate::health::HealthSources,
    /// Live state of the Discord connection and the scheduler (for /health); wakes the
    /// scheduler after a `schedule_update`.
    pub runtime: Arc<Runtime>,
    /// The operator's limits on schedules (excluded channels, minimum interval).
    pub schedule_rules: crate::schedule::Rules,
    /// Asks Discord whether the bot may post a schedule's digests where `post_to_channel_id`
    /// says (None while Discord is off).
    pub post_access: Option<crate::discord::access::PostAccess>,
    /// The admin status page under `/status` (answers 404 while off); it gets its own narrow
    /// state, not this one.
    pub status: crate::status::StatusSite,
}

/// Answer one request and count it. A panic in it fails this request alone (see
/// [`crate::panic_policy`]; the server turns it into a 500).
pub fn handle(state: &State, request: &Request) -> Response {
    let _inside = crate::panic_policy::Boundary::enter();
    let (route, result) = route(state, request);
    let response = result.unwrap_or_else(|e| e.response());
    state.metrics.record(route, response.status_code);
    response
}

/// Dispatch by path and method; returns the route label for metrics.
fn route(state: &State, request: &Request) -> (&'static str, Result<Response, ApiError>) {
    let path = request.url();
    let method = request.method();
    match path.as_str() {
        "/health" => ("/health", only(method, "GET").map(|()| health(state))),
        "/metrics" => (
            "/metrics",
            only(method, "GET").map(|()| {
                Response::text(state.metrics.render(&state.store, &state.jobs))
                    .with_unique_header("Content-Type", "text/plain; version=0.0.4")
            }),
        ),
        "/webhook" => (
            "/webhook",
            only(method, "POST")
                .and_then(|()| limit(state, request))
                .and_then(|()| webhook(state, request)),
        ),
        super::backup::PATH => (
            super::backup::PATH,
            only(method, "POST")
                .and_then(|()| limit(state, request))
                .and_then(|()| super::backup::handle(state, request)),
        ),
        p if p == "/status" || p.starts_with("/status/") => (
            "/status",
            Ok(crate::status::http::handle(&state.status, request)),
        ),
        p if p.starts_with("/jobs/") => (
            "/jobs",
            only(method, "GET")
                .and_then(|()| limit(state, request))
                .and_then(|()| job_status(state, request, &p["/jobs/".len()..])),
        ),
        _ => (
            "other",
            Err(ApiError::not_found(format!(
                "no route {path}; try POST /webhook"
            ))),
        ),
    }
}

/// 405 unless the method is `allowed`.
fn only(method: &str, allowed: &str) -> Result<(), ApiError> {
    if method == allowed {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(allowed))
    }
}

/// Per-IP token bucket.
fn limit(state: &State, request: &Request) -> Result<(), ApiError> {
    let ip: IpAddr = request.remote_addr().ip();
    state
        .limiter
        .check(ip, Instant::now())
        .map_err(ApiError::rate_limited)
}

/// `POST /webhook`: body → signature → parse → idempotent durable enqueue.
fn webhook(state: &State, request: &Request) -> Result<Response, ApiError> {
    let body = read_body(state.max_body_bytes, request)?;
    let key = verify(state, request, &body)?;
    let job = match payload::parse(&body, Timestamp::now())? {
        WebhookRequest::Summary(job) => job,
        WebhookRequest::Schedule(update) => return schedule_update(state, &key, &update),
    };
    if let (Some(target), false) = (job.post_to_channel_id, state.discord_enabled) {
        return Err(ApiError::unprocessable(format!(
            "field `post_to_channel_id` ({target}) needs Discord, which is off (discord.enabled = false); leave the field out and read the summary with GET /jobs/{{id}}"
        )));
    }
    let job = JobPayload::SummaryRequest(job);
    let enqueued = state
        .enqueuer
        .enqueue(&key, state.idempotency_ttl, job.kind(), &job.encode())
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let (status, code) = if enqueued.duplicate {
        ("already_processed", 200)
    } else {
        ("queued", 202)
    };
    Ok(
        Response::json(&serde_json::json!({ "status": status, "job_id": enqueued.job_id }))
            .with_status_code(code),
    )
}

/// `schedule_update`: applied and committed before answering; wakes the scheduler.
fn schedule_update(
    state: &State,
    key: &str,
    update: &super::schedule_update::ScheduleUpdate,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    // A repeated delivery of a create gets its stored answer, whatever changed since.
    let replay = update.action == super::schedule_update::Action::Create
        && matches!(state.store.live_idempotency_value(key, now), Ok(Some(_)));
    if !replay {
        check_post_to(state, update)?;
    }
    let ttl = i64::try_from(state.idempotency_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires = Timestamp(now.0.saturating_add(ttl));
    let (status, answer) = super::schedule_update::apply(
        &state.store,
        &state.schedule_rules,
        update,
        (key, expires),
        now,
    )?;
    state.runtime.notify_schedules_changed();
    Ok(Response::json(&answer).with_status_code(status))
}

/// Refuse (400) a `post_to_channel_id` where the bot lacks a permission to post digests. When
/// Discord cannot be asked, the change is accepted (and the log says so): an outage must not
/// block schedule changes.
fn check_post_to(
    state: &State,
    update: &super::schedule_update::ScheduleUpdate,
) -> Result<(), ApiError> {
    let (Some(target), Some(access)) = (update.post_to, &state.post_access) else {
        return Ok(());
    };
    let target = crate::model::ChannelId(target);
    match access.missing_to_post(target) {
        Ok(None) => Ok(()),
        Ok(Some(p)) => Err(ApiError::bad_request(format!(
            "field `post_to_channel_id`: {}",
            crate::discord::access::cannot_post_summaries(p, target)
        ))),
        Err(why) => {
            tracing::warn!(channel_id = %target, error = %why, "cannot check the bot's permissions in post_to_channel_id; accepted unchecked");
            Ok(())
        }
    }
}

/// Read at most `max` bytes; a larger body (by `Content-Length` or as read) is 413.
fn read_body(max: usize, request: &Request) -> Result<Vec<u8>, ApiError> {
    if let Some(length) = request.header("Content-Length") {
        let length: u64 = length
            .trim()
            .parse()
            .map_err(|_| ApiError::bad_request("the Content-Length header is not a number"))?;
        if length > max as u64 {
            return Err(ApiError::too_large(max));
        }
    }
    let Some(data) = request.data() else {
        return Err(ApiError::internal("the request body was already read"));
    };
    let mut body = Vec::new();
    data.take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
    if body.len() > max {
        return Err(ApiError::too_large(max));
    }
    Ok(body)
}

/// Check either signature scheme (401 naming what is missing or wrong) and return the request's
/// idempotency key, taken only from what the signature covers: Standard Webhooks sign their
/// `webhook-id`, which is the key; the `sha256=` schemes sign the body alone, so the key is the
/// body's SHA-256 whatever unsigned headers (`X-Request-Id`, `X-GitHub-Delivery`) say — else a
/// captured request could be replayed with a new header as a new job.
fn verify(state: &State, request: &Request, body: &[u8]) -> Result<String, ApiError> {
    if let Some(signatures) = request.header("webhook-signature") {
        let id = request
            .header("webhook-id")
            .ok_or_else(|| ApiError::unauthorized("webhook-signature needs a webhook-id header"))?;
        let ts = request.header("webhook-timestamp").ok_or_else(|| {
            ApiError::unauthorized("webhook-signature needs a webhook-timestamp header")
        })?;
        let tolerance = i64::try_from(state.tolerance.as_secs()).unwrap_or(i64::MAX);
        let now = Timestamp::now().0 / 1000;
        standard::verify(
            &state.standard_key,
            id,
            ts,
            signatures,
            body,
            now,
            tolerance,
        )
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        return signed_id_key(id);
    }
    let header = request
        .header("X-Signature-256")
        .or_else(|| request.header("X-Hub-Signature-256"))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing signature: send X-Signature-256 (or X-Hub-Signature-256) or the Standard Webhooks headers; `summarybot webhook sign` prints them",
            )
        })?;
    if signature::verify_header(&state.secret, body, header) {
        Ok(format!("webhook:sha256:{}", to_hex(&Sha256::digest(body))))
    } else {
        Err(ApiError::unauthorized(
            "the signature does not match the body and webhook.secret",
        ))
    }
}

/// The idempotency key of a Standard Webhooks delivery: its signed `webhook-id`.
fn signed_id_key(id: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > MAX_KEY_LEN || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "header webhook-id must be 1 to {MAX_KEY_LEN} printable characters"
        )));
    }
    Ok(format!("webhook:{id}"))
}

/// `GET /jobs/{id}`: needs the bearer token or a signature of the path.
fn job_status(state: &State, request: &Request, id: &str) -> Result<Response, ApiError> {
    authorize_read(state, request)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("job id {id:?} is not a number")))?;
    let job = state
        .store
        .job(id)
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("there is no job {id}")))?;
    let summary = job
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    // Results and errors are stored redacted; masked again here for jobs stored before that.
    let mut answer = serde_json::json!({
        "job_id": job.id,
        "kind": job.kind,
        "state": state_name(job.state),
        "attempts": job.attempts,
        "error": job.last_error,
        "created_at": job.created_at.0,
        "updated_at": job.updated_at.0,
        "summary": summary,
    });
    crate::redact::redact_json(&mut answer);
    Ok(Response::json(&answer))
}

/// Bearer token (when configured) or `X-Signature-256` of the request path.
pub(super) fn authorize_read(state: &State, request: &Request) -> Result<(), ApiError> {
    if let Some(token) = request
        .header("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    {
        if !state.bearer_token.is_empty()
            && constant_time_eq(token.trim().as_bytes(), state.bearer_token.as_bytes())
        {
            return Ok(());
        }
        return Err(ApiError::unauthorized("the bearer token is wrong"));
    }
    let path = request.raw_url();
    match request
        .header("X-Signature-256")
        .or_else(|| request.header("X-Hub-Signature-256"))
    {
        Some(h) if signature::verify_header(&state.secret, path.as_bytes(), h) => Ok(()),
        Some(_) => Err(ApiError::unauthorized(
            "the signature does not match the path",
        )),
        None => Err(ApiError::unauthorized(
            "send Authorization: Bearer <webhook.bearer_token> or X-Signature-256 of the path",
        )),
    }
}

/// The API name of a job state.
fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Done => "done",
        JobState::Failed => "failed",
    }
}

/// `GET /health`: 200 when the store answers and accepts writes, else 503 with the reason.
fn health(state: &State) -> Response {
    let health = state.health.read();
    Response::json(&health.body).with_status_code(if health.ok { 200 } else { 503 })
}
