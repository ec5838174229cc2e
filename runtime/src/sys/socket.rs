//! Nonblocking, close-on-exec TCP and UDP sockets: socket, bind, listen,
//! accept4, connect (`EINPROGRESS`), `getsockname`, `SO_ERROR`,
//! `SO_LINGER`, multicast membership and the integer options of
//! [`SocketOption`]; and what an `accept` error means.
//!
//! Reads, writes, addresses and the other options go through
//! `std::net::TcpStream` / `TcpListener` / `UdpSocket`, which these fds
//! become: std sends
//! with `MSG_NOSIGNAL`, so a write to a reset peer is an `EPIPE` error, never
//! a `SIGPIPE`.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::syscall;

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The family of `addr`.
    pub(crate) fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }

    /// The `AF_*` constant.
    fn domain(self) -> libc::c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }
}

/// Creates a nonblocking, close-on-exec TCP socket for `addr`'s family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    tcp_socket_of(Family::of(addr))
}

/// Creates a nonblocking, close-on-exec TCP socket of `family`.
pub(crate) fn tcp_socket_of(family: Family) -> io::Result<OwnedFd> {
    socket_of(family, libc::SOCK_STREAM)
}

/// Creates a nonblocking, close-on-exec UDP socket of `family`.
pub(crate) fn udp_socket_of(family: Family) -> io::Result<OwnedFd> {
    socket_of(family, libc::SOCK_DGRAM)
}

/// Creates a nonblocking, close-on-exec socket of `family` and `kind`.
fn socket_of(family: Family, kind: libc::c_int) -> io::Result<OwnedFd> {
    let ty = kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `socket` takes plain integers.
    let fd = unsafe { syscall!(socket(family.domain(), ty, 0)) }?;
    // SAFETY: `socket` succeeded, so `fd` is a fresh descriptor nobody owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Lets a listener bind a port that has connections in `TIME_WAIT`.
pub(crate) fn set_reuseaddr(fd: BorrowedFd<'_>) -> io::Result<()> {
    set_option(fd, SocketOption::ReuseAddr, 1)
}

/// A socket option whose value is an integer (or a flag, 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketOption {
    /// `SO_REUSEADDR`: bind a port that has connections in `TIME_WAIT`.
    ReuseAddr,
    /// `SO_REUSEPORT`: several sockets bind one port; the kernel spreads
    /// connections (or datagrams) among them.
    ReusePort,
    /// `SO_SNDBUF`: the send buffer's size in bytes.
    SendBuffer,
    /// `SO_RCVBUF`: the receive buffer's size in bytes.
    RecvBuffer,
    /// `SO_KEEPALIVE`: probe an idle connection's peer.
    KeepAlive,
    /// `TCP_NODELAY`: no Nagle's algorithm.
    NoDelay,
    /// `SO_BROADCAST`: a datagram socket may send to a broadcast address.
    Broadcast,
    /// `IP_TTL`: the time-to-live of outgoing IPv4 packets.
    Ttl,
    /// `IP_MULTICAST_LOOP`: outgoing IPv4 multicast is looped back to
    /// this host's own members.
    MulticastLoopV4,
    /// `IP_MULTICAST_TTL`: the time-to-live of outgoing IPv4 multicast.
    MulticastTtlV4,
    /// `IPV6_MULTICAST_LOOP`: outgoing IPv6 multicast is looped back.
    MulticastLoopV6,
}

impl SocketOption {
    /// The `(level, name)` pair `setsockopt` takes.
    fn level_and_name(self) -> (libc::c_int, libc::c_int) {
        match self {
            SocketOption::ReuseAddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
            SocketOption::ReusePort => (libc::SOL_SOCKET, libc::SO_REUSEPORT),
            SocketOption::SendBuffer => (libc::SOL_SOCKET, libc::SO_SNDBUF),
            SocketOption::RecvBuffer => (libc::SOL_SOCKET, libc::SO_RCVBUF),
            SocketOption::KeepAlive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            SocketOption::NoDelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
            SocketOption::Broadcast => (libc::SOL_SOCKET, libc::SO_BROADCAST),
            SocketOption::Ttl => (libc::IPPROTO_IP, libc::IP_TTL),
            SocketOption::MulticastLoopV4 => (libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP),
            SocketOption::MulticastTtlV4 => (libc::IPPROTO_IP, libc::IP_MULTICAST_TTL),
            SocketOption::MulticastLoopV6 => (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP),
        }
    }
}

/// Sets an integer socket option.
pub(crate) fn set_option(fd: BorrowedFd<'_>, option: SocketOption, value: i32) -> io::Result<()> {
    let (level, name) = option.level_and_name();
    setsockopt(fd, level, name, value as libc::c_int)
}

/// Reads an integer socket option.
pub(crate) fn option(fd: BorrowedFd<'_>, option: SocketOption) -> io::Result<i32> {
    let (level, name) = option.level_and_name();
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` is a live c_int and `len` its size; the kernel writes
    // at most that much.
    unsafe {
        syscall!(getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len
        ))
    }?;
    Ok(value)
}

/// The address `fd` is bound to (`getsockname`).
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` has room for any address and `len` says how much;
    // the kernel writes at most `len` bytes and updates `len`.
    unsafe {
        syscall!(getsockname(
            fd.as_raw_fd(),
            storage.as_mut_ptr().cast(),
            &mut len
        ))
    }?;
    // SAFETY: zeroed storage is a valid `sockaddr_storage`, and the kernel
    // filled in the address part.
    let storage = unsafe { storage.assume_init() };
    from_sockaddr(&storage, len)
}

/// Whether a multicast membership change joins or leaves the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Membership {
    /// `IP_ADD_MEMBERSHIP` / `IPV6_ADD_MEMBERSHIP`.
    Join,
    /// `IP_DROP_MEMBERSHIP` / `IPV6_DROP_MEMBERSHIP`.
    Leave,
}

/// Joins or leaves the IPv4 multicast `group` on the interface whose
/// address is `interface` (`0.0.0.0`: the kernel picks one).
pub(crate) fn multicast_v4(
    fd: BorrowedFd<'_>,
    change: Membership,
    group: Ipv4Addr,
    interface: Ipv4Addr,
) -> io::Result<()> {
    let request = libc::ip_mreq {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from_ne_bytes(group.octets()),
        },
        imr_interface: libc::in_addr {
            s_addr: u32::from_ne_bytes(interface.octets()),
        },
    };
    let name = match change {
        Membership::Join => libc::IP_ADD_MEMBERSHIP,
        Membership::Leave => libc::IP_DROP_MEMBERSHIP,
    };
    setsockopt(fd, libc::IPPROTO_IP, name, request)
}

/// Joins or leaves the IPv6 multicast `group` on the interface of index
/// `interface` (0: the kernel picks one).
pub(crate) fn multicast_v6(
    fd: BorrowedFd<'_>,
    change: Membership,
    group: &Ipv6Addr,
    interface: u32,
) -> io::Result<()> {
    let request = libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: interface as libc::c_uint,
    };
    let name = match change {
        Membership::Join => libc::IPV6_ADD_MEMBERSHIP,
        Membership::Leave => libc::IPV6_DROP_MEMBERSHIP,
    };
    setsockopt(fd, libc::IPPROTO_IPV6, name, request)
}

/// What an `accept` error means for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptErrorClass {
    /// The listener itself is unusable (`EBADF`, `EINVAL`: not listening,
    /// `ENOTSOCK`, `EOPNOTSUPP`, `EFAULT`).
    Listener,
    /// The process or the system is out of descriptors or memory
    /// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): back off, retry.
    Resources,
    /// Only the connection being accepted failed (reset while queued,
    /// refused by a firewall, a protocol error): accept the next one.
    Connection,
}

/// Sorts an `accept4` error.
pub(crate) fn classify_accept_error(e: &io::Error) -> AcceptErrorClass {
    match e.raw_os_error() {
        Some(libc::EBADF | libc::EFAULT | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP) => {
            AcceptErrorClass::Listener
        }
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            AcceptErrorClass::Resources
        }
        _ => AcceptErrorClass::Connection,
    }
}

/// Sets `SO_LINGER`: `Some(Duration::ZERO)` makes close send a reset.
pub(crate) fn set_linger(fd: BorrowedFd<'_>, linger: Option<Duration>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: linger.is_some() as libc::c_int,
        l_linger: linger.map_or(0, |d| {
            d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int
        }),
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, value)
}

/// Binds `fd` to `addr`.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for the call.
    unsafe {
        syscall!(bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len
        ))
    }?;
    Ok(())
}

/// Marks `fd` as a listening socket.
pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: `fd` is open for the call; `listen` takes plain integers.
    unsafe { syscall!(listen(fd.as_raw_fd(), backlog)) }?;
    Ok(())
}

/// Accepts one connection as a nonblocking, close-on-exec socket.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, SocketAddr)> {
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `storage` has room for any address and `len` says how much;
    // the kernel writes at most `len` bytes and updates `len`.
    let conn = unsafe {
        syscall!(accept4(
            fd.as_raw_fd(),
            storage.as_mut_ptr().cast(),
            &mut len,
            flags
        ))
    }?;
    // SAFETY: `accept4` succeeded, so `conn` is a fresh descriptor nobody owns.
    let conn = unsafe { OwnedFd::from_raw_fd(conn) };
    // SAFETY: zeroed storage is a valid `sockaddr_storage`, and the kernel
    // filled in the address part.
    let storage = unsafe { storage.assume_init() };
    let addr = from_sockaddr(&storage, len)?;
    Ok((conn, addr))
}

/// Starts connecting `fd` to `addr`.
///
/// Returns `Ok(true)` when the connection completed at once and `Ok(false)`
/// when it is in progress (`EINPROGRESS`): wait for writability, then read
/// [`take_error`].
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<bool> {
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for the call.
    let res = unsafe {
        syscall!(connect(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len
        ))
    };
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads and clears the socket's pending error (`SO_ERROR`).
pub(crate) fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` is a live c_int and `len` its size; the kernel writes
    // at most that much.
    unsafe {
        syscall!(getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut value as *mut libc::c_int).cast(),
            &mut len
        ))
    }?;
    Ok((value != 0).then(|| io::Error::from_raw_os_error(value)))
}

/// Sets one socket option whose value is a plain struct or integer.
fn setsockopt<T: Copy>(fd: BorrowedFd<'_>, level: i32, name: i32, value: T) -> io::Result<()> {
    // SAFETY: `value` is a live `T` of exactly the size we pass, and the
    // callers pick `T` to match what the kernel expects for `name`.
    unsafe {
        syscall!(setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const T).cast(),
            size_of::<T>() as libc::socklen_t
        ))
    }?;
    Ok(())
}

/// Encodes `addr` as a `sockaddr_in` or `sockaddr_in6` inside a storage.
pub(crate) fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for any
            // sockaddr, including `sockaddr_in`.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for any
            // sockaddr, including `sockaddr_in6`.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Decodes an IPv4 or IPv6 address the kernel wrote into `storage`.
pub(crate) fn from_sockaddr(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> io::Result<SocketAddr> {
    let len = len as usize;
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, and
            // the storage is aligned for it.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a `sockaddr_in6`,
            // and the storage is aligned for it.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the kernel returned an address of unexpected family {family} ({len} bytes)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn addresses_round_trip_through_sockaddr() {
        for text in ["127.0.0.1:6666", "[::1]:80", "[fe80::1%2]:9", "0.0.0.0:0"] {
            let addr: SocketAddr = text.parse().unwrap();
            let (storage, len) = to_sockaddr(&addr);
            assert_eq!(from_sockaddr(&storage, len).unwrap(), addr);
        }
    }

    #[test]
    fn listen_accept_and_connect_over_loopback() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listener = tcp_socket(&addr).unwrap();
        bind(listener.as_fd(), &addr).unwrap();
        listen(listener.as_fd(), 8).unwrap();
        let bound = std::net::TcpListener::from(listener.try_clone().unwrap())
            .local_addr()
            .unwrap();

        let err = accept(listener.as_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        let client = tcp_socket(&bound).unwrap();
        let _ = connect(client.as_fd(), &bound).unwrap();
        // Loopback completes the handshake within a few milliseconds.
        let (conn, peer) = (0..5_000)
            .find_map(|_| match accept(listener.as_fd()) {
                Ok(pair) => Some(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                    None
                }
                Err(e) => panic!("accept: {e}"),
            })
            .expect("the connection never reached the listener");
        let client_local = std::net::TcpStream::from(client).local_addr().unwrap();
        assert_eq!(peer, client_local);
        assert!(take_error(conn.as_fd()).unwrap().is_none());
    }
}
