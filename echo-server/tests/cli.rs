//! The `echo-server` command line: help, bad flags, an address in use.
//!
//! These live in this package so that cargo builds the binary before any
//! test of the workspace runs; the end-to-end tests are in `tests/`.

use std::io::Read;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_echo-server");

/// How long any run may take before the test kills it and fails.
const WATCHDOG: Duration = Duration::from_secs(10);

/// Runs the server with `args`, stdin empty, and collects its output,
/// killing it if it runs past the watchdog.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-server");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + WATCHDOG;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("wait for echo-server") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("echo-server {args:?} still running after {WATCHDOG:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

#[test]
fn help_exits_zero_and_mentions_addr() {
    let output = run(&["--help"]);
    assert!(output.status.success(), "{:?}", output.status);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--addr"), "{help}");
    assert!(help.contains("--quiet"), "{help}");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let output = run(&["--no-such-flag"]);
    assert!(!output.status.success(), "{:?}", output.status);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("error: unexpected argument '--no-such-flag'"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage:"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&["--addr", &addr]);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stderr = String::from_utf8(output.stderr).unwrap();
    let prefix = format!("echo-server: cannot listen on {addr}: ");
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(stderr.contains("in use"), "the reason is given: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
    assert!(output.stdout.is_empty(), "no `listening on` line");
}

#[test]
fn a_malformed_address_is_a_clear_error() {
    let output = run(&["--addr", "not an address"]);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("echo-server: cannot listen on not an address: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
}
