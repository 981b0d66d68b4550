use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::limits::{error_response, ConnectionStats, Limits};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client (summarybot patch: `None` when unknown; 0.12.0 panicked when the
    // client was gone before its address was read)
    remote_addr: Option<SocketAddr>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // summarybot patch: the server's bounds, its counters, and this connection's flag set by a
    // response with `Connection: close`.
    limits: Limits,
    stats: Arc<ConnectionStats>,
    closing: Arc<AtomicBool>,
}

/// summarybot patch: what is left of a request head's byte budget and time.
struct HeadBudget {
    bytes_left: usize,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

impl HeadBudget {
    fn new(limits: &Limits) -> Self {
        HeadBudget {
            bytes_left: limits.max_header_bytes,
            timeout: limits.header_timeout,
            deadline: None,
        }
    }

    /// Account for one more byte; the clock starts at the first. `waited`: the byte may have
    /// come from reading the stream (it was not buffered yet), so time may have passed; a
    /// buffered byte is taken without looking at the clock (one look per stream read instead of
    /// one per byte).
    fn take_byte(&mut self, waited: bool) -> Result<(), ReadError> {
        if self.bytes_left == 0 {
            return Err(ReadError::HeadTooLarge);
        }
        self.bytes_left -= 1;
        if let Some(timeout) = self.timeout {
            match self.deadline {
                None => self.deadline = Some(Instant::now() + timeout),
                Some(deadline) if waited && Instant::now() > deadline => {
                    return Err(ReadError::HeadTooSlow)
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
    // summarybot patch: request line and headers over `Limits::max_header_bytes`
    HeadTooLarge,
    // summarybot patch: headers not complete within `Limits::header_timeout`
    HeadTooSlow,
    // summarybot patch: a byte outside ASCII in the request line or a header (0.12.0 closed the
    // connection without an answer)
    NotAscii(HTTPVersion),
    // summarybot patch: the previous response closed the connection
    Closing,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        limits: Limits,
        stats: Arc<ConnectionStats>,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr().ok().flatten();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            limits,
            stats,
            closing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// summarybot patch: within `budget` (bytes and time of the whole request head).
    fn read_next_line(&mut self, budget: &mut HeadBudget) -> Result<AsciiString, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let waited = self.next_header_source.buffered() == 0;
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(b) => b.map_err(ReadError::ReadIoError)?,
                None => {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )))
                }
            };
            budget.take_byte(waited)?;

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf)
                    .map_err(|_| ReadError::NotAscii(HTTPVersion(1, 1)));
            }

            prev_byte_was_cr = byte == b'\r';

            buf.push(byte);
        }
    }

    /// summarybot patch: answer `status` on the connection itself, count it, and end the
    /// connection (`None`).
    fn refuse(&mut self, status: u16, version: HTTPVersion, detail: &str) -> Option<Request> {
        self.stats.count_answer(status);
        if let Some(mut writer) = self.sink.next() {
            let response = error_response(&self.limits, status, detail, true);
            if response
                .raw_print(&mut writer, version, &[], false, None)
                .is_ok()
            {
                writer.flush().ok();
            }
        }
        None
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        // summarybot patch: wait for the previous request to be done with the stream, and stop
        // if its response closed the connection.
        self.next_header_source
            .wait_turn()
            .map_err(ReadError::ReadIoError)?;
        if self.closing.load(Ordering::Acquire) {
            return Err(ReadError::Closing);
        }
        let mut budget = HeadBudget::new(&self.limits);
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line(&mut budget)?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = match self.read_next_line(&mut budget) {
                        Err(ReadError::NotAscii(_)) => return Err(ReadError::NotAscii(version)),
                        other => other?,
                    };

                    if line.is_empty() {
                        break;
                    };
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            self.remote_addr,
            data_source,
            writer,
            Arc::clone(&self.closing),
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            // summarybot patch: every refusal is answered through the error page, counted,
            // and closes the connection.
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    // we don't know where the next request would start, so we have to close
                    return self.refuse(
                        400,
                        HTTPVersion(1, 1),
                        "the request line is not `METHOD /path HTTP/1.1`",
                    );
                }

                Err(ReadError::WrongHeader(ver)) => {
                    return self.refuse(400, ver, "a header line is not `Name: value`");
                }

                Err(ReadError::NotAscii(ver)) => {
                    return self.refuse(
                        400,
                        ver,
                        "the request line or a header holds a byte outside ASCII",
                    );
                }

                Err(ReadError::ReadIoError(ref err)) if err.kind() == ErrorKind::TimedOut => {
                    return self.refuse(
                        408,
                        HTTPVersion(1, 1),
                        "the request did not arrive in time",
                    );
                }

                Err(ReadError::HeadTooSlow) => {
                    let detail = format!(
                        "the request line and headers took longer than {} s",
                        self.limits.header_timeout.unwrap_or_default().as_secs_f64()
                    );
                    return self.refuse(408, HTTPVersion(1, 1), &detail);
                }

                Err(ReadError::HeadTooLarge) => {
                    let detail = format!(
                        "the request line and headers exceed {} bytes",
                        self.limits.max_header_bytes
                    );
                    return self.refuse(431, HTTPVersion(1, 1), &detail);
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    // TODO: should be recoverable, but needs handling in case of body
                    return self.refuse(417, ver, "only `Expect: 100-continue` is understood");
                }

                Err(ReadError::ReadIoError(_)) | Err(ReadError::Closing) => return None,

                Ok(rq) => rq,
            };

            // summarybot patch: the previous response closed the connection while this request
            // was being read.
            if self.closing.load(Ordering::Acquire) {
                return None;
            }

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                // summarybot patch: answered through the request (0.12.0 wrote the 505 beside
                // it, and dropping the request then wrote a 500 too), and the connection closes.
                self.stats.count_answer(505);
                let response = error_response(
                    &self.limits,
                    505,
                    "This server only supports HTTP versions 1.0 and 1.1",
                    true,
                );
                rq.respond(response).ok();
                continue;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
