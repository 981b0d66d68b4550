//! The webhook server's listening socket, configured so that every accepted connection inherits
//! its timeouts: Linux copies `SO_RCVTIMEO`, `SO_SNDTIMEO`, `TCP_USER_TIMEOUT` and `TCP_NODELAY`
//! from a listening socket to the sockets `accept` returns, so tiny_http's connection threads
//! and our request threads never block on a silent, slow or vanished client longer than
//! `webhook.read_timeout` per read or write.

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
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
}
