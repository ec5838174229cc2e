//! `block_on`: ready futures, misuse panics, panics of the main future, and
//! a wake from another thread ending an idle `epoll_wait`.

mod util;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use runtime::Runtime;
use util::Watchdog;

/// The message of a panic payload, if it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string payload>".to_string())
}

#[test]
fn ready_futures_complete_at_once() {
    assert_eq!(runtime::block_on(async { 42 }), 42);
    assert_eq!(runtime::block_on(std::future::ready("ready")), "ready");
    let owned = runtime::block_on(async { vec![1, 2, 3] });
    assert_eq!(owned, [1, 2, 3]);

    // A ready future is polled once and no task is ever polled.
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(async { runtime::metrics().polls }), 0);
    assert_eq!(rt.metrics().polls, 0);
    assert_eq!(rt.metrics().tasks, 0);
}

#[test]
fn a_runtime_runs_many_block_ons_in_turn() {
    let rt = Runtime::new().unwrap();
    for i in 0..100u32 {
        let out = rt.block_on(async move {
            runtime::task::yield_now().await;
            runtime::spawn(async move { i * 2 }).await.unwrap()
        });
        assert_eq!(out, i * 2);
    }
    assert_eq!(rt.metrics().tasks, 0);
}

#[test]
#[allow(clippy::async_yields_async)] // the handle is awaited by the next block_on
fn tasks_left_pending_run_again_at_the_next_block_on() {
    let rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(0));
    let handle = rt.block_on({
        let ran = ran.clone();
        async move {
            runtime::spawn(async move {
                for _ in 0..10 {
                    ran.set(ran.get() + 1);
                    runtime::task::yield_now().await;
                }
                "finished"
            })
        }
    });
    assert!(ran.get() < 10);
    assert_eq!(rt.block_on(handle).unwrap(), "finished");
    assert_eq!(ran.get(), 10);
}

#[test]
fn nested_block_on_panics_with_a_clear_message() {
    let outcome = runtime::block_on(async {
        catch_unwind(|| runtime::block_on(async { 1 })).map_err(|p| panic_message(&*p))
    });
    let message = outcome.expect_err("a nested block_on must panic");
    assert!(
        message.contains("block_on") && message.contains("inside a running runtime"),
        "unclear panic message: {message:?}"
    );

    // The same through an explicit runtime, from inside a spawned task.
    let rt = Runtime::new().unwrap();
    let message = rt.block_on(async {
        runtime::spawn(async {
            let inner = Runtime::new().unwrap();
            catch_unwind(AssertUnwindSafe(|| inner.block_on(async {})))
                .map_err(|p| panic_message(&*p))
        })
        .await
        .unwrap()
    });
    let message = message.expect_err("a nested block_on must panic");
    assert!(
        message.contains("block_on"),
        "unclear panic message: {message:?}"
    );

    // The outer runtime is still current and usable after the failed call.
    let out = rt.block_on(async {
        runtime::task::yield_now().await;
        runtime::spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(out, 7);
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    let payload = catch_unwind(|| {
        drop(runtime::spawn(async {}));
    })
    .expect_err("spawn outside a runtime must panic");
    let message = panic_message(&*payload);
    assert!(
        message.contains("no runtime") && message.contains("block_on"),
        "unclear panic message: {message:?}"
    );

    let payload = catch_unwind(runtime::metrics).expect_err("metrics outside a runtime");
    assert!(panic_message(&*payload).contains("no runtime"));

    // After a runtime has come and gone, the thread is outside again.
    runtime::block_on(async {});
    assert!(catch_unwind(|| drop(runtime::spawn(async {}))).is_err());
}

#[test]
fn a_panic_of_the_main_future_propagates() {
    let payload = catch_unwind(|| {
        runtime::block_on(async {
            runtime::task::yield_now().await;
            panic!("main future exploded");
        })
    })
    .expect_err("the panic must reach the caller of block_on");
    assert_eq!(panic_message(&*payload), "main future exploded");

    // The thread-local context was cleaned up on the way out.
    assert_eq!(runtime::block_on(async { 3 }), 3);
}

#[test]
fn a_runtime_survives_a_panic_of_its_main_future() {
    let rt = Runtime::new().unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            // A task spawned before the panic outlives it.
            let task = runtime::spawn(async {
                runtime::task::yield_now().await;
                "survivor"
            });
            runtime::task::yield_now().await;
            let _keep = task;
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    // The runtime is usable again and its tasks still run.
    let out = rt.block_on(async {
        runtime::time::sleep(Duration::from_millis(1)).await;
        runtime::spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(out, 5);
}

/// Parks on its first poll, hands its waker out, and completes once `flag`
/// is set.
struct WaitForFlag {
    flag: Arc<AtomicBool>,
    waker_out: Option<mpsc::Sender<Waker>>,
    polls: u32,
}

impl Future for WaitForFlag {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if self.flag.load(Ordering::SeqCst) {
            return Poll::Ready(self.polls);
        }
        if let Some(tx) = self.waker_out.take() {
            tx.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    }
}

/// True once the thread `tid` of this process sleeps in the kernel.
fn thread_is_sleeping(tid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name.
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().starts_with('S'))
        .unwrap_or(false)
}

/// The system call thread `tid` is blocked in, if the kernel tells us.
fn blocked_syscall(tid: i32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// True for the system call numbers of `epoll_wait` and its variants.
fn is_epoll_wait(nr: i64) -> bool {
    nr == libc::SYS_epoll_wait || nr == libc::SYS_epoll_pwait || nr == libc::SYS_epoll_pwait2
}

#[test]
fn a_wake_from_another_thread_ends_an_idle_epoll_wait() {
    let _watchdog = Watchdog::new(
        "a_wake_from_another_thread_ends_an_idle_epoll_wait",
        util::DEADLINE,
    );
    // SAFETY: gettid has no preconditions.
    let runtime_tid = unsafe { libc::gettid() };
    let flag = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let waker_thread = {
        let flag = flag.clone();
        thread::spawn(move || {
            let waker: Waker = rx.recv().unwrap();
            // Wait until the runtime thread is asleep in the kernel: it has
            // no timers and no sockets, so that is `epoll_wait(-1)`.
            let start = Instant::now();
            let syscall = loop {
                if thread_is_sleeping(runtime_tid) {
                    match blocked_syscall(runtime_tid) {
                        None => break None, // the kernel does not say
                        Some(nr) if is_epoll_wait(nr) => break Some(nr),
                        Some(_) => {}
                    }
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the runtime thread never blocked in epoll_wait"
                );
                thread::sleep(Duration::from_millis(1));
            };
            thread::sleep(Duration::from_millis(20));
            flag.store(true, Ordering::SeqCst);
            waker.wake();
            syscall
        })
    };
    let polls = runtime::block_on(WaitForFlag {
        flag,
        waker_out: Some(tx),
        polls: 0,
    });
    let syscall = waker_thread.join().unwrap();
    // Polled once to park, once after the wake: no busy polling meanwhile.
    assert_eq!(polls, 2);
    if let Some(nr) = syscall {
        assert!(is_epoll_wait(nr));
    }
}

#[test]
fn many_wakes_from_other_threads_end_idle_epoll_waits() {
    let _watchdog = Watchdog::new(
        "many_wakes_from_other_threads_end_idle_epoll_waits",
        util::DEADLINE,
    );
    const ROUNDS: usize = 500;
    let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
    let round = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let thread = {
        let round = round.clone();
        thread::spawn(move || {
            for r in 1..=ROUNDS {
                let waker = waker_rx.recv().unwrap();
                round.store(r, Ordering::SeqCst);
                waker.wake();
            }
        })
    };
    let mut seen = 0;
    runtime::block_on(poll_fn(|cx| {
        let now = round.load(Ordering::SeqCst);
        if now == ROUNDS {
            return Poll::Ready(());
        }
        if now == seen {
            // First poll, or the next round: ask for one more wake.
            seen = now + 1;
            waker_tx.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    }));
    thread.join().unwrap();
}
