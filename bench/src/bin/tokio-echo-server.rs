//! `tokio-echo-server`: the comparison server for the benchmarks. Listens
//! on 127.0.0.1:6666 (or `--addr`) on tokio's `current_thread` runtime and
//! echoes every connection's bytes back, like `echo-server`.
//!
//! ```text
//! tokio-echo-server [--addr HOST:PORT] [--quiet] [--nodelay]
//! ```
//!
//! Prints `listening on <addr>` first on stdout (scripts read the port from
//! it), then a line per connection on stderr unless `--quiet`.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = bench::server_args::from_env("tokio-echo-server");
    let result = bench::tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        bench::tokio_echo::serve(listener, args.quiet, args.nodelay)
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
