//! TCP on the reactor: [`TcpListener`] and [`TcpStream`].
//!
//! Each socket is created nonblocking and close-on-exec, and registered with
//! the runtime's reactor once, when it is created. Its `poll_*` methods try
//! the syscall first; only on `WouldBlock` do they clear the cached
//! readiness and park the task's waker until epoll reports the socket
//! ready again. A socket is tied to the runtime that created it: once that
//! runtime is dropped, an operation that would wait fails instead.

mod listener;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use stream::TcpStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr`, failing clearly if it names no address.
fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket addresses",
        ));
    }
    Ok(addrs)
}
