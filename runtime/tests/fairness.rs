//! Fairness: a connection flooded by its peer, a task that wakes itself
//! forever and tasks that yield to each other forever must not starve other
//! sockets or timers; a task whose socket never runs dry is cut off by the
//! I/O budget so that the others get their turn.
//!
//! A starved task shows up as a hang, which the [`Watchdog`] turns into a
//! failure; the watchdog is a plain thread, not a runtime timer, so it
//! cannot itself turn the starved loop. No test asserts speed.

mod util;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::TcpListener;
use runtime::task::{yield_now, JoinHandle};
use runtime::time::{interval, sleep};
use util::{run, tcp_pair};

/// Spawns a task that counts its polls in `polls` and wakes itself at every
/// poll, so it is always in the run queue. It never finishes: abort it.
fn spawn_spinner(polls: Rc<Cell<u64>>) -> JoinHandle<()> {
    runtime::spawn(poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        cx.waker().wake_by_ref();
        Poll::Pending
    }))
}

/// Spawns a task that counts its turns in `turns` and yields after each
/// one, forever: abort it.
fn spawn_yielder(turns: Rc<Cell<u64>>) -> JoinHandle<()> {
    runtime::spawn(async move {
        loop {
            turns.set(turns.get() + 1);
            yield_now().await;
        }
    })
}

/// Spawns `future` and waits until the task has been polled once and is
/// parked (not finished).
async fn spawn_parked<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let polled = Rc::new(Cell::new(false));
    let task = runtime::spawn({
        let polled = polled.clone();
        async move {
            polled.set(true);
            future.await
        }
    });
    yield_until(|| polled.get()).await;
    assert!(!task.is_finished(), "the task did not park");
    task
}

/// Aborts `task` and checks that it ends as cancelled.
async fn abort(task: JoinHandle<()>) {
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
}

/// A peer thread that connects to `addr` and writes into the connection as
/// fast as it can until `stop` is set or the connection breaks. Returns the
/// number of bytes it wrote.
fn spawn_flooder(addr: SocketAddr, stop: Arc<AtomicBool>) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("flooder connect");
        // A bounded block, so that the stop flag is seen even when the
        // reader falls behind.
        stream
            .set_write_timeout(Some(Duration::from_millis(50)))
            .expect("set_write_timeout");
        let chunk = vec![0x5a; 256 * 1024];
        let mut written = 0;
        while !stop.load(Ordering::Relaxed) {
            match stream.write(&chunk) {
                Ok(n) => written += n as u64,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break, // the runtime side closed: reset or broken pipe
            }
        }
        written
    })
}

/// Yields until `done` holds; a hang is caught by the watchdog.
async fn yield_until(mut done: impl FnMut() -> bool) {
    while !done() {
        yield_now().await;
    }
}

/// A connection whose peer writes as fast as it can, read by a task in a
/// tight loop with a large buffer, stops neither a 1-byte ping-pong on
/// another connection (1,000 round trips) nor a 10 ms interval.
#[test]
fn a_flooded_connection_starves_neither_ping_pong_nor_interval() {
    run("flood vs ping-pong and interval", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let stop = Arc::new(AtomicBool::new(false));
        let flooder = spawn_flooder(listener.local_addr()?, stop.clone());
        let (flooded, _) = listener.accept().await?;
        drop(listener);

        // The flooded side: read everything, as fast as possible, forever.
        let received = Rc::new(Cell::new(0u64));
        let reader = runtime::spawn({
            let received = received.clone();
            async move {
                let mut buf = vec![0; 256 * 1024];
                loop {
                    match (&flooded).read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.set(received.get() + n as u64),
                    }
                }
            }
        });
        // Let the flood get going before measuring anything.
        yield_until(|| received.get() >= 1 << 20).await;

        // The interval counts its ticks from now on.
        let ticks = Rc::new(Cell::new(0u32));
        let ticker = runtime::spawn({
            let ticks = ticks.clone();
            async move {
                let mut every = interval(Duration::from_millis(10));
                let mut last = every.tick().await;
                ticks.set(1);
                loop {
                    let now = every.tick().await;
                    assert!(now - last >= Duration::from_millis(10), "interval early");
                    last = now;
                    ticks.set(ticks.get() + 1);
                }
            }
        });

        // The ping-pong: both ends on this runtime, one byte each way.
        let flood_at_start = received.get();
        let (mut ping, pong) = tcp_pair().await;
        ping.set_nodelay(true)?;
        pong.set_nodelay(true)?;
        let echo = runtime::spawn(async move {
            let mut byte = [0; 1];
            loop {
                if (&pong).read(&mut byte).await? == 0 {
                    return io::Result::Ok(());
                }
                (&pong).write_all(&byte).await?;
            }
        });
        for i in 0..1000u32 {
            let byte = [i as u8];
            ping.write_all(&byte).await?;
            let mut back = [0; 1];
            ping.read_exact(&mut back).await?;
            assert_eq!(back, byte, "round trip {i} echoed the wrong byte");
        }
        drop(ping);
        echo.await.unwrap()?;

        // The interval keeps ticking while the flood goes on.
        while ticks.get() < 5 {
            sleep(Duration::from_millis(1)).await;
        }
        let flood_during = received.get() - flood_at_start;
        assert!(
            flood_during > 0,
            "the flooded connection was not read during the ping-pong: not a flood"
        );
        assert!(!reader.is_finished(), "the flood ended early");

        abort(ticker).await;
        stop.store(true, Ordering::Relaxed);
        abort(reader).await; // closes the flooded socket: the flooder's write fails
        let written = flooder.join().expect("flooder thread");
        assert!(written >= received.get());
        io::Result::Ok(())
    })
    .unwrap();
}

/// A task that wakes itself and returns `Pending` at every poll keeps the
/// run queue non-empty forever; sockets and timers still make progress.
#[test]
fn a_task_that_always_wakes_itself_starves_neither_io_nor_timers() {
    run("self-waking task vs I/O and timers", async {
        let spins = Rc::new(Cell::new(0u64));
        let spinner = spawn_spinner(spins.clone());
        yield_until(|| spins.get() > 0).await;

        // Connecting and accepting already need the reactor.
        let (mut client, mut server) = tcp_pair().await;

        // A read parked before its data exists, and a sleep.
        let reader = spawn_parked(async move {
            let mut buf = [0; 4];
            server.read_exact(&mut buf).await.unwrap();
            buf
        })
        .await;
        let sleeper = spawn_parked(async {
            let start = Instant::now();
            sleep(Duration::from_millis(20)).await;
            start.elapsed()
        })
        .await;
        let spins_before = spins.get();
        client.write_all(b"ping").await.unwrap();

        assert_eq!(&reader.await.unwrap(), b"ping");
        let slept = sleeper.await.unwrap();
        assert!(slept >= Duration::from_millis(20), "slept only {slept:?}");
        assert!(
            spins.get() > spins_before,
            "the spinner did not run meanwhile: the test proves nothing"
        );
        abort(spinner).await;
    });
}

/// Two tasks that yield to each other forever do not keep a third task,
/// whose socket became readable, from running.
#[test]
fn tasks_yielding_to_each_other_forever_do_not_block_a_readable_socket() {
    run("yielding tasks vs readable socket", async {
        let turns = Rc::new(Cell::new(0u64));
        let yielders = [spawn_yielder(turns.clone()), spawn_yielder(turns.clone())];
        let (mut client, mut server) = tcp_pair().await;
        let reader = spawn_parked(async move {
            let mut buf = [0; 5];
            server.read_exact(&mut buf).await.unwrap();
            buf
        })
        .await;
        let turns_before = turns.get();
        client.write_all(b"hello").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"hello");
        assert!(
            turns.get() > turns_before,
            "the yielders did not run meanwhile: the test proves nothing"
        );
        for yielder in yielders {
            abort(yielder).await;
        }
    });
}

/// Bytes queued in the socket's receive buffer (`FIONREAD`).
fn bytes_queued(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: `fd` is an open socket for the duration of the call, and
    // FIONREAD writes one `c_int` through the valid pointer given.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", io::Error::last_os_error());
    usize::try_from(n).expect("FIONREAD returned a negative count")
}

/// How many bytes are queued at the reader before it starts: more than it
/// reads, so that every read finds data.
const QUEUED: usize = 48 * 1024;

/// How many 1-byte reads the reader makes; each returns a full buffer, so
/// the socket never proves drained and its readiness is never cleared.
const READS: usize = 16 * 1024;

/// At least once per this many reads must another task run. The budget is
/// an implementation detail; this is a generous multiple of any sensible one
/// and still far below `READS`, so a runtime without a budget (where the
/// reader finishes all its reads in one poll) fails.
const READS_PER_TURN: usize = 1024;

/// Makes `READS` 1-byte reads from a socket that always has data, inside
/// `poll_reads`, while a yielding task counts its turns; checks that the
/// other task ran regularly during the reads and that the reader was polled
/// more than once per `READS_PER_TURN` reads.
async fn always_readable_socket_yields(spawned: bool) {
    let (mut client, server) = tcp_pair().await;
    client
        .write_all(&(0..QUEUED).map(|i| i as u8).collect::<Vec<_>>())
        .await
        .unwrap();
    // Wait until every byte is in the server's receive buffer, so that no
    // read can find it empty (which would yield without any budget).
    let fd = server.as_raw_fd();
    yield_until(|| bytes_queued(fd) == QUEUED).await;

    let turns = Rc::new(Cell::new(0u64));
    let yielder = spawn_yielder(turns.clone());
    yield_now().await;

    let reads = {
        let turns = turns.clone();
        async move {
            let turns_before = turns.get();
            let mut polls = 0usize;
            let mut reading = pin!(async {
                let mut byte = [0; 1];
                for i in 0..READS {
                    assert_eq!((&server).read(&mut byte).await.unwrap(), 1);
                    assert_eq!(byte[0], i as u8, "read {i} got the wrong byte");
                }
            });
            poll_fn(|cx| {
                polls += 1;
                reading.as_mut().poll(cx)
            })
            .await;
            (polls, turns.get() - turns_before)
        }
    };
    let (polls, other_turns) = if spawned {
        runtime::spawn(reads).await.unwrap()
    } else {
        reads.await
    };
    abort(yielder).await;

    let want = (READS / READS_PER_TURN) as u64;
    assert!(
        polls as u64 >= want,
        "{READS} reads of an always-readable socket took only {polls} polls: \
         no I/O budget makes the reader yield"
    );
    assert!(
        other_turns >= want,
        "another task ran only {other_turns} times during {READS} reads of an \
         always-readable socket: the reader starved it"
    );
}

/// A spawned task whose socket is always readable is made to yield by the
/// I/O budget, and another task runs in between.
#[test]
fn a_task_whose_socket_is_always_readable_hits_the_io_budget() {
    run(
        "I/O budget, spawned task",
        always_readable_socket_yields(true),
    );
}

/// The same holds for the future given to `block_on` itself.
#[test]
fn block_on_whose_socket_is_always_readable_hits_the_io_budget() {
    run("I/O budget, block_on", always_readable_socket_yields(false));
}

/// A reader of a real flood (a peer thread writing as fast as it can) is
/// polled many times, and the runtime's poll count grows with it: the
/// flood is consumed in many bounded slices, not one endless poll.
#[test]
fn a_flooded_reader_is_polled_in_bounded_slices() {
    run("flooded reader polls", async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let stop = Arc::new(AtomicBool::new(false));
        let flooder = spawn_flooder(listener.local_addr()?, stop.clone());
        let (flooded, _) = listener.accept().await?;
        drop(listener);

        // Small reads, so that a slice of the flood takes many of them.
        const TOTAL: u64 = 16 << 20;
        let polls_before = runtime::metrics().polls;
        let reader = runtime::spawn(async move {
            let mut polls = 0u64;
            let mut reads = 0u64;
            let mut received = 0u64;
            let mut buf = [0; 512];
            poll_fn(|cx| {
                polls += 1;
                loop {
                    if received >= TOTAL {
                        return Poll::Ready(());
                    }
                    match std::pin::Pin::new(&mut (&flooded).read(&mut buf)).poll(cx) {
                        Poll::Ready(Ok(n)) if n > 0 => {
                            reads += 1;
                            received += n as u64;
                        }
                        Poll::Ready(other) => panic!("flood ended early: {other:?}"),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            })
            .await;
            (polls, reads)
        });
        let (polls, reads) = reader.await.unwrap();
        let runtime_polls = runtime::metrics().polls - polls_before;
        stop.store(true, Ordering::Relaxed);
        flooder.join().expect("flooder thread");

        assert!(
            reads >= TOTAL / 512,
            "{reads} reads for {TOTAL} bytes of 512"
        );
        assert!(
            polls >= reads / READS_PER_TURN as u64,
            "{reads} reads of a flood in only {polls} polls"
        );
        assert!(
            runtime_polls >= polls,
            "metrics().polls counted {runtime_polls} < {polls}"
        );
        io::Result::Ok(())
    })
    .unwrap();
}
