//! A TCP proxy: each client is connected to the server, and bytes flow
//! both ways until both sides are done. A half-close is passed on: a
//! client that sends its request and shuts down its side still gets the
//! whole response.
//!
//! ```text
//! cargo run -p examples --example proxy [LISTEN_ADDR] [SERVER_ADDR]
//!     (defaults 127.0.0.1:8081 and 127.0.0.1:8080)
//! ```

#![forbid(unsafe_code)]

use std::io;
use std::time::Duration;

use runtime::net::{AcceptFailure, TcpListener, TcpStream};

#[runtime::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8081".to_string());
    let server = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&listen).await?;
    println!(
        "listening on {}, proxying to {server}",
        listener.local_addr()?
    );
    serve(listener, server).await
}

/// Accepts clients for ever, each proxied by a task of its own.
pub async fn serve(listener: TcpListener, server: String) -> io::Result<()> {
    loop {
        let (client, _) = match listener.accept().await {
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
        let server = server.clone();
        runtime::spawn(async move {
            if let Err(e) = proxy(client, &server).await {
                eprintln!("proxying to {server} failed: {e}");
            }
        });
    }
}

/// Connects `client` to `server` and copies both ways.
async fn proxy(mut client: TcpStream, server: &str) -> io::Result<()> {
    let mut server = TcpStream::connect(server).await?;
    let (sent, received) = runtime::io::copy_bidirectional(&mut client, &mut server).await?;
    println!("closed: {sent} bytes sent, {received} bytes received");
    Ok(())
}
