//! Logging setup: tracing to stderr, human text by default or JSON lines, every line redacted
//! ([`crate::redact`]) before it is written.

use std::io::{IsTerminal, Write};

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
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
    // Colour codes only on a terminal: journald and log files get plain text.
    let ansi = std::io::stderr().is_terminal();
    // try_init fails only when a subscriber is already installed (tests); that is fine.
    let _ = subscriber(level, format, ansi, Redacting(std::io::stderr)).try_init();
}

/// The subscriber [`init`] installs, writing through `writer` (tests pass a buffer).
pub fn subscriber<W>(
    level: &str,
    format: Format,
    ansi: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false);
    match format {
        Format::Text => Box::new(builder.finish()),
        Format::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// A [`MakeWriter`] around another whose writers collect one formatted event and write it
/// redacted, in one piece, when dropped. Redacting the finished line catches a secret wherever
/// it sits: message, fields, span fields, either format.
#[derive(Clone, Debug)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactedEvent<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent::new(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactedEvent::new(self.0.make_writer_for(meta))
    }
}

/// One event's text, written redacted to the inner writer when dropped.
pub struct RedactedEvent<W: Write> {
    text: Vec<u8>,
    inner: W,
}

impl<W: Write> RedactedEvent<W> {
    fn new(inner: W) -> Self {
        Self {
            text: Vec::new(),
            inner,
        }
    }
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Nothing is written before the event is complete: a partial line could split a secret.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let clean = crate::redact::redact(&text);
        // A log line that cannot be written has nowhere else to go.
        let _ = self
            .inner
            .write_all(clean.as_bytes())
            .and_then(|()| self.inner.flush());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use super::*;

    /// A writer collecting everything into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    fn log_with(format: Format) -> String {
        crate::redact::protect("log-test-api-key-0123456789");
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = subscriber("info", format, false, Redacting(move || sink.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("job", token = "log-test-api-key-0123456789");
            let _entered = span.enter();
            tracing::warn!(
                reason = "HTTP 400: bad header Authorization: Bearer Zq81-opaque",
                "LLM call failed: key log-test-api-key-0123456789 rejected"
            );
            tracing::info!(detail = ?"quoted log-test-api-key-0123456789", "debug field");
        });
        out.text()
    }

    #[test]
    fn text_lines_are_redacted_in_message_fields_and_spans() {
        let text = log_with(Format::Text);
        assert!(!text.contains("log-test-api-key"), "{text}");
        assert!(!text.contains("Zq81-opaque"), "{text}");
        assert!(text.contains("LLM call failed: key *** rejected"), "{text}");
        assert!(text.contains("Bearer ***"), "{text}");
        assert_eq!(text.lines().count(), 2, "one line per event: {text}");
    }

    #[test]
    fn json_lines_are_redacted_and_stay_json() {
        let text = log_with(Format::Json);
        assert!(!text.contains("log-test-api-key"), "{text}");
        assert!(!text.contains("Zq81-opaque"), "{text}");
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert!(value.is_object(), "{line}");
        }
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
        assert_eq!(
            first["reason"],
            "HTTP 400: bad header Authorization: Bearer ***"
        );
        assert_eq!(first["span"]["token"], "***");
    }
}
