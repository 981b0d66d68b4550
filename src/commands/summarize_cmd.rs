//! `summarybot summarize`: summarize an export file or a stored channel and print the result.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context as _;

use crate::channel_summary::{
    operator_kind, Barred, ChannelRequest, ChannelSummaries, Completeness, Engines, Served,
    SummaryError,
};
use crate::cli::{KindArg, OutputFormat, ProviderArg, SummarizeArgs};
use crate::config::{Config, LlmProvider, Scope};
use crate::import::{self, ReadOptions};
use crate::model::{ChannelId, ChannelInfo, ChannelKind, ChatMessage, TimeWindow, Timestamp};
use crate::store::Store;
use crate::summarize::engine::Request;
use crate::summarize::lang::Lang;
use crate::summarize::{render, Progress, ProgressFn};

use super::output::outln;
use super::{Context, Failure};

/// Run `summarize`.
pub fn run(ctx: &Context, args: &SummarizeArgs) -> Result<(), Failure> {
    let config = ctx.config_with(Scope::Offline, |c| match args.provider {
        Some(ProviderArg::Builtin) => c.llm.provider = LlmProvider::Builtin,
        Some(ProviderArg::Openai) => c.llm.provider = LlmProvider::OpenAi,
        None => {}
    })?;
    let _log = ctx.init_logging(&config);

    let rt = super::runtime()?;
    let show_progress = std::io::stderr().is_terminal();
    let progress = move |p: Progress| {
        if show_progress {
            eprintln!("summarizing: part {} of {}", p.done, p.total);
        }
    };
    let served = match (&args.input, args.channel) {
        (Some(path), _) => {
            let Some(served) = from_export(&config, args, path, &rt, &progress)? else {
                return Ok(()); // --dry-run printed what would be sent
            };
            served
        }
        (None, Some(channel)) => {
            let store = ctx.store_for_one_read(&config)?;
            let window = window_for_store(args, &store, ChannelId(channel))?;
            let service =
                ChannelSummaries::new(config.clone(), Arc::clone(&store), !args.no_fallback)
                    .map_err(Failure::Usage)?;
            // An excluded channel is refused with its reason even when nothing of it is
            // stored.
            if let Err(why @ Barred::Excluded { .. }) =
                service.admit(&ChannelInfo::unknown(ChannelId(channel), None))
            {
                return Err(Failure::Usage(why.to_string()));
            }
            known_channel(&store, ChannelId(channel))?;
            let refused = |e| match e {
                SummaryError::Barred(why) => Failure::Usage(why.to_string()),
                other => Failure::Runtime(anyhow::anyhow!("{other}")),
            };
            let prepared = rt
                .block_on(async {
                    let info = service.channel(ChannelId(channel), None).await;
                    let mut request = ChannelRequest::new(info, window);
                    request.kind = args.kind.map(kind_of);
                    request.language.clone_from(&args.language);
                    request.detail = args.detail;
                    request.topic.clone_from(&args.topic);
                    request.use_cache = !args.no_cache;
                    service.prepare(request).await
                })
                .map_err(refused)?;
            if args.dry_run {
                let left_out = prepared.left_out;
                return super::dry_run::print(&config, &prepared.request(), left_out, args.format);
            }
            rt.block_on(service.finish(prepared, &progress))
                .map_err(refused)?
        }
        (None, None) => {
            return Err(Failure::Usage(
                "say what to summarize: --input FILE (an export) or --channel ID (stored messages)"
                    .into(),
            ))
        }
    };
    let strings = Lang::for_output(served.summary.language.as_deref()).strings();
    let note = served.completeness.note(strings);
    let text = match args.format {
        OutputFormat::Markdown => {
            let mut text = render::markdown(&served.summary);
            if let Some(note) = note {
                let _ = write!(text, "\n_{}: {note}_\n", strings.note);
            }
            text
        }
        OutputFormat::Json => render::json_with_note(&served.summary, note),
        OutputFormat::Text => {
            let mut text = render::plain_text(&served.summary);
            if let Some(note) = note {
                let _ = write!(text, "\n{}: {note}\n", strings.note);
            }
            text
        }
    };
    outln!("{}", text.trim_end());
    Ok(())
}

/// Summarize the export at `path` (its newest `summary.max_window_messages` in the window);
/// None when `--dry-run` printed what would be sent instead.
fn from_export(
    config: &Config,
    args: &SummarizeArgs,
    path: &std::path::Path,
    rt: &tokio::runtime::Runtime,
    progress: ProgressFn<'_>,
) -> Result<Option<Served>, Failure> {
    let until = parse_time("--until", args.until.as_ref())?;
    let export = import::read_export_tail(
        path,
        &ReadOptions { progress: true },
        until,
        config.summary.max_window_messages,
    )
    .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    let window = window_for_export(args, &export.timestamps)?;
    let (channel, messages, left_out) = export.into_window(window);
    let request = export_request(config, args, channel, window, messages);
    if args.dry_run {
        super::dry_run::print(config, &request, left_out, args.format)?;
        return Ok(None);
    }
    let engine = Engines::new(Arc::new(config.clone()), None, !args.no_fallback)
        .and_then(|e| e.get(None))
        .map_err(Failure::Usage)?;
    let mut summary = rt
        .block_on(engine.summarize(&request, progress))
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    summary.left_out = left_out;
    Ok(Some(Served {
        summary,
        completeness: Completeness::Complete,
    }))
}

fn kind_of(arg: KindArg) -> ChannelKind {
    match arg {
        KindArg::Dev => ChannelKind::Dev,
        KindArg::General => ChannelKind::General,
    }
}

/// An export's window as an engine request: the `--kind` and `--language` asked for, else the
/// operator's (an export has no server settings).
fn export_request(
    config: &Config,
    args: &SummarizeArgs,
    channel: ChannelInfo,
    window: TimeWindow,
    messages: Vec<ChatMessage>,
) -> Request {
    let kind = args
        .kind
        .map_or_else(|| operator_kind(config, &channel), kind_of);
    Request {
        server_budget: None,
        channel,
        kind,
        window,
        messages,
        language: args
            .language
            .clone()
            .or_else(|| config.summary.language.clone()),
        detail: args.detail,
        topic: args.topic.clone(),
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

/// The window for an export (`timestamps`: every message's, ascending): `--hours` back from
/// `--until` (or the last message), or `--since`, else the whole export.
fn window_for_export(
    args: &SummarizeArgs,
    timestamps: &[Timestamp],
) -> Result<TimeWindow, Failure> {
    let first = timestamps.first().copied().unwrap_or(Timestamp(0));
    let last_end = timestamps
        .last()
        .map_or(Timestamp(0), |t| Timestamp(t.millis() + 1));
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

/// The window for stored messages: `--hours` (default 24) back from `--until` (or now), or
/// `--since`, or with `--all` every stored message of `channel`.
fn window_for_store(
    args: &SummarizeArgs,
    store: &Store,
    channel: ChannelId,
) -> Result<TimeWindow, Failure> {
    if args.all {
        let span = store
            .stored_span(channel)
            .context("cannot read the stored messages")?;
        if let Some((oldest, newest)) = span {
            return Ok(TimeWindow {
                start: oldest,
                end: Timestamp(newest.millis() + 1),
            });
        }
    }
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

/// Refuse a channel the database knows nothing about, saying how to get it there.
fn known_channel(store: &Store, channel: ChannelId) -> Result<(), Failure> {
    let known = store
        .channel(channel)
        .context("cannot read channel metadata")?
        .is_some()
        || store
            .latest_message_time(channel)
            .context("cannot read stored messages")?
            .is_some();
    if known {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "channel {channel} is not in the database: import an export of it (`summarybot import FILE`) \
         or let the bot read it first"
    )))
}
