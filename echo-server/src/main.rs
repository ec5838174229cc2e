//! `echo-server`: listens on 127.0.0.1:6666 (or `--addr`) and echoes every
//! connection's bytes back.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// A TCP echo server on the epoll runtime.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6666", value_name = "HOST:PORT")]
    addr: String,

    /// Do not print a line per connection opened and closed.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = echo_server::Config { quiet: args.quiet };
    let result = runtime::block_on(async {
        let listener = runtime::net::TcpListener::bind(&args.addr)
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        // Tests and scripts read the address from the first line.
        let _ = std::io::stdout().flush();
        echo_server::serve(listener, config)
            .await
            .map_err(|e| format!("the listener failed: {e}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}
