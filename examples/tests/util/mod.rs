//! Shared by the examples' tests: a server on its own thread and runtime,
//! and deadlines on the plain `std` clients that talk to it.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use runtime::net::TcpListener;

/// How long a client waits for one read or write before the test calls
/// the server hung: far above what any test needs.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Starts `serve` on a listener on port 0, on a thread with a runtime of
/// its own (the clients below are blocking), and returns its address. The
/// thread ends with the test process.
pub fn start<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<()>>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime::block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("address")).unwrap();
            serve(listener).await
        })
    });
    rx.recv_timeout(PATIENCE).expect("the server started")
}

/// A blocking client connection that fails instead of hanging.
pub fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// `n` pseudo-random bytes (xorshift), which catch loss, duplication and
/// reordering.
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
