//! The LLM summarizer: one call when the window fits the model's context, otherwise map-reduce
//! (chunk summaries in parallel with bounded concurrency, then combining passes that keep the
//! `[mN]` citations), with progress reports, summed token usage and a budget-guard hook.

use std::ops::{Range, RangeInclusive};
use std::sync::Arc;
use tracing::Instrument as _;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::budget::{self, chunk_counts, count_tokens, fit_lines_with_cap, Encoding};
use super::lang::Lang;
use super::prompt::{
    parse_answer_within, parse_indexed, render_indexed, ChunkNote, Lines, PromptContext, Templates,
    PROMPT_VERSION,
};
use super::withhold::Policy;
use super::{Draft, Progress, ProgressFn, Summarizer, SummaryInput};
use crate::llm::{BoxFuture, ChatModel, Completion, CompletionRequest, LlmError, PromptMessage};
use crate::model::{
    ChannelId, ChannelInfo, ChannelKind, Detail, MessageId, TimeWindow, Timestamp, TokenUsage,
};

/// Tokens the chat format adds around each prompt message, and to prime the reply.
const PER_MESSAGE_TOKENS: usize = 4;
const REPLY_PRIMING_TOKENS: usize = 3;
/// Smallest useful room for chat data in one prompt.
const MIN_DATA_TOKENS: usize = 256;

/// Asked before every LLM call with the estimated tokens of that call (prompt plus
/// `max_tokens`); returning an error (normally [`LlmError::BudgetExceeded`]) stops the summary
/// before the call is made. The engine uses it to enforce the per-guild daily token budget.
pub type BudgetGuard = Arc<dyn Fn(u64) -> Result<(), LlmError> + Send + Sync>;

/// How the LLM summarizer uses the model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LlmOptions {
    /// The model's context window in tokens (prompt plus answer).
    pub context_tokens: usize,
    /// Output budget per call (`max_tokens` of the request).
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most LLM calls in flight at once during map-reduce (0 is treated as 1).
    pub concurrency: usize,
    /// Most chunks a window is split into; when a window needs more, its oldest messages are
    /// left out (and the prompt says so). Bounds cost and time of very long windows.
    pub max_chunks: usize,
}

impl Default for LlmOptions {
    /// 128k context (gpt-4o class), 2,000 output tokens, temperature 0.2, 2 calls at once,
    /// at most 16 chunks.
    fn default() -> Self {
        Self {
            context_tokens: 128_000,
            max_tokens: 2_000,
            temperature: 0.2,
            concurrency: 2,
            max_chunks: 16,
        }
    }
}

/// Summarizes with a [`ChatModel`], splitting long windows map-reduce style.
pub struct LlmSummarizer {
    model: Arc<dyn ChatModel>,
    templates: Templates,
    opts: LlmOptions,
    guard: Option<BudgetGuard>,
}

impl std::fmt::Debug for LlmSummarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSummarizer")
            .field("provider", &self.model.provider())
            .field("model", &self.model.model())
            .field("version", &self.templates.version())
            .field("opts", &self.opts)
            .field("guard", &self.guard.is_some())
            .finish()
    }
}

impl LlmSummarizer {
    /// A summarizer over `model` with the given templates and options (no budget guard).
    pub fn new(model: Arc<dyn ChatModel>, templates: Templates, opts: LlmOptions) -> Self {
        Self {
            model,
            templates,
            opts,
            guard: None,
        }
    }

    /// Ask `guard` before every LLM call (see [`BudgetGuard`]).
    #[must_use]
    pub fn with_budget_guard(mut self, guard: BudgetGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The options in use.
    pub fn options(&self) -> &LlmOptions {
        &self.opts
    }

    /// Tokens of chat data one prompt can carry with these options and templates (for a
    /// channel with a short name and no topic). Call it at startup: an error says which option
    /// to change when `context_tokens` is too small for `max_tokens` plus the prompt.
    pub fn data_tokens(&self) -> Result<usize, LlmError> {
        let channel = ChannelInfo {
            id: ChannelId(0),
            guild_id: None,
            guild_name: None,
            name: "general".into(),
            topic: None,
            parent_id: None,
        };
        let ctx = PromptContext {
            channel: &channel,
            kind: ChannelKind::Dev,
            window: TimeWindow {
                start: Timestamp(0),
                end: Timestamp(0),
            },
            language: None,
            detail: Detail::Full,
        };
        let note = ChunkNote {
            part: Some((self.opts.max_chunks, self.opts.max_chunks)),
            omitted_oldest: 1_000_000,
            cut: 1,
        };
        let prompt = self.templates.map_prompt(&ctx, &[], &note);
        let overhead = prompt_overhead(self.model.model(), &prompt);
        self.data_room(overhead)
    }

    /// What summarizing `input` would send, without calling the model (`summarize --dry-run`).
    pub fn estimate(&self, input: SummaryInput<'_>) -> Result<Estimate, LlmError> {
        if input.messages.is_empty() {
            return Ok(Estimate::default());
        }
        let ctx = context(&input);
        let model = self.model.model();
        let plan = self.plan_map(&ctx, &Lines::new(input.messages))?;
        let parts = plan.prompts.len();
        let mut prompt_tokens: usize = plan
            .prompts
            .iter()
            .map(|(p, _)| prompt_overhead(model, p))
            .sum();
        let mut calls = parts;
        if parts > 1 {
            // One combining call over the parts' answers, each at most max_tokens long.
            let per_part = self.opts.max_tokens as usize
                + count_tokens(model, "### Part 999\n")
                + budget::SEPARATOR_TOKENS;
            prompt_tokens += prompt_overhead(model, &self.templates.combine_prompt(&ctx, &[]))
                + parts * per_part;
            calls += 1;
        }
        Ok(Estimate {
            messages_sent: plan.shown.clone().count(),
            omitted_oldest: plan.omitted_oldest,
            parts,
            calls,
            prompt_tokens: prompt_tokens as u64,
            output_tokens: calls as u64 * u64::from(self.opts.max_tokens),
        })
    }

    /// The map step of a window: the chat log fitted to `max_chunks` prompts (oldest messages
    /// left out when it does not fit), one prompt when it fits one, else one per part. Only the
    /// lines the budget reaches are formatted (newest first), and each is held once: as a fitted
    /// line until its part's prompt is built, then in that prompt.
    fn plan_map(&self, ctx: &PromptContext<'_>, lines: &Lines<'_>) -> Result<MapPlan, LlmError> {
        let model = self.model.model();
        let max_chunks = self.opts.max_chunks.max(1);
        let worst_part = ChunkNote {
            part: Some((max_chunks, max_chunks)),
            omitted_oldest: lines.len(),
            cut: 1,
        };
        // A single prompt carries the length instruction instead of the part note.
        let worst_single = ChunkNote {
            part: None,
            ..worst_part
        };
        let map_overhead = [worst_part, worst_single]
            .iter()
            .map(|n| prompt_overhead(model, &self.templates.map_prompt(ctx, &[], n)))
            .max()
            .unwrap_or(0);
        let room = self.data_room(map_overhead)?;
        let fitted = fit_lines_with_cap(
            model,
            lines.len(),
            |i| lines.line(i),
            room.saturating_mul(max_chunks),
            budget::default_line_cap(room),
        );
        let offset = fitted.dropped_oldest;
        // Message numbers the model sees; citations of anything else are invented.
        let shown = offset + 1..=lines.len();
        tracing::debug!(
            messages = lines.len(),
            kept = fitted.lines.len(),
            cut = fitted.cut,
            tokens = fitted.tokens,
            room,
            "fitted chat log to the token budget"
        );
        if fitted.tokens <= room {
            let note = ChunkNote {
                part: None,
                omitted_oldest: offset,
                cut: fitted.cut,
            };
            let prompt = self.templates.map_prompt(ctx, &fitted.lines, &note);
            return Ok(MapPlan {
                prompts: vec![(prompt, map_overhead + fitted.tokens)],
                chunk_numbers: vec![shown.clone()],
                shown,
                omitted_oldest: offset,
            });
        }
        let mut fitted = fitted;
        let mut ranges = chunk_counts(&fitted.line_tokens, room);
        let mut offset = offset;
        if ranges.len() > max_chunks {
            // Parts rarely fill their room exactly, so the fitted lines can need one part more
            // than allowed: the oldest parts are left out too.
            let skip = ranges[ranges.len() - max_chunks].start;
            fitted.lines.drain(..skip);
            fitted.line_tokens.drain(..skip);
            fitted.cut_lines.retain(|&i| i >= skip);
            fitted.cut_lines.iter_mut().for_each(|i| *i -= skip);
            ranges = ranges[ranges.len() - max_chunks..]
                .iter()
                .map(|r| r.start - skip..r.end - skip)
                .collect();
            offset += skip;
        }
        let shown = offset + 1..=lines.len();
        let parts = ranges.len();
        tracing::debug!(parts, "window does not fit one prompt: map-reduce");
        let mut fitted_lines = fitted.lines.into_iter();
        let prompts = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let note = ChunkNote {
                    part: Some((i + 1, parts)),
                    omitted_oldest: offset,
                    cut: fitted.cut_lines.iter().filter(|&&c| r.contains(&c)).count(),
                };
                // This part's lines go into its prompt and are dropped.
                let part: Vec<String> = fitted_lines.by_ref().take(r.len()).collect();
                let prompt = self.templates.map_prompt(ctx, &part, &note);
                (prompt, map_overhead + range_tokens(&fitted.line_tokens, r))
            })
            .collect();
        Ok(MapPlan {
            prompts,
            chunk_numbers: ranges
                .iter()
                .map(|r| offset + r.start + 1..=offset + r.end)
                .collect(),
            shown,
            omitted_oldest: offset,
        })
    }

    /// Summarize `input`, withholding secrets under `withholding` from the lines sent.
    async fn run(
        &self,
        input: SummaryInput<'_>,
        withholding: Option<Policy>,
        progress: ProgressFn<'_>,
    ) -> Result<Draft, LlmError> {
        if input.messages.is_empty() {
            return Ok(Draft {
                sections: Vec::new(),
                usage: TokenUsage::default(),
            });
        }
        let ctx = context(&input);
        let ids: Vec<MessageId> = input.messages.iter().map(|m| m.id).collect();
        let MapPlan {
            prompts,
            chunk_numbers,
            shown,
            ..
        } = self.plan_map(&ctx, &Lines::new(input.messages).withholding(withholding))?;
        let mut run = Run::new(self, ctx, progress);
        if prompts.len() == 1 {
            run.planned = 1;
            let mut done = run.call_all(prompts).await?;
            let text = done.pop().map(|c| c.text).unwrap_or_default();
            let sections = parse_answer_within(&text, &ids, shown).map_err(malformed)?;
            return Ok(run.finish(attributed(sections, &input)));
        }
        run.planned = prompts.len() + 1;
        let answers = run.call_all(prompts).await?;
        let summaries = canonical_summaries(&answers, &chunk_numbers);
        let text = self.reduce(&mut run, summaries, &shown).await?;
        let sections = parse_answer_within(&text, &ids, shown).map_err(malformed)?;
        Ok(run.finish(attributed(sections, &input)))
    }

    /// Combine summaries until one answer is left: one final call when they fit, otherwise
    /// group-wise combining passes first. Returns the final answer text.
    async fn reduce(
        &self,
        run: &mut Run<'_>,
        mut summaries: Vec<String>,
        shown: &RangeInclusive<usize>,
    ) -> Result<String, LlmError> {
        let model = run.model_name;
        let part_tokens = count_tokens(model, "### Part 999\n") + budget::SEPARATOR_TOKENS;
        loop {
            match summaries.len() {
                0 => {
                    return Err(LlmError::Malformed {
                        detail: "no part of the conversation produced a usable summary".into(),
                    })
                }
                1 if run.done > 0 => {
                    // Only one part had anything to report: it is the summary.
                    run.planned = run.done;
                    (run.progress)(Progress {
                        done: run.done,
                        total: run.done,
                    });
                    return Ok(summaries.swap_remove(0));
                }
                _ => {}
            }
            let overhead = run.overhead(&self.templates.combine_prompt(&run.ctx, &[]));
            let room = self.data_room(overhead)?;
            // Each summary gets at most half the room, so every group merges at least two
            // and the rounds terminate.
            let cap = (room / 2).saturating_sub(part_tokens + budget::SEPARATOR_TOKENS);
            let capped: Vec<(String, usize)> = summaries
                .iter()
                .map(|s| {
                    let (text, tokens) = budget::cut_to_tokens(model, s, cap);
                    (text, tokens + part_tokens)
                })
                .collect();
            let counts: Vec<usize> = capped.iter().map(|(_, t)| *t).collect();
            let groups = chunk_counts(&counts, room);
            let texts: Vec<String> = capped.into_iter().map(|(s, _)| s).collect();
            if groups.len() == 1 {
                let prompt = self.templates.combine_prompt(&run.ctx, &texts);
                let estimate = overhead + counts.iter().sum::<usize>();
                let mut answer = run.call_all(vec![(prompt, estimate)]).await?;
                return Ok(answer.pop().map(|c| c.text).unwrap_or_default());
            }
            tracing::debug!(
                summaries = texts.len(),
                groups = groups.len(),
                "partial summaries do not fit one combine prompt: combining in groups"
            );
            let (singles, requests): (Vec<_>, Vec<_>) = groups.iter().partition(|g| g.len() == 1);
            run.planned += requests.len();
            // Intermediate merges keep everything: only the final answer is held to the length.
            let partial = PromptContext {
                detail: Detail::Full,
                ..run.ctx
            };
            let calls = requests
                .iter()
                .map(|g| {
                    let prompt = self
                        .templates
                        .combine_prompt(&partial, &texts[(*g).clone()]);
                    (prompt, overhead + range_tokens(&counts, g))
                })
                .collect();
            let answers = run.call_all(calls).await?;
            let allowed = vec![shown.clone(); answers.len()];
            let mut merged = canonical_summaries(&answers, &allowed).into_iter();
            // Keep the groups in window order.
            summaries = groups
                .iter()
                .filter_map(|g| {
                    if singles.contains(&g) {
                        Some(texts[g.start].clone())
                    } else {
                        merged.next()
                    }
                })
                .collect();
        }
    }

    /// Tokens left for chat data after the answer budget, the prompt overhead and a safety
    /// margin: 5% for OpenAI models, 25% for others, whose tokenizers (Llama, Mistral, Qwen...)
    /// can count noticeably more tokens than tiktoken's estimate.
    fn data_room(&self, overhead: usize) -> Result<usize, LlmError> {
        let context = self.opts.context_tokens;
        let after_output = context.saturating_sub(self.opts.max_tokens as usize);
        let room = after_output.saturating_sub(overhead);
        let margin = if Encoding::known(self.model.model()).is_some() {
            room / 20
        } else {
            room / 4
        };
        let room = room - margin;
        if room < MIN_DATA_TOKENS {
            return Err(LlmError::Config {
                detail: format!(
                    "llm.context_tokens ({context}) leaves no room for chat messages after \
                     llm.max_tokens ({}) and the prompt ({overhead} tokens): raise context_tokens \
                     to at least {} or lower max_tokens",
                    self.opts.max_tokens,
                    self.opts.max_tokens as usize + overhead + 2 * MIN_DATA_TOKENS,
                ),
            });
        }
        Ok(room)
    }
}

impl Summarizer for LlmSummarizer {
    fn provider(&self) -> &str {
        self.model.provider()
    }

    fn model(&self) -> &str {
        self.model.model()
    }

    /// [`PROMPT_VERSION`], plus a hash of override templates when there are any.
    fn version(&self) -> &str {
        debug_assert!(self.templates.version().starts_with(PROMPT_VERSION));
        self.templates.version()
    }

    fn summarize<'a>(
        &'a self,
        input: SummaryInput<'a>,
        progress: ProgressFn<'a>,
    ) -> BoxFuture<'a, Result<Draft, LlmError>> {
        Box::pin(self.run(input, None, progress))
    }

    /// Withholds the secrets of only the messages sent, as their lines are made.
    fn summarize_withheld<'a>(
        &'a self,
        input: SummaryInput<'a>,
        policy: Policy,
        progress: ProgressFn<'a>,
    ) -> BoxFuture<'a, Result<Draft, LlmError>> {
        Box::pin(self.run(input, Some(policy), progress))
    }
}

/// The prompt context of `input`.
fn context<'a>(input: &SummaryInput<'a>) -> PromptContext<'a> {
    PromptContext {
        channel: input.channel,
        kind: input.kind,
        window: input.window,
        language: input.language,
        detail: input.detail,
    }
}

/// What the map step sends.
struct MapPlan {
    /// `(prompt, estimated prompt tokens)` per call: one when the window fits one prompt.
    prompts: Vec<(Vec<PromptMessage>, usize)>,
    /// The message numbers each prompt shows.
    chunk_numbers: Vec<RangeInclusive<usize>>,
    /// Every message number the model sees.
    shown: RangeInclusive<usize>,
    /// Oldest messages left out to fit.
    omitted_oldest: usize,
}

/// What summarizing a window would cost (see [`LlmSummarizer::estimate`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Messages sent to the model.
    pub messages_sent: usize,
    /// Oldest messages left out to fit `max_chunks` prompts.
    pub omitted_oldest: usize,
    /// Map-reduce parts (1: the window fits one prompt; 0: nothing to send).
    pub parts: usize,
    /// LLM calls: the parts, plus one combining call when there are several (a further pass
    /// may follow when the parts' answers do not fit one combining prompt).
    pub calls: usize,
    /// Input tokens: each map prompt as it would be sent (tiktoken count plus chat framing),
    /// plus the combining prompt with every part's answer at its full output budget.
    pub prompt_tokens: u64,
    /// Output tokens reserved: `max_tokens` per call (the most the calls may return).
    pub output_tokens: u64,
}

/// State of one summary: progress, usage, and the shared pieces every call needs.
struct Run<'a> {
    model: Arc<dyn ChatModel>,
    model_name: &'a str,
    guard: Option<BudgetGuard>,
    semaphore: Arc<Semaphore>,
    opts: LlmOptions,
    ctx: PromptContext<'a>,
    progress: ProgressFn<'a>,
    usage: TokenUsage,
    done: usize,
    planned: usize,
}

impl<'a> Run<'a> {
    fn new(s: &'a LlmSummarizer, ctx: PromptContext<'a>, progress: ProgressFn<'a>) -> Self {
        Self {
            model: Arc::clone(&s.model),
            model_name: s.model.model(),
            guard: s.guard.clone(),
            semaphore: Arc::new(Semaphore::new(s.opts.concurrency.max(1))),
            opts: s.opts,
            ctx,
            progress,
            usage: TokenUsage::default(),
            done: 0,
            planned: 0,
        }
    }

    /// Tokens a prompt takes besides its data.
    fn overhead(&self, prompt: &[PromptMessage]) -> usize {
        prompt_overhead(self.model_name, prompt)
    }

    /// Run the prompts (with their estimated prompt tokens) with at most `concurrency` in
    /// flight, reporting progress as each finishes. Answers come back in request order. The
    /// first failure cancels the calls still running.
    async fn call_all(
        &mut self,
        prompts: Vec<(Vec<PromptMessage>, usize)>,
    ) -> Result<Vec<Completion>, LlmError> {
        let mut tasks = JoinSet::new();
        let count = prompts.len();
        for (index, (messages, prompt_tokens)) in prompts.into_iter().enumerate() {
            let request = CompletionRequest {
                messages,
                max_tokens: self.opts.max_tokens,
                temperature: self.opts.temperature,
            };
            let estimate = (prompt_tokens + self.opts.max_tokens as usize) as u64;
            let model = Arc::clone(&self.model);
            let guard = self.guard.clone();
            let semaphore = Arc::clone(&self.semaphore);
            tasks.spawn(
                async move {
                    let _permit =
                        semaphore
                            .acquire_owned()
                            .await
                            .map_err(|_| LlmError::Malformed {
                                detail: "the summary was cancelled".into(),
                            })?;
                    if let Some(guard) = &guard {
                        guard(estimate)?;
                    }
                    model.complete(request).await.map(|c| (index, c))
                }
                .in_current_span(),
            );
        }
        let mut answers: Vec<Option<Completion>> = vec![None; count];
        while let Some(joined) = tasks.join_next().await {
            let (index, completion) = joined.map_err(|e| LlmError::Malformed {
                detail: format!("a summary task stopped unexpectedly: {e}"),
            })??;
            self.usage += completion.usage;
            answers[index] = Some(completion);
            self.done += 1;
            (self.progress)(Progress {
                done: self.done,
                total: self.planned.max(self.done),
            });
        }
        Ok(answers.into_iter().flatten().collect())
    }

    fn finish(&self, sections: Vec<crate::model::Section>) -> Draft {
        Draft {
            sections,
            usage: self.usage,
        }
    }
}

/// Answers as canonical Markdown, each keeping only citations of the message numbers its
/// prompt showed (`allowed[i]` for answer `i`). Answers without usable points are skipped (a
/// part of the chat with nothing worth reporting); the rest keep their order.
fn canonical_summaries(answers: &[Completion], allowed: &[RangeInclusive<usize>]) -> Vec<String> {
    answers
        .iter()
        .zip(allowed)
        .enumerate()
        .filter_map(|(i, (c, allowed))| match parse_indexed(&c.text, allowed) {
            Ok(sections) => Some(render_indexed(&sections)),
            Err(e) => {
                tracing::warn!(part = i + 1, error = %e, "skipping an unusable partial summary");
                None
            }
        })
        .collect()
}

/// The sections with every bullet's actors checked against its cited messages (see
/// [`super::attribution`]).
fn attributed(
    sections: Vec<crate::model::Section>,
    input: &SummaryInput<'_>,
) -> Vec<crate::model::Section> {
    super::attribution::enforce(sections, input.messages, Lang::for_output(input.language))
}

/// Tokens of a prompt: its text plus the chat format's framing.
fn prompt_overhead(model: &str, prompt: &[PromptMessage]) -> usize {
    prompt
        .iter()
        .map(|m| count_tokens(model, &m.content) + PER_MESSAGE_TOKENS)
        .sum::<usize>()
        + REPLY_PRIMING_TOKENS
}

/// Tokens of a range of lines, separators included.
fn range_tokens(counts: &[usize], range: &Range<usize>) -> usize {
    counts[range.clone()]
        .iter()
        .map(|t| t + budget::SEPARATOR_TOKENS)
        .sum()
}

#[expect(clippy::needless_pass_by_value, reason = "shaped for map_err")]
fn malformed(e: super::prompt::ParseError) -> LlmError {
    LlmError::Malformed {
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
