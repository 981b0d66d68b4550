//! A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1 (port 0), the real
//! chat-completions wire protocol, deterministic Markdown summaries, scripted faults and a log
//! of every request.
//!
//! ```ignore
//! let fake = FakeOpenAi::start();
//! fake.push_fault(Fault::RateLimited { retry_after_secs: Some(1), retry_after_ms: None });
//! // point the client at fake.base_url() ... then inspect fake.requests()
//! ```
//!
//! Routes: `POST /v1/chat/completions` (also `/chat/completions`), `GET /v1/models` (also
//! `/models`); anything else answers OpenAI's 404 error JSON. Each chat request takes the next
//! scripted [`Fault`] from the queue; with the queue empty it answers the default summary.

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rouille::{Request, Response};
use serde_json::{json, Value};

/// Marker line present in every default answer, so end-to-end tests can recognise it.
pub const FAKE_MARKER: &str = "Summary by fake-openai";

/// Model listed by `GET /v1/models`.
pub const FAKE_MODEL: &str = "fake-model";

/// Fixed `created` timestamp of every answer (determinism).
const CREATED: u64 = 1_700_000_000;

/// How many prompt ids the default summary cites.
const MAX_CITED: usize = 3;

/// One scripted answer to a chat-completion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 rate limit, with `Retry-After` (seconds) and/or `retry-after-ms` headers.
    RateLimited {
        /// `Retry-After` value in seconds, if sent.
        retry_after_secs: Option<u64>,
        /// `retry-after-ms` value, if sent.
        retry_after_ms: Option<u64>,
    },
    /// 429 with OpenAI's `insufficient_quota` error body.
    InsufficientQuota,
    /// A 5xx (or any other) status with a plain server error body.
    ServerError(u16),
    /// 401 with OpenAI's `invalid_api_key` error body.
    InvalidApiKey,
    /// 404 with OpenAI's `model_not_found` error body.
    ModelNotFound,
    /// Wait this long (or until the server stops), then answer the default summary.
    Hang(Duration),
    /// 200 whose body is truncated JSON.
    MalformedJson,
    /// 200 with a valid answer holding no choices.
    EmptyChoices,
    /// 200 with this content (and a `usage` block).
    Reply(String),
    /// 200 with this content and no `usage` block (as some local servers answer).
    ReplyWithoutUsage(String),
    /// `status` with an error message quoting the request's `Authorization` header and, after
    /// it, the bare credential, as some proxies and local servers do. `padding` filler
    /// characters come first (to place the key across a cut of the quoted text).
    EchoAuthorization {
        /// HTTP status.
        status: u16,
        /// Filler characters before the echo.
        padding: usize,
    },
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the query string, as sent (e.g. `/v1/chat/completions`).
    pub path: String,
    /// All headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// Raw body text.
    pub body: String,
    /// Body parsed as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
    /// When it arrived.
    pub arrived: Instant,
}

impl RecordedRequest {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All message contents of a chat request, joined by newlines.
    pub fn prompt_text(&self) -> String {
        message_texts(&self.json).join("\n")
    }
}

/// State shared between the test and the server's handler threads.
#[derive(Default)]
struct Shared {
    faults: Mutex<VecDeque<Fault>>,
    /// The answer to chat requests with no scripted fault left (`None`: the default summary).
    fallback_fault: Mutex<Option<Fault>>,
    requests: Mutex<Vec<RecordedRequest>>,
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Lock ignoring poisoning: a panicking test thread must not hide the log from others.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Sleep up to `d`, returning early when the server stops.
    fn sleep_unless_stopped(&self, d: Duration) {
        let guard = lock(&self.stopped);
        let _unused = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// A running fake OpenAI-compatible server; stops when dropped.
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl FakeOpenAi {
    /// Start on 127.0.0.1 with an OS-chosen port. Ready to answer when this returns.
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let handler_state = Arc::clone(&shared);
        let server = rouille::Server::new("127.0.0.1:0", move |request| {
            handle(&handler_state, request)
        })
        .expect("fake OpenAI server binds 127.0.0.1:0");
        let addr = server.server_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let poller_stop = Arc::clone(&stop);
        let poller = std::thread::spawn(move || {
            while !poller_stop.load(Ordering::SeqCst) {
                server.poll_timeout(Duration::from_millis(20));
            }
        });
        Self {
            addr,
            shared,
            stop,
            poller: Some(poller),
        }
    }

    /// The API root to configure clients with, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.root_url())
    }

    /// The `[llm]` settings (without the header) of a bot using this server: model
    /// `fake-model`, one retry.
    pub fn llm_section(&self) -> String {
        format!(
            "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\nmax_retries = 1",
            self.base_url()
        )
    }

    /// The server root without the `/v1` prefix, e.g. `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Script the answer to a coming chat request (answers are used in push order).
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// Script several answers at once.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.faults).extend(faults);
    }

    /// Answer every chat request that finds no scripted fault with `fault` (from now on).
    pub fn answer_all(&self, fault: Fault) {
        *lock(&self.shared.fallback_fault) = Some(fault);
    }

    /// Scripted answers not used yet.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).len()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Chat-completion requests received so far (the attempts a client made).
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| is_chat_path(&r.path))
            .collect()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        *lock(&self.shared.stopped) = true;
        self.shared.wake.notify_all();
        if let Some(poller) = self.poller.take() {
            // A panicked poller has nothing left to clean up.
            let _joined = poller.join();
        }
    }
}

/// `/v1/x` and `/x` are the same route.
fn route(path: &str) -> &str {
    path.strip_prefix("/v1").unwrap_or(path)
}

fn is_chat_path(path: &str) -> bool {
    route(path) == "/chat/completions"
}

fn handle(shared: &Shared, request: &Request) -> Response {
    let recorded = record(request);
    let method = recorded.method.clone();
    let path = recorded.path.clone();
    let json = recorded.json.clone();
    let authorization = recorded.header("authorization").unwrap_or("").to_owned();
    lock(&shared.requests).push(recorded);
    match (method.as_str(), route(&path)) {
        ("POST", "/chat/completions") => {
            let scripted = lock(&shared.faults).pop_front();
            let fault = scripted.or_else(|| lock(&shared.fallback_fault).clone());
            answer_chat(shared, fault, &json, &authorization)
        }
        ("GET", "/models") => Response::json(&json!({
            "object": "list",
            "data": [{"id": FAKE_MODEL, "object": "model", "created": CREATED, "owned_by": "fake-openai"}]
        })),
        _ => error_response(
            404,
            &format!("Unknown request URL: {method} {path}"),
            "invalid_request_error",
            Some("unknown_url"),
        ),
    }
}

fn record(request: &Request) -> RecordedRequest {
    let mut body = String::new();
    if let Some(mut data) = request.data() {
        // An unreadable body is recorded as empty; the test then sees `json == Null`.
        let _read = data.read_to_string(&mut body);
    }
    RecordedRequest {
        method: request.method().to_owned(),
        path: request.url(),
        headers: request
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
        arrived: Instant::now(),
    }
}

fn answer_chat(
    shared: &Shared,
    fault: Option<Fault>,
    request: &Value,
    authorization: &str,
) -> Response {
    let Some(fault) = fault else {
        return completion(request, &default_summary(request), true);
    };
    match fault {
        Fault::RateLimited {
            retry_after_secs,
            retry_after_ms,
        } => {
            let mut response = error_response(
                429,
                "Rate limit reached for requests. Please try again later.",
                "requests",
                Some("rate_limit_exceeded"),
            );
            if let Some(secs) = retry_after_secs {
                response = response.with_additional_header("Retry-After", secs.to_string());
            }
            if let Some(ms) = retry_after_ms {
                response = response.with_additional_header("retry-after-ms", ms.to_string());
            }
            response
        }
        Fault::InsufficientQuota => error_response(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
        Fault::ServerError(status) => {
            error_response(status, "The server had an error while processing your request.", "server_error", None)
        }
        Fault::InvalidApiKey => error_response(
            401,
            "Incorrect API key provided: sk-***. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        Fault::ModelNotFound => error_response(
            404,
            &format!("The model `{}` does not exist or you do not have access to it.", model_of(request)),
            "invalid_request_error",
            Some("model_not_found"),
        ),
        Fault::Hang(duration) => {
            shared.sleep_unless_stopped(duration);
            completion(request, &default_summary(request), true)
        }
        Fault::MalformedJson => Response::from_data(
            "application/json",
            r#"{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,"mess"#,
        ),
        Fault::EmptyChoices => {
            let mut body = completion_json(request, "", true);
            body["choices"] = json!([]);
            Response::json(&body)
        }
        Fault::Reply(content) => completion(request, &content, true),
        Fault::ReplyWithoutUsage(content) => completion(request, &content, false),
        Fault::EchoAuthorization { status, padding } => {
            let credential = authorization.split_whitespace().last().unwrap_or("");
            error_response(
                status,
                &format!(
                    "{}invalid header Authorization: {authorization} (credential {credential})",
                    "x".repeat(padding)
                ),
                "invalid_request_error",
                Some("invalid_header"),
            )
        }
    }
}

/// OpenAI's error JSON shape.
fn error_response(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    Response::json(&json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    }))
    .with_status_code(status)
}

fn completion(request: &Value, content: &str, with_usage: bool) -> Response {
    Response::json(&completion_json(request, content, with_usage))
}

fn completion_json(request: &Value, content: &str, with_usage: bool) -> Value {
    let mut body = json!({
        "id": format!("chatcmpl-fake-{:016x}", fingerprint(request)),
        "object": "chat.completion",
        "created": CREATED,
        "model": model_of(request),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
    });
    if with_usage {
        let (prompt, completion) = fake_usage(request, content);
        body["usage"] = json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion
        });
    }
    body
}

/// Token counts the fake reports: a quarter token per character plus OpenAI's per-message
/// overhead (3 per message, 3 to prime the reply), so they differ from a chars/4 estimate.
pub fn fake_usage(request: &Value, content: &str) -> (u64, u64) {
    let texts = message_texts(request);
    let quarter = |s: &str| s.chars().count().div_ceil(4) as u64;
    let prompt = texts.iter().map(|t| quarter(t) + 3).sum::<u64>() + 3;
    (prompt, quarter(content))
}

fn model_of(request: &Value) -> String {
    request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(FAKE_MODEL)
        .to_owned()
}

fn message_texts(request: &Value) -> Vec<String> {
    request
        .get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A stable hash of the prompt (FNV-1a), for deterministic ids.
fn fingerprint(request: &Value) -> u64 {
    message_texts(request)
        .iter()
        .flat_map(|t| t.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Distinct `[m<digits>]` ids in the order they first appear.
pub fn cited_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (start, _) in text.match_indices("[m") {
        let rest = &text[start + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(']') {
            let id = format!("m{}", &rest[..digits]);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The default answer: a Markdown summary with the four section headings, citing the first
/// ids found in the prompt.
pub fn default_summary(request: &Value) -> String {
    let ids = cited_ids(&message_texts(request).join("\n"));
    let cite = |i: usize| {
        ids.get(i % ids.len().max(1))
            .map(|id| format!(" [{id}]"))
            .unwrap_or_default()
    };
    let all = ids
        .iter()
        .take(MAX_CITED)
        .fold(String::new(), |mut acc, id| {
            acc.push_str(" [");
            acc.push_str(id);
            acc.push(']');
            acc
        });
    format!(
        "{FAKE_MARKER} ({model})\n\n\
         ## Key Discussion Points\n\
         - The team discussed the messages in this window{all}\n\
         - A second topic came up{second}\n\n\
         ## Important Decisions/Outcomes\n\
         - The group agreed on a way forward{first}\n\n\
         ## Action Items\n\
         - Someone follows up on the open question{second}\n\n\
         ## Technical Details\n\
         - The prompt cited {count} message ids{third}\n",
        model = model_of(request),
        first = cite(0),
        second = cite(1),
        third = cite(2),
        count = ids.len(),
    )
}
