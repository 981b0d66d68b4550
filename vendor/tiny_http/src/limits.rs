//! summarybot patch: bounds on what clients may hold (connections, header bytes, header time),
//! the counters behind them, and the answers the server gives by itself when a bound is hit.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{Header, Response, StatusCode};

/// Renders the body of an answer the server gives by itself (400, 408, 417, 431, 503, 505):
/// `(content type, body)` from the status and a sentence saying what went wrong.
pub type ErrorPage = fn(status: u16, detail: &str) -> (&'static str, String);

/// summarybot patch: what the server lets its clients hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once (each holds two file descriptors and a thread); a connection
    /// accepted beyond this is answered 503 and closed at once.
    pub max_connections: usize,
    /// Largest request line plus headers in bytes, line ends included; a request beyond it is
    /// answered 431 and its connection closed.
    pub max_header_bytes: usize,
    /// Longest time from the first byte of a request to the end of its headers; a request
    /// slower than that is answered 408 and its connection closed. `None`: no bound.
    pub header_timeout: Option<Duration>,
    /// The bodies of the server's own answers.
    pub error_page: ErrorPage,
}

/// Largest request line plus headers by default.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: usize::MAX,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_timeout: None,
            error_page: plain_error_page,
        }
    }
}

/// The default [`ErrorPage`]: the detail as plain text.
pub fn plain_error_page(_status: u16, detail: &str) -> (&'static str, String) {
    ("text/plain; charset=UTF-8", format!("{detail}\n"))
}

/// Statuses the server answers by itself, in the order of [`ConnectionStats::answered`].
const OWN_ANSWERS: [u16; 5] = [400, 408, 417, 431, 505];

/// summarybot patch: counters of a server's connections (see [`crate::Server::connection_stats`]).
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicUsize,
    refused: AtomicU64,
    answered: [AtomicU64; OWN_ANSWERS.len()],
}

impl ConnectionStats {
    /// Connections open now (their descriptors not yet closed).
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Connections closed right after `accept`: over [`Limits::max_connections`], or no
    /// descriptor or thread could be had for them.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Requests the server answered by itself before handing them over (bad request line or
    /// header, header too slow or too large, unknown `Expect`, HTTP version), by status; only
    /// statuses that occurred.
    pub fn answered(&self) -> Vec<(u16, u64)> {
        OWN_ANSWERS
            .iter()
            .zip(&self.answered)
            .map(|(status, n)| (*status, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub(crate) fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_answer(&self, status: u16) {
        if let Some(i) = OWN_ANSWERS.iter().position(|s| *s == status) {
            self.answered[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count a new connection as open until the returned permit is dropped.
    pub(crate) fn admit(self: &Arc<Self>) -> ConnectionPermit {
        self.open.fetch_add(1, Ordering::AcqRel);
        ConnectionPermit(Arc::clone(self))
    }
}

/// Held (shared by both halves of a connection's socket) while the connection is open.
#[derive(Debug)]
pub(crate) struct ConnectionPermit(Arc<ConnectionStats>);

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The server's own answer with `status`: the [`ErrorPage`] body, and `Connection: close` when
/// the connection closes after it.
pub(crate) fn error_response(
    limits: &Limits,
    status: u16,
    detail: &str,
    close: bool,
) -> Response<Cursor<Vec<u8>>> {
    let (content_type, body) = (limits.error_page)(status, detail);
    let mut response = Response::from_data(body.into_bytes()).with_status_code(StatusCode(status));
    if let Ok(header) = Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        response.add_header(header);
    }
    if close {
        response.add_header(close_header());
    }
    response
}

/// `Connection: close`.
pub(crate) fn close_header() -> Header {
    Header::from_bytes(&b"Connection"[..], &b"close"[..]).expect("a constant, valid header")
}

/// True if `headers` hold `Connection: close`.
pub(crate) fn closes(headers: &[Header]) -> bool {
    headers
        .iter()
        .any(|h| h.field.equiv("Connection") && h.value.as_str().eq_ignore_ascii_case("close"))
}
