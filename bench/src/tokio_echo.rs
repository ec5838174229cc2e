//! The comparison server: tokio's idiomatic echo server on its
//! `current_thread` runtime, shaped like ours.
//!
//! One task per connection runs the echo loop of tokio's own example: a
//! 16 KiB buffer allocated when the connection is accepted, `read` then
//! `write_all` until the peer closes its side, then `shutdown` of ours.
//! Nothing else (no idle timeout, no connection limit), so the benchmarks
//! compare runtimes, not features.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes allocated per connection for its one buffer, as in tokio's example.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// How long to wait before accepting again after an accept error (out of
/// file descriptors, say), as our server does.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections forever, echoing each on its own task; per-connection
/// lines go to stderr unless `quiet`; accepted connections get
/// `TCP_NODELAY` if `nodelay` (tokio's example leaves Nagle on).
///
/// # Errors
///
/// Never returns in practice: accept errors are reported and retried.
pub async fn serve(listener: TcpListener, quiet: bool, nodelay: bool) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if nodelay {
                    let _ = stream.set_nodelay(true);
                }
                tokio::spawn(connection(stream, peer, quiet));
            }
            Err(e) => {
                if !quiet {
                    eprintln!("cannot accept: {e}");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Runs [`echo`] on one connection and reports how it ended.
async fn connection(mut stream: TcpStream, peer: SocketAddr, quiet: bool) {
    if !quiet {
        eprintln!("{peer}: connected");
    }
    let result = echo(&mut stream).await;
    if !quiet {
        match result {
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// Echoes everything `stream` sends until it closes its side, then shuts
/// down ours. Returns the number of bytes echoed.
///
/// # Errors
///
/// The connection's error (for example, the peer reset it).
pub async fn echo(stream: &mut TcpStream) -> io::Result<u64> {
    let mut buf = vec![0; BUFFER_SIZE];
    let mut echoed = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            stream.shutdown().await?;
            return Ok(echoed);
        }
        stream.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}
