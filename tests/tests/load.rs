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

/// Runs `echo-client bench` with `args` (no server needed: the options
/// are refused before any connect).
fn bench_args(args: &[&str]) -> tests::Output {
    let mut command = Command::new(client_bin());
    command.args(["bench", "--addr", "127.0.0.1:9"]).args(args);
    run(&mut command, WATCHDOG)
}

#[test]
fn every_option_out_of_its_bounds_is_a_usage_error_naming_it() {
    let cases: &[(&[&str], &str)] = &[
        (&["--conns", "0"], "--conns"),
        (&["--conns", "50001"], "--conns"),
        (&["--size", "0"], "--size"),
        (&["--size", "1000000000000"], "--size"),
        (&["--depth", "0"], "--depth"),
        (&["--depth", "1000000000000"], "--depth"),
        (&["--duration", "0"], "--duration"),
        (&["--duration", "1e19"], "--duration"),
        (&["--duration=-1"], "--duration"),
        (&["--duration", "nan"], "--duration"),
        (&["--connect-timeout", "0"], "--connect-timeout"),
        (&["--connect-timeout", "3601"], "--connect-timeout"),
        // Each within its bound, but 160 GiB in flight together.
        (
            &["--conns", "10000", "--depth", "16", "--size", "1048576"],
            "--conns × --depth × --size",
        ),
        (&["--churn", "--depth", "2"], "--depth"),
    ];
    for (args, option) in cases {
        let output = bench_args(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", output.stderr);
        assert!(
            output.stderr.contains(option),
            "{args:?}: the message names {option}: {}",
            output.stderr
        );
        assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn the_largest_values_are_accepted() {
    // At the bounds the options are taken (the run then fails to connect
    // to a port nobody listens on, with exit status 1, not 2).
    let addr = tests::closed_port().to_string();
    let mut command = Command::new(client_bin());
    command.args([
        "bench", "--addr", &addr, "--conns", "1", "--size", "16777216",
    ]);
    command.args(["--depth", "64", "--duration", "0.2"]);
    let output = run(&mut command, WATCHDOG);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("cannot connect"), "{stdout}");
}

#[test]
fn churn_echoes_on_a_new_connection_each_time() {
    let server = start_server(&["--quiet"]);
    let output = bench(server.addr(), &["--churn", "--conns", "4", "--size", "64"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", output.stderr);
    assert!(
        stdout.contains("each message on a new connection"),
        "{stdout}"
    );
    assert!(stdout.contains("errors: 0"), "{stdout}");
    let messages: u64 = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(messages > 4, "{stdout}");
    // Every message was its own connection: the server counted them.
    let mut server = server;
    server.signal("TERM");
    assert_eq!(server.wait_exit(WATCHDOG).code(), Some(0));
    let deadline = std::time::Instant::now() + WATCHDOG;
    while !server.stdout().contains("served") && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let summary = server.stdout();
    let served: u64 = summary
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {summary:?}"));
    assert_eq!(served, messages, "{summary}");
}

#[test]
fn churn_reports_a_corrupted_echo() {
    let addr = corrupting_server();
    let output = bench(addr, &["--churn", "--conns", "1", "--size", "200"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("the echo differs"), "{stdout}");
}

#[test]
fn a_closed_stdout_is_an_error_message_not_a_panic() {
    let server = start_server(&["--quiet"]);
    let mut command = Command::new(client_bin());
    command
        .args(["bench", "--addr", &server.addr().to_string()])
        .args(["--conns", "2", "--duration", "0.2"]);
    // Stdout is a pipe whose reader has gone, as with `| head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = command
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot spawn echo-client");
    let stderr = tests::Collector::new(child.stderr.take().expect("stderr is piped"));
    let status = tests::wait_with_timeout(&mut child, WATCHDOG);
    let stderr = String::from_utf8_lossy(&stderr.finish(WATCHDOG)).into_owned();
    assert!(!status.success(), "the report was lost: {stderr}");
    assert!(
        stderr.contains("cannot print the report") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
