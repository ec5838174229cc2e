//! Step 1 of the guide (`runtime::guide::ch1_blocking`): blocking I/O, one
//! thread per connection.
//!
//! ```text
//! cargo run -p runtime --example step1-blocking -- [--addr HOST:PORT] [--quiet]
//! ```
//!
//! An echo server on 127.0.0.1:6666 (by default) written with nothing but
//! the standard library. Every `accept`, `read` and `write` blocks: the
//! calling thread sleeps in the kernel until there is a connection, data,
//! or room in the send buffer. A sleeping thread costs no CPU, but it can
//! wait for only one thing, so each connection gets a thread of its own.
//!
//! Prints `listening on ADDR` first, then a line per connection opened and
//! closed (`--quiet` keeps only the first line). Try it with
//! `cargo run -p echo-client`.

#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step1-blocking [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `read` may take from a connection.
const BUFFER_SIZE: usize = 16 * 1024;

/// How long to pause after a failed `accept` (out of file descriptors,
/// say) before trying again, so the error is not retried in a tight loop.
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
            eprintln!("step1-blocking: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = serve(&args) {
        eprintln!("step1-blocking: {}: {e}", args.addr);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Accepts connections for ever, each on a new thread.
fn serve(args: &Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr)?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        // Blocks until a client connects.
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("step1-blocking: accept: {e}");
                thread::sleep(ACCEPT_ERROR_PAUSE);
                continue;
            }
        };
        if !args.quiet {
            println!("new connection from {peer}");
        }
        let quiet = args.quiet;
        // The thread owns the connection: it sleeps in `read` whenever the
        // client is quiet, and nothing else ever looks at this socket.
        let spawned =
            thread::Builder::new()
                .name(format!("conn {peer}"))
                .spawn(move || match echo(stream) {
                    Ok(()) if !quiet => println!("client {peer} closed"),
                    Ok(()) => {}
                    Err(e) => eprintln!("step1-blocking: {peer}: {e}"),
                });
        if let Err(e) = spawned {
            // Out of threads (or memory): this client is dropped, the
            // server goes on.
            eprintln!("step1-blocking: no thread for {peer}: {e}");
        }
    }
}

/// Echoes everything `stream` sends until it closes its side.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    // Send each echo at once instead of waiting to fill a segment.
    stream.set_nodelay(true)?;
    let mut buf = vec![0; BUFFER_SIZE];
    loop {
        // Sleeps until the client sends something or closes.
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Sleeps until the kernel has taken all `n` bytes.
        stream.write_all(&buf[..n])?;
    }
}
