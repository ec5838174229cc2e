//! Step 4 of the guide (`runtime::guide::ch4_epoll_level`): epoll,
//! level-triggered, with the interest switched for every message.
//!
//! ```text
//! cargo run -p runtime --example step4-epoll-level -- [--addr HOST:PORT] [--quiet]
//! ```
//!
//! The kernel now keeps the set of watched fds (the interest list) between
//! calls, and `epoll_wait` returns only the fds that are ready. This is the
//! classic epoll echo server:
//!
//! * the listener and every connection are watched for `EPOLLIN`;
//! * when a connection is readable, one `recv` takes what it sent, and its
//!   interest is switched to `EPOLLOUT` (`EPOLL_CTL_MOD`);
//! * when it is writable, the echo is sent, and the interest goes back to
//!   `EPOLLIN`.
//!
//! Level-triggered means `epoll_wait` reports an fd for as long as it *is*
//! ready, on every call. That is why the interest has to change: a socket
//! is writable nearly all the time, so watching every socket for
//! `EPOLLOUT` for good would make every `epoll_wait` return at once.
//!
//! It prints each step as it goes: waiting, how many events came, each
//! fd with its event mask, new connections, data received and sent, and
//! clients closing. `--quiet` keeps only the first line,
//! `listening on ADDR`.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::time::Duration;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step4-epoll-level [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `recv` may take from a connection.
const BUFFER_SIZE: usize = 16 * 1024;

/// How many events one `epoll_wait` may return.
const MAX_EVENTS: usize = 64;

/// How long `epoll_wait` waits before saying that nothing happened.
const WAIT_TIMEOUT_MS: libc::c_int = 10_000;

/// How many bytes of each message the printout shows.
const PREVIEW: usize = 40;

/// How long to pause after a failed `accept` (out of file descriptors,
/// say): level-triggered, the listener stays ready, and asking again at
/// once would spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The command line.
struct Args {
    /// The address to listen on.
    addr: SocketAddr,
    /// Print only the address line.
    quiet: bool,
}

/// Parses `--addr HOST:PORT` (HOST an IP address, PORT 0 to 65535; 0 picks
/// a free port) and `--quiet`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = DEFAULT_ADDR.parse().expect("the default address parses");
    let mut quiet = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs HOST:PORT")?;
                addr = value.parse().map_err(|_| {
                    format!("--addr {value:?} is not IP:PORT with a port up to 65535")
                })?;
            }
            "--quiet" => quiet = true,
            "--help" | "-h" => return Err(String::new()),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args { addr, quiet })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("step4-epoll-level: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = serve(&args) {
        eprintln!("step4-epoll-level: {}: {e}", args.addr);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Prints one step, unless `--quiet`.
macro_rules! say {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet {
            println!($($arg)*);
        }
    };
}

/// One client.
struct Connection {
    /// The socket (nonblocking); `std` closes it on drop, the I/O below is
    /// raw syscalls.
    stream: TcpStream,
    /// Who it is, for the printouts.
    peer: SocketAddr,
    /// The echo still to send. Not empty exactly while the connection is
    /// watched for `EPOLLOUT` instead of `EPOLLIN`.
    unsent: Vec<u8>,
}

/// The server's state: epoll, the listener, and the connections by fd.
struct Server {
    /// The epoll instance.
    epoll: OwnedFd,
    /// The listening socket, nonblocking.
    listener: TcpListener,
    /// Every client, under its fd number, which is also its epoll token.
    connections: HashMap<RawFd, Connection>,
    /// The buffer every `recv` reads into.
    buf: Vec<u8>,
    /// `--quiet`.
    quiet: bool,
}

/// Sets up epoll and runs the event loop for ever.
fn serve(args: &Args) -> io::Result<()> {
    // `std` binds and listens (setup, not the point here); from now on the
    // listener is nonblocking and every call is the raw one.
    let listener = TcpListener::bind(args.addr)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    let mut server = Server {
        epoll: epoll_create()?,
        listener,
        connections: HashMap::new(),
        buf: vec![0; BUFFER_SIZE],
        quiet: args.quiet,
    };
    let listener_fd = server.listener.as_raw_fd();
    epoll_ctl(
        &server.epoll,
        libc::EPOLL_CTL_ADD,
        listener_fd,
        libc::EPOLLIN,
    )?;

    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    loop {
        say!(server.quiet, "waiting for activity...");
        let n = epoll_wait(&server.epoll, &mut events, WAIT_TIMEOUT_MS)?;
        if n == 0 {
            say!(
                server.quiet,
                "no activity for {WAIT_TIMEOUT_MS} ms, waiting again"
            );
            continue;
        }
        say!(server.quiet, "{n} event(s), handling them");
        for event in &events[..n] {
            // Copied out: the kernel's struct is packed.
            let (fd, mask) = (event.u64 as RawFd, event.events);
            say!(
                server.quiet,
                "  fd {fd}: events {mask:#x} ({})",
                describe(mask)
            );
            if fd == listener_fd {
                server.accept_one();
            } else {
                server.serve_one(fd);
            }
        }
    }
}

impl Server {
    /// The listener is readable: accepts one connection and watches it
    /// for `EPOLLIN`. (If more are waiting, level-triggered epoll reports
    /// the listener again on the next wait.)
    fn accept_one(&mut self) {
        let stream = match accept(&self.listener) {
            Ok(stream) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                eprintln!("step4-epoll-level: accept: {e}");
                std::thread::sleep(ACCEPT_ERROR_PAUSE);
                return;
            }
        };
        let fd = stream.as_raw_fd();
        let watched = stream
            .set_nodelay(true)
            .and_then(|()| stream.peer_addr())
            .and_then(|peer| {
                epoll_ctl(&self.epoll, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN)?;
                Ok(peer)
            });
        match watched {
            Ok(peer) => {
                say!(
                    self.quiet,
                    "  new connection from {peer} on fd {fd}, watching EPOLLIN"
                );
                let unsent = Vec::new();
                self.connections.insert(
                    fd,
                    Connection {
                        stream,
                        peer,
                        unsent,
                    },
                );
            }
            // Reset before we got to it: dropping `stream` closes it.
            Err(e) => eprintln!("step4-epoll-level: new connection: {e}"),
        }
    }

    /// Connection `fd` is ready. While it has no echo pending it is watched
    /// for `EPOLLIN` (read), otherwise for `EPOLLOUT` (write); hang-ups
    /// and errors come with either, and the syscall reports them.
    fn serve_one(&mut self, fd: RawFd) {
        let Some(conn) = self.connections.get_mut(&fd) else {
            return;
        };
        let result = if conn.unsent.is_empty() {
            receive(&self.epoll, conn, &mut self.buf, self.quiet)
        } else {
            send_echo(&self.epoll, conn, self.quiet)
        };
        let open = match result {
            Ok(open) => open,
            Err(e) => {
                eprintln!("step4-epoll-level: {}: {e}", conn.peer);
                false
            }
        };
        if !open {
            say!(
                self.quiet,
                "  client {} closed, fd {fd} unwatched",
                conn.peer
            );
            // Unwatch it before the fd is closed (dropping the stream).
            let _ = epoll_ctl(&self.epoll, libc::EPOLL_CTL_DEL, fd, 0);
            self.connections.remove(&fd);
        }
    }
}

/// Reads what the client sent and switches its interest to `EPOLLOUT`.
/// False once the client has closed.
fn receive(
    epoll: &OwnedFd,
    conn: &mut Connection,
    buf: &mut [u8],
    quiet: bool,
) -> io::Result<bool> {
    let fd = conn.stream.as_raw_fd();
    let n = match recv(fd, buf) {
        Ok(0) => return Ok(false),
        Ok(n) => n,
        // Readiness can be stale by the time we act on it: wait again.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
        Err(e) => return Err(e),
    };
    say!(
        quiet,
        "  received {n} B from {}: {}",
        conn.peer,
        preview(&buf[..n])
    );
    conn.unsent.extend_from_slice(&buf[..n]);
    epoll_ctl(epoll, libc::EPOLL_CTL_MOD, fd, libc::EPOLLOUT)?;
    say!(quiet, "  fd {fd} now watched for EPOLLOUT");
    Ok(true)
}

/// Sends the pending echo; once all of it is sent, switches the interest
/// back to `EPOLLIN`. False if the client has gone.
fn send_echo(epoll: &OwnedFd, conn: &mut Connection, quiet: bool) -> io::Result<bool> {
    let fd = conn.stream.as_raw_fd();
    let n = match send(fd, &conn.unsent) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(false),
        Err(e) => return Err(e),
    };
    conn.unsent.drain(..n);
    if !conn.unsent.is_empty() {
        say!(
            quiet,
            "  sent {n} B to {}, {} B still to send",
            conn.peer,
            conn.unsent.len()
        );
        return Ok(true);
    }
    say!(quiet, "  sent {n} B to {}", conn.peer);
    epoll_ctl(epoll, libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN)?;
    say!(quiet, "  fd {fd} now watched for EPOLLIN");
    Ok(true)
}

/// The names of the bits set in an epoll event mask.
fn describe(mask: u32) -> String {
    let names = [
        (libc::EPOLLIN, "EPOLLIN"),
        (libc::EPOLLOUT, "EPOLLOUT"),
        (libc::EPOLLRDHUP, "EPOLLRDHUP"),
        (libc::EPOLLHUP, "EPOLLHUP"),
        (libc::EPOLLERR, "EPOLLERR"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| mask & *bit as u32 != 0)
        .map(|(_, name)| *name)
        .collect();
    set.join("|")
}

/// The start of a message, quoted, for the printout.
fn preview(bytes: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(PREVIEW)]);
    let more = if bytes.len() > PREVIEW { "..." } else { "" };
    format!("{shown:?}{more}")
}

/// `epoll_create1(2)`: a new, empty epoll instance.
fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 takes only a flag word.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: epoll_create1 just returned this fd, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `epoll_ctl(2)`: adds (`EPOLL_CTL_ADD`), changes (`EPOLL_CTL_MOD`) or
/// removes (`EPOLL_CTL_DEL`) the interest in `fd`; the fd number is the
/// token `epoll_wait` hands back. Without `EPOLLET`: level-triggered.
fn epoll_ctl(epoll: &OwnedFd, op: libc::c_int, fd: RawFd, events: libc::c_int) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: events as u32,
        u64: fd as u64,
    };
    // SAFETY: `event` is a valid epoll_event, which the kernel only reads
    // during the call; the fds are plain numbers to it.
    let rc = unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd, &mut event) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `epoll_wait(2)`: sleeps until an fd is ready or `timeout_ms` passes, and
/// says how many entries of `events` it filled (0 after a timeout or a
/// signal).
fn epoll_wait(
    epoll: &OwnedFd,
    events: &mut [libc::epoll_event],
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    let capacity = libc::c_int::try_from(events.len()).expect("MAX_EVENTS fits a c_int");
    // SAFETY: `events` is valid for writes of `capacity` entries for the
    // call, and the kernel writes at most that many.
    let n =
        unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), capacity, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(n as usize)
}

/// `accept4(2)`: a new connection, already nonblocking, or `WouldBlock`
/// (EAGAIN) if nobody is waiting.
fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: null address pointers ask for no peer address, which
    // accept4 allows; it only reads the listener's fd number.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: accept4 just returned this fd, open, and nothing else owns it.
    Ok(TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `recv(2)` on a nonblocking socket: `WouldBlock` (EAGAIN) when there is
/// nothing to read, `Ok(0)` when the peer has closed its side.
fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `send(2)` on a nonblocking socket: how many bytes the kernel took, or
/// `WouldBlock` (EAGAIN) when its buffer is full. `MSG_NOSIGNAL`: a peer
/// that has gone is an error (EPIPE), not a SIGPIPE.
fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the call.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
