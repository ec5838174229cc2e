//! Step 3 of the guide (`runtime::guide::ch3_poll`): `poll(2)`, the whole
//! set of fds handed to the kernel on every call.
//!
//! ```text
//! cargo run -p runtime --example step3-poll -- [--addr HOST:PORT] [--quiet]
//! ```
//!
//! One thread, nonblocking sockets, and a kernel call that sleeps until at
//! least one of them is ready. Each round builds the list of every fd and
//! what we want from it (read, or write while an echo is unfinished), gives
//! the whole list to `poll`, and then walks the whole list again to find
//! the ones it marked. No CPU is burnt while everybody is silent, but each
//! call costs time in proportion to the number of connections, busy or not.
//! (`select(2)` is the same idea with a fixed-size bit set, at most 1,024
//! fds.)
//!
//! Prints `listening on ADDR` first, then each `poll` call (how many fds it
//! was given and how many were ready) and each connection opened and
//! closed; `--quiet` keeps only the first line.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::time::Duration;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step3-poll [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `recv` may take from a connection.
const BUFFER_SIZE: usize = 16 * 1024;

/// How long to pause after a failed `accept` (out of file descriptors,
/// say): the listener stays ready, and asking again at once would spin.
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
            eprintln!("step3-poll: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = serve(&args) {
        eprintln!("step3-poll: {}: {e}", args.addr);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// One client.
struct Connection {
    /// The socket (nonblocking); `std` closes it on drop, the I/O below is
    /// raw syscalls.
    stream: TcpStream,
    /// Who it is, for the printouts.
    peer: SocketAddr,
    /// Echoed bytes the kernel had no room for yet. While there are any we
    /// ask `poll` for "writable" instead of "readable".
    unsent: Vec<u8>,
}

impl Connection {
    /// A freshly accepted client.
    fn new(stream: TcpStream) -> io::Result<Connection> {
        // Send each echo at once instead of waiting to fill a segment.
        stream.set_nodelay(true)?;
        Ok(Connection {
            peer: stream.peer_addr()?,
            stream,
            unsent: Vec::new(),
        })
    }

    /// What to ask `poll` to watch for on this connection.
    fn wanted(&self) -> libc::c_short {
        if self.unsent.is_empty() {
            libc::POLLIN
        } else {
            libc::POLLOUT
        }
    }
}

/// Sleeps in `poll` until something is ready, serves it, and repeats.
fn serve(args: &Args) -> io::Result<()> {
    // `std` binds and listens (setup, not the point here); from now on the
    // listener is nonblocking and every call is the raw one.
    let listener = TcpListener::bind(args.addr)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    let mut connections: Vec<Connection> = Vec::new();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut buf = vec![0; BUFFER_SIZE];
    loop {
        // 1. The whole set, rebuilt and handed over on every call: the
        //    kernel keeps nothing between calls.
        fds.clear();
        fds.push(pollfd(listener.as_raw_fd(), libc::POLLIN));
        fds.extend(
            connections
                .iter()
                .map(|c| pollfd(c.stream.as_raw_fd(), c.wanted())),
        );
        let ready = poll(&mut fds)?;
        if !args.quiet {
            println!("poll({} fds) -> {ready} ready", fds.len());
        }

        // 2. `poll` says how many are ready, not which: walk them all.
        let mut marks = fds[1..].iter().map(|fd| fd.revents);
        connections.retain_mut(|conn| {
            // `retain_mut` visits the connections in order, once each, in
            // the order their fds were listed.
            let revents = marks.next().unwrap_or(0);
            if revents == 0 {
                return true;
            }
            match serve_once(conn, &mut buf) {
                Ok(true) => true,
                Ok(false) => {
                    if !args.quiet {
                        println!("client {} closed", conn.peer);
                    }
                    false
                }
                Err(e) => {
                    eprintln!("step3-poll: {}: {e}", conn.peer);
                    false
                }
            }
        });

        // 3. The listener last, so the new connections join the next
        //    round's list.
        if fds[0].revents != 0 {
            accept_all(&listener, &mut connections, args.quiet);
        }
    }
}

/// Accepts every connection waiting on `listener`.
fn accept_all(listener: &TcpListener, connections: &mut Vec<Connection>, quiet: bool) {
    loop {
        match accept(listener) {
            Ok(stream) => match Connection::new(stream) {
                Ok(conn) => {
                    if !quiet {
                        println!("new connection from {}", conn.peer);
                    }
                    connections.push(conn);
                }
                // Reset before we got to it: nothing to serve.
                Err(e) => eprintln!("step3-poll: new connection: {e}"),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                eprintln!("step3-poll: accept: {e}");
                std::thread::sleep(ACCEPT_ERROR_PAUSE);
                return;
            }
        }
    }
}

/// Serves a connection `poll` marked: writes what is left of its echo, or
/// else reads and echoes what it sent. False once the client has closed.
fn serve_once(conn: &mut Connection, buf: &mut [u8]) -> io::Result<bool> {
    let fd = conn.stream.as_raw_fd();
    if !conn.unsent.is_empty() {
        match send(fd, &conn.unsent) {
            Ok(n) => drop(conn.unsent.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        return Ok(true);
    }
    let n = match recv(fd, buf) {
        Ok(0) => return Ok(false),
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
        Err(e) => return Err(e),
    };
    let sent = match send(fd, &buf[..n]) {
        Ok(sent) => sent,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    conn.unsent.extend_from_slice(&buf[sent..n]);
    Ok(true)
}

/// One entry of the list `poll` reads: an fd and the events wanted.
fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// `poll(2)` with no timeout: sleeps until at least one fd of `fds` is
/// ready, marks the ready ones' `revents`, and says how many there are.
fn poll(fds: &mut [libc::pollfd]) -> io::Result<usize> {
    let len = libc::nfds_t::try_from(fds.len()).expect("the fd count fits nfds_t");
    // SAFETY: `fds` is valid for reads and writes of `len` entries for the
    // call; the kernel writes only their `revents`.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), len, -1) };
    if n < 0 {
        let e = io::Error::last_os_error();
        // A signal (a tracer attaching, say) cut the sleep short: no fd is
        // marked, and the caller simply polls again.
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
