//! Logging setup: tracing to stderr, human text by default or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Output format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object per line (for journald/Loki/etc.).
    Json,
}

/// Install the global subscriber. `level` is a tracing filter such as `info` or
/// `summarybot=debug,info`. Calling it twice is harmless (the second call is ignored).
pub fn init(level: &str, format: Format) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // try_init fails only when a subscriber is already installed (tests); that is fine.
    let _ = match format {
        Format::Text => builder.try_init(),
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
