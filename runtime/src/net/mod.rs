//! Sockets on the reactor: TCP ([`TcpListener`], [`TcpStream`],
//! [`TcpSocket`]), UDP ([`UdpSocket`]) and Unix-domain sockets
//! ([`UnixListener`], [`UnixStream`], [`UnixDatagram`]).
//!
//! Each socket is created nonblocking and close-on-exec, and registered with
//! the runtime's reactor once, when it is created. Its `poll_*` methods try
//! the syscall first; only on `WouldBlock` do they clear the cached
//! readiness and park the task's waker until epoll reports the socket
//! ready again. A socket is tied to the runtime that created it: once that
//! runtime is dropped, an operation that would wait fails instead.

mod addr;
mod listener;
mod socket;
mod split;
mod stream;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use listener::{AcceptFailure, Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

/// TCP's helper types, where tokio keeps them (`tokio::net::tcp`): the
/// halves [`TcpStream::split`] and [`TcpStream::into_split`] return. They
/// are also re-exported from [`runtime::net`](crate::net) itself.
pub mod tcp {
    pub use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
}
