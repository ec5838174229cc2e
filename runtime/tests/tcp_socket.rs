//! `TcpSocket`, the std conversions, split halves, `peek`, name
//! resolution off the runtime thread, and IPv6.

mod util;

use std::cell::Cell;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{AcceptFailure, TcpListener, TcpSocket, TcpStream};
use util::run;

#[test]
fn two_reuseport_listeners_on_one_port_both_accept() {
    run("reuseport", async {
        let listeners: Vec<Rc<TcpListener>> = {
            let first = TcpSocket::new_v4().unwrap();
            first.set_reuseport(true).unwrap();
            assert!(first.reuseport().unwrap());
            first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = first.local_addr().unwrap();
            let second = TcpSocket::new_v4().unwrap();
            second.set_reuseport(true).unwrap();
            second.bind(addr).unwrap();
            vec![
                Rc::new(first.listen(1024).unwrap()),
                Rc::new(second.listen(1024).unwrap()),
            ]
        };
        let addr = listeners[0].local_addr().unwrap();
        assert_eq!(listeners[1].local_addr().unwrap(), addr);
        let counts: Vec<Rc<Cell<usize>>> = (0..2).map(|_| Rc::default()).collect();
        let acceptors: Vec<_> = listeners
            .iter()
            .zip(&counts)
            .map(|(listener, count)| {
                let (listener, count) = (listener.clone(), count.clone());
                runtime::spawn(async move {
                    loop {
                        let (mut stream, _) = listener.accept().await.unwrap();
                        count.set(count.get() + 1);
                        stream.write_all(b"x").await.unwrap();
                    }
                })
            })
            .collect();
        // The kernel hashes each connection to one listener: with 64 of
        // them, each listener gets some (all to one: odds 2^-63).
        for _ in 0..64 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let mut byte = [0];
            client.read_exact(&mut byte).await.unwrap();
        }
        assert_eq!(counts[0].get() + counts[1].get(), 64);
        assert!(
            counts.iter().all(|c| c.get() > 0),
            "one listener accepted everything: {:?}",
            counts.iter().map(|c| c.get()).collect::<Vec<_>>()
        );
        acceptors.iter().for_each(|a| a.abort());
    });
}

#[test]
fn a_second_bind_without_reuseport_is_refused() {
    run("no reuseport", async {
        let first = TcpSocket::new_v4().unwrap();
        first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let _first = first.listen(16).unwrap();
        let second = TcpSocket::new_v4().unwrap();
        let err = second.bind(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn socket_options_read_back() {
    run("options", async {
        let socket = TcpSocket::new_v6().unwrap();
        socket.set_reuseaddr(true).unwrap();
        assert!(socket.reuseaddr().unwrap());
        socket.set_keepalive(true).unwrap();
        assert!(socket.keepalive().unwrap());
        socket.set_send_buffer_size(64 * 1024).unwrap();
        assert!(socket.send_buffer_size().unwrap() >= 64 * 1024);
        socket.set_recv_buffer_size(32 * 1024).unwrap();
        assert!(socket.recv_buffer_size().unwrap() >= 32 * 1024);
        let err = socket.set_send_buffer_size(u32::MAX).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn tcp_socket_connects_and_the_stream_works() {
    run("connect", async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_nodelay(true).unwrap();
        let mut client = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        assert!(client.nodelay().unwrap());
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"over TcpSocket").await.unwrap();
        let mut buf = [0; 14];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"over TcpSocket");
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    run("refused", async {
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn std_conversions_round_trip() {
    run("from_std and into_std", async {
        let listener =
            TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let registered = runtime::metrics().io_registrations;
        let mut std_server = server.into_std().unwrap();
        assert_eq!(runtime::metrics().io_registrations, registered - 1);
        std_server.set_nonblocking(false).unwrap();
        std::io::Write::write_all(&mut std_server, b"std").unwrap();
        let mut client = client;
        let mut buf = [0; 3];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std");
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    });
}

#[test]
fn owned_halves_work_from_two_tasks_and_reunite() {
    run("into_split", async {
        let (client, server) = util::tcp_pair().await;
        let (mut read, mut write) = server.into_split();
        let echo = runtime::spawn(async move {
            let mut buf = [0; 5];
            read.read_exact(&mut buf).await.unwrap();
            read
        });
        let mut client = client;
        client.write_all(b"hello").await.unwrap();
        let read = echo.await.unwrap();
        write.write_all(b"back").await.unwrap();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back");
        // Halves of different streams do not reunite, and come back whole.
        let (_c2, other) = util::tcp_pair().await;
        let (other_read, other_write) = other.into_split();
        let err = read.reunite(other_write).unwrap_err();
        let (read, other_write) = (err.0, err.1);
        drop((other_read, other_write));
        let mut server = read.reunite(write).unwrap();
        server.write_all(b"!").await.unwrap();
        let mut byte = [0];
        client.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"!");
    });
}

#[test]
fn dropping_the_owned_write_half_sends_eof_unless_forgotten() {
    run("write half drop", async {
        let (mut client, server) = util::tcp_pair().await;
        let (_read, write) = server.into_split();
        drop(write);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());

        let (mut client, server) = util::tcp_pair().await;
        let (read, write) = server.into_split();
        write.forget();
        let mut byte = [0];
        let pending =
            runtime::time::timeout(std::time::Duration::from_millis(50), client.read(&mut byte))
                .await;
        assert!(pending.is_err(), "a forgotten write half must not send EOF");
        drop(read);
    });
}

#[test]
fn borrowed_halves_read_and_write_at_once() {
    run("split", async {
        let (mut client, mut server) = util::tcp_pair().await;
        let (mut read, mut write) = server.split();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        read.read_exact(&mut buf).await.unwrap();
        write.write_all(&buf).await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn peek_does_not_consume() {
    run("peek", async {
        let (mut client, server) = util::tcp_pair().await;
        client.write_all(b"abc").await.unwrap();
        let mut buf = [0; 8];
        let n = server.peek(&mut buf).await.unwrap();
        assert!(n > 0 && n <= 3);
        assert_eq!(&buf[..n], &b"abc"[..n]);
        let mut all = [0; 3];
        (&server).read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"abc");
    });
}

#[test]
fn host_names_resolve_off_the_runtime_thread_and_ipv6_works() {
    run("names and IPv6", async {
        // A name, not an address: resolved on the blocking pool.
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
        let client = TcpStream::connect(("localhost", port)).await.unwrap();
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());

        let v6 = TcpListener::bind("[::1]:0").await.unwrap();
        let addr: SocketAddr = v6.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = v6.accept().await.unwrap();
        client.write_all(b"six").await.unwrap();
        let mut buf = [0; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"six");

        let err = TcpStream::connect("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::Other, "{err}");
        let Err(err) = runtime::net::lookup_host("no port").await else {
            panic!("a name without a port resolved");
        };
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
fn accept_failures_are_sorted_by_what_a_server_should_do() {
    let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
    assert_eq!(AcceptFailure::of(&emfile), AcceptFailure::OutOfResources);
    let enfile = std::io::Error::from_raw_os_error(libc::ENFILE);
    assert_eq!(AcceptFailure::of(&enfile), AcceptFailure::OutOfResources);
    let aborted = std::io::Error::from_raw_os_error(libc::ECONNABORTED);
    assert_eq!(AcceptFailure::of(&aborted), AcceptFailure::Connection);
    let einval = std::io::Error::from_raw_os_error(libc::EINVAL);
    assert_eq!(AcceptFailure::of(&einval), AcceptFailure::Listener);
}
