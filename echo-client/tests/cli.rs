//! The `echo-client` command line: help, bad flags, nothing to connect to.
//!
//! These live in this package so that cargo builds the binary before any
//! test of the workspace runs; the end-to-end tests are in `tests/`.

use tests::Output;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_echo-client");

/// Runs the client with `args`, stdin empty, under the tests' watchdog.
fn run(args: &[&str]) -> Output {
    tests::run_args(BIN, args)
}

#[test]
fn help_exits_zero_and_mentions_addr() {
    let output = run(&["--help"]);
    assert!(output.status.success(), "{:?}", output.status);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--addr"), "{help}");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    tests::assert_unknown_flag_is_a_usage_error(BIN);
}

#[test]
fn a_closed_port_is_a_one_line_error() {
    // A port just bound and released: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let output = run(&["--addr", &addr]);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stderr = output.stderr;
    assert!(
        stderr.starts_with(&format!("echo-client: cannot connect to {addr}: ")),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "the reason is given: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
    assert!(output.stdout.is_empty(), "no prompt, no output");
}
