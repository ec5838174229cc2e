//! `echo-server --trace` and `echo-client --trace`: the runtime's event
//! trace tells one echo's story in order, and SIGUSR1 prints a task dump.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use tests::{client_bin, connect, finish, start_server, WATCHDOG};

/// The index of the first line of `lines`, from `from` on, that contains
/// every one of `words`.
fn find(lines: &[&str], from: usize, words: &[&str]) -> Option<usize> {
    (from..lines.len()).find(|&i| words.iter().all(|w| lines[i].contains(w)))
}

/// Checks that `trace` has, in this order, a line for each entry of
/// `steps` (a line that contains all of that entry's words), and returns
/// the line numbers.
fn assert_in_order(trace: &str, steps: &[&[&str]]) -> Vec<usize> {
    let lines: Vec<&str> = trace.lines().collect();
    let mut at = 0;
    let mut found = Vec::new();
    for step in steps {
        match find(&lines, at, step) {
            Some(i) => {
                found.push(i);
                at = i + 1;
            }
            None => panic!("no line with {step:?} after line {at} of the trace:\n{trace}"),
        }
    }
    found
}

#[test]
fn the_server_trace_tells_an_echo_from_accept_to_close() {
    let mut server = start_server(&["--trace"]);
    let mut client = connect(server.addr());
    let port = client.local_addr().unwrap().port();
    let conn = format!("\"conn 127.0.0.1:{port}\"");
    client.write_all(b"hello trace\n").unwrap();
    let mut back = [0; 12];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello trace\n");
    drop(client);
    server.wait_for_stderr(&format!("{conn} finished"));
    server.signal("TERM");
    assert!(server.wait_exit(WATCHDOG).success());
    let trace = server.stderr();
    let accepted = trace
        .lines()
        .find_map(|line| line.split("accepted fd ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no accept in the trace:\n{trace}"));
    let fd = format!("fd {accepted} ");
    assert_in_order(
        &trace,
        &[
            &["turn: epoll_wait", "1 event"],
            &["readable", "wakes"],
            // The poll's line comes at its end, after what it spawned.
            &[&conn, "spawned"],
            &["polled", "accepted fd"],
            &[&fd, "readable", "wakes task", &conn],
            &[&conn, "polled", "read 12 B", "wrote 12 B", "parked on"],
            &[&fd, "read-closed", &conn],
            &[&fd, "deregistered"],
            &[&conn, "read 0 B", "done"],
            &[&conn, "finished"],
        ],
    );
}

#[test]
fn sigusr1_dumps_the_servers_tasks() {
    let server = start_server(&["--quiet"]);
    let client = connect(server.addr());
    let port = client.local_addr().unwrap().port();
    // The connection's task exists once the server echoed something.
    let mut stream = &client;
    stream.write_all(b"x").unwrap();
    let mut byte = [0];
    stream.read_exact(&mut byte).unwrap();
    server.signal("USR1");
    let dump = server.wait_for_stderr("idle sweeper");
    let line = dump
        .lines()
        .find(|line| line.contains(&format!("\"conn 127.0.0.1:{port}\"")))
        .unwrap_or_else(|| panic!("the dump lacks the connection:\n{dump}"));
    assert!(
        line.contains("waiting on fd") && line.contains("readable"),
        "{line}"
    );
    assert!(dump.contains("live task(s)"), "{dump}");
    // The server goes on serving after a dump.
    stream.write_all(b"y").unwrap();
    stream.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"y");
}

#[test]
fn the_client_trace_shows_its_side_of_the_echo() {
    let server = start_server(&["--quiet"]);
    let addr = server.addr().to_string();
    let mut child = Command::new(client_bin())
        .args(["--trace", "--addr", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"traced line\n")
        .unwrap();
    let output = finish(child, WATCHDOG);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"traced line\n");
    let trace = &output.stderr;
    assert_in_order(trace, &[&["registered"], &["wrote 12 B"], &["read 12 B"]]);
}
