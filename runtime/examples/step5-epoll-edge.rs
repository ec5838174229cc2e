//! Step 5 of the guide (`runtime::guide::ch5_epoll_edge`): epoll,
//! edge-triggered: register once, drain until `EAGAIN`.
//!
//! ```text
//! cargo run -p runtime --example step5-epoll-edge -- [--addr HOST:PORT] [--quiet]
//! ```
//!
//! With `EPOLLET`, `epoll_wait` reports a *change*: data arrived, room
//! appeared. It does not report again while the fd merely stays ready. So
//! each fd is registered once, for reading and writing together, and never
//! modified; in exchange, whoever gets an event must keep going until the
//! kernel says `EAGAIN`, because bytes left behind bring no new event.
//!
//! The program remembers, per connection, which directions epoll said were
//! ready and no syscall has contradicted since (the same idea as the
//! runtime's cached readiness). That memory is what lets it stop early
//! without losing an edge: with an echo still unsent it does not read (the
//! peer is not taking its echo, and reading more would only pile bytes
//! up), and after a few dozen syscalls on one connection it moves on to
//! the others, so a client that never stops sending cannot starve them.
//! Either way the connection stays marked readable, and the loop comes
//! back to it without waiting for an event that would never come.
//!
//! Prints `listening on ADDR` first, then each wait, event and syscall
//! result; `--quiet` keeps only the first line.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step5-epoll-edge [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `recv` may take from a connection.
const BUFFER_SIZE: usize = 16 * 1024;

/// How many events one `epoll_wait` may return.
const MAX_EVENTS: usize = 64;

/// How many `recv`/`send` calls one connection gets per round before the
/// others have their turn.
const SYSCALLS_PER_ROUND: usize = 32;

/// How long to wait before retrying a failed `accept`.
const ACCEPT_RETRY_MS: libc::c_int = 100;

/// The listener's epoll token; connections use their fd number.
const LISTENER: u64 = u64::MAX;

/// What a connection is registered for, once: input, output and the
/// peer's half-close, edge-triggered.
const CONNECTION_EVENTS: libc::c_int =
    libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;

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
            eprintln!("step5-epoll-edge: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = serve(&args) {
        eprintln!("step5-epoll-edge: {}: {e}", args.addr);
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
    /// epoll said "readable" and no `recv` has said `EAGAIN` since.
    readable: bool,
    /// epoll said "writable" and no `send` has said `EAGAIN` since.
    writable: bool,
    /// The echo the kernel has not taken yet (at most one buffer).
    unsent: Vec<u8>,
}

/// What [`pump`] left a connection in.
enum Pumped {
    /// It cannot go on until epoll reports a new edge.
    Blocked,
    /// It used up its share of this round and may still have work: it
    /// goes on next round, whether or not an event comes.
    MoreToDo,
    /// The client has closed.
    Closed,
}

/// Sets up epoll and runs the event loop for ever.
fn serve(args: &Args) -> io::Result<()> {
    // `std` binds and listens (setup, not the point here); from now on the
    // listener is nonblocking and every call is the raw one.
    let listener = TcpListener::bind(args.addr)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    let quiet = args.quiet;
    let epoll = epoll_create()?;
    epoll_add(
        &epoll,
        listener.as_raw_fd(),
        LISTENER,
        libc::EPOLLIN | libc::EPOLLET,
    )?;

    let mut connections: HashMap<RawFd, Connection> = HashMap::new();
    let mut buf = vec![0; BUFFER_SIZE];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    // Connections to pump this round, and those with work left for the
    // next one.
    let (mut ready, mut unfinished): (Vec<RawFd>, Vec<RawFd>) = (Vec::new(), Vec::new());
    // Set when accept failed with connections still queued: no new edge
    // will announce them, so the loop must retry by itself.
    let mut accept_again = false;
    loop {
        // Work left over means: do not sleep.
        let timeout_ms = match (unfinished.is_empty(), accept_again) {
            (false, _) => 0,
            (true, true) => ACCEPT_RETRY_MS,
            (true, false) => -1,
        };
        say!(quiet, "waiting for activity...");
        let n = epoll_wait(&epoll, &mut events, timeout_ms)?;
        say!(quiet, "{n} event(s)");
        if accept_again {
            accept_again = accept_all(&epoll, &listener, &mut connections, quiet);
        }
        for event in &events[..n] {
            // Copied out: the kernel's struct is packed.
            let (token, mask) = (event.u64, event.events);
            if token == LISTENER {
                say!(
                    quiet,
                    "  listener: events {mask:#x}, accepting until EAGAIN"
                );
                accept_again = accept_all(&epoll, &listener, &mut connections, quiet);
                continue;
            }
            let fd = token as RawFd;
            if let Some(conn) = connections.get_mut(&fd) {
                say!(quiet, "  fd {fd}: events {mask:#x} ({})", describe(mask));
                // Remember what the edge said. Hang-up and error make both
                // directions ready, so the next syscall reports them.
                let gone = mask & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
                let input = mask & (libc::EPOLLIN | libc::EPOLLRDHUP) as u32 != 0;
                conn.readable |= input || gone;
                conn.writable |= mask & libc::EPOLLOUT as u32 != 0 || gone;
                ready.push(fd);
            }
        }
        ready.append(&mut unfinished);
        for fd in ready.drain(..) {
            // Listed twice (an event and left-over work), or closed already.
            let Some(conn) = connections.get_mut(&fd) else {
                continue;
            };
            match pump(conn, &mut buf, quiet) {
                Ok(Pumped::Blocked) => {}
                Ok(Pumped::MoreToDo) => unfinished.push(fd),
                Ok(Pumped::Closed) => {
                    say!(quiet, "  client {} closed", conn.peer);
                    // No EPOLL_CTL_DEL needed: this was the only fd for the
                    // socket, and closing it removes it from epoll.
                    connections.remove(&fd);
                }
                Err(e) => {
                    eprintln!("step5-epoll-edge: {}: {e}", conn.peer);
                    connections.remove(&fd);
                }
            }
        }
    }
}

/// Accepts until `EAGAIN`: one edge on the listener may stand for many
/// connections. Each is registered once, for everything, and never again.
/// True if accept failed with connections perhaps still queued (out of
/// file descriptors, say): the caller must try again later by itself.
fn accept_all(
    epoll: &OwnedFd,
    listener: &TcpListener,
    connections: &mut HashMap<RawFd, Connection>,
    quiet: bool,
) -> bool {
    loop {
        let stream = match accept(listener) {
            Ok(stream) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) => {
                eprintln!("step5-epoll-edge: accept: {e}");
                return true;
            }
        };
        let fd = stream.as_raw_fd();
        let watched = stream
            .set_nodelay(true)
            .and_then(|()| stream.peer_addr())
            .and_then(|peer| {
                epoll_add(epoll, fd, fd as u64, CONNECTION_EVENTS)?;
                Ok(peer)
            });
        match watched {
            Ok(peer) => {
                say!(quiet, "  new connection from {peer} on fd {fd}");
                let conn = Connection {
                    stream,
                    peer,
                    readable: false,
                    writable: false,
                    unsent: Vec::new(),
                };
                connections.insert(fd, conn);
            }
            // Reset before we got to it: dropping `stream` closes it.
            Err(e) => eprintln!("step5-epoll-edge: new connection: {e}"),
        }
    }
}

/// Moves bytes until the connection cannot go on without a new edge:
/// sends the pending echo while the socket takes it, reads while no echo
/// is pending, and stops at the first `EAGAIN`, or after
/// [`SYSCALLS_PER_ROUND`] calls so that a client that never stops sending
/// cannot keep the others waiting.
fn pump(conn: &mut Connection, buf: &mut [u8], quiet: bool) -> io::Result<Pumped> {
    let fd = conn.stream.as_raw_fd();
    for _ in 0..SYSCALLS_PER_ROUND {
        if !conn.unsent.is_empty() {
            if !conn.writable {
                say!(
                    quiet,
                    "  fd {fd}: {} B wait for room to send",
                    conn.unsent.len()
                );
                return Ok(Pumped::Blocked);
            }
            match send(fd, &conn.unsent) {
                Ok(n) => {
                    say!(quiet, "  sent {n} B to {}", conn.peer);
                    conn.unsent.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    say!(quiet, "  send: EAGAIN, the send buffer is full");
                    conn.writable = false;
                }
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Pumped::Closed),
                Err(e) => return Err(e),
            }
            continue;
        }
        if !conn.readable {
            return Ok(Pumped::Blocked);
        }
        match recv(fd, buf) {
            Ok(0) => return Ok(Pumped::Closed),
            Ok(n) => {
                say!(quiet, "  received {n} B from {}", conn.peer);
                conn.unsent.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                say!(quiet, "  recv: EAGAIN, drained; wait for the next edge");
                conn.readable = false;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Pumped::MoreToDo)
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

/// `epoll_ctl(2)` with `EPOLL_CTL_ADD`: watches `fd` for `events` under
/// `token`. The only `epoll_ctl` this program makes.
fn epoll_add(epoll: &OwnedFd, fd: RawFd, token: u64, events: libc::c_int) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: events as u32,
        u64: token,
    };
    // SAFETY: `event` is a valid epoll_event, which the kernel only reads
    // during the call; the fds are plain numbers to it.
    let rc = unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `epoll_wait(2)`: sleeps until an fd changes or `timeout_ms` passes (-1:
/// no limit), and says how many entries of `events` it filled (0 after a
/// timeout or a signal).
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
