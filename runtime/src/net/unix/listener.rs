//! [`UnixListener`]: accepts Unix-domain connections as [`UnixStream`]s.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::{socket_addr, SocketAddr, UnixStream};
use crate::executor::context;
use crate::reactor::{shut_down_error, Direction, Reactor, Registration};
use crate::sys::socket;
use crate::sys::unix_socket::{self, UnixKind};

/// How many connections the kernel queues before `accept` takes them (the
/// kernel clamps it to `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A Unix-domain socket listening for connections.
///
/// Dropping the listener closes the socket but **leaves its socket file**
/// in place, as tokio and std do; remove it with `std::fs::remove_file`
/// when the program is done with it (see [the module
/// docs](super#the-socket-file-of-a-listener)).
///
/// # Examples
///
/// ```
/// use runtime::net::{UnixListener, UnixStream};
///
/// runtime::block_on(async {
///     // An abstract name: no socket file to clean up.
///     let name = format!("\0runtime-doc-listener-{}", std::process::id());
///     let listener = UnixListener::bind(&name)?;
///     let client = UnixStream::connect(&name).await?;
///     let (server, _peer) = listener.accept().await?;
///     assert_eq!(server.peer_cred()?, client.peer_cred()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    /// The listening socket, registered with the reactor.
    io: Registration<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds a socket file at `path` (or an abstract name: a path whose
    /// first byte is NUL) and starts listening, with a backlog of 1,024.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists (a socket file left by an earlier
    /// listener included: remove it first); `NotFound` or
    /// `PermissionDenied` for its directory; `InvalidInput` for a path
    /// that is empty, holds a NUL byte or is longer than 107 bytes.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::UnixListener;
    ///
    /// runtime::block_on(async {
    ///     let path = std::env::temp_dir().join(format!("runtime-doc-bind-{}.sock", std::process::id()));
    ///     # let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     // The path is taken until the file is removed.
    ///     let err = UnixListener::bind(&path).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    ///     drop(listener);
    ///     std::fs::remove_file(&path)?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::bind_addr(&socket_addr(path.as_ref())?)
    }

    /// Binds to `addr` (a path or an abstract name) and starts listening;
    /// see [`bind`](UnixListener::bind).
    ///
    /// # Errors
    ///
    /// As [`bind`](UnixListener::bind); `InvalidInput` for an unnamed
    /// address.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::linux::net::SocketAddrExt;
    /// use runtime::net::unix::SocketAddr;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("runtime-doc-bind-addr-{}", std::process::id());
    ///     let addr = SocketAddr::from_abstract_name(&name)?;
    ///     let listener = runtime::net::UnixListener::bind_addr(&addr)?;
    ///     assert_eq!(listener.local_addr()?.as_abstract_name(), Some(name.as_bytes()));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        let reactor = context::current().reactor.clone();
        let fd = unix_socket::unix_socket(UnixKind::Stream)?;
        unix_socket::bind(fd.as_fd(), addr)?;
        socket::listen(fd.as_fd(), BACKLOG)?;
        UnixListener::from_fd(fd, reactor)
    }

    /// Wraps a nonblocking, listening socket and registers it with
    /// `reactor`.
    fn from_fd(fd: OwnedFd, reactor: Rc<Reactor>) -> io::Result<UnixListener> {
        let io = Registration::new(std::os::unix::net::UnixListener::from(fd), reactor)?;
        Ok(UnixListener { io })
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
    ///     let path = std::env::temp_dir().join(format!("runtime-doc-from-std-{}.sock", std::process::id()));
    ///     # let _ = std::fs::remove_file(&path);
    ///     let std_listener = std::os::unix::net::UnixListener::bind(&path)?;
    ///     let listener = runtime::net::UnixListener::from_std(std_listener)?;
    ///     let _client = runtime::net::UnixStream::connect(&path).await?;
    ///     listener.accept().await?;
    ///     std::fs::remove_file(&path)?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_fd(listener.into(), context::current().reactor.clone())
    }

    /// Deregisters the listener and hands it back as a `std` listener,
    /// still in nonblocking mode.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is tokio's shape.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-into-std-{}", std::process::id());
    ///     let listener = runtime::net::UnixListener::bind(&name)?;
    ///     let std_listener = listener.into_std()?;
    ///     assert!(std_listener.local_addr()?.as_pathname().is_none());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner())
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// See [`bind`](UnixListener::bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
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
    ///     let name = format!("\0runtime-doc-take-error-{}", std::process::id());
    ///     let listener = runtime::net::UnixListener::bind(&name)?;
    ///     assert!(listener.take_error()?.is_none());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket::take_error(self.as_fd())
    }

    /// Waits for a connection and returns it with the peer's address
    /// (usually unnamed: clients seldom bind).
    ///
    /// The accepted socket is nonblocking and close-on-exec from the start.
    /// Cancel-safe: dropping the future loses no connection.
    ///
    /// # Errors
    ///
    /// What `accept4` reports (`EMFILE` when out of file descriptors, ...;
    /// [`AcceptFailure::of`](crate::net::AcceptFailure::of) sorts them as
    /// for TCP), an error reading the peer's address, or, once the runtime
    /// that created the listener was dropped, an error that says so.
    ///
    /// # Examples
    ///
    /// See [`UnixListener`].
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; see [`accept`](UnixListener::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](UnixListener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// runtime::block_on(async {
    ///     let name = format!("\0runtime-doc-poll-accept-{}", std::process::id());
    ///     let listener = runtime::net::UnixListener::bind(&name)?;
    ///     let _client = runtime::net::UnixStream::connect(&name).await?;
    ///     let (_server, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     assert!(peer.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        // Once the runtime is gone, a connection accepted now could not be
        // registered, and would only be closed: leave it queued.
        if self.io.reactor().is_shut_down() {
            return Poll::Ready(Err(shut_down_error()));
        }
        let fd = ready!(self
            .io
            .poll_io(cx, Direction::Read, |l| unix_socket::accept(l.as_fd())))?;
        let stream = UnixStream::from_fd(fd, self.io.reactor().clone())?;
        let peer = stream.peer_addr()?;
        Poll::Ready(Ok((stream, peer)))
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
