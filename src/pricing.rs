//! LLM prices in USD per million input and output tokens (built-in OpenAI list plus the
//! `llm.prices` table) and the cost estimate of token usage.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::TokenUsage;

/// Highest accepted price per million tokens (a typo guard, far above any real price).
pub const MAX_PRICE: f64 = 10_000.0;

/// Provider name of the offline builtin summarizer (it costs nothing).
const BUILTIN_PROVIDER: &str = "builtin";

/// When the built-in list was checked against OpenAI's published prices (standard tier).
pub const DEFAULT_PRICES_CHECKED: &str = "2026-11-25 (OpenAI list prices as of March 2026)";

/// OpenAI list prices (standard tier, USD per 1M tokens: input, output), used only when
/// `llm.base_url` is OpenAI's API and `llm.prices` does not name the model.
const OPENAI_DEFAULTS: &[(&str, f64, f64)] = &[
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("o3", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("gpt-5", 1.25, 10.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
];

/// The price of one model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// USD per million prompt (input) tokens.
    pub input: f64,
    /// USD per million completion (output) tokens.
    pub output: f64,
}

/// Written as `[input, output]`, the form `llm.prices` reads, so `config show` output loads back.
impl Serialize for Price {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.input, self.output).serialize(s)
    }
}

impl Price {
    /// A price after checking both numbers are finite, not negative and at most [`MAX_PRICE`].
    pub fn new(input: f64, output: f64) -> Result<Self, String> {
        for (what, v) in [("input", input), ("output", output)] {
            if !v.is_finite() || !(0.0..=MAX_PRICE).contains(&v) {
                return Err(format!(
                    "the {what} price {v} must be a number from 0 to {MAX_PRICE} \
                     (USD per 1M tokens)"
                ));
            }
        }
        Ok(Self { input, output })
    }

    /// The USD cost of `usage` at this price.
    pub fn cost(self, usage: TokenUsage) -> f64 {
        (usage.prompt_tokens as f64 * self.input + usage.completion_tokens as f64 * self.output)
            / 1_000_000.0
    }
}

/// What one provider+model costs, as far as we know.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// The builtin summarizer: no LLM, no cost.
    Free,
    /// A known price.
    Priced(Price),
    /// Not in `llm.prices` (nor, on OpenAI's API, in the built-in list): counted as zero and
    /// shown as "unknown price".
    Unknown,
}

impl Rate {
    /// The cost of `usage`, `None` when the price is unknown.
    pub fn cost(self, usage: TokenUsage) -> Option<f64> {
        match self {
            Self::Free => Some(0.0),
            Self::Priced(p) => Some(p.cost(usage)),
            Self::Unknown => None,
        }
    }
}

/// The configured price table (`llm.prices`): model name → price. Models not listed fall back
/// to the built-in OpenAI list when the endpoint is OpenAI's.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

impl PriceTable {
    /// Add or replace one model's price; the model name must not be blank.
    pub fn insert(&mut self, model: &str, price: Price) -> Result<(), String> {
        let model = model.trim();
        if model.is_empty() {
            return Err("a model name in the price table is empty".to_owned());
        }
        self.prices.insert(model.to_owned(), price);
        Ok(())
    }

    /// True when no model is listed.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// Parse the env/text form: `model=input/output` items separated by commas, e.g.
    /// `gpt-4o=2.5/10, llama3=0/0`. An empty text is an empty table.
    pub fn parse_text(text: &str) -> Result<Self, String> {
        let mut table = Self::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = || {
                format!(
                    "`{item}` is not a price: write model=input/output in USD per 1M tokens, \
                     e.g. gpt-4o=2.5/10"
                )
            };
            let (model, numbers) = item.rsplit_once('=').ok_or_else(bad)?;
            let (input, output) = numbers.split_once('/').ok_or_else(bad)?;
            let number = |t: &str| t.trim().parse::<f64>().map_err(|_| bad());
            table.insert(model, Price::new(number(input)?, number(output)?)?)?;
        }
        Ok(table)
    }

    /// The rate of `provider`/`model`; `openai_endpoint` says whether `llm.base_url` is
    /// OpenAI's API (only then do the built-in OpenAI prices apply).
    pub fn rate(&self, provider: &str, model: &str, openai_endpoint: bool) -> Rate {
        if provider == BUILTIN_PROVIDER {
            return Rate::Free;
        }
        let snapshot_free = strip_snapshot(model);
        let names = [model, snapshot_free];
        if let Some(p) = names.iter().find_map(|n| self.prices.get(*n)) {
            return Rate::Priced(*p);
        }
        if openai_endpoint {
            let found = names
                .iter()
                .find_map(|n| OPENAI_DEFAULTS.iter().find(|(name, _, _)| name == n));
            if let Some((_, input, output)) = found {
                return Rate::Priced(Price {
                    input: *input,
                    output: *output,
                });
            }
        }
        Rate::Unknown
    }
}

/// `gpt-4o-2024-08-06` → `gpt-4o`: OpenAI snapshot names end in a `-YYYY-MM-DD` date.
fn strip_snapshot(model: &str) -> &str {
    let cut = model.len().saturating_sub(11);
    // `split_at` on a non-ASCII name could cut inside a character: `get` refuses instead.
    if let (true, Some(head), Some(tail)) = (cut > 0, model.get(..cut), model.get(cut..)) {
        let t = tail.as_bytes();
        let digits = |r: std::ops::Range<usize>| t[r].iter().all(u8::is_ascii_digit);
        if t[0] == b'-'
            && t[5] == b'-'
            && t[8] == b'-'
            && digits(1..5)
            && digits(6..8)
            && digits(9..11)
        {
            return head;
        }
    }
    model
}

/// A USD amount for people: more decimals for small sums (`$0.0042`, `$1.23`).
pub fn format_usd(amount: f64) -> String {
    if amount == 0.0 {
        "$0.00".to_owned()
    } else if amount < 0.01 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(p: u64, c: u64) -> TokenUsage {
        TokenUsage {
            prompt_tokens: p,
            completion_tokens: c,
        }
    }

    #[test]
    fn cost_is_tokens_times_price_per_million() {
        let p = Price::new(2.5, 10.0).expect("valid");
        assert!((p.cost(usage(1_000_000, 0)) - 2.5).abs() < 1e-9);
        assert!((p.cost(usage(200_000, 50_000)) - 1.0).abs() < 1e-9);
        assert!(p.cost(usage(0, 0)).abs() < f64::EPSILON);
    }

    #[test]
    fn defaults_apply_only_on_openai_and_the_table_wins() {
        let mut table = PriceTable::default();
        let builtin = table.rate("builtin", "extractive", true);
        assert_eq!(builtin, Rate::Free);
        assert_eq!(builtin.cost(usage(5, 5)), Some(0.0));
        let mini = table.rate("openai", "gpt-4o-mini", true);
        assert_eq!(
            mini,
            Rate::Priced(Price {
                input: 0.15,
                output: 0.60
            })
        );
        let snapshot = table.rate("openai", "gpt-4o-2024-08-06", true);
        assert_eq!(
            snapshot,
            Rate::Priced(Price {
                input: 2.5,
                output: 10.0
            })
        );
        assert_eq!(table.rate("openai", "gpt-4o-mini", false), Rate::Unknown);
        assert_eq!(table.rate("openai", "llama3", true), Rate::Unknown);
        assert_eq!(table.rate("openai", "llama3", true).cost(usage(9, 9)), None);
        table
            .insert("gpt-4o-mini", Price::new(1.0, 2.0).expect("valid"))
            .expect("insert");
        table
            .insert("llama3", Price::new(0.0, 0.0).expect("valid"))
            .expect("insert");
        assert_eq!(
            table.rate("openai", "gpt-4o-mini", false),
            Rate::Priced(Price {
                input: 1.0,
                output: 2.0
            })
        );
        assert_eq!(
            table.rate("openai", "llama3", false).cost(usage(9, 9)),
            Some(0.0)
        );
    }

    #[test]
    fn text_form_parses_and_rejects_bad_items() {
        let t = PriceTable::parse_text(" gpt-4o=2.5/10 , my:model=0/0.5,").expect("valid");
        assert_eq!(
            t.rate("openai", "my:model", false),
            Rate::Priced(Price {
                input: 0.0,
                output: 0.5
            })
        );
        assert!(PriceTable::parse_text("").expect("empty").is_empty());
        for bad in [
            "gpt-4o",
            "gpt-4o=2.5",
            "=1/2",
            "m=a/1",
            "m=-1/2",
            "m=1/inf",
            "m=1/99999",
        ] {
            let err = PriceTable::parse_text(bad).expect_err(bad);
            assert!(!err.is_empty());
        }
        let err = PriceTable::parse_text("m=1").expect_err("no slash");
        assert!(err.contains("model=input/output"), "{err}");
    }

    #[test]
    fn snapshot_suffix_is_stripped_only_when_it_is_a_date() {
        assert_eq!(strip_snapshot("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(strip_snapshot("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(strip_snapshot("x-2024-0a-06"), "x-2024-0a-06");
        assert_eq!(strip_snapshot("2024-08-06"), "2024-08-06");
        assert_eq!(
            strip_snapshot("модель-ёжик-рус"),
            "модель-ёжик-рус",
            "no panic off a char boundary"
        );
        assert_eq!(strip_snapshot("llama3-é-2024-08-06"), "llama3-é");
    }

    #[test]
    fn usd_is_readable_at_every_size() {
        assert_eq!(format_usd(0.0), "$0.00");
        assert_eq!(format_usd(0.00042), "$0.0004");
        assert_eq!(format_usd(12.345), "$12.35");
    }
}
