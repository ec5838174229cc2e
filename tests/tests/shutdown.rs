//! `echo-server` shutting down on SIGINT and SIGTERM: idle connections are
//! closed at once with a FIN, busy ones get the grace period and every byte
//! they sent back, then a FIN; a second signal resets what is left; the
//! summary line counts each kind.

use std::io::{self, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use tests::{
    assert_same_bytes, connect, pseudo_random_bytes, push_until_blocked, round_trip, start_server,
    Server, WATCHDOG,
};

/// How soon after SIGTERM an idle client must see end of stream.
const IDLE_EOF_BOUND: Duration = Duration::from_millis(200);

/// A connection whose peer sent as much as the kernel's buffers take
/// without reading any echo: the server holds unechoed bytes and is
/// blocked writing. Returns the stream and the bytes it sent.
fn busy_connection(server: &Server, seed: u64) -> (TcpStream, Vec<u8>) {
    let stream = connect(server.addr());
    let chunk = pseudo_random_bytes(256 * 1024 + 7, seed);
    let limit = 256 << 20;
    let sent = push_until_blocked(&stream, &chunk, limit, Duration::from_millis(300));
    assert!(sent > 0 && sent < limit, "sent {sent} bytes");
    (stream, chunk.iter().copied().cycle().take(sent).collect())
}

/// Reads `stream` to its end: the bytes, and the error that ended it, if
/// any.
fn read_all(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e)),
        }
    }
}

#[test]
fn sigterm_closes_idle_connections_at_once_and_busy_ones_get_all_their_bytes() {
    let mut server = start_server(&["--grace", "5"]);
    let mut never_talked = connect(server.addr());
    let mut talked = connect(server.addr());
    round_trip(&mut talked, b"hello");
    let (mut busy, sent) = busy_connection(&server, 11);
    // Let the server see both idle ones settle.
    thread::sleep(Duration::from_millis(50));

    let signalled = Instant::now();
    server.signal("TERM");
    // The idle ones learn at once that the server is going: end of stream,
    // not a reset.
    for idle in [&mut talked, &mut never_talked] {
        idle.set_read_timeout(Some(IDLE_EOF_BOUND * 5)).unwrap();
        assert_eq!(idle.read(&mut [0; 8]).expect("EOF, not an error"), 0);
    }
    let waited = signalled.elapsed();
    assert!(
        waited < IDLE_EOF_BOUND,
        "the idle connections saw EOF {waited:?} after SIGTERM"
    );
    server.wait_for_stderr("shutting down");
    // New connections are refused.
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "still accepting"
    );
    assert!(server.is_running(), "the busy connection is still served");

    // The busy one gets every byte it sent back, then end of stream.
    let (got, error) = read_all(&mut busy);
    assert!(error.is_none(), "the busy connection failed: {error:?}");
    assert_same_bytes(&got, &sent);
    drop((busy, talked, never_talked));

    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(0));
    let summary = server.wait_for_stdout("served");
    assert!(
        summary.contains(&format!(
            "served 3 connections, echoed {} bytes, up ",
            5 + sent.len()
        )),
        "{summary}"
    );
    assert!(
        summary.contains("at shutdown 2 closed at once, 1 finished in grace, 0 forced"),
        "{summary}"
    );
}

#[test]
fn sigterm_with_no_open_connection_exits_at_once() {
    let mut server = start_server(&["--quiet"]);
    let mut stream = connect(server.addr());
    round_trip(&mut stream, b"x");
    drop(stream);
    // Let the server see the close before the signal.
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "waited for the grace period"
    );
    let summary = server.wait_for_stdout("served");
    assert!(
        summary.contains("served 1 connections, echoed 1 bytes")
            && summary.contains("at shutdown 0 closed at once, 0 finished in grace, 0 forced"),
        "{summary}"
    );
}

#[test]
fn at_the_end_of_the_grace_period_a_busy_connection_gets_what_was_read_then_eof() {
    let mut server = start_server(&["--grace", "1", "--quiet"]);
    // A peer that reads its echo slowly: the server always has bytes it
    // read and could not write back yet, all through the grace period.
    let (mut busy, sent) = busy_connection(&server, 13);
    server.signal("TERM");
    let signalled = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0; 16 * 1024];
    let error = loop {
        if signalled.elapsed() < Duration::from_millis(1500) {
            thread::sleep(Duration::from_millis(20));
        }
        match busy.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e),
        }
    };
    let waited = signalled.elapsed();
    assert!(error.is_none(), "a reset, not a FIN: {error:?}");
    assert!(
        waited >= Duration::from_secs(1),
        "closed {waited:?} after the signal, before the grace period ended"
    );
    // The server stopped reading: fewer bytes came back than were sent, and
    // they are exactly the first ones, nothing lost in the middle.
    assert!(got.len() < sent.len(), "all {} bytes came back", sent.len());
    assert_same_bytes(&got, &sent[..got.len()]);
    drop(busy);

    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(0));
    let summary = server.wait_for_stdout("served");
    assert!(
        summary.contains(&format!("echoed {} bytes", got.len())),
        "{summary}"
    );
    assert!(
        summary.contains("at shutdown 0 closed at once, 0 finished in grace, 1 forced"),
        "{summary}"
    );
}

#[test]
fn a_second_signal_resets_the_rest_at_once() {
    let mut server = start_server(&["--grace", "60"]);
    let mut idle = connect(server.addr());
    round_trip(&mut idle, b"hi");
    let (mut busy, sent) = busy_connection(&server, 12);
    server.signal("INT");
    server.wait_for_stderr("shutting down");
    assert_eq!(idle.read(&mut [0; 8]).unwrap(), 0, "the idle one sees EOF");
    let start = Instant::now();
    server.signal("INT");
    let status = server.wait_exit(WATCHDOG);
    assert_eq!(status.code(), Some(130));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the second signal did not end the shutdown at once"
    );
    // The busy one is cut off: a reset, or end of stream before all of
    // its bytes came back.
    let (got, error) = read_all(&mut busy);
    assert!(
        error.is_some() || got.len() < sent.len(),
        "all {} bytes came back after a forced close",
        sent.len()
    );
    if let Some(e) = error {
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    }
    let summary = server.wait_for_stdout("served");
    assert!(
        summary.contains("at shutdown 1 closed at once, 0 finished in grace, 1 forced"),
        "{summary}"
    );
}
