//! A one-line terminal progress bar for reading an export: bytes read / file size on stderr,
//! redrawn at most ten times a second with `\r`, silent when disabled or stderr is not a terminal.

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// Minimum time between two redraws.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Width of the bar itself, in characters.
const BAR_WIDTH: usize = 30;

/// Progress state; only draws when `enabled`.
#[derive(Debug)]
pub(super) struct Progress {
    enabled: bool,
    total: u64,
    read: u64,
    last_draw: Option<Instant>,
    label: String,
}

impl Progress {
    /// A bar for reading `total` bytes of `label`; drawn only if `wanted` and stderr is a TTY.
    pub(super) fn new(wanted: bool, total: u64, label: &str) -> Self {
        Self {
            enabled: wanted && io::stderr().is_terminal(),
            total,
            read: 0,
            last_draw: None,
            label: label.to_string(),
        }
    }

    /// Bytes seen so far.
    #[cfg(test)]
    pub(super) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Record `n` more bytes read, redrawing if enough time has passed.
    fn advance(&mut self, n: usize) {
        self.read = self.read.saturating_add(n as u64);
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_none_or(|last| now.duration_since(last) >= REDRAW_EVERY)
        {
            self.last_draw = Some(now);
            self.draw("");
        }
    }

    /// Draw the final state and end the line (called on success).
    pub(super) fn finish(&mut self) {
        if self.enabled {
            self.draw("\n");
            self.enabled = false;
        }
    }

    fn draw(&self, end: &str) {
        let line = render_line(&self.label, self.read, self.total);
        // Progress is cosmetic: a failed write to stderr must not fail the import.
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r{line}{end}");
        let _ = err.flush();
    }
}

impl Drop for Progress {
    /// If the bar was drawn and the import stopped early, end its line so that the error message
    /// printed next starts on a fresh line.
    fn drop(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            let _ = writeln!(io::stderr().lock());
        }
    }
}

/// Render `label [#####-----]  45%  4.5/10.0 MB` for `read` of `total` bytes, or
/// `label 4.5 MB read` when the total is unknown (0, e.g. a pipe).
pub(super) fn render_line(label: &str, read: u64, total: u64) -> String {
    if total == 0 {
        return format!("{label} {:.1} MB read", read as f64 / 1_000_000.0);
    }
    let fraction = (read as f64 / total as f64).clamp(0.0, 1.0);
    let filled = ((fraction * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
    format!(
        "{label} [{}{}] {:>3}% {:.1}/{:.1} MB",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled),
        (fraction * 100.0).round() as u32,
        read as f64 / 1_000_000.0,
        total as f64 / 1_000_000.0,
    )
}

/// A reader that reports every chunk it reads to a [`Progress`].
#[derive(Debug)]
pub(super) struct CountingReader<'p, R> {
    inner: R,
    progress: &'p mut Progress,
}

impl<'p, R> CountingReader<'p, R> {
    /// Wrap `inner`, reporting to `progress`.
    pub(super) fn new(inner: R, progress: &'p mut Progress) -> Self {
        Self { inner, progress }
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_fraction_and_sizes() {
        let line = render_line("x.json", 5_000_000, 10_000_000);
        assert_eq!(
            line,
            format!(
                "x.json [{}{}]  50% 5.0/10.0 MB",
                "#".repeat(15),
                "-".repeat(15)
            )
        );
        assert_eq!(render_line("pipe", 2_500_000, 0), "pipe 2.5 MB read");
        assert!(
            render_line("o", 20, 10).contains("100%"),
            "clamped past the end"
        );
        assert!(render_line("z", 0, 10).contains("[------------------------------]   0%"));
    }

    #[test]
    fn counting_reader_counts_bytes() {
        let data = vec![b'a'; 10_000];
        let mut progress = Progress::new(false, 10_000, "t");
        let mut out = Vec::new();
        CountingReader::new(&data[..], &mut progress)
            .read_to_end(&mut out)
            .expect("read");
        assert_eq!(out.len(), 10_000);
        assert_eq!(progress.bytes_read(), 10_000);
        progress.finish();
    }
}
