//! `echo-client` against a real `echo-server`, with stdin every kind of
//! non-terminal: a pipe, a regular file, `/dev/null`, and closed.

use std::fs::File;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tests::{
    assert_same_bytes, client_bin, closed_port, fd_status_flags, finish, pseudo_random_bytes, run,
    start_server, wait_with_timeout, Collector, Server, O_NONBLOCK, WATCHDOG,
};

/// Input with every byte value, no trailing newline, and a NUL in the
/// middle of a line: the client must pass bytes, not text.
fn binary_input() -> Vec<u8> {
    let mut data = b"hello\nworld\n".to_vec();
    data.extend((0..=255u8).cycle().take(3000));
    data.extend_from_slice(b"\0in the middle\r\nno newline at the end");
    data
}

/// A client command aimed at `server`.
fn client(server: &Server) -> Command {
    let mut command = Command::new(client_bin());
    command.arg("--addr").arg(server.addr().to_string());
    command
}

/// A pipe whose two ends are close-on-exec, so no child inherits them by
/// accident (only a child given an end as stdin gets that end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid, writable array of two ints, as pipe2 needs.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Sets `O_NONBLOCK` on `fd`'s open file description.
fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: `fd` is open for the whole call; F_GETFL takes no argument.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL: {}", io::Error::last_os_error());
    // SAFETY: as above; F_SETFL takes an int of flags.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    assert_eq!(rc, 0, "F_SETFL: {}", io::Error::last_os_error());
}

/// Asserts the client exited 0 having printed exactly `expected` and
/// nothing on stderr.
#[track_caller]
fn assert_echoed(output: &tests::Output, expected: &[u8]) {
    assert!(
        output.status.success(),
        "{:?}; stderr: {}",
        output.status,
        output.stderr
    );
    assert_same_bytes(&output.stdout, expected);
    assert_eq!(output.stderr, "", "nothing on stderr");
}

#[test]
fn stdin_a_pipe_is_echoed_exactly() {
    let server = start_server(&["--quiet"]);
    let data = binary_input();
    let mut child = client(&server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.clone();
    let feeder = thread::spawn(move || stdin.write_all(&input));
    let output = finish(child, WATCHDOG);
    feeder
        .join()
        .unwrap()
        .expect("the client read all its stdin");
    assert_echoed(&output, &data);
}

#[test]
fn stdin_a_regular_file_is_echoed_exactly() {
    let server = start_server(&["--quiet"]);
    let data = binary_input();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("client-stdin-{}.bin", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let file = File::open(&path).unwrap();
    let output = run(client(&server).stdin(Stdio::from(file)), WATCHDOG);
    let _ = std::fs::remove_file(&path);
    assert_echoed(&output, &data);
}

#[test]
fn stdin_dev_null_prints_nothing_and_succeeds() {
    let server = start_server(&[]);
    let output = run(client(&server).stdin(Stdio::null()), WATCHDOG);
    assert_echoed(&output, b"");
    // It did connect, and closed cleanly.
    server.wait_for_stderr(": closed, 0 bytes echoed\n");
}

#[test]
fn stdin_closed_prints_nothing_and_succeeds() {
    let server = start_server(&[]);
    let output = run(
        Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" --addr "$1" <&-"#)
            .arg(client_bin())
            .arg(server.addr().to_string()),
        WATCHDOG,
    );
    assert_echoed(&output, b"");
    server.wait_for_stderr(": closed, 0 bytes echoed\n");
}

#[test]
fn fdinfo_flags_show_nonblocking_set_through_another_descriptor() {
    // The check used below must be able to fail: O_NONBLOCK set through one
    // descriptor shows in the fdinfo of a duplicate, because both share the
    // open file description (as the client's stdin shares ours).
    let (read, _write) = pipe();
    let copy = read.try_clone().unwrap();
    assert_eq!(fd_status_flags(copy.as_raw_fd()) & O_NONBLOCK, 0);
    set_nonblocking(&read);
    assert_ne!(fd_status_flags(copy.as_raw_fd()) & O_NONBLOCK, 0);
}

#[test]
fn sixteen_mebibytes_through_a_pipe_and_stdin_flags_are_untouched() {
    const SIZE: usize = 16 << 20;
    let server = start_server(&["--quiet"]);
    let data = pseudo_random_bytes(SIZE, 0x1234_5678_9abc_def1);

    let (read, write) = pipe();
    // Our own descriptor on the pipe's read side, to look at its flags.
    let ours = read.try_clone().unwrap();
    let flags_before = fd_status_flags(ours.as_raw_fd());
    assert_eq!(flags_before & O_NONBLOCK, 0);

    let mut command = client(&server);
    command
        .stdin(Stdio::from(read))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("spawn echo-client");
    // Drop the Command's copy of the read end.
    drop(command);

    let input = data.clone();
    let feeder = thread::spawn(move || {
        let mut pipe = File::from(write);
        pipe.write_all(&input)
        // The write end closes here: the client sees EOF.
    });
    let output = finish(child, Duration::from_secs(60));
    feeder
        .join()
        .unwrap()
        .expect("the client read all its stdin");
    assert!(
        output.status.success(),
        "{:?}; stderr: {}",
        output.status,
        output.stderr
    );
    assert_eq!(output.stderr, "");
    assert_same_bytes(&output.stdout, &data);

    let flags_after = fd_status_flags(ours.as_raw_fd());
    assert_eq!(
        flags_after & O_NONBLOCK,
        0,
        "the client left its stdin (our pipe) nonblocking: flags {flags_after:o}"
    );
    assert_eq!(
        flags_after, flags_before,
        "stdin's file status flags changed"
    );
}

#[test]
fn the_server_going_away_is_noticed_at_once() {
    let mut server = start_server(&[]);
    let mut child = client(&server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    // stdin stays open until the end of the test.
    let mut stdin = child.stdin.take().unwrap();
    let stdout = Collector::new(child.stdout.take().unwrap());
    let stderr = Collector::new(child.stderr.take().unwrap());

    stdin.write_all(b"ping\n").unwrap();
    let deadline = Instant::now() + WATCHDOG;
    while stdout.text() != "ping\n" {
        assert!(
            Instant::now() < deadline,
            "no echo within {WATCHDOG:?}: {:?}",
            stdout.text()
        );
        thread::sleep(Duration::from_millis(5));
    }

    server.kill();
    let status = wait_with_timeout(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "{status:?}");
    let stderr = String::from_utf8(stderr.finish(WATCHDOG)).unwrap();
    assert_eq!(stderr, "echo-client: the server closed the connection\n");
    assert_eq!(stdout.finish(WATCHDOG), b"ping\n");
    drop(stdin);
}

#[test]
fn the_server_dying_mid_transfer_ends_the_client_cleanly() {
    let mut server = start_server(&["--quiet"]);
    let mut child = client(&server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = Collector::new(child.stdout.take().unwrap());
    let stderr = Collector::new(child.stderr.take().unwrap());
    // Feed without end (up to a bound) until the client is gone.
    let feeder = thread::spawn(move || {
        let chunk = pseudo_random_bytes(64 * 1024, 99);
        for _ in 0..(1 << 14) {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    while stdout.len() < 1 << 20 {
        assert!(
            Instant::now() < deadline,
            "only {} bytes echoed in {WATCHDOG:?}",
            stdout.len()
        );
        thread::sleep(Duration::from_millis(5));
    }

    // Killed with unread data, the server's kernel resets the connection.
    server.kill();
    let status = wait_with_timeout(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "{status:?}");
    let stderr = String::from_utf8(stderr.finish(WATCHDOG)).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
    assert!(
        stderr == "echo-client: the server closed the connection\n"
            || stderr.starts_with("echo-client: the connection failed: "),
        "{stderr}"
    );
    stdout.finish(WATCHDOG);
    feeder.join().unwrap();
}

#[test]
fn a_closed_port_is_one_line_naming_the_address() {
    let addr = closed_port().to_string();
    let mut child = Command::new(client_bin())
        .arg("--addr")
        .arg(&addr)
        // stdin open and silent: the client must not wait for it.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    let stdin = child.stdin.take().unwrap();
    let output = finish(child, WATCHDOG);
    drop(stdin);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    assert!(
        output
            .stderr
            .starts_with(&format!("echo-client: cannot connect to {addr}: ")),
        "{}",
        output.stderr
    );
    assert_eq!(
        output.stderr.lines().count(),
        1,
        "one line, no panic: {}",
        output.stderr
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn sigint_with_piped_input_exits_130() {
    let server = start_server(&[]);
    let mut child = client(&server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdout = Collector::new(child.stdout.take().unwrap());
    input.write_all(b"ping").unwrap();
    let deadline = Instant::now() + WATCHDOG;
    while stdout.len() < 4 {
        assert!(Instant::now() < deadline, "no echo");
        thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = wait_with_timeout(&mut child, WATCHDOG);
    assert_eq!(status.code(), Some(130));
    drop(input);
}

/// A loopback listener whose accept queue is full (listen backlog 0, and
/// connections that are never accepted), so that the kernel drops further
/// SYNs: a connect to it hangs until its timeout. `None` (with the reason)
/// if this kernel answers such a connect anyway.
fn black_hole() -> Result<(OwnedFd, Vec<TcpStream>, SocketAddr), String> {
    // SAFETY: plain socket(2) with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
    // SAFETY: socket returned this fd, and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: the fd is open; the pointer and length describe `addr`.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "bind: {}", io::Error::last_os_error());
    // SAFETY: the fd is an open, bound socket.
    let rc = unsafe { libc::listen(fd.as_raw_fd(), 0) };
    assert_eq!(rc, 0, "listen: {}", io::Error::last_os_error());
    let mut bound: libc::sockaddr_in = addr;
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: the pointers describe `bound` and `len`, live for the call.
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut bound as *mut libc::sockaddr_in).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockname: {}", io::Error::last_os_error());
    let addr = SocketAddr::from(([127, 0, 0, 1], u16::from_be(bound.sin_port)));
    // Fill the accept queue: backlog 0 still holds one connection.
    let mut fillers = Vec::new();
    for _ in 0..2 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
            Err(e) => return Err(format!("filling the backlog: {e}")),
        }
    }
    // The check the test depends on: a plain connect now times out.
    match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok((fd, fillers, addr)),
        Ok(_) => Err("a connect to a full backlog was answered".into()),
        Err(e) => Err(format!("a connect to a full backlog failed at once: {e}")),
    }
}

#[test]
fn a_connect_that_gets_no_answer_times_out_naming_the_address_and_the_timeout() {
    let (_listener, _fillers, addr) = match black_hole() {
        Ok(hole) => hole,
        Err(reason) => {
            eprintln!("skipped: cannot make an address that drops SYNs here: {reason}");
            return;
        }
    };
    let addr = addr.to_string();
    let start = Instant::now();
    let mut child = Command::new(client_bin())
        .args(["--connect-timeout", "1", "--addr", &addr])
        // stdin open and silent: the client must not wait for it.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn echo-client");
    let stdin = child.stdin.take().unwrap();
    let output = finish(child, Duration::from_secs(5));
    let waited = start.elapsed();
    drop(stdin);
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    assert_eq!(
        output.stderr,
        format!("echo-client: cannot connect to {addr}: no answer within 1 s\n")
    );
    assert!(
        waited >= Duration::from_millis(950),
        "gave up after {waited:?}, before the timeout"
    );
    assert!(output.stdout.is_empty());

    // The load mode times out the same way, and says so per connection.
    let output = run(
        Command::new(client_bin())
            .args(["bench", "--connect-timeout", "1", "--addr", &addr])
            .args(["--conns", "1", "--duration", "1"])
            .stdin(Stdio::null()),
        Duration::from_secs(5),
    );
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "connection 0: cannot connect to {addr}: no answer within 1 s"
        )),
        "{stdout}"
    );
}
