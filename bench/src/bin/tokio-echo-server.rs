//! `tokio-echo-server`: the comparison server for the benchmarks. Listens
//! on 127.0.0.1:6666 (or `--addr`) on tokio's `current_thread` runtime and
//! echoes every connection's bytes back, like `echo-server`.
//!
//! ```text
//! tokio-echo-server [--addr HOST:PORT] [--quiet]
//! ```
//!
//! Prints `listening on <addr>` first on stdout (scripts read the port from
//! it), then a line per connection on stderr unless `--quiet`.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

/// How to run the server.
#[derive(Debug)]
struct Args {
    /// Address to listen on.
    addr: String,
    /// No per-connection lines.
    quiet: bool,
}

/// The usage line printed for `--help` and bad arguments.
const USAGE: &str = "usage: tokio-echo-server [--addr HOST:PORT] [--quiet]";

/// Parses `--addr HOST:PORT` (or `--addr=HOST:PORT`), `--quiet` (`-q`) and
/// `--help` (`-h`).
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:6666".to_string(),
        quiet: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => parsed.addr = args.next().ok_or("--addr needs HOST:PORT")?,
            "--quiet" | "-q" => parsed.quiet = true,
            "--help" | "-h" => return Ok(None),
            _ => match arg.strip_prefix("--addr=") {
                Some(addr) => parsed.addr = addr.to_string(),
                None => return Err(format!("unexpected argument {arg:?}")),
            },
        }
    }
    Ok(Some(parsed))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tokio-echo-server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = bench::tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        bench::tokio_echo::serve(listener, args.quiet)
            .await
            .map_err(|e| format!("the listener failed: {e}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokio-echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}
