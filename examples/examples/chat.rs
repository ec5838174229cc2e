//! A chat server: a client first gives its name, then every line it sends
//! goes to every other client, and everyone hears who joins and leaves.
//!
//! ```text
//! cargo run -p examples --example chat [ADDR]     (default 127.0.0.1:8080)
//! nc 127.0.0.1 8080
//! ```
//!
//! The runtime runs every task on one thread, so the clients' senders sit
//! in a plain `Rc<RefCell<HashMap>>`: no lock is needed, and a task may
//! hold `Rc`s across `.await`.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use runtime::net::{AcceptFailure, TcpListener, TcpStream};
use runtime::sync::mpsc;

/// Lines waiting to be written to one client; a client further behind
/// misses messages instead of making the server hold more.
const QUEUE: usize = 64;

/// The longest line accepted, in bytes.
const MAX_LINE: usize = 1024;

/// Every client's queue of lines to write, by address.
type Clients = Rc<RefCell<HashMap<SocketAddr, mpsc::Sender<Rc<str>>>>>;

#[runtime::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts clients for ever, each served by a task of its own.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let clients = Clients::default();
    loop {
        let (stream, peer) = match listener.accept().await {
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
        let clients = clients.clone();
        runtime::spawn(async move {
            if let Err(e) = chat(stream, peer, &clients).await {
                eprintln!("{peer}: {e}");
            }
            // However it ended, the others hear no more from it.
            clients.borrow_mut().remove(&peer);
        });
    }
}

/// Sends `line` to every client but `from`.
fn broadcast(clients: &Clients, from: SocketAddr, line: &str) {
    let line: Rc<str> = Rc::from(line);
    for (addr, queue) in clients.borrow().iter() {
        if *addr != from {
            // A full queue: that client lags behind and misses this line.
            let _ = queue.try_send(line.clone());
        }
    }
}

/// One client: its name, then its lines, until it leaves.
async fn chat(stream: TcpStream, peer: SocketAddr, clients: &Clients) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    lines.set_max_len(MAX_LINE);

    writer.write_all(b"Your name?\n").await?;
    let name = match lines.next_line().await? {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => return Ok(()),
    };

    // A task of its own writes this client's queue, so that a slow client
    // never holds up the one who is talking.
    let (queue, mut queued) = mpsc::channel::<Rc<str>>(QUEUE);
    let others = clients.borrow().len();
    queue
        .try_send(format!("Welcome, {name}. {others} others here.\n").into())
        .expect("a new queue has room");
    runtime::spawn(async move {
        // Ends once the client is removed from `clients` and the queue is
        // drained; dropping the write half then sends FIN.
        while let Some(line) = queued.recv().await {
            if writer.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    clients.borrow_mut().insert(peer, queue.clone());
    broadcast(clients, peer, &format!("* {name} joined\n"));

    let result = loop {
        match lines.next_line().await {
            Ok(Some(line)) => broadcast(clients, peer, &format!("{name}: {line}\n")),
            Ok(None) => break Ok(()),
            // Too long, or not UTF-8: only that line is dropped.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let _ = queue.try_send(format!("* line dropped: {e}\n").into());
            }
            Err(e) => break Err(e),
        }
    };
    clients.borrow_mut().remove(&peer);
    broadcast(clients, peer, &format!("* {name} left\n"));
    result
}
