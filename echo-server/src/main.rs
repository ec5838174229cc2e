//! `echo-server`: listens on 127.0.0.1:6666 (or `--addr`) and echoes every
//! connection's bytes back.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

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

    /// Close a connection that sends and receives nothing for this long
    /// (0: never).
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    idle_timeout: u64,

    /// Serve at most this many connections at once; more wait in the
    /// kernel's backlog.
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_conns: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = echo_server::Config {
        quiet: args.quiet,
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        max_conns: usize::try_from(args.max_conns).unwrap_or(usize::MAX),
    };
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
