//! Token budgets: counting tokens with tiktoken for the configured model, fitting prompt lines
//! into a budget (newest kept, long messages cut in the middle) and splitting them into chunks.
//!
//! Counts are per line plus [`SEPARATOR_TOKENS`] for the newline that joins lines; BPE merges
//! across line boundaries are rare, so the sum is a close (usually slightly high) estimate of the
//! joined text. Every line is encoded at most twice (once to count, once more only when it is cut,
//! and then only a bounded window of it), so all functions here run in linear time.

use std::ops::Range;

use tiktoken_rs::{CoreBPE, Rank};

use crate::summarize::vocab;

/// Tokens charged for the newline joining two lines.
pub const SEPARATOR_TOKENS: usize = 1;

/// The marker inserted where the middle of a long message was cut out.
pub const CUT_MARKER: &str = " … ";

/// A line is only cut to fill the space left over when at least this many tokens remain;
/// below that the line (and everything older) is dropped instead.
const MIN_CUT_TOKENS: usize = 24;

/// Lower bound for the per-message cap used by [`fit_to_budget`].
const MIN_LINE_CAP: usize = 64;

/// Before encoding a very long message, only this many bytes per kept token are looked at on each
/// side; a token is rarely longer than a few bytes, so the exact cut still has enough text.
const PRECUT_BYTES_PER_TOKEN: usize = 16;

/// The tiktoken vocabulary used for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `o200k_base`: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4, and the fallback for unknown
    /// and local models (llama, mistral, qwen, ...).
    O200k,
    /// `cl100k_base`: gpt-4, gpt-3.5, text-embedding-3 / ada-002.
    Cl100k,
}

impl Encoding {
    /// The encoding for a model name such as `gpt-4o-mini`, `openai/gpt-4-turbo` or `llama3:8b`.
    pub fn for_model(model: &str) -> Self {
        Self::known(model).unwrap_or(Self::O200k)
    }

    /// The encoding of an OpenAI model family, or `None` for other models (whose own
    /// tokenizer tiktoken can only approximate).
    pub fn known(model: &str) -> Option<Self> {
        const O200K: &[&str] = &[
            "gpt-4o",
            "chatgpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
            "o1",
            "o3",
            "o4",
        ];
        const CL100K: &[&str] = &[
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-3",
            "text-embedding-ada",
        ];
        let name = model
            .rsplit('/')
            .next()
            .unwrap_or(model)
            .trim()
            .to_ascii_lowercase();
        if O200K.iter().any(|p| name.starts_with(p)) {
            Some(Self::O200k)
        } else if CL100K.iter().any(|p| name.starts_with(p)) {
            Some(Self::Cl100k)
        } else {
            None
        }
    }

    /// The process-wide encoder, built on first use and shared afterwards.
    fn bpe(self) -> &'static CoreBPE {
        match self {
            Self::O200k => vocab::o200k_base(),
            Self::Cl100k => vocab::cl100k_base(),
        }
    }
}

/// The shared encoder for a model.
fn encoder(model: &str) -> &'static CoreBPE {
    Encoding::for_model(model).bpe()
}

/// Number of tokens `text` takes for `model` (special-token text counts as ordinary text).
pub fn count_tokens(model: &str, text: &str) -> usize {
    encoder(model).encode_ordinary(text).len()
}

/// Lines fitted into a budget by [`fit_to_budget`]: a suffix of the input, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Budgeted {
    /// The kept lines, oldest first; `lines[i]` is input line `dropped_oldest + i`, possibly cut.
    pub lines: Vec<String>,
    /// Token count of each kept line (same order as `lines`, separator not included).
    pub line_tokens: Vec<usize>,
    /// How many of the oldest input lines were left out.
    pub dropped_oldest: usize,
    /// How many kept lines were cut in the middle.
    pub cut: usize,
    /// Which kept lines were cut (indices into `lines`, ascending).
    pub cut_lines: Vec<usize>,
    /// Tokens of the kept lines including one separator per line; never above the budget.
    pub tokens: usize,
}

/// Keep the newest lines that fit into `budget_tokens`, cutting long lines in the middle.
///
/// Lines longer than a quarter of the budget (at least 64 tokens) are cut to that size, so one
/// pasted log cannot crowd out the conversation; the oldest line that no longer fits is cut to
/// the space left (if a useful amount is left) instead of being dropped.
pub fn fit_to_budget(model: &str, lines: &[String], budget_tokens: usize) -> Budgeted {
    fit_with_cap(model, lines, budget_tokens, default_line_cap(budget_tokens))
}

/// The per-line cap [`fit_to_budget`] uses for a budget.
pub fn default_line_cap(budget_tokens: usize) -> usize {
    (budget_tokens / 4).max(MIN_LINE_CAP)
}

/// [`fit_to_budget`] with an explicit per-line cap (each line is cut to at most `line_cap`
/// tokens before fitting; caps below 24 tokens are raised to 24).
pub fn fit_with_cap(
    model: &str,
    lines: &[String],
    budget_tokens: usize,
    line_cap: usize,
) -> Budgeted {
    fit_lines_with_cap(
        model,
        lines.len(),
        |i| lines[i].clone(),
        budget_tokens,
        line_cap,
    )
}

/// [`fit_with_cap`] over `count` lines made on demand by `line(i)`, newest (`count - 1`) first:
/// lines older than the budget reaches are never made.
pub fn fit_lines_with_cap(
    model: &str,
    count: usize,
    mut line: impl FnMut(usize) -> String,
    budget_tokens: usize,
    line_cap: usize,
) -> Budgeted {
    let bpe = encoder(model);
    let line_cap = line_cap.max(MIN_CUT_TOKENS);
    let mut kept: Vec<(String, usize, bool)> = Vec::new();
    let mut used = 0usize;
    for i in (0..count).rev() {
        if used + SEPARATOR_TOKENS > budget_tokens {
            break;
        }
        let room = budget_tokens - used - SEPARATOR_TOKENS;
        let limit = line_cap.min(room);
        let line = line(i);
        let (text, tokens, was_cut) = match measure_within(bpe, &line, limit) {
            Measured::Fits(tokens) => (line, tokens, false),
            Measured::TooLong if limit >= MIN_CUT_TOKENS => {
                let (text, tokens) = cut_middle(bpe, &line, limit);
                (text, tokens, true)
            }
            Measured::TooLong => break,
        };
        used += tokens + SEPARATOR_TOKENS;
        kept.push((text, tokens, was_cut));
        // A line cut to fill the remaining room was the last one that fits.
        if was_cut && limit < line_cap {
            break;
        }
    }
    kept.reverse();
    let dropped_oldest = count - kept.len();
    let cut_lines: Vec<usize> = kept
        .iter()
        .enumerate()
        .filter_map(|(i, (_, _, was_cut))| was_cut.then_some(i))
        .collect();
    let (lines, line_tokens) = kept.into_iter().map(|(l, t, _)| (l, t)).unzip();
    Budgeted {
        lines,
        line_tokens,
        dropped_oldest,
        cut: cut_lines.len(),
        cut_lines,
        tokens: used,
    }
}

/// Split lines, in order, into consecutive ranges of at most `chunk_tokens` tokens each
/// (separators included). A line larger than a whole chunk gets a range of its own; cut it first
/// (e.g. with [`fit_with_cap`]) when that matters. Empty input gives no ranges.
pub fn chunk_by_budget(model: &str, lines: &[String], chunk_tokens: usize) -> Vec<Range<usize>> {
    let bpe = encoder(model);
    let counts: Vec<usize> = lines.iter().map(|l| bpe.encode_ordinary(l).len()).collect();
    chunk_counts(&counts, chunk_tokens)
}

/// [`chunk_by_budget`] over token counts already known (one per line, separator excluded).
pub fn chunk_counts(line_tokens: &[usize], chunk_tokens: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, &tokens) in line_tokens.iter().enumerate() {
        let cost = tokens + SEPARATOR_TOKENS;
        if i > start && used + cost > chunk_tokens {
            ranges.push(start..i);
            start = i;
            used = 0;
        }
        used += cost;
    }
    if start < line_tokens.len() {
        ranges.push(start..line_tokens.len());
    }
    ranges
}

/// Cut `text` to at most `max_tokens` tokens by removing its middle (head and tail kept, joined
/// by [`CUT_MARKER`]). Text already within the limit is returned unchanged; a limit too small to
/// hold the marker gives an empty string. Returns the text and its token count.
pub fn cut_to_tokens(model: &str, text: &str, max_tokens: usize) -> (String, usize) {
    let bpe = encoder(model);
    match measure_within(bpe, text, max_tokens) {
        Measured::Fits(tokens) => (text.to_string(), tokens),
        Measured::TooLong => cut_middle(bpe, text, max_tokens),
    }
}

/// Result of measuring a line against a limit.
enum Measured {
    /// The line fits and has this many tokens.
    Fits(usize),
    /// The line has more tokens than the limit.
    TooLong,
}

/// Count `text` unless it is so long in bytes that it cannot fit (which also avoids encoding huge
/// pastes in full).
fn measure_within(bpe: &CoreBPE, text: &str, limit: usize) -> Measured {
    // Every token covers at least one byte, but a token can cover many, so only a very long text
    // can be rejected without counting.
    if text.len() > precut_window(limit).saturating_mul(4) {
        return Measured::TooLong;
    }
    let tokens = bpe.encode_ordinary(text).len();
    if tokens <= limit {
        Measured::Fits(tokens)
    } else {
        Measured::TooLong
    }
}

/// Bytes looked at on each side of a text being cut to `max_tokens`.
fn precut_window(max_tokens: usize) -> usize {
    max_tokens.saturating_mul(PRECUT_BYTES_PER_TOKEN).max(256)
}

/// Remove the middle of `text` so that it takes at most `max_tokens` tokens.
fn cut_middle(bpe: &CoreBPE, text: &str, max_tokens: usize) -> (String, usize) {
    let marker_tokens = bpe.encode_ordinary(CUT_MARKER).len();
    if max_tokens <= marker_tokens {
        return (String::new(), 0);
    }
    let window = precut_window(max_tokens);
    let (head_src, tail_src) = if text.len() > 2 * window {
        (
            &text[..floor_char_boundary(text, window)],
            &text[ceil_char_boundary(text, text.len() - window)..],
        )
    } else {
        (text, text)
    };
    let head_tokens = bpe.encode_ordinary(head_src);
    let tail_tokens = if tail_src.len() == text.len() {
        head_tokens.clone()
    } else {
        bpe.encode_ordinary(tail_src)
    };
    // Re-tokenizing at the joins can add a token or two; shrink and retry in that rare case.
    let mut keep = max_tokens - marker_tokens;
    loop {
        let candidate = join_head_tail(bpe, head_src, &head_tokens, tail_src, &tail_tokens, keep);
        let tokens = bpe.encode_ordinary(&candidate).len();
        if tokens <= max_tokens || keep == 0 {
            return (candidate, tokens.min(max_tokens));
        }
        keep = keep.saturating_sub(tokens - max_tokens);
    }
}

/// The first `keep - keep/2` tokens of `head_src` and the last `keep/2` tokens of `tail_src`,
/// snapped to character boundaries and joined by [`CUT_MARKER`].
fn join_head_tail(
    bpe: &CoreBPE,
    head_src: &str,
    head_tokens: &[Rank],
    tail_src: &str,
    tail_tokens: &[Rank],
    keep: usize,
) -> String {
    let tail_n = (keep / 2).min(tail_tokens.len());
    let head_n = (keep - keep / 2).min(head_tokens.len());
    let head_bytes = decoded_len(bpe, &head_tokens[..head_n], head_src.len());
    let tail_bytes = decoded_len(
        bpe,
        &tail_tokens[tail_tokens.len() - tail_n..],
        tail_src.len(),
    );
    let head_end = floor_char_boundary(head_src, head_bytes);
    let tail_start = ceil_char_boundary(tail_src, tail_src.len() - tail_bytes);
    let head = head_src[..head_end].trim_end();
    let tail = tail_src[tail_start..].trim_start();
    format!("{head}{CUT_MARKER}{tail}")
}

/// Bytes the tokens decode to (they came from encoding this text, so decoding cannot fail; if
/// it ever did, the whole text length is a safe over-estimate that the retry loop corrects).
fn decoded_len(bpe: &CoreBPE, tokens: &[Rank], fallback: usize) -> usize {
    bpe.decode_bytes(tokens)
        .map_or(fallback, |b| b.len())
        .min(fallback)
}

/// The largest char boundary at or below `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or above `i`.
fn ceil_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const MODEL: &str = "gpt-4o-mini";

    /// Small seeded xorshift generator, so property tests are reproducible without new crates.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const WORDS: &[&str] = &[
        "deploy",
        "the",
        "build",
        "is",
        "broken",
        "again",
        "käse",
        "日本語",
        "🚀",
        "ok",
        "merge",
        "PR",
        "#42",
        "tomorrow",
        "fix",
        "tests",
        "rust",
        "llama",
        "config",
    ];

    fn random_line(rng: &mut Rng, i: usize, max_words: usize) -> String {
        let n = 1 + rng.below(max_words);
        let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
        format!(
            "[m{}] 2024-03-01 14:02 User{}: {}",
            i + 1,
            rng.below(9),
            words.join(" ")
        )
    }

    fn random_lines(seed: u64, n: usize, max_words: usize) -> Vec<String> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| random_line(&mut rng, i, max_words))
            .collect()
    }

    #[test]
    fn encodings_per_model_family() {
        for m in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1-nano",
            "o1-mini",
            "o3",
            "o4-mini",
            "gpt-5",
        ] {
            assert_eq!(Encoding::for_model(m), Encoding::O200k, "{m}");
        }
        for m in [
            "gpt-4",
            "gpt-4-turbo",
            "gpt-3.5-turbo",
            "text-embedding-3-small",
            "openai/gpt-4",
        ] {
            assert_eq!(Encoding::for_model(m), Encoding::Cl100k, "{m}");
        }
        for m in [
            "llama3:8b",
            "mistral-7b",
            "qwen2.5",
            "",
            "openrouter/anthropic/claude",
        ] {
            assert_eq!(Encoding::for_model(m), Encoding::O200k, "{m}");
        }
        assert_eq!(count_tokens(MODEL, ""), 0);
        assert!(count_tokens(MODEL, "hello world") >= 2);
        // The two vocabularies really differ.
        let text = "日本語のテキストはトークン数が違います";
        assert_ne!(count_tokens("gpt-4", text), count_tokens("gpt-4o", text));
    }

    #[test]
    fn property_fit_keeps_newest_suffix_within_budget() {
        let mut rng = Rng(0x5eed);
        for round in 0..60 {
            let n = rng.below(300);
            let lines = random_lines(round + 1, n, 40);
            let budget = rng.below(3_000);
            let fit = fit_to_budget(MODEL, &lines, budget);
            assert!(
                fit.tokens <= budget,
                "round {round}: {} > {budget}",
                fit.tokens
            );
            assert_eq!(fit.dropped_oldest + fit.lines.len(), n);
            assert_eq!(fit.lines.len(), fit.line_tokens.len());
            let measured: usize = fit
                .lines
                .iter()
                .map(|l| count_tokens(MODEL, l) + SEPARATOR_TOKENS)
                .sum();
            assert_eq!(
                measured, fit.tokens,
                "round {round}: reported tokens are exact"
            );
            let mut cut_seen = 0;
            for (i, kept) in fit.lines.iter().enumerate() {
                let original = &lines[fit.dropped_oldest + i];
                if kept != original {
                    cut_seen += 1;
                    assert!(kept.contains(CUT_MARKER));
                    let label = original.split(' ').next().unwrap_or_default();
                    assert!(kept.starts_with(label), "cut line keeps its [mN] label");
                }
            }
            assert_eq!(cut_seen, fit.cut);
            assert_eq!(fit.cut_lines.len(), fit.cut);
            for &i in &fit.cut_lines {
                assert_ne!(
                    fit.lines[i],
                    lines[fit.dropped_oldest + i],
                    "a listed line was cut"
                );
            }
            // Nothing older could have fitted: the next older line would have exceeded the budget.
            if fit.dropped_oldest > 0 && fit.cut == 0 {
                let older = count_tokens(MODEL, &lines[fit.dropped_oldest - 1]);
                assert!(
                    fit.tokens + older + SEPARATOR_TOKENS > budget
                        || older > default_line_cap(budget)
                );
            }
        }
    }

    #[test]
    fn lines_made_on_demand_fit_like_lines_given_and_older_ones_are_never_made() {
        let lines = random_lines(21, 500, 30);
        let mut made = Vec::new();
        let lazy = fit_lines_with_cap(
            MODEL,
            lines.len(),
            |i| {
                made.push(i);
                lines[i].clone()
            },
            2_000,
            100,
        );
        assert_eq!(lazy, fit_with_cap(MODEL, &lines, 2_000, 100));
        assert!(
            lazy.dropped_oldest > 0,
            "the budget leaves the oldest lines out"
        );
        // Only the kept lines and the one that ended the fit were made, newest first.
        assert!(made.len() <= lazy.lines.len() + 1, "{} made", made.len());
        assert!(made.windows(2).all(|w| w[0] == w[1] + 1));
    }

    #[test]
    fn everything_fits_in_a_large_budget() {
        let lines = random_lines(7, 100, 10);
        let fit = fit_to_budget(MODEL, &lines, 1_000_000);
        assert_eq!(fit.lines, lines);
        assert_eq!((fit.dropped_oldest, fit.cut), (0, 0));
        let zero = fit_to_budget(MODEL, &lines, 0);
        assert!(zero.lines.is_empty());
        assert_eq!(zero.dropped_oldest, 100);
        let empty = vec![String::new(); 5];
        for budget in 0..7 {
            let fit = fit_to_budget(MODEL, &empty, budget);
            assert_eq!(fit.lines.len(), budget.min(5));
            assert!(fit.tokens <= budget);
        }
    }

    #[test]
    fn huge_single_message_is_cut_in_the_middle_not_dropped() {
        let body = (0..20_000)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let line = format!("[m1] 2024-03-01 14:02 Alex: START {body} END");
        let fit = fit_to_budget(MODEL, std::slice::from_ref(&line), 500);
        assert_eq!(fit.lines.len(), 1);
        assert_eq!(fit.cut, 1);
        let kept = &fit.lines[0];
        assert!(kept.starts_with("[m1] 2024-03-01 14:02 Alex: START"));
        assert!(kept.ends_with("END"));
        assert!(kept.contains(CUT_MARKER));
        assert!(fit.tokens <= 500);
        assert!(fit.tokens > 80, "a useful amount is kept: {}", fit.tokens);
    }

    #[test]
    fn long_message_among_short_ones_is_capped_and_older_ones_still_fit() {
        let mut lines = random_lines(3, 20, 5);
        lines.insert(
            10,
            format!("[m99] 2024-03-01 14:02 Bo: {}", "log line ".repeat(5_000)),
        );
        let fit = fit_to_budget(MODEL, &lines, 2_000);
        assert_eq!(fit.dropped_oldest, 0, "all lines kept");
        assert_eq!(fit.cut, 1);
        assert!(fit.tokens <= 2_000);
    }

    #[test]
    fn cutting_respects_multibyte_characters() {
        let line = "日本語🚀é".repeat(3_000);
        for limit in [30, 31, 77, 200] {
            let (text, tokens) = cut_to_tokens(MODEL, &line, limit);
            assert!(tokens <= limit);
            assert_eq!(count_tokens(MODEL, &text), tokens);
            assert!(text.contains(CUT_MARKER));
        }
        let (same, _) = cut_to_tokens(MODEL, "short", 10);
        assert_eq!(same, "short");
    }

    #[test]
    fn property_chunks_cover_input_in_order_and_fit() {
        let mut rng = Rng(99);
        for round in 0..40 {
            let n = rng.below(400);
            let lines = random_lines(round + 100, n, 30);
            let chunk = 50 + rng.below(2_000);
            let ranges = chunk_by_budget(MODEL, &lines, chunk);
            let mut next = 0;
            for r in &ranges {
                assert_eq!(r.start, next, "ranges are consecutive");
                assert!(r.end > r.start, "no empty chunk");
                let tokens: usize = lines[r.clone()]
                    .iter()
                    .map(|l| count_tokens(MODEL, l) + SEPARATOR_TOKENS)
                    .sum();
                assert!(
                    tokens <= chunk || r.len() == 1,
                    "round {round}: {tokens} > {chunk}"
                );
                next = r.end;
            }
            assert_eq!(next, n, "all lines covered");
        }
        assert!(chunk_by_budget(MODEL, &[], 100).is_empty());
        assert_eq!(chunk_counts(&[500, 1, 1], 10), vec![0..1, 1..3]);
    }

    #[test]
    fn linear_time_on_large_input() {
        let big = random_lines(11, 200_000, 12);
        let start = Instant::now();
        let fit = fit_to_budget(MODEL, &big, usize::MAX / 2);
        let time_big = start.elapsed();
        assert_eq!(fit.lines.len(), 200_000);

        let small = &big[..10_000];
        let medium = &big[..100_000];
        let time = |lines: &[String]| {
            let start = Instant::now();
            let fit = fit_to_budget(MODEL, lines, usize::MAX / 2);
            assert_eq!(fit.lines.len(), lines.len());
            start.elapsed()
        };
        let time_small = time(small);
        let time_medium = time(medium);
        // Linear means ~10x; quadratic would be ~100x. The bound is loose so a busy machine
        // cannot make it flake.
        assert!(
            time_medium < time_small * 40 + std::time::Duration::from_millis(200),
            "10k: {time_small:?}, 100k: {time_medium:?}, 200k: {time_big:?}"
        );
        // With a normal budget only the newest lines are examined.
        let fit = fit_to_budget(MODEL, &big, 20_000);
        assert!(fit.tokens <= 20_000);
        assert!(fit.dropped_oldest > 190_000);
    }
}
