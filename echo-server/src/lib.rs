//! A TCP echo server written as plain `async fn`s on the runtime.
//!
//! [`serve`] accepts connections and spawns one task per connection running
//! [`echo`], which writes every byte it reads back to the peer. Memory per
//! connection is bounded whatever the peer does: the server holds at most
//! one buffer of a connection's data, and while the peer does not read its
//! echo the server does not read more (TCP flow control does the rest).

#![forbid(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

/// Bytes read from a connection at a time: the one buffer it may hold.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// How long to wait before accepting again after running out of file
/// descriptors (or kernel memory): the connection stays in the kernel's
/// backlog meanwhile, and the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Do not print a line per connection opened and closed.
    pub quiet: bool,
}

/// Accepts connections forever, echoing each on its own task.
///
/// Errors that concern one connection (it was reset while queued, a
/// firewall refused it) skip that connection. Running out of file
/// descriptors is reported once and retried after [`ACCEPT_BACKOFF`].
///
/// # Errors
///
/// Only if the listener itself is broken (for example, not listening).
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    let mut out_of_fds = false;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if out_of_fds {
                    eprintln!("accepting again: file descriptors are available");
                    out_of_fds = false;
                }
                runtime::spawn(connection(stream, peer, config.quiet));
            }
            Err(e) => match classify(&e) {
                AcceptError::Fatal => return Err(e),
                AcceptError::OutOfResources => {
                    if !out_of_fds {
                        eprintln!("cannot accept: {e}; retrying every {ACCEPT_BACKOFF:?}");
                        out_of_fds = true;
                    }
                    runtime::time::sleep(ACCEPT_BACKOFF).await;
                }
                AcceptError::ThisConnection => {
                    if !config.quiet {
                        eprintln!("skipped a connection: {e}");
                    }
                }
            },
        }
    }
}

/// What an `accept` error means for the server.
enum AcceptError {
    /// The listener is unusable.
    Fatal,
    /// The process or system is out of descriptors or memory: back off.
    OutOfResources,
    /// Only the connection being accepted failed.
    ThisConnection,
}

/// Sorts an `accept4` error by what the server should do about it.
fn classify(e: &io::Error) -> AcceptError {
    use libc::{EBADF, EFAULT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOTSOCK, EOPNOTSUPP};
    match e.raw_os_error() {
        Some(EBADF | EFAULT | EINVAL | ENOTSOCK | EOPNOTSUPP) => AcceptError::Fatal,
        Some(EMFILE | ENFILE | ENOBUFS | ENOMEM) => AcceptError::OutOfResources,
        _ => AcceptError::ThisConnection,
    }
}

/// Runs [`echo`] on one connection and reports how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, quiet: bool) {
    if !quiet {
        eprintln!("{peer}: connected");
    }
    let result = echo(&stream).await;
    if !quiet {
        match result {
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// Echoes everything `stream` sends until it closes its side, then closes
/// ours. Returns the number of bytes echoed.
///
/// The buffer is allocated only when the first data arrives, so a
/// connection that never sends costs no buffer.
///
/// # Errors
///
/// The connection's error (for example, the peer reset it).
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let task = runtime::spawn(async move { echo_server::echo(&server).await });
///     client.write_all(b"hi").await?;
///     client.close().await?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"hi");
///     assert_eq!(task.await??, 2);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn echo(stream: &TcpStream) -> io::Result<u64> {
    let mut reader = stream;
    let mut writer = stream;
    stream.readable().await?;
    let mut buf = vec![0; BUFFER_SIZE];
    let mut echoed = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            writer.close().await?;
            return Ok(echoed);
        }
        writer.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}
