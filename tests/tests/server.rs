//! `echo-server` driven over loopback with plain blocking std sockets.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use std::process::Command;

use tests::{
    assert_same_bytes, cpu_time, pseudo_random_bytes, push_until_blocked, server_bin, start_server,
    start_server_command, Server, WATCHDOG,
};

/// Connects to `server` with read and write timeouts, so no test blocks
/// forever on a misbehaving server.
fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connect to echo-server");
    stream.set_read_timeout(Some(WATCHDOG)).unwrap();
    stream.set_write_timeout(Some(WATCHDOG)).unwrap();
    stream
}

/// Writes `data`, reads back exactly as many bytes, and checks they match.
fn round_trip(stream: &mut TcpStream, data: &[u8]) {
    stream.write_all(data).expect("write to echo-server");
    let mut back = vec![0; data.len()];
    stream.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, data);
}

/// Half-closes, then reads to EOF and returns what came.
fn finish(stream: &mut TcpStream) -> Vec<u8> {
    stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("read to EOF");
    rest
}

/// Makes closing `stream` send a RST instead of a FIN (`SO_LINGER` with a
/// zero timeout).
fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is an open socket owned by `stream` for the whole call,
    // and the pointer and length describe a live `linger` value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt SO_LINGER: {}",
        io::Error::last_os_error()
    );
}

#[test]
fn prints_its_address_and_echoes_a_round_trip() {
    let server = start_server(&[]);
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    let mut stream = connect(&server);
    round_trip(&mut stream, b"hello, echo\n");
    round_trip(&mut stream, b"second line\n");
    assert_eq!(finish(&mut stream), b"");
}

#[test]
fn reports_each_connection_on_stderr() {
    let server = start_server(&[]);
    let mut stream = connect(&server);
    let peer = stream.local_addr().unwrap();
    server.wait_for_stderr(&format!("{peer}: connected\n"));
    round_trip(&mut stream, b"hello");
    assert_eq!(finish(&mut stream), b"");
    let stderr = server.wait_for_stderr(&format!("{peer}: closed, 5 bytes echoed\n"));
    assert_eq!(
        stderr,
        format!("{peer}: connected\n{peer}: closed, 5 bytes echoed\n"),
        "stderr has exactly the two lines for the one connection"
    );
}

#[test]
fn quiet_prints_nothing_per_connection() {
    let server = start_server(&["--quiet"]);
    for _ in 0..3 {
        let mut stream = connect(&server);
        round_trip(&mut stream, b"shh");
        assert_eq!(finish(&mut stream), b"");
    }
    // The lines would be printed right after the server closes its side;
    // give a loud server ample time to have printed them.
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.stderr(), "");
}

#[test]
fn echoes_one_mebibyte_written_in_one_go() {
    let server = start_server(&["--quiet"]);
    let stream = connect(&server);
    let data = pseudo_random_bytes(1 << 20, 0x5eed);
    // Read concurrently: the server stops reading once its echo is not read,
    // so writing 1 MiB before reading would deadlock.
    let mut reader = stream.try_clone().unwrap();
    let reading = thread::spawn(move || {
        let mut back = Vec::new();
        reader.read_to_end(&mut back).map(|_| back)
    });
    let mut writer = &stream;
    writer.write_all(&data).expect("write 1 MiB");
    stream.shutdown(Shutdown::Write).unwrap();
    let back = reading.join().unwrap().expect("read the echo to EOF");
    assert_same_bytes(&back, &data);
}

#[test]
fn half_close_gets_the_echo_then_eof() {
    let server = start_server(&["--quiet"]);
    let mut stream = connect(&server);
    stream.write_all(b"abc").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut back = [0; 3];
    stream
        .read_exact(&mut back)
        .expect("the echo arrives after our FIN");
    assert_eq!(&back, b"abc");
    let mut more = [0; 1];
    assert_eq!(stream.read(&mut more).expect("then EOF, not an error"), 0);
}

#[test]
fn a_reset_ends_only_its_own_connection() {
    let server = start_server(&[]);
    let mut survivor = connect(&server);
    round_trip(&mut survivor, b"before");

    // The victim sends without reading until both directions are backed
    // up, so the server is in the middle of a transfer, then resets.
    let victim = connect(&server);
    let victim_addr = victim.local_addr().unwrap();
    let chunk = vec![0xab; 64 * 1024];
    let sent = push_until_blocked(&victim, &chunk, 32 << 20, Duration::from_millis(200));
    assert!(sent > 0);
    set_linger_zero(&victim);
    drop(victim);
    let stderr = server.wait_for_stderr(&format!("{victim_addr}: closed"));
    assert!(
        stderr.contains(&format!("{victim_addr}: closed with error: ")),
        "a reset connection is reported as an error:\n{stderr}"
    );

    round_trip(&mut survivor, b"after the reset");
    let mut newcomer = connect(&server);
    round_trip(&mut newcomer, b"new connection");
    assert_eq!(finish(&mut newcomer), b"");
    assert_eq!(finish(&mut survivor), b"");
}

#[test]
fn a_client_that_never_reads_does_not_grow_the_server() {
    /// What the test tries to push at the non-reading connection.
    const PUSH: usize = 64 << 20;
    /// The growth allowed: kernel socket buffers are not in the server's
    /// RSS, so a bounded server grows by about one buffer.
    const ALLOWED_GROWTH_KIB: u64 = 8 * 1024;

    let server = start_server(&["--quiet"]);
    // Warm up: one full connection, so allocator arenas and the first
    // buffer are already counted in the baseline.
    let mut warm = connect(&server);
    round_trip(&mut warm, &[1; 64 * 1024]);
    assert_eq!(finish(&mut warm), b"");
    let before = server.rss_kib();

    let hog = connect(&server);
    let chunk = pseudo_random_bytes(256 * 1024, 7);
    let sent = push_until_blocked(&hog, &chunk, PUSH, Duration::from_millis(500));

    // While the hog is stuck the server still serves others.
    let mut other = connect(&server);
    round_trip(&mut other, b"still serving");
    assert_eq!(finish(&mut other), b"");

    let after = server.rss_kib();
    let growth = after.saturating_sub(before);
    assert!(
        growth < ALLOWED_GROWTH_KIB,
        "echo-server grew by {growth} KiB ({before} -> {after}) while a client pushed {sent} bytes without reading"
    );
    assert!(
        sent < PUSH,
        "all {PUSH} bytes were accepted without the client reading: the server buffers without bound"
    );
}

#[test]
fn serves_many_connections_at_once() {
    const CONNECTIONS: usize = 32;
    let server = start_server(&["--quiet"]);
    let addr = server.addr();
    // All connect first, then all talk at once.
    let barrier = Arc::new(Barrier::new(CONNECTIONS));
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream.set_read_timeout(Some(WATCHDOG)).unwrap();
                stream.set_write_timeout(Some(WATCHDOG)).unwrap();
                barrier.wait();
                let data = pseudo_random_bytes(64 * 1024, i as u64 + 1);
                for piece in data.chunks(16 * 1024) {
                    round_trip(&mut stream, piece);
                }
                finish(&mut stream)
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("a connection failed"), b"");
    }
}

#[test]
fn running_out_of_file_descriptors_is_survived() {
    /// The server's descriptor limit: a handful for itself (stdio, epoll,
    /// eventfd, listener), the rest for connections.
    const FD_LIMIT: usize = 24;
    /// More connections than the limit allows at once.
    const CONNECTIONS: usize = 40;

    let mut server = start_server_command(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                r#"ulimit -n {FD_LIMIT} && exec "$0" --addr 127.0.0.1:0"#
            ))
            .arg(server_bin()),
    );
    // The kernel completes every handshake (the backlog is large); the
    // server can accept only some of them.
    let mut streams: Vec<_> = (0..CONNECTIONS).map(|_| connect(&server)).collect();
    let stderr = server.wait_for_stderr("cannot accept: ");
    assert!(stderr.contains("Too many open files"), "{stderr}");
    assert!(server.is_running(), "the server survives running out");
    assert_eq!(
        stderr.matches("cannot accept").count(),
        1,
        "running out is reported once: {stderr}"
    );

    // At the limit the server backs off instead of retrying accept in a
    // loop: over a second it uses a small fraction of a core (a busy loop
    // would use all of it).
    let cpu_before = cpu_time(server.pid());
    thread::sleep(Duration::from_secs(1));
    let cpu_used = cpu_time(server.pid()) - cpu_before;
    assert!(
        cpu_used < Duration::from_millis(300),
        "the server used {cpu_used:?} of CPU in 1 s while out of descriptors"
    );
    round_trip(&mut streams[0], b"an accepted connection still echoes");

    // The last connection waits in the backlog; its bytes are echoed once
    // descriptors are freed.
    let mut last = streams.pop().unwrap();
    last.write_all(b"queued").unwrap();
    for mut stream in streams.drain(..) {
        assert_eq!(finish(&mut stream), b"");
    }
    let mut back = [0; 6];
    last.read_exact(&mut back)
        .expect("the queued connection is served in the end");
    assert_eq!(&back, b"queued");
    server.wait_for_stderr("accepting again: file descriptors are available");
    let mut newcomer = connect(&server);
    round_trip(&mut newcomer, b"new connection");
    assert_eq!(finish(&mut newcomer), b"");
    assert_eq!(finish(&mut last), b"");
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = start_server(&["--idle-timeout", "1"]);
    let mut idle = connect(&server);
    let start = Instant::now();
    let mut buf = [0; 8];
    let n = idle
        .read(&mut buf)
        .expect("the server closes the idle connection gracefully");
    let waited = start.elapsed();
    assert_eq!(n, 0, "EOF, not data");
    assert!(
        waited >= Duration::from_secs(1),
        "closed early, after {waited:?}"
    );
    let stderr = server.wait_for_stderr("closed with error");
    assert!(stderr.contains("idle for 1 s"), "{stderr}");

    // A connection that keeps talking is not idle, however long it lives.
    let mut busy = connect(&server);
    for _ in 0..6 {
        round_trip(&mut busy, b"still here");
        thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(finish(&mut busy), b"");
}

#[test]
fn at_the_connection_limit_the_server_waits_before_accepting() {
    let server = start_server(&["--max-conns", "2"]);
    let mut first = connect(&server);
    let mut second = connect(&server);
    round_trip(&mut first, b"one");
    round_trip(&mut second, b"two");

    // The third handshake completes in the kernel's backlog, but the server
    // does not accept it while two connections are open.
    let mut third = connect(&server);
    third.write_all(b"three").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut back = [0; 5];
    let err = third
        .read(&mut back)
        .expect_err("served beyond --max-conns");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert_eq!(server.stderr().matches(": connected").count(), 2);

    // Once one connection ends, the waiting one is accepted and echoed.
    assert_eq!(finish(&mut first), b"");
    third.set_read_timeout(Some(WATCHDOG)).unwrap();
    third
        .read_exact(&mut back)
        .expect("served after a slot freed");
    assert_eq!(&back, b"three");
    assert_eq!(finish(&mut third), b"");
    assert_eq!(finish(&mut second), b"");
}
