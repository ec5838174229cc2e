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
//! echo. Rounds alternate between the two servers. Each line gives the
//! median wall time per operation and, since the machine may be shared,
//! the median CPU time the server's thread spent per operation (from its
//! `/proc/self/task/TID/schedstat`): a busy neighbour slows the wall clock
//! of both servers, but barely the CPU each needs for its work.
//!
//! Run with `cargo bench -p bench --bench sockets`. Instructions per message
//! are measured out of process by `bench/measure-sockets.sh`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bench::socket_echo::{self, Limit};
use bench::{median, ROUNDS};

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

/// The addresses of one runtime's two servers, and their thread.
struct Servers {
    /// The UDP echo's address.
    udp: SocketAddr,
    /// The Unix-stream echo's socket file.
    unix: PathBuf,
    /// The `schedstat` file of the servers' thread.
    schedstat: PathBuf,
}

impl Servers {
    /// Runs `load` and returns its time with the CPU time the servers'
    /// thread spent meanwhile.
    fn measure(&self, load: impl FnOnce() -> Duration) -> (Duration, Duration) {
        let before = cpu_time(&self.schedstat);
        let wall = load();
        (wall, cpu_time(&self.schedstat) - before)
    }
}

/// The CPU time of a thread so far, from its `schedstat` (nanoseconds on
/// the CPU, the first field).
fn cpu_time(schedstat: &Path) -> Duration {
    let text = std::fs::read_to_string(schedstat).expect("cannot read the servers' schedstat");
    let ns = text.split_whitespace().next().and_then(|f| f.parse().ok());
    Duration::from_nanos(ns.expect("schedstat starts with nanoseconds"))
}

/// The `schedstat` file of the calling thread.
fn own_schedstat() -> PathBuf {
    // `/proc/thread-self` links to `PID/task/TID`.
    let link = std::fs::read_link("/proc/thread-self").expect("no /proc/thread-self");
    Path::new("/proc").join(link).join("schedstat")
}

/// Runs `ours` and `tokio` alternately for [`ROUNDS`] rounds, each
/// returning (wall time, server CPU time) for `ops` operations, and prints
/// the medians per operation and the ratios ours / tokio.
fn compare(
    name: &str,
    ops: u64,
    mut ours: impl FnMut() -> (Duration, Duration),
    mut tokio: impl FnMut() -> (Duration, Duration),
) {
    let (mut ours_rounds, mut tokio_rounds) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Who goes first alternates too.
        if round % 2 == 0 {
            ours_rounds.push(ours());
            tokio_rounds.push(tokio());
        } else {
            tokio_rounds.push(tokio());
            ours_rounds.push(ours());
        }
    }
    let per_op = |rounds: &[(Duration, Duration)], pick: fn(&(Duration, Duration)) -> Duration| {
        median(rounds.iter().map(pick).collect()).as_nanos() as f64 / ops as f64
    };
    let (ours_wall, tokio_wall) = (
        per_op(&ours_rounds, |r| r.0),
        per_op(&tokio_rounds, |r| r.0),
    );
    let (ours_cpu, tokio_cpu) = (
        per_op(&ours_rounds, |r| r.1),
        per_op(&tokio_rounds, |r| r.1),
    );
    println!(
        "{name:<40} wall: ours {ours_wall:>8.1} tokio {tokio_wall:>8.1} ns/op ({:.2})   \
         server CPU: ours {ours_cpu:>7.1} tokio {tokio_cpu:>7.1} ns/op ({:.2})",
        ours_wall / tokio_wall,
        ours_cpu / tokio_cpu
    );
}

fn main() {
    println!(
        "socket echo benchmarks: median of {ROUNDS} interleaved rounds, {SIZE}-byte messages; \
         (ours / tokio) in brackets"
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
            || ours.measure(|| udp(cpu, ours.udp, 1, ROUND_TRIPS)),
            || tokio.measure(|| udp(cpu, tokio.udp, 1, ROUND_TRIPS)),
        );
    }
    compare(
        "UDP, 64 sockets, depth 1: per message",
        CONNS as u64 * MESSAGES_PER_CONN,
        || ours.measure(|| udp(LOAD_CPU, ours.udp, CONNS, MESSAGES_PER_CONN)),
        || tokio.measure(|| udp(LOAD_CPU, tokio.udp, CONNS, MESSAGES_PER_CONN)),
    );
    for (name, cpu) in [("same core", SERVER_CPU), ("other core", LOAD_CPU)] {
        compare(
            &format!("Unix, 1 conn, {name}: round trip"),
            ROUND_TRIPS,
            || ours.measure(|| unix(cpu, &ours.unix, 1, ROUND_TRIPS)),
            || tokio.measure(|| unix(cpu, &tokio.unix, 1, ROUND_TRIPS)),
        );
    }
    compare(
        "Unix, 64 conns, depth 1: per message",
        CONNS as u64 * MESSAGES_PER_CONN,
        || ours.measure(|| unix(LOAD_CPU, &ours.unix, CONNS, MESSAGES_PER_CONN)),
        || tokio.measure(|| unix(LOAD_CPU, &tokio.unix, CONNS, MESSAGES_PER_CONN)),
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
            tx.send((udp.local_addr().unwrap(), own_schedstat()))
                .unwrap();
            runtime::spawn(socket_echo::ours_unix(listener, false));
            socket_echo::ours_udp(udp, false).await
        })
    });
    let (udp, schedstat) = rx.recv().expect("our servers did not start");
    Servers {
        udp,
        unix,
        schedstat,
    }
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
            tx.send((udp.local_addr().unwrap(), own_schedstat()))
                .unwrap();
            tokio::spawn(socket_echo::tokio_unix(listener, false));
            socket_echo::tokio_udp(udp, false).await
        })
    });
    let (udp, schedstat) = rx.recv().expect("tokio's servers did not start");
    Servers {
        udp,
        unix,
        schedstat,
    }
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
