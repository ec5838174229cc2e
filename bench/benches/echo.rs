//! TCP echo over loopback, our server beside tokio's: one connection
//! ping-pong (latency per round trip) and 64 connections with one message
//! in flight each (throughput).
//!
//! Each server runs on its own thread in this process: ours is
//! `echo_server::serve` on our runtime, tokio's is
//! `bench::tokio_echo::serve` on tokio's `current_thread` runtime. The load
//! is the same for both: a fixed number of 512-byte messages sent and read
//! back (and checked) by tasks on our runtime on the main thread, timed from
//! the first message to the last echo.
//!
//! Run with `cargo bench -p bench --bench echo`. Both servers' threads
//! are pinned to one core, and the load to the other, as in `bench/run.sh`
//! (the out-of-process version of the same measurement): unpinned, the
//! scheduler's placement of the threads, not the runtimes, decided the
//! single-connection figure. The single connection is also measured with
//! the load on the servers' core, where a round trip is two context
//! switches instead of two wake-ups of an idle core, the hypervisor's
//! latency on a virtual machine.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bench::compare;
use runtime::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes per message.
const SIZE: usize = 512;
/// Round trips per round on the single connection.
const ROUND_TRIPS: u64 = 20_000;
/// Connections of the throughput benchmark.
const CONNS: usize = 64;
/// Messages per connection per round of the throughput benchmark.
const MESSAGES_PER_CONN: u64 = 2_000;

fn main() {
    println!(
        "echo benchmarks over loopback: median of {} interleaved rounds",
        bench::ROUNDS
    );
    let ours = start_our_server();
    let tokio = start_tokio_server();
    compare(
        "1 connection, same core: round trip",
        ROUND_TRIPS,
        || load(SERVER_CPU, ours, 1, ROUND_TRIPS),
        || load(SERVER_CPU, tokio, 1, ROUND_TRIPS),
    );
    compare(
        "1 connection, other core: round trip",
        ROUND_TRIPS,
        || load(LOAD_CPU, ours, 1, ROUND_TRIPS),
        || load(LOAD_CPU, tokio, 1, ROUND_TRIPS),
    );
    compare(
        "64 connections, depth 1: per message",
        CONNS as u64 * MESSAGES_PER_CONN,
        || load(LOAD_CPU, ours, CONNS, MESSAGES_PER_CONN),
        || load(LOAD_CPU, tokio, CONNS, MESSAGES_PER_CONN),
    );
}

/// The core both servers' threads are pinned to.
const SERVER_CPU: usize = 0;
/// The core the load runs on, unless it shares the servers' core.
const LOAD_CPU: usize = 1;

/// Starts `echo_server::serve` on our runtime on a thread of its own (left
/// running until the process exits) and returns its address.
fn start_our_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        bench::affinity::pin_current_thread(SERVER_CPU).expect("cannot pin our server");
        runtime::block_on(async move {
            let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
            tx.send(listener.local_addr()?).unwrap();
            let config = echo_server::Config {
                quiet: true,
                ..echo_server::Config::default()
            };
            echo_server::serve(listener, config).await
        })
    });
    rx.recv().expect("our echo server did not start")
}

/// Starts the tokio echo server on tokio's `current_thread` runtime on a
/// thread of its own (left running until the process exits) and returns its
/// address.
fn start_tokio_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        bench::affinity::pin_current_thread(SERVER_CPU).expect("cannot pin tokio's server");
        bench::tokio_runtime().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            tx.send(listener.local_addr()?).unwrap();
            // 512-byte messages: Nagle never holds one back, with or
            // without TCP_NODELAY.
            bench::tokio_echo::serve(listener, true, false).await
        })
    });
    rx.recv().expect("tokio's echo server did not start")
}

/// On core `cpu`, opens `conns` connections to `addr`, then sends
/// `per_conn` messages on each, one in flight at a time, checking every
/// echo. Returns the time from the first message to the last echo
/// (connecting and closing not counted).
fn load(cpu: usize, addr: SocketAddr, conns: usize, per_conn: u64) -> Duration {
    bench::affinity::with_current_thread_on(cpu, || load_here(addr, conns, per_conn))
        .expect("cannot pin the load")
}

/// [`load`] on the calling thread, wherever it runs.
fn load_here(addr: SocketAddr, conns: usize, per_conn: u64) -> Duration {
    let rt = runtime::Runtime::new().expect("cannot build our runtime");
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let stream = runtime::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            streams.push(Rc::new(stream));
        }
        let start = Instant::now();
        let tasks: Vec<_> = streams
            .iter()
            .enumerate()
            .map(|(i, stream)| runtime::spawn(ping_pong(stream.clone(), i as u8, per_conn)))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = start.elapsed();
        for stream in streams {
            (&*stream).shutdown().await.unwrap();
            let mut rest = Vec::new();
            (&*stream).read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "the server sent bytes nobody sent");
        }
        elapsed
    })
}

/// Sends `count` messages of [`SIZE`] bytes on `stream`, each after the echo
/// of the previous one came back intact.
async fn ping_pong(stream: Rc<runtime::net::TcpStream>, seed: u8, count: u64) {
    let mut message = [0; SIZE];
    let mut echo = [0; SIZE];
    let mut s = &*stream;
    for i in 0..count {
        message[0] = seed;
        message[1..9].copy_from_slice(&i.to_le_bytes());
        s.write_all(&message).await.unwrap();
        s.read_exact(&mut echo).await.unwrap();
        assert_eq!(message, echo, "the echo differs");
    }
}
