//! An interactive TCP echo client written as plain `async fn`s on the
//! runtime.
//!
//! [`run`] connects, then does three things at once:
//!
//! * a plain thread reads stdin with ordinary blocking reads (so stdin may
//!   be a terminal, a pipe, a regular file or `/dev/null`, and its file
//!   status flags are never touched) and hands each chunk to the runtime
//!   through a bounded channel;
//! * one task sends those chunks to the server and half-closes the
//!   connection when stdin ends;
//! * the main future prints everything the server echoes, and notices at
//!   once when the server goes away.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpStream;
use runtime::sync::mpsc;

/// Bytes read from stdin, or from the socket, at a time.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Chunks of stdin that may wait for the socket: bounds the client's memory
/// when the server reads slower than stdin produces.
const STDIN_QUEUE: usize = 4;

/// The prompt shown at a terminal.
pub const PROMPT: &str = "> ";

/// How the client talks to the person (or program) on the other side of
/// stdin and stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// stdin is a terminal: show a prompt, print each echo.
    Interactive,
    /// stdin is a pipe or file: no prompt, stdout gets exactly the echoed
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
    /// stdin could not be read.
    Stdin(io::Error),
    /// stdout could not be written.
    Stdout(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { addr, error } => write!(f, "cannot connect to {addr}: {error}"),
            ClientError::ServerClosed => f.write_str("the server closed the connection"),
            ClientError::Connection(e) => write!(f, "the connection failed: {e}"),
            ClientError::Stdin(e) => write!(f, "cannot read stdin: {e}"),
            ClientError::Stdout(e) => write!(f, "cannot write stdout: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Connects to `addr`, sends stdin, and writes every echoed byte to stdout.
///
/// Returns once stdin has ended and the server has echoed everything and
/// closed its side.
///
/// # Errors
///
/// See [`ClientError`]: the server closing early is an error, as is any
/// failure of the connection, stdin or stdout.
pub async fn run(addr: &str, mode: Mode) -> Result<(), ClientError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|error| ClientError::Connect {
            addr: addr.to_string(),
            error,
        })?;
    // Interactive lines should go out at once, not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let stream = Rc::new(stream);

    let (chunks, input) = mpsc::channel(STDIN_QUEUE);
    spawn_stdin_reader(chunks);
    let sender = runtime::spawn(send_input(stream.clone(), input));

    if mode == Mode::Interactive {
        print_stdout(PROMPT.as_bytes())?;
    }
    let printed = print_echoes(&stream, mode).await;
    // The server has closed its side (or failed). If our input is not all
    // sent yet, that is the server going away, and we say so now rather
    // than at the next line typed.
    if !sender.is_finished() {
        sender.abort();
        printed?;
        return Err(ClientError::ServerClosed);
    }
    let sent = sender
        .await
        .unwrap_or_else(|e| Err(ClientError::Connection(e.into())));
    printed?;
    sent
}

/// Reads stdin on a plain thread, with blocking reads, and hands the chunks
/// to the runtime. Ends at EOF, at a read error (sent on), or when the
/// receiver is gone.
fn spawn_stdin_reader(chunks: mpsc::Sender<io::Result<Vec<u8>>>) {
    let reader = move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut buf = vec![0; CHUNK_SIZE];
            let chunk = match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(buf)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if chunks.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    };
    // Without a thread there is no input: the channel's sender is dropped
    // with the closure and the client sees an empty stdin.
    if let Err(e) = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(reader)
    {
        eprintln!("echo-client: cannot start the stdin reader: {e}");
    }
}

/// Sends every chunk of input, then half-closes the connection so the
/// server knows the input is complete.
async fn send_input(
    stream: Rc<TcpStream>,
    mut input: mpsc::Receiver<io::Result<Vec<u8>>>,
) -> Result<(), ClientError> {
    let mut writer = &*stream;
    while let Some(chunk) = input.recv().await {
        let chunk = chunk.map_err(ClientError::Stdin)?;
        writer
            .write_all(&chunk)
            .await
            .map_err(ClientError::Connection)?;
    }
    match stream.shutdown(Shutdown::Write) {
        // The server may have closed already; its echo decides the outcome.
        Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(ClientError::Connection(e)),
        _ => Ok(()),
    }
}

/// Writes everything the server sends to stdout until it closes its side.
async fn print_echoes(stream: &TcpStream, mode: Mode) -> Result<(), ClientError> {
    let mut reader = stream;
    let mut buf = vec![0; CHUNK_SIZE];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(ClientError::Connection)?;
        if n == 0 {
            if mode == Mode::Interactive {
                print_stdout(b"\n")?;
            }
            return Ok(());
        }
        print_stdout(&buf[..n])?;
        if mode == Mode::Interactive && buf[n - 1] == b'\n' {
            print_stdout(PROMPT.as_bytes())?;
        }
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
