//! A `JoinHandle` is `Send` when its output is: a local task's handle
//! awaited, aborted, asked `is_finished`, or dropped on another thread,
//! and a `Handle::spawn` handle passed on to a third thread.

// The tests take handles out of `block_on` on purpose, to move them.
#![allow(clippy::async_yields_async)]

mod util;

use std::future::Future as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use runtime::sync::oneshot;
use runtime::task::JoinHandle;
use runtime::Runtime;

/// Runs `rt` until `done` fires (another thread's work is finished).
fn drive_until<T>(rt: &Runtime, done: oneshot::Receiver<T>) -> T {
    let _watchdog = util::Watchdog::new("join_handle_send", util::DEADLINE);
    rt.block_on(done).expect("the other thread reported")
}

/// Awaits `task` on a new thread with a runtime of its own; the answer
/// comes back on the returned channel.
fn await_elsewhere<T: Send + 'static>(
    task: JoinHandle<T>,
) -> (
    oneshot::Receiver<Result<T, runtime::task::JoinError>>,
    thread::JoinHandle<()>,
) {
    let (tx, rx) = oneshot::channel();
    let thread = thread::spawn(move || {
        let _ = tx.send(runtime::block_on(task));
    });
    (rx, thread)
}

#[test]
fn join_handles_are_send_when_their_output_is() {
    util::assert_send::<JoinHandle<u64>>();
    util::assert_send::<JoinHandle<String>>();
    util::assert_sync::<JoinHandle<u64>>();
}

/// Spawns a task that returns `output` and runs `rt` until it is done;
/// returns its handle, with the runtime idle.
fn finished_task<T: 'static>(rt: &Runtime, output: T) -> JoinHandle<T> {
    rt.block_on(async move {
        let task = runtime::spawn(async move { output });
        while !task.is_finished() {
            runtime::task::yield_now().await;
        }
        task
    })
}

#[test]
fn a_finished_task_is_awaited_elsewhere_while_its_runtime_is_not_running() {
    let rt = Runtime::new().unwrap();
    let _watchdog = util::Watchdog::new("join_handle_send", util::DEADLINE);
    let task = finished_task(&rt, 7u8);
    // Nothing drives `rt` while the other thread waits.
    let thread = thread::spawn(move || {
        let finished = task.is_finished();
        (finished, runtime::block_on(task).unwrap())
    });
    assert_eq!(thread.join().unwrap(), (true, 7));
    drop(rt);
}

#[test]
fn an_abort_handle_taken_on_another_thread_aborts() {
    let rt = Runtime::new().unwrap();
    let task = rt.block_on(async { runtime::spawn(std::future::pending::<()>()) });
    let (tx, rx) = oneshot::channel();
    let thread = thread::spawn(move || {
        let abort = task.abort_handle();
        abort.abort();
        let cancelled = runtime::block_on(task).unwrap_err().is_cancelled();
        let _ = tx.send((cancelled, abort.is_finished()));
    });
    assert_eq!(drive_until(&rt, rx), (true, true));
    thread.join().unwrap();
}

#[test]
fn a_handle_brought_home_with_its_forward_still_queued_is_dropped_there() {
    let rt = Runtime::new().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let output = Dropped {
        count: count.clone(),
        on: Arc::default(),
    };
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let task = rt.block_on(async move {
        runtime::spawn(async move {
            go_rx.await.unwrap();
            output
        })
    });
    // Polled elsewhere (the forward is queued), then back here and dropped
    // before the runtime ran again.
    let task = thread::spawn(move || {
        let mut task = task;
        runtime::block_on(std::future::poll_fn(|cx| {
            assert!(std::pin::Pin::new(&mut task).poll(cx).is_pending());
            std::task::Poll::Ready(())
        }));
        task
    })
    .join()
    .unwrap();
    drop(task);
    go_tx.send(()).unwrap();
    rt.block_on(async {
        for _ in 0..1_000 {
            if count.load(Ordering::SeqCst) == 1 {
                break;
            }
            runtime::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), 1, "the output was dropped");
}

#[test]
fn handles_dropped_elsewhere_after_their_runtime_leak_no_descriptor_and_no_output() {
    util::in_child_process(
        "handles_dropped_elsewhere_after_their_runtime_leak_no_descriptor_and_no_output",
        || {
            let count = Arc::new(AtomicUsize::new(0));
            let before = util::open_fd_count();
            for _ in 0..20 {
                let rt = Runtime::new().unwrap();
                let output = Dropped {
                    count: count.clone(),
                    on: Arc::default(),
                };
                let task = finished_task(&rt, output);
                drop(rt);
                thread::spawn(move || drop(task)).join().unwrap();
            }
            assert_eq!(count.load(Ordering::SeqCst), 20, "every output dropped");
            assert_eq!(util::open_fd_count(), before, "no descriptor left open");
        },
    );
}

#[test]
#[should_panic(expected = "polled again after it returned")]
fn a_handle_polled_elsewhere_after_it_returned_panics_as_at_home() {
    let rt = Runtime::new().unwrap();
    let mut task = finished_task(&rt, 1u8);
    assert_eq!(rt.block_on(&mut task).unwrap(), 1);
    let result = thread::spawn(move || runtime::block_on(task)).join();
    std::panic::resume_unwind(result.unwrap_err());
}

#[test]
fn a_local_task_is_awaited_on_another_thread_before_it_finishes() {
    let rt = Runtime::new().unwrap();
    let (go_tx, go_rx) = oneshot::channel::<u64>();
    let task = rt.block_on(async { runtime::spawn(async move { go_rx.await.unwrap() * 2 }) });
    let (answer, thread) = await_elsewhere(task);
    // The other thread is waiting by now or soon; the task finishes only
    // when this runtime runs again.
    let result = rt.block_on(async {
        runtime::time::sleep(Duration::from_millis(20)).await;
        go_tx.send(21).unwrap();
        let _watchdog = util::Watchdog::new("join_handle_send", util::DEADLINE);
        answer.await.unwrap()
    });
    assert_eq!(result.unwrap(), 42);
    thread.join().unwrap();
}

#[test]
fn a_finished_local_task_is_awaited_on_another_thread() {
    let rt = Runtime::new().unwrap();
    let task = finished_task(&rt, String::from("done here"));
    let (answer, thread) = await_elsewhere(task);
    assert_eq!(drive_until(&rt, answer).unwrap(), "done here");
    thread.join().unwrap();
}

#[test]
fn a_handle_polled_elsewhere_still_works_back_on_its_own_thread() {
    let rt = Runtime::new().unwrap();
    let (go_tx, go_rx) = oneshot::channel::<u8>();
    let task = rt.block_on(async { runtime::spawn(async move { go_rx.await.unwrap() }) });
    // Poll it once on another thread (it is pending there), then bring it
    // back and await it here.
    let (back_tx, back_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut task = task;
        runtime::block_on(async {
            let pending = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::pin::Pin::new(&mut task).poll(cx).is_pending())
            })
            .await;
            assert!(pending, "the task waits for `go`");
        });
        back_tx.send(task).unwrap();
    });
    thread.join().unwrap();
    let task = back_rx.recv().unwrap();
    let out = rt.block_on(async move {
        go_tx.send(9).unwrap();
        let _watchdog = util::Watchdog::new("join_handle_send", util::DEADLINE);
        task.await
    });
    assert_eq!(out.unwrap(), 9);
}

/// Counts drops, and says on which thread the last one happened.
struct Dropped {
    count: Arc<AtomicUsize>,
    on: Arc<std::sync::Mutex<Option<thread::ThreadId>>>,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        *self.on.lock().unwrap() = Some(thread::current().id());
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_handle_dropped_on_another_thread_releases_the_output_on_the_tasks_thread() {
    let rt = Runtime::new().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let on = Arc::new(std::sync::Mutex::new(None));
    let output = Dropped {
        count: count.clone(),
        on: on.clone(),
    };
    let task = finished_task(&rt, output);
    thread::spawn(move || drop(task)).join().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 0, "not dropped elsewhere");
    // The release waits in the runtime's queue until it runs again.
    rt.block_on(async {
        for _ in 0..1_000 {
            if count.load(Ordering::SeqCst) == 1 {
                break;
            }
            runtime::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(*on.lock().unwrap(), Some(thread::current().id()));
}

#[test]
fn a_handle_dropped_on_another_thread_detaches_a_running_task() {
    let rt = Runtime::new().unwrap();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<&str>();
    let task = rt.block_on(async {
        runtime::spawn(async move {
            go_rx.await.unwrap();
            let _ = done_tx.send("ran on");
        })
    });
    thread::spawn(move || drop(task)).join().unwrap();
    go_tx.send(()).unwrap();
    assert_eq!(drive_until(&rt, done_rx), "ran on");
}

#[test]
fn a_local_task_is_aborted_from_another_thread() {
    let rt = Runtime::new().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let guard = Dropped {
        count: count.clone(),
        on: Arc::default(),
    };
    let task = rt.block_on(async move {
        runtime::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
    });
    let (tx, rx) = oneshot::channel();
    let thread = thread::spawn(move || {
        task.abort();
        let _ = tx.send(runtime::block_on(task).unwrap_err().is_cancelled());
    });
    assert!(drive_until(&rt, rx), "the handle reports the cancellation");
    assert_eq!(count.load(Ordering::SeqCst), 1, "the future was dropped");
    thread.join().unwrap();
}

#[test]
fn is_finished_turns_true_on_another_thread() {
    let rt = Runtime::new().unwrap();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let task = rt.block_on(async { runtime::spawn(async move { go_rx.await.unwrap() }) });
    let (tx, rx) = oneshot::channel();
    let thread = thread::spawn(move || {
        let before = task.is_finished();
        let _ = go_tx.send(());
        let mut waited = 0;
        while !task.is_finished() && waited < 2_000 {
            thread::sleep(Duration::from_millis(1));
            waited += 1;
        }
        let _ = tx.send((before, task.is_finished()));
    });
    assert_eq!(drive_until(&rt, rx), (false, true));
    thread.join().unwrap();
}

#[test]
fn a_handle_awaited_elsewhere_after_its_runtime_dropped_reports_cancelled() {
    let rt = Runtime::new().unwrap();
    let task = rt.block_on(async { runtime::spawn(std::future::pending::<u8>()) });
    drop(rt);
    let (answer, thread) = await_elsewhere(task);
    thread.join().unwrap();
    let result = runtime::block_on(answer).unwrap();
    assert!(result.unwrap_err().is_cancelled());
}

#[test]
fn a_runtime_dropped_while_another_thread_awaits_its_task_wakes_that_thread() {
    let rt = Runtime::new().unwrap();
    let task = rt.block_on(async { runtime::spawn(std::future::pending::<u8>()) });
    let (polled_tx, polled_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        runtime::block_on(async move {
            let mut task = task;
            std::future::poll_fn(|cx| {
                assert!(std::pin::Pin::new(&mut task).poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
            polled_tx.send(()).unwrap();
            task.await
        })
    });
    polled_rx
        .recv_timeout(util::DEADLINE)
        .expect("the other thread polled");
    // The forward is still queued: the runtime never ran again.
    drop(rt);
    let result = thread.join().unwrap();
    assert!(result.unwrap_err().is_cancelled());
}

#[test]
fn a_handle_spawn_handle_is_awaited_on_a_third_thread() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = oneshot::channel();
    let spawner = thread::spawn(move || {
        let task = handle.spawn(async { 6 * 7 });
        let (answer, awaiter) = await_elsewhere(task);
        let _ = tx.send(runtime::block_on(answer).unwrap());
        awaiter.join().unwrap();
    });
    assert_eq!(drive_until(&rt, rx).unwrap(), 42);
    spawner.join().unwrap();
}
