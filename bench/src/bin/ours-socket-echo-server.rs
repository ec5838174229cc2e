//! `ours-socket-echo-server`: UDP or Unix-stream echo on our runtime, for
//! the socket benchmarks (`bench/measure-sockets.sh`).
//!
//! ```text
//! ours-socket-echo-server udp [--addr HOST:PORT] [--quiet]
//! ours-socket-echo-server unix --path PATH [--quiet]
//! ```
//!
//! Prints `listening on <addr or path>` first on stdout (scripts read it),
//! then serves until killed. The socket file of `unix` is left behind, as
//! the runtime's listeners leave it.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use bench::socket_echo::{self, Serve};

fn main() -> ExitCode {
    let args = socket_echo::server_args_from_env("ours-socket-echo-server");
    let result = runtime::block_on(async {
        match &args.serve {
            Serve::Udp(addr) => {
                let socket = runtime::net::UdpSocket::bind(addr.as_str())
                    .await
                    .map_err(|e| format!("cannot bind {addr}: {e}"))?;
                listening(socket.local_addr().map_err(|e| e.to_string())?);
                socket_echo::ours_udp(socket, args.quiet).await;
            }
            Serve::Unix(path) => {
                let listener = runtime::net::UnixListener::bind(path)
                    .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
                listening(path.display());
                socket_echo::ours_unix(listener, args.quiet).await;
            }
        }
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ours-socket-echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The line scripts wait for.
fn listening(at: impl std::fmt::Display) {
    println!("listening on {at}");
    let _ = std::io::stdout().flush();
}
