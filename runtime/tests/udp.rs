//! UDP over loopback: 10,000 datagrams of random sizes echoed intact, a
//! full receive buffer that drops datagrams without hanging anything,
//! stale events for a reused fd number, IPv6, peeking, truncation, errors
//! that reach the task, the cooperative budget, and sockets that outlive
//! their runtime.
//!
//! Every test takes [`util::fd_shared`] (or `fd_exclusive` when it relies
//! on fd numbers) and runs under a deadline.

mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use runtime::io::unix::AsyncFd;
use runtime::net::UdpSocket;
use runtime::task::yield_now;
use runtime::time::{sleep, timeout};
use runtime::Runtime;
use util::{deadline, run, XorShift};

/// The largest datagram the echo test sends: 60 KiB.
const MAX_DATAGRAM: usize = 60 * 1024;

/// A buffer that holds any UDP datagram.
const ANY_DATAGRAM: usize = 64 * 1024;

/// Echoes every datagram back to its sender until the task is dropped.
async fn echo(socket: UdpSocket) -> io::Result<()> {
    let mut buf = vec![0; ANY_DATAGRAM];
    loop {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        socket.send_to(&buf[..n], peer).await?;
    }
}

/// A datagram of `len` bytes (at least 8): sequence number `seq`, then
/// bytes of `pool` from `offset`.
fn datagram(seq: u64, pool: &[u8], offset: usize, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&pool[offset..offset + len - 8]);
    out
}

/// The sequence number a [`datagram`] starts with.
fn seq_of(datagram: &[u8]) -> u64 {
    u64::from_le_bytes(datagram[..8].try_into().expect("8 bytes"))
}

#[test]
fn ten_thousand_datagrams_of_random_sizes_echo_intact() {
    const DATAGRAMS: u64 = 10_000;
    run("udp echo", async {
        let server = UdpSocket::bind("127.0.0.1:0").await?;
        let server_addr = server.local_addr()?;
        let echoer = runtime::spawn(echo(server));
        let client = UdpSocket::bind("127.0.0.1:0").await?;
        client.connect(server_addr).await?;

        let mut pool = vec![0; 2 * MAX_DATAGRAM];
        XorShift::new(11).fill(&mut pool);
        let mut rng = XorShift::new(12);
        let mut buf = vec![0; ANY_DATAGRAM];
        let (mut bytes, mut resent) = (0u64, 0u32);
        for seq in 0..DATAGRAMS {
            let len = 8 + rng.below((MAX_DATAGRAM - 8 + 1) as u64) as usize;
            let offset = rng.below(MAX_DATAGRAM as u64) as usize;
            let sent = datagram(seq, &pool, offset, len);
            // One in flight. Loopback drops nothing at this depth, but a
            // datagram may be lost by design: after a second without its
            // echo, send it again (and skip the late echo of a copy).
            let echoed = 'wait: loop {
                client.send(&sent).await?;
                let give_up = Instant::now() + Duration::from_secs(1);
                loop {
                    let left = give_up.saturating_duration_since(Instant::now());
                    let Ok(n) = timeout(left, client.recv(&mut buf)).await else {
                        break;
                    };
                    let n = n?;
                    if seq_of(&buf[..n]) == seq {
                        break 'wait n;
                    }
                    assert!(seq_of(&buf[..n]) < seq, "an echo of the future");
                }
                resent += 1;
                assert!(resent < 10, "datagram {seq} lost again and again");
            };
            assert_eq!(echoed, len, "datagram {seq}: the echo's length");
            assert!(
                buf[..echoed] == sent[..],
                "datagram {seq}: the echo differs"
            );
            bytes += len as u64;
        }
        println!("{DATAGRAMS} datagrams, {bytes} bytes echoed intact, {resent} resent");
        echoer.abort();
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_full_receive_buffer_drops_datagrams_and_nothing_hangs() {
    const SENT: u64 = 5_000;
    const SIZE: usize = 1_000;
    run("full receive buffer", async {
        let receiver = UdpSocket::bind("127.0.0.1:0").await?;
        receiver.set_recv_buffer_size(16 * 1024)?;
        let rcvbuf = receiver.recv_buffer_size()? as u64;
        assert!(
            SENT * SIZE as u64 > 20 * rcvbuf,
            "the test must send far more than SO_RCVBUF ({rcvbuf} bytes)"
        );
        let sender = UdpSocket::bind("127.0.0.1:0").await?;
        sender.connect(receiver.local_addr()?).await?;
        let pool = vec![0x5a; SIZE];

        // Nobody receives meanwhile: the kernel drops what does not fit,
        // and no send waits for the receiver.
        deadline("sending into a full buffer", async {
            for seq in 0..SENT {
                assert_eq!(sender.send(&datagram(seq, &pool, 0, SIZE)).await?, SIZE);
            }
            io::Result::Ok(())
        })
        .await?;

        // What is there is received, in order, each datagram intact; then
        // the queue is empty (a short timeout bounds each wait).
        let mut buf = vec![0; ANY_DATAGRAM];
        let mut received = 0u64;
        let mut last = None;
        while let Ok(n) = timeout(Duration::from_millis(200), receiver.recv(&mut buf)).await {
            let n = n?;
            assert_eq!(n, SIZE);
            let seq = seq_of(&buf);
            assert!(last.is_none_or(|last| seq > last), "out of order: {seq}");
            assert!(
                buf[8..n].iter().all(|&b| b == 0x5a),
                "datagram {seq} corrupted"
            );
            last = Some(seq);
            received += 1;
            assert!(received <= SENT, "more datagrams than were sent");
        }
        assert!(received > 0, "the receive buffer held nothing");
        assert!(
            received < SENT / 10,
            "{received} of {SENT} arrived: the buffer was not full"
        );
        // The kernel agrees that nothing is left: a syscall of its own,
        // not the runtime's cached readiness, finds the queue empty.
        let std_receiver = receiver.into_std()?;
        let left = std_receiver.recv(&mut buf);
        assert_eq!(left.map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        let receiver = UdpSocket::from_std(std_receiver)?;

        // The socket still works.
        sender.send(&datagram(SENT, &pool, 0, SIZE)).await?;
        let n = deadline("a datagram after the flood", receiver.recv(&mut buf)).await?;
        assert_eq!((n, seq_of(&buf)), (SIZE, SENT));
        println!("{received} of {SENT} datagrams fitted in SO_RCVBUF = {rcvbuf} bytes");
        io::Result::Ok(())
    })
    .unwrap();
}

/// Parks a task on `socket`'s read side, sends a datagram to `stale` (an
/// open file description that once had `socket`'s fd number), and checks
/// that the parked task is not polled again; then that a datagram to
/// `socket` itself does wake it (so the check could see a wake).
async fn parked_task_ignores_traffic_to(socket: UdpSocket, stale: SocketAddr) -> io::Result<()> {
    let socket = Rc::new(socket);
    let polls = Rc::new(Cell::new(0u32));
    let receiver = runtime::spawn({
        let (socket, polls) = (socket.clone(), polls.clone());
        async move {
            let mut buf = [0; 64];
            poll_fn(|cx| {
                polls.set(polls.get() + 1);
                socket.poll_recv_from(cx, &mut buf)
            })
            .await
            .map(|(n, _)| buf[..n].to_vec())
        }
    });
    for _ in 0..3 {
        yield_now().await;
    }
    assert_eq!(polls.get(), 1, "the receiver did not park once");

    let sender = std::net::UdpSocket::bind("127.0.0.1:0")?;
    assert_eq!(sender.send_to(b"stale", stale)?, 5);
    // Let the reactor turn, and report the event, several times.
    for _ in 0..5 {
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        polls.get(),
        1,
        "an event for the old file description woke the new socket's task"
    );
    assert!(!receiver.is_finished());

    sender.send_to(b"fresh", socket.local_addr()?)?;
    let got = deadline("the new socket's own datagram", receiver).await??;
    assert_eq!(got, b"fresh");
    Ok(())
}

/// One attempt at the stale-event scenario through `AsyncFd`: its fd is
/// closed behind the reactor's back (the object inside is swapped), so the
/// epoll entry of the old description outlives the registration, while a
/// duplicate keeps that description open. Only the token's generation then
/// tells the stale event from one for the new socket that reuses both the
/// fd number and the slot. False if the fd number was not reused.
fn stale_event_through_async_fd() -> bool {
    let _fds = util::fd_exclusive();
    let rt = Runtime::new().unwrap();
    rt.block_on(deadline("stale event, swapped AsyncFd", async {
        let old = std::net::UdpSocket::bind("127.0.0.1:0")?;
        old.set_nonblocking(true)?;
        let (old_fd, old_addr) = (old.as_raw_fd(), old.local_addr()?);
        let mut registered = AsyncFd::new(old)?;
        // The first turn reports the new registration (writable).
        sleep(Duration::from_millis(1)).await;

        let placeholder = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let old = std::mem::replace(registered.get_mut(), placeholder);
        let keep_alive = old.try_clone()?;
        drop(old); // closes the registered fd number; epoll keeps the entry
        drop(registered); // deregisters the placeholder (never registered) and frees the slot

        let new = UdpSocket::bind("127.0.0.1:0").await?;
        if new.as_raw_fd() != old_fd {
            return Ok(false);
        }
        parked_task_ignores_traffic_to(new, old_addr).await?;
        drop(keep_alive);
        io::Result::Ok(true)
    }))
    .unwrap()
}

#[test]
fn stale_event_for_a_reused_fd_number_wakes_nobody() {
    // Other test binaries' threads do not share our fd table, but a retry
    // costs nothing if the number was taken.
    let reused = (0..20).any(|_| stale_event_through_async_fd());
    assert!(reused, "the fd number was never reused in 20 attempts");
}

#[test]
fn a_deregistered_socket_whose_description_lives_on_wakes_nobody() {
    let _fds = util::fd_exclusive();
    let rt = Runtime::new().unwrap();
    rt.block_on(deadline("stale event, into_std and try_clone", async {
        for _ in 0..20 {
            let old = UdpSocket::bind("127.0.0.1:0").await?;
            let (old_fd, old_addr) = (old.as_raw_fd(), old.local_addr()?);
            sleep(Duration::from_millis(1)).await;
            let std_socket = old.into_std()?;
            let keep_alive = std_socket.try_clone()?;
            drop(std_socket);
            let new = UdpSocket::bind("127.0.0.1:0").await?;
            if new.as_raw_fd() != old_fd {
                continue;
            }
            parked_task_ignores_traffic_to(new, old_addr).await?;
            drop(keep_alive);
            return io::Result::Ok(());
        }
        panic!("the fd number was never reused in 20 attempts");
    }))
    .unwrap();
}

#[test]
fn ipv6_loopback_works_as_ipv4_does() {
    run("ipv6", async {
        let a = UdpSocket::bind("[::1]:0").await?;
        let b = UdpSocket::bind(("::1", 0)).await?;
        assert!(a.local_addr()?.is_ipv6() && a.local_addr()?.ip().is_loopback());
        a.send_to(b"over v6", b.local_addr()?).await?;
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"over v6"[..], a.local_addr()?));

        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        b.send(b"back").await?;
        assert_eq!(a.recv(&mut buf).await?, 4);
        assert_eq!(a.peer_addr()?, b.local_addr()?);

        // An IPv6 destination for an IPv4 socket is refused with an
        // error, not a panic.
        let v4 = UdpSocket::bind("127.0.0.1:0").await?;
        assert!(v4.send_to(b"x", a.local_addr()?).await.is_err());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn datagrams_queued_before_the_first_receive_are_all_received() {
    // A short datagram says nothing about the next one: a receive that
    // took it for a drained socket would wait for an event that never
    // comes, with nine datagrams still queued.
    run("queued datagrams", async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let me = socket.local_addr()?;
        for len in 1..=10 {
            socket.send_to(&vec![len as u8; len], me).await?;
        }
        let limit = Duration::from_secs(2);
        let mut buf = [0; 64];
        for len in 1..=10 {
            let (n, _) =
                util::deadline_in(limit, "a queued datagram", socket.recv_from(&mut buf)).await?;
            assert_eq!(&buf[..n], &vec![len as u8; len][..]);
        }
        socket.connect(me).await?;
        for len in 1..=10 {
            socket.send(&vec![len as u8; len]).await?;
        }
        for len in 1..=10 {
            let n = util::deadline_in(limit, "a queued datagram", socket.recv(&mut buf)).await?;
            assert_eq!(n, len);
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn peek_from_does_not_consume() {
    run("peek_from", async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let me = socket.local_addr()?;
        socket.send_to(b"first", me).await?;
        socket.send_to(b"second", me).await?;
        let mut buf = [0; 16];
        for _ in 0..3 {
            let (n, from) = socket.peek_from(&mut buf).await?;
            assert_eq!((&buf[..n], from), (&b"first"[..], me));
        }
        // A short peek truncates the copy, not the datagram.
        let mut two = [0; 2];
        assert_eq!(socket.try_peek_from(&mut two)?.0, 2);
        assert_eq!(&two, b"fi");
        let (n, _) = socket.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"first");
        let (n, _) = socket.peek_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"second");
        let (n, _) = socket.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"second");
        assert_eq!(
            socket.try_peek_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Connected, `peek` does the same.
        socket.connect(me).await?;
        socket.send(b"third").await?;
        for _ in 0..3 {
            assert_eq!(socket.peek(&mut buf).await?, 5);
        }
        assert_eq!(socket.recv(&mut buf).await?, 5);
        assert_eq!(&buf[..5], b"third");
        assert_eq!(
            socket.try_peek(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_datagram_larger_than_the_buffer_is_truncated_and_the_rest_discarded() {
    run("truncation", async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let me = socket.local_addr()?;
        let big: Vec<u8> = (0..=255).cycle().take(40_000).collect();
        socket.send_to(&big, me).await?;
        socket.send_to(b"next", me).await?;
        socket.send_to(&big, me).await?;
        let mut small = [0; 100];
        let (n, _) = socket.recv_from(&mut small).await?;
        assert_eq!((n, &small[..]), (100, &big[..100]));
        // The next receive is the next datagram, not the rest of the first.
        let (n, _) = socket.recv_from(&mut small).await?;
        assert_eq!(&small[..n], b"next");
        socket.connect(me).await?;
        assert_eq!(socket.recv(&mut small[..10]).await?, 10);
        assert_eq!(small[..10], big[..10]);
        // An empty buffer takes (and discards) a whole datagram too.
        socket.send(b"gone").await?;
        socket.send(b"kept").await?;
        assert_eq!(socket.recv(&mut []).await?, 0);
        let n = socket.recv(&mut small).await?;
        assert_eq!(&small[..n], b"kept");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn errors_reach_the_task_as_io_errors() {
    run("udp errors", async {
        // A datagram larger than UDP allows.
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let huge = vec![0; 70_000];
        let err = socket
            .send_to(&huge, socket.local_addr()?)
            .await
            .unwrap_err();
        println!("oversized datagram: {err}");
        // Sending on an unconnected socket without an address.
        assert!(socket.send(b"where to?").await.is_err());
        assert_eq!(
            socket.peer_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );

        // ICMP port unreachable comes back as ConnectionRefused on the
        // connected socket's next receive.
        let closed = UdpSocket::bind("127.0.0.1:0").await?.local_addr()?;
        socket.connect(closed).await?;
        socket.send(b"anyone?").await?;
        let err = deadline("the refusal", socket.recv(&mut [0; 8]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

        // Bad names and options fail cleanly.
        assert!(UdpSocket::bind("no-such-host.invalid:0").await.is_err());
        assert!(UdpSocket::bind("127.0.0.1").await.is_err(), "no port");
        assert_eq!(
            socket.set_ttl(1000).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let taken = socket.local_addr()?;
        assert_eq!(
            UdpSocket::bind(taken).await.unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        // A name resolves on the blocking pool.
        let named = UdpSocket::bind("localhost:0").await?;
        assert!(named.local_addr()?.ip().is_loopback());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn options_read_back_what_was_set() {
    run("udp options", async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.set_broadcast(true)?;
        assert!(socket.broadcast()?);
        socket.set_broadcast(false)?;
        assert!(!socket.broadcast()?);
        socket.set_ttl(42)?;
        assert_eq!(socket.ttl()?, 42);
        socket.set_multicast_ttl_v4(9)?;
        assert_eq!(socket.multicast_ttl_v4()?, 9);
        socket.set_multicast_loop_v4(false)?;
        assert!(!socket.multicast_loop_v4()?);
        // Broadcast needs SO_BROADCAST.
        let err = socket
            .send_to(b"all", "255.255.255.255:9")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(socket
            .join_multicast_v4("127.0.0.1".parse().unwrap(), "0.0.0.0".parse().unwrap())
            .is_err());

        let v6 = UdpSocket::bind("[::1]:0").await?;
        v6.set_multicast_loop_v6(false)?;
        assert!(!v6.multicast_loop_v6()?);
        assert!(v6.join_multicast_v6(&"::1".parse().unwrap(), 0).is_err());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn std_sockets_convert_both_ways() {
    run("from_std/into_std", async {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let addr = std_socket.local_addr()?;
        let socket = UdpSocket::from_std(std_socket)?;
        socket.send_to(b"round", addr).await?;
        let back = socket.into_std()?;
        let mut buf = [0; 8];
        // Still nonblocking, and the datagram is still queued.
        let (n, _) = back.recv_from(&mut buf)?;
        assert_eq!(&buf[..n], b"round");
        assert_eq!(
            back.recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // And it can be registered again.
        let again = UdpSocket::from_std(back)?;
        again.send_to(b"again", addr).await?;
        assert_eq!(again.recv_from(&mut buf).await?.0, 5);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn try_forms_and_readiness() {
    run("try_ forms", async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let mut buf = [0; 16];
        // Not known readable: no syscall, WouldBlock.
        assert_eq!(
            a.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        b.writable().await?;
        assert_eq!(b.try_send_to(b"one", a.local_addr()?)?, 3);
        a.readable().await?;
        let (n, from) = a.try_recv_from(&mut buf)?;
        assert_eq!((&buf[..n], from), (&b"one"[..], b.local_addr()?));
        // Drained: the next try finds nothing and clears the readiness.
        assert_eq!(
            a.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        a.writable().await?;
        assert_eq!(a.try_send(b"two")?, 3);
        b.readable().await?;
        assert_eq!(b.try_recv(&mut buf)?, 3);

        // A receive waiting before the datagram is sent is woken by it.
        let b = Rc::new(b);
        let waiting = runtime::spawn({
            let b = b.clone();
            async move {
                let mut buf = [0; 16];
                b.recv(&mut buf).await.map(|n| buf[..n].to_vec())
            }
        });
        yield_now().await;
        assert!(!waiting.is_finished());
        a.send(b"late").await?;
        assert_eq!(deadline("a parked recv", waiting).await??, b"late");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn an_always_readable_udp_socket_does_not_starve_a_timer() {
    const TIMER: Duration = Duration::from_millis(5);
    run("always readable udp socket", async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let me = socket.local_addr()?;
        for i in 0..64u8 {
            socket.send_to(&[i], me).await?;
        }
        let rounds = Rc::new(Cell::new(0u64));
        // Every datagram received is sent again: the socket never drains,
        // so the loop never waits by itself.
        let spinner = runtime::spawn({
            let rounds = rounds.clone();
            async move {
                let mut buf = [0; 8];
                loop {
                    let (n, _) = socket.recv_from(&mut buf).await?;
                    socket.send_to(&buf[..n], me).await?;
                    rounds.set(rounds.get() + 1);
                }
                #[allow(unreachable_code)]
                io::Result::Ok(())
            }
        });
        yield_now().await;
        let start = Instant::now();
        sleep(TIMER).await;
        let late = start.elapsed() - TIMER;
        assert!(rounds.get() > 0, "the loop never ran");
        assert!(
            !spinner.is_finished(),
            "the loop ended: {:?}",
            spinner.await
        );
        assert!(
            late < Duration::from_secs(5),
            "the timer fired {late:?} late"
        );
        println!(
            "the timer fired {late:?} late, after {} rounds",
            rounds.get()
        );
        spinner.abort();
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_socket_that_outlives_its_runtime_fails_instead_of_waiting() {
    let _fds = util::fd_shared();
    let first = Runtime::new().unwrap();
    let socket = first.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket
            .send_to(b"queued", socket.local_addr().unwrap())
            .await
            .unwrap();
        socket
    });
    drop(first);
    let second = Runtime::new().unwrap();
    second.block_on(deadline("a socket of a dropped runtime", async {
        let mut buf = [0; 16];
        // What is queued is still received; then a wait would be for ever.
        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"queued");
        let err = socket.recv_from(&mut buf).await.unwrap_err();
        assert!(err.to_string().contains("has shut down"), "{err}");
        let err = socket.readable().await.unwrap_err();
        assert!(err.to_string().contains("has shut down"), "{err}");
    }));
}

#[test]
fn many_tasks_share_one_socket() {
    const TASKS: usize = 16;
    const EACH: usize = 200;
    run("shared socket", async {
        let server = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = server.local_addr()?;
        let echoer = runtime::spawn(echo(server));
        let client = Rc::new(UdpSocket::bind("127.0.0.1:0").await?);
        client.connect(addr).await?;
        // One task receives for all; TASKS tasks send.
        let received = Rc::new(Cell::new(0usize));
        let receiver = runtime::spawn({
            let (client, received) = (client.clone(), received.clone());
            async move {
                let mut buf = [0; 8];
                let mut seen = vec![0usize; TASKS];
                while received.get() < TASKS * EACH {
                    let n = client.recv(&mut buf).await?;
                    assert_eq!(n, 2);
                    seen[buf[0] as usize] += 1;
                    received.set(received.get() + 1);
                }
                io::Result::Ok(seen)
            }
        });
        let senders: Vec<_> = (0..TASKS)
            .map(|t| {
                let client = client.clone();
                runtime::spawn(async move {
                    for i in 0..EACH {
                        client.send(&[t as u8, i as u8]).await?;
                        // Pace the senders so that the loopback never
                        // overflows the receiver's buffer.
                        if i % 4 == 3 {
                            sleep(Duration::from_millis(1)).await;
                        }
                    }
                    io::Result::Ok(())
                })
            })
            .collect();
        for sender in senders {
            sender.await??;
        }
        let seen = deadline("every echo", receiver).await??;
        assert!(seen.iter().all(|&n| n == EACH), "{seen:?}");
        echoer.abort();
        io::Result::Ok(())
    })
    .unwrap();
}
