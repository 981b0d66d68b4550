//! What a summary job pays for its engine: rebuilt per job (what every webhook job and digest
//! did before the engines were shared: `Engines::new` + `get`, as the old `app::build_engine`)
//! against one shared instance (`Engines::get`), for the OpenAI provider (client, templates, the
//! prompt-overhead check through the tokenizer; nothing is sent, the base URL is a closed local
//! port) and the builtin one. One end-to-end builtin summary of 1,000 stored messages through
//! `ChannelSummaries::summarize` puts the rebuild cost in proportion.
//!
//! Run with `cargo bench --bench engine_share`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use summarybot::channel_summary::{ChannelRequest, ChannelSummaries, Engines};
use summarybot::config::{Config, LlmProvider};
use summarybot::llm::openai::{OpenAiClient, OpenAiOptions};
use summarybot::model::{
    Author, ChannelId, ChannelInfo, ChatMessage, GuildId, MessageId, MessageKind, TimeWindow,
    Timestamp, UserId,
};
use summarybot::secret::Secret;
use summarybot::summarize::mapreduce::{LlmOptions, LlmSummarizer};
use summarybot::summarize::prompt::Templates;

/// Engines built per measurement (each one timed).
const REBUILDS: usize = 200;
/// Batches of shared `get` calls (each batch timed, then divided).
const BATCHES: usize = 200;
const PER_BATCH: usize = 1_000;
/// End-to-end summaries (cache off).
const SUMMARIES: usize = 5;
const MESSAGES: usize = 1_000;

fn main() {
    let openai = Arc::new(openai_config());
    let builtin = Arc::new(Config::default());

    // The first OpenAI engine of a process also loads the o200k tokenizer (a process-wide
    // singleton since before the change), so only the first rebuild ever paid for it.
    let cold = time(|| {
        build_and_get(&openai);
    });
    let openai_rebuild = median_of(REBUILDS, || {
        time(|| {
            build_and_get(&openai);
        })
    });
    let openai_shared = shared_get(&openai);
    let builtin_rebuild = median_of(REBUILDS, || {
        time(|| {
            build_and_get(&builtin);
        })
    });
    let builtin_shared = shared_get(&builtin);
    let parts = openai_parts(&openai);
    let (e2e, count) = end_to_end();

    println!(
        "engine per job vs shared (median; a rebuild is Engines::new + get + drop, a shared get is Engines::get on one instance, {PER_BATCH} calls per timed batch):"
    );
    println!("| provider | rebuilt per job (before) | shared (now) | saved per job |");
    println!("|---|---|---|---|");
    for (name, rebuild, shared) in [
        ("openai", openai_rebuild, openai_shared),
        ("builtin", builtin_rebuild, builtin_shared),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            fmt(rebuild),
            fmt(shared),
            fmt(rebuild.saturating_sub(shared))
        );
    }
    println!(
        "OpenAI rebuild by part (medians): HTTP client {}, prompt templates {}, summarizer + prompt-overhead check (tokenizer warm) {}",
        fmt(parts[0]),
        fmt(parts[1]),
        fmt(parts[2])
    );
    println!(
        "first OpenAI engine in the process (includes the one-time o200k tokenizer load): {}",
        fmt(cold)
    );
    println!(
        "builtin end to end, ChannelSummaries::summarize over {count} stored messages (cache off, median of {SUMMARIES}): {}",
        fmt(e2e)
    );
    println!(
        "OpenAI rebuild = {:.1}% of that builtin summary; builtin rebuild = {:.4}%",
        100.0 * openai_rebuild.as_secs_f64() / e2e.as_secs_f64(),
        100.0 * builtin_rebuild.as_secs_f64() / e2e.as_secs_f64()
    );
}

fn openai_config() -> Config {
    let mut config = Config::default();
    config.llm.provider = LlmProvider::OpenAi;
    // Nothing listens there and nothing is sent: only construction is measured.
    config.llm.base_url = "http://127.0.0.1:9/v1".into();
    config.llm.api_key = Secret::new("sk-bench-not-a-real-key-0123456789");
    config
}

/// What every job did before: build the engines, take the configured one, drop both at the end.
fn build_and_get(config: &Arc<Config>) {
    let engines = Engines::new(Arc::clone(config), None, true).expect("engine builds");
    black_box(engines.get(None).expect("configured engine"));
}

/// Median time of one `get(None)` on a shared instance.
fn shared_get(config: &Arc<Config>) -> Duration {
    let engines = Engines::new(Arc::clone(config), None, true).expect("engine builds");
    let batch = median_of(BATCHES, || {
        time(|| {
            for _ in 0..PER_BATCH {
                black_box(engines.get(black_box(None)).expect("configured engine"));
            }
        })
    });
    batch / PER_BATCH as u32
}

/// Medians of the parts of an OpenAI engine: the HTTP client, the templates, the summarizer
/// with its prompt-overhead check (the tokenizer is loaded already).
fn openai_parts(config: &Config) -> [Duration; 3] {
    let llm = &config.llm;
    let options = OpenAiOptions {
        base_url: llm.base_url.clone(),
        api_key: Some(llm.api_key.clone()),
        model: llm.model.clone(),
        timeout: llm.timeout,
        max_retries: llm.max_retries,
        ..OpenAiOptions::default()
    };
    let client = median_of(REBUILDS, || {
        time(|| {
            black_box(OpenAiClient::new(options.clone()).expect("client"));
        })
    });
    let templates = median_of(REBUILDS, || {
        time(|| {
            black_box(Templates::load(None).expect("templates"));
        })
    });
    let model = Arc::new(OpenAiClient::new(options).expect("client"));
    let loaded = Templates::load(None).expect("templates");
    let summarizer = median_of(REBUILDS, || {
        let (model, loaded) = (Arc::clone(&model), loaded.clone());
        time(|| {
            let s = LlmSummarizer::new(
                model,
                loaded,
                LlmOptions {
                    context_tokens: llm.context_tokens as usize,
                    max_tokens: llm.max_tokens,
                    temperature: llm.temperature,
                    concurrency: llm.concurrency,
                    ..LlmOptions::default()
                },
            );
            black_box(s.data_tokens().expect("context fits"));
        })
    });
    [client, templates, summarizer]
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..n).map(|_| f()).collect();
    times.sort();
    times[n / 2]
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1000.0)
    } else {
        format!("{:.2} ms", ns as f64 / 1e6)
    }
}

/// Median wall time of the whole builtin summary path over a stored channel, and how many
/// messages it summarized.
fn end_to_end() -> (Duration, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        summarybot::store::Store::open(&dir.path().join("bench.redb")).expect("open store"),
    );
    let channel = ChannelInfo {
        id: ChannelId(2),
        guild_id: Some(GuildId(1)),
        guild_name: Some("Bench".into()),
        name: "general".into(),
        topic: None,
        parent_id: None,
    };
    store.put_channel(&channel).expect("put channel");
    let start = Timestamp::now().0 - 3 * 3_600_000;
    store
        .upsert_messages(&messages(start))
        .expect("store messages");
    let service =
        ChannelSummaries::new(Config::default(), Arc::clone(&store), true).expect("service");
    let window = TimeWindow {
        start: Timestamp(start),
        end: Timestamp::now(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let mut count = 0;
    let median = median_of(SUMMARIES, || {
        let mut req = ChannelRequest::new(channel.clone(), window);
        req.use_cache = false;
        let t = Instant::now();
        let served = runtime
            .block_on(service.summarize(req, &|_| {}))
            .expect("summary");
        let elapsed = t.elapsed();
        count = served.summary.message_count;
        elapsed
    });
    (median, count)
}

/// A seeded, varied conversation of [`MESSAGES`] messages, one every 8 s from `start`.
fn messages(start: i64) -> Vec<ChatMessage> {
    const NAMES: [&str; 8] = [
        "alex", "sam", "priya", "kim", "jordan", "lee", "mika", "noor",
    ];
    const SUBJECTS: [&str; 8] = [
        "the deploy pipeline",
        "the redis cache",
        "the login page",
        "our API rate limits",
        "the billing export",
        "the mobile build",
        "the search index",
        "the database migration",
    ];
    const VERBS: [&str; 6] = [
        "keeps timing out",
        "looks much faster now",
        "needs a review",
        "broke again after the update",
        "is blocked on the vendor",
        "is ready for testing",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    };
    (0..MESSAGES)
        .map(|i| {
            let user = next(NAMES.len());
            let subject = SUBJECTS[next(SUBJECTS.len())];
            let content = match next(5) {
                0 => format!("I think {subject} {}.", VERBS[next(VERBS.len())]),
                1 => format!(
                    "Does anyone know why {subject} {}?",
                    VERBS[next(VERBS.len())]
                ),
                2 => format!("We decided to freeze {subject} until Friday."),
                3 => format!("Merged PR #{} for {subject}.", 100 + next(900)),
                _ => "ok, thanks!".to_owned(),
            };
            ChatMessage {
                id: MessageId(1 + i as u64),
                channel_id: ChannelId(2),
                guild_id: Some(GuildId(1)),
                author: Author {
                    id: UserId(1 + user as u64),
                    name: NAMES[user].into(),
                    display_name: None,
                    is_bot: false,
                },
                timestamp: Timestamp(start + i as i64 * 8_000),
                edited_at: None,
                kind: MessageKind::Default,
                content,
                reply_to: None,
                attachments: Vec::new(),
                reaction_count: 0,
                pinned: false,
            }
        })
        .collect()
}
