//! LLM access: the [`ChatModel`] trait and the OpenAI-compatible client with retries.

pub mod openai;
pub mod retry;

use std::future::Future;
use std::pin::Pin;

use crate::model::TokenUsage;

/// A boxed future, so [`ChatModel`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who speaks a prompt message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// Data / request.
    User,
}

/// One message of a chat-completion prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptMessage {
    /// Speaker.
    pub role: Role,
    /// Text.
    pub content: String,
}

/// A chat-completion request.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionRequest {
    /// System + user messages.
    pub messages: Vec<PromptMessage>,
    /// Output token cap.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
}

/// A chat-completion answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// Tokens reported by the provider (or estimated when it reports none).
    pub usage: TokenUsage,
}

/// Why a completion failed, after retries. `Display` is the message shown to users.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LlmError {
    /// Still rate limited after the last attempt.
    #[error("the LLM provider is rate limiting us, try again in {retry_after_secs} s")]
    RateLimited {
        /// Suggested wait.
        retry_after_secs: u64,
    },
    /// `insufficient_quota`: the account is out of credits.
    #[error(
        "the LLM account has no credits left (insufficient_quota): add credits or switch provider"
    )]
    QuotaExhausted,
    /// 401/403.
    #[error("the API key was rejected by the LLM provider ({status}): check llm.api_key")]
    Unauthorized {
        /// HTTP status.
        status: u16,
    },
    /// 404: usually a wrong model name or base URL.
    #[error("the LLM provider does not know model '{model}' or the URL is wrong (404): check llm.model and llm.base_url")]
    NotFound {
        /// Configured model.
        model: String,
    },
    /// 400 (or another non-retryable 4xx): the request was refused.
    #[error("the LLM provider refused the request: {detail}")]
    BadRequest {
        /// Provider's message.
        detail: String,
    },
    /// No answer within the timeout, after retries.
    #[error("the LLM provider did not answer within {timeout_secs} s")]
    Timeout {
        /// Configured timeout.
        timeout_secs: u64,
    },
    /// Connection refused / DNS / TLS errors, after retries.
    #[error("could not reach the LLM provider at {base_url}: {detail}")]
    Unreachable {
        /// Configured base URL.
        base_url: String,
        /// What failed.
        detail: String,
    },
    /// 5xx after retries.
    #[error("the LLM provider kept failing (HTTP {status}); try again later")]
    ServerError {
        /// Last status.
        status: u16,
    },
    /// The answer could not be understood.
    #[error("the LLM provider sent an answer that could not be read: {detail}")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// The LLM settings cannot work (bad URL, empty model, zero timeout).
    #[error("the LLM settings are invalid: {detail}")]
    Config {
        /// What to fix.
        detail: String,
    },
    /// The per-guild daily token budget does not cover this summary.
    #[error(
        "this summary needs about {needed} LLM tokens, but this server has {} of its daily {budget} left \
         ({used} used today; the budget resets at midnight UTC)",
        budget.saturating_sub(*used)
    )]
    BudgetExceeded {
        /// Tokens used today.
        used: u64,
        /// Daily budget.
        budget: u64,
        /// Estimated tokens this summary needs.
        needed: u64,
    },
}

/// Something that completes chat prompts: the OpenAI-compatible client, or a test double.
pub trait ChatModel: Send + Sync {
    /// Provider name for labels and cache keys (e.g. `openai`).
    fn provider(&self) -> &str;
    /// Model name for labels, cache keys and token counting.
    fn model(&self) -> &str;
    /// Run one completion, retrying as the implementation sees fit.
    fn complete(&self, request: CompletionRequest) -> BoxFuture<'_, Result<Completion, LlmError>>;
}
