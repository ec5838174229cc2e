//! [`UnixStream`]: a connected Unix-domain byte stream.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use std::future::poll_fn;

use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::{describe, socket_addr, SocketAddr, UCred};
use crate::executor::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::unix_socket::{self, UnixKind};
use crate::sys::{self, socket};

/// A connected Unix-domain stream socket: a byte stream between two
/// processes (or two tasks) of one host.
///
/// Reads and writes work through `&UnixStream` as well as `UnixStream`, so
/// one task may read while another writes the same stream; any number of
/// tasks may wait on either direction. Close the write side (the peer reads
/// EOF) with [`AsyncWriteExt::close`](crate::io::AsyncWriteExt::close); as
/// in tokio, no inherent method shadows it.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::UnixStream;
///
/// runtime::block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     a.close().await?;
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await?;
///     assert_eq!(got, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixStream {
    /// The connected socket, registered with the reactor.
    io: Registration<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket bound at `path` (or to an abstract name: a
    /// path whose first byte is NUL).
    ///
    /// A Unix-domain connect completes at once, without waiting for the
    /// listener to accept. Cancel-safe: dropping the future before it
    /// completes leaves no connection.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing exists at `path`; `ConnectionRefused` if
    /// nothing listens there (a socket file left behind by a listener that
    /// is gone, say); `PermissionDenied`; `WouldBlock`, with a message
    /// that says so, if the listener's backlog is full because it does not
    /// accept fast enough (tokio returns the same kind; the kernel would
    /// report no readiness for the retry, so try again later);
    /// `InvalidInput` for a path that is no address.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::UnixStream;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join("runtime-doc-no-such-socket");
    ///     let err = UnixStream::connect(&path).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&socket_addr(path.as_ref())?).await
    }

    /// Connects to `addr` (a path or an abstract name); see
    /// [`connect`](UnixStream::connect). Cancel-safe: dropping the future
    /// before it completes leaves no connection.
    ///
    /// # Errors
    ///
    /// As [`connect`](UnixStream::connect); `InvalidInput` for an unnamed
    /// address.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-connect-addr-{}", std::process::id());
    ///     let listener = runtime::net::UnixListener::bind(&name)?;
    ///     let addr = listener.local_addr()?;
    ///     let client = runtime::net::UnixStream::connect_addr(&addr).await?;
    ///     assert!(client.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let reactor = context::current().reactor.clone();
        let fd = unix_socket::unix_socket(UnixKind::Stream)?;
        match unix_socket::connect(fd.as_fd(), addr) {
            Ok(()) => UnixStream::from_fd(fd, reactor),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "cannot connect to {}: the listener's backlog is full \
                     (it does not accept fast enough); try again later",
                    describe(addr)
                ),
            )),
            Err(e) => Err(e),
        }
    }

    /// A connected pair of streams (`socketpair`), both registered with the
    /// current runtime: for talking between two tasks, or to a child
    /// process given one end.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// See [`UnixStream`].
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let reactor = context::current().reactor.clone();
        let (a, b) = unix_socket::unix_pair(UnixKind::Stream)?;
        Ok((
            UnixStream::from_fd(a, reactor.clone())?,
            UnixStream::from_fd(b, reactor)?,
        ))
    }

    /// Wraps a nonblocking, connected socket and registers it with
    /// `reactor`.
    pub(crate) fn from_fd(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<UnixStream> {
        let io = Registration::new(std::os::unix::net::UnixStream::from(fd), reactor)?;
        Ok(UnixStream { io })
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
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = runtime::net::UnixStream::from_std(a)?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_fd(stream.into(), context::current().reactor.clone())
    }

    /// Deregisters the stream and hands it back as a `std` stream, still in
    /// nonblocking mode (call `set_nonblocking(false)` for blocking reads).
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (mut a, mut b) = (a.into_std()?, b.into_std()?);
    ///     b.set_nonblocking(false)?;
    ///     a.write_all(b"sync")?;
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf)?;
    ///     assert_eq!(&buf, b"sync");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_inner())
    }

    /// The local address (usually unnamed for a client).
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// See [`connect_addr`](UnixStream::connect_addr).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// What `getpeername` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-peer-addr-{}", std::process::id());
    ///     let _listener = runtime::net::UnixListener::bind(&name)?;
    ///     let client = runtime::net::UnixStream::connect(&name).await?;
    ///     assert_eq!(client.peer_addr()?.as_abstract_name(), Some(&name.as_bytes()[1..]));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The credentials of the peer process, as recorded when it connected
    /// (or created the pair).
    ///
    /// # Errors
    ///
    /// What `getsockopt(SO_PEERCRED)` says.
    ///
    /// # Examples
    ///
    /// See [`UCred`].
    pub fn peer_cred(&self) -> io::Result<UCred> {
        Ok(UCred::from_peer(unix_socket::peer_cred(self.as_fd())?))
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, _b) = runtime::net::UnixStream::pair()?;
    ///     assert!(a.take_error()?.is_none());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }

    /// Waits until the stream may be readable: data, EOF or an error.
    ///
    /// Readiness can be spurious; follow with [`try_read`] and wait again
    /// on `WouldBlock`. Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// If the runtime that created the stream was dropped and epoll had
    /// not reported it readable before: it never will.
    ///
    /// [`try_read`]: UnixStream::try_read
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     b.writable().await?;
    ///     b.try_write(b"hi")?;
    ///     let mut buf = [0; 8];
    ///     let n = loop {
    ///         a.readable().await?;
    ///         match a.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream may be writable.
    ///
    /// Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// If the runtime that created the stream was dropped and epoll had
    /// not reported it writable before: it never will.
    ///
    /// # Examples
    ///
    /// See [`readable`](UnixStream::readable).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for read readiness; see [`readable`](UnixStream::readable).
    ///
    /// # Errors
    ///
    /// As [`readable`](UnixStream::readable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     drop(b); // EOF makes `a` readable
    ///     poll_fn(|cx| a.poll_read_ready(cx)).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness; see [`writable`](UnixStream::writable).
    ///
    /// # Errors
    ///
    /// As [`writable`](UnixStream::writable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, _b) = runtime::net::UnixStream::pair()?;
    ///     poll_fn(|cx| a.poll_write_ready(cx)).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads once without waiting: `WouldBlock` if the stream is not known
    /// to be readable (no syscall is made then) or the read finds no data
    /// (which clears the cached readiness; a short read does too, since it
    /// proves the socket drained). `Ok(0)` is EOF.
    ///
    /// # Errors
    ///
    /// `WouldBlock`; the connection's error; once the stream's runtime was
    /// dropped, an error that says so instead of `WouldBlock`.
    ///
    /// # Examples
    ///
    /// See [`readable`](UnixStream::readable).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_stream_io(Direction::Read, buf.len(), |io| {
            sys::direct::recv(io.as_fd(), buf)
        })
    }

    /// Writes once without waiting: `WouldBlock` if the send buffer is
    /// (known to be) full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`; `BrokenPipe` once the peer is gone; once the stream's
    /// runtime was dropped, an error that says so instead of `WouldBlock`.
    ///
    /// # Examples
    ///
    /// See [`readable`](UnixStream::readable).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_stream_io(Direction::Write, buf.len(), |io| {
            sys::direct::send(io.as_fd(), buf)
        })
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// for two futures of one task (say, in a `select!`). Zero cost: both
    /// are `&UnixStream` underneath.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// runtime::block_on(async {
    ///     let (mut a, mut b) = runtime::net::UnixStream::pair()?;
    ///     let (mut read, mut write) = a.split();
    ///     write.write_all(b"x").await?;
    ///     b.write_all(b"y").await?;
    ///     let mut buf = [0; 1];
    ///     read.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"y");
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"x");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
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
    ///     let (a, mut b) = runtime::net::UnixStream::pair()?;
    ///     let (read, mut write) = a.into_split();
    ///     let writer = runtime::spawn(async move {
    ///         write.write_all(b"from another task").await?;
    ///         std::io::Result::Ok(write)
    ///     });
    ///     let mut buf = [0; 17];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"from another task");
    ///     let write = writer.await??;
    ///     let _a = read.reunite(write).expect("halves of one stream");
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

    /// Sends EOF to the peer (shuts the write side down). A peer that is
    /// gone already is not an error here.
    pub(crate) fn shut_down_writes(&self) -> io::Result<()> {
        match self.io.get_ref().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        }
    }
}

impl AsyncRead for UnixStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_inner(cx, buf)
    }
}

impl AsyncRead for &UnixStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for UnixStream {
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
        Poll::Ready(self.shut_down_writes())
    }
}

impl AsyncWrite for &UnixStream {
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
        Poll::Ready(self.shut_down_writes())
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
