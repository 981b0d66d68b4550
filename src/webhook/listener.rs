//! The webhook server's listening socket, configured so that every accepted connection inherits
//! its timeouts: Linux copies `SO_RCVTIMEO`, `SO_SNDTIMEO`, `TCP_USER_TIMEOUT` and `TCP_NODELAY`
//! from a listening socket to the sockets `accept` returns, so tiny_http's connection threads
//! (which also answer the requests) never block on a silent, slow or vanished client longer
//! than `webhook.read_timeout` per read or write.
//!
//! `SO_RCVTIMEO` on a listening socket also bounds `accept`; the vendored tiny_http retries a
//! timed-out `accept` (vendor/tiny_http/PATCHES.md), so its accept thread just wakes up once per
//! timeout while nobody connects.
//!
//! Each open connection holds two file descriptors; [`check_descriptors`] warns at start when
//! the process may open fewer than `webhook.max_connections` needs.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues before `accept` (clamped by `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// Bind `addr` (`host:port`; the first address that binds wins) with `timeout` as the read, write
/// and unacknowledged-data timeout of every connection it accepts.
pub fn bind(addr: &str, timeout: Duration) -> io::Result<TcpListener> {
    let mut last = None;
    for candidate in addr.to_socket_addrs()? {
        match bind_one(candidate, timeout) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "the host name resolves to no address",
        )
    }))
}

/// One address: socket options first, then bind and listen.
fn bind_one(addr: SocketAddr, timeout: Duration) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Like std's `TcpListener::bind`: a restart can reuse the port while old connections linger.
    socket.set_reuse_address(true)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.set_write_timeout(Some(timeout))?;
    // Small JSON answers go out at once instead of waiting for the client's delayed ACK.
    socket.set_tcp_nodelay(true)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(Some(timeout))?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// File descriptors each open connection holds (tiny_http reads and writes through two).
const DESCRIPTORS_PER_CONNECTION: u64 = 2;
/// File descriptors the rest of the process may want besides the connections: the database,
/// the listener, Discord, LLM and update connections, tokio, logging (about 30 when idle).
const OTHER_DESCRIPTORS: u64 = 100;

/// Warn when the open-files limit is too low for `max_connections` connections (a connection
/// beyond the limit is then refused; nothing breaks, but the configured number is not reached).
pub fn check_descriptors(max_connections: usize) {
    let needed = descriptors_needed(max_connections);
    match open_files_limit() {
        Some(limit) if limit < needed => tracing::warn!(
            limit,
            needed,
            max_connections,
            "the open-files limit is too low for webhook.max_connections: raise LimitNOFILE (systemd) or ulimit -n, or lower webhook.max_connections"
        ),
        _ => {}
    }
}

/// Descriptors the process wants with `max_connections` open connections.
fn descriptors_needed(max_connections: usize) -> u64 {
    max_connections as u64 * DESCRIPTORS_PER_CONNECTION + OTHER_DESCRIPTORS
}

/// The soft limit on open files (`RLIMIT_NOFILE`), from `/proc/self/limits`; `None` when unknown
/// or unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    soft_open_files(&limits)
}

/// The soft open-files limit in the text of `/proc/<pid>/limits`.
fn soft_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn accepted_connections_inherit_the_listeners_timeouts() {
        let timeout = Duration::from_millis(1500);
        let listener = bind("127.0.0.1:0", timeout).expect("bind");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        // Read back with getsockopt on the accepted socket, not on the listener.
        assert_eq!(accepted.read_timeout().expect("rcvtimeo"), Some(timeout));
        assert_eq!(accepted.write_timeout().expect("sndtimeo"), Some(timeout));
        assert!(accepted.nodelay().expect("nodelay"));
        let sock = socket2::SockRef::from(&accepted);
        assert_eq!(
            sock.tcp_user_timeout().expect("user timeout"),
            Some(timeout)
        );
    }

    #[test]
    fn a_read_from_a_silent_client_times_out() {
        let timeout = Duration::from_millis(200);
        let listener = bind("127.0.0.1:0", timeout).expect("bind");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (mut accepted, _) = listener.accept().expect("accept");
        let started = Instant::now();
        let err = accepted.read(&mut [0; 16]).expect_err("nothing was sent");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }

    #[test]
    fn a_busy_port_and_a_bad_host_are_errors() {
        let taken = bind("127.0.0.1:0", Duration::from_secs(1)).expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        assert!(bind(&addr, Duration::from_secs(1)).is_err());
        assert!(bind("no-such-host.invalid:8080", Duration::from_secs(1)).is_err());
        assert!(
            bind("127.0.0.1", Duration::from_secs(1)).is_err(),
            "no port"
        );
    }

    #[test]
    fn accept_times_out_and_the_http_server_keeps_accepting() {
        let timeout = Duration::from_millis(300);
        let listener = bind("127.0.0.1:0", timeout).expect("bind");
        let started = Instant::now();
        let err = listener.accept().expect_err("no client");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        assert!(started.elapsed() >= Duration::from_millis(250));

        // tiny_http's accept thread sees that timeout over and over while nobody connects, and
        // still takes the connection that comes after four timeout periods.
        let addr = listener.local_addr().expect("addr");
        let server = tiny_http::Server::from_listener(listener, None).expect("server");
        std::thread::sleep(timeout * 4);
        let mut client = TcpStream::connect(addr).expect("connect");
        client
            .write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            .expect("send");
        let request = server
            .recv_timeout(Duration::from_secs(10))
            .expect("recv")
            .expect("a request after the timeouts");
        assert_eq!(request.url(), "/x");
    }

    #[test]
    fn the_soft_open_files_limit_is_read_and_compared() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63459                63459                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(soft_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(soft_open_files(unlimited), None);
        assert_eq!(soft_open_files(""), None);
        // The default fits systemd's default of 1024; 2048 connections do not.
        assert!(descriptors_needed(256) <= 1024);
        assert!(descriptors_needed(2048) > 1024);
        assert!(
            open_files_limit().is_some_and(|n| n > 0),
            "this process has one"
        );
    }
}
