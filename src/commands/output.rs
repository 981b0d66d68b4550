//! Writing command output to stdout without panicking when the reader goes away
//! (`summarybot summarize ... | head`): a closed pipe ends the output quietly.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout is gone; later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Output of a command run inside the service for a local client ([`capture`]).
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Run `f` with this thread's command output collected instead of written to stdout; returns
/// `f`'s result and the (redacted) output.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    let earlier = CAPTURED.with(|c| c.borrow_mut().replace(String::new()));
    let result = f();
    let output = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), earlier));
    (result, output.unwrap_or_default())
}

/// Write `text` to stdout, redacted ([`crate::redact`]). A closed pipe is not an error; any other
/// write error is reported once on stderr.
pub fn write(text: &str) {
    let text = crate::redact::redact(text);
    let captured = CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buffer) => {
            buffer.push_str(&text);
            true
        }
        None => false,
    });
    if captured || CLOSED.load(Ordering::Relaxed) {
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_output_stays_on_its_thread_and_nests() {
        let ((), outer) = capture(|| {
            write("one\n");
            let ((), inner) = capture(|| write("inner\n"));
            assert_eq!(inner, "inner\n");
            std::thread::spawn(|| {
                let ((), other) = capture(|| write("other thread\n"));
                assert_eq!(other, "other thread\n");
            })
            .join()
            .expect("thread");
            write("two\n");
        });
        assert_eq!(outer, "one\ntwo\n");
    }
}
