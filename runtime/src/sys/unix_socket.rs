//! Nonblocking, close-on-exec Unix-domain sockets (`AF_UNIX`): socket,
//! socketpair, bind, connect and accept4 on the addresses of
//! `std::os::unix::net::SocketAddr` (paths and the abstract namespace), and
//! the peer's credentials (`SO_PEERCRED`).
//!
//! `listen` and `SO_ERROR` are those of [`socket`](super::socket). Reads,
//! writes, addresses and shutdown go through `std::os::unix::net`, which
//! these fds become: std sends with `MSG_NOSIGNAL`, so a write to a closed
//! peer is an `EPIPE` error, never a `SIGPIPE`.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;

use super::syscall;

/// The kind of a Unix-domain socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnixKind {
    /// A byte stream (`SOCK_STREAM`).
    Stream,
    /// Datagrams that keep their boundaries (`SOCK_DGRAM`).
    Datagram,
}

impl UnixKind {
    /// The `SOCK_*` type, nonblocking and close-on-exec.
    fn socket_type(self) -> libc::c_int {
        let kind = match self {
            UnixKind::Stream => libc::SOCK_STREAM,
            UnixKind::Datagram => libc::SOCK_DGRAM,
        };
        kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
    }
}

/// Creates a nonblocking, close-on-exec Unix-domain socket of `kind`.
pub(crate) fn unix_socket(kind: UnixKind) -> io::Result<OwnedFd> {
    // SAFETY: `socket` takes plain integers.
    let fd = unsafe { syscall!(socket(libc::AF_UNIX, kind.socket_type(), 0)) }?;
    // SAFETY: `socket` succeeded, so `fd` is a fresh descriptor nobody owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a connected pair of nonblocking, close-on-exec Unix-domain
/// sockets of `kind`.
pub(crate) fn unix_pair(kind: UnixKind) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors the kernel writes.
    unsafe {
        syscall!(socketpair(
            libc::AF_UNIX,
            kind.socket_type(),
            0,
            fds.as_mut_ptr()
        ))
    }?;
    // SAFETY: `socketpair` succeeded, so both are fresh descriptors nobody
    // owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Binds `fd` to `addr`: a path (the kernel creates the socket file, and
/// fails with `AddrInUse` if the path exists) or an abstract name.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (sun, len) = to_sockaddr_un(addr)?;
    // SAFETY: `sun` is a valid `sockaddr_un` whose first `len` bytes hold
    // the address, for the whole call.
    unsafe {
        syscall!(bind(
            fd.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len
        ))
    }?;
    Ok(())
}

/// Connects `fd` to `addr`. A Unix-domain connect completes at once or
/// fails at once: `EAGAIN` (`WouldBlock`) means the listener's backlog is
/// full, `ECONNREFUSED` that nothing listens there (any more), `ENOENT`
/// that the path does not exist.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (sun, len) = to_sockaddr_un(addr)?;
    // SAFETY: `sun` is a valid `sockaddr_un` whose first `len` bytes hold
    // the address, for the whole call.
    unsafe {
        syscall!(connect(
            fd.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len
        ))
    }?;
    Ok(())
}

/// Accepts one connection as a nonblocking, close-on-exec socket. The
/// peer's address is left to `getpeername` (std's `peer_addr`), the only
/// way to build std's `SocketAddr`.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: null address pointers ask the kernel not to write the
    // peer's address at all.
    let conn = unsafe {
        syscall!(accept4(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags
        ))
    }?;
    // SAFETY: `accept4` succeeded, so `conn` is a fresh descriptor nobody
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(conn) })
}

/// The credentials of a Unix socket's peer, as the kernel recorded them
/// when it connected (or when the pair was created).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerCred {
    /// The peer's process id; 0 when it is not visible from this process's
    /// pid namespace.
    pub(crate) pid: i32,
    /// The peer's effective user id.
    pub(crate) uid: u32,
    /// The peer's effective group id.
    pub(crate) gid: u32,
}

/// The credentials of `fd`'s peer (`SO_PEERCRED`).
pub(crate) fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a live `ucred` and `len` its size; the kernel
    // writes at most that much.
    unsafe {
        syscall!(getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len
        ))
    }?;
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// Encodes `addr` as a `sockaddr_un` and the length to pass with it.
///
/// A path is copied with a terminating NUL; an abstract name follows a
/// leading NUL and its length is the address's (no terminator).
fn to_sockaddr_un(addr: &SocketAddr) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: all-zero bytes are a valid `sockaddr_un`.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let (name, skip, terminator) = if let Some(path) = addr.as_pathname() {
        (path.as_os_str().as_bytes(), 0, 1)
    } else if let Some(name) = addr.as_abstract_name() {
        (name, 1, 0)
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix socket address cannot be bound or connected to",
        ));
    };
    if skip + name.len() + terminator > sun.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a Unix socket address holds at most {} bytes, not {}",
                sun.sun_path.len() - terminator - skip,
                name.len()
            ),
        ));
    }
    for (slot, byte) in sun.sun_path[skip..].iter_mut().zip(name) {
        *slot = *byte as libc::c_char;
    }
    let len = offset_of!(libc::sockaddr_un, sun_path) + skip + name.len() + terminator;
    Ok((sun, len as libc::socklen_t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn abstract_addresses_bind_connect_and_accept() {
        let name = format!("runtime-sys-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = unix_socket(UnixKind::Stream).unwrap();
        bind(listener.as_fd(), &addr).unwrap();
        super::super::socket::listen(listener.as_fd(), 8).unwrap();
        let err = accept(listener.as_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        let client = unix_socket(UnixKind::Stream).unwrap();
        connect(client.as_fd(), &addr).unwrap();
        let conn = accept(listener.as_fd()).unwrap();
        let cred = peer_cred(conn.as_fd()).unwrap();
        assert_eq!(cred.pid as u32, std::process::id());
        let local = std::os::unix::net::UnixListener::from(listener)
            .local_addr()
            .unwrap();
        assert_eq!(local.as_abstract_name(), Some(name.as_bytes()));
    }

    #[test]
    fn unnamed_and_oversized_addresses_are_refused() {
        let (a, _b) = unix_pair(UnixKind::Datagram).unwrap();
        let unnamed = std::os::unix::net::UnixDatagram::from(a)
            .local_addr()
            .unwrap();
        assert!(unnamed.is_unnamed());
        let err = to_sockaddr_un(&unnamed).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

        let longest = SocketAddr::from_abstract_name([b'x'; 107]).unwrap();
        assert!(to_sockaddr_un(&longest).is_ok());
        let path = SocketAddr::from_pathname("/tmp/a").unwrap();
        let (sun, len) = to_sockaddr_un(&path).unwrap();
        assert_eq!(len as usize, offset_of!(libc::sockaddr_un, sun_path) + 7);
        assert_eq!(sun.sun_path[..7], [47, 116, 109, 112, 47, 97, 0]);
    }
}
