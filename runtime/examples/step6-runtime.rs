//! Step 6 of the guide (`runtime::guide::ch8_the_runtime`): the same echo
//! server on this crate's runtime, as two `async fn`s.
//!
//! ```text
//! cargo run -p runtime --example step6-runtime -- [--addr HOST:PORT] [--quiet]
//! RUNTIME_TRACE=1 cargo run -p runtime --example step6-runtime
//! ```
//!
//! It reads like step 1 (a loop that reads and writes back, one per
//! connection), and runs like step 5 (one thread, edge-triggered epoll,
//! each fd registered once): each connection is a task instead of a
//! thread, and where step 1's thread would sleep in `read`, the task
//! returns `Pending` and the thread runs other tasks or waits in
//! `epoll_wait`. With `RUNTIME_TRACE=1` the runtime prints its own steps
//! (each `epoll_wait`, each event, each task poll) on stderr, as step 4
//! does by hand.
//!
//! Prints `listening on ADDR` first, then a line per connection opened and
//! closed (`--quiet` keeps only the first line).

#![forbid(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{AcceptFailure, TcpListener, TcpStream};

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: step6-runtime [--addr HOST:PORT] [--quiet]";

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:6666";

/// How much one `read` may take from a connection.
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
            eprintln!("step6-runtime: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = runtime::block_on(serve(args.addr, args.quiet)) {
        eprintln!("step6-runtime: {}: {e}", args.addr);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Accepts connections for ever, each in a task of its own.
async fn serve(addr: SocketAddr, quiet: bool) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if AcceptFailure::of(&e) == AcceptFailure::Listener => return Err(e),
            Err(e) => {
                eprintln!("step6-runtime: accept: {e}");
                runtime::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        if !quiet {
            println!("new connection from {peer}");
        }
        runtime::spawn(async move {
            match echo(stream).await {
                Ok(()) if !quiet => println!("client {peer} closed"),
                Ok(()) => {}
                Err(e) => eprintln!("step6-runtime: {peer}: {e}"),
            }
        });
    }
}

/// Echoes everything `stream` sends until it closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    // Send each echo at once instead of waiting to fill a segment.
    stream.set_nodelay(true)?;
    let mut buf = vec![0; BUFFER_SIZE];
    loop {
        // Where step 1 slept, this task is parked on the socket.
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
