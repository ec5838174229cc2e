//! `echo-server` answers every message at once, whatever its size: no
//! Nagle stall on a message that spans several writes.
//!
//! A server without `TCP_NODELAY` holds back the tail of each such echo
//! until the client's delayed ACK, about 40 ms later, so 100 messages would
//! take about 4 s; the bound below is a generous correctness bound, not a
//! speed test (the benchmarks measure speed).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use tests::{assert_same_bytes, connect, pseudo_random_bytes, start_server};

/// Messages per test, one in flight at a time.
const MESSAGES: usize = 100;

/// How long they may take in all: half of what the stalls alone would cost.
const BOUND: Duration = Duration::from_secs(2);

/// Sends `MESSAGES` messages of `size` bytes on one connection, each after
/// the echo of the one before came back whole and checked.
fn one_in_flight(size: usize) {
    let server = start_server(&["--quiet"]);
    let mut stream = connect(server.addr());
    // The client answers at once too, so only the server can stall.
    stream.set_nodelay(true).unwrap();
    let mut back = vec![0; size];
    let start = Instant::now();
    for i in 0..MESSAGES {
        let message = pseudo_random_bytes(size, i as u64 + 1);
        stream.write_all(&message).expect("send a message");
        stream.read_exact(&mut back).expect("read its echo");
        assert_same_bytes(&back, &message);
    }
    let took = start.elapsed();
    assert!(
        took < BOUND,
        "{MESSAGES} messages of {size} bytes, one in flight, took {took:?}"
    );
}

#[test]
fn a_hundred_messages_of_20000_bytes_come_back_without_stalls() {
    one_in_flight(20_000);
}

#[test]
fn a_hundred_messages_of_64_kib_come_back_without_stalls() {
    one_in_flight(64 * 1024);
}
