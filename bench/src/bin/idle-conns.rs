//! `idle-conns`: opens many TCP connections to a server and holds them open,
//! idle, until stdin closes. The memory measurement uses it to see what an
//! idle connection costs a server.
//!
//! ```text
//! idle-conns --addr HOST:PORT [--conns N]
//! ```
//!
//! Prints `holding N connections` on stdout once all are connected, then
//! waits for EOF on stdin and exits, closing them all. Raise the fd limit
//! (`ulimit -n`) first for more than about 1,000.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// The usage line printed for `--help` and bad arguments.
const USAGE: &str = "usage: idle-conns --addr HOST:PORT [--conns N]";

/// Parses `--addr HOST:PORT` and `--conns N` (default 10,000).
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(String, usize), String> {
    let mut addr = None;
    let mut conns = 10_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = Some(args.next().ok_or("--addr needs HOST:PORT")?),
            "--conns" => {
                let n = args.next().ok_or("--conns needs a number")?;
                conns = n.parse().map_err(|_| format!("not a number: {n:?}"))?;
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok((addr.ok_or("--addr is required")?, conns))
}

fn main() -> ExitCode {
    let (addr, conns) = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("idle-conns: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut held = Vec::with_capacity(conns);
    for i in 0..conns {
        match TcpStream::connect(&addr) {
            Ok(stream) => held.push(stream),
            Err(e) => {
                eprintln!("idle-conns: connection {i} to {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("holding {} connections", held.len());
    let _ = std::io::stdout().flush();
    // Wait for EOF (or an error) on stdin; the connections stay idle.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}
