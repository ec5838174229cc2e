//! [`TcpStream`]: a connected TCP socket.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::addr::resolve;
use super::split::{OwnedReadHalf, ReadHalf, WriteHalf};
use super::{OwnedWriteHalf, ToSocketAddrs};
use crate::executor::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::{
    self,
    socket::{self, SocketOption},
};

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
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
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
    ///     let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    ///     let err = TcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let reactor = context::current().reactor.clone();
        let mut last_error = None;
        for addr in resolve(&addr).await? {
            match Self::connect_one(&addr, &reactor).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Connects to one address.
    async fn connect_one(addr: &SocketAddr, reactor: &Rc<Reactor>) -> io::Result<TcpStream> {
        TcpStream::connect_fd(socket::tcp_socket(addr)?, addr, reactor).await
    }

    /// Connects the nonblocking socket `fd` to `addr`, registered with
    /// `reactor`.
    pub(crate) async fn connect_fd(
        fd: OwnedFd,
        addr: &SocketAddr,
        reactor: &Rc<Reactor>,
    ) -> io::Result<TcpStream> {
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

    /// Takes over a connected `std` stream: makes it nonblocking and
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
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let stream = runtime::net::TcpStream::from_std(std_stream)?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_connected(stream.into(), context::current().reactor.clone())
    }

    /// Deregisters the stream and hands it back as a `std` stream, still
    /// in nonblocking mode (call `set_nonblocking(false)` for blocking
    /// reads).
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner())
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

    /// Sets `SO_KEEPALIVE`: probe the peer of a connection that stays idle,
    /// so that a vanished peer is noticed (after the system's keepalive
    /// time, two hours by default).
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        socket::set_option(self.as_fd(), SocketOption::KeepAlive, keepalive.into())
    }

    /// Whether `SO_KEEPALIVE` is set.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(socket::option(self.as_fd(), SocketOption::KeepAlive)? != 0)
    }

    /// Sets the time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream
    /// reset the connection (RST) instead of closing it gracefully (FIN).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.as_fd(), linger)
    }

    /// Shuts down the read, write, or both halves at once, without
    /// waiting. To half-close (send FIN, keep reading), the usual call is
    /// [`AsyncWriteExt::shutdown`](crate::io::AsyncWriteExt::shutdown)`().await`,
    /// as with tokio; this method (named so as not to shadow it) is for
    /// the other directions, such as `Shutdown::Both` to end a connection
    /// that another task is reading: its read then sees end of stream.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone already.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use runtime::io::AsyncReadExt;
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     server.shutdown_with(Shutdown::Both)?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0);
    ///     # drop(client);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown_with(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The `std` stream underneath, for its synchronous calls.
    pub(crate) fn std(&self) -> &std::net::TcpStream {
        self.io.get_ref()
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
    #[inline]
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness; see [`writable`](TcpStream::writable).
    #[inline]
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads once without waiting: `WouldBlock` if the stream is not known
    /// to be readable (no syscall is made then) or the read finds no data
    /// (which clears the cached readiness; a short read does too, since it
    /// proves the socket drained). Once the stream's runtime was dropped,
    /// an error says so instead of `WouldBlock`: no readiness will be
    /// reported again.
    #[inline]
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_stream_io(Direction::Read, buf.len(), |io| {
            sys::direct::recv(io.as_fd(), buf)
        })
    }

    /// Writes once without waiting: `WouldBlock` if the send buffer is
    /// (known to be) full, or instead an error once the stream's runtime
    /// was dropped.
    #[inline]
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_stream_io(Direction::Write, buf.len(), |io| {
            sys::direct::send(io.as_fd(), buf)
        })
    }

    /// Reads into `buf` what [`read`](crate::io::AsyncReadExt::read) would,
    /// without taking it from the socket (`MSG_PEEK`): the next read
    /// returns the same bytes.
    ///
    /// Cancel-safe: nothing is consumed.
    ///
    /// # Errors
    ///
    /// The connection's error, or that of a dropped runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// runtime::block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"hello").await?;
    ///     let mut buf = [0; 5];
    ///     let n = server.peek(&mut buf).await?;
    ///     assert_eq!(&buf[..n], &b"hello"[..n]);
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hello");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls for [`peek`](TcpStream::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io.poll_io(cx, Direction::Read, |io| io.peek(buf))
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// for two futures of one task (say, in a `select!`). Zero cost: both
    /// are `&TcpStream` underneath.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        ReadHalf::pair(self)
    }

    /// Splits the stream into owned halves, which may go to different
    /// tasks. Dropping the write half shuts the write side down (the peer
    /// reads EOF), unless [`OwnedWriteHalf::forget`] is called first;
    /// [`OwnedReadHalf::reunite`] puts the two back together.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// runtime::block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     let (read, mut write) = server.into_split();
    ///     let writer = runtime::spawn(async move {
    ///         write.write_all(b"from another task").await?;
    ///         std::io::Result::Ok(write)
    ///     });
    ///     let mut client = client;
    ///     let mut buf = [0; 17];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"from another task");
    ///     let write = writer.await??;
    ///     let _server = read.reunite(write).expect("halves of one stream");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        OwnedReadHalf::pair(self)
    }

    /// Reads into `buf`, waiting for readiness as needed.
    #[inline]
    pub(crate) fn poll_read_inner(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Read, buf.len(), |io| {
                sys::direct::recv(io.as_fd(), buf)
            })
    }

    /// Writes from `buf`, waiting for readiness as needed.
    #[inline]
    pub(crate) fn poll_write_inner(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |io| {
                sys::direct::send(io.as_fd(), buf)
            })
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
        Poll::Ready(self.shutdown_with(Shutdown::Write))
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
        Poll::Ready(self.shutdown_with(Shutdown::Write))
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
