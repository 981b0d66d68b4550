//! Summarization: window selection, prompts, token budgets, map-reduce over an LLM, the builtin
//! extractive engine, rendering, and the engine that ties them to the cache.

pub mod attribution;
pub mod budget;
pub mod builtin;
pub mod engine;
pub mod fit;
pub mod focus;
pub mod lang;
pub mod mapreduce;
pub mod prompt;
pub mod render;
pub mod vocab;
pub mod withhold;

use crate::llm::{BoxFuture, LlmError};
use crate::model::{
    ChannelInfo, ChannelKind, ChatMessage, Detail, Section, TimeWindow, TokenUsage,
};

/// Everything a summarizer needs to summarize one window of one channel.
#[derive(Clone, Copy, Debug)]
pub struct SummaryInput<'a> {
    /// The channel (name and topic go into the prompt and header).
    pub channel: &'a ChannelInfo,
    /// General or dev: picks the prompt and the section set.
    pub kind: ChannelKind,
    /// The window being summarized.
    pub window: TimeWindow,
    /// Messages in the window, oldest first, deleted ones already removed.
    pub messages: &'a [ChatMessage],
    /// Output language (e.g. `German`, `fr`); None means the language of the chat.
    pub language: Option<&'a str>,
    /// How long the summary may be.
    pub detail: Detail,
}

/// Progress of a multi-part summary: part `done` of `total` finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Parts finished.
    pub done: usize,
    /// Parts in all (chunk summaries plus combining passes).
    pub total: usize,
}

/// Callback for progress reports (Discord edits its deferred reply with them).
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// What a summarizer produces; the engine adds header data, caching and labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Non-empty sections in display order.
    pub sections: Vec<Section>,
    /// Tokens spent.
    pub usage: TokenUsage,
}

impl Draft {
    /// A draft with no sections and no usage (an empty window).
    pub fn empty() -> Self {
        Self {
            sections: Vec::new(),
            usage: TokenUsage::default(),
        }
    }
}

/// Provider name of the builtin extractive summarizer.
pub const BUILTIN_PROVIDER: &str = "builtin";

/// A way of summarizing: the builtin extractive engine or an LLM with map-reduce.
pub trait Summarizer: Send + Sync {
    /// `builtin` or the LLM provider name.
    fn provider(&self) -> &str;
    /// Model name (`extractive-v1` for builtin).
    fn model(&self) -> &str;
    /// Version of the prompts/algorithm, part of cache keys.
    fn version(&self) -> &str;
    /// Summarize one window.
    fn summarize<'a>(
        &'a self,
        input: SummaryInput<'a>,
        progress: ProgressFn<'a>,
    ) -> BoxFuture<'a, Result<Draft, LlmError>>;

    /// Summarize one window with its secrets withheld under `policy` (see [`withhold`]). By
    /// default a copy of the messages with the secrets replaced is summarized; a summarizer that
    /// only sends some of the messages (the LLM's map step keeps the newest that fit) overrides
    /// it to withhold them as it sends them, so a huge window is not copied whole.
    fn summarize_withheld<'a>(
        &'a self,
        input: SummaryInput<'a>,
        policy: withhold::Policy,
        progress: ProgressFn<'a>,
    ) -> BoxFuture<'a, Result<Draft, LlmError>> {
        Box::pin(async move {
            let (messages, _) = withhold::messages(input.messages, policy);
            let input = SummaryInput {
                messages: &messages,
                ..input
            };
            self.summarize(input, progress).await
        })
    }
}
