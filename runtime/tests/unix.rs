//! Unix-domain sockets: 16 MiB echoed through a listener's socket file,
//! datagram echo, the socket file left in place until the user removes it,
//! peer credentials, pairs, split halves, the abstract namespace, a full
//! backlog, a sender parked on a full datagram queue, errors, and sockets
//! that outlive their runtime.
//!
//! Socket files live in a fresh [`TempDir`] per test, removed at the end.

mod util;

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::rc::Rc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{UnixDatagram, UnixListener, UnixStream};
use runtime::task::yield_now;
use runtime::Runtime;
use util::{deadline, run, TempDir, XorShift};

/// Echoes everything read from `stream` until EOF, then closes the write
/// side; returns the number of bytes echoed.
async fn echo(mut stream: UnixStream) -> io::Result<u64> {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            stream.close().await?;
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// `n` random bytes.
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut data = vec![0; n];
    XorShift::new(seed).fill(&mut data);
    data
}

/// Writes `data` from one task while this one reads the echo back until
/// EOF; returns what was read.
async fn round_trip(stream: UnixStream, data: Rc<Vec<u8>>) -> io::Result<Vec<u8>> {
    let (mut read, mut write) = stream.into_split();
    let writer = runtime::spawn(async move {
        let mut rng = XorShift::new(5);
        let mut rest = &data[..];
        // Writes of random sizes, so that reads see every alignment.
        while !rest.is_empty() {
            let n = (1 + rng.below(100_000) as usize).min(rest.len());
            write.write_all(&rest[..n]).await?;
            rest = &rest[n..];
        }
        write.close().await
    });
    let mut echoed = Vec::new();
    read.read_to_end(&mut echoed).await?;
    writer.await??;
    Ok(echoed)
}

#[test]
fn sixteen_mebibytes_echo_intact_through_a_socket_file() {
    const SIZE: usize = 16 * 1024 * 1024;
    let dir = TempDir::new("unix-echo");
    let path = dir.join("echo.sock");
    run("16 MiB unix echo", async {
        let listener = UnixListener::bind(&path)?;
        let server = runtime::spawn(async move {
            let (stream, peer) = listener.accept().await?;
            assert!(peer.is_unnamed());
            echo(stream).await
        });
        let client = UnixStream::connect(&path).await?;
        let data = Rc::new(random_bytes(16, SIZE));
        let echoed = round_trip(client, data.clone()).await?;
        assert_eq!(echoed.len(), SIZE, "bytes lost or added");
        if let Some(at) = echoed.iter().zip(data.iter()).position(|(a, b)| a != b) {
            panic!("the echo differs first at byte {at}");
        }
        assert_eq!(server.await??, SIZE as u64);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn datagrams_echo_intact_and_keep_their_boundaries() {
    const DATAGRAMS: u64 = 2_000;
    let dir = TempDir::new("unix-dgram");
    let (server_path, client_path) = (dir.join("server"), dir.join("client"));
    run("unix datagram echo", async {
        let server = UnixDatagram::bind(&server_path)?;
        let echoer = runtime::spawn(async move {
            let mut buf = vec![0; 64 * 1024];
            loop {
                let (n, from) = server.recv_from(&mut buf).await?;
                let to = from.as_pathname().expect("the client is bound").to_owned();
                server.send_to(&buf[..n], &to).await?;
            }
            #[allow(unreachable_code)]
            io::Result::Ok(())
        });
        let client = UnixDatagram::bind(&client_path)?;
        let pool = random_bytes(17, 64 * 1024);
        let mut rng = XorShift::new(18);
        let mut buf = vec![0; 64 * 1024];
        // Several in flight: Unix datagrams are never dropped, so the
        // echoes come back in order, every one.
        let mut in_flight = std::collections::VecDeque::new();
        for i in 0..DATAGRAMS + 8 {
            if i < DATAGRAMS {
                let len = rng.below(32 * 1024 + 1) as usize;
                let offset = rng.below(32 * 1024) as usize;
                let datagram = &pool[offset..offset + len];
                assert_eq!(client.send_to(datagram, &server_path).await?, len);
                in_flight.push_back(datagram);
            }
            if in_flight.len() > 8 || i >= DATAGRAMS {
                let Some(expected) = in_flight.pop_front() else {
                    break;
                };
                let n = deadline("an echo", client.recv(&mut buf)).await?;
                assert!(buf[..n] == *expected, "echo {i}: wrong bytes or length");
            }
        }
        echoer.abort();

        // A connected pair keeps boundaries too, an empty datagram included.
        let (a, b) = UnixDatagram::pair()?;
        for msg in [&b"one"[..], b"", b"three"] {
            a.send(msg).await?;
        }
        for msg in [&b"one"[..], b"", b"three"] {
            let n = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], msg);
        }
        // And truncates a datagram larger than the buffer.
        a.send(&pool[..1000]).await?;
        a.send(b"after").await?;
        let mut small = [0; 10];
        assert_eq!(b.recv(&mut small).await?, 10);
        assert_eq!(small, pool[..10]);
        let n = b.recv(&mut small).await?;
        assert_eq!(&small[..n], b"after");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn the_socket_file_stays_until_the_user_removes_it() {
    let dir = TempDir::new("unix-cleanup");
    let path = dir.join("server.sock");
    let dgram_path = dir.join("dgram.sock");
    run("socket file cleanup", async {
        let listener = UnixListener::bind(&path)?;
        let is_socket = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket());
        assert!(is_socket(&path), "bind creates the socket file");
        drop(listener);
        assert!(is_socket(&path), "dropping the listener removed its file");

        // The file left behind takes the path: no listener is behind it,
        // and nothing can bind it until it is removed.
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        std::fs::remove_file(&path)?;
        let listener = UnixListener::bind(&path)?;
        let _client = UnixStream::connect(&path).await?;
        listener.accept().await?;

        // `into_std` neither removes it.
        drop(listener.into_std()?);
        assert!(is_socket(&path));

        // A bound datagram socket's file stays too.
        drop(UnixDatagram::bind(&dgram_path)?);
        assert!(is_socket(&dgram_path));
        assert_eq!(
            UnixDatagram::bind(&dgram_path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        io::Result::Ok(())
    })
    .unwrap();
    drop(dir);
    assert!(!path.exists(), "the test's own cleanup failed");
}

/// This process's effective user and group ids, from `/proc/self/status`.
fn effective_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| -> u32 {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line"));
        // real, effective, saved, file system
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}

#[test]
fn peer_credentials_are_our_own() {
    let dir = TempDir::new("unix-cred");
    let path = dir.join("cred.sock");
    run("peer_cred", async {
        let (uid, gid) = effective_ids();
        let pid = std::process::id() as i32;
        let listener = UnixListener::bind(&path)?;
        let client = UnixStream::connect(&path).await?;
        let (server, _) = listener.accept().await?;
        let (a, b) = UnixStream::pair()?;
        for stream in [&client, &server, &a, &b] {
            let cred = stream.peer_cred()?;
            assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), uid, gid));
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn pairs_carry_bytes_both_ways() {
    run("pair", async {
        let (mut a, mut b) = UnixStream::pair()?;
        for i in 0..100u32 {
            a.write_all(&i.to_le_bytes()).await?;
            let mut buf = [0; 4];
            b.read_exact(&mut buf).await?;
            assert_eq!(u32::from_le_bytes(buf), i);
            b.write_all(&buf).await?;
            a.read_exact(&mut buf).await?;
            assert_eq!(u32::from_le_bytes(buf), i);
        }
        assert!(a.local_addr()?.is_unnamed() && a.peer_addr()?.is_unnamed());
        // try_ forms and readiness.
        let mut buf = [0; 8];
        assert_eq!(
            a.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        b.writable().await?;
        assert_eq!(b.try_write(b"try")?, 3);
        a.readable().await?;
        assert_eq!(a.try_read(&mut buf)?, 3);
        // A reader parked before the write is woken by it.
        let a = Rc::new(a);
        let reader = runtime::spawn({
            let a = a.clone();
            async move {
                let mut buf = [0; 8];
                (&*a).read(&mut buf).await.map(|n| buf[..n].to_vec())
            }
        });
        yield_now().await;
        assert!(!reader.is_finished());
        b.write_all(b"late").await?;
        assert_eq!(deadline("a parked read", reader).await??, b"late");
        // EOF, then a write to a closed peer is an error, not SIGPIPE.
        drop(b);
        assert_eq!((&*a).read(&mut buf).await?, 0);
        let err = (&*a).write_all(b"nobody").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn split_halves_read_and_write_apart_and_reunite() {
    run("unix split", async {
        let (mut a, mut b) = UnixStream::pair()?;
        {
            let (mut read, mut write) = a.split();
            write.write_all(b"borrowed").await?;
            b.write_all(b"halves").await?;
            let mut buf = [0; 6];
            read.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"halves");
            assert!(read.peer_addr()?.is_unnamed() && write.local_addr()?.is_unnamed());
        }
        let mut buf = [0; 8];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"borrowed");

        let (read, write) = a.into_split();
        let (other_read, other_write) = UnixStream::pair()?.0.into_split();
        let err = read.reunite(other_write).unwrap_err();
        assert!(err.to_string().contains("not from the same"));
        let (read, _other_write) = (err.0, err.1);
        drop(other_read);
        let a = read.reunite(write).expect("halves of one stream");

        // Owned halves in two tasks; dropping the write half sends EOF.
        let (mut read, mut write) = a.into_split();
        let writer = runtime::spawn(async move {
            write.write_all(b"from a task").await?;
            io::Result::Ok(())
        });
        writer.await??;
        let mut got = [0; 11];
        b.read_exact(&mut got).await?;
        assert_eq!(&got, b"from a task");
        assert_eq!(
            b.read(&mut got).await?,
            0,
            "the dropped write half sent EOF"
        );
        b.write_all(b"still readable").await?;
        let mut got = [0; 14];
        read.read_exact(&mut got).await?;
        assert_eq!(&got, b"still readable");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn abstract_names_need_no_file() {
    let name = format!("\0runtime-test-abstract-{}", std::process::id());
    run("abstract namespace", async {
        let listener = UnixListener::bind(&name)?;
        assert!(listener.local_addr()?.as_pathname().is_none());
        let mut client = UnixStream::connect(&name).await?;
        let (mut server, _) = listener.accept().await?;
        client.write_all(b"abstract").await?;
        let mut buf = [0; 8];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"abstract");
        // The name is taken while bound, and free once closed.
        assert_eq!(
            UnixListener::bind(&name).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        drop(listener);
        drop(UnixListener::bind(&name)?);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_full_backlog_is_a_clear_error_and_accepting_makes_room() {
    let dir = TempDir::new("unix-backlog");
    let path = dir.join("busy.sock");
    run("full backlog", async {
        let listener = UnixListener::bind(&path)?;
        let mut clients = Vec::new();
        // The backlog is at most 1,024 (less if net.core.somaxconn is).
        let err = loop {
            match UnixStream::connect(&path).await {
                Ok(client) => clients.push(client),
                Err(e) => break e,
            }
            assert!(clients.len() <= 5_000, "the backlog never filled");
        };
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(err.to_string().contains("backlog is full"), "{err}");
        println!("{} connections queued before: {err}", clients.len());
        listener.accept().await?;
        clients.push(UnixStream::connect(&path).await?);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_sender_waits_for_room_in_the_peers_queue() {
    run("full datagram queue", async {
        let (a, b) = UnixDatagram::pair()?;
        let a = Rc::new(a);
        // Fill b's queue without receiving.
        a.writable().await?;
        let mut queued = 0;
        loop {
            match a.try_send(&[1; 512]) {
                Ok(_) => queued += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
            assert!(queued < 100_000, "the queue never filled");
        }
        let sent = Rc::new(Cell::new(false));
        let sender = runtime::spawn({
            let (a, sent) = (a.clone(), sent.clone());
            async move {
                a.send(b"waited").await?;
                sent.set(true);
                io::Result::Ok(())
            }
        });
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(!sent.get(), "a send into a full queue did not wait");
        let mut buf = [0; 512];
        for _ in 0..queued {
            assert_eq!(b.recv(&mut buf).await?, 512);
        }
        deadline("the parked sender", sender).await??;
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"waited");
        println!("{queued} datagrams filled the queue");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn bad_addresses_are_clear_errors() {
    let dir = TempDir::new("unix-errors");
    run("unix errors", async {
        let missing = dir.join("missing.sock");
        let err = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let long = dir.join(&"x".repeat(200));
        for err in [
            UnixListener::bind(&long).unwrap_err(),
            UnixStream::connect(&long).await.unwrap_err(),
            UnixDatagram::bind(&long).unwrap_err(),
            UnixListener::bind("").unwrap_err(),
            UnixStream::connect("a\0b").await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        }
        let no_dir = dir.join("no/such/dir.sock");
        assert_eq!(
            UnixListener::bind(&no_dir).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let socket = UnixDatagram::unbound()?;
        let err = socket.send_to(b"x", &missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(socket.send(b"x").await.is_err(), "unconnected");
        assert!(socket.connect(&missing).is_err());
        // A regular file is no socket.
        let file = dir.join("file");
        std::fs::write(&file, b"not a socket")?;
        assert_eq!(
            UnixStream::connect(&file).await.unwrap_err().kind(),
            ErrorKind::ConnectionRefused
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn std_sockets_convert_both_ways() {
    let dir = TempDir::new("unix-std");
    let path = dir.join("std.sock");
    run("unix from_std/into_std", async {
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path)?)?;
        let client = UnixStream::from_std(std::os::unix::net::UnixStream::connect(&path)?)?;
        let (server, _) = listener.accept().await?;
        let mut server = UnixStream::from_std(server.into_std()?)?;
        (&client).write_all(b"converted").await?;
        let mut buf = [0; 9];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"converted");
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        let a = UnixDatagram::from_std(a)?;
        b.send(b"dgram")?;
        assert_eq!(a.recv(&mut buf).await?, 5);
        let a = a.into_std()?;
        assert_eq!(a.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn sockets_that_outlive_their_runtime_fail_instead_of_waiting() {
    let _fds = util::fd_shared();
    let name = format!("\0runtime-test-outlive-{}", std::process::id());
    let first = Runtime::new().unwrap();
    let (listener, stream, _peer, datagram) = first.block_on(async {
        let listener = UnixListener::bind(&name).unwrap();
        let (stream, peer) = UnixStream::pair().unwrap();
        (&peer).write_all(b"queued").await.unwrap();
        let datagram = UnixDatagram::unbound().unwrap();
        (listener, stream, peer, datagram)
    });
    drop(first);
    let second = Runtime::new().unwrap();
    second.block_on(deadline("unix sockets of a dropped runtime", async {
        let mut buf = [0; 6];
        (&stream).read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"queued");
        let shut_down = |e: io::Error| assert!(e.to_string().contains("has shut down"), "{e}");
        shut_down((&stream).read(&mut buf).await.unwrap_err());
        shut_down(listener.accept().await.map(drop).unwrap_err());
        shut_down(datagram.recv(&mut buf).await.unwrap_err());
    }));
}
