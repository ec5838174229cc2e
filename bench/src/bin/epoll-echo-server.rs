//! `epoll-echo-server`: the floor for the benchmarks. A hand-written,
//! single-threaded, edge-triggered epoll loop in plain `libc`, with no
//! runtime at all: what an echo costs when nothing but the syscalls and a
//! few branches stand between the kernel and the bytes.
//!
//! ```text
//! epoll-echo-server [--addr HOST:PORT] [--quiet] [--nodelay]
//! ```
//!
//! Prints `listening on <addr>` first on stdout, like the other servers.
//! Correct for the benchmark's peers, not hardened: bytes a peer does not
//! read are buffered per connection without limit, and a connection that
//! fails is simply closed. Exits on SIGTERM or SIGINT (the default action).

use std::io::{self, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

/// Events fetched per `epoll_wait`.
const MAX_EVENTS: usize = 1024;
/// The one read buffer, shared by every connection.
const BUFFER_SIZE: usize = 16 * 1024;
/// The listener's epoll data word; connections use their fd number.
const LISTENER: u64 = u64::MAX;

/// One connection: its socket, and echoed bytes the kernel has not taken.
struct Connection {
    /// Closed on drop, which also removes it from epoll.
    fd: OwnedFd,
    /// Bytes read but not yet written back (a peer that does not read).
    unsent: Vec<u8>,
}

/// The result of a raw syscall as `io::Result`.
fn check(result: isize) -> io::Result<usize> {
    usize::try_from(result).map_err(|_| io::Error::last_os_error())
}

/// Watches `fd` under `token`, edge-triggered for input and output.
fn watch(epoll: RawFd, fd: RawFd, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
        u64: token,
    };
    // SAFETY: both fds are open; `event` is a valid, initialised
    // epoll_event that the kernel only reads during the call.
    let rc = unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) };
    check(rc as isize).map(drop)
}

/// Accepts every pending connection.
fn accept_all(
    epoll: RawFd,
    listener: &TcpListener,
    conns: &mut Vec<Option<Connection>>,
    quiet: bool,
    nodelay: bool,
) {
    loop {
        // SAFETY: the listener fd is open; null address pointers ask for
        // no peer address, which accept4 allows.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock && !quiet {
                eprintln!("epoll-echo-server: accept: {err}");
            }
            return;
        }
        // SAFETY: accept4 just returned this fd, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if nodelay {
            let on: libc::c_int = 1;
            // SAFETY: the fd is an open TCP socket; the pointer and length
            // describe `on`, live for the call. A failure leaves Nagle on.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&on as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }
        let raw = fd.as_raw_fd();
        if watch(epoll, raw, raw as u64).is_ok() {
            let index = raw as usize;
            if conns.len() <= index {
                conns.resize_with(index + 1, || None);
            }
            conns[index] = Some(Connection {
                fd,
                unsent: Vec::new(),
            });
        }
    }
}

/// Echoes what `conn` has to read; false when the connection is done.
///
/// A short read usually proves the socket drained, so the loop stops there
/// and waits for the next edge. Not once the peer's FIN has arrived
/// (`read_closed`, from `EPOLLRDHUP`): a read that ends at the FIN consumes
/// it and returns short, no further edge comes, and only one more read
/// sees the end of the stream.
fn echo(conn: &mut Connection, buf: &mut [u8], read_closed: bool) -> bool {
    let fd = conn.fd.as_raw_fd();
    if !conn.unsent.is_empty() {
        match write_out(fd, &conn.unsent) {
            Ok(n) => drop(conn.unsent.drain(..n)),
            Err(_) => return false,
        }
        if !conn.unsent.is_empty() {
            return true; // wait for EPOLLOUT before reading more
        }
    }
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = match check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
        };
        match write_out(fd, &buf[..n]) {
            Ok(sent) if sent < n => {
                conn.unsent.extend_from_slice(&buf[sent..n]);
                return true; // the peer is not reading: wait for EPOLLOUT
            }
            Ok(_) => {}
            Err(_) => return false,
        }
        if n < buf.len() && !read_closed {
            return true; // drained: edge-triggered epoll reports new data
        }
    }
}

/// Writes as much of `data` as the kernel takes before it would block.
fn write_out(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    let mut sent = 0;
    while sent < data.len() {
        let rest = &data[sent..];
        // SAFETY: `rest` is valid for reads of `rest.len()` bytes.
        let rc = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        match check(rc) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Serves forever (or until an epoll error).
fn serve(listener: TcpListener, quiet: bool, nodelay: bool) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: plain syscall; the result is checked before use.
    let epoll = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as isize)?;
    // SAFETY: epoll_create1 just returned this fd, and nothing else owns it.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll as RawFd) };
    watch(epoll.as_raw_fd(), listener.as_raw_fd(), LISTENER)?;
    // Indexed by fd number: the kernel hands out the lowest free one.
    let mut conns: Vec<Option<Connection>> = Vec::new();
    let mut buf = vec![0; BUFFER_SIZE];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    loop {
        // SAFETY: `events` is valid for MAX_EVENTS entries.
        let rc = unsafe {
            libc::epoll_wait(
                epoll.as_raw_fd(),
                events.as_mut_ptr(),
                MAX_EVENTS as i32,
                -1,
            )
        };
        let ready = match check(rc as isize) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for event in &events[..ready] {
            let token = event.u64;
            if token == LISTENER {
                accept_all(epoll.as_raw_fd(), &listener, &mut conns, quiet, nodelay);
                continue;
            }
            let read_closed =
                event.events & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
            let slot = conns.get_mut(token as usize);
            if let Some(slot @ Some(_)) = slot {
                let done = slot
                    .as_mut()
                    .is_some_and(|conn| !echo(conn, &mut buf, read_closed));
                if done {
                    *slot = None;
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let args = bench::server_args::from_env("epoll-echo-server");
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("epoll-echo-server: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => {
            eprintln!("epoll-echo-server: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = io::stdout().flush();
    match serve(listener, args.quiet, args.nodelay) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epoll-echo-server: {e}");
            ExitCode::FAILURE
        }
    }
}
