//! UDP echo and Unix-stream echo, our servers beside tokio's, in one
//! process: one socket ping-pong (latency per round trip, with the load on
//! the servers' core and on the other one) and 64 sockets with one message
//! in flight each (throughput).
//!
//! Each server runs on its own thread, pinned to core 0 with the others:
//! ours is `bench::socket_echo::ours_udp` / `ours_unix` on our runtime,
//! tokio's is `tokio_udp` / `tokio_unix` on tokio's `current_thread`
//! runtime. The load is the same for both (`socket_echo::udp_load` /
//! `unix_load` on our runtime): a fixed number of 512-byte messages sent
//! and read back (and checked), timed from the first message to the last
//! echo. Rounds alternate between the two servers (`bench::compare`).
//!
//! Run with `cargo bench -p bench --bench sockets`. Instructions per message
//! are measured out of process by `bench/measure-sockets.sh`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::compare;
use bench::socket_echo::{self, Limit};

/// Bytes per message.
const SIZE: usize = 512;
/// Round trips per round on the single socket.
const ROUND_TRIPS: u64 = 20_000;
/// Sockets of the throughput benchmark.
const CONNS: usize = 64;
/// Messages per socket per round of the throughput benchmark.
const MESSAGES_PER_CONN: u64 = 2_000;
/// The core the servers' threads are pinned to.
const SERVER_CPU: usize = 0;
/// The core the load runs on, unless it shares the servers' core.
const LOAD_CPU: usize = 1;

/// The addresses of one runtime's two servers.
struct Servers {
    /// The UDP echo's address.
    udp: SocketAddr,
    /// The Unix-stream echo's socket file.
    unix: PathBuf,
}

fn main() {
    println!(
        "socket echo benchmarks: median of {} interleaved rounds, {SIZE}-byte messages",
        bench::ROUNDS
    );
    let dir = std::env::temp_dir().join(format!("bench-sockets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("cannot create the socket directory");
    let ours = start_ours(dir.join("ours.sock"));
    let tokio = start_tokio(dir.join("tokio.sock"));

    for (name, cpu) in [("same core", SERVER_CPU), ("other core", LOAD_CPU)] {
        compare(
            &format!("UDP, 1 socket, {name}: round trip"),
            ROUND_TRIPS,
            || udp(cpu, ours.udp, 1, ROUND_TRIPS),
            || udp(cpu, tokio.udp, 1, ROUND_TRIPS),
        );
    }
    compare(
        "UDP, 64 sockets, depth 1: per message",
        CONNS as u64 * MESSAGES_PER_CONN,
        || udp(LOAD_CPU, ours.udp, CONNS, MESSAGES_PER_CONN),
        || udp(LOAD_CPU, tokio.udp, CONNS, MESSAGES_PER_CONN),
    );
    for (name, cpu) in [("same core", SERVER_CPU), ("other core", LOAD_CPU)] {
        compare(
            &format!("Unix, 1 conn, {name}: round trip"),
            ROUND_TRIPS,
            || unix(cpu, &ours.unix, 1, ROUND_TRIPS),
            || unix(cpu, &tokio.unix, 1, ROUND_TRIPS),
        );
    }
    compare(
        "Unix, 64 conns, depth 1: per message",
        CONNS as u64 * MESSAGES_PER_CONN,
        || unix(LOAD_CPU, &ours.unix, CONNS, MESSAGES_PER_CONN),
        || unix(LOAD_CPU, &tokio.unix, CONNS, MESSAGES_PER_CONN),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts our UDP and Unix-stream echo servers on one thread of their own
/// (left running until the process exits).
fn start_ours(path: PathBuf) -> Servers {
    let (tx, rx) = std::sync::mpsc::channel();
    let unix = path.clone();
    std::thread::spawn(move || {
        bench::affinity::pin_current_thread(SERVER_CPU).expect("cannot pin our servers");
        runtime::block_on(async move {
            let udp = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let listener = runtime::net::UnixListener::bind(&path).unwrap();
            tx.send(udp.local_addr().unwrap()).unwrap();
            runtime::spawn(socket_echo::ours_unix(listener, false));
            socket_echo::ours_udp(udp, false).await
        })
    });
    let udp = rx.recv().expect("our servers did not start");
    Servers { udp, unix }
}

/// Starts tokio's UDP and Unix-stream echo servers on one thread of their
/// own, on tokio's `current_thread` runtime.
fn start_tokio(path: PathBuf) -> Servers {
    let (tx, rx) = std::sync::mpsc::channel();
    let unix = path.clone();
    std::thread::spawn(move || {
        bench::affinity::pin_current_thread(SERVER_CPU).expect("cannot pin tokio's servers");
        bench::tokio_runtime().block_on(async move {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let listener = tokio::net::UnixListener::bind(&path).unwrap();
            tx.send(udp.local_addr().unwrap()).unwrap();
            tokio::spawn(socket_echo::tokio_unix(listener, false));
            socket_echo::tokio_udp(udp, false).await
        })
    });
    let udp = rx.recv().expect("tokio's servers did not start");
    Servers { udp, unix }
}

/// The UDP load on core `cpu`: `conns` sockets, `per_conn` echoes each.
fn udp(cpu: usize, addr: SocketAddr, conns: usize, per_conn: u64) -> Duration {
    let report = bench::affinity::with_current_thread_on(cpu, || {
        socket_echo::udp_load(addr, conns, SIZE, Limit::Messages(per_conn))
    })
    .expect("cannot pin the load")
    .expect("the UDP load failed");
    assert_eq!(
        report.lost, 0,
        "datagrams were lost: the figure would be off"
    );
    report.elapsed
}

/// The Unix-stream load on core `cpu`: `conns` connections, `per_conn`
/// echoes each.
fn unix(cpu: usize, path: &Path, conns: usize, per_conn: u64) -> Duration {
    bench::affinity::with_current_thread_on(cpu, || {
        socket_echo::unix_load(path, conns, SIZE, Limit::Messages(per_conn))
    })
    .expect("cannot pin the load")
    .expect("the Unix-stream load failed")
    .elapsed
}
