//! The OpenAI-compatible chat-completion client (OpenAI, Ollama, llama.cpp, vLLM, OpenRouter)
//! with timeouts and retries.
//!
//! Design choice: async-openai 0.43 wraps every call of its default client in its own retry
//! layer (`OpenAIRetryLayer`, retrying 429s itself) and, more importantly, drops
//! the response headers of failed calls (its `ApiError` carries the status and the parsed body
//! only), so `Retry-After` / `retry-after-ms` could not be honoured through it. This client
//! therefore uses async-openai's *request* type (`CreateChatCompletionRequest`) to produce the
//! exact wire JSON (async-openai is built with its types only, no client), and sends it with
//! `reqwest` (the 0.12 build serenity uses). Answers are read with a lenient local struct: only
//! `choices[0].message.content` and `usage` are required reading, because several compatible
//! servers omit fields (`id`, `created`, `object`) that async-openai's response type demands.
//!
//! - `max_tokens` is sent (not `max_completion_tokens`): it is the field every compatible server
//!   understands.
//! - Usage: the provider's `usage` when present; otherwise an estimate of one token per four
//!   characters (rounded up) of the prompt and of the answer.
//! - Retries: see [`crate::llm::retry`] for the policy. A 200 whose body cannot be read is *not*
//!   retried (reported as [`LlmError::Malformed`]).
//! - Logging: one `debug` line per attempt (attempt number, status, elapsed) and a `warn` per
//!   retry (reason, wait); never the API key nor any prompt or answer text. Answer bodies are
//!   redacted ([`crate::redact`]) as soon as they are read, so an endpoint echoing the
//!   `Authorization` header cannot put the key into an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, CreateChatCompletionRequest,
};
use serde::Deserialize;

use crate::backoff::Jitter;
use crate::llm::retry::{self, Decision, ErrorContext, Failure, RetryPolicy};
use crate::llm::{
    BoxFuture, ChatModel, Completion, CompletionRequest, LlmError, PromptMessage, Role,
};
use crate::model::TokenUsage;
use crate::secret::Secret;

/// Largest answer accepted; a summary is a few KiB, so more means a misbehaving server.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Longest connect phase allowed, whatever the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach an OpenAI-compatible endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAiOptions {
    /// API root including the version, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1` (Ollama).
    pub base_url: String,
    /// Bearer key; `None` (or empty) sends no `Authorization` header, as local servers expect.
    pub api_key: Option<Secret>,
    /// Model name sent with every request.
    pub model: String,
    /// Timeout of one attempt (connect + answer).
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay, doubled per retry.
    pub backoff_base: Duration,
    /// Cap on the backoff delay (before ±25% jitter).
    pub max_backoff: Duration,
    /// Longest server-requested wait (`Retry-After`) accepted; longer gives up at once.
    pub max_retry_wait: Duration,
}

impl Default for OpenAiOptions {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key: None,
            model: "gpt-4o-mini".to_owned(),
            timeout: Duration::from_secs(30),
            max_retries: 2,
            backoff_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_wait: Duration::from_secs(120),
        }
    }
}

/// A [`ChatModel`] speaking the OpenAI chat-completions protocol over HTTP.
#[derive(Debug)]
pub struct OpenAiClient {
    http: reqwest::Client,
    chat_url: reqwest::Url,
    models_url: reqwest::Url,
    api_key: Option<Secret>,
    model: String,
    policy: RetryPolicy,
    context: ErrorContext,
    jitter: Jitter,
    attempts: AtomicU64,
}

impl OpenAiClient {
    /// Validate the options and build the HTTP client. Fails when the base URL is not an
    /// http(s) URL, the model name is empty, the timeout is zero, or TLS cannot be set up.
    pub fn new(opts: OpenAiOptions) -> Result<Self, LlmError> {
        let base_url = opts.base_url.trim().trim_end_matches('/').to_owned();
        let chat_url = endpoint_url(&base_url, "chat/completions")?;
        let models_url = endpoint_url(&base_url, "models")?;
        let model = opts.model.trim().to_owned();
        if model.is_empty() {
            return Err(LlmError::Config {
                detail: "llm.model is empty: name the model to use (e.g. gpt-4o-mini, llama3.1)"
                    .into(),
            });
        }
        let unreachable = |detail: String| LlmError::Unreachable {
            base_url: base_url.clone(),
            detail,
        };
        if opts.timeout.is_zero() {
            return Err(LlmError::Config {
                detail: "llm.timeout is zero: use e.g. \"30s\"".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(MAX_CONNECT_TIMEOUT))
            .user_agent(concat!("summarybot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| unreachable(format!("could not set up the HTTP client: {e}")))?;
        Ok(Self {
            http,
            chat_url,
            models_url,
            api_key: opts.api_key.filter(|k| !k.is_empty()),
            policy: RetryPolicy::new(
                opts.max_retries,
                opts.backoff_base,
                opts.max_backoff,
                opts.max_retry_wait,
            ),
            context: ErrorContext {
                model: model.clone(),
                base_url,
                timeout: opts.timeout,
            },
            model,
            jitter: Jitter::from_clock(),
            attempts: AtomicU64::new(0),
        })
    }

    /// HTTP attempts made so far by this client (every try, retries included).
    pub fn attempts_made(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    async fn complete_with_retries(
        &self,
        request: CompletionRequest,
    ) -> Result<Completion, LlmError> {
        let body = request_body(&self.model, &request)?;
        let mut retries_done = 0;
        loop {
            let (failure, server_wait) = match self.attempt(&body, &request).await {
                Ok(completion) => return Ok(completion),
                Err(failed) => failed,
            };
            let unit = self.jitter.next_unit();
            match self.policy.decide(
                failure.clone(),
                server_wait,
                retries_done,
                unit,
                &self.context,
            ) {
                Decision::Retry(wait) => {
                    tracing::warn!(
                        reason = %failure,
                        wait_ms = wait.as_millis() as u64,
                        retry = retries_done + 1,
                        max_retries = self.policy.max_retries,
                        "LLM call failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                    retries_done += 1;
                }
                Decision::GiveUp(error) => {
                    tracing::warn!(reason = %failure, attempts = retries_done + 1, "LLM call failed");
                    return Err(error);
                }
            }
        }
    }

    /// List the model ids the endpoint offers (`GET {base_url}/models`), for a configuration
    /// check. One attempt, no retries; not counted by [`Self::attempts_made`].
    pub async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let answer = self
            .exchange(self.http.get(self.models_url.clone()))
            .await
            .map_err(|f| f.into_error(&self.context, Duration::ZERO))?;
        if !answer.is_success() {
            let wait = retry::retry_after(&answer.headers, SystemTime::now());
            return Err(
                retry::classify(answer.status, &answer.headers, &answer.text)
                    .into_error(&self.context, wait.unwrap_or(Duration::ZERO)),
            );
        }
        parse_models(&answer.text).map_err(|f| f.into_error(&self.context, Duration::ZERO))
    }

    /// One chat-completion attempt. On failure, returns why and the wait the server asked for.
    async fn attempt(
        &self,
        body: &[u8],
        request: &CompletionRequest,
    ) -> Result<Completion, (Failure, Option<Duration>)> {
        let number = self.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let started = Instant::now();
        let builder = self
            .http
            .post(self.chat_url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        let answer = self.exchange(builder).await.map_err(|f| (f, None))?;
        tracing::debug!(
            attempt = number,
            status = answer.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "LLM attempt answered"
        );
        if answer.is_success() {
            return parse_completion(&answer.text, request).map_err(|f| (f, None));
        }
        let failure = retry::classify(answer.status, &answer.headers, &answer.text);
        Err((
            failure,
            retry::retry_after(&answer.headers, SystemTime::now()),
        ))
    }

    /// Send one request (adding the key, if any) and read the whole answer.
    async fn exchange(&self, builder: reqwest::RequestBuilder) -> Result<Answer, Failure> {
        let mut builder = builder.header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let response = builder.send().await.map_err(transport_failure)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Masked before anything quotes it: an endpoint may echo our Authorization header in
        // its error text, which becomes log lines, job errors and a summary's fallback reason
        // (and is cut to a few hundred characters, which could split a key past recognition).
        let text = crate::redact::redacted(&read_body(response).await?);
        Ok(Answer {
            status,
            headers,
            text,
        })
    }
}

/// A whole HTTP answer.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl ChatModel for OpenAiClient {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<Completion, LlmError>> {
        Box::pin(self.complete_with_retries(request))
    }
}

/// `{base_url}/{path}`, refusing anything but http(s).
fn endpoint_url(base_url: &str, path: &str) -> Result<reqwest::Url, LlmError> {
    let invalid = |why: &str| LlmError::Config {
        detail: format!("llm.base_url {base_url:?} is {why} (e.g. https://api.openai.com/v1)"),
    };
    let url = reqwest::Url::parse(&format!("{base_url}/{path}"))
        .map_err(|e| invalid(&format!("not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("not an http:// or https:// URL"));
    }
    Ok(url)
}

/// The wire JSON of a chat-completion request, built with async-openai's request type.
fn request_body(model: &str, request: &CompletionRequest) -> Result<Vec<u8>, LlmError> {
    #[expect(
        deprecated,
        reason = "max_tokens is deprecated by OpenAI but is the field every compatible server reads"
    )]
    let wire = CreateChatCompletionRequest {
        model: model.to_owned(),
        messages: request.messages.iter().map(wire_message).collect(),
        max_tokens: Some(request.max_tokens),
        temperature: Some(request.temperature),
        ..CreateChatCompletionRequest::default()
    };
    serde_json::to_vec(&wire).map_err(|e| LlmError::BadRequest {
        detail: format!("the request could not be encoded: {e}"),
    })
}

fn wire_message(message: &PromptMessage) -> ChatCompletionRequestMessage {
    let text = message.content.clone();
    match message.role {
        Role::System => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(text),
            name: None,
        }),
        Role::User => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: ChatCompletionRequestUserMessageContent::Text(text),
            name: None,
        }),
    }
}

/// The fields of a chat-completion answer we need; everything else is ignored.
#[derive(Debug, Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    message: WireMessage,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

fn parse_completion(body: &str, request: &CompletionRequest) -> Result<Completion, Failure> {
    let wire: WireResponse = serde_json::from_str(body)
        .map_err(|e| Failure::Malformed(format!("not a chat-completion JSON object ({e})")))?;
    let message = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Malformed("the answer has no choices".into()))?
        .message;
    let text = match (message.content, message.refusal) {
        (Some(text), _) if !text.trim().is_empty() => text,
        (_, Some(refusal)) => {
            return Err(Failure::Malformed(format!("the model refused: {refusal}")))
        }
        _ => return Err(Failure::Malformed("the answer has no text".into())),
    };
    let usage = wire.usage.map_or_else(
        || estimate_usage(request, &text),
        |u| TokenUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        },
    );
    Ok(Completion { text, usage })
}

/// `{"data":[{"id":..},..]}` → the ids.
fn parse_models(body: &str) -> Result<Vec<String>, Failure> {
    #[derive(Deserialize)]
    struct List {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        id: String,
    }
    let list: List = serde_json::from_str(body)
        .map_err(|e| Failure::Malformed(format!("not a model list ({e})")))?;
    Ok(list.data.into_iter().map(|m| m.id).collect())
}

/// One token per four characters, rounded up, when the provider reports no usage.
fn estimate_usage(request: &CompletionRequest, answer: &str) -> TokenUsage {
    let tokens = |chars: usize| chars.div_ceil(4) as u64;
    let prompt_chars = request
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    TokenUsage {
        prompt_tokens: tokens(prompt_chars),
        completion_tokens: tokens(answer.chars().count()),
    }
}

/// The answer body as text, refusing more than [`MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_failure)? {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure::Malformed(format!(
                "the answer is larger than {} MiB",
                MAX_BODY_BYTES / (1024 * 1024)
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A transport error as a retryable failure, described by its cause chain.
fn transport_failure(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Timeout;
    }
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper's "client error (Connect)" wrapper adds nothing for a user.
        if !text.starts_with("client error") && !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    let detail = if parts.is_empty() {
        error.without_url().to_string()
    } else {
        parts.join(": ")
    };
    Failure::Unreachable(crate::redact::redacted(&detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prompt: &str) -> CompletionRequest {
        CompletionRequest {
            messages: vec![
                PromptMessage {
                    role: Role::System,
                    content: "Summarize.".into(),
                },
                PromptMessage {
                    role: Role::User,
                    content: prompt.into(),
                },
            ],
            max_tokens: 256,
            temperature: 0.2,
        }
    }

    #[test]
    fn body_is_openai_wire_json() {
        let body = request_body("m-1", &request("hello")).expect("encodes");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["model"], "m-1");
        assert_eq!(json["max_tokens"], 256);
        assert!((json["temperature"].as_f64().expect("number") - 0.2).abs() < 1e-6);
        assert_eq!(json["messages"][0]["role"], "system");
        assert_eq!(json["messages"][0]["content"], "Summarize.");
        assert_eq!(json["messages"][1]["role"], "user");
        assert_eq!(json["messages"][1]["content"], "hello");
        assert!(json.get("stream").is_none_or(|s| s == false));
    }

    #[test]
    fn parses_answers_leniently() {
        let req = request("abcdefgh");
        let full = r#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#;
        let c = parse_completion(full, &req).expect("parses");
        assert_eq!(c.text, "hi");
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 7,
                completion_tokens: 2
            }
        );
        // No id/created/object/usage: still fine, usage estimated (18 chars → 5, 5 chars → 2).
        let bare = r#"{"choices":[{"message":{"content":"hello"}}]}"#;
        let c = parse_completion(bare, &req).expect("parses");
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 5,
                completion_tokens: 2
            }
        );
    }

    #[test]
    fn rejects_unusable_answers() {
        let req = request("x");
        let cases = [
            ("{not json", "not a chat-completion JSON object"),
            (r#"{"choices":[]}"#, "no choices"),
            (r#"{"choices":[{"message":{"content":null}}]}"#, "no text"),
            (r#"{"choices":[{"message":{"content":"  "}}]}"#, "no text"),
            (
                r#"{"choices":[{"message":{"content":null,"refusal":"nope"}}]}"#,
                "the model refused: nope",
            ),
        ];
        for (body, want) in cases {
            match parse_completion(body, &req) {
                Err(Failure::Malformed(detail)) => {
                    assert!(detail.contains(want), "{body}: {detail}");
                }
                other => panic!("{body}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn validates_options() {
        let bad_url = OpenAiClient::new(OpenAiOptions {
            base_url: "localhost:11434".into(),
            ..OpenAiOptions::default()
        });
        assert!(
            matches!(&bad_url, Err(LlmError::Config { detail }) if detail.contains("llm.base_url")),
            "{bad_url:?}"
        );
        let ftp = OpenAiClient::new(OpenAiOptions {
            base_url: "ftp://h/v1".into(),
            ..OpenAiOptions::default()
        });
        assert!(matches!(ftp, Err(LlmError::Config { .. })));
        let no_model = OpenAiClient::new(OpenAiOptions {
            model: "  ".into(),
            ..OpenAiOptions::default()
        });
        assert!(matches!(no_model, Err(LlmError::Config { .. })));
        let zero = OpenAiClient::new(OpenAiOptions {
            timeout: Duration::ZERO,
            ..OpenAiOptions::default()
        });
        assert!(matches!(zero, Err(LlmError::Config { .. })));
    }

    #[test]
    fn endpoint_keeps_path_and_trims_slash() {
        let client = OpenAiClient::new(OpenAiOptions {
            base_url: "http://127.0.0.1:8080/v1/".into(),
            api_key: Some(Secret::new("")),
            ..OpenAiOptions::default()
        })
        .expect("valid");
        assert_eq!(
            client.chat_url.as_str(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert!(client.api_key.is_none(), "an empty key sends no header");
        assert_eq!(client.provider(), "openai");
        assert_eq!(client.model(), "gpt-4o-mini");
        assert_eq!(client.attempts_made(), 0);
    }
}
