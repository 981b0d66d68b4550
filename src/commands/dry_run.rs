//! `summarybot summarize --dry-run`: what summarizing a window would send to the LLM and cost —
//! messages, input tokens of the prompts as they would be sent, map-reduce parts, output tokens
//! reserved, and the price of the configured model — without calling it.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::json;

use crate::channel_summary::llm_summarizer;
use crate::cli::OutputFormat;
use crate::config::{Config, LlmProvider};
use crate::model::{ChatMessage, TokenUsage};
use crate::pricing::{format_usd, Rate};
use crate::summarize::engine::Request;
use crate::summarize::mapreduce::Estimate;
use crate::summarize::{focus, render, SummaryInput};
use crate::text::thousands;
use crate::usage::Pricing;

use super::output::outln;
use super::Failure;

/// Print the dry run of `req` under `config` (its provider, model and prices); `left_out`: older
/// messages of the window not read (over `summary.max_window_messages`).
pub fn print(
    config: &Config,
    req: &Request,
    left_out: usize,
    format: OutputFormat,
) -> Result<(), Failure> {
    let messages: Cow<'_, [ChatMessage]> = match &req.topic {
        Some(topic) => Cow::Owned(focus::select(&req.messages, topic)),
        None => Cow::Borrowed(&req.messages),
    };
    let llm = match config.llm.provider {
        LlmProvider::Builtin => None,
        LlmProvider::OpenAi => Some(estimate(config, req, &messages).map_err(Failure::Usage)?),
    };
    let text = match format {
        OutputFormat::Json => json_report(config, req, messages.len(), left_out, llm),
        OutputFormat::Markdown | OutputFormat::Text => {
            text_report(config, req, messages.len(), left_out, llm)
        }
    };
    outln!("{}", text.trim_end());
    Ok(())
}

/// The LLM's estimate for `messages` and its cost at the configured model's price.
fn estimate(
    config: &Config,
    req: &Request,
    messages: &[ChatMessage],
) -> Result<(Estimate, Rate), String> {
    let summarizer = llm_summarizer(config)?;
    let estimate = summarizer
        .estimate(SummaryInput {
            channel: &req.channel,
            kind: req.kind,
            window: req.window,
            messages,
            language: req.language.as_deref(),
            detail: req.detail,
        })
        .map_err(|e| e.to_string())?;
    let pricing = Pricing::of(config);
    let rate = pricing
        .table
        .rate("openai", &config.llm.model, pricing.openai_endpoint);
    Ok((estimate, rate))
}

fn usage(e: &Estimate) -> TokenUsage {
    TokenUsage {
        prompt_tokens: e.prompt_tokens,
        completion_tokens: e.output_tokens,
    }
}

fn text_report(
    config: &Config,
    req: &Request,
    kept: usize,
    left_out: usize,
    llm: Option<(Estimate, Rate)>,
) -> String {
    let mut out = String::from("Dry run: nothing was sent to an LLM.\n");
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<19}{value}");
    };
    line("channel:", format!("#{}", req.channel.name));
    line("window:", render::window_text(&req.window));
    let total = req.messages.len();
    line(
        "messages:",
        match &req.topic {
            Some(t) => format!(
                "{} of {} are about \u{201c}{t}\u{201d} (with their reply chains)",
                thousands(kept as u64),
                thousands(total as u64)
            ),
            None => thousands(total as u64),
        },
    );
    if left_out > 0 {
        line(
            "not read:",
            format!(
                "the {} oldest messages of the window (summary.max_window_messages = {})",
                thousands(left_out as u64),
                thousands(config.summary.max_window_messages as u64)
            ),
        );
    }
    line("detail:", req.detail.to_string());
    let Some((e, rate)) = llm else {
        line(
            "summarizer:",
            "builtin (offline): no LLM call, no cost".to_owned(),
        );
        return out;
    };
    line(
        "summarizer:",
        format!("openai-compatible, model {}", config.llm.model),
    );
    if kept == 0 {
        line("LLM calls:", "none (no message to summarize)".to_owned());
        return out;
    }
    if e.omitted_oldest > 0 {
        line(
            "left out:",
            format!(
                "the {} oldest messages (the window needs more parts than allowed)",
                thousands(e.omitted_oldest as u64)
            ),
        );
    }
    line(
        "map-reduce parts:",
        if e.parts == 1 {
            "1 (the window fits one prompt)".to_owned()
        } else {
            format!("{} (then 1 combining call)", e.parts)
        },
    );
    line("LLM calls:", e.calls.to_string());
    line(
        "input tokens:",
        format!(
            "{} (the prompts as they would be sent{})",
            thousands(e.prompt_tokens),
            if e.parts > 1 {
                "; the combining prompt counted with every part's answer at its full length"
            } else {
                ""
            }
        ),
    );
    line(
        "output reserved:",
        format!(
            "{} tokens (llm.max_tokens = {} per call)",
            thousands(e.output_tokens),
            thousands(u64::from(config.llm.max_tokens))
        ),
    );
    line("estimated cost:", cost_text(rate, &e, &config.llm.model));
    out
}

fn cost_text(rate: Rate, e: &Estimate, model: &str) -> String {
    match rate {
        Rate::Priced(p) => {
            let input = p.cost(TokenUsage {
                prompt_tokens: e.prompt_tokens,
                completion_tokens: 0,
            });
            format!(
                "at most {} ({} input + {} if every answer uses its full output budget; \
                 {model} at ${:.2}/${:.2} per 1M tokens)",
                format_usd(p.cost(usage(e))),
                format_usd(input),
                format_usd(p.cost(usage(e)) - input),
                p.input,
                p.output
            )
        }
        Rate::Free => "none".to_owned(),
        Rate::Unknown => format!(
            "unknown: no price for {model} (add it to llm.prices as [input, output] USD per 1M \
             tokens)"
        ),
    }
}

fn json_report(
    config: &Config,
    req: &Request,
    kept: usize,
    left_out: usize,
    llm: Option<(Estimate, Rate)>,
) -> String {
    let mut doc = json!({
        "dry_run": true,
        "channel": req.channel.name,
        "window": req.window,
        "messages": req.messages.len(),
        "detail": req.detail,
        "provider": config.llm.provider.as_str(),
    });
    if left_out > 0 {
        doc["left_out"] = json!(left_out);
    }
    if let Some(t) = &req.topic {
        doc["topic"] = json!(t.as_str());
        doc["messages_on_topic"] = json!(kept);
    }
    if let Some((e, rate)) = llm {
        doc["model"] = json!(config.llm.model);
        doc["parts"] = json!(e.parts);
        doc["llm_calls"] = json!(e.calls);
        doc["omitted_oldest"] = json!(e.omitted_oldest);
        doc["input_tokens"] = json!(e.prompt_tokens);
        doc["output_tokens_reserved"] = json!(e.output_tokens);
        doc["estimated_cost_usd"] = json!(rate.cost(usage(&e)));
    } else {
        doc["estimated_cost_usd"] = json!(0.0);
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
