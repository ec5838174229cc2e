//! `echo-server`: listens on 127.0.0.1:6666 (or `--addr`) and echoes every
//! connection's bytes back. Ctrl-C or SIGTERM shuts it down gracefully.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use echo_server::{Balance, Config, Ending, MAX_THREADS};

/// A TCP echo server on the epoll runtime.
///
/// On Ctrl-C or SIGTERM it stops accepting and says goodbye: connections
/// with nothing unechoed are closed at once (the peer reads end of
/// stream); the others have the grace period to finish, then write back
/// what they read and close. It prints a summary and exits 0. A second
/// Ctrl-C (or SIGTERM) resets the open connections at once (exit 130).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6666", value_name = "HOST:PORT")]
    addr: String,

    /// Do not print a line per connection opened and closed.
    #[arg(long, short)]
    quiet: bool,

    /// Close a connection that echoes nothing for this long (0: never;
    /// at most 86400, a day).
    #[arg(long, default_value_t = 300, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_IDLE_TIMEOUT))]
    idle_timeout: u64,

    /// Serve at most this many connections at once (1 to 1000000); more
    /// wait in the kernel's backlog.
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONNS))]
    max_conns: u64,

    /// On shutdown, how long connections with data in flight may take to
    /// finish (0 to 3600).
    #[arg(long, default_value_t = 5, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_GRACE))]
    grace: u64,

    /// Print the runtime's event trace to stderr: every epoll turn, event,
    /// wake, poll (with what it read and wrote) and timer, and any poll
    /// that holds the thread for more than 10 ms.
    #[arg(long)]
    trace: bool,

    /// Runtimes to run, one thread each (0: one per available core; at
    /// most 1024). With more than one, every core accepts and echoes, and
    /// `--max-conns` is for them all.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u64).range(0..=MAX_THREADS as u64))]
    threads: u64,

    /// With several threads, how connections reach the cores: each core
    /// listens with SO_REUSEPORT and the kernel picks (`reuseport`), or
    /// one core accepts and hands each to the least-loaded core
    /// (`acceptor`).
    #[arg(long, value_enum, default_value_t = BalanceArg::Reuseport, value_name = "STRATEGY")]
    balance: BalanceArg,
}

/// The values of `--balance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BalanceArg {
    /// A listener per core, on one port (SO_REUSEPORT).
    Reuseport,
    /// One accepting core hands connections to the least-loaded core.
    Acceptor,
}

/// The longest `--idle-timeout`: a day.
const MAX_IDLE_TIMEOUT: u64 = 86_400;

/// The most `--max-conns`: far beyond what one thread serves well, and
/// what the kernel's file limits usually allow.
const MAX_CONNS: u64 = 1_000_000;

/// The longest `--grace`: an hour.
const MAX_GRACE: u64 = 3_600;

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        quiet: args.quiet,
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        max_conns: usize::try_from(args.max_conns).unwrap_or(usize::MAX),
        trace: args.trace,
        ..Config::default()
    };
    let grace = Duration::from_secs(args.grace);
    let balance = match args.balance {
        BalanceArg::Reuseport => Balance::ReusePort,
        BalanceArg::Acceptor => Balance::Acceptor,
    };
    // In range: clap bounds it by MAX_THREADS.
    let threads = usize::try_from(args.threads).unwrap_or(MAX_THREADS);
    match echo_server::run_threads(&args.addr, config, grace, threads, balance) {
        Ok(Ending::Graceful) => ExitCode::SUCCESS,
        // The shell's convention for "ended by SIGINT".
        Ok(Ending::Forced) => ExitCode::from(130),
        Err(message) => {
            eprintln!("echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}
