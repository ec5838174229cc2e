//! [`TcpSocket`]: a TCP socket configured before it listens or connects.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{TcpListener, TcpStream};
use crate::executor::context;
use crate::sys::socket::{self, Family, SocketOption};

/// A TCP socket that has not yet become a listener or a stream: set its
/// options, [`bind`](TcpSocket::bind) it, then [`listen`](TcpSocket::listen)
/// or [`connect`](TcpSocket::connect).
///
/// The shape of tokio's `TcpSocket`. Making one needs no runtime; listening
/// and connecting register it with the current one.
///
/// # Examples
///
/// Two listeners on one port with `SO_REUSEPORT`, as one runtime per core
/// would have:
///
/// ```
/// use runtime::net::TcpSocket;
///
/// runtime::block_on(async {
///     let first = TcpSocket::new_v4()?;
///     first.set_reuseport(true)?;
///     first.bind("127.0.0.1:0".parse().unwrap())?;
///     let addr = first.local_addr()?;
///     let first = first.listen(128)?;
///
///     let second = TcpSocket::new_v4()?;
///     second.set_reuseport(true)?;
///     second.bind(addr)?;
///     let second = second.listen(128)?;
///     assert_eq!(second.local_addr()?, first.local_addr()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpSocket {
    /// The socket: nonblocking, close-on-exec.
    fd: OwnedFd,
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors.
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: socket::tcp_socket_of(Family::V4)?,
        })
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors, or IPv6 is off.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: socket::tcp_socket_of(Family::V6)?,
        })
    }

    /// Sets `SO_REUSEADDR`: bind a port that still has connections in
    /// `TIME_WAIT` (what a restarted server wants).
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        socket::set_option(self.fd.as_fd(), SocketOption::ReuseAddr, reuseaddr.into())
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(socket::option(self.fd.as_fd(), SocketOption::ReuseAddr)? != 0)
    }

    /// Sets `SO_REUSEPORT`: several sockets (of the same user) may bind the
    /// same address and port, and the kernel spreads incoming connections
    /// among their listeners by a hash of the peer's address. Set it on
    /// every one of them, before `bind`.
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        socket::set_option(self.fd.as_fd(), SocketOption::ReusePort, reuseport.into())
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn reuseport(&self) -> io::Result<bool> {
        Ok(socket::option(self.fd.as_fd(), SocketOption::ReusePort)? != 0)
    }

    /// Sets the size of the send buffer (`SO_SNDBUF`). The kernel doubles
    /// the value for its bookkeeping and clamps it to
    /// `net.core.wmem_max`; read back what it chose with
    /// [`send_buffer_size`](TcpSocket::send_buffer_size).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`, or what `setsockopt`
    /// says.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        socket::set_option(
            self.fd.as_fd(),
            SocketOption::SendBuffer,
            buffer_size(size)?,
        )
    }

    /// The size of the send buffer.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(socket::option(self.fd.as_fd(), SocketOption::SendBuffer)? as u32)
    }

    /// Sets the size of the receive buffer (`SO_RCVBUF`); see
    /// [`set_send_buffer_size`](TcpSocket::set_send_buffer_size).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`, or what `setsockopt`
    /// says.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        socket::set_option(
            self.fd.as_fd(),
            SocketOption::RecvBuffer,
            buffer_size(size)?,
        )
    }

    /// The size of the receive buffer.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(socket::option(self.fd.as_fd(), SocketOption::RecvBuffer)? as u32)
    }

    /// Sets `SO_KEEPALIVE`: probe the peer of a connection that stays idle,
    /// so that a vanished peer is noticed (after the system's keepalive
    /// time, two hours by default).
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        socket::set_option(self.fd.as_fd(), SocketOption::KeepAlive, keepalive.into())
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(socket::option(self.fd.as_fd(), SocketOption::KeepAlive)? != 0)
    }

    /// Sets `TCP_NODELAY` on the connection to come.
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        socket::set_option(self.fd.as_fd(), SocketOption::NoDelay, nodelay.into())
    }

    /// Sets `SO_LINGER`; see [`TcpStream::set_linger`].
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.fd.as_fd(), linger)
    }

    /// Binds the socket to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `PermissionDenied`, `AddrNotAvailable`, an address of
    /// the other family (`InvalidInput`), ...
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        socket::bind(self.fd.as_fd(), &addr)
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.fd.as_fd())
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.fd.as_fd())
    }

    /// Starts listening, with room for `backlog` connections not yet
    /// accepted, and registers the listener with the current runtime.
    ///
    /// # Errors
    ///
    /// What `listen` says (an unbound socket gets a free port; one bound by
    /// another listener without `SO_REUSEPORT` fails with `AddrInUse`).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        socket::listen(self.fd.as_fd(), backlog)?;
        TcpListener::from_fd(self.fd, context::current().reactor.clone())
    }

    /// Connects to `addr`, registering the stream with the current runtime.
    ///
    /// Cancel-safe in that dropping the future closes the socket, and with
    /// it the connection attempt.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut`, `NetworkUnreachable`, ...
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_fd(self.fd, &addr, &context::current().reactor).await
    }
}

/// A buffer size as the kernel takes it.
fn buffer_size(size: u32) -> io::Result<i32> {
    i32::try_from(size).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a socket buffer size must be at most {}, not {size}",
                i32::MAX
            ),
        )
    })
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<TcpSocket> for OwnedFd {
    fn from(socket: TcpSocket) -> OwnedFd {
        socket.fd
    }
}
