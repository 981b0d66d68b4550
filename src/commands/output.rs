//! Writing command output to stdout without panicking when the reader goes away
//! (`summarybot summarize ... | head`): a closed pipe ends the output quietly.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout is gone; later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Write `text` to stdout, redacted ([`crate::redact`]). A closed pipe is not an error; any other
/// write error is reported once on stderr.
pub fn write(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let text = crate::redact::redact(text);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write the output: {e}");
        }
    }
}

/// `println!` for command output, through [`write`].
macro_rules! outln {
    () => {
        $crate::commands::output::write("\n")
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use outln;
