//! `socket-load`: the load of the socket benchmarks, on our runtime.
//!
//! ```text
//! socket-load udp HOST:PORT [--conns N] [--size BYTES] [--duration SECS]
//! socket-load unix PATH     [--conns N] [--size BYTES] [--duration SECS]
//! ```
//!
//! `N` connections (connected UDP sockets, or Unix-stream connections;
//! default 50), each with one message of `BYTES` (default 512, at least 16)
//! in flight, every echo checked, for `SECS` seconds (default 5). Prints
//! one line, `M messages of BYTES B in T s: R msg/s, L lost`, and fails on
//! any error or wrong echo.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bench::socket_echo::{self, Limit};

/// The usage line.
const USAGE: &str = "usage: socket-load udp HOST:PORT | unix PATH \
                     [--conns N] [--size BYTES] [--duration SECS]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("socket-load: {message}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments, runs the load, and returns the report line.
fn run(args: Vec<String>) -> Result<String, String> {
    let mut args = args.into_iter();
    let kind = args.next().ok_or("expected udp or unix")?;
    let target = args.next().ok_or("expected the address or path")?;
    let (mut conns, mut size, mut secs) = (50usize, 512usize, 5.0f64);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        let bad = || format!("bad value {value:?} for {arg}");
        match arg.as_str() {
            "--conns" => conns = value.parse().map_err(|_| bad())?,
            "--size" => size = value.parse().map_err(|_| bad())?,
            "--duration" => secs = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    if !(0.01..=3600.0).contains(&secs) {
        return Err(format!(
            "--duration must be 0.01..=3600 seconds, not {secs}"
        ));
    }
    let limit = Limit::Until(Instant::now() + Duration::from_secs_f64(secs));
    let report = match kind.as_str() {
        "udp" => {
            let addr = target.parse().map_err(|e| format!("{target:?}: {e}"))?;
            socket_echo::udp_load(addr, conns, size, limit)
        }
        "unix" => socket_echo::unix_load(target.as_ref(), conns, size, limit),
        other => return Err(format!("expected udp or unix, not {other:?}")),
    }
    .map_err(|e| format!("the load failed: {e}"))?;
    let elapsed = report.elapsed.as_secs_f64();
    Ok(format!(
        "{} messages of {size} B in {elapsed:.2} s: {:.0} msg/s, {} lost",
        report.messages,
        report.messages as f64 / elapsed,
        report.lost
    ))
}
