//! `echo-client`: connects to an echo server (127.0.0.1:6666, or `--addr`),
//! sends what you type (or what is piped in) and prints the echo; or, with
//! `bench`, loads the server and reports what it measured.

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use echo_client::{ClientError, LoadConfig, Mode};

/// An interactive TCP echo client on the epoll runtime.
///
/// At a terminal it shows a prompt and prints the echo of each line; Ctrl-D
/// ends the input. With stdin piped or redirected it works like `nc`:
/// every byte of stdin is sent and every echoed byte goes to stdout.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address of the echo server.
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:6666",
        value_name = "HOST:PORT"
    )]
    addr: String,

    /// Load mode instead of the interactive client.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the server: many connections, messages in flight, every echoed
    /// byte verified; prints messages/s, MiB/s, latency percentiles and
    /// errors, and exits non-zero on any error.
    Bench {
        /// Connections.
        #[arg(long, default_value_t = 50)]
        conns: usize,
        /// Bytes per message.
        #[arg(long, default_value_t = 512)]
        size: usize,
        /// How long to send, in seconds (`10`, `2.5`) or with a unit
        /// (`500ms`, `10s`).
        #[arg(long, default_value = "10", value_parser = parse_duration)]
        duration: Duration,
        /// Messages in flight per connection.
        #[arg(long, default_value_t = 1)]
        depth: usize,
    },
}

/// Parses `10`, `2.5`, `10s` or `500ms`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = match text.strip_suffix("ms") {
        Some(ms) => (ms, 0.001),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(Command::Bench {
            conns,
            size,
            duration,
            depth,
        }) => bench(LoadConfig {
            addr: args.addr,
            conns,
            size,
            duration,
            depth,
        }),
        None => interactive(&args.addr),
    }
}

/// The load mode.
fn bench(config: LoadConfig) -> ExitCode {
    match runtime::block_on(echo_client::run_load(config)) {
        Ok(report) => {
            println!("{report}");
            if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("echo-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The interactive (or piped) client.
fn interactive(addr: &str) -> ExitCode {
    let mode = if std::io::stdin().is_terminal() {
        Mode::Interactive
    } else {
        Mode::Pipe
    };
    match runtime::block_on(echo_client::run(addr, mode)) {
        Ok(()) => ExitCode::SUCCESS,
        // The shell's convention for "ended by SIGINT".
        Err(ClientError::Interrupted) => ExitCode::from(130),
        Err(e) => {
            if mode == Mode::Interactive && !matches!(e, ClientError::Connect { .. }) {
                eprintln!(); // leave the half-typed line
            }
            eprintln!("echo-client: {e}");
            ExitCode::FAILURE
        }
    }
}
