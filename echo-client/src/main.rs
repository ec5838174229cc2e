//! `echo-client`: connects to an echo server (127.0.0.1:6666, or `--addr`),
//! sends what you type (or what is piped in) and prints the echo.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use echo_client::Mode;

/// An interactive TCP echo client on the epoll runtime.
///
/// At a terminal it shows a prompt and prints the echo of each line; Ctrl-D
/// ends the input. With stdin piped or redirected it works like `nc`:
/// every byte of stdin is sent and every echoed byte goes to stdout.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address of the echo server.
    #[arg(long, default_value = "127.0.0.1:6666", value_name = "HOST:PORT")]
    addr: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mode = if std::io::stdin().is_terminal() {
        Mode::Interactive
    } else {
        Mode::Pipe
    };
    match runtime::block_on(echo_client::run(&args.addr, mode)) {
        Ok(()) => ExitCode::SUCCESS,
        // The shell's convention for "ended by SIGINT".
        Err(echo_client::ClientError::Interrupted) => ExitCode::from(130),
        Err(e) => {
            if mode == Mode::Interactive && !matches!(e, echo_client::ClientError::Connect { .. }) {
                eprintln!(); // leave the half-typed line
            }
            eprintln!("echo-client: {e}");
            ExitCode::FAILURE
        }
    }
}
