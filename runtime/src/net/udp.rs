//! [`UdpSocket`]: datagrams over UDP, on the reactor.

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use super::addr::{resolve, single_address};
use super::ToSocketAddrs;
use crate::executor::context;
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::{
    self,
    socket::{self, Family, Membership, SocketOption},
};

/// A UDP socket: unconnected, it sends to and receives from any address
/// ([`send_to`](UdpSocket::send_to), [`recv_from`](UdpSocket::recv_from));
/// [`connect`](UdpSocket::connect)ed, it talks to one peer
/// ([`send`](UdpSocket::send), [`recv`](UdpSocket::recv)) and the kernel
/// drops datagrams from anyone else.
///
/// Every operation takes `&self`, so one task may receive while another
/// sends (share the socket in an `Rc`), and any number of tasks may wait
/// on either direction.
///
/// # Datagrams and buffers
///
/// Each receive returns one datagram. **A datagram larger than the buffer
/// is truncated**, as the kernel does: the buffer is filled, the rest of
/// the datagram is discarded, and the returned length is the buffer's. A
/// buffer of 65,536 bytes holds any UDP datagram. Datagrams are never
/// merged or split, may arrive out of order, and are dropped when the
/// receive buffer is full: nobody waits for a slow receiver.
///
/// # Examples
///
/// ```
/// use runtime::net::UdpSocket;
///
/// runtime::block_on(async {
///     let server = UdpSocket::bind("127.0.0.1:0").await?;
///     let client = UdpSocket::bind("127.0.0.1:0").await?;
///     client.send_to(b"ping", server.local_addr()?).await?;
///
///     let mut buf = [0; 1500];
///     let (n, peer) = server.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(peer, client.local_addr()?);
///     server.send_to(&buf[..n], peer).await?;
///
///     let (n, _) = client.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The socket, registered with the reactor.
    io: Registration<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a new socket to `addr`. Port 0 picks a free port; read it back
    /// with [`local_addr`](UdpSocket::local_addr). A host name is resolved
    /// on the blocking pool, never on the runtime's thread; when it
    /// resolves to several addresses, each is tried in turn.
    ///
    /// Cancel-safe: dropping the future before it completes binds nothing.
    ///
    /// # Errors
    ///
    /// The error of the last address tried (`AddrInUse`,
    /// `AddrNotAvailable`, `PermissionDenied`, out of file descriptors,
    /// ...), or the resolver's.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let v4 = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_ne!(v4.local_addr()?.port(), 0);
    ///     let v6 = runtime::net::UdpSocket::bind("[::1]:0").await?;
    ///     assert!(v6.local_addr()?.is_ipv6());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let reactor = context::current().reactor.clone();
        let mut last_error = None;
        for addr in resolve(&addr).await? {
            match UdpSocket::bind_one(&addr, &reactor) {
                Ok(socket) => return Ok(socket),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Binds one address.
    fn bind_one(addr: &SocketAddr, reactor: &Rc<Reactor>) -> io::Result<UdpSocket> {
        let fd = socket::udp_socket_of(Family::of(addr))?;
        socket::bind(fd.as_fd(), addr)?;
        UdpSocket::from_fd(fd, reactor.clone())
    }

    /// Wraps a nonblocking UDP socket and registers it with `reactor`.
    fn from_fd(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<UdpSocket> {
        let io = Registration::new(std::net::UdpSocket::from(fd), reactor)?;
        Ok(UdpSocket { io })
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
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     let addr = std_socket.local_addr()?;
    ///     let socket = runtime::net::UdpSocket::from_std(std_socket)?;
    ///     assert_eq!(socket.local_addr()?, addr);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_fd(socket.into(), context::current().reactor.clone())
    }

    /// Deregisters the socket and hands it back as a `std` socket, still in
    /// nonblocking mode (call `set_nonblocking(false)` for blocking calls).
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let addr = socket.local_addr()?;
    ///     let std_socket = socket.into_std()?;
    ///     std_socket.set_nonblocking(false)?;
    ///     assert_eq!(std_socket.local_addr()?, addr);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner())
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.local_addr()?.ip().is_loopback());
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
    ///     let a = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Connects the socket to `addr`: [`send`](UdpSocket::send) goes
    /// there, and only datagrams from there are received. No packet is
    /// sent; connecting again changes the peer. A host name is resolved on
    /// the blocking pool; each address it resolves to is tried in turn.
    ///
    /// Cancel-safe: dropping the future before it completes leaves the
    /// socket as it was.
    ///
    /// # Errors
    ///
    /// The error of the last address tried (an address of the other
    /// family, `NetworkUnreachable`, ...), or the resolver's.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::UdpSocket;
    ///
    /// runtime::block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send(b"hello").await?;
    ///     let mut buf = [0; 16];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hello");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last_error = None;
        for addr in resolve(&addr).await? {
            // A datagram connect only records the peer: it completes at once.
            match socket::connect(self.as_fd(), &addr) {
                Ok(_) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("resolve returns at least one address"))
    }

    /// Waits until the socket may be readable: a datagram or an error is
    /// queued.
    ///
    /// Readiness can be spurious; follow with a `try_recv*` and wait again
    /// on `WouldBlock`. Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// If the runtime that created the socket was dropped and epoll had not
    /// reported it readable before: it never will.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::UdpSocket;
    ///
    /// runtime::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"to myself", socket.local_addr()?).await?;
    ///     let mut buf = [0; 16];
    ///     let n = loop {
    ///         socket.readable().await?;
    ///         match socket.try_recv_from(&mut buf) {
    ///             Ok((n, _)) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"to myself");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until the socket may be writable: its send buffer has room.
    ///
    /// Cancel-safe: waiting consumes nothing.
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
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.writable().await?;
    ///     socket.try_send_to(b"x", socket.local_addr()?)?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for read readiness; see [`readable`](UdpSocket::readable).
    ///
    /// # Errors
    ///
    /// As [`readable`](UdpSocket::readable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"x", socket.local_addr()?).await?;
    ///     poll_fn(|cx| socket.poll_recv_ready(cx)).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness; see [`writable`](UdpSocket::writable).
    ///
    /// # Errors
    ///
    /// As [`writable`](UdpSocket::writable).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     poll_fn(|cx| socket.poll_send_ready(cx)).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Sends `buf` as one datagram to the connected peer; returns its
    /// length.
    ///
    /// Cancel-safe: the datagram was sent whole if and only if the future
    /// completed.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected; `InvalidInput` (or
    /// `EMSGSIZE`) for a datagram larger than UDP allows (65,507 bytes over
    /// IPv4); `ConnectionRefused` when an earlier datagram was refused by
    /// the peer's host (ICMP port unreachable); the error of a dropped
    /// runtime.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     assert_eq!(socket.send(b"hi").await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls for [`send`](UdpSocket::send).
    ///
    /// # Errors
    ///
    /// As [`send`](UdpSocket::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     assert_eq!(poll_fn(|cx| socket.poll_send(cx, b"hi")).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| sys::direct::send(s.as_fd(), buf))
    }

    /// Sends `buf` to the connected peer without waiting: `WouldBlock` if
    /// the socket is not known to be writable (no syscall is made then) or
    /// its send buffer is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`send`](UdpSocket::send).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     socket.writable().await?;
    ///     assert_eq!(socket.try_send(b"hi")?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |s| sys::direct::send(s.as_fd(), buf))
    }

    /// Receives one datagram from the connected peer into `buf`; returns
    /// its length. A datagram longer than `buf` is truncated: the rest is
    /// discarded (see [Datagrams and buffers](UdpSocket#datagrams-and-buffers)).
    ///
    /// Cancel-safe: a datagram is taken from the socket only if the future
    /// completes.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when a datagram sent earlier was refused by the
    /// peer's host; the error of a dropped runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     socket.send(b"loop").await?;
    ///     let mut buf = [0; 16];
    ///     let n = socket.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"loop");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls for [`recv`](UdpSocket::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     socket.send(b"loop").await?;
    ///     let mut buf = [0; 16];
    ///     let n = poll_fn(|cx| socket.poll_recv(cx, &mut buf)).await?;
    ///     assert_eq!(&buf[..n], b"loop");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |s| sys::direct::recv(s.as_fd(), buf))
    }

    /// Receives one datagram from the connected peer without waiting:
    /// `WouldBlock` if none is queued (or the socket is not known to be
    /// readable; no syscall is made then).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`recv`](UdpSocket::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     let mut buf = [0; 16];
    ///     let err = socket.try_recv(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |s| sys::direct::recv(s.as_fd(), buf))
    }

    /// Sends `buf` as one datagram to `target`; returns its length. An
    /// address costs nothing to look up; a host name is resolved on the
    /// blocking pool at every call, and the first address it resolves to
    /// is used.
    ///
    /// Cancel-safe: the datagram was sent whole if and only if the future
    /// completed.
    ///
    /// # Errors
    ///
    /// The resolver's; `InvalidInput` for an address of the other family or
    /// a datagram larger than UDP allows; `PermissionDenied` for a
    /// broadcast address without [`set_broadcast`](UdpSocket::set_broadcast);
    /// the error of a dropped runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let n = socket.send_to(b"hello", socket.local_addr()?).await?;
    ///     assert_eq!(n, 5);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = match single_address(&target) {
            Some(target) => target,
            None => resolve(&target).await?[0],
        };
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls for [`send_to`](UdpSocket::send_to) an address.
    ///
    /// # Errors
    ///
    /// As [`send_to`](UdpSocket::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let to = socket.local_addr()?;
    ///     assert_eq!(poll_fn(|cx| socket.poll_send_to(cx, b"hi", to)).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sends `buf` to `target` without waiting: `WouldBlock` if the socket
    /// is not known to be writable (no syscall is made then) or its send
    /// buffer is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`send_to`](UdpSocket::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.writable().await?;
    ///     assert_eq!(socket.try_send_to(b"hi", socket.local_addr()?)?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives one datagram into `buf`; returns its length and sender. A
    /// datagram longer than `buf` is truncated: the rest is discarded (see
    /// [Datagrams and buffers](UdpSocket#datagrams-and-buffers)).
    ///
    /// Cancel-safe: a datagram is taken from the socket only if the future
    /// completes.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when a datagram sent earlier was refused (the
    /// kernel reports the ICMP error on the next receive); the error of a
    /// dropped runtime.
    ///
    /// # Examples
    ///
    /// A datagram larger than the buffer:
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"0123456789", socket.local_addr()?).await?;
    ///     socket.send_to(b"next", socket.local_addr()?).await?;
    ///     let mut small = [0; 4];
    ///     let (n, _) = socket.recv_from(&mut small).await?;
    ///     assert_eq!(&small[..n], b"0123"); // "456789" is gone
    ///     let (n, _) = socket.recv_from(&mut small).await?;
    ///     assert_eq!(&small[..n], b"next");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"hi", socket.local_addr()?).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, from) = poll_fn(|cx| socket.poll_recv_from(cx, &mut buf)).await?;
    ///     assert_eq!((&buf[..n], from), (&b"hi"[..], socket.local_addr()?));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives one datagram without waiting: `WouldBlock` if none is
    /// queued (or the socket is not known to be readable; no syscall is
    /// made then).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Examples
    ///
    /// See [`readable`](UdpSocket::readable).
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let err = socket.try_recv_from(&mut [0; 8]).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Copies the next datagram from the connected peer into `buf` without
    /// taking it from the socket (`MSG_PEEK`): the next receive returns it
    /// again. Returns the length copied (truncated to `buf`, as a receive).
    ///
    /// Cancel-safe: nothing is consumed.
    ///
    /// # Errors
    ///
    /// As [`recv`](UdpSocket::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     socket.send(b"twice").await?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(socket.peek(&mut buf).await?, 5);
    ///     assert_eq!(socket.try_peek(&mut buf)?, 5);
    ///     assert_eq!(socket.recv(&mut buf).await?, 5);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls for [`peek`](UdpSocket::peek).
    ///
    /// # Errors
    ///
    /// As [`peek`](UdpSocket::peek).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.connect(socket.local_addr()?).await?;
    ///     socket.send(b"hi").await?;
    ///     let mut buf = [0; 8];
    ///     assert_eq!(poll_fn(|cx| socket.poll_peek(cx, &mut buf)).await?, 2);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Peeks at the next datagram from the connected peer without waiting:
    /// `WouldBlock` if none is queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`peek`](UdpSocket::peek).
    ///
    /// # Examples
    ///
    /// See [`peek`](UdpSocket::peek).
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.peek(buf))
    }

    /// Copies the next datagram into `buf` without taking it from the
    /// socket (`MSG_PEEK`): the next receive returns it again. Returns the
    /// length copied (truncated to `buf`, as a receive) and the sender.
    ///
    /// Cancel-safe: nothing is consumed.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"twice", socket.local_addr()?).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, _) = socket.peek_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"twice");
    ///     let (n, _) = socket.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"twice");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_peek_from(cx, buf)).await
    }

    /// Polls for [`peek_from`](UdpSocket::peek_from).
    ///
    /// # Errors
    ///
    /// As [`peek_from`](UdpSocket::peek_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.send_to(b"hi", socket.local_addr()?).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, _) = poll_fn(|cx| socket.poll_peek_from(cx, &mut buf)).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[inline]
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek_from(buf))
    }

    /// Peeks at the next datagram without waiting: `WouldBlock` if none is
    /// queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or those of [`peek_from`](UdpSocket::peek_from).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let err = socket.try_peek_from(&mut [0; 8]).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.peek_from(buf))
    }

    /// Sets `SO_BROADCAST`: whether datagrams may be sent to a broadcast
    /// address (without it, such a send fails with `PermissionDenied`).
    ///
    /// # Errors
    ///
    /// What `setsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(!socket.broadcast()?);
    ///     socket.set_broadcast(true)?;
    ///     assert!(socket.broadcast()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        socket::set_option(self.as_fd(), SocketOption::Broadcast, on.into())
    }

    /// Whether `SO_BROADCAST` is set; see
    /// [`set_broadcast`](UdpSocket::set_broadcast).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(!socket.broadcast()?, "off by default");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        Ok(socket::option(self.as_fd(), SocketOption::Broadcast)? != 0)
    }

    /// Sets the time-to-live of outgoing packets (`IP_TTL`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a value above 255, or what `setsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.set_ttl(7)?;
    ///     assert_eq!(socket.ttl()?, 7);
    ///     assert!(socket.set_ttl(256).is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        socket::set_option(self.as_fd(), SocketOption::Ttl, byte_option("TTL", ttl)?)
    }

    /// The time-to-live of outgoing packets; see
    /// [`set_ttl`](UdpSocket::set_ttl).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.ttl()? > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(socket::option(self.as_fd(), SocketOption::Ttl)? as u32)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether IPv4 multicast sent by this socket
    /// is delivered to members on this host too (on by default).
    ///
    /// # Errors
    ///
    /// What `setsockopt` says (an IPv6 socket may refuse).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.multicast_loop_v4()?);
    ///     socket.set_multicast_loop_v4(false)?;
    ///     assert!(!socket.multicast_loop_v4()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        socket::set_option(self.as_fd(), SocketOption::MulticastLoopV4, on.into())
    }

    /// Whether `IP_MULTICAST_LOOP` is set; see
    /// [`set_multicast_loop_v4`](UdpSocket::set_multicast_loop_v4).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.multicast_loop_v4()?, "on by default");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        Ok(socket::option(self.as_fd(), SocketOption::MulticastLoopV4)? != 0)
    }

    /// Sets `IP_MULTICAST_TTL`: how many hops IPv4 multicast sent by this
    /// socket may travel (1 by default: the local network only).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a value above 255, or what `setsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(socket.multicast_ttl_v4()?, 1);
    ///     socket.set_multicast_ttl_v4(4)?;
    ///     assert_eq!(socket.multicast_ttl_v4()?, 4);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        let ttl = byte_option("multicast TTL", ttl)?;
        socket::set_option(self.as_fd(), SocketOption::MulticastTtlV4, ttl)
    }

    /// The hop limit of outgoing IPv4 multicast; see
    /// [`set_multicast_ttl_v4`](UdpSocket::set_multicast_ttl_v4).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(socket.multicast_ttl_v4()?, 1, "the local network by default");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        Ok(socket::option(self.as_fd(), SocketOption::MulticastTtlV4)? as u32)
    }

    /// Sets `IPV6_MULTICAST_LOOP`: whether IPv6 multicast sent by this
    /// socket is delivered to members on this host too (on by default).
    ///
    /// # Errors
    ///
    /// What `setsockopt` says (an IPv4 socket refuses).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("[::1]:0").await?;
    ///     socket.set_multicast_loop_v6(false)?;
    ///     assert!(!socket.multicast_loop_v6()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        socket::set_option(self.as_fd(), SocketOption::MulticastLoopV6, on.into())
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set; see
    /// [`set_multicast_loop_v6`](UdpSocket::set_multicast_loop_v6).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("[::1]:0").await?;
    ///     assert!(socket.multicast_loop_v6()?, "on by default");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        Ok(socket::option(self.as_fd(), SocketOption::MulticastLoopV6)? != 0)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface whose
    /// address is `interface` (`Ipv4Addr::UNSPECIFIED`: the kernel picks
    /// one by its routes).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address that is not multicast, `AddrInUse` if
    /// already joined, `NoDevice`-like errors when no interface fits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     let group = Ipv4Addr::new(239, 255, 0, 1);
    ///     // A host without a multicast route (some containers) refuses.
    ///     if socket.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_ok() {
    ///         socket.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
    ///     }
    ///     let err = socket.join_multicast_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED);
    ///     assert!(err.is_err(), "127.0.0.1 is no multicast group");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        socket::multicast_v4(self.as_fd(), Membership::Join, multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](UdpSocket::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if the group was not joined on that interface.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let group = std::net::Ipv4Addr::new(239, 255, 0, 2);
    ///     // Never joined: the kernel says so.
    ///     assert!(socket.leave_multicast_v4(group, std::net::Ipv4Addr::UNSPECIFIED).is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        socket::multicast_v4(self.as_fd(), Membership::Leave, multiaddr, interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface of index
    /// `interface` (0: the kernel picks one).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address that is not multicast, or an IPv4
    /// socket; errors when no interface fits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    ///
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("[::]:0").await?;
    ///     let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///     // Interface 1 is loopback; a host may still refuse.
    ///     if socket.join_multicast_v6(&group, 1).is_ok() {
    ///         socket.leave_multicast_v6(&group, 1)?;
    ///     }
    ///     assert!(socket.join_multicast_v6(&Ipv6Addr::LOCALHOST, 0).is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        socket::multicast_v6(self.as_fd(), Membership::Join, multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](UdpSocket::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// If the group was not joined on that interface.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("[::]:0").await?;
    ///     let group: std::net::Ipv6Addr = "ff02::1:4".parse().unwrap();
    ///     // Never joined: the kernel says so.
    ///     assert!(socket.leave_multicast_v6(&group, 1).is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        socket::multicast_v6(self.as_fd(), Membership::Leave, multiaddr, interface)
    }

    /// Sets the size of the receive buffer (`SO_RCVBUF`): how many bytes of
    /// datagrams (with the kernel's bookkeeping) wait for a receive before
    /// new ones are dropped. The kernel doubles the value and clamps it to
    /// `net.core.rmem_max`; read back what it chose with
    /// [`recv_buffer_size`](UdpSocket::recv_buffer_size). (Not in tokio's
    /// `UdpSocket`, whose users reach for `socket2`.)
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`, or what `setsockopt`
    /// says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.set_recv_buffer_size(8192)?;
    ///     assert!(socket.recv_buffer_size()? >= 8192);
    ///     socket.set_send_buffer_size(8192)?;
    ///     assert!(socket.send_buffer_size()? >= 8192);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        let size = buffer_size(size)?;
        socket::set_option(self.as_fd(), SocketOption::RecvBuffer, size)
    }

    /// The size of the receive buffer; see
    /// [`set_recv_buffer_size`](UdpSocket::set_recv_buffer_size).
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.recv_buffer_size()? > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(socket::option(self.as_fd(), SocketOption::RecvBuffer)? as u32)
    }

    /// Sets the size of the send buffer (`SO_SNDBUF`); see
    /// [`set_recv_buffer_size`](UdpSocket::set_recv_buffer_size).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`, or what `setsockopt`
    /// says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     socket.set_send_buffer_size(16 * 1024)?;
    ///     assert!(socket.send_buffer_size()? >= 16 * 1024);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        let size = buffer_size(size)?;
        socket::set_option(self.as_fd(), SocketOption::SendBuffer, size)
    }

    /// The size of the send buffer.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.send_buffer_size()? > 0);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(socket::option(self.as_fd(), SocketOption::SendBuffer)? as u32)
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`), such as
    /// the `ConnectionRefused` of an ICMP port-unreachable reply.
    ///
    /// # Errors
    ///
    /// What `getsockopt` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(socket.take_error()?.is_none());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }
}

/// An option value of one byte (a TTL), checked.
fn byte_option(what: &str, value: u32) -> io::Result<i32> {
    if value > 255 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a {what} must be at most 255, not {value}"),
        ));
    }
    Ok(value as i32)
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

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
