//! Step 2 of the guide (`runtime::guide::ch2_busy_polling`): nonblocking
//! sockets, asked in a loop that never sleeps.
//!
//! ```text
//! cargo run -p runtime --example step2-busy-poll -- [--addr HOST:PORT] [--quiet]
//! ```
//!
//! One thread serves every connection. Every socket is nonblocking, so a
//! `recv` with nothing to read returns at once with `EAGAIN` instead of
//! sleeping. The loop asks the listener for a new connection, then asks
//! every connection for data, and starts over at once. It never waits, so
//! it answers quickly, and it burns a whole core even when every client is
//! silent: watch it in `top`.
//!
//! Prints `listening on ADDR` first, then a line per connection opened and
//! closed (`--quiet` keeps only the first line).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::time::Duration;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step2-busy-poll [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `recv` may take from a connection.
const BUFFER_SIZE: usize = 16 * 1024;

/// How long to pause after a failed `accept` (out of file descriptors,
/// say) before trying again.
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
            eprintln!("step2-busy-poll: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = serve(&args) {
        eprintln!("step2-busy-poll: {}: {e}", args.addr);
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
    /// Echoed bytes the kernel had no room for yet. While there are any,
    /// the connection is not read, so it never holds more than one buffer.
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
}

/// Asks every socket in turn, for ever, without ever sleeping.
fn serve(args: &Args) -> io::Result<()> {
    // `std` binds and listens (setup, not the point here); from now on the
    // listener is nonblocking and every call is the raw one.
    let listener = TcpListener::bind(args.addr)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    let mut connections: Vec<Connection> = Vec::new();
    let mut buf = vec![0; BUFFER_SIZE];
    loop {
        // "Anyone new?" Almost always: no (EAGAIN).
        match accept(&listener) {
            Ok(stream) => match Connection::new(stream) {
                Ok(conn) => {
                    if !args.quiet {
                        println!("new connection from {}", conn.peer);
                    }
                    connections.push(conn);
                }
                // Reset before we got to it: nothing to serve.
                Err(e) => eprintln!("step2-busy-poll: new connection: {e}"),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                eprintln!("step2-busy-poll: accept: {e}");
                std::thread::sleep(ACCEPT_ERROR_PAUSE);
            }
        }
        // "Any data for me?" to every connection, whether or not it sent
        // anything: a syscall per connection per round.
        connections.retain_mut(|conn| match serve_once(conn, &mut buf) {
            Ok(true) => true,
            Ok(false) => {
                if !args.quiet {
                    println!("client {} closed", conn.peer);
                }
                false
            }
            Err(e) => {
                eprintln!("step2-busy-poll: {}: {e}", conn.peer);
                false
            }
        });
        // And straight back to the top: no sleep, no wait.
    }
}

/// Gives `conn` one chance: writes what is left of its echo, or else reads
/// and echoes what it sent. False once the client has closed.
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
        // Nothing yet: by far the most common answer.
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
