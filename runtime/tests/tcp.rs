//! TCP over loopback: accept/connect, EOF, half-close, refused connects,
//! fd-number reuse, edge-triggered draining, many concurrent echo
//! connections, resets, SIGPIPE, several waiters on one stream, no fd
//! leak when a runtime with thousands of socket-holding tasks is dropped,
//! and sockets that outlive their runtime failing instead of waiting.
//!
//! Every test takes [`util::fd_shared`] (or `fd_exclusive` when it counts
//! or relies on fd numbers) and runs under [`util::deadline`].

mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::task::{yield_now, JoinHandle};
use runtime::time::timeout;
use runtime::Runtime;
use util::{deadline, tcp_pair, XorShift};

/// Echoes everything read from `stream` through a `buf_size` buffer until
/// EOF; returns the number of bytes echoed. Dropping the stream at the end
/// sends FIN.
async fn echo(stream: TcpStream, buf_size: usize) -> io::Result<u64> {
    let mut buf = vec![0; buf_size];
    let mut total = 0;
    loop {
        let n = (&stream).read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        (&stream).write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// `n` random bytes.
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Writes `data` from one task while another reads it back; returns what
/// was read until EOF. The writer half-closes when done.
async fn round_trip(stream: TcpStream, data: Rc<Vec<u8>>) -> io::Result<Vec<u8>> {
    let stream = Rc::new(stream);
    let writer = runtime::spawn({
        let stream = stream.clone();
        async move {
            (&*stream).write_all(&data).await?;
            (&*stream).shutdown().await
        }
    });
    let mut echoed = Vec::new();
    (&*stream).read_to_end(&mut echoed).await?;
    writer.await??;
    Ok(echoed)
}

#[test]
fn accept_and_connect_agree_on_addresses() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("accept/connect", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);

        // Several connections queue up before any accept.
        let mut clients = Vec::new();
        for _ in 0..5 {
            clients.push(TcpStream::connect(addr).await?);
        }
        for client in &clients {
            let (server, peer) = listener.accept().await?;
            assert_eq!(peer, client.local_addr()?);
            assert_eq!(server.peer_addr()?, client.local_addr()?);
            assert_eq!(server.local_addr()?, client.peer_addr()?);
            assert_eq!(client.peer_addr()?, addr);
            client.set_nodelay(true)?;
            assert!(client.nodelay()?);
            assert!(client.take_error()?.is_none());
        }

        // `incoming` yields further connections.
        let client = TcpStream::connect(addr).await?;
        let mut incoming = listener.incoming();
        let server = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx))
            .await
            .expect("incoming never ends")?;
        assert_eq!(server.peer_addr()?, client.local_addr()?);

        // An accept waiting before the connect is woken by it.
        let listener = Rc::new(listener);
        let acceptor = runtime::spawn({
            let listener = listener.clone();
            async move { listener.accept().await.map(|(_, peer)| peer) }
        });
        yield_now().await;
        assert!(!acceptor.is_finished());
        let late = TcpStream::connect(addr).await?;
        assert_eq!(acceptor.await??, late.local_addr()?);
        io::Result::Ok(())
    }))
    .unwrap();
}

#[test]
fn bytes_flow_both_ways() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("ping-pong", async {
        let (mut client, mut server) = tcp_pair().await;
        for i in 0..100u32 {
            client.write_all(&i.to_le_bytes()).await?;
            let mut buf = [0; 4];
            server.read_exact(&mut buf).await?;
            assert_eq!(u32::from_le_bytes(buf), i);
            server.write_all(&buf).await?;
            client.read_exact(&mut buf).await?;
            assert_eq!(u32::from_le_bytes(buf), i);
        }
        client.flush().await?;
        io::Result::Ok(())
    }))
    .unwrap();
}

#[test]
fn data_sent_before_the_accept_is_read() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("early data", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        client.write_all(b"early").await?;
        client.close().await?;
        // The accepted socket is registered while already readable.
        let (mut server, _) = listener.accept().await?;
        let mut got = Vec::new();
        server.read_to_end(&mut got).await?;
        assert_eq!(got, b"early");
        io::Result::Ok(())
    }))
    .unwrap();
}

#[test]
fn the_peer_closing_gives_eof() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("EOF", async {
        let (mut client, mut server) = tcp_pair().await;
        // A reader parked before the close is woken by it.
        let reader = runtime::spawn(async move {
            let mut got = Vec::new();
            let n = server.read_to_end(&mut got).await?;
            assert_eq!(n, got.len());
            // EOF stays EOF.
            assert_eq!(server.read(&mut [0; 16]).await?, 0);
            assert_eq!(server.read(&mut [0; 16]).await?, 0);
            io::Result::Ok(got)
        });
        yield_now().await;
        client.write_all(b"last words").await?;
        drop(client);
        assert_eq!(reader.await??, b"last words");

        // `read_exact` at EOF is UnexpectedEof.
        let (client, mut server) = tcp_pair().await;
        drop(client);
        let err = server.read_exact(&mut [0; 4]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        // An empty buffer reads nothing and does not wait.
        assert_eq!(server.read(&mut []).await?, 0);
        io::Result::Ok(())
    }))
    .unwrap();
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("refused", async {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        for _ in 0..3 {
            let err = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        }
        // The failed sockets were closed and deregistered.
        assert_eq!(runtime::metrics().io_registrations, 0);
    }));
}

#[test]
fn try_read_and_try_write_do_not_wait() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("try_*", async {
        let (client, server) = tcp_pair().await;
        let err = server.try_read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert_eq!(client.try_write(b"now")?, 3);
        server.readable().await?;
        let mut buf = [0; 8];
        assert_eq!(server.try_read(&mut buf)?, 3);
        assert_eq!(&buf[..3], b"now");
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // A fresh connection is writable.
        client.writable().await?;
        io::Result::Ok(())
    }))
    .unwrap();
}

/// Opens `old`, makes an event pending for it, closes it, and opens a new
/// stream on the same fd number: the new stream must not see the old
/// stream's event. `keep_description` keeps the old socket's open file
/// description alive through a `dup`, so that, if the runtime forgot
/// `EPOLL_CTL_DEL`, epoll would keep reporting it under the old token.
async fn fd_reuse(keep_description: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Sockets kept open to fill holes in the fd table below the old fd.
    let mut fillers = Vec::new();
    for _attempt in 0..64 {
        let old = TcpStream::connect(addr).await.unwrap();
        let (mut old_peer, _) = listener.accept().await.unwrap();
        let dup = keep_description.then(|| {
            // SAFETY: `old` is an open fd; `dup` returns a new fd we own.
            let fd = unsafe { libc::dup(old.as_raw_fd()) };
            assert!(fd >= 0, "dup: {}", io::Error::last_os_error());
            // SAFETY: `fd` is a fresh, open fd owned by nobody else.
            unsafe { OwnedFd::from_raw_fd(fd) }
        });
        if !keep_description {
            // Data for `old`: an event becomes pending in epoll, and no
            // reactor turn consumes it before the close.
            old_peer.write_all(b"stale").await.unwrap();
        }
        let old_fd = old.as_raw_fd();
        drop(old);

        // `connect` creates its socket synchronously at the first poll,
        // taking the lowest free fd number.
        let new = TcpStream::connect(addr).await.unwrap();
        let (new_peer, _) = listener.accept().await.unwrap();
        if new.as_raw_fd() != old_fd {
            fillers.push((new, new_peer, old_peer, dup));
            continue;
        }
        if keep_description {
            // An event for the old description, after the new registration.
            old_peer.write_all(b"stale").await.unwrap();
        }

        // The new stream's peer wrote nothing: it is not readable.
        let waited = timeout(Duration::from_millis(50), new.readable()).await;
        assert!(
            waited.is_err(),
            "the new stream was woken by the old one's event"
        );
        let err = new.try_read(&mut [0; 16]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);

        if let Some(dup) = dup {
            // The stale data really was there, on the old description.
            let mut old_again = std::net::TcpStream::from(dup);
            let mut buf = [0; 5];
            old_again.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"stale");
        }

        // And the new stream works normally.
        (&new_peer).write_all(b"fresh").await.unwrap();
        let mut buf = [0; 5];
        (&new).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"fresh");
        drop(new_peer);
        return;
    }
    panic!("never got the same fd number back in 64 attempts");
}

#[test]
fn a_reused_fd_number_gets_no_event_of_the_closed_socket() {
    let _fds = util::fd_exclusive();
    runtime::block_on(deadline("fd reuse", fd_reuse(false)));
}

#[test]
fn a_reused_fd_number_gets_no_event_of_a_still_open_description() {
    let _fds = util::fd_exclusive();
    runtime::block_on(deadline("fd reuse with dup", fd_reuse(true)));
}

#[test]
fn edge_triggered_reads_drain_a_mebibyte_through_a_16_byte_buffer() {
    let _fds = util::fd_shared();
    const LEN: usize = 1 << 20;
    runtime::block_on(deadline("1 MiB through 16 bytes", async {
        let (client, server) = tcp_pair().await;
        let reads = Rc::new(Cell::new(0u64));
        let server_task = runtime::spawn({
            let reads = reads.clone();
            async move {
                let mut buf = [0; 16];
                let mut total = 0;
                loop {
                    let n = (&server).read(&mut buf).await?;
                    if n == 0 {
                        return io::Result::Ok(total);
                    }
                    reads.set(reads.get() + 1);
                    (&server).write_all(&buf[..n]).await?;
                    total += n;
                }
            }
        });
        let data = Rc::new(random_bytes(1, LEN));
        // `round_trip` writes the whole mebibyte in one `write_all` while
        // reading the echo concurrently.
        let echoed = round_trip(client, data.clone()).await?;
        assert_eq!(server_task.await??, LEN);
        assert!(reads.get() >= (LEN / 16) as u64);
        assert!(echoed == *data, "echoed bytes differ");
        io::Result::Ok(())
    }))
    .unwrap();
}

#[test]
fn half_close_lets_the_reply_through() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("half-close", async {
        let (mut client, server) = tcp_pair().await;
        let server = runtime::spawn(echo(server, 1024));
        client.write_all(b"abc").await?;
        client.shutdown().await?;
        let mut buf = [0; 3];
        client.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"abc");
        assert_eq!(client.read(&mut [0; 8]).await?, 0);
        assert_eq!(server.await??, 3);
        // Writing after our own shutdown fails cleanly.
        assert_eq!(
            client.write(b"x").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        io::Result::Ok(())
    }))
    .unwrap();
}

/// One connection's traffic: messages of random sizes up to 64 KiB, given
/// as `(offset, len)` into a shared random pattern.
fn messages(seed: u64, count: usize, pattern_len: usize) -> Vec<(usize, usize)> {
    let mut rng = XorShift::new(seed);
    (0..count)
        .map(|_| {
            // Sizes spread over every power of two up to 64 KiB.
            let bits = rng.below(17);
            let len = 1 + rng.below(1 << bits) as usize;
            let offset = rng.below((pattern_len - len) as u64) as usize;
            (offset, len)
        })
        .collect()
}

#[test]
fn two_hundred_connections_echo_every_byte() {
    let _fds = util::fd_shared();
    const CONNECTIONS: usize = 200;
    const MESSAGES: usize = 100;
    const PATTERN: usize = 1 << 17;
    let rt = Runtime::new().unwrap();
    rt.block_on(deadline("200 echo connections", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = runtime::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await?;
                echoes.push(runtime::spawn(echo(stream, 64 * 1024)));
            }
            let mut total = 0;
            for e in echoes {
                total += e.await??;
            }
            io::Result::Ok(total)
        });

        let pattern = Rc::new(random_bytes(99, PATTERN));
        let clients: Vec<JoinHandle<io::Result<u64>>> = (0..CONNECTIONS)
            .map(|c| {
                let pattern = pattern.clone();
                runtime::spawn(async move {
                    let stream = Rc::new(TcpStream::connect(addr).await?);
                    let plan = Rc::new(messages(c as u64, MESSAGES, PATTERN));
                    let writer = runtime::spawn({
                        let (stream, plan, pattern) =
                            (stream.clone(), plan.clone(), pattern.clone());
                        async move {
                            for &(offset, len) in plan.iter() {
                                (&*stream).write_all(&pattern[offset..offset + len]).await?;
                            }
                            (&*stream).shutdown().await
                        }
                    });
                    // Read and check against the same plan, as it arrives.
                    let mut buf = vec![0; 64 * 1024];
                    let mut msg = 0;
                    let mut pos = 0;
                    let mut total = 0u64;
                    loop {
                        let n = (&*stream).read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        total += n as u64;
                        let mut got = &buf[..n];
                        while !got.is_empty() {
                            let (offset, len) = *plan
                                .get(msg)
                                .unwrap_or_else(|| panic!("connection {c}: bytes beyond the end"));
                            let take = got.len().min(len - pos);
                            let want = &pattern[offset + pos..offset + pos + take];
                            assert!(
                                got[..take] == *want,
                                "connection {c}: message {msg} differs at {pos}"
                            );
                            got = &got[take..];
                            pos += take;
                            if pos == len {
                                msg += 1;
                                pos = 0;
                            }
                        }
                    }
                    assert_eq!(msg, MESSAGES, "connection {c}: EOF after {msg} messages");
                    writer.await??;
                    io::Result::Ok(total)
                })
            })
            .collect();

        let mut sent = 0;
        for client in clients {
            sent += client.await??;
        }
        assert_eq!(server.await??, sent);
        let expected: usize = (0..CONNECTIONS)
            .map(|c| {
                messages(c as u64, MESSAGES, PATTERN)
                    .iter()
                    .map(|m| m.1)
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(sent, expected as u64);
        io::Result::Ok(())
    }))
    .unwrap();
    assert_eq!(rt.metrics().tasks, 0);
    assert_eq!(rt.metrics().io_registrations, 0);
}

#[test]
fn a_peer_reset_mid_transfer_leaves_the_other_connections_alone() {
    let _fds = util::fd_shared();
    const HEALTHY: usize = 5;
    const LEN: usize = 256 * 1024;
    runtime::block_on(deadline("reset mid-transfer", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut servers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..=HEALTHY {
            clients.push(TcpStream::connect(addr).await?);
            let (server, _) = listener.accept().await?;
            servers.push(runtime::spawn(echo(server, 4096)));
        }
        let victim = clients.pop().unwrap();
        let victim_server = servers.pop().unwrap();

        let healthy: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, client)| {
                let data = Rc::new(random_bytes(i as u64, LEN));
                runtime::spawn(async move {
                    let echoed = round_trip(client, data.clone()).await?;
                    assert!(echoed == *data, "connection {i} corrupted");
                    io::Result::Ok(())
                })
            })
            .collect();

        // The victim sends, reads part of the echo, sends more, and resets
        // while the server is mid-echo.
        let victim = runtime::spawn(async move {
            let data = random_bytes(77, 32 * 1024);
            (&victim).write_all(&data).await?;
            let mut back = vec![0; 1024];
            (&victim).read_exact(&mut back).await?;
            assert_eq!(back, data[..1024]);
            // Whatever fits, without waiting.
            let _ = victim.try_write(&data);
            victim.set_linger(Some(Duration::ZERO))?;
            drop(victim); // RST
            io::Result::Ok(())
        });
        victim.await??;

        match victim_server.await {
            Ok(Ok(_)) => {} // EOF is acceptable
            Ok(Err(e)) => assert!(
                matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                "unexpected error after a reset: {e}"
            ),
            Err(join) => panic!("the server task failed: {join}"),
        }
        for h in healthy {
            h.await??;
        }
        for s in servers {
            assert_eq!(s.await??, LEN as u64);
        }
        io::Result::Ok(())
    }))
    .unwrap();
}

/// Makes `SIGPIPE` kill the process, as it does in a C program. The Rust
/// runtime ignores it by default, which would hide the bug under test.
fn default_sigpipe() {
    // SAFETY: installing the default disposition runs no handler code.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(old, libc::SIG_ERR);
}

#[test]
fn writing_to_a_reset_peer_is_an_error_not_sigpipe() {
    // In a child process: SIGPIPE there would kill only the child.
    util::in_child_process("writing_to_a_reset_peer_is_an_error_not_sigpipe", || {
        default_sigpipe();
        runtime::block_on(deadline("write after reset", async {
            for use_try_write in [false, true] {
                let (mut client, server) = tcp_pair().await;
                server.set_linger(Some(Duration::ZERO))?;
                drop(server);
                let mut errors = Vec::new();
                for _ in 0..100 {
                    let result = if use_try_write {
                        client.try_write(&[1; 1024])
                    } else {
                        client.write(&[1; 1024]).await
                    };
                    match result {
                        Ok(_) => yield_now().await,
                        Err(e) => {
                            errors.push(e.kind());
                            if errors.len() == 3 {
                                break;
                            }
                        }
                    }
                }
                assert_eq!(errors.len(), 3, "writes to a reset peer kept succeeding");
                for kind in errors {
                    assert!(
                        matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                        "unexpected error kind {kind:?}"
                    );
                }
                // write_all reports the error too, and so does a read.
                assert!(client.write_all(&[2; 4096]).await.is_err());
                let _ = client.read(&mut [0; 16]).await;
            }
            io::Result::Ok(())
        }))
        .unwrap();
    });
}

#[test]
fn running_out_of_fds_is_an_accept_error_and_the_listener_recovers() {
    // In a child process: it lowers the process-wide fd limit.
    util::in_child_process(
        "running_out_of_fds_is_an_accept_error_and_the_listener_recovers",
        || {
            runtime::block_on(deadline("EMFILE", async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                // Room for a few more fds only, then take all but one.
                let limit = libc::rlimit {
                    rlim_cur: (util::open_fd_count() + 8) as libc::rlim_t,
                    rlim_max: raise_fd_limit() as libc::rlim_t,
                };
                // SAFETY: `limit` is a valid rlimit; lowering the soft
                // limit needs no privilege.
                let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
                assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
                let mut fillers = Vec::new();
                loop {
                    match std::fs::File::open("/dev/null") {
                        Ok(f) => fillers.push(f),
                        Err(e) => {
                            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                            break;
                        }
                    }
                    assert!(fillers.len() < 1000, "the fd limit does not bite");
                }
                fillers.pop(); // exactly one fd free: for the client

                // Connecting takes the last fd; a further socket fails.
                let client = TcpStream::connect(addr).await?;
                let err = TcpStream::connect(addr).await.unwrap_err();
                assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                // The connection waits in the backlog; accepting it fails.
                let err = listener.accept().await.unwrap_err();
                assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                // With an fd free again, the same listener accepts it,
                // without a new readiness edge.
                fillers.pop();
                let (server, _) = listener.accept().await?;
                assert_eq!(server.peer_addr()?, client.local_addr()?);
                io::Result::Ok(())
            }))
            .unwrap();
        },
    );
}

#[test]
fn two_tasks_waiting_on_one_stream_are_both_woken() {
    let _fds = util::fd_shared();
    runtime::block_on(deadline("two waiters", async {
        let (client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let server = server.clone();
                runtime::spawn(async move { server.readable().await })
            })
            .collect();
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(readers.iter().all(|r| !r.is_finished()));
        (&client).write_all(b"x").await?;
        for r in readers {
            r.await??;
        }

        // The same for writers: fill the send buffer, then drain it.
        let client = Rc::new(client);
        let chunk = vec![0; 64 * 1024];
        let mut filled = 0;
        let mut blocked = false;
        for _ in 0..10_000 {
            match client.try_write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        assert!(blocked, "the send buffer never filled");
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let client = client.clone();
                runtime::spawn(async move { client.writable().await })
            })
            .collect();
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(writers.iter().all(|w| !w.is_finished()));
        let mut buf = vec![0; 64 * 1024];
        let mut drained = 0;
        while drained < filled + 1 {
            drained += (&*server).read(&mut buf).await?;
        }
        for w in writers {
            w.await??;
        }
        io::Result::Ok(())
    }))
    .unwrap();
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", io::Error::last_os_error());
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit; raising the soft limit up to the
    // hard limit needs no privilege.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
    limit.rlim_cur
}

/// Records the drop of the future of task `index`.
struct DropMark(Arc<Vec<AtomicU8>>, usize);

impl Drop for DropMark {
    fn drop(&mut self) {
        self.0[self.1].fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_runtime_with_ten_thousand_socket_tasks_leaks_nothing() {
    let _fds = util::fd_exclusive();
    const WANTED_PAIRS: usize = 5_000;
    let limit = raise_fd_limit() as usize;
    let start = util::open_fd_count();
    // Leave room for the listener, the runtime and the test harness.
    let pairs = WANTED_PAIRS.min(limit.saturating_sub(start + 64) / 2);
    if pairs < WANTED_PAIRS {
        eprintln!("RLIMIT_NOFILE hard limit {limit}: testing {pairs} pairs, not {WANTED_PAIRS}");
    }
    assert!(pairs >= 100, "RLIMIT_NOFILE too low to test anything");
    let tasks = 2 * pairs;
    let drops: Arc<Vec<AtomicU8>> = Arc::new((0..tasks).map(|_| AtomicU8::new(0)).collect());

    let rt = Runtime::new().unwrap();
    rt.block_on(deadline("10,000 socket tasks", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for i in 0..pairs {
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            for (j, stream) in [(2 * i, client), (2 * i + 1, server)] {
                let mark = DropMark(drops.clone(), j);
                drop(runtime::spawn(async move {
                    let _mark = mark;
                    let mut buf = [0; 1];
                    let result = (&stream).read(&mut buf).await;
                    panic!("a read that can never complete returned {result:?}");
                }));
            }
        }
        // Let every task park on its read.
        while runtime::metrics().polls < tasks as u64 {
            yield_now().await;
        }
        let m = runtime::metrics();
        assert_eq!(m.tasks, tasks);
        assert_eq!(m.io_registrations, tasks + 1);
    }));
    assert!(drops.iter().all(|d| d.load(Ordering::SeqCst) == 0));
    assert!(util::open_fd_count() >= start + tasks);

    drop(rt);
    let counts: Vec<u8> = drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
    let wrong: Vec<(usize, u8)> = counts
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, n)| n != 1)
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "futures not dropped exactly once (index, drops): {wrong:?}"
    );
    assert_eq!(
        util::open_fd_count(),
        start,
        "fds leaked by the dropped runtime"
    );
}

/// True if `result` is the error of an I/O object whose runtime is gone.
fn is_shut_down_error<T: std::fmt::Debug>(result: &io::Result<T>) -> bool {
    matches!(result, Err(e) if e.to_string().contains("has shut down"))
}

#[test]
fn sockets_that_outlive_their_runtime_fail_instead_of_waiting() {
    let _fds = util::fd_shared();
    let first = Runtime::new().unwrap();
    let (listener, client, server) = first.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (&server).write_all(&[7; 300]).await.unwrap();
        (listener, client, server)
    });
    drop(first);
    // Nothing will ever turn the first runtime's reactor. What is there is
    // still read (300 reads, more than a task's I/O budget), and then every
    // operation that would wait fails at once instead.
    let second = Runtime::new().unwrap();
    second.block_on(deadline("sockets of a dropped runtime", async {
        let mut byte = [0; 1];
        for _ in 0..300 {
            (&client).read_exact(&mut byte).await.unwrap();
            assert_eq!(byte, [7]);
        }
        let read = (&client).read(&mut byte).await;
        assert!(is_shut_down_error(&read), "read: {read:?}");
        let readable = client.readable().await;
        assert!(is_shut_down_error(&readable), "readable: {readable:?}");
        let try_read = client.try_read(&mut byte);
        assert!(is_shut_down_error(&try_read), "try_read: {try_read:?}");
        let accept = listener.accept().await;
        assert!(
            is_shut_down_error(&accept),
            "accept: {:?}",
            accept.map(drop)
        );
        let mut incoming = listener.incoming();
        let next = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
        assert!(next.is_none(), "the incoming stream goes on");
        // The sockets themselves are fine: a direction that has not yet
        // found nothing to do still makes its syscall.
        assert_eq!(server.try_write(b"still open").unwrap(), 10);
        // But the client's read side found nothing once: with no reactor to
        // report the new bytes, it stays failed rather than guess.
        let mut buf = [0; 16];
        let again = client.try_read(&mut buf);
        assert!(is_shut_down_error(&again), "try_read: {again:?}");
    }));
}

#[test]
fn a_task_parked_on_a_socket_of_a_runtime_being_dropped_is_woken_with_an_error() {
    let _fds = util::fd_shared();
    let first = Runtime::new().unwrap();
    let (client, _server) = first.block_on(tcp_pair());
    let second = Runtime::new().unwrap();
    second.block_on(deadline(
        "a task parked on a dropped runtime's socket",
        async move {
            let started = Rc::new(Cell::new(false));
            let reader = runtime::spawn({
                let started = started.clone();
                async move {
                    started.set(true);
                    let mut buf = [0; 16];
                    (&client).read(&mut buf).await
                }
            });
            // Once started, the reader is parked on the first runtime's socket
            // (its read found nothing, in the same poll).
            util::yield_until(100, || started.get()).await;
            drop(first);
            // Only the wake-up that dropping the runtime sends can finish it.
            let result = reader.await.unwrap();
            assert!(is_shut_down_error(&result), "read: {result:?}");
        },
    ));
}

#[test]
fn a_task_whose_budget_runs_out_on_an_idle_runtimes_socket_yields_on_its_own_runtime() {
    let _fds = util::fd_shared();
    let first = Runtime::new().unwrap();
    let (client, server) = first.block_on(tcp_pair());
    first.block_on(async {
        (&server).write_all(&[7; 300]).await.unwrap();
        // The first runtime sees the bytes arrive.
        client.readable().await.unwrap();
    });
    let second = Runtime::new().unwrap();
    second.block_on(deadline(
        "a task of one runtime reading another's socket",
        async move {
            let bytes_read = Rc::new(Cell::new(0));
            let reader = runtime::spawn({
                let bytes_read = bytes_read.clone();
                async move {
                    let mut byte = [0; 1];
                    for _ in 0..300 {
                        (&client).read_exact(&mut byte).await?;
                        bytes_read.set(bytes_read.get() + 1);
                    }
                    (&client).read(&mut byte).await
                }
            });
            // The first runtime is alive but not running. The reader's
            // budget runs out after 128 reads; it yields on the runtime
            // that polls it (this one), not on the socket's, so it goes on
            // without the first runtime ever turning.
            util::yield_until(1_000, || bytes_read.get() == 300).await;
            assert!(!reader.is_finished(), "the 301st read waits for data");
            // It is parked on the first runtime's socket: dropping that
            // runtime wakes it, and it fails where it would wait.
            drop(first);
            let last = reader.await.unwrap();
            assert!(is_shut_down_error(&last), "last read: {last:?}");
        },
    ));
    drop(server);
}

#[test]
fn accept_leaves_connections_queued_once_its_runtime_is_gone() {
    let _fds = util::fd_shared();
    let first = Runtime::new().unwrap();
    let listener = first.block_on(async { TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Let the first runtime see the connection (the listener is readable).
    first.block_on(async { yield_now().await });
    drop(first);
    let second = Runtime::new().unwrap();
    let accept = second.block_on(deadline("accept on a dropped runtime's listener", async {
        listener.accept().await.map(drop)
    }));
    assert!(is_shut_down_error(&accept), "accept: {accept:?}");
    // Not accepted and closed behind the client's back: still queued.
    client.set_nonblocking(true).unwrap();
    let read = (&client).read(&mut [0; 1]);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the queued connection was closed: {read:?}"
    );
}
