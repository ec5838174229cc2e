//! [`TcpListener`]: accepts connections as [`TcpStream`]s.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::{resolve, TcpStream};
use crate::executor::context;
use crate::reactor::{shut_down_error, Direction, Reactor, Registration};
use crate::sys::socket;

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
///     let listener = TcpListener::bind("127.0.0.1:0")?;
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
    /// restarted server gets its port back at once). Port 0 picks a free
    /// port; read it back with [`local_addr`](TcpListener::local_addr).
    ///
    /// When `addr` resolves to several addresses, each is tried in turn.
    ///
    /// # Errors
    ///
    /// The error of the last address tried: `AddrInUse`,
    /// `PermissionDenied`, out of file descriptors, ...
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let reactor = context::current().reactor.clone();
        let mut last_error = None;
        for addr in resolve(addr)? {
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
        let io = Registration::new(std::net::TcpListener::from(fd), reactor.clone())?;
        Ok(TcpListener { io })
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
    /// The listener stays usable after any of them. Once the runtime that
    /// created the listener has been dropped, an error that says so, every
    /// time: nothing will report a connection again.
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
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
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
