//! [`UnixDatagram`]: Unix-domain datagrams.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{socket_addr, SocketAddr};
use crate::executor::context;
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::unix_socket::{self, UnixKind};
use crate::sys::{self, socket};

/// A Unix-domain datagram socket: bound to a path (or an abstract name),
/// unbound, or one of a connected [`pair`](UnixDatagram::pair).
///
/// Every operation takes `&self`, so one task may receive while another
/// sends. Unlike UDP, the kernel drops no datagram: a sender whose peer's
/// queue is full waits (its send returns `Pending`) until the peer
/// receives. As with UDP, **a datagram larger than the buffer is
/// truncated**: the buffer is filled and the rest is discarded.
///
/// A bound socket's file is not removed on drop (see [the module
/// docs](super#the-socket-file-of-a-listener)).
///
/// # Examples
///
/// ```
/// use runtime::net::UnixDatagram;
///
/// runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("runtime-doc-dgram-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let (server_path, client_path) = (dir.join("server"), dir.join("client"));
///     # let _ = std::fs::remove_file(&server_path);
///     # let _ = std::fs::remove_file(&client_path);
///     let server = UnixDatagram::bind(&server_path)?;
///     let client = UnixDatagram::bind(&client_path)?;
///
///     client.send_to(b"ping", &server_path).await?;
///     let mut buf = [0; 64];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from.as_pathname(), Some(client_path.as_path()));
///     server.send_to(&buf[..n], from.as_pathname().unwrap()).await?;
///     let n = client.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///
///     std::fs::remove_dir_all(&dir)?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    /// The socket, registered with the reactor.
    io: Registration<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path` (or to an abstract name: a path whose first
    /// byte is NUL), registered with the current runtime.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists; `NotFound` or `PermissionDenied` for
    /// its directory; `InvalidInput` for a path that is no address.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// See [`UnixDatagram`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = socket_addr(path.as_ref())?;
        let reactor = context::current().reactor.clone();
        let fd = unix_socket::unix_socket(UnixKind::Datagram)?;
        unix_socket::bind(fd.as_fd(), &addr)?;
        UnixDatagram::from_fd(fd, reactor)
    }

    /// A socket bound to no address: it can send, and receive replies only
    /// once [`connect`](UnixDatagram::connect)ed (nobody can address it).
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
    /// ```
    /// use runtime::net::UnixDatagram;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-unbound-{}", std::process::id());
    ///     let server = UnixDatagram::bind(&name)?;
    ///     let client = UnixDatagram::unbound()?;
    ///     client.send_to(b"anonymous", &name).await?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"anonymous");
    ///     assert!(from.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        let reactor = context::current().reactor.clone();
        UnixDatagram::from_fd(unix_socket::unix_socket(UnixKind::Datagram)?, reactor)
    }

    /// A connected pair of unnamed datagram sockets (`socketpair`), both
    /// registered with the current runtime.
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
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     a.send(b"one").await?;
    ///     a.send(b"two").await?;
    ///     let mut buf = [0; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"one", "boundaries are kept");
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"two");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let reactor = context::current().reactor.clone();
        let (a, b) = unix_socket::unix_pair(UnixKind::Datagram)?;
        Ok((
            UnixDatagram::from_fd(a, reactor.clone())?,
            UnixDatagram::from_fd(b, reactor)?,
        ))
    }

    /// Wraps a nonblocking datagram socket and registers it with `reactor`.
    fn from_fd(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<UnixDatagram> {
        let io = Registration::new(std::os::unix::net::UnixDatagram::from(fd), reactor)?;
        Ok(UnixDatagram { io })
    }

    /// Takes over a `std` socket: makes it nonblocking and registers it
    /// with the current runtime.
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
    ///     let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
    ///     let a = runtime::net::UnixDatagram::from_std(a)?;
    ///     b.send(b"sync")?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(a.recv(&mut buf).await?, 4);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_fd(socket.into(), context::current().reactor.clone())
    }

    /// Deregisters the socket and hands it back as a `std` socket, still in
    /// nonblocking mode.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     let a = a.into_std()?;
    ///     a.send(b"sync")?;
    ///     assert_eq!(b.recv(&mut [0; 8]).await?, 4);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner())
    }

    /// Connects the socket to the one bound at `path`: [`send`] goes there,
    /// and only its datagrams are received. Completes at once.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing exists at `path`, `ConnectionRefused` if no
    /// socket is bound there, `InvalidInput` for a path that is no address.
    ///
    /// [`send`]: UnixDatagram::send
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::UnixDatagram;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-dgram-connect-{}", std::process::id());
    ///     let server = UnixDatagram::bind(&name)?;
    ///     let client = UnixDatagram::unbound()?;
    ///     client.connect(&name)?;
    ///     client.send(b"connected").await?;
    ///     let mut buf = [0; 16];
    ///     let n = server.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"connected");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        unix_socket::connect(self.as_fd(), &socket_addr(path.as_ref())?)
    }

    /// The address the socket is bound to (unnamed if it is not).
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UnixDatagram::unbound()?;
    ///     assert!(socket.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address the socket is connected to.
    ///
    /// # Errors
    ///
    /// `NotConnected` if it is not connected.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UnixDatagram::unbound()?;
    ///     let err = socket.peer_addr().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
    ///     let socket = runtime::net::UnixDatagram::unbound()?;
    ///     assert!(socket.take_error()?.is_none());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }

    /// Shuts down the receiving side, the sending side, or both: a shut
    /// down direction fails (sends with `BrokenPipe`) or, for receives,
    /// returns `Ok(0)` at once.
    ///
    /// # Errors
    ///
    /// What `shutdown` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    ///
    /// runtime::block_on(async {
    ///     let (a, _b) = runtime::net::UnixDatagram::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     let err = a.send(b"late").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the socket may be readable: a datagram or an error is
    /// queued. Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// If the runtime that created the socket was dropped and epoll had not
    /// reported it readable before: it never will.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     a.send(b"x").await?;
    ///     b.readable().await?;
    ///     assert_eq!(b.try_recv(&mut [0; 4])?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until the socket may be writable. Cancel-safe: waiting
    /// consumes nothing.
    ///
    /// # Errors
    ///
    /// If the runtime that created the socket was dropped and epoll had not
    /// reported it writable before: it never will.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, _b) = runtime::net::UnixDatagram::pair()?;
    ///     a.writable().await?;
    ///     assert_eq!(a.try_send(b"x")?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for read readiness; see [`readable`](UnixDatagram::readable).
    ///
    /// # Errors
    ///
    /// As [`readable`](UnixDatagram::readable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     a.send(b"x").await?;
    ///     poll_fn(|cx| b.poll_recv_ready(cx)).await?;
    ///     assert_eq!(b.try_recv(&mut [0; 4])?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness; see [`writable`](UnixDatagram::writable).
    ///
    /// # Errors
    ///
    /// As [`writable`](UnixDatagram::writable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     poll_fn(|cx| a.poll_send_ready(cx)).await?;
    ///     assert_eq!(a.try_send(b"x")?, 1);
    ///     assert_eq!(b.recv(&mut [0; 4]).await?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Sends `buf` as one datagram to the connected peer, waiting while the
    /// peer's queue is full; returns its length.
    ///
    /// Cancel-safe: the datagram was sent whole if and only if the future
    /// completed.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected; `ConnectionRefused`
    /// once the peer is gone; `EMSGSIZE` for a datagram larger than the
    /// send buffer; the error of a dropped runtime.
    ///
    /// # Examples
    ///
    /// See [`pair`](UnixDatagram::pair).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls for [`send`](UnixDatagram::send).
    ///
    /// # Errors
    ///
    /// As [`send`](UnixDatagram::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     assert_eq!(poll_fn(|cx| a.poll_send(cx, b"hi")).await?, 2);
    ///     assert_eq!(b.recv(&mut [0; 4]).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| sys::direct::send(s.as_fd(), buf))
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the
    /// peer's queue is full (or the socket is not known to be writable).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`send`](UnixDatagram::send).
    ///
    /// # Examples
    ///
    /// See [`writable`](UnixDatagram::writable).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |s| sys::direct::send(s.as_fd(), buf))
    }

    /// Receives one datagram into `buf`; returns its length. A datagram
    /// longer than `buf` is truncated (the rest is discarded). `Ok(0)` is
    /// an empty datagram, or the receive side shut down.
    ///
    /// Cancel-safe: a datagram is taken only if the future completes.
    ///
    /// # Errors
    ///
    /// The socket's error, or that of a dropped runtime.
    ///
    /// # Examples
    ///
    /// See [`pair`](UnixDatagram::pair).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls for [`recv`](UnixDatagram::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](UnixDatagram::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |s| sys::direct::recv(s.as_fd(), buf))
    }

    /// Receives one datagram without waiting: `WouldBlock` if none is
    /// queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`recv`](UnixDatagram::recv).
    ///
    /// # Examples
    ///
    /// See [`readable`](UnixDatagram::readable).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |s| sys::direct::recv(s.as_fd(), buf))
    }

    /// Sends `buf` as one datagram to the socket bound at `target` (a path,
    /// or an abstract name after a NUL byte), waiting while its queue is
    /// full; returns its length.
    ///
    /// Cancel-safe: the datagram was sent whole if and only if the future
    /// completed.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound there;
    /// `InvalidInput` for a path that is no address; the error of a dropped
    /// runtime.
    ///
    /// # Examples
    ///
    /// See [`UnixDatagram`].
    pub async fn send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = socket_addr(target.as_ref())?;
        poll_fn(|cx| self.poll_send_to_addr(cx, buf, &target)).await
    }

    /// Polls for [`send_to`](UnixDatagram::send_to).
    ///
    /// # Errors
    ///
    /// As [`send_to`](UnixDatagram::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-poll-send-to-{}", std::process::id());
    ///     let server = runtime::net::UnixDatagram::bind(&name)?;
    ///     let client = runtime::net::UnixDatagram::unbound()?;
    ///     assert_eq!(poll_fn(|cx| client.poll_send_to(cx, b"hi", &name)).await?, 2);
    ///     assert_eq!(server.recv(&mut [0; 4]).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: impl AsRef<Path>,
    ) -> Poll<io::Result<usize>> {
        match socket_addr(target.as_ref()) {
            Ok(target) => self.poll_send_to_addr(cx, buf, &target),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// [`poll_send_to`](UnixDatagram::poll_send_to) an address.
    fn poll_send_to_addr(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: &SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to_addr(buf, target))
    }

    /// Sends to `target` without waiting: `WouldBlock` if its queue is
    /// full (or this socket is not known to be writable).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`send_to`](UnixDatagram::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-try-send-to-{}", std::process::id());
    ///     let server = runtime::net::UnixDatagram::bind(&name)?;
    ///     let client = runtime::net::UnixDatagram::unbound()?;
    ///     client.writable().await?;
    ///     client.try_send_to(b"x", &name)?;
    ///     server.readable().await?;
    ///     let (n, _) = server.try_recv_from(&mut [0; 4])?;
    ///     assert_eq!(n, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = socket_addr(target.as_ref())?;
        self.io
            .try_io(Direction::Write, |s| s.send_to_addr(buf, &target))
    }

    /// Receives one datagram into `buf`; returns its length and sender
    /// (unnamed for an unbound sender). A datagram longer than `buf` is
    /// truncated (the rest is discarded).
    ///
    /// Cancel-safe: a datagram is taken only if the future completes.
    ///
    /// # Errors
    ///
    /// The socket's error, or that of a dropped runtime.
    ///
    /// # Examples
    ///
    /// See [`UnixDatagram`].
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixDatagram::pair()?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0; 4];
    ///     let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    ///     assert_eq!((n, from.is_unnamed()), (2, true));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives one datagram without waiting: `WouldBlock` if none is
    /// queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`recv_from`](UnixDatagram::recv_from).
    ///
    /// # Examples
    ///
    /// See [`try_send_to`](UnixDatagram::try_send_to).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
