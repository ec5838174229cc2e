//! `echo-client`: connects to an echo server (127.0.0.1:6666, or `--addr`),
//! sends what you type (or what is piped in) and prints the echo; or, with
//! `bench`, loads the server and reports what it measured.

#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use echo_client::{ClientError, LoadConfig, LoadMode, Mode};

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

    /// Give up connecting after this many seconds (1 to 3600).
    #[arg(long, global = true, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONNECT_TIMEOUT))]
    connect_timeout: u64,

    /// Print the runtime's event trace to stderr: every epoll turn, event,
    /// wake, poll (with what it read and wrote) and timer, and any poll
    /// that holds the thread for more than 10 ms.
    #[arg(long, global = true)]
    trace: bool,

    /// Load mode instead of the interactive client.
    #[command(subcommand)]
    command: Option<Command>,
}

/// The longest `--connect-timeout`: an hour. (0 is refused rather than
/// meaning "never": the kernel's own limit, over two minutes, is what the
/// option is there to avoid.)
const MAX_CONNECT_TIMEOUT: u64 = 3_600;

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the server: many connections, messages in flight, every echoed
    /// byte verified; prints messages/s, MiB/s, latency percentiles and
    /// errors, and exits non-zero on any error. Out-of-range options exit
    /// 2; --conns × --depth × --size may be at most 1 GiB.
    Bench {
        /// Connections (1 to 50000); with --churn, clients at once.
        #[arg(long, default_value_t = 50,
              value_parser = clap::value_parser!(u64).range(1..=echo_client::load::MAX_CONNS as u64))]
        conns: u64,
        /// Bytes per message (1 to 16777216).
        #[arg(long, default_value_t = 512,
              value_parser = clap::value_parser!(u64).range(1..=echo_client::load::MAX_SIZE as u64))]
        size: u64,
        /// How long to send, in seconds (`10`, `2.5`) or with a unit
        /// (`500ms`, `10s`); more than 0, at most 86400 s.
        #[arg(long, default_value = "10", value_parser = parse_duration)]
        duration: Duration,
        /// Messages in flight per connection (1 to 1024).
        #[arg(long, default_value_t = 1,
              value_parser = clap::value_parser!(u64).range(1..=echo_client::load::MAX_DEPTH as u64))]
        depth: u64,
        /// Connection churn: each client connects, echoes one message,
        /// closes, and starts again.
        #[arg(long)]
        churn: bool,
    },
}

/// Parses `10`, `2.5`, `10s` or `500ms`: more than zero, at most
/// [`MAX_DURATION`](echo_client::load::MAX_DURATION).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = match text.strip_suffix("ms") {
        Some(ms) => (ms, 0.001),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    let max = echo_client::load::MAX_DURATION;
    let seconds = value * scale;
    if !(seconds > 0.0 && seconds <= max.as_secs_f64()) {
        return Err(format!(
            "{text:?}: a duration must be more than 0 s and at most {} s",
            max.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let connect_timeout = Duration::from_secs(args.connect_timeout);
    match args.command {
        Some(Command::Bench {
            conns,
            size,
            duration,
            depth,
            churn,
        }) => {
            let config = LoadConfig {
                addr: args.addr,
                // Within their bounds (checked by clap), so they fit.
                conns: usize::try_from(conns).unwrap_or(usize::MAX),
                size: usize::try_from(size).unwrap_or(usize::MAX),
                duration,
                depth: usize::try_from(depth).unwrap_or(usize::MAX),
                mode: if churn {
                    LoadMode::Churn
                } else {
                    LoadMode::Echo
                },
                connect_timeout,
            };
            if let Err(message) = config.check() {
                // A usage error, like the bounds clap checks: exit 2.
                Args::command()
                    .error(clap::error::ErrorKind::ValueValidation, message)
                    .exit();
            }
            bench(args.trace, config)
        }
        None => interactive(args.trace, &args.addr, connect_timeout),
    }
}

/// With `--trace`, polls longer than this are reported as stalls.
const TRACE_STALL: Duration = Duration::from_millis(10);

/// Runs `future` on a runtime, tracing to stderr if `trace`; a runtime
/// that cannot start is an error for the user.
fn run_on_runtime<T>(
    trace: bool,
    future: impl std::future::Future<Output = T>,
) -> Result<T, ExitCode> {
    let mut builder = runtime::Builder::new();
    if trace {
        builder
            .trace(std::io::stderr())
            .stall_threshold(TRACE_STALL);
    }
    match builder.build() {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(e) => {
            eprintln!("echo-client: cannot start the runtime: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The load mode.
fn bench(trace: bool, config: LoadConfig) -> ExitCode {
    let result = match run_on_runtime(trace, echo_client::run_load(config)) {
        Ok(result) => result,
        Err(code) => return code,
    };
    match result {
        Ok(report) => {
            // `println!` would panic on a closed stdout (`| head -1`).
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = writeln!(stdout, "{report}").and_then(|()| stdout.flush()) {
                eprintln!("echo-client: cannot print the report: {e}");
                return ExitCode::FAILURE;
            }
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
fn interactive(trace: bool, addr: &str, connect_timeout: Duration) -> ExitCode {
    let mode = if std::io::stdin().is_terminal() {
        Mode::Interactive
    } else {
        Mode::Pipe
    };
    let result = match run_on_runtime(trace, echo_client::run(addr, mode, connect_timeout)) {
        Ok(result) => result,
        Err(code) => return code,
    };
    match result {
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
