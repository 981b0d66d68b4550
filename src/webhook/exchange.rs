//! The bridge between tiny_http (the connections) and rouille (the handler API): a tiny_http
//! request becomes a rouille request with its body already read within `webhook.max_body_bytes`
//! and `webhook.read_timeout`, and the handler's rouille response is written back (closing the
//! connection when the body was not read to its end). tiny_http's own answers (bad or too large
//! headers, too many connections) get the same JSON error body ([`error_page`]).

use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::web::ApiError;

/// Bytes read per `read` call while receiving a body.
const CHUNK: usize = 8192;

/// How much body a request may send and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body read; one byte more is read so the handler can tell it was too large.
    pub max_bytes: usize,
    /// Longest time from the first to the last byte of a body.
    pub timeout: Duration,
}

/// Largest body tiny_http 0.12 reads into memory itself (on its connection thread) before it
/// hands the request over, unless the client sent `Expect`.
const PREREAD_BYTES: usize = 1024;

/// True when tiny_http already holds the whole body, so neither [`to_rouille`] nor dropping the
/// request can block on the client: no body, or a `Content-Length` body of at most 1 KiB sent
/// without `Expect`. Every other request may wait for a slow client, and an unread body is
/// drained when the request is dropped.
pub fn body_is_ready(request: &tiny_http::Request) -> bool {
    let has = |name: &'static str| request.headers().iter().any(|h| h.field.equiv(name));
    match request.body_length() {
        Some(n) => n == 0 || (n <= PREREAD_BYTES && !has("Expect")),
        None => !has("Transfer-Encoding"),
    }
}

/// Why a request is refused before any of its body is read: a chunked body (its chunk lines
/// have no length bound in tiny_http's decoder) or a protocol upgrade (whose body is the raw
/// connection). Both are answered at once and the connection closed.
fn refused(request: &tiny_http::Request) -> Option<ApiError> {
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_ascii_lowercase())
    };
    if header("Transfer-Encoding").is_some() {
        return Some(ApiError::length_required(
            "send the body with a Content-Length header; chunked bodies are not accepted",
        ));
    }
    if header("Connection").is_some_and(|v| v.contains("upgrade")) {
        return Some(ApiError::bad_request(
            "protocol upgrades are not supported; send plain HTTP/1.1 requests",
        ));
    }
    None
}

/// A request ready for the handler.
pub struct Incoming {
    /// The rouille request, with the body read.
    pub request: rouille::Request,
    /// False when part of the body is still unread on the connection (too large, or not
    /// wanted): the connection must close after the answer rather than drain it.
    pub body_complete: bool,
}

/// Build the rouille request for `request`, reading its body first.
///
/// A body whose declared `Content-Length` exceeds the limit is not read at all (the handler sees
/// the header and answers 413); only `POST` bodies are read. Fails with 408 when the body does
/// not arrive within [`BodyLimits::timeout`] and 400 when the connection breaks (the body is
/// then incomplete).
pub fn to_rouille(
    request: &mut tiny_http::Request,
    limits: BodyLimits,
) -> Result<Incoming, ApiError> {
    if let Some(refusal) = refused(request) {
        return Err(refusal);
    }
    let wanted = *request.method() == tiny_http::Method::Post
        && request.body_length().is_none_or(|n| n <= limits.max_bytes);
    let (body, body_complete) = if wanted {
        read_limited(request.as_reader(), limits, Instant::now())?
    } else {
        (Vec::new(), body_is_ready(request))
    };
    let headers = request
        .headers()
        .iter()
        .map(|h| (h.field.to_string(), h.value.to_string()))
        .collect();
    let from = request
        .remote_addr()
        .copied()
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    Ok(Incoming {
        request: rouille::Request::fake_http_from(
            from,
            request.method().as_str(),
            request.url(),
            headers,
            body,
        ),
        body_complete,
    })
}

/// Read at most `max_bytes + 1` bytes of `body`, giving up once `timeout` has passed since
/// `started` (each single read is bounded by the socket's own timeout); the bytes, and whether
/// the body's end was reached.
fn read_limited(
    body: &mut dyn Read,
    limits: BodyLimits,
    started: Instant,
) -> Result<(Vec<u8>, bool), ApiError> {
    let timed_out = || {
        ApiError::request_timeout(format!(
            "the body did not arrive within webhook.read_timeout ({} s)",
            limits.timeout.as_secs_f64()
        ))
    };
    let mut data = Vec::new();
    let mut chunk = [0; CHUNK];
    while data.len() <= limits.max_bytes {
        if started.elapsed() > limits.timeout {
            return Err(timed_out());
        }
        let want = CHUNK.min(limits.max_bytes + 1 - data.len());
        match body.read(&mut chunk[..want]) {
            Ok(0) => return Ok((data, true)),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out());
            }
            Err(e) => return Err(ApiError::bad_request(format!("cannot read the body: {e}"))),
        }
    }
    Ok((data, false))
}

/// Whether the connection may carry another request after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The request was read whole: the client may send another one.
    KeepAlive,
    /// Part of the request is unread: answer with `Connection: close` and close at once, so
    /// a slow or endless body is not drained.
    Close,
}

/// Write `response` as the answer to `request`, then keep the connection or close it (`then`);
/// a client that went away is not an error.
pub fn respond(request: tiny_http::Request, response: rouille::Response, then: Then) {
    let (data, length) = response.data.into_reader_and_size();
    let mut answer = tiny_http::Response::empty(response.status_code).with_data(data, length);
    for (name, value) in &response.headers {
        // tiny_http writes the length itself.
        if name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            answer.add_header(header);
        }
    }
    if then == Then::Close {
        if let Ok(header) = tiny_http::Header::from_bytes("Connection", "close") {
            answer.add_header(header);
        }
    }
    if let Err(e) = request.respond(answer) {
        tracing::debug!(error = %e, "could not send a webhook response");
    }
}

/// The body of an answer tiny_http gives by itself (see [`tiny_http::Limits::error_page`]): the
/// server's JSON error, naming the setting behind it where there is one.
pub fn error_page(status: u16, detail: &str) -> (&'static str, String) {
    let setting = match status {
        408 => " (webhook.read_timeout)",
        503 => " (webhook.max_connections)",
        _ => "",
    };
    let error = ApiError::from_http_layer(status, format!("{detail}{setting}"));
    ("application/json", error.body().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_bytes: 10,
        timeout: Duration::from_secs(5),
    };

    /// Yields its steps in order: data, or an error kind.
    struct Script(Vec<Result<&'static [u8], io::ErrorKind>>);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            match self.0.remove(0) {
                Ok(data) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    Ok(n)
                }
                Err(kind) => Err(kind.into()),
            }
        }
    }

    #[test]
    fn a_body_is_read_in_pieces_and_interruptions_are_retried() {
        let mut body = Script(vec![
            Ok(b"{\"a\""),
            Err(io::ErrorKind::Interrupted),
            Ok(b":1}"),
        ]);
        let (data, complete) = read_limited(&mut body, LIMITS, Instant::now()).expect("read");
        assert_eq!(data, b"{\"a\":1}");
        assert!(complete);
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let mut body = Script(vec![Ok(b"0123456789"), Ok(b"abcdef")]);
        let (data, complete) = read_limited(&mut body, LIMITS, Instant::now()).expect("read");
        assert_eq!(data, b"0123456789a");
        assert!(!complete, "the rest is still unread");
    }

    #[test]
    fn a_stalled_body_is_408_and_a_broken_one_400() {
        for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
            let mut body = Script(vec![Ok(b"{"), Err(kind)]);
            let err = read_limited(&mut body, LIMITS, Instant::now()).expect_err("stalled");
            assert_eq!(err.status, 408);
            assert!(
                err.detail.contains("webhook.read_timeout"),
                "{}",
                err.detail
            );
        }
        let mut body = Script(vec![Err(io::ErrorKind::ConnectionReset)]);
        let err = read_limited(&mut body, LIMITS, Instant::now()).expect_err("reset");
        assert_eq!(err.status, 400);
    }

    #[test]
    fn a_trickling_body_is_cut_at_the_deadline() {
        let mut body = Script(vec![Ok(b"{"); 5]);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(6))
            .expect("an instant 6 s ago");
        let err = read_limited(&mut body, LIMITS, long_ago).expect_err("too slow");
        assert_eq!(err.status, 408);
    }

    /// Send `raw` to a real tiny_http server and return what it parsed, for `check`.
    fn parsed(raw: &'static [u8], check: impl FnOnce(&mut tiny_http::Request)) {
        use std::io::Write;
        let server = tiny_http::Server::http("127.0.0.1:0").expect("server");
        let addr = server.server_addr().to_ip().expect("tcp");
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            stream.write_all(raw).expect("send");
            // Keep the connection open until the server has looked at the request.
            let _ = stream.read(&mut [0; 64]);
        });
        let mut request = server
            .recv_timeout(Duration::from_secs(10))
            .expect("recv")
            .expect("a request");
        check(&mut request);
        drop(request);
        client.join().expect("client");
    }

    #[test]
    fn small_or_absent_bodies_are_ready_others_wait_for_their_own_thread() {
        let ready = |raw: &'static [u8], expected: bool| {
            parsed(raw, |r| assert_eq!(body_is_ready(r), expected, "{r:?}"));
        };
        ready(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", true);
        ready(
            b"POST /webhook HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            true,
        );
        ready(
            b"POST /webhook HTTP/1.1\r\nContent-Length: 2048\r\n\r\n{",
            false,
        );
        ready(
            b"POST /webhook HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
            false,
        );
        ready(
            b"POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            false,
        );
    }

    #[test]
    fn chunked_bodies_and_upgrades_are_refused_before_any_body_is_read() {
        let limits = BodyLimits {
            max_bytes: 1024,
            timeout: Duration::from_secs(5),
        };
        // A chunk-size line that never ends: nothing of it may be read.
        parsed(
            b"POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff",
            |r| {
                let e = to_rouille(r, limits).err().expect("refused");
                assert_eq!((e.status, e.error), (411, "length_required"));
            },
        );
        parsed(
            b"POST /webhook HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\n{}",
            |r| {
                let e = to_rouille(r, limits).err().expect("refused");
                assert_eq!(e.status, 400);
                assert!(e.detail.contains("upgrades are not supported"), "{e:?}");
            },
        );
    }

    #[test]
    fn a_request_becomes_a_rouille_request_with_its_body() {
        let limits = BodyLimits {
            max_bytes: 1024,
            timeout: Duration::from_secs(5),
        };
        parsed(
            b"POST /webhook?x=1 HTTP/1.1\r\nX-Request-Id: abc\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
            |r| {
                let incoming = to_rouille(r, limits).expect("converted");
                assert!(incoming.body_complete);
                let request = incoming.request;
                assert_eq!(request.method(), "POST");
                assert_eq!(request.raw_url(), "/webhook?x=1");
                assert_eq!(request.header("x-request-id"), Some("abc"));
                assert!(request.remote_addr().ip().is_loopback());
                let mut body = String::new();
                request
                    .data()
                    .expect("body")
                    .read_to_string(&mut body)
                    .expect("read");
                assert_eq!(body, "{\"a\":1}");
            },
        );
        // Declared over the limit: not read; the handler answers 413 from the header.
        parsed(
            b"POST /webhook HTTP/1.1\r\nContent-Length: 5000\r\n\r\n{",
            |r| {
                let incoming = to_rouille(r, limits).expect("converted");
                assert!(!incoming.body_complete, "the connection must close");
                let request = incoming.request;
                let mut body = Vec::new();
                request
                    .data()
                    .expect("body")
                    .read_to_end(&mut body)
                    .expect("read");
                assert!(body.is_empty());
                assert_eq!(request.header("Content-Length"), Some("5000"));
            },
        );
    }
}
