//! An interactive TCP echo client written as plain `async fn`s on the
//! runtime.
//!
//! [`run`] connects, then does two things at once:
//!
//! * one task sends the input to the server and half-closes the connection
//!   when the input ends;
//! * the main future prints everything the server echoes, and notices at
//!   once when the server goes away.
//!
//! The input comes from one of two places, chosen by [`Mode`]:
//!
//! * **A pipe or file** ([`Mode::Pipe`]): `runtime::io::stdin()`, which
//!   reads on a helper thread, so stdin's file status flags are never
//!   changed. stdout gets exactly the echoed bytes, like `nc`.
//! * **A terminal** ([`Mode::Interactive`]): a line editor (history, arrow
//!   keys) running on its own thread, handing each line to the runtime
//!   through a channel. Echoes are printed above the line being typed, so
//!   they never garble it.

#![forbid(unsafe_code)]

mod editor;
pub mod load;

use std::cell::Cell;
use std::fmt;

use std::io::{self, Write};
use std::net::Shutdown;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;

pub use editor::PROMPT;
pub use load::{run_load, Histogram, LoadConfig, LoadMode, LoadReport};

/// Bytes read from stdin, or from the socket, at a time.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Where the input comes from and how echoes are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// stdin is a terminal: a line editor with a prompt; each echo is
    /// printed above the line being edited.
    Interactive,
    /// stdin is a pipe or a file: no prompt, stdout gets exactly the echoed
    /// bytes, like `nc`.
    Pipe,
}

/// Why the client stopped before the echo of its whole input came back.
#[derive(Debug)]
pub enum ClientError {
    /// The connection could not be made.
    Connect {
        /// The address given.
        addr: String,
        /// What `connect` reported.
        error: io::Error,
    },
    /// The server closed the connection while input was still coming.
    ServerClosed,
    /// The connection failed (reset by the server, ...).
    Connection(io::Error),
    /// stdin could not be read (or the line editor failed).
    Stdin(io::Error),
    /// stdout could not be written.
    Stdout(io::Error),
    /// The person pressed Ctrl-C.
    Interrupted,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { addr, error } => write!(f, "cannot connect to {addr}: {error}"),
            ClientError::ServerClosed => f.write_str("the server closed the connection"),
            ClientError::Connection(e) => write!(f, "the connection failed: {e}"),
            ClientError::Stdin(e) => write!(f, "cannot read stdin: {e}"),
            ClientError::Stdout(e) => write!(f, "cannot write stdout: {e}"),
            ClientError::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for ClientError {}

/// How long [`connect`] waits by default (`--connect-timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `addr` (trying each address it resolves to), giving up
/// after `timeout`, and sets `TCP_NODELAY`: every message goes out at
/// once, whatever its size.
///
/// Without the timeout, an address that drops the handshake (a firewall, a
/// host that is down, a full backlog) would keep the client waiting for the
/// kernel's own limit, over two minutes.
///
/// Cancel safety: cancel-safe; a connection not yet made is dropped.
///
/// # Errors
///
/// What `connect` reported, or `TimedOut` naming `timeout`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::net::TcpListener;
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?.to_string();
///     let stream = echo_client::connect(&addr, Duration::from_secs(1)).await?;
///     assert!(stream.nodelay()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let stream = match runtime::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(connected) => connected?,
        Err(_) => {
            let message = format!("no answer within {} s", timeout.as_secs_f64());
            return Err(io::Error::new(io::ErrorKind::TimedOut, message));
        }
    };
    // This fails only for a socket that is not TCP; the echo still works.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Connects to `addr` (giving up after `connect_timeout`), sends the
/// input, and prints every echoed byte.
///
/// Returns once the input has ended and the server has echoed everything
/// and closed its side.
///
/// # Errors
///
/// See [`ClientError`]: the server closing early is an error, as is any
/// failure of the connection, stdin or stdout, and Ctrl-C.
///
/// Cancel safety: dropping it closes the connection; input read and not
/// yet sent is lost.
pub async fn run(addr: &str, mode: Mode, connect_timeout: Duration) -> Result<(), ClientError> {
    // At a terminal the line editor turns Ctrl-C into `Interrupted` itself;
    // a SIGINT (piped input, or between two lines) ends the client the same
    // way, so the terminal guard runs and the exit status is 130.
    let mut client = pin!(connect_and_echo(addr, mode, connect_timeout));
    let mut ctrl_c = pin!(runtime::signal::ctrl_c());
    let mut watching = true;
    loop {
        runtime::select! {
            biased;
            signal = ctrl_c.as_mut(), if watching => match signal {
                Ok(()) => return Err(ClientError::Interrupted),
                // Cannot watch for SIGINT: it keeps its default action.
                Err(_) => watching = false,
            },
            result = client.as_mut() => return result,
        }
    }
}

/// The client proper: everything [`run`] does but watching for Ctrl-C.
///
/// Cancel safety: as [`run`]'s.
async fn connect_and_echo(
    addr: &str,
    mode: Mode,
    connect_timeout: Duration,
) -> Result<(), ClientError> {
    let stream = connect(addr, connect_timeout)
        .await
        .map_err(|error| ClientError::Connect {
            addr: addr.to_string(),
            error,
        })?;
    let stream = Rc::new(stream);

    let (mut sender, mut output, _terminal) = match mode {
        Mode::Pipe => (
            runtime::spawn(send_stdin(stream.clone())),
            Output::Stdout,
            None,
        ),
        Mode::Interactive => {
            let (lines, printer, terminal) = editor::start().map_err(ClientError::Stdin)?;
            let sender = runtime::spawn(send_lines(stream.clone(), lines));
            (sender, Output::Editor(printer, Vec::new()), Some(terminal))
        }
    };

    // Wait for whichever ends first: the input or the echoes.
    let input_done = Cell::new(false);
    let mut echoes = pin!(print_echoes(&stream, &mut output, &input_done));
    let first = runtime::select! {
        biased;
        sent = &mut sender => {
            First::Input(sent.unwrap_or_else(|e| Err(ClientError::Connection(e.into()))))
        }
        printed = echoes.as_mut() => First::Echoes(printed),
    };
    match first {
        // Ctrl-C, a stdin error, or a failed send: stop now.
        First::Input(Err(e)) => Err(e),
        // All input sent and half-closed: print the rest of the echo.
        First::Input(Ok(())) => {
            input_done.set(true);
            echoes.await
        }
        // The server closed its side (or failed) while our input was still
        // coming: say so now, not at the next line typed.
        First::Echoes(printed) => {
            sender.abort();
            printed?;
            Err(ClientError::ServerClosed)
        }
    }
}

/// Which of the two halves of the client ended first.
enum First {
    /// The input ended: all of it sent, or an error.
    Input(Result<(), ClientError>),
    /// The server closed its side, or the connection failed.
    Echoes(Result<(), ClientError>),
}

/// Sends stdin to the server, then half-closes the connection so the
/// server knows the input is complete.
///
/// Cancel safety: not cancel-safe: a chunk read from stdin and not yet
/// sent is lost (the client then ends anyway).
async fn send_stdin(stream: Rc<TcpStream>) -> Result<(), ClientError> {
    let mut stdin = runtime::io::stdin();
    let mut writer = &*stream;
    let mut buf = vec![0; CHUNK_SIZE];
    loop {
        let n = stdin.read(&mut buf).await.map_err(ClientError::Stdin)?;
        if n == 0 {
            return half_close(&stream);
        }
        writer
            .write_all(&buf[..n])
            .await
            .map_err(ClientError::Connection)?;
    }
}

/// Sends each line typed, then half-closes the connection at Ctrl-D.
///
/// Cancel safety: not cancel-safe: a line received and not yet sent is
/// lost (the client then ends anyway).
async fn send_lines(stream: Rc<TcpStream>, mut lines: editor::Lines) -> Result<(), ClientError> {
    let mut writer = &*stream;
    while let Some(input) = lines.recv().await {
        let line = input?;
        writer
            .write_all(line.as_bytes())
            .await
            .map_err(ClientError::Connection)?;
    }
    half_close(&stream)
}

/// Shuts down our writing side: the server reads EOF.
fn half_close(stream: &TcpStream) -> Result<(), ClientError> {
    match stream.shutdown_with(Shutdown::Write) {
        // The server may have closed already; its echo decides the outcome.
        Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(ClientError::Connection(e)),
        _ => Ok(()),
    }
}

/// Where echoes go.
enum Output {
    /// Straight to stdout, byte for byte.
    Stdout,
    /// Through the line editor, a whole line at a time, above the prompt;
    /// the bytes hold the start of a line not yet complete.
    Editor(editor::Printer, Vec<u8>),
}

impl Output {
    /// Shows `bytes`. `input_done` says the line editor has exited, after
    /// which echoes go straight to stdout.
    fn show(&mut self, bytes: &[u8], input_done: bool) -> Result<(), ClientError> {
        match self {
            Output::Stdout => print_stdout(bytes),
            Output::Editor(_, partial) if input_done => {
                let partial = std::mem::take(partial);
                *self = Output::Stdout;
                print_stdout(&partial)?;
                print_stdout(bytes)
            }
            Output::Editor(printer, partial) => {
                let before = partial.len();
                partial.extend_from_slice(bytes);
                // Print up to the last complete line, or everything once an
                // unfinished line reaches a chunk: a server that never sends
                // a newline must not grow the client without bound.
                let end = match bytes.iter().rposition(|&b| b == b'\n') {
                    Some(at) => before + at + 1,
                    None if partial.len() >= CHUNK_SIZE => partial.len(),
                    None => return Ok(()),
                };
                let rest = partial.split_off(end);
                let lines = std::mem::replace(partial, rest);
                printer.print(&lines).map_err(ClientError::Stdout)
            }
        }
    }

    /// Prints what is left of an unfinished line.
    fn finish(&mut self) -> Result<(), ClientError> {
        match self {
            Output::Stdout => Ok(()),
            Output::Editor(_, partial) => {
                let partial = std::mem::take(partial);
                *self = Output::Stdout;
                print_stdout(&partial)
            }
        }
    }
}

/// Shows everything the server sends until it closes its side, then what
/// is left of an unfinished line.
///
/// Cancel safety: cancel-safe between reads; bytes read are shown
/// before the next await.
async fn print_echoes(
    stream: &TcpStream,
    output: &mut Output,
    input_done: &Cell<bool>,
) -> Result<(), ClientError> {
    let mut reader = stream;
    let mut buf = vec![0; CHUNK_SIZE];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(ClientError::Connection)?;
        if n == 0 {
            return output.finish();
        }
        output.show(&buf[..n], input_done.get())?;
    }
}

/// Writes and flushes `bytes` to stdout.
fn print_stdout(bytes: &[u8]) -> Result<(), ClientError> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(ClientError::Stdout)
}
