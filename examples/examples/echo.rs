//! An echo server: every byte a client sends comes back.
//!
//! ```text
//! cargo run -p examples --example echo [ADDR]     (default 127.0.0.1:8080)
//! nc 127.0.0.1 8080
//! ```

#![forbid(unsafe_code)]

use std::io;
use std::time::Duration;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{AcceptFailure, TcpListener, TcpStream};

#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts connections for ever, each echoed by a task of its own.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => match AcceptFailure::of(&e) {
                AcceptFailure::Connection => continue,
                AcceptFailure::OutOfResources => {
                    runtime::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                _ => return Err(e), // the listener itself is unusable
            },
        };
        runtime::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("connection failed: {e}");
            }
        });
    }
}

/// Sends back what `stream` receives, until the client closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
