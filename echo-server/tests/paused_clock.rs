//! The idle timeout and the shutdown's grace period on the runtime's
//! paused clock: minutes of virtual time in well under a second of wall
//! time, and always the same way. (The end-to-end tests in `tests/` check
//! the real binary with real time.)

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use echo_server::{Config, Server};
use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::{sleep, Instant};

/// A quiet config with an idle timeout of `idle`.
fn config(idle: Option<Duration>) -> Config {
    Config {
        quiet: true,
        idle_timeout: idle,
        ..Config::default()
    }
}

/// Runs `test` on a runtime whose clock starts paused, and checks it took
/// little wall time however much virtual time passed.
fn paused(test: impl std::future::Future<Output = ()>) {
    let wall = std::time::Instant::now();
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(test);
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "the paused clock waited {:?} of real time",
        wall.elapsed()
    );
}

#[test]
fn an_idle_connection_closes_after_the_timeout_and_a_talking_one_stays() {
    paused(async {
        let limit = Duration::from_secs(300);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(listener, config(Some(limit)));
        let serving = runtime::spawn(async move {
            server.serve_until(std::future::pending()).await.unwrap();
        });
        let start = Instant::now();
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"once").await.unwrap();
        let mut back = [0; 4];
        idle.read_exact(&mut back).await.unwrap();
        // Another connection talks every 100 s, for 10 minutes.
        let talker = runtime::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for _ in 0..6 {
                sleep(Duration::from_secs(100)).await;
                stream.write_all(b"x").await.unwrap();
                let mut byte = [0];
                stream.read_exact(&mut byte).await.unwrap();
            }
            stream
        });
        // The idle one sees EOF: never early, late by at most a quarter.
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).await.unwrap();
        let closed_after = start.elapsed();
        assert!(closed_after >= limit, "closed early: {closed_after:?}");
        assert!(
            closed_after <= limit + limit / 4 + Duration::from_secs(1),
            "{closed_after:?}"
        );
        // The talker was never idle for a whole limit: still served.
        let mut talker = talker.await.unwrap();
        talker.write_all(b"y").await.unwrap();
        let mut byte = [0];
        talker.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"y");
        assert!(start.elapsed() >= Duration::from_secs(600));
        serving.abort();
    });
}

/// The byte at `offset` of what the clients send: a pattern, so a lost,
/// doubled or reordered byte shows.
fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// Writes `total` bytes of [`pattern`] in 64 KiB writes, `pace` apart (it
/// may change on the way),
/// stopping early (without error) once `stop` is set or the connection
/// fails; returns how many were written.
async fn write_pattern(
    mut writer: runtime::net::tcp::OwnedWriteHalf,
    total: u64,
    pace: Rc<Cell<Duration>>,
    stop: Rc<Cell<bool>>,
) -> u64 {
    let mut sent = 0;
    let mut chunk = vec![0; 64 * 1024];
    while sent < total && !stop.get() {
        let len = chunk.len().min((total - sent) as usize);
        for (i, byte) in chunk[..len].iter_mut().enumerate() {
            *byte = pattern(sent + i as u64);
        }
        if writer.write_all(&chunk[..len]).await.is_err() {
            break;
        }
        sent += len as u64;
        if !pace.get().is_zero() {
            sleep(pace.get()).await;
        }
    }
    // Dropping the half sends our FIN.
    sent
}

/// Checks that `received` is the pattern from `offset` on.
fn check_pattern(received: &[u8], offset: u64) {
    for (i, &byte) in received.iter().enumerate() {
        let at = offset + i as u64;
        assert_eq!(byte, pattern(at), "byte {at} of the echo is wrong");
    }
}

#[test]
fn the_grace_period_lets_a_busy_connection_finish_then_the_rest_is_closed() {
    paused(async {
        // More than loopback's socket buffers hold, so the server is still
        // echoing when the shutdown begins.
        const TOTAL: u64 = 32 << 20;
        let grace = Duration::from_secs(30);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server::new(listener, config(None));
        let (stop_tx, stop_rx) = runtime::sync::oneshot::channel::<()>();
        let clients = runtime::spawn(async move {
            // An idle client: closed at once at the shutdown.
            let mut idle = TcpStream::connect(addr).await.unwrap();
            // A busy client: it sends 32 MiB and reads its echo 2 MiB a
            // second, so about 16 s of virtual time: within the grace.
            let (mut reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
            let writing =
                runtime::spawn(write_pattern(writer, TOTAL, Rc::default(), Rc::default()));
            sleep(Duration::from_millis(100)).await;
            let _ = stop_tx.send(());
            let shutdown_at = Instant::now();
            let mut idle_rest = Vec::new();
            idle.read_to_end(&mut idle_rest).await.unwrap();
            let idle_closed = shutdown_at.elapsed();
            let mut received = 0;
            let mut buf = vec![0; 2 << 20];
            loop {
                sleep(Duration::from_secs(1)).await;
                let mut filled = 0;
                while filled < buf.len() {
                    match reader.read(&mut buf[filled..]).await.unwrap() {
                        0 => break,
                        n => filled += n,
                    }
                }
                check_pattern(&buf[..filled], received);
                received += filled as u64;
                if filled < buf.len() {
                    break; // the server's FIN
                }
            }
            let sent = writing.await.unwrap();
            (idle_closed, sent, received)
        });
        server
            .serve_until(async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        server.stop_accepting();
        let started = Instant::now();
        let summary = server.shut_down(grace, std::future::pending()).await;
        let took = started.elapsed();
        let (idle_closed, sent, received) = clients.await.unwrap();
        assert!(
            idle_closed < Duration::from_secs(1),
            "the idle client waited {idle_closed:?}"
        );
        assert_eq!(sent, TOTAL);
        assert_eq!(received, TOTAL, "every byte came back");
        assert_eq!(summary.bytes_echoed, TOTAL, "{summary}");
        assert!(
            took < grace,
            "the shutdown waited the whole grace period: {took:?}"
        );
        assert_eq!(summary.closed_at_once, 1, "{summary}");
        assert_eq!(summary.finished_in_grace, 1, "{summary}");
        assert_eq!(summary.forced, 0, "{summary}");
    });
}

#[test]
fn a_connection_still_busy_when_the_grace_period_ends_is_finished_and_closed() {
    paused(async {
        let grace = Duration::from_secs(60);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server::new(listener, config(None));
        let (stop_tx, stop_rx) = runtime::sync::oneshot::channel::<()>();
        let client = runtime::spawn(async move {
            // Sends as fast as the server takes it, and reads the echo only
            // 64 KiB a second until the grace period is over: busy all
            // through it. Then it reads as fast as it can, to the FIN, and
            // sends only 640 KiB a second. (A peer that sent flat out after
            // the server's FIN would pass LINGER_BYTES and be reset; that is
            // by design.)
            let (mut reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
            let stop = Rc::new(Cell::new(false));
            let pace = Rc::new(Cell::new(Duration::ZERO));
            let writing =
                runtime::spawn(write_pattern(writer, 1 << 30, pace.clone(), stop.clone()));
            sleep(Duration::from_millis(100)).await;
            let _ = stop_tx.send(());
            let slow_until = Instant::now() + grace + Duration::from_secs(1);
            let mut received = 0;
            let mut buf = vec![0; 64 * 1024];
            loop {
                if Instant::now() < slow_until {
                    sleep(Duration::from_secs(1)).await;
                } else {
                    pace.set(Duration::from_millis(100));
                }
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                check_pattern(&buf[..n], received);
                received += n as u64;
            }
            stop.set(true);
            let sent = writing.await.unwrap();
            (sent, received)
        });
        server
            .serve_until(async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        server.stop_accepting();
        let started = Instant::now();
        let summary = server.shut_down(grace, std::future::pending()).await;
        let took = started.elapsed();
        assert!(
            took >= grace,
            "closed before the grace period ended: {took:?}"
        );
        assert_eq!(summary.forced, 1, "{summary}");
        let (sent, received) = client.await.unwrap();
        // What the server read came back whole, a prefix of what was sent,
        // and the close was a FIN (a reset would have failed the read).
        assert!(
            received > 0 && received <= sent,
            "echoed {received} of {sent}"
        );
        assert_eq!(summary.bytes_echoed, received, "{summary}");
    });
}
