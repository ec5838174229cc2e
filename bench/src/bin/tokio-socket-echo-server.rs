//! `tokio-socket-echo-server`: UDP or Unix-stream echo on tokio's `current_thread` runtime, for
//! the socket benchmarks (`bench/measure-sockets.sh`).
//!
//! ```text
//! tokio-socket-echo-server udp [--addr HOST:PORT] [--quiet]
//! tokio-socket-echo-server unix --path PATH [--quiet]
//! ```
//!
//! Prints `listening on <addr or path>` first on stdout (scripts read it),
//! then serves until killed. The socket file of `unix` is left behind, as
//! tokio's listeners leave it.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use bench::socket_echo::{self, Serve};

fn main() -> ExitCode {
    let args = socket_echo::server_args_from_env("tokio-socket-echo-server");
    let result = bench::tokio_runtime().block_on(async {
        match &args.serve {
            Serve::Udp(addr) => {
                let socket = tokio::net::UdpSocket::bind(addr.as_str())
                    .await
                    .map_err(|e| format!("cannot bind {addr}: {e}"))?;
                listening(socket.local_addr().map_err(|e| e.to_string())?);
                socket_echo::tokio_udp(socket, args.quiet).await;
            }
            Serve::Unix(path) => {
                let listener = tokio::net::UnixListener::bind(path)
                    .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
                listening(path.display());
                socket_echo::tokio_unix(listener, args.quiet).await;
            }
        }
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokio-socket-echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The line scripts wait for.
fn listening(at: impl std::fmt::Display) {
    println!("listening on {at}");
    let _ = std::io::stdout().flush();
}
