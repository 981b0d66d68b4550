//! `summarybot summarize`: summarize an export file or a stored channel and print the result.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context as _;

use crate::app;
use crate::cli::{KindArg, OutputFormat, ProviderArg, SummarizeArgs};
use crate::config::{Config, LlmProvider, Scope};
use crate::import::{self, ReadOptions};
use crate::model::{ChannelId, ChannelInfo, ChannelKind, ChatMessage, TimeWindow, Timestamp};
use crate::store::Store;
use crate::summarize::engine::Request;
use crate::summarize::{render, Progress};

use super::output::outln;
use super::{open_store, Context, Failure};

/// Run `summarize`.
pub fn run(ctx: &Context, args: &SummarizeArgs) -> Result<(), Failure> {
    let config = ctx.config_with(Scope::Offline, |c| match args.provider {
        Some(ProviderArg::Builtin) => c.llm.provider = LlmProvider::Builtin,
        Some(ProviderArg::Openai) => c.llm.provider = LlmProvider::OpenAi,
        None => {}
    })?;
    let _log = ctx.init_logging(&config);

    let (request, store) =
        match (&args.input, args.channel) {
            (Some(path), _) => {
                let export = import::read_export(path, &ReadOptions { progress: true })
                    .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
                let window = window_for_export(args, &export.messages)?;
                let messages = in_window(export.messages, window);
                (
                    request(&config, args, export.channel, window, messages),
                    None,
                )
            }
            (None, Some(channel)) => {
                let store = Arc::new(open_store(&config)?);
                let window = window_for_store(args)?;
                let (info, messages) = from_store(&store, ChannelId(channel), window)?;
                (request(&config, args, info, window, messages), Some(store))
            }
            (None, None) => return Err(Failure::Usage(
                "say what to summarize: --input FILE (an export) or --channel ID (stored messages)"
                    .into(),
            )),
        };

    let engine = app::build_engine(&config, store, !args.no_fallback)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let rt = super::runtime()?;
    let show_progress = std::io::stderr().is_terminal();
    let progress = move |p: Progress| {
        if show_progress {
            eprintln!("summarizing: part {} of {}", p.done, p.total);
        }
    };
    let summary = rt
        .block_on(engine.summarize(&request, &progress))
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    let text = match args.format {
        OutputFormat::Markdown => render::markdown(&summary),
        OutputFormat::Json => render::json(&summary),
        OutputFormat::Text => render::plain_text(&summary),
    };
    outln!("{}", text.trim_end());
    Ok(())
}

fn request(
    config: &Config,
    args: &SummarizeArgs,
    channel: ChannelInfo,
    window: TimeWindow,
    messages: Vec<ChatMessage>,
) -> Request {
    let kind = match args.kind {
        Some(KindArg::Dev) => ChannelKind::Dev,
        Some(KindArg::General) => ChannelKind::General,
        None => app::channel_kind(config, &channel),
    };
    Request {
        channel,
        kind,
        window,
        messages,
        language: args
            .language
            .clone()
            .or_else(|| config.summary.language.clone()),
        use_cache: !args.no_cache,
    }
}

/// Parse `--since`/`--until`, naming the flag on error.
fn parse_time(flag: &str, value: Option<&String>) -> Result<Option<Timestamp>, Failure> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(v).ok_or_else(|| {
                Failure::Usage(format!(
                    "{flag} {v:?} is not an RFC 3339 time; use e.g. 2024-03-01T09:00:00Z"
                ))
            })
        })
        .transpose()
}

/// The window for an export: `--hours` back from `--until` (or the last message), `--since`/`--until`,
/// or the whole file.
fn window_for_export(
    args: &SummarizeArgs,
    messages: &[ChatMessage],
) -> Result<TimeWindow, Failure> {
    let first = messages.first().map_or(Timestamp(0), |m| m.timestamp);
    let last_end = messages
        .last()
        .map_or(Timestamp(0), |m| Timestamp(m.timestamp.millis() + 1));
    let since = parse_time("--since", args.since.as_ref())?;
    let until = parse_time("--until", args.until.as_ref())?;
    let end = until.unwrap_or(last_end);
    let start = match (args.hours, since) {
        (Some(h), _) => end.minus_hours(h),
        (None, Some(s)) => s,
        (None, None) => first.min(end),
    };
    checked(TimeWindow { start, end })
}

/// The window for stored messages: `--hours` (default 24) back from `--until` (or now), or `--since`.
fn window_for_store(args: &SummarizeArgs) -> Result<TimeWindow, Failure> {
    let since = parse_time("--since", args.since.as_ref())?;
    let until = parse_time("--until", args.until.as_ref())?;
    let end = until.unwrap_or_else(Timestamp::now);
    let start = match (args.hours, since) {
        (Some(h), _) => end.minus_hours(h),
        (None, Some(s)) => s,
        (None, None) => end.minus_hours(24),
    };
    checked(TimeWindow { start, end })
}

fn checked(window: TimeWindow) -> Result<TimeWindow, Failure> {
    if window.start > window.end {
        return Err(Failure::Usage(format!(
            "the window starts ({}) after it ends ({}); check --since/--until",
            window.start, window.end
        )));
    }
    Ok(window)
}

fn in_window(messages: Vec<ChatMessage>, window: TimeWindow) -> Vec<ChatMessage> {
    messages
        .into_iter()
        .filter(|m| window.contains(m.timestamp))
        .collect()
}

fn from_store(
    store: &Store,
    channel: ChannelId,
    window: TimeWindow,
) -> Result<(ChannelInfo, Vec<ChatMessage>), Failure> {
    let messages = store
        .messages_in(channel, window)
        .context("cannot read stored messages")?;
    let known = store
        .channel(channel)
        .context("cannot read channel metadata")?;
    if known.is_none()
        && messages.is_empty()
        && store.latest_message_time(channel).ok().flatten().is_none()
    {
        return Err(Failure::Usage(format!(
            "channel {channel} is not in the database: import an export of it (`summarybot import FILE`) \
             or let the bot read it first"
        )));
    }
    let info = known.unwrap_or_else(|| {
        ChannelInfo::unknown(channel, messages.first().and_then(|m| m.guild_id))
    });
    Ok((info, messages))
}
