//! `echo-server` shutting down on SIGINT and SIGTERM: a grace period for
//! open connections, a summary line, exit status 0; a second signal closes
//! the rest at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use tests::{start_server, WATCHDOG};

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WATCHDOG)).unwrap();
    stream
}

/// Sends `data` and reads its echo.
fn round_trip(stream: &mut TcpStream, data: &[u8]) {
    stream.write_all(data).unwrap();
    let mut back = vec![0; data.len()];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(back, data);
}

/// Waits (at most the watchdog) until stdout has a line containing `needle`.
fn wait_for_stdout(server: &tests::Server, needle: &str) -> String {
    let deadline = Instant::now() + WATCHDOG;
    loop {
        let out = server.stdout();
        if out.contains(needle) {
            return out;
        }
        assert!(Instant::now() < deadline, "stdout lacks {needle:?}: {out}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigint_lets_open_connections_finish_then_closes_idle_ones_and_exits_zero() {
    let mut server = start_server(&["--grace", "1"]);
    let mut idle = connect(server.addr());
    round_trip(&mut idle, b"hello");
    let mut finishing = connect(server.addr());
    round_trip(&mut finishing, b"abc");

    server.signal("INT");
    server.wait_for_stderr("shutting down");
    // New connections are refused once the listener is closed.
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "still accepting"
    );
    // An open connection still works during the grace period.
    round_trip(&mut finishing, b"more");
    finishing.shutdown(Shutdown::Write).unwrap();
    assert_eq!(finishing.read(&mut [0; 8]).unwrap(), 0);

    // The idle one is closed when the grace period ends: it sees EOF.
    let start = Instant::now();
    assert_eq!(idle.read(&mut [0; 8]).unwrap(), 0);
    assert!(start.elapsed() < WATCHDOG);

    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(0));
    let summary = wait_for_stdout(&server, "served");
    assert!(
        summary.contains("served 2 connections, echoed 12 bytes, up "),
        "{summary}"
    );
    assert!(summary.contains("closed 1 unfinished"), "{summary}");
}

#[test]
fn sigterm_with_no_open_connection_exits_at_once() {
    let mut server = start_server(&["--quiet"]);
    let mut stream = connect(server.addr());
    round_trip(&mut stream, b"x");
    drop(stream);
    // Let the server see the close before the signal.
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "waited for the grace period"
    );
    let summary = wait_for_stdout(&server, "served");
    assert!(
        summary.contains("served 1 connections, echoed 1 bytes"),
        "{summary}"
    );
    assert!(!summary.contains("unfinished"), "{summary}");
}

#[test]
fn a_second_sigint_closes_the_rest_at_once() {
    let mut server = start_server(&["--grace", "60"]);
    let mut idle = connect(server.addr());
    round_trip(&mut idle, b"hi");
    server.signal("INT");
    server.wait_for_stderr("shutting down");
    server.signal("INT");
    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(130));
    assert_eq!(idle.read(&mut [0; 8]).unwrap(), 0, "the client sees EOF");
    let summary = wait_for_stdout(&server, "served");
    assert!(summary.contains("closed 1 unfinished"), "{summary}");
}
