//! The webhook server's listening socket, configured so that every accepted connection inherits
//! its timeouts: Linux copies `SO_RCVTIMEO`, `SO_SNDTIMEO`, `TCP_USER_TIMEOUT` and `TCP_NODELAY`
//! from a listening socket to the sockets `accept` returns, so tiny_http's connection threads
//! and our request threads never block on a silent, slow or vanished client longer than
//! `webhook.read_timeout` per read or write.
//!
//! The catch: `SO_RCVTIMEO` on a listening socket also bounds `accept`, and tiny_http treats a
//! timed-out `accept` as fatal (its accept thread stops). [`keep_accepting`] therefore connects
//! to the listener well within every timeout period, so `accept` always returns a connection.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// How often the keeper connects, as a fraction of the timeout (a quarter: three missed turns in
/// a row still leave `accept` a connection before it times out).
const KEEP_DIVISOR: u32 = 4;
/// Connect to `listening` every quarter of `timeout` and hang up at once, until `stop` is set
/// (unpark the thread to stop it at once), so that `accept` on a listener made by [`bind`] never
/// waits a whole `timeout` for a connection.
pub fn keep_accepting(listening: SocketAddr, timeout: Duration, stop: &AtomicBool) {
    let target = SocketAddr::new(reachable(listening.ip()), listening.port());
    let every = timeout / KEEP_DIVISOR;
    let mut next = Instant::now() + every;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            std::thread::park_timeout(next - now);
            continue;
        }
        next = now + every;
        if let Err(e) = TcpStream::connect_timeout(&target, every) {
            tracing::warn!(error = %e, address = %target, "cannot reach the webhook listener");
        }
    }
}

/// The address a local client uses for a listener on `ip` (loopback for the wildcard addresses).
fn reachable(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::Arc;

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
    fn accept_times_out_too_unless_the_keeper_connects() {
        let timeout = Duration::from_millis(300);
        let listener = bind("127.0.0.1:0", timeout).expect("bind");
        let started = Instant::now();
        let err = listener.accept().expect_err("no client");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        assert!(started.elapsed() >= Duration::from_millis(250));

        let stop = Arc::new(AtomicBool::new(false));
        let addr = listener.local_addr().expect("addr");
        let keeper = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || keep_accepting(addr, timeout, &stop))
        };
        // Six timeout periods without a real client: every accept still returns a connection.
        let until = Instant::now() + timeout * 6;
        let mut accepted = 0;
        while Instant::now() < until {
            listener.accept().expect("the keeper connected in time");
            accepted += 1;
        }
        stop.store(true, Ordering::Relaxed);
        keeper.thread().unpark();
        keeper.join().expect("keeper");
        assert!(accepted >= 6, "{accepted}");
    }

    #[test]
    fn wildcard_listeners_are_reached_over_loopback() {
        assert_eq!(
            reachable(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            reachable(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
        let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5));
        assert_eq!(reachable(lan), lan);
    }
}
