//! The `echo-server` command line: help, bad flags, an address in use.
//!
//! These live in this package so that cargo builds the binary before any
//! test of the workspace runs; the end-to-end tests are in `tests/`.

use tests::Output;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_echo-server");

/// Runs the server with `args`, stdin empty, under the tests' watchdog.
fn run(args: &[&str]) -> Output {
    tests::run_args(BIN, args)
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
    tests::assert_unknown_flag_is_a_usage_error(BIN);
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&["--addr", &addr]);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stderr = output.stderr;
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
    let stderr = output.stderr;
    assert!(
        stderr.starts_with("echo-server: cannot listen on not an address: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
}

#[test]
fn numeric_options_out_of_their_bounds_are_usage_errors_naming_them() {
    let cases: &[(&[&str], &str)] = &[
        (&["--idle-timeout", "86401"], "--idle-timeout"),
        (&["--idle-timeout=-1"], "--idle-timeout"),
        (&["--grace", "3601"], "--grace"),
        (&["--grace", "1e3"], "--grace"),
        (&["--max-conns", "0"], "--max-conns"),
        (&["--max-conns", "1000001"], "--max-conns"),
        (&["--threads", "1025"], "--threads"),
        (&["--threads=-1"], "--threads"),
        (&["--threads", "two"], "--threads"),
        (&["--threads", ""], "--threads"),
        (&["--balance", "random"], "--balance"),
    ];
    for (args, option) in cases {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", output.stderr);
        assert!(
            output.stderr.contains(option),
            "{args:?}: the message names {option}: {}",
            output.stderr
        );
        assert!(output.stdout.is_empty(), "{args:?}: no `listening on` line");
    }
}

#[test]
fn a_bad_thread_count_says_what_is_allowed() {
    let output = run(&["--threads", "100000"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("0..=1024"), "{}", output.stderr);
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
}

#[test]
fn an_address_in_use_is_a_clear_error_with_several_threads() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for balance in ["reuseport", "acceptor"] {
        let output = run(&["--addr", &addr, "--threads", "2", "--balance", balance]);
        assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
        let prefix = format!("echo-server: cannot listen on {addr}: ");
        assert!(output.stderr.starts_with(&prefix), "{}", output.stderr);
        assert_eq!(output.stderr.lines().count(), 1, "{}", output.stderr);
        assert!(output.stdout.is_empty(), "no `listening on` line");
    }
}
