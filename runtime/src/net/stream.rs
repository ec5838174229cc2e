//! [`TcpStream`]: a connected TCP socket.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::resolve;
use crate::executor::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::socket;

/// A TCP connection.
///
/// Reads and writes work through `&TcpStream` as well as `TcpStream`, so
/// one task may read while another writes the same stream; any number of
/// tasks may wait on either direction.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///
///     // Write through one shared reference, read through another.
///     (&client).write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     (&server).read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The connected socket, registered with the reactor.
    io: Registration<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn.
    ///
    /// The connect is nonblocking: the task waits for the socket to become
    /// writable, then reads `SO_ERROR` to learn the outcome.
    ///
    /// # Errors
    ///
    /// The error of the last address tried, for example `ConnectionRefused`
    /// when nothing listens there.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// runtime::block_on(async {
    ///     // Find a port nobody listens on.
    ///     let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    ///     let err = TcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let reactor = context::current().reactor.clone();
        let mut last_error = None;
        for addr in resolve(addr)? {
            match Self::connect_one(&addr, &reactor).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Connects to one address.
    async fn connect_one(addr: &SocketAddr, reactor: &Rc<Reactor>) -> io::Result<TcpStream> {
        let fd = socket::tcp_socket(addr)?;
        let stream = TcpStream::from_connected(fd, reactor.clone())?;
        if !socket::connect(stream.as_fd(), addr)? {
            // In progress: writable means the handshake ended, either way.
            stream.writable().await?;
            if let Some(e) = socket::take_error(stream.as_fd())? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// Wraps a nonblocking socket fd and registers it with `reactor`.
    pub(crate) fn from_connected(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<TcpStream> {
        let io = Registration::new(std::net::TcpStream::from(fd), reactor)?;
        Ok(TcpStream { io })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of
    /// coalescing them (Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream
    /// reset the connection (RST) instead of closing it gracefully (FIN).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.as_fd(), linger)
    }

    /// Shuts down the read, write, or both halves. `Shutdown::Write` sends
    /// FIN: the peer reads EOF, and this side can still read.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use runtime::io::AsyncReadExt;
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.shutdown(Shutdown::Write)?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }

    /// Waits until the stream may be readable: data, EOF or an error.
    ///
    /// Readiness can be spurious; follow with [`try_read`] and wait again
    /// on `WouldBlock`.
    ///
    /// # Errors
    ///
    /// If the runtime that created the stream was dropped and epoll had
    /// not reported it readable before: it never will.
    ///
    /// [`try_read`]: TcpStream::try_read
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream may be writable.
    ///
    /// # Errors
    ///
    /// If the runtime that created the stream was dropped and epoll had
    /// not reported it writable before: it never will.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for read readiness; see [`readable`](TcpStream::readable).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness; see [`writable`](TcpStream::writable).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads once without waiting: `WouldBlock` if the stream is not known
    /// to be readable (no syscall is made then) or the read finds no data
    /// (which clears the cached readiness; a short read does too, since it
    /// proves the socket drained). Once the stream's runtime was dropped,
    /// an error says so instead of `WouldBlock`: no readiness will be
    /// reported again.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_stream_io(Direction::Read, buf.len(), |mut io| io.read(buf))
    }

    /// Writes once without waiting: `WouldBlock` if the send buffer is
    /// (known to be) full, or instead an error once the stream's runtime
    /// was dropped.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_stream_io(Direction::Write, buf.len(), |mut io| io.write(buf))
    }

    /// Reads into `buf`, waiting for readiness as needed.
    #[inline]
    fn poll_read_inner(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Read, buf.len(), |mut io| io.read(buf))
    }

    /// Writes from `buf`, waiting for readiness as needed.
    #[inline]
    fn poll_write_inner(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |mut io| io.write(buf))
    }
}

impl AsyncRead for TcpStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_inner(cx, buf)
    }
}

impl AsyncRead for &TcpStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // writes go straight to the kernel
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl AsyncWrite for &TcpStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
