//! `echo-client bench` (load mode) against the real server and against
//! servers that misbehave.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::thread;
use std::time::Duration;

use tests::{client_bin, run, start_server, WATCHDOG};

/// Runs `echo-client bench` against `addr` for `secs` seconds.
fn bench(addr: SocketAddr, extra: &[&str]) -> tests::Output {
    let mut command = Command::new(client_bin());
    command
        .args(["bench", "--addr", &addr.to_string(), "--duration", "0.5"])
        .args(extra);
    run(&mut command, WATCHDOG)
}

/// A server that echoes like the real one but flips one byte of every
/// connection's 100th byte, from a plain thread per connection.
fn corrupting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(WATCHDOG));
                let mut buf = [0; 4096];
                let mut seen = 0usize;
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    if seen <= 100 && 100 < seen + n {
                        buf[100 - seen] ^= 0x20;
                    }
                    seen += n;
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_short_run_against_the_server_reports_and_exits_zero() {
    let server = start_server(&["--quiet"]);
    let output = bench(
        server.addr(),
        &["--conns", "8", "--size", "700", "--depth", "4"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        output.stderr.clone()
    );
    assert!(stdout.contains(" msg/s, "), "{stdout}");
    assert!(stdout.contains("MiB/s"), "{stdout}");
    assert!(
        stdout.contains("p50") && stdout.contains("p999") && stdout.contains("max"),
        "{stdout}"
    );
    assert!(stdout.contains("errors: 0"), "{stdout}");
    let messages: u64 = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(messages > 0, "{stdout}");
    // Piped, there is no progress line: stderr stays empty.
    assert!(output.stderr.is_empty(), "{}", output.stderr.clone());
}

#[test]
fn a_corrupted_echo_is_an_error_and_a_non_zero_exit() {
    let addr = corrupting_server();
    let output = bench(addr, &["--conns", "2", "--size", "64"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("errors: 2"), "{stdout}");
    assert!(stdout.contains("echo differs at byte"), "{stdout}");
}

#[test]
fn a_server_that_closes_early_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        // Accept one connection, read a little, and hang up.
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.read(&mut [0; 16]);
            thread::sleep(Duration::from_millis(50));
        }
    });
    let output = bench(addr, &["--conns", "1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("errors: 1"), "{stdout}");
}

#[test]
fn zero_connections_is_a_clear_error() {
    let server = start_server(&["--quiet"]);
    let output = bench(server.addr(), &["--conns", "0"]);
    assert!(!output.status.success());
    let stderr = output.stderr.clone();
    assert!(stderr.contains("must be at least 1"), "{stderr}");
}
