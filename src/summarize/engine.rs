//! The summary engine: cache lookup, daily token budget, the configured summarizer, the builtin
//! fallback when the LLM fails, usage accounting, and the header data of a [`Summary`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::llm::LlmError;
use crate::model::{ChannelInfo, ChannelKind, ChatMessage, Detail, Summary, TimeWindow, Timestamp};
use crate::store::{Store, StoreError};

use super::focus::Topic;
use super::{ProgressFn, Summarizer, SummaryInput};

/// Cache settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a summary stays fresh.
    pub ttl: Duration,
    /// Most summaries kept; the oldest are evicted first.
    pub max_entries: usize,
}

/// One summary request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The channel summarized.
    pub channel: ChannelInfo,
    /// Prompt/section variant.
    pub kind: ChannelKind,
    /// Window covered (shown in the header).
    pub window: TimeWindow,
    /// Messages in the window, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Output language.
    pub language: Option<String>,
    /// How long the summary may be.
    pub detail: Detail,
    /// Keep only the messages about this topic (and their reply chains).
    pub topic: Option<Topic>,
    /// Read and write the cache (when the engine has one).
    pub use_cache: bool,
    /// The server's own daily token budget, which may only lower the engine's.
    pub server_budget: Option<u64>,
}

/// Why the engine could not produce a summary.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The LLM failed and fallback is off.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The database failed.
    #[error("database error: {0}")]
    Store(#[from] StoreError),
    /// A topic was asked for and no message of the window is about it (nothing was summarized).
    #[error("no message in this window is about “{0}”; try other words or a longer window")]
    OffTopic(String),
}

/// Produces summaries; cheap to share behind an `Arc`.
pub struct Engine {
    primary: Arc<dyn Summarizer>,
    fallback: Option<Arc<dyn Summarizer>>,
    store: Option<Arc<Store>>,
    cache: Option<CachePolicy>,
    daily_token_budget: u64,
    max_output_tokens: u64,
    withholding: super::withhold::Policy,
}

impl Engine {
    /// An engine that summarizes with `primary` and nothing else.
    pub fn new(primary: Arc<dyn Summarizer>) -> Self {
        Self {
            primary,
            fallback: None,
            store: None,
            cache: None,
            daily_token_budget: 0,
            max_output_tokens: 0,
            withholding: super::withhold::Policy::default(),
        }
    }

    /// What to withhold from an LLM besides tokens and passwords (see [`super::withhold`]).
    #[must_use]
    pub fn with_withholding(mut self, policy: super::withhold::Policy) -> Self {
        self.withholding = policy;
        self
    }

    /// Use `fallback` (the builtin engine) when the primary summarizer fails.
    #[must_use]
    pub fn with_fallback(mut self, fallback: Arc<dyn Summarizer>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Record usage in `store`, and cache summaries there when `cache` is given.
    #[must_use]
    pub fn with_store(mut self, store: Arc<Store>, cache: Option<CachePolicy>) -> Self {
        self.store = Some(store);
        self.cache = cache;
        self
    }

    /// Refuse LLM calls that would take a guild past `tokens` today (0 = unlimited). Needs a
    /// store. `max_output_tokens` is reserved for each answer in the estimate.
    #[must_use]
    pub fn with_daily_token_budget(mut self, tokens: u64, max_output_tokens: u32) -> Self {
        self.daily_token_budget = tokens;
        self.max_output_tokens = u64::from(max_output_tokens);
        self
    }

    /// The primary summarizer's provider name.
    pub fn provider(&self) -> &str {
        self.primary.provider()
    }

    /// Summarize one window: from the cache when fresh, else with the primary summarizer, else
    /// (on LLM failure) with the fallback, labelled with the reason. With a topic, only the
    /// messages about it (and their reply chains) are summarized; none is an error.
    pub async fn summarize(
        &self,
        req: &Request,
        progress: ProgressFn<'_>,
    ) -> Result<Summary, EngineError> {
        let Some(topic) = &req.topic else {
            return self.summarize_window(req, progress).await;
        };
        let focused = Request {
            messages: super::focus::select(&req.messages, topic),
            ..req.clone()
        };
        if focused.messages.is_empty() {
            return Err(EngineError::OffTopic(topic.to_string()));
        }
        self.summarize_window(&focused, progress).await
    }

    async fn summarize_window(
        &self,
        req: &Request,
        progress: ProgressFn<'_>,
    ) -> Result<Summary, EngineError> {
        let now = Timestamp::now();
        if req.messages.is_empty() {
            return Ok(Self::assemble(
                req,
                &*self.primary,
                super::Draft::empty(),
                now,
            ));
        }
        // What an LLM is sent has its secrets replaced; the builtin runs here and sees all.
        let sent = (self.primary.provider() != super::BUILTIN_PROVIDER)
            .then(|| Sent::new(req, self.withholding));
        let key = cache_key(&*self.primary, req, sent.as_ref().map(|_| self.withholding));
        let withheld = sent.as_ref().map_or(0, |s| s.withheld);
        if let Some(mut hit) = self.cache_lookup(req, &key, now)? {
            hit.withheld = withheld;
            hit.cache_entry = Some(entry_ref(req, &key));
            return Ok(hit);
        }
        let started = Instant::now();
        let input = SummaryInput {
            channel: &req.channel,
            kind: req.kind,
            window: req.window,
            messages: &req.messages,
            language: req.language.as_deref(),
            detail: req.detail,
        };
        let attempt = match (self.check_budget(req), &sent) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(sent)) => {
                let input = SummaryInput {
                    channel: &sent.channel,
                    ..input
                };
                let primary = self
                    .primary
                    .summarize_withheld(input, self.withholding, progress);
                primary.await
            }
            (Ok(()), None) => self.primary.summarize(input, progress).await,
        };
        match attempt {
            Ok(draft) => {
                self.record_usage(req, &*self.primary, draft.usage)?;
                let mut summary = Self::assemble(req, &*self.primary, draft, now);
                summary.withheld = withheld;
                self.hold_to_budget(req, &mut summary);
                if self.cache_store(req, &key, &summary, now)? {
                    summary.cache_entry = Some(entry_ref(req, &key));
                }
                self.record_latency(started);
                Ok(summary)
            }
            Err(err) => {
                let Some(fallback) = &self.fallback else {
                    return Err(err.into());
                };
                tracing::warn!(
                    channel_id = %req.channel.id,
                    error = %err,
                    "LLM summary failed; using the builtin summarizer"
                );
                let draft = fallback.summarize(input, progress).await?;
                let mut summary = Self::assemble(req, &**fallback, draft, now);
                summary.fallback_reason = Some(err.to_string());
                self.record_latency(started);
                Ok(summary)
            }
        }
    }

    fn cache_lookup(
        &self,
        req: &Request,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<Summary>, EngineError> {
        let (Some(store), Some(_), true) = (&self.store, &self.cache, req.use_cache) else {
            return Ok(None);
        };
        Ok(store.cached_summary(key, now)?.map(|mut s| {
            // The key covers the messages, not the window bounds: a later "last 24 h" request
            // over the same messages is the same summary, shown with the requested window.
            s.window = req.window;
            s.focus = req.topic.as_ref().map(|t| t.as_str().to_owned());
            s.cached = true;
            s.language.clone_from(&req.language);
            s
        }))
    }

    /// Cache `summary` when the engine caches; true when it did.
    fn cache_store(
        &self,
        req: &Request,
        key: &str,
        summary: &Summary,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        let (Some(store), Some(policy), true) = (&self.store, &self.cache, req.use_cache) else {
            return Ok(false);
        };
        let ttl_ms = i64::try_from(policy.ttl.as_millis()).unwrap_or(i64::MAX);
        let expires = Timestamp(now.millis().saturating_add(ttl_ms));
        store.cache_summary(key, summary, expires, policy.max_entries)?;
        Ok(true)
    }

    /// Trim an LLM's summary that ran past the detail level's budget (the builtin keeps to it
    /// by construction).
    fn hold_to_budget(&self, req: &Request, summary: &mut Summary) {
        let Some(budget) = req.detail.char_budget() else {
            return;
        };
        if self.primary.provider() == super::BUILTIN_PROVIDER {
            return;
        }
        let trimmed = super::fit::trim(summary, budget);
        if trimmed > 0 {
            tracing::info!(channel_id = %req.channel.id, detail = %req.detail, budget, trimmed,
                "the model wrote more than the detail level allows; trimmed");
        }
    }

    /// Refuse before calling an LLM when the guild's daily budget (its own setting, which may
    /// only lower the configured one) would be exceeded.
    fn check_budget(&self, req: &Request) -> Result<(), LlmError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let budget = crate::settings::capped_budget(req.server_budget, self.daily_token_budget);
        if budget == 0 || self.primary.provider() == super::BUILTIN_PROVIDER {
            return Ok(());
        }
        let today = Utc::now().date_naive();
        let used = store
            .usage_on(req.channel.guild_id, today)
            .map_or(0, crate::model::TokenUsage::total);
        let needed =
            estimate_tokens(&req.messages) + PROMPT_OVERHEAD_TOKENS + self.max_output_tokens;
        if used.saturating_add(needed) > budget {
            return Err(LlmError::BudgetExceeded {
                used,
                budget,
                needed,
            });
        }
        Ok(())
    }

    /// Add the time a generated (not cached) summary took to the status page's latency history;
    /// a failure is logged, never fails the summary.
    fn record_latency(&self, started: Instant) {
        let Some(store) = &self.store else {
            return;
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Err(e) = store.record_summary_latency(Utc::now().date_naive(), ms) {
            tracing::warn!(error = %e, "cannot record the summary latency");
        }
    }

    fn record_usage(
        &self,
        req: &Request,
        summarizer: &dyn Summarizer,
        usage: crate::model::TokenUsage,
    ) -> Result<(), EngineError> {
        if let (Some(store), true) = (&self.store, usage.total() > 0) {
            store.add_usage(
                req.channel.guild_id,
                Utc::now().date_naive(),
                summarizer.provider(),
                summarizer.model(),
                usage,
            )?;
        }
        Ok(())
    }

    fn assemble(
        req: &Request,
        summarizer: &dyn Summarizer,
        draft: super::Draft,
        now: Timestamp,
    ) -> Summary {
        Summary {
            channel: req.channel.clone(),
            window: req.window,
            message_count: req.messages.len(),
            participants: participants(&req.messages),
            sections: draft.sections,
            provider: summarizer.provider().to_string(),
            model: summarizer.model().to_string(),
            usage: draft.usage,
            cached: false,
            fallback_reason: None,
            focus: req.topic.as_ref().map(|t| t.as_str().to_owned()),
            created_at: now,
            language: req.language.clone(),
            withheld: 0,
            left_out: 0,
            cache_entry: None,
        }
    }
}

/// The channel as an LLM may see it, secrets replaced (see [`super::withhold`]), and how many
/// secrets are withheld from it and the messages (which the summarizer withholds as it sends
/// them, see [`Summarizer::summarize_withheld`]).
struct Sent {
    channel: ChannelInfo,
    withheld: usize,
}

impl Sent {
    fn new(req: &Request, policy: super::withhold::Policy) -> Self {
        let mut withheld = super::withhold::count(&req.messages, policy);
        let mut channel = req.channel.clone();
        if let Some(topic) = &req.channel.topic {
            let (clean, n) = super::withhold::text(topic, policy);
            channel.topic = Some(clean.into_owned());
            withheld += n;
        }
        Self { channel, withheld }
    }
}

/// Tokens of instructions around the chat log in a prompt (the templates are about this size).
const PROMPT_OVERHEAD_TOKENS: u64 = 600;

/// A rough token estimate (4 characters a token, as OpenAI's rule of thumb) used only for the
/// budget pre-check; the real count comes from the provider.
fn estimate_tokens(messages: &[ChatMessage]) -> u64 {
    let chars: usize = messages.iter().map(|m| m.content.len() + 24).sum();
    (chars / 4) as u64
}

/// Distinct human participants by shown name, most active first (ties by name).
pub fn participants(messages: &[ChatMessage]) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in messages {
        if !m.author.is_bot && !m.kind.is_system() {
            *counts.entry(m.author.shown_name()).or_default() += 1;
        }
    }
    let mut names: Vec<(&str, usize)> = counts.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    names.into_iter().map(|(n, _)| n.to_string()).collect()
}

/// What names the cache entry under `key` of `req`'s summary (for feedback buttons).
fn entry_ref(req: &Request, key: &str) -> crate::model::CacheEntryRef {
    crate::model::CacheEntryRef {
        key: key.to_owned(),
        kind: req.kind,
        detail: req.detail,
    }
}

/// The cache key: a hash of provider, model, prompt version, options (the withholding policy
/// for an LLM among them), and the id and last edit time of every message in the window. An
/// edit or delete changes the key, so the old entry goes stale.
pub fn cache_key(
    summarizer: &dyn Summarizer,
    req: &Request,
    withholding: Option<super::withhold::Policy>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        "summarybot-cache-v1",
        summarizer.provider(),
        summarizer.model(),
        summarizer.version(),
        req.kind.as_str(),
        req.language.as_deref().unwrap_or(""),
        req.detail.as_str(),
        match withholding {
            None => "",
            Some(p) if p.emails => "withhold-emails",
            Some(_) => "withhold",
        },
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(req.channel.id.0.to_le_bytes());
    for m in &req.messages {
        h.update(m.id.0.to_le_bytes());
        h.update(m.version().millis().to_le_bytes());
    }
    crate::encoding::to_hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::llm::BoxFuture;
    use crate::model::{
        Author, ChannelId, GuildId, MessageId, MessageKind, Point, Section, SectionKind,
        TokenUsage, UserId,
    };
    use crate::store::test_support::temp_store;
    use crate::summarize::{Draft, Progress};

    /// A summarizer that counts its calls and answers with a fixed point or a scripted error.
    struct Counting {
        provider: &'static str,
        calls: AtomicUsize,
        fail_with: Mutex<Option<LlmError>>,
    }

    impl Counting {
        fn new(provider: &'static str) -> Arc<Self> {
            Arc::new(Self {
                provider,
                calls: AtomicUsize::new(0),
                fail_with: Mutex::new(None),
            })
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Summarizer for Counting {
        fn provider(&self) -> &str {
            self.provider
        }
        fn model(&self) -> &'static str {
            "test-model"
        }
        fn version(&self) -> &'static str {
            "t1"
        }
        fn summarize<'a>(
            &'a self,
            input: SummaryInput<'a>,
            _progress: ProgressFn<'a>,
        ) -> BoxFuture<'a, Result<Draft, LlmError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let failure = self.fail_with.lock().expect("lock").clone();
            let text = format!("{} saw {} messages", self.provider, input.messages.len());
            let first = input.messages[0].id;
            Box::pin(async move {
                if let Some(err) = failure {
                    return Err(err);
                }
                Ok(Draft {
                    sections: vec![Section {
                        kind: SectionKind::KeyPoints,
                        points: vec![Point {
                            text,
                            citations: vec![first],
                        }],
                    }],
                    usage: TokenUsage {
                        prompt_tokens: 100,
                        completion_tokens: 20,
                    },
                })
            })
        }
    }

    fn message(id: u64, author: &str, is_bot: bool) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            channel_id: ChannelId(7),
            guild_id: Some(GuildId(1)),
            author: Author {
                id: UserId(id % 3 + 1),
                name: author.to_string(),
                display_name: None,
                is_bot,
            },
            timestamp: Timestamp(1_700_000_000_000 + id as i64 * 1000),
            edited_at: None,
            kind: MessageKind::Default,
            content: format!("message {id} about the release"),
            reply_to: None,
            attachments: Vec::new(),
            reaction_count: 0,
            pinned: false,
        }
    }

    fn request(messages: Vec<ChatMessage>) -> Request {
        Request {
            channel: ChannelInfo {
                id: ChannelId(7),
                guild_id: Some(GuildId(1)),
                guild_name: None,
                name: "general".into(),
                topic: None,
                parent_id: None,
            },
            kind: ChannelKind::General,
            window: TimeWindow {
                start: Timestamp(0),
                end: Timestamp(i64::MAX),
            },
            messages,
            language: None,
            detail: Detail::Standard,
            topic: None,
            use_cache: true,
            server_budget: None,
        }
    }

    fn no_progress() -> impl Fn(Progress) + Send + Sync {
        |_| {}
    }

    const CACHE: CachePolicy = CachePolicy {
        ttl: Duration::from_secs(3600),
        max_entries: 100,
    };

    fn run(engine: &Engine, req: &Request) -> Result<Summary, EngineError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(engine.summarize(req, &no_progress()))
    }

    #[test]
    fn cache_hit_then_stale_after_edit_and_delete() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let primary = Counting::new("llm");
        let engine = Engine::new(primary.clone()).with_store(Arc::clone(&store), Some(CACHE));
        let msgs = vec![message(1, "ana", false), message(2, "bo", false)];
        store.upsert_messages(&msgs).expect("store");

        let first = run(&engine, &request(msgs.clone())).expect("summary");
        assert!(!first.cached);
        let second = run(&engine, &request(msgs.clone())).expect("summary");
        assert!(second.cached, "same messages → cache hit");
        assert_eq!(second.sections, first.sections);
        assert_eq!(primary.calls(), 1);

        // An edit changes the message version: the cached summary is stale.
        let mut edited = msgs.clone();
        edited[1].content = "message 2, corrected".into();
        edited[1].edited_at = Some(Timestamp(1_800_000_000_000));
        let third = run(&engine, &request(edited)).expect("summary");
        assert!(!third.cached);
        assert_eq!(primary.calls(), 2);

        // A deleted message leaves a different set of messages: stale again.
        let fourth = run(&engine, &request(vec![msgs[0].clone()])).expect("summary");
        assert!(!fourth.cached);
        assert_eq!(primary.calls(), 3);

        // Without use_cache the engine neither reads nor writes the cache.
        let mut uncached = request(msgs);
        uncached.use_cache = false;
        assert!(!run(&engine, &uncached).expect("summary").cached);
        assert_eq!(primary.calls(), 4);
    }

    #[test]
    fn a_cached_summary_names_its_cache_entry_and_an_uncached_one_none() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let engine = Engine::new(Counting::new("llm")).with_store(Arc::clone(&store), Some(CACHE));
        let mut req = request(vec![message(1, "ana", false)]);
        req.detail = Detail::Brief;
        let made = run(&engine, &req).expect("summary");
        let entry = made.cache_entry.clone().expect("cached when made");
        assert_eq!(
            (entry.kind, entry.detail, entry.key.len()),
            (ChannelKind::General, Detail::Brief, 64)
        );
        assert!(store
            .cached_summary(&entry.key, Timestamp::now())
            .expect("read")
            .is_some());
        let hit = run(&engine, &req).expect("summary");
        assert!(hit.cached);
        assert_eq!(hit.cache_entry, Some(entry), "a hit names the same entry");
        req.use_cache = false;
        assert_eq!(run(&engine, &req).expect("summary").cache_entry, None);
        let no_store = Engine::new(Counting::new("llm"));
        assert_eq!(
            run(&no_store, &request(vec![message(1, "ana", false)]))
                .expect("summary")
                .cache_entry,
            None
        );
    }

    #[test]
    fn a_cached_llm_summary_keeps_its_language_and_withheld_count() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let engine = Engine::new(Counting::new("llm")).with_store(Arc::clone(&store), Some(CACHE));
        let mut msgs = vec![message(1, "ana", false), message(2, "bo", false)];
        msgs[1].content = "password=hunter2hunter2 and ana@example.org".into();
        let mut req = request(msgs);
        req.language = Some("German".into());
        let first = run(&engine, &req).expect("summary");
        let second = run(&engine, &req).expect("summary");
        assert!(second.cached);
        for s in [&first, &second] {
            assert_eq!((s.withheld, s.language.as_deref()), (2, Some("German")));
        }
        // The builtin runs locally: nothing is withheld from it, and nothing counted.
        let builtin = Engine::new(Counting::new("builtin"));
        assert_eq!(run(&builtin, &req).expect("summary").withheld, 0);
        // Another policy is another prompt: not served from the cache of the first.
        let emails_sent = Engine::new(Counting::new("llm"))
            .with_store(Arc::clone(&store), Some(CACHE))
            .with_withholding(crate::summarize::withhold::Policy { emails: false });
        let third = run(&emails_sent, &req).expect("summary");
        assert!(!third.cached);
        assert_eq!(third.withheld, 1);
    }

    #[test]
    fn llm_failure_falls_back_with_the_reason_or_errors_without_fallback() {
        let primary = Counting::new("llm");
        *primary.fail_with.lock().expect("lock") = Some(LlmError::Unauthorized { status: 401 });
        let fallback = Counting::new("builtin");
        let engine = Engine::new(primary.clone()).with_fallback(fallback.clone());
        let summary = run(&engine, &request(vec![message(1, "ana", false)])).expect("fallback");
        assert_eq!(summary.provider, "builtin");
        let reason = summary.fallback_reason.expect("labelled");
        assert!(reason.contains("API key was rejected"), "{reason}");
        assert_eq!(fallback.calls(), 1);

        let strict = Engine::new(primary);
        let err = run(&strict, &request(vec![message(1, "ana", false)])).expect_err("no fallback");
        assert!(matches!(
            err,
            EngineError::Llm(LlmError::Unauthorized { .. })
        ));
    }

    #[test]
    fn daily_budget_is_enforced_before_calling_the_llm_and_usage_recorded() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let primary = Counting::new("openai");
        let fallback = Counting::new("builtin");
        let engine = Engine::new(primary.clone())
            .with_fallback(fallback.clone())
            .with_store(Arc::clone(&store), None)
            .with_daily_token_budget(125 + PROMPT_OVERHEAD_TOKENS + 50, 50);
        let today = Utc::now().date_naive();

        let ok = run(&engine, &request(vec![message(1, "ana", false)])).expect("summary");
        assert_eq!(ok.provider, "openai");
        let used = store.usage_on(Some(GuildId(1)), today).expect("usage");
        assert_eq!(used.total(), 120, "usage of the call is recorded");

        // 120 used + the estimate for the next window (its messages, the prompt, 50 output tokens)
        // exceeds the budget: refused before the call.
        let refused = run(&engine, &request(vec![message(2, "bo", false)])).expect("fallback");
        assert_eq!(primary.calls(), 1, "the LLM must not be called over budget");
        assert_eq!(refused.provider, "builtin");
        assert!(refused
            .fallback_reason
            .expect("labelled")
            .contains("of its daily"));
        // Both generated summaries (primary and fallback) are in the latency history.
        let latency = store.summary_latency(today, today).expect("latency");
        assert_eq!(
            latency
                .iter()
                .map(crate::store::LatencyDay::count)
                .sum::<u64>(),
            2
        );
    }

    #[test]
    fn a_servers_own_budget_replaces_the_configured_one() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let primary = Counting::new("openai");
        let engine = Engine::new(primary.clone())
            .with_fallback(Counting::new("builtin"))
            .with_store(Arc::clone(&store), None);
        // No configured budget; the server sets one too small for any call.
        let mut req = request(vec![message(1, "ana", false)]);
        req.server_budget = Some(10);
        let refused = run(&engine, &req).expect("fallback");
        assert_eq!(primary.calls(), 0, "the server's budget applies");
        assert_eq!(refused.provider, "builtin");
        // Back to the default (unlimited here): the LLM is called.
        let ok = run(&engine, &request(vec![message(2, "bo", false)])).expect("summary");
        assert_eq!((ok.provider.as_str(), primary.calls()), ("openai", 1));
    }

    #[test]
    fn a_server_cannot_lift_or_raise_the_operators_budget() {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let primary = Counting::new("openai");
        // The operator allows too little for any call.
        let engine = Engine::new(primary.clone())
            .with_fallback(Counting::new("builtin"))
            .with_store(Arc::clone(&store), None)
            .with_daily_token_budget(10, 50);
        for server in [0, 1_000_000] {
            let mut req = request(vec![message(server + 1, "ana", false)]);
            req.server_budget = Some(server);
            let refused = run(&engine, &req).expect("fallback");
            assert_eq!(refused.provider, "builtin", "server budget {server}");
        }
        assert_eq!(primary.calls(), 0);
    }

    #[test]
    fn empty_windows_make_no_call_and_participants_skip_bots() {
        let primary = Counting::new("llm");
        let engine = Engine::new(primary.clone());
        let empty = run(&engine, &request(Vec::new())).expect("summary");
        assert_eq!(empty.message_count, 0);
        assert!(empty.sections.is_empty());
        assert_eq!(primary.calls(), 0);

        let msgs = vec![
            message(1, "bo", false),
            message(2, "ana", false),
            message(3, "ana", false),
            message(4, "ci-bot", true),
        ];
        assert_eq!(
            participants(&msgs),
            vec!["ana".to_string(), "bo".to_string()]
        );
    }
}
