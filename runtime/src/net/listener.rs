//! [`TcpListener`]: accepts connections as [`TcpStream`]s.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::addr::resolve;
use super::{TcpStream, ToSocketAddrs};
use crate::executor::context;
use crate::reactor::{shut_down_error, Direction, Reactor, Registration};
use crate::sys::socket::{self, AcceptErrorClass};
use crate::trace::IoOutcome;

/// How many connections the kernel queues before `accept` takes them.
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// # Examples
///
/// ```
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = TcpStream::connect(addr).await?;
///     let (server, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     assert_eq!(server.peer_addr()?, client.local_addr()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The listening socket, registered with the reactor.
    io: Registration<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and starts listening (with `SO_REUSEADDR`, so a
    /// restarted server gets its port back at once, and a backlog of
    /// 1,024). Port 0 picks a free port; read it back with
    /// [`local_addr`](TcpListener::local_addr). A host name is resolved on
    /// the blocking pool, never on the runtime's thread.
    ///
    /// When `addr` resolves to several addresses, each is tried in turn.
    ///
    /// Cancel-safe: dropping the future before it completes binds nothing.
    ///
    /// # Errors
    ///
    /// The error of the last address tried: `AddrInUse`,
    /// `PermissionDenied`, out of file descriptors, ...; or the resolver's.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     let v6 = runtime::net::TcpListener::bind("[::1]:0").await?;
    ///     assert!(v6.local_addr()?.is_ipv6());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let reactor = context::current().reactor.clone();
        let mut last_error = None;
        for addr in resolve(&addr).await? {
            match Self::bind_one(&addr, &reactor) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Binds one address.
    fn bind_one(addr: &SocketAddr, reactor: &Rc<Reactor>) -> io::Result<TcpListener> {
        let fd = socket::tcp_socket(addr)?;
        socket::set_reuseaddr(fd.as_fd())?;
        socket::bind(fd.as_fd(), addr)?;
        socket::listen(fd.as_fd(), BACKLOG)?;
        TcpListener::from_fd(fd, reactor.clone())
    }

    /// Wraps a nonblocking, listening socket and registers it with
    /// `reactor`.
    pub(crate) fn from_fd(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<TcpListener> {
        let io = Registration::new(std::net::TcpListener::from(fd), reactor)?;
        Ok(TcpListener { io })
    }

    /// Takes over a listening `std` listener: makes it nonblocking and
    /// registers it with the current runtime.
    ///
    /// # Errors
    ///
    /// If it cannot be made nonblocking or registered.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let listener = runtime::net::TcpListener::from_std(std_listener)?;
    ///     let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_server, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_fd(listener.into(), context::current().reactor.clone())
    }

    /// Deregisters the listener and hands it back as a `std` listener,
    /// still in nonblocking mode.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner())
    }

    /// Sets the time-to-live of the packets of accepted connections
    /// (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// The accepted socket is nonblocking and close-on-exec from the start
    /// (`accept4`). Cancel-safe: dropping the future loses no connection.
    ///
    /// # Errors
    ///
    /// What `accept4` reports: `EMFILE`/`ENFILE` when out of file
    /// descriptors, `ECONNABORTED` for a connection reset while queued, ...
    /// The listener stays usable after any of them; [`AcceptFailure::of`]
    /// tells a server which ones concern only that connection, which mean
    /// "back off, resources are short", and which mean the listener itself
    /// is broken. Once the runtime that created the listener has been
    /// dropped, an error that says so, every time: nothing will report a
    /// connection again.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        // Once the runtime is gone, a connection accepted now could not be
        // registered, and would only be closed: leave it queued.
        if self.io.reactor().is_shut_down() {
            return Poll::Ready(Err(shut_down_error()));
        }
        let (fd, peer) = ready!(self
            .io
            .poll_io(cx, Direction::Read, |l| socket::accept(l.as_fd())))?;
        self.io
            .trace_outcome(Direction::Read, IoOutcome::Accepted(fd.as_raw_fd()));
        let stream = TcpStream::from_connected(fd, self.io.reactor().clone())?;
        Poll::Ready(Ok((stream, peer)))
    }

    /// A stream of accepted connections, for use with `futures_core::Stream`
    /// combinators. Each item is one `accept`; the stream ends only once the
    /// runtime that created the listener has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let _client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut incoming = listener.incoming();
    ///     let first = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
    ///     assert!(first.unwrap().is_ok());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

/// The stream of [`TcpListener::incoming`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    /// The listener accepting.
    listener: &'a TcpListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.listener.io.reactor().is_shut_down() {
            // Its runtime was dropped: every accept would fail from now on.
            return Poll::Ready(None);
        }
        self.listener
            .poll_accept(cx)
            .map(|result| Some(result.map(|(stream, _)| stream)))
    }
}

/// What an error from [`TcpListener::accept`] means for a server that wants
/// to keep accepting. (tokio leaves this to each server; the runtime owns
/// the meaning of `errno`, so it says.)
///
/// # Examples
///
/// ```
/// use std::io;
/// use runtime::net::AcceptFailure;
///
/// let out_of_fds = io::Error::from_raw_os_error(24); // EMFILE
/// assert_eq!(AcceptFailure::of(&out_of_fds), AcceptFailure::OutOfResources);
/// let reset = io::Error::from(io::ErrorKind::ConnectionAborted);
/// assert_eq!(AcceptFailure::of(&reset), AcceptFailure::Connection);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptFailure {
    /// Only the connection being accepted failed (it was reset while
    /// queued, a firewall refused it, ...): accept the next one.
    Connection,
    /// The process or the system is out of file descriptors or memory
    /// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): the connection stays in
    /// the kernel's backlog; wait a little (a busy retry would spin) and
    /// accept again.
    OutOfResources,
    /// The listener itself is unusable (not listening, not a socket, the
    /// runtime is gone): stop.
    Listener,
}

impl AcceptFailure {
    /// What `error`, returned by an `accept`, means.
    pub fn of(error: &io::Error) -> AcceptFailure {
        if error.raw_os_error().is_none() && error.kind() == io::ErrorKind::Other {
            // Not from the kernel: the runtime's own (its shutdown).
            return AcceptFailure::Listener;
        }
        match socket::classify_accept_error(error) {
            AcceptErrorClass::Listener => AcceptFailure::Listener,
            AcceptErrorClass::Resources => AcceptFailure::OutOfResources,
            AcceptErrorClass::Connection => AcceptFailure::Connection,
        }
    }
}
