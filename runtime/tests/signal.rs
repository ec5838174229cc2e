//! Signals: `ctrl_c` wakes an idle runtime, every listener sees each
//! delivery, a stream sees later deliveries, and two runtimes on two
//! threads both hear the same signal.
//!
//! Handlers are process-wide and replace the default action (a stray
//! SIGINT would otherwise kill the test binary), so every test that
//! installs one runs in a child process ([`util::in_child_process`]). A
//! lost wakeup shows up as a hang; no test uses a runtime timer (which
//! would turn the loop and hide it): a [`Watchdog`] aborts instead.

mod util;

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use futures_core::Stream;
use runtime::signal::{ctrl_c, signal, Signal, SignalKind};
use util::{in_child_process, Watchdog};

/// Limit for each test here; they take milliseconds.
const LIMIT: Duration = Duration::from_secs(20);

/// Sends `kind` to this process, as `kill -<sig> <pid>` would. The kernel
/// delivers it to any thread that does not block it.
fn send(kind: SignalKind) {
    // SAFETY: `kill` takes plain integers; this process has installed a
    // handler for `kind` (every caller creates its `Signal` first), so the
    // delivery only runs that handler.
    let res = unsafe { libc::kill(libc::getpid(), kind.as_raw_value()) };
    assert_eq!(res, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Raises `kind` on this thread: unlike [`send`], the handler has run by
/// the time this returns, so the delivery is counted at once.
fn raise(kind: SignalKind) {
    // SAFETY: `raise` takes a plain integer; this process has installed a
    // handler for `kind` (every caller creates its `Signal` first), so the
    // delivery only runs that handler.
    let res = unsafe { libc::raise(kind.as_raw_value()) };
    assert_eq!(res, 0, "raise: {}", std::io::Error::last_os_error());
}

/// Sends `kind` from a new thread after `delay`, so that the runtime is
/// blocked in `epoll_wait` (with no timeout: there are no timers) when it
/// arrives.
fn send_later(kind: SignalKind, delay: Duration) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(delay);
        send(kind);
    })
}

#[test]
fn ctrl_c_wakes_an_idle_runtime() {
    in_child_process("ctrl_c_wakes_an_idle_runtime", || {
        let _watchdog = Watchdog::new("ctrl_c", LIMIT);
        let start = Instant::now();
        runtime::block_on(async {
            let ctrl_c = ctrl_c();
            let sender = send_later(SignalKind::interrupt(), Duration::from_millis(100));
            ctrl_c.await.unwrap();
            sender.join().unwrap();
        });
        assert!(start.elapsed() < Duration::from_secs(5), "ctrl_c was slow");
        // The process survived the SIGINT: our handler replaced the default.
    });
}

#[test]
fn ctrl_c_installs_its_handler_when_called() {
    in_child_process("ctrl_c_installs_its_handler_when_called", || {
        let _watchdog = Watchdog::new("ctrl_c early", LIMIT);
        // Outside any runtime: the handler is installed now, so a SIGINT
        // before the first poll neither kills us nor gets lost.
        let ctrl_c = ctrl_c();
        send(SignalKind::interrupt());
        runtime::block_on(ctrl_c).unwrap();
    });
}

#[test]
fn two_tasks_waiting_on_sigterm_both_see_one_delivery() {
    in_child_process("two_tasks_waiting_on_sigterm_both_see_one_delivery", || {
        let _watchdog = Watchdog::new("two tasks", LIMIT);
        runtime::block_on(async {
            let mut first = signal(SignalKind::terminate()).unwrap();
            let mut second = signal(SignalKind::terminate()).unwrap();
            let a = runtime::spawn(async move { first.recv().await });
            let b = runtime::spawn(async move { second.recv().await });
            // Let both park before the delivery.
            runtime::task::yield_now().await;
            let sender = send_later(SignalKind::terminate(), Duration::from_millis(50));
            assert_eq!(a.await.unwrap(), Some(()));
            assert_eq!(b.await.unwrap(), Some(()));
            sender.join().unwrap();
        });
    });
}

/// The next item of `signal` as a `Stream`.
async fn next(signal: &mut Signal) -> Option<()> {
    poll_fn(|cx| Pin::new(&mut *signal).poll_next(cx)).await
}

#[test]
fn a_stream_sees_a_second_delivery_after_the_first() {
    in_child_process("a_stream_sees_a_second_delivery_after_the_first", || {
        let _watchdog = Watchdog::new("second delivery", LIMIT);
        runtime::block_on(async {
            let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
            let (go, go_rx) = mpsc::channel::<()>();
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                send(SignalKind::user_defined2());
                // The second only after the first was received: deliveries
                // that arrive between two polls are coalesced.
                go_rx.recv().unwrap();
                thread::sleep(Duration::from_millis(20));
                send(SignalKind::user_defined2());
            });
            assert_eq!(next(&mut usr2).await, Some(()));
            go.send(()).unwrap();
            assert_eq!(next(&mut usr2).await, Some(()));
            sender.join().unwrap();
        });
    });
}

#[test]
fn deliveries_between_polls_are_coalesced() {
    in_child_process("deliveries_between_polls_are_coalesced", || {
        let _watchdog = Watchdog::new("coalesce", LIMIT);
        runtime::block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            for _ in 0..3 {
                raise(SignalKind::user_defined1());
            }
            assert_eq!(usr1.recv().await, Some(()));
            // Nothing more is pending: the three became one.
            let pending = poll_fn(|cx| std::task::Poll::Ready(usr1.poll_recv(cx))).await;
            assert!(pending.is_pending());
        });
    });
}

#[test]
fn sighup_is_received() {
    in_child_process("sighup_is_received", || {
        let _watchdog = Watchdog::new("sighup", LIMIT);
        runtime::block_on(async {
            let mut hup = signal(SignalKind::hangup()).unwrap();
            let sender = send_later(SignalKind::hangup(), Duration::from_millis(50));
            assert_eq!(hup.recv().await, Some(()));
            sender.join().unwrap();
        });
    });
}

#[test]
fn a_signal_created_after_a_delivery_does_not_see_it() {
    in_child_process("a_signal_created_after_a_delivery_does_not_see_it", || {
        let _watchdog = Watchdog::new("fresh signal", LIMIT);
        runtime::block_on(async {
            let mut old = signal(SignalKind::quit()).unwrap();
            raise(SignalKind::quit());
            let mut fresh = signal(SignalKind::quit()).unwrap();
            assert_eq!(old.recv().await, Some(()));
            let pending = poll_fn(|cx| std::task::Poll::Ready(fresh.poll_recv(cx))).await;
            assert!(pending.is_pending());
        });
    });
}

/// Two runtimes, each on its own thread and idle in `epoll_wait`, both
/// receive every one of many rounds of SIGUSR1. Each round waits until both
/// have received, so no delivery is coalesced; a runtime that lost a wakeup
/// (its epoll missed a pipe the other runtime drained) hangs the round.
#[test]
fn two_runtimes_on_two_threads_both_see_a_sigusr1() {
    in_child_process("two_runtimes_on_two_threads_both_see_a_sigusr1", || {
        /// Rounds of one delivery each.
        const ROUNDS: usize = 50;
        let _watchdog = Watchdog::new("two runtimes", LIMIT);
        let ready = Arc::new(Barrier::new(3));
        let (received, received_rx) = mpsc::channel::<usize>();
        let listeners: Vec<_> = (0..2)
            .map(|who| {
                let ready = ready.clone();
                let received = received.clone();
                thread::spawn(move || {
                    runtime::block_on(async move {
                        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
                        ready.wait();
                        for _ in 0..ROUNDS {
                            assert_eq!(usr1.recv().await, Some(()));
                            received.send(who).unwrap();
                        }
                    });
                })
            })
            .collect();
        ready.wait();
        for round in 0..ROUNDS {
            thread::sleep(Duration::from_millis(2));
            send(SignalKind::user_defined1());
            let mut seen = [false; 2];
            for _ in 0..2 {
                let who = received_rx
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or_else(|_| panic!("round {round}: a runtime missed the signal"));
                assert!(!seen[who], "round {round}: runtime {who} received twice");
                seen[who] = true;
            }
        }
        for listener in listeners {
            listener.join().unwrap();
        }
    });
}

#[test]
fn uncatchable_signals_are_refused() {
    // Refused before anything is installed, so no child process is needed.
    runtime::block_on(async {
        for signum in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 1000] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{signum}");
        }
    });
}

#[test]
fn a_dropped_signal_releases_its_registration() {
    in_child_process("a_dropped_signal_releases_its_registration", || {
        runtime::block_on(async {
            let base = runtime::metrics().io_registrations;
            let a = signal(SignalKind::user_defined1()).unwrap();
            let b = signal(SignalKind::terminate()).unwrap();
            // One registration per runtime, shared by its signals.
            assert_eq!(runtime::metrics().io_registrations, base + 1);
            drop(a);
            assert_eq!(runtime::metrics().io_registrations, base + 1);
            drop(b);
            assert_eq!(runtime::metrics().io_registrations, base);
        });
    });
}

#[test]
fn a_signal_stream_ends_when_its_runtime_is_dropped() {
    in_child_process("a_signal_stream_ends_when_its_runtime_is_dropped", || {
        let _watchdog = Watchdog::new("signal stream of a dropped runtime", LIMIT);
        let first = runtime::Runtime::new().unwrap();
        let mut hup = first.block_on(async { signal(SignalKind::hangup()).unwrap() });
        drop(first);
        // Its pipe is registered with a reactor that will never turn again:
        // instead of waiting for ever, the stream ends, as tokio's does.
        let second = runtime::Runtime::new().unwrap();
        assert_eq!(second.block_on(hup.recv()), None);
        // And it stays ended, even after a delivery.
        raise(SignalKind::hangup());
        assert_eq!(second.block_on(hup.recv()), None);
    });
}

#[test]
fn a_task_waiting_for_a_signal_is_woken_when_the_streams_runtime_is_dropped() {
    in_child_process(
        "a_task_waiting_for_a_signal_is_woken_when_the_streams_runtime_is_dropped",
        || {
            let _watchdog = Watchdog::new("signal waiter of a dropped runtime", LIMIT);
            let first = runtime::Runtime::new().unwrap();
            let mut hup = first.block_on(async { signal(SignalKind::hangup()).unwrap() });
            let second = runtime::Runtime::new().unwrap();
            second.block_on(async move {
                let started = std::rc::Rc::new(std::cell::Cell::new(false));
                let waiter = runtime::spawn({
                    let started = started.clone();
                    async move {
                        started.set(true);
                        hup.recv().await
                    }
                });
                // Once started, the waiter is parked (nothing was delivered).
                util::yield_until(100, || started.get()).await;
                drop(first);
                assert_eq!(waiter.await.unwrap(), None);
            });
        },
    );
}
