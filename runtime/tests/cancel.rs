//! Cancellation: dropping a pending `read`, `write_all`, `accept`,
//! `connect` or `sleep` leaves everything usable and loses nothing; a waiter
//! that goes away takes no readiness from the others; aborting a task frees
//! the socket registrations, fds and timers it held.
//!
//! Every test runs under a [`Watchdog`] and holds [`util::fd_shared`], or
//! [`util::fd_exclusive`] when it counts fds.

mod util;

use std::cell::Cell;
use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::task::{yield_now, JoinHandle};
use runtime::time::{sleep, timeout};
use util::{open_fd_count, poll_once, run, tcp_pair, yield_until, Watchdog, XorShift};

/// Lets the reactor turn for a few milliseconds, so that whatever the
/// kernel has to report by now has been reported and its wakers woken.
async fn let_the_reactor_turn() {
    sleep(Duration::from_millis(5)).await;
}

/// `n` random bytes from `seed`.
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Sets an integer socket option.
fn set_int_option(fd: RawFd, name: libc::c_int, value: libc::c_int) {
    // SAFETY: `fd` is an open socket for the duration of the call, and the
    // option value is a valid `c_int` whose size is passed along.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// A connected pair whose client send buffer is small and fixed (no
/// autotuning), so a writer whose peer does not read stalls after a few
/// hundred KiB at most: that buffer plus the peer's receive buffer, which
/// does not grow while nothing is read. (A receive buffer smaller than the
/// loopback MSS would make the kernel fall back on its 200 ms persist timer
/// once the peer reads again, so that one stays as it is.)
async fn small_buffer_pair() -> (TcpStream, TcpStream) {
    let (client, server) = tcp_pair().await;
    set_int_option(client.as_raw_fd(), libc::SO_SNDBUF, 16 * 1024);
    (client, server)
}

/// Changes the accept-queue length of a listening socket (`listen` again).
fn set_backlog(fd: RawFd, backlog: libc::c_int) {
    // SAFETY: `fd` is an open, listening socket for the duration of the
    // call; calling `listen` again only updates its backlog.
    let rc = unsafe { libc::listen(fd, backlog) };
    assert_eq!(rc, 0, "listen: {}", io::Error::last_os_error());
}

/// A read dropped while pending (cut off by `timeout`, dropped after one
/// poll, or dropped after the reactor woke it but before it was polled
/// again) consumes nothing: the next read gets exactly the bytes written
/// afterwards.
#[test]
fn a_dropped_read_loses_no_data() {
    run("dropped read", async {
        let (mut client, mut server) = tcp_pair().await;
        let mut buf = [0; 64];
        for round in 0..30u64 {
            let chunk = random_bytes(round, 1 + round as usize);

            // Cut off by a timeout while parked.
            let cut = timeout(Duration::from_millis(1), server.read(&mut buf)).await;
            assert!(cut.is_err(), "read returned {cut:?} with nothing sent");

            // Dropped after a single poll.
            {
                let mut read = pin!(server.read(&mut buf));
                assert!(poll_once(read.as_mut()).await.is_pending());
            }

            // Polled once, then the data arrives and the reactor wakes the
            // read, which is dropped without being polled again.
            {
                let mut shared = &server;
                let mut read = pin!(shared.read(&mut buf));
                assert!(poll_once(read.as_mut()).await.is_pending());
                client.write_all(&chunk).await?;
                let_the_reactor_turn().await;
            }

            let mut got = vec![0; chunk.len()];
            server.read_exact(&mut got).await?;
            assert_eq!(got, chunk, "round {round}");
        }
        // Nothing left over, nothing duplicated.
        client.shutdown().await?;
        assert_eq!(server.read(&mut buf).await?, 0);
        io::Result::Ok(())
    })
    .unwrap();
}

/// How a test drops a pending `write_all`.
#[derive(Debug, Clone, Copy)]
enum DropWrite {
    /// Cut off by `timeout` while the task waits on it.
    ByTimeout,
    /// Dropped after a single poll (which fills the buffer and parks).
    AfterOnePoll,
}

/// Writes `p0` fully, then starts `write_all(p1)` into a send buffer that
/// fills up (the peer does not read yet) and drops it as `how` says, then
/// writes `p2` fully while the peer reads everything. The peer must receive
/// `p0`, then a prefix of `p1`, then `p2`: a dropped `write_all` may have
/// written part of its buffer (its output is lost with it), but never
/// bytes out of order, twice, or after it was dropped. Returns the length
/// of the prefix of `p1` that got through.
async fn dropped_write_all_round(how: DropWrite) -> usize {
    let (mut client, mut server) = small_buffer_pair().await;
    let p0 = random_bytes(1, 1000);
    let p1 = random_bytes(2, 2 << 20);
    let p2 = random_bytes(3, 100_000);

    client.write_all(&p0).await.unwrap();
    match how {
        DropWrite::ByTimeout => {
            let cut = timeout(Duration::from_millis(20), client.write_all(&p1)).await;
            assert!(cut.is_err(), "write_all of 2 MiB completed unread: {cut:?}");
        }
        DropWrite::AfterOnePoll => {
            let mut write = pin!(client.write_all(&p1));
            assert!(poll_once(write.as_mut()).await.is_pending());
        }
    }

    // Now the peer reads, and the next write continues the stream.
    let reader = runtime::spawn(async move {
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        received
    });
    client.write_all(&p2).await.unwrap();
    client.shutdown().await.unwrap();
    let received = reader.await.unwrap();

    let fixed = p0.len() + p2.len();
    assert!(
        received.len() >= fixed,
        "received {} bytes, fewer than the {fixed} written by the completed writes",
        received.len()
    );
    let prefix = received.len() - fixed;
    assert!(
        prefix < p1.len(),
        "the dropped write_all got all {} bytes through: the send buffer never filled",
        p1.len()
    );
    assert!(received[..p0.len()] == p0[..], "the first write is corrupt");
    assert!(
        received[p0.len()..p0.len() + prefix] == p1[..prefix],
        "the {prefix} bytes after the first write are not a prefix of the dropped write_all"
    );
    assert!(
        received[p0.len() + prefix..] == p2[..],
        "the write after the dropped write_all is corrupt"
    );
    prefix
}

/// A `write_all` cut off by `timeout` while the send buffer is full has
/// written a prefix of its buffer; the next write continues the stream
/// right after that prefix.
#[test]
fn a_write_all_dropped_by_timeout_leaves_a_prefix_and_the_stream_continues() {
    run("write_all dropped by timeout", async {
        let prefix = dropped_write_all_round(DropWrite::ByTimeout).await;
        assert!(
            prefix > 0,
            "the first poll wrote nothing into an empty buffer"
        );
    });
}

/// The same, with the `write_all` dropped after a single poll.
#[test]
fn a_write_all_dropped_after_one_poll_leaves_a_prefix_and_the_stream_continues() {
    run("write_all dropped after one poll", async {
        let prefix = dropped_write_all_round(DropWrite::AfterOnePoll).await;
        assert!(
            prefix > 0,
            "the first poll wrote nothing into an empty buffer"
        );
    });
}

/// An accept dropped while pending (cut off by `timeout`, dropped after one
/// poll, dropped after the reactor woke it, or inside an aborted task) loses
/// no connection: the next accept gets the next connection.
#[test]
fn a_dropped_accept_loses_no_connection() {
    run("dropped accept", async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await?);
        let addr = listener.local_addr()?;
        for round in 0..10 {
            // Cut off by a timeout.
            let cut = timeout(Duration::from_millis(1), listener.accept()).await;
            assert!(cut.is_err(), "accept returned with nobody connecting");

            // Dropped after one poll.
            {
                let mut accept = pin!(listener.accept());
                assert!(poll_once(accept.as_mut()).await.is_pending());
            }

            // Parked inside a task that is then aborted.
            let parked = runtime::spawn({
                let listener = listener.clone();
                async move { listener.accept().await.map(|(_, peer)| peer) }
            });
            yield_now().await;
            parked.abort();
            assert!(parked.await.unwrap_err().is_cancelled());

            // Polled once, then a client connects and the reactor wakes the
            // accept, which is dropped without being polled again.
            let first = {
                let mut accept = pin!(listener.accept());
                assert!(poll_once(accept.as_mut()).await.is_pending());
                let client = std::net::TcpStream::connect(addr)?;
                let_the_reactor_turn().await;
                client
            };
            let (_server, peer) = listener.accept().await?;
            assert_eq!(peer, first.local_addr()?, "round {round}: wrong connection");

            // Several connections queued behind a dropped accept all come
            // out, in order.
            let clients: Vec<TcpStream> = {
                let mut accept = pin!(listener.accept());
                assert!(poll_once(accept.as_mut()).await.is_pending());
                let mut clients = Vec::new();
                for _ in 0..3 {
                    clients.push(TcpStream::connect(addr).await?);
                }
                clients
            };
            for client in &clients {
                let (_server, peer) = listener.accept().await?;
                assert_eq!(peer, client.local_addr()?, "round {round}: wrong order");
            }
        }
        // Nothing more is queued.
        let cut = timeout(Duration::from_millis(5), listener.accept()).await;
        assert!(cut.is_err(), "an extra connection was accepted");
        io::Result::Ok(())
    })
    .unwrap();
}

/// Attempts connects to `addr`, each cut off after `limit`, until `misses`
/// of them were cut off mid-handshake or `attempts` were made; keeps the
/// connections that did complete (they hold the listener's queue full).
/// Returns the completed connections and the number cut off.
async fn connect_until_cut_off(
    addr: SocketAddr,
    limit: Duration,
    misses: usize,
    attempts: usize,
) -> (Vec<TcpStream>, usize) {
    let mut connected = Vec::new();
    let mut cut_off = 0;
    for _ in 0..attempts {
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(stream) => connected.push(stream.expect("connect to a listener")),
            Err(_) => {
                cut_off += 1;
                if cut_off == misses {
                    break;
                }
            }
        }
    }
    (connected, cut_off)
}

/// A connect dropped mid-handshake (after its first poll, or while the
/// listener's accept queue is full so the handshake cannot finish) closes
/// its socket: no fd and no registration is left behind.
#[test]
fn a_dropped_connect_leaks_no_fd() {
    let _fds = util::fd_exclusive();
    let _watchdog = Watchdog::new("dropped connect", util::DEADLINE);
    runtime::block_on(async {
        let fds_before = open_fd_count();
        let registrations_before = runtime::metrics().io_registrations;

        // A listener the runtime does not drive, which never accepts.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;

        // Dropped right after the first poll, which may or may not have
        // finished the handshake.
        for _ in 0..20 {
            let mut connect = pin!(TcpStream::connect(addr));
            let _ = poll_once(connect.as_mut()).await;
        }
        // Dropped by a task abort.
        let parked = runtime::spawn(TcpStream::connect(addr));
        parked.abort();
        assert!(parked.await.unwrap_err().is_cancelled());
        assert_eq!(runtime::metrics().io_registrations, registrations_before);
        assert_eq!(open_fd_count(), fds_before + 1, "only the listener is open");

        // Drop the queued connections, then make the queue hold one: further
        // SYNs are dropped by the kernel and those connects stay pending.
        drop(listener);
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        set_backlog(listener.as_raw_fd(), 0);
        let addr = listener.local_addr()?;
        let (connected, cut_off) =
            connect_until_cut_off(addr, Duration::from_millis(50), 3, 10).await;
        assert!(
            cut_off > 0,
            "no connect stalled behind a full accept queue ({} completed): \
             the mid-handshake case was not exercised",
            connected.len()
        );
        assert_eq!(
            runtime::metrics().io_registrations,
            registrations_before + connected.len(),
            "a connect cut off mid-handshake left its registration behind"
        );
        assert_eq!(
            open_fd_count(),
            fds_before + 1 + connected.len(),
            "a connect cut off mid-handshake left its fd open"
        );

        // The same, inside a task that is aborted while the handshake waits.
        let parked = runtime::spawn(TcpStream::connect(addr));
        // Its socket exists once it has been polled.
        yield_until(100, || open_fd_count() == fds_before + 2 + connected.len()).await;
        assert!(!parked.is_finished(), "a connect to a full queue completed");
        parked.abort();
        assert!(parked.await.unwrap_err().is_cancelled());

        drop(connected);
        drop(listener);
        assert_eq!(runtime::metrics().io_registrations, registrations_before);
        assert_eq!(open_fd_count(), fds_before, "an fd leaked");
        io::Result::Ok(())
    })
    .unwrap();
}

/// A dropped `Sleep` or `Timeout`, pending or fired, frees its timer; so
/// does one dropped after its runtime is gone, without panicking.
#[test]
fn a_dropped_sleep_frees_its_timer() {
    let leftover = run("dropped sleep", async {
        let timers = || runtime::metrics().timers;
        assert_eq!(timers(), 0);

        // Pending, dropped after one poll.
        {
            let mut long = pin!(sleep(Duration::from_secs(3600)));
            assert!(poll_once(long.as_mut()).await.is_pending());
            assert_eq!(timers(), 1);
        }
        assert_eq!(timers(), 0);

        // Cut off while the task waits on it.
        let cut = timeout(Duration::from_millis(1), sleep(Duration::from_secs(3600))).await;
        assert!(cut.is_err());
        assert_eq!(timers(), 0);

        // Timeouts: expired, won, and dropped while pending.
        assert!(timeout(Duration::from_millis(1), pending::<()>())
            .await
            .is_err());
        assert_eq!(timeout(Duration::from_secs(3600), async { 3 }).await, Ok(3));
        {
            let mut waiting = pin!(timeout(Duration::from_secs(3600), pending::<()>()));
            assert!(poll_once(waiting.as_mut()).await.is_pending());
            assert_eq!(timers(), 1);
        }
        assert_eq!(timers(), 0);

        // Registered, its deadline passes (the timer fires), dropped
        // without another poll. Long enough that it surely is pending at
        // its first poll, even on a loaded machine.
        {
            let mut short = pin!(sleep(Duration::from_millis(20)));
            assert!(poll_once(short.as_mut()).await.is_pending());
            while !short.is_elapsed() {
                let_the_reactor_turn().await;
            }
            let_the_reactor_turn().await;
        }
        assert_eq!(timers(), 0);

        // Many pending at once, dropped in a scrambled order.
        let mut sleeps: Vec<_> = (0..100u64)
            .map(|i| Box::pin(sleep(Duration::from_millis(1000 + i % 7))))
            .collect();
        for s in &mut sleeps {
            assert!(poll_once(s.as_mut()).await.is_pending());
        }
        assert_eq!(timers(), 100);
        let mut rng = XorShift::new(5);
        while !sleeps.is_empty() {
            let i = rng.below(sleeps.len() as u64) as usize;
            drop(sleeps.swap_remove(i));
        }
        assert_eq!(timers(), 0);

        // Registered, then taken out of the runtime.
        let mut escaping = Box::pin(sleep(Duration::from_secs(3600)));
        assert!(poll_once(escaping.as_mut()).await.is_pending());
        // Wrapped, so the block does not evaluate to something awaitable.
        Some(escaping)
    });
    // The runtime is gone; dropping the sleep must not panic.
    drop(leftover);
}

/// Two tasks wait on the same stream's `readable()`; one is aborted (the
/// first or the second to park). The other is still woken when data
/// arrives. Likewise when the waiter that goes away is a dropped future
/// that the reactor had already woken: the readiness it did not use stays
/// for the next waiter.
#[test]
fn a_waiter_that_goes_away_takes_no_readiness_from_the_others() {
    run("readiness and waiters", async {
        for abort_first in [true, false] {
            let (mut client, server) = tcp_pair().await;
            let server = Rc::new(server);
            let spawn_waiter = || {
                let server = server.clone();
                runtime::spawn(async move { server.readable().await })
            };
            let first = spawn_waiter();
            yield_now().await;
            let second = spawn_waiter();
            yield_now().await;
            let (gone, survivor) = if abort_first {
                (first, second)
            } else {
                (second, first)
            };
            gone.abort();
            assert!(gone.await.unwrap_err().is_cancelled());
            client.write_all(b"x").await?;
            survivor.await.unwrap()?;
            let mut byte = [0; 1];
            assert_eq!(server.try_read(&mut byte)?, 1);
        }

        // The main task's readable() and read() are dropped, a task keeps
        // waiting.
        let (mut client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let waiter = runtime::spawn({
            let server = server.clone();
            async move { server.readable().await }
        });
        let cut = timeout(Duration::from_millis(1), server.readable()).await;
        assert!(cut.is_err());
        let cut = timeout(Duration::from_millis(1), (&*server).read(&mut [0; 8])).await;
        assert!(cut.is_err());
        client.write_all(b"y").await?;
        waiter.await.unwrap()?;

        // Only the main task waits; the data arrives and wakes it, and the
        // future is dropped unpolled. A later waiter finds the readiness.
        let (mut client, server) = tcp_pair().await;
        {
            let mut readable = pin!(server.readable());
            assert!(poll_once(readable.as_mut()).await.is_pending());
            client.write_all(b"z").await?;
            let_the_reactor_turn().await;
        }
        let server = Rc::new(server);
        let later = runtime::spawn({
            let server = server.clone();
            async move {
                server.readable().await?;
                let mut byte = [0; 1];
                (&*server).read_exact(&mut byte).await?;
                io::Result::Ok(byte)
            }
        });
        assert_eq!(&later.await.unwrap()?, b"z");
        io::Result::Ok(())
    })
    .unwrap();
}

/// Aborts `task` and waits until it is gone.
async fn abort_and_wait<T>(task: JoinHandle<T>) {
    task.abort();
    assert!(task.await.is_err_and(|e| e.is_cancelled()));
}

/// Aborting a task parked on I/O drops the stream it owns: the reactor
/// forgets the registration once the runtime turns, the fd is closed (the
/// peer reads EOF), and the same holds for a listener and a parked writer.
#[test]
fn abort_of_a_task_parked_on_io_frees_its_registration_and_fd() {
    let _fds = util::fd_exclusive();
    let _watchdog = Watchdog::new("abort frees I/O", util::DEADLINE);
    runtime::block_on(async {
        let registrations = || runtime::metrics().io_registrations;

        // A reader, aborted without awaiting its handle: the runtime turning
        // is enough.
        let (mut client, server) = tcp_pair().await;
        let fds = open_fd_count();
        let regs = registrations();
        let reader = runtime::spawn(async move {
            let mut buf = [0; 16];
            (&server).read(&mut buf).await
        });
        yield_now().await;
        assert!(!reader.is_finished(), "the reader is parked");
        assert_eq!(registrations(), regs);
        reader.abort();
        yield_until(100, || registrations() < regs).await;
        assert_eq!(registrations(), regs - 1);
        assert_eq!(
            open_fd_count(),
            fds - 1,
            "the aborted task's fd is still open"
        );
        let mut buf = [0; 16];
        let eof = timeout(Duration::from_secs(5), client.read(&mut buf)).await;
        assert_eq!(eof.expect("no EOF after the abort")?, 0);
        assert!(reader.await.unwrap_err().is_cancelled());
        drop(client);

        // A writer parked on a full send buffer.
        let (client, server) = small_buffer_pair().await;
        let fds = open_fd_count();
        let regs = registrations();
        let writer = runtime::spawn(async move {
            let mut client = client;
            client.write_all(&vec![1; 2 << 20]).await
        });
        yield_now().await;
        assert!(!writer.is_finished(), "the writer is parked");
        abort_and_wait(writer).await;
        assert_eq!(registrations(), regs - 1);
        assert_eq!(open_fd_count(), fds - 1);
        drop(server);

        // A listener parked in accept.
        let fds = open_fd_count();
        let regs = registrations();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = runtime::spawn(async move { listener.accept().await.map(|_| ()) });
        yield_now().await;
        assert_eq!(registrations(), regs + 1);
        assert_eq!(open_fd_count(), fds + 1);
        abort_and_wait(acceptor).await;
        assert_eq!(registrations(), regs);
        assert_eq!(open_fd_count(), fds);
        let refused = std::net::TcpStream::connect(addr);
        assert_eq!(
            refused.map(drop).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused,
            "the aborted task's listener still listens"
        );
        io::Result::Ok(())
    })
    .unwrap();
}

/// Aborting a task parked on a sleep (or a timeout) frees its timer.
#[test]
fn abort_of_a_task_parked_on_a_sleep_frees_its_timer() {
    run("abort frees timers", async {
        let timers = || runtime::metrics().timers;
        let sleeper = runtime::spawn(sleep(Duration::from_secs(3600)));
        let waiter = runtime::spawn(timeout(Duration::from_secs(3600), pending::<()>()));
        let polled = Rc::new(Cell::new(false));
        let nested = runtime::spawn({
            let polled = polled.clone();
            async move {
                let start = Instant::now();
                let inner = sleep(Duration::from_secs(7200));
                polled.set(true);
                timeout(Duration::from_secs(3600), inner).await.ok();
                start.elapsed()
            }
        });
        yield_until(100, || polled.get() && timers() == 4).await;

        sleeper.abort();
        yield_until(100, || timers() == 3).await;
        assert!(sleeper.await.unwrap_err().is_cancelled());
        abort_and_wait(waiter).await;
        assert_eq!(timers(), 2);
        abort_and_wait(nested).await;
        assert_eq!(timers(), 0);
        assert_eq!(runtime::metrics().tasks, 0);
    });
}
