//! Parking by task id: a spawned task of this runtime parks on a socket's
//! slot by its id when it polls with its own waker, and as a `Waker`
//! otherwise. These tests poke at the seams of that scheme through the
//! public API: sub-wakers next to the task's own waker, sockets shared by
//! several tasks, aborted and detached tasks, sockets dropped while tasks
//! are parked (from tasks, from wakers, from `Drop` during runtime
//! shutdown), many tasks on one listener, and EOF.
//!
//! Every test is bounded by `runtime::time::timeout` (or bounded loops) and
//! uses loopback with port 0 only.

mod util;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::task::{yield_now, JoinHandle};
use runtime::time::sleep;
use util::{tcp_pair, yield_until};

/// Generous bound for anything that should happen "at once".
const LIMIT: Duration = Duration::from_secs(3);

/// Awaits `future`, panicking with `what` after [`LIMIT`].
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    util::deadline_in(LIMIT, what, future).await
}

/// A waker of its own that wraps the task's waker, as a combinator's
/// per-child waker does, and counts its wakes.
struct SubWaker {
    inner: Waker,
    woken: AtomicUsize,
}

impl Wake for SubWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

/// One task polls a socket's read readiness with its own waker (parked by
/// id) and with a sub-waker wrapping it (parked as a `Waker`) in the same
/// poll, in either order. Both must be woken by the one event, and the task
/// polled exactly once more (no double poll, no lost wake).
#[test]
fn sub_waker_and_own_waker_in_one_poll() {
    for own_first in [true, false] {
        runtime::block_on(async move {
            let (mut client, server) = tcp_pair().await;
            let server = Rc::new(server);
            let polls = Rc::new(Cell::new(0));
            let sub_woken = Rc::new(RefCell::new(None::<Arc<SubWaker>>));
            let task = runtime::spawn({
                let (server, polls, sub_woken) = (server.clone(), polls.clone(), sub_woken.clone());
                async move {
                    poll_fn(|cx| {
                        polls.set(polls.get() + 1);
                        let sub = sub_woken
                            .borrow_mut()
                            .get_or_insert_with(|| {
                                Arc::new(SubWaker {
                                    inner: cx.waker().clone(),
                                    woken: AtomicUsize::new(0),
                                })
                            })
                            .clone();
                        let sub_waker = Waker::from(sub);
                        let mut sub_cx = Context::from_waker(&sub_waker);
                        let (own, via_sub) = if own_first {
                            let own = server.poll_read_ready(cx);
                            (own, server.poll_read_ready(&mut sub_cx))
                        } else {
                            let via_sub = server.poll_read_ready(&mut sub_cx);
                            (server.poll_read_ready(cx), via_sub)
                        };
                        assert_eq!(own.is_ready(), via_sub.is_ready());
                        own
                    })
                    .await
                    .unwrap();
                    let mut buf = [0; 8];
                    (&*server).read(&mut buf).await.unwrap()
                }
            });
            yield_until(10, || polls.get() == 1).await;
            // Let the task sit parked through a few idle turns.
            sleep(Duration::from_millis(20)).await;
            assert_eq!(polls.get(), 1, "woken without an event");
            client.write_all(b"ping").await.unwrap();
            let n = bounded("read after sub-waker + own waker", task)
                .await
                .unwrap();
            assert_eq!(n, 4);
            assert_eq!(
                polls.get(),
                2,
                "own_first={own_first}: polled twice for one event"
            );
            let sub = sub_woken.borrow().clone().unwrap();
            assert_eq!(
                sub.woken.load(Ordering::SeqCst),
                1,
                "own_first={own_first}: the sub-waker was not woken exactly once"
            );
        });
    }
}

/// A task that parks only through a sub-waker (never with its own waker)
/// is woken through it.
#[test]
fn only_a_sub_waker_parks() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let task = runtime::spawn(async move {
            let mut sub = None::<Arc<SubWaker>>;
            poll_fn(|cx| {
                let sub = sub
                    .get_or_insert_with(|| {
                        Arc::new(SubWaker {
                            inner: cx.waker().clone(),
                            woken: AtomicUsize::new(0),
                        })
                    })
                    .clone();
                let waker = Waker::from(sub);
                server.poll_read_ready(&mut Context::from_waker(&waker))
            })
            .await
            .unwrap();
            let mut buf = [0; 8];
            (&server).read(&mut buf).await.unwrap()
        });
        sleep(Duration::from_millis(10)).await;
        client.write_all(b"abc").await.unwrap();
        assert_eq!(bounded("sub-waker only", task).await.unwrap(), 3);
    });
}

/// A waker clone stored from an earlier poll and used in a fresh context in
/// a later poll of the same task still wakes the task.
#[test]
fn stored_clone_of_own_waker_in_a_later_poll() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let task = runtime::spawn(async move {
            let mut stored = None::<Waker>;
            let mut polls = 0;
            poll_fn(|cx| {
                polls += 1;
                match &stored {
                    None => {
                        stored = Some(cx.waker().clone());
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Some(w) => server.poll_read_ready(&mut Context::from_waker(w)),
                }
            })
            .await
            .unwrap();
            let mut buf = [0; 8];
            ((&server).read(&mut buf).await.unwrap(), polls)
        });
        sleep(Duration::from_millis(10)).await;
        client.write_all(b"xy").await.unwrap();
        let (n, polls) = bounded("stored waker clone", task).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(polls, 3);
    });
}

/// One socket shared by a reading task and a writing task, both parked by
/// id on different directions of the same slot (the writer fills the send
/// buffer, so it really parks), while the peer both writes and reads.
#[test]
fn socket_shared_by_a_reader_and_a_writer_task() {
    runtime::block_on(async {
        let (client, server) = tcp_pair().await;
        let (client, server) = (Rc::new(client), Rc::new(server));
        const OUT: usize = 8 << 20;
        const IN: usize = 1 << 16;
        let writer = runtime::spawn({
            let server = server.clone();
            async move {
                let data = vec![7u8; OUT];
                (&*server).write_all(&data).await.unwrap();
            }
        });
        let reader = runtime::spawn({
            let server = server.clone();
            async move {
                let mut buf = vec![0u8; IN];
                (&*server).read_exact(&mut buf).await.unwrap();
                buf.iter().all(|b| *b == 9)
            }
        });
        let client_writer = runtime::spawn({
            let client = client.clone();
            async move {
                sleep(Duration::from_millis(20)).await;
                for chunk in vec![9u8; IN].chunks(1000) {
                    (&*client).write_all(chunk).await.unwrap();
                    yield_now().await;
                }
            }
        });
        let received = bounded("client reads all", async {
            let mut got = 0;
            let mut buf = vec![0u8; 1 << 16];
            while got < OUT {
                let n = (&*client).read(&mut buf).await.unwrap();
                assert!(n > 0);
                assert!(buf[..n].iter().all(|b| *b == 7));
                got += n;
            }
            got
        })
        .await;
        assert_eq!(received, OUT);
        bounded("writer", writer).await.unwrap();
        assert!(bounded("reader", reader).await.unwrap());
        bounded("client writer", client_writer).await.unwrap();
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// Two tasks read the same socket, both parked by id on one direction (one
/// as the slot's first waiter, the other in the rest). One byte wakes both;
/// one gets it, the other parks again and gets the next.
#[test]
fn two_readers_parked_by_id_on_one_socket() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let done = Rc::new(Cell::new(0));
        let spawn_reader = |server: Rc<TcpStream>, done: Rc<Cell<usize>>| {
            runtime::spawn(async move {
                loop {
                    server.readable().await.unwrap();
                    let mut byte = [0; 1];
                    match server.try_read(&mut byte) {
                        Ok(1) => break,
                        Ok(n) => panic!("read {n}"),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
                done.set(done.get() + 1);
            })
        };
        let a = spawn_reader(server.clone(), done.clone());
        let b = spawn_reader(server.clone(), done.clone());
        sleep(Duration::from_millis(10)).await;
        client.write_all(b"1").await.unwrap();
        bounded("one reader gets the first byte", async {
            while done.get() < 1 {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        sleep(Duration::from_millis(10)).await;
        assert_eq!(done.get(), 1);
        client.write_all(b"2").await.unwrap();
        bounded("reader a", a).await.unwrap();
        bounded("reader b", b).await.unwrap();
        assert_eq!(done.get(), 2);
    });
}

/// A task aborted while parked by id leaves its (now stale) id in the
/// slot. When the socket turns readable, the stale id wakes nobody (not
/// even a new task that reuses the aborted task's slab index), and a task
/// that parked after it gets the data.
#[test]
fn task_aborted_while_parked_by_id_then_socket_readable() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let (_other_client, other_server) = tcp_pair().await;
        let server = Rc::new(server);
        let polls_a = Rc::new(Cell::new(0));
        let a = runtime::spawn({
            let (server, polls_a) = (server.clone(), polls_a.clone());
            async move {
                poll_fn(|cx| {
                    polls_a.set(polls_a.get() + 1);
                    server.poll_read_ready(cx)
                })
                .await
                .unwrap();
                unreachable!("the aborted task was polled to completion");
            }
        });
        yield_until(10, || polls_a.get() == 1).await;
        a.abort();
        let err = bounded("abort", a).await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(
            polls_a.get(),
            1,
            "an aborted task's future was polled again"
        );

        // This one very likely reuses A's slab index (LIFO free list), with a
        // new generation; it parks on another socket and must not be woken
        // by A's stale id.
        let polls_c = Rc::new(Cell::new(0));
        let c = runtime::spawn({
            let polls_c = polls_c.clone();
            async move {
                poll_fn(|cx| {
                    polls_c.set(polls_c.get() + 1);
                    other_server.poll_read_ready(cx)
                })
                .await
                .unwrap();
            }
        });
        let b = runtime::spawn({
            let server = server.clone();
            async move {
                let mut buf = [0; 16];
                (&*server).read(&mut buf).await.unwrap()
            }
        });
        sleep(Duration::from_millis(10)).await;
        assert_eq!(polls_c.get(), 1);
        client.write_all(b"hello").await.unwrap();
        assert_eq!(bounded("b reads", b).await.unwrap(), 5);
        sleep(Duration::from_millis(10)).await;
        assert_eq!(polls_c.get(), 1, "a stale id woke an unrelated task");
        c.abort();
        assert!(bounded("abort c", c).await.unwrap_err().is_cancelled());
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// A task that drops its own JoinHandle (detaching itself) and then parks
/// by id still runs to completion; a task that aborts itself through its
/// own handle stops at its next poll and its future is dropped.
#[test]
fn join_handle_dropped_or_aborted_inside_its_task() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::new(RefCell::new(None));
        let result = Rc::new(Cell::new(0));
        let handle = runtime::spawn({
            let (slot, result) = (slot.clone(), result.clone());
            async move {
                yield_now().await;
                let own = slot.borrow_mut().take().expect("handle stored");
                drop(own);
                let mut buf = [0; 8];
                result.set((&server).read(&mut buf).await.unwrap());
            }
        });
        *slot.borrow_mut() = Some(handle);
        sleep(Duration::from_millis(10)).await;
        assert!(slot.borrow().is_none());
        client.write_all(b"abc").await.unwrap();
        bounded("detached reader", async {
            while result.get() == 0 {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(result.get(), 3);

        // Self-abort while parked by id.
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let (_client2, server2) = tcp_pair().await;
        let dropped = Rc::new(Cell::new(false));
        let slot2: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::new(RefCell::new(None));
        let handle = runtime::spawn({
            let (slot2, dropped) = (slot2.clone(), dropped.clone());
            async move {
                let _flag = Flag(dropped);
                yield_now().await;
                slot2.borrow().as_ref().unwrap().abort();
                let mut buf = [0; 8];
                let _ = (&server2).read(&mut buf).await;
                unreachable!("polled after aborting itself");
            }
        });
        *slot2.borrow_mut() = Some(handle);
        bounded("self abort", async {
            while !dropped.get() {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        let handle = slot2.borrow_mut().take();
        assert!(handle.as_ref().unwrap().is_finished());
        assert!(bounded("self-aborted handle", handle.unwrap())
            .await
            .unwrap_err()
            .is_cancelled());
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// Spawns a task that counts its polls in `polls` and waits until the
/// stream in `shared` is readable or taken away.
fn spawn_waiting_on(
    shared: &Rc<RefCell<Option<TcpStream>>>,
    polls: &Rc<Cell<usize>>,
) -> JoinHandle<()> {
    let (shared, polls) = (shared.clone(), polls.clone());
    runtime::spawn(async move {
        poll_fn(|cx| {
            polls.set(polls.get() + 1);
            match &*shared.borrow() {
                None => Poll::Ready(()),
                Some(stream) => stream.poll_read_ready(cx).map(|r| r.unwrap()),
            }
        })
        .await
    })
}

/// A task parked by id on a socket that another task drops is woken (the
/// deregistration hands its id to the executor outside a turn), promptly
/// and exactly once.
#[test]
fn socket_dropped_under_a_task_parked_by_id() {
    runtime::block_on(async {
        let (_client, server) = tcp_pair().await;
        let shared = Rc::new(RefCell::new(Some(server)));
        let polls = Rc::new(Cell::new(0));
        let task = spawn_waiting_on(&shared, &polls);
        yield_until(10, || polls.get() == 1).await;
        let dropper = runtime::spawn({
            let shared = shared.clone();
            async move {
                drop(shared.borrow_mut().take());
            }
        });
        let start = Instant::now();
        bounded("woken by deregistration", task).await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(polls.get(), 2);
        dropper.await.unwrap();
    });
}

thread_local! {
    /// What `AwkwardWaker::wake` drops and spawns, on the runtime thread.
    static AWKWARD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    /// Set by the task `AwkwardWaker::wake` spawns.
    static SPAWNED_RAN: Cell<bool> = const { Cell::new(false) };
}

/// A waker whose `wake` (run by the reactor during a turn) drops a socket
/// a task is parked on by id, drops JoinHandles, and spawns a task.
struct AwkwardWaker {
    woken: AtomicUsize,
}

impl Wake for AwkwardWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
        let stash = AWKWARD.with(|a| std::mem::take(&mut *a.borrow_mut()));
        drop(stash);
        let handle = runtime::spawn(async {
            SPAWNED_RAN.with(|r| r.set(true));
        });
        drop(handle);
    }
}

#[test]
fn a_waker_woken_in_a_turn_drops_sockets_and_spawns() {
    runtime::block_on(async {
        let (mut client1, server1) = tcp_pair().await;
        let (_client2, server2) = tcp_pair().await;
        let shared = Rc::new(RefCell::new(Some(server2)));
        let polls = Rc::new(Cell::new(0));
        let parked = spawn_waiting_on(&shared, &polls);
        // A parked task whose handle the waker drops.
        let (_client3, server3) = tcp_pair().await;
        let detached = runtime::spawn(async move {
            let mut buf = [0; 1];
            let _ = (&server3).read(&mut buf).await;
        });
        yield_until(10, || polls.get() == 1).await;
        AWKWARD.with(|a| {
            let mut a = a.borrow_mut();
            a.push(Box::new(shared.borrow_mut().take().unwrap()));
            a.push(Box::new(detached));
        });
        let awkward = Arc::new(AwkwardWaker {
            woken: AtomicUsize::new(0),
        });
        let waker = Waker::from(awkward.clone());
        assert!(server1
            .poll_read_ready(&mut Context::from_waker(&waker))
            .is_pending());
        client1.write_all(b"!").await.unwrap();
        bounded("parked task woken by a drop inside a wake", parked)
            .await
            .unwrap();
        assert_eq!(awkward.woken.load(Ordering::SeqCst), 1);
        assert_eq!(polls.get(), 2);
        bounded("spawned from a wake", async {
            while !SPAWNED_RAN.with(Cell::get) {
                yield_now().await;
            }
        })
        .await;
    });
}

/// Counts drops.
struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Held by each task; its `Drop` (run while the runtime drops its tasks)
/// drops a socket another task is parked on by id and spawns a task.
struct ShutdownGuard {
    dropped: Rc<Cell<usize>>,
    socket: Rc<RefCell<Option<TcpStream>>>,
    spawned_dropped: Rc<Cell<usize>>,
    spawned_polled: Rc<Cell<usize>>,
    handles: Rc<RefCell<Vec<JoinHandle<()>>>>,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
        drop(self.socket.borrow_mut().take());
        let counted = Counted(self.spawned_dropped.clone());
        let polled = self.spawned_polled.clone();
        let handle = runtime::spawn(async move {
            let _counted = counted;
            polled.set(polled.get() + 1);
        });
        self.handles.borrow_mut().push(handle);
    }
}

/// The runtime is dropped while tasks are parked by id. Their futures'
/// `Drop` drops sockets other tasks are parked on, spawns tasks and drops
/// JoinHandles of tasks still being dropped. Every future is dropped once,
/// nothing spawned during shutdown is polled, and every handle reports the
/// cancellation. Sockets that outlive the runtime can still be dropped.
#[test]
fn runtime_dropped_with_tasks_parked_by_id() {
    const N: usize = 8;
    let dropped = Rc::new(Cell::new(0));
    let spawned_dropped = Rc::new(Cell::new(0));
    let spawned_polled = Rc::new(Cell::new(0));
    let shutdown_handles = Rc::new(RefCell::new(Vec::new()));
    let rt = runtime::Runtime::new().unwrap();
    let (handles, survivors) = rt.block_on(async {
        let mut handles = Vec::new();
        let mut survivors = Vec::new();
        let mut previous: Option<JoinHandle<()>> = None;
        for _ in 0..N {
            let (client, server) = tcp_pair().await;
            let (other_client, other_server) = tcp_pair().await;
            survivors.push(client);
            survivors.push(other_client);
            let other = Rc::new(RefCell::new(Some(other_server)));
            // Parked by id on the socket the guard drops.
            let parked = runtime::spawn({
                let other = other.clone();
                async move {
                    poll_fn(|cx| match &*other.borrow() {
                        None => Poll::Ready(()),
                        Some(s) => s.poll_read_ready(cx).map(|r| r.unwrap()),
                    })
                    .await
                }
            });
            drop(parked);
            let guard = ShutdownGuard {
                dropped: dropped.clone(),
                socket: other,
                spawned_dropped: spawned_dropped.clone(),
                spawned_polled: spawned_polled.clone(),
                handles: shutdown_handles.clone(),
            };
            // Each task holds the previous one's handle, so dropping a
            // future drops a handle of a task still in the runtime.
            let held = previous.take();
            let handle = runtime::spawn(async move {
                let _guard = guard;
                let _held = held;
                let mut buf = [0; 1];
                let _ = (&server).read(&mut buf).await;
                unreachable!("nobody writes");
            });
            previous = Some(handle);
            yield_now().await;
        }
        handles.push(previous.take().unwrap());
        // Plus tasks parked by id on the sockets the guards drop.
        sleep(Duration::from_millis(10)).await;
        (handles, survivors)
    });
    assert_eq!(rt.metrics().tasks, 2 * N);
    drop(rt);
    assert_eq!(dropped.get(), N, "every task's future dropped once");
    let spawned = shutdown_handles.borrow().len();
    assert_eq!(spawned, N);
    assert_eq!(
        spawned_dropped.get(),
        N,
        "futures spawned during shutdown dropped"
    );
    assert_eq!(
        spawned_polled.get(),
        0,
        "a future spawned during shutdown was polled"
    );
    for handle in shutdown_handles.borrow().iter() {
        assert!(handle.is_finished());
    }
    // Handles outlive the runtime; awaiting them elsewhere reports the
    // cancellation.
    let errors = runtime::block_on(async move {
        let mut cancelled = 0;
        for h in handles {
            cancelled += usize::from(h.await.unwrap_err().is_cancelled());
        }
        let shutdown: Vec<_> = shutdown_handles.borrow_mut().drain(..).collect();
        for h in shutdown {
            cancelled += usize::from(h.await.unwrap_err().is_cancelled());
        }
        cancelled
    });
    assert_eq!(errors, 1 + N);
    drop(survivors);
}

/// A task parked by id across two `block_on` calls of one runtime is woken
/// in the second one by data written in between.
#[test]
fn task_parked_by_id_survives_across_block_on() {
    let rt = runtime::Runtime::new().unwrap();
    let (client, handle) = rt.block_on(async {
        let (client, server) = tcp_pair().await;
        let handle = runtime::spawn(async move {
            let mut buf = [0; 8];
            (&server).read(&mut buf).await.unwrap()
        });
        sleep(Duration::from_millis(10)).await;
        (client, handle)
    });
    assert_eq!(client.try_write(b"later").unwrap(), 5);
    let n = rt.block_on(async { bounded("second block_on", handle).await.unwrap() });
    assert_eq!(n, 5);
}

/// The reader parked by id reads the data and then EOF, whether the FIN
/// comes with the data or later, and whether the data was read with exact
/// sizes (no short read to clear the readiness) or not.
#[test]
fn eof_after_data_wakes_a_reader_parked_by_id() {
    for (fin_later, exact) in [(false, false), (false, true), (true, false), (true, true)] {
        runtime::block_on(async move {
            let (mut client, server) = tcp_pair().await;
            let reader = runtime::spawn(async move {
                let mut got = Vec::new();
                if exact {
                    let mut buf = [0; 4];
                    (&server).read_exact(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf);
                }
                let mut buf = [0; 64];
                loop {
                    let n = (&server).read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                // EOF stays: a second read returns 0 at once.
                assert_eq!((&server).read(&mut buf).await.unwrap(), 0);
                got
            });
            sleep(Duration::from_millis(10)).await;
            client.write_all(b"data").await.unwrap();
            if fin_later {
                sleep(Duration::from_millis(20)).await;
            }
            client.shutdown().await.unwrap();
            let got = bounded("EOF", reader).await.unwrap();
            assert_eq!(got, b"data", "fin_later={fin_later} exact={exact}");
        });
    }
}

/// A future whose `Drop`, run as its task completes, spawns a task that
/// parks by id, and drops the handle of another task parked by id. Both
/// keep working.
#[test]
fn drop_at_completion_spawns_and_drops_handles() {
    struct OnDrop {
        spawned: Rc<RefCell<Option<JoinHandle<usize>>>>,
        server: Option<TcpStream>,
        held: Option<JoinHandle<usize>>,
    }
    impl Drop for OnDrop {
        fn drop(&mut self) {
            drop(self.held.take());
            let server = self.server.take().unwrap();
            *self.spawned.borrow_mut() = Some(runtime::spawn(async move {
                let mut buf = [0; 8];
                (&server).read(&mut buf).await.unwrap()
            }));
        }
    }
    runtime::block_on(async {
        let (mut c1, s1) = tcp_pair().await;
        let (mut c2, s2) = tcp_pair().await;
        let detached_done = Rc::new(Cell::new(0));
        let other = runtime::spawn({
            let detached_done = detached_done.clone();
            async move {
                let mut buf = [0; 8];
                let n = (&s1).read(&mut buf).await.unwrap();
                detached_done.set(n);
                n
            }
        });
        let spawned = Rc::new(RefCell::new(None));
        let guard = OnDrop {
            spawned: spawned.clone(),
            server: Some(s2),
            held: Some(other),
        };
        let first = runtime::spawn(async move {
            let _guard = guard;
            yield_now().await;
        });
        bounded("first", first).await.unwrap();
        let spawned = spawned.borrow_mut().take().expect("spawned from Drop");
        sleep(Duration::from_millis(10)).await;
        c1.write_all(b"one").await.unwrap();
        c2.write_all(b"three").await.unwrap();
        assert_eq!(bounded("spawned from Drop", spawned).await.unwrap(), 5);
        bounded("detached", async {
            while detached_done.get() == 0 {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(detached_done.get(), 3);
    });
}

/// Many tasks accept on one listener, more than a slot keeps parked
/// before it evicts; every one of them gets a connection.
#[test]
fn many_acceptors_on_one_listener_all_get_a_connection() {
    const TASKS: usize = 100;
    runtime::block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let accepted = Rc::new(Cell::new(0));
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let (listener, accepted) = (listener.clone(), accepted.clone());
            handles.push(runtime::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                accepted.set(accepted.get() + 1);
                stream
            }));
        }
        sleep(Duration::from_millis(10)).await;
        let mut clients = Vec::new();
        for _ in 0..TASKS {
            clients.push(bounded("connect", TcpStream::connect(addr)).await.unwrap());
        }
        let streams = bounded("all accepted", async {
            let mut streams = Vec::new();
            for h in handles {
                streams.push(h.await.unwrap());
            }
            streams
        })
        .await;
        assert_eq!(streams.len(), TASKS);
        assert_eq!(accepted.get(), TASKS);
    });
}

/// Task polls during `idle` while `tasks` tasks wait on one listener that
/// nobody connects to.
fn idle_polls_with_acceptors(tasks: usize, idle: Duration) -> u64 {
    runtime::block_on(async move {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let listener = listener.clone();
            handles.push(runtime::spawn(async move {
                let _ = listener.accept().await;
            }));
        }
        sleep(Duration::from_millis(20)).await;
        let before = runtime::metrics().polls;
        sleep(idle).await;
        let polls = runtime::metrics().polls - before;
        for h in &handles {
            h.abort();
        }
        polls
    })
}

/// Tasks waiting on a socket that never becomes ready cost nothing while
/// they wait ("any number of tasks may wait on one slot"). Beyond
/// `MAX_PARKED` (64) the waiter list evicts (wakes) everyone a few times,
/// until the live waiters that come back have raised its limit; then it
/// settles. (Before that limit adapted, 65 waiters evicted each other for
/// ever and the runtime spun at 100% CPU.)
#[test]
fn idle_acceptors_beyond_max_parked_do_not_spin() {
    let idle = Duration::from_millis(200);
    let at_bound = idle_polls_with_acceptors(64, idle);
    assert_eq!(
        at_bound, 0,
        "64 idle acceptors were polled {at_bound} times"
    );
    for tasks in [65, 300] {
        let above = idle_polls_with_acceptors(tasks, idle);
        assert!(
            above < 100,
            "{tasks} idle acceptors were polled {above} times in {idle:?}: the runtime spins"
        );
    }
}

/// A future polled in place is never moved: its address stays the same
/// from its first poll to its drop, across many polls with wakes by id and
/// by waker in between.
#[test]
fn future_address_is_stable_from_first_poll_to_drop() {
    struct Pinned {
        address: Option<usize>,
        polls: usize,
        server: Rc<TcpStream>,
        seen: Rc<Cell<usize>>,
        _marker: std::marker::PhantomPinned,
    }
    impl Future for Pinned {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            // SAFETY: nothing is moved out; only plain fields are updated.
            let this = unsafe { self.get_unchecked_mut() };
            let here = this as *const Pinned as usize;
            match this.address {
                None => this.address = Some(here),
                Some(a) => assert_eq!(a, here, "the future moved between polls"),
            }
            this.polls += 1;
            this.seen.set(this.polls);
            if this.polls >= 5 {
                return Poll::Ready(());
            }
            if this.polls % 2 == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.server.poll_read_ready(cx) {
                Poll::Ready(_) => {
                    let mut buf = [0; 16];
                    let _ = this.server.try_read(&mut buf);
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Pending => Poll::Pending,
            }
        }
    }
    impl Drop for Pinned {
        fn drop(&mut self) {
            if let Some(a) = self.address {
                assert_eq!(a, self as *const Pinned as usize, "moved before drop");
            }
        }
    }
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let seen = Rc::new(Cell::new(0));
        let task = runtime::spawn(Pinned {
            address: None,
            polls: 0,
            server: Rc::new(server),
            seen: seen.clone(),
            _marker: std::marker::PhantomPinned,
        });
        for _ in 0..5 {
            sleep(Duration::from_millis(5)).await;
            if task.is_finished() {
                break;
            }
            let _ = client.write_all(b"x").await;
        }
        bounded("pinned", task).await.unwrap();
        assert_eq!(seen.get(), 5);
    });
}

/// The `block_on` future itself is never parked by id (it is not a spawned
/// task) even while a spawned task's waker is around; it parks as a waker
/// and is woken.
#[test]
fn main_future_parks_as_a_waker_next_to_tasks_parked_by_id() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let task = runtime::spawn({
            let server = server.clone();
            async move {
                server.readable().await.unwrap();
            }
        });
        let writer = runtime::spawn(async move {
            sleep(Duration::from_millis(20)).await;
            client.write_all(b"z").await.unwrap();
            client
        });
        let mut main_read = pin!(server.readable());
        bounded("main future readable", main_read.as_mut())
            .await
            .unwrap();
        bounded("task readable", task).await.unwrap();
        let _client = writer.await.unwrap();
    });
}

thread_local! {
    /// The handle `AbortingWaker::wake` aborts.
    static TO_ABORT: RefCell<Option<JoinHandle<()>>> = const { RefCell::new(None) };
}

/// A waker whose `wake` aborts a task parked by id.
struct AbortingWaker;

impl Wake for AbortingWaker {
    fn wake(self: Arc<Self>) {
        TO_ABORT.with(|h| h.borrow().as_ref().unwrap().abort());
    }
}

/// A waker woken during a turn aborts a task parked by id on another
/// socket; the task is cancelled without being polled to completion.
#[test]
fn a_waker_woken_in_a_turn_aborts_a_task_parked_by_id() {
    runtime::block_on(async {
        let (mut client1, server1) = tcp_pair().await;
        let (_client2, server2) = tcp_pair().await;
        let task = runtime::spawn(async move {
            let mut buf = [0; 1];
            let _ = (&server2).read(&mut buf).await;
            unreachable!("nobody writes");
        });
        yield_now().await;
        TO_ABORT.with(|h| *h.borrow_mut() = Some(task));
        let waker = Waker::from(Arc::new(AbortingWaker));
        assert!(server1
            .poll_read_ready(&mut Context::from_waker(&waker))
            .is_pending());
        client1.write_all(b"!").await.unwrap();
        let task = bounded("aborted by a waker", async {
            loop {
                let done = TO_ABORT.with(|h| h.borrow().as_ref().unwrap().is_finished());
                if done {
                    // In an `Option`: the block must not yield a future.
                    break TO_ABORT.with(|h| h.borrow_mut().take());
                }
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        let task = task.expect("the handle was stored");
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// A task parked by id and, on the same socket, the same task's waker
/// parked as a `Waker` by the `block_on` future: one event, one poll.
#[test]
fn task_parked_by_id_and_by_its_waker_is_polled_once() {
    runtime::block_on(async {
        let (mut client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let polls = Rc::new(Cell::new(0));
        let waker_out = Rc::new(RefCell::new(None::<Waker>));
        let task = runtime::spawn({
            let (server, polls, waker_out) = (server.clone(), polls.clone(), waker_out.clone());
            async move {
                poll_fn(|cx| {
                    polls.set(polls.get() + 1);
                    waker_out
                        .borrow_mut()
                        .get_or_insert_with(|| cx.waker().clone());
                    server.poll_read_ready(cx)
                })
                .await
                .unwrap();
            }
        });
        yield_until(10, || polls.get() == 1).await;
        let task_waker = waker_out.borrow().clone().unwrap();
        // Outside the task's poll: parked as a waker, next to its id.
        assert!(server
            .poll_read_ready(&mut Context::from_waker(&task_waker))
            .is_pending());
        client.write_all(b"q").await.unwrap();
        bounded("task", task).await.unwrap();
        sleep(Duration::from_millis(10)).await;
        assert_eq!(polls.get(), 2);
    });
}
