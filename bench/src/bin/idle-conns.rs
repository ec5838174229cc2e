//! `idle-conns`: opens many TCP connections to a server and holds them open,
//! idle, until stdin closes. The memory measurement uses it to see what an
//! idle connection costs a server: one that never sent anything, or (with
//! `--echo`) one that echoed a few bytes once and then went quiet.
//!
//! ```text
//! idle-conns --addr HOST:PORT [--conns N] [--echo BYTES]
//! ```
//!
//! With `--echo BYTES`, each connection sends BYTES bytes right after it
//! connects and reads the whole echo back (checked byte for byte) before
//! the next connection opens; without it, connections send nothing.
//! Prints `holding N connections` on stdout once all are connected (and
//! echoed), then waits for EOF on stdin and exits, closing them all. Raise
//! the fd limit (`ulimit -n`) first for more than about 1,000.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// The usage line printed for `--help` and bad arguments.
const USAGE: &str = "usage: idle-conns --addr HOST:PORT [--conns N] [--echo BYTES]";

/// At most this many connections (`--conns`).
const MAX_CONNS: usize = 1_000_000;

/// At most this many bytes echoed per connection (`--echo`): a few
/// segments, enough to make a server allocate whatever it allocates on
/// the first data.
const MAX_ECHO: usize = 64 * 1024;

/// How long one echo may take before the helper gives up.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do.
struct Args {
    /// The server.
    addr: String,
    /// Connections to open.
    conns: usize,
    /// Bytes each connection echoes once (0: none).
    echo: usize,
}

/// Parses `--addr HOST:PORT`, `--conns N` (default 10,000) and
/// `--echo BYTES` (default 0), each number within its bound.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = None;
    let mut conns = 10_000;
    let mut echo = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = Some(args.next().ok_or("--addr needs HOST:PORT")?),
            "--conns" => conns = number(args.next(), "--conns", 1, MAX_CONNS)?,
            "--echo" => echo = number(args.next(), "--echo", 0, MAX_ECHO)?,
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        addr: addr.ok_or("--addr is required")?,
        conns,
        echo,
    })
}

/// The value of option `name`, a number in `min..=max`.
fn number(value: Option<String>, name: &str, min: usize, max: usize) -> Result<usize, String> {
    let text = value.ok_or_else(|| format!("{name} needs a number"))?;
    match text.parse() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name} must be a number from {min} to {max}, not {text:?}"
        )),
    }
}

/// Sends `len` bytes on `stream` and reads back exactly as many, which
/// must be the same.
fn echo_once(stream: &mut TcpStream, len: usize, seed: usize) -> Result<(), String> {
    let data: Vec<u8> = (0..len).map(|i| (i ^ seed) as u8).collect();
    stream
        .set_read_timeout(Some(ECHO_TIMEOUT))
        .and_then(|()| stream.write_all(&data))
        .map_err(|e| format!("sending: {e}"))?;
    let mut back = vec![0; len];
    stream
        .read_exact(&mut back)
        .map_err(|e| format!("reading the echo: {e}"))?;
    if back != data {
        return Err("the echo differs from what was sent".to_string());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("idle-conns: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut held = Vec::with_capacity(args.conns);
    for i in 0..args.conns {
        let mut stream = match TcpStream::connect(&args.addr) {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("idle-conns: connection {i} to {}: {e}", args.addr);
                return ExitCode::FAILURE;
            }
        };
        if args.echo > 0 {
            if let Err(e) = echo_once(&mut stream, args.echo, i) {
                eprintln!("idle-conns: connection {i} to {}: {e}", args.addr);
                return ExitCode::FAILURE;
            }
        }
        held.push(stream);
    }
    println!("holding {} connections", held.len());
    let _ = std::io::stdout().flush();
    // Wait for EOF (or an error) on stdin; the connections stay idle.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}
