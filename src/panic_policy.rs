//! What a panic ends. Release builds unwind (`panic = "unwind"`), and `run` installs a hook: a
//! panic while handling an HTTP request or running a job (inside a [`Boundary`]) fails that
//! request (500) or job (failed, with the panic's message) alone; a panic anywhere else aborts
//! the process, as under `panic = "abort"`, so no task or thread dies silently and leaves a
//! half-working appliance (systemd's `Restart=on-failure` or Docker's restart policy starts it
//! again). Work a request or job hands to another thread or task (`spawn_blocking` store calls)
//! is outside the boundary.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// Boundaries entered on this thread and not left yet.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks the current thread as handling a request or a job while it lives.
#[must_use = "the boundary ends when the guard is dropped"]
pub struct Boundary {
    /// Stays on the thread that entered it.
    _not_send: PhantomData<*const ()>,
}

impl Boundary {
    /// Enter a boundary (nests).
    pub fn enter() -> Self {
        DEPTH.with(|d| d.set(d.get() + 1));
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Drop for Boundary {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// True while a panic on this thread would be caught at a request or job boundary.
pub fn inside_boundary() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Install the process-wide panic hook (for `run`): log every panic; abort the process unless
/// it happened inside a [`Boundary`].
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let panic = message(info.payload());
        let location = info.location().map(ToString::to_string).unwrap_or_default();
        if inside_boundary() {
            tracing::error!(
                %location, %panic,
                "a request or job panicked and fails alone (a bug: please report it)"
            );
        } else {
            tracing::error!(
                %location, %panic,
                "panic outside a request or job: stopping the process (the service manager restarts it)"
            );
            std::process::abort();
        }
    }));
}

/// The text of a panic payload.
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Run `fut` inside a [`Boundary`]: a panic while polling it ends it with `Err(message)`
/// instead of unwinding into the caller.
pub fn contain<F: Future>(fut: F) -> Contained<F> {
    Contained {
        inner: Some(Box::pin(fut)),
    }
}

/// The future of [`contain`].
pub struct Contained<F> {
    /// `None` once it panicked.
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> Future for Contained<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(Err("polled after it panicked".to_string()));
        };
        let _inside = Boundary::enter();
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                this.inner = None;
                Poll::Ready(Err(message(&*payload)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_nest_and_end_with_their_guard() {
        assert!(!inside_boundary());
        let outer = Boundary::enter();
        let inner = Boundary::enter();
        drop(inner);
        assert!(inside_boundary());
        drop(outer);
        assert!(!inside_boundary());
    }

    #[tokio::test]
    async fn a_contained_future_that_panics_ends_with_its_message() {
        let ok = contain(async { 7 }).await;
        assert_eq!(ok, Ok(7));
        let panicked = contain(async {
            tokio::task::yield_now().await;
            assert!(inside_boundary(), "polled inside the boundary");
            panic!("job blew up: {}", 42);
        })
        .await;
        assert_eq!(panicked, Err::<(), _>("job blew up: 42".to_string()));
        assert!(!inside_boundary(), "the boundary ends with the poll");
    }
}
