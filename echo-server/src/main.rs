//! `echo-server`: listens on 127.0.0.1:6666 (or `--addr`) and echoes every
//! connection's bytes back. Ctrl-C or SIGTERM shuts it down gracefully.

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use echo_server::{Config, Server};
use runtime::signal::{signal, Signal, SignalKind};

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
}

/// The longest `--idle-timeout`: a day.
const MAX_IDLE_TIMEOUT: u64 = 86_400;

/// The most `--max-conns`: far beyond what one thread serves well, and
/// what the kernel's file limits usually allow.
const MAX_CONNS: u64 = 1_000_000;

/// The longest `--grace`: an hour.
const MAX_GRACE: u64 = 3_600;

/// Ctrl-C (SIGINT) and SIGTERM, either of which asks the server to stop.
struct StopSignals {
    /// SIGINT deliveries.
    interrupt: Signal,
    /// SIGTERM deliveries.
    terminate: Signal,
}

impl StopSignals {
    /// Starts listening for both signals.
    fn new() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM.
    ///
    /// Cancel safety: cancel-safe; a signal not yet seen stays queued.
    async fn next(&mut self) {
        poll_fn(|cx| {
            if self.interrupt.poll_recv(cx).is_ready() || self.terminate.poll_recv(cx).is_ready() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        quiet: args.quiet,
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        max_conns: usize::try_from(args.max_conns).unwrap_or(usize::MAX),
        ..Config::default()
    };
    let grace = Duration::from_secs(args.grace);
    match runtime::block_on(run(&args.addr, config, grace)) {
        Ok(Ending::Graceful) => ExitCode::SUCCESS,
        // The shell's convention for "ended by SIGINT".
        Ok(Ending::Forced) => ExitCode::from(130),
        Err(message) => {
            eprintln!("echo-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// How the server stopped.
enum Ending {
    /// After one stop signal: the grace period was honoured.
    Graceful,
    /// A second stop signal reset the open connections at once.
    Forced,
}

/// Listens, serves until a stop signal, then shuts down.
///
/// Cancel safety: not meant to be cancelled (it is the whole program).
async fn run(addr: &str, config: Config, grace: Duration) -> Result<Ending, String> {
    let listener = runtime::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let mut stop = StopSignals::new().map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    println!("listening on {local}");
    // Tests and scripts read the address from the first line.
    let _ = io::stdout().flush();

    let mut server = Server::new(listener, config);
    server
        .serve_until(stop.next())
        .await
        .map_err(|e| format!("the listener failed: {e}"))?;
    // Refuse new connections before saying so.
    server.stop_accepting();
    eprintln!(
        "shutting down: idle connections close now, busy ones have {} s to finish \
         (Ctrl-C again to reset them all now)",
        grace.as_secs()
    );
    let forced = Cell::new(false);
    let summary = server
        .shut_down(grace, async {
            stop.next().await;
            forced.set(true);
        })
        .await;
    println!("{summary}");
    Ok(if forced.get() {
        Ending::Forced
    } else {
        Ending::Graceful
    })
}
