//! `echo-server --threads N`: one runtime per core, each accepting (with
//! `SO_REUSEPORT`, or handed connections by one accepting core with
//! `--balance acceptor`) and echoing; one connection limit for them all; a
//! shutdown that closes every core's connections and resets none of the
//! ones queued in a backlog; a summary with each core's share.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use tests::{connect, pseudo_random_bytes, round_trip, start_server, Server, WATCHDOG};

/// Connections in the load tests.
const CONNECTIONS: usize = 400;

/// Client threads that share them.
const CLIENTS: usize = 8;

/// SIGTERM, then the summary line once the server exited 0.
fn stop(mut server: Server) -> String {
    server.signal("TERM");
    let status = server.wait_exit(WATCHDOG);
    assert!(status.success(), "{status:?}; stderr: {}", server.stderr());
    let out = server.wait_for_stdout("served ");
    out.lines()
        .find(|line| line.starts_with("served "))
        .expect("a summary line")
        .to_string()
}

/// The total and each core's connections from a summary line
/// `served T connections (core 0: A, core 1: B), ...`.
fn per_core(summary: &str) -> (u64, Vec<u64>) {
    let rest = summary.strip_prefix("served ").expect("summary");
    let (total, rest) = rest.split_once(" connections").expect("a count");
    let total = total.parse().expect("a number");
    let inner = rest
        .strip_prefix(" (")
        .and_then(|r| r.split_once(')'))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| panic!("no per-core counts: {summary}"));
    let cores = inner
        .split(", ")
        .enumerate()
        .map(|(i, part)| {
            let count = part
                .strip_prefix(&format!("core {i}: "))
                .unwrap_or_else(|| panic!("core {i} out of place: {summary}"));
            count.parse().expect("a number")
        })
        .collect();
    (total, cores)
}

/// `CONNECTIONS` connections from `CLIENTS` threads, each sending its own
/// bytes (a few KiB) and checking every byte of the echo, then closing.
fn load(addr: SocketAddr) {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            thread::spawn(move || {
                for n in (client..CONNECTIONS).step_by(CLIENTS) {
                    let mut stream = connect(addr);
                    let data = pseudo_random_bytes(1000 + 37 * n, n as u64 + 1);
                    round_trip(&mut stream, &data);
                    stream.shutdown(std::net::Shutdown::Write).unwrap();
                    let mut rest = Vec::new();
                    stream.read_to_end(&mut rest).expect("a clean end");
                    assert!(rest.is_empty(), "connection {n}: extra bytes");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
}

/// Asserts both cores served some of the `CONNECTIONS`, which add up.
#[track_caller]
fn assert_both_cores_served_all(summary: &str) {
    let (total, cores) = per_core(summary);
    assert_eq!(total, CONNECTIONS as u64, "{summary}");
    assert_eq!(cores.len(), 2, "{summary}");
    assert_eq!(cores.iter().sum::<u64>(), total, "{summary}");
    assert!(
        cores.iter().all(|&n| n > 0),
        "a core served none: {summary}"
    );
    let echoed: usize = (0..CONNECTIONS).map(|n| 1000 + 37 * n).sum();
    assert!(
        summary.contains(&format!("echoed {echoed} bytes")),
        "{summary}"
    );
}

#[test]
fn two_threads_serve_400_connections_on_both_cores_every_byte_echoed() {
    let server = start_server(&["--threads", "2", "--quiet"]);
    load(server.addr());
    assert_both_cores_served_all(&stop(server));
}

#[test]
fn the_acceptor_spreads_400_connections_over_both_cores() {
    let server = start_server(&["--threads", "2", "--balance", "acceptor", "--quiet"]);
    load(server.addr());
    let summary = stop(server);
    assert_both_cores_served_all(&summary);
}

/// Opens `count` connections, each echoing once so the server holds it.
fn open_idle(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|n| {
            let mut stream = connect(addr);
            round_trip(&mut stream, format!("hello {n}").as_bytes());
            stream
        })
        .collect()
}

/// Asserts `stream` reads end of stream (a FIN), not a reset, in time.
#[track_caller]
fn assert_clean_end(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "unexpected bytes {rest:?}"),
        Err(e) => panic!("not a clean end of stream: {e}"),
    }
}

#[test]
fn sigterm_closes_the_open_connections_of_both_cores() {
    for balance in ["reuseport", "acceptor"] {
        let server = start_server(&["--threads", "2", "--balance", balance, "--quiet"]);
        let mut open = open_idle(server.addr(), 20);
        let mut server = server;
        server.signal("TERM");
        for stream in &mut open {
            assert_clean_end(stream);
        }
        drop(open);
        let status = server.wait_exit(WATCHDOG);
        assert!(status.success(), "{balance}: {status:?}");
        let out = server.wait_for_stdout("served ");
        let summary = out.lines().find(|l| l.starts_with("served ")).unwrap();
        let (total, cores) = per_core(summary);
        assert_eq!(total, 20, "{balance}: {summary}");
        assert!(cores.iter().all(|&n| n > 0), "{balance}: {summary}");
        assert!(
            summary.contains("20 closed at once, 0 finished in grace, 0 forced"),
            "{balance}: {summary}"
        );
    }
}

#[test]
fn the_connection_limit_is_for_all_cores_and_queued_connections_are_not_reset() {
    let server = start_server(&["--threads", "2", "--max-conns", "2"]);
    let mut served = open_idle(server.addr(), 2);
    // Their handshakes complete in the kernel's backlogs, but no core
    // accepts them while two connections are open on the cores together.
    let mut queued: Vec<TcpStream> = (0..4).map(|_| connect(server.addr())).collect();
    for stream in &mut queued {
        stream.write_all(b"x").unwrap();
    }
    let first = &mut queued[0];
    first
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let err = first
        .read(&mut [0; 1])
        .expect_err("served beyond --max-conns");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    first.set_read_timeout(Some(WATCHDOG)).unwrap();
    assert_eq!(server.stderr().matches(": connected").count(), 2);

    // At the shutdown every core takes what is queued for it and says
    // goodbye: the peers read the echo or end of stream, never a reset.
    let summary = stop(server);
    for stream in served.iter_mut() {
        assert_clean_end(stream);
    }
    for stream in &mut queued {
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest);
        assert!(read.is_ok(), "a queued connection was reset: {read:?}");
        assert!(rest.is_empty() || rest == b"x", "{rest:?}");
    }
    let (total, _) = per_core(&summary);
    assert_eq!(total, 6, "every queued connection was accepted: {summary}");
}

#[test]
fn zero_threads_means_one_per_core() {
    let server = start_server(&["--threads", "0", "--quiet"]);
    let mut stream = connect(server.addr());
    round_trip(&mut stream, b"on every core");
    drop(stream);
    let summary = stop(server);
    assert!(summary.starts_with("served 1 connections"), "{summary}");
}
