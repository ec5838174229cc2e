//! An `AbortHandle` is `Send` and `Sync`, as tokio's is: made on the
//! task's thread and used on another, used on the task's thread outside
//! its runtime or inside another runtime, and after the runtime is gone.
//! It does not keep the task's output alive.

// The tests take handles out of `block_on` on purpose, to move them.
#![allow(clippy::async_yields_async)]

mod util;

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use runtime::task::{AbortHandle, JoinHandle, JoinSet};
use runtime::Runtime;

/// A task on `rt` that never ends unless aborted, with `rt` left idle.
fn pending_task(rt: &Runtime) -> JoinHandle<()> {
    rt.block_on(async { runtime::spawn(std::future::pending::<()>()) })
}

#[test]
fn abort_handles_are_send_and_sync() {
    util::assert_send::<AbortHandle>();
    util::assert_sync::<AbortHandle>();
}

#[test]
fn an_abort_handle_moved_to_another_thread_cancels_a_local_task() {
    util::run("abort elsewhere", async {
        // The task's future is `!Send`: only the abort handle moves.
        let task = runtime::spawn(async {
            let here = Rc::new(());
            std::future::pending::<()>().await;
            drop(here);
        });
        let abort = task.abort_handle();
        assert_eq!(abort.id(), task.id());
        let thread = thread::spawn(move || {
            abort.abort();
            abort
        });
        // `task.await` drives the runtime until the abort, queued by the
        // other thread, arrives.
        assert!(task.await.unwrap_err().is_cancelled());
        let abort = thread.join().unwrap();
        assert!(abort.is_finished());
    });
}

#[test]
fn is_finished_turns_true_on_another_thread_when_the_task_ends() {
    let _watchdog = util::Watchdog::new("abort_handle_send", util::DEADLINE);
    let rt = Runtime::new().unwrap();
    let (abort, task) = rt.block_on(async {
        let (tx, rx) = runtime::sync::oneshot::channel::<()>();
        let task = runtime::spawn(async move { rx.await.ok() });
        (task.abort_handle(), (task, tx))
    });
    let (before, abort) = thread::spawn(move || (abort.is_finished(), abort))
        .join()
        .unwrap();
    assert!(!before, "the task had not ended yet");
    let (handle, tx) = task;
    tx.send(()).unwrap();
    assert_eq!(rt.block_on(handle).unwrap(), Some(()));
    let after = thread::spawn(move || abort.is_finished()).join().unwrap();
    assert!(after);
}

#[test]
fn an_abort_outside_the_runtime_takes_effect_when_it_next_runs() {
    let _watchdog = util::Watchdog::new("abort_handle_send", util::DEADLINE);
    let rt = Runtime::new().unwrap();
    let task = pending_task(&rt);
    let abort = task.abort_handle();
    // On the task's thread, but no runtime is running.
    abort.abort();
    assert!(!abort.is_finished(), "nothing ran yet");
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert!(abort.is_finished());
}

#[test]
fn an_abort_inside_another_runtime_reaches_the_tasks_runtime() {
    let _watchdog = util::Watchdog::new("abort_handle_send", util::DEADLINE);
    let first = Runtime::new().unwrap();
    let task = pending_task(&first);
    let abort = task.abort_handle();
    // Same thread, another runtime running: the abort must not touch that
    // one's tasks (a key of `first` may name one of `second`'s).
    let second = Runtime::new().unwrap();
    let bystander = second.block_on(async {
        let bystander = runtime::spawn(async { 5 });
        abort.abort();
        runtime::task::yield_now().await;
        bystander
    });
    assert_eq!(second.block_on(bystander).unwrap(), 5);
    assert!(first.block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn an_abort_handle_does_not_keep_the_output_alive() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    util::run("output", async {
        let task = runtime::spawn(async { util::DropCounter(&DROPPED) });
        let abort = task.abort_handle();
        drop(task);
        util::yield_until(10, || abort.is_finished()).await;
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1, "dropped with the task");
        // Aborting a finished task does nothing.
        abort.abort();
        runtime::task::yield_now().await;
    });
}

#[test]
fn an_abort_handle_outlives_its_runtime_on_any_thread() {
    let rt = Runtime::new().unwrap();
    let abort = pending_task(&rt).abort_handle();
    drop(rt);
    let (finished, abort) = thread::spawn(move || {
        // The runtime is gone: nothing to abort, and it says the task is done.
        abort.abort();
        (abort.is_finished(), abort)
    })
    .join()
    .unwrap();
    assert!(finished);
    abort.abort();
}

#[test]
fn join_set_abort_handles_work_from_another_thread() {
    util::run("join set", async {
        let mut set = JoinSet::new();
        let abort = set.spawn(std::future::pending::<u8>());
        set.spawn(async { 3 });
        thread::spawn(move || abort.abort()).join().unwrap();
        let mut cancelled = 0;
        let mut values = Vec::new();
        while let Some(result) = set.join_next().await {
            match result {
                Ok(value) => values.push(value),
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((values, cancelled), (vec![3], 1));
    });
}

#[test]
fn a_task_aborted_before_the_runtime_runs_is_never_polled() {
    let _watchdog = util::Watchdog::new("abort_handle_send", util::DEADLINE);
    let rt = Runtime::new().unwrap();
    let polled = Rc::new(std::cell::Cell::new(0));
    let counter = polled.clone();
    let task = rt.spawn(async move {
        counter.set(counter.get() + 1);
        1
    });
    // Queued, not yet polled: the abort must win.
    task.abort_handle().abort();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(polled.get(), 0);
}

#[test]
fn a_woken_task_aborted_from_another_thread_is_not_polled_again() {
    let _watchdog = util::Watchdog::new("abort_handle_send", util::DEADLINE);
    let rt = Runtime::new().unwrap();
    let polls = Rc::new(std::cell::Cell::new(0));
    let counter = polls.clone();
    let (task, waker) = rt.block_on(async move {
        let (waker_tx, waker_rx) = runtime::sync::oneshot::channel();
        let mut waker_tx = Some(waker_tx);
        let task = runtime::spawn(std::future::poll_fn(move |cx| {
            counter.set(counter.get() + 1);
            if let Some(tx) = waker_tx.take() {
                let _ = tx.send(cx.waker().clone());
            }
            std::task::Poll::<()>::Pending
        }));
        (task, waker_rx.await.unwrap())
    });
    assert_eq!(polls.get(), 1);
    // Woken (so queued) and then aborted, both from another thread, while
    // the runtime is not running.
    let abort = task.abort_handle();
    thread::spawn(move || {
        waker.wake();
        abort.abort();
    })
    .join()
    .unwrap();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    assert_eq!(polls.get(), 1, "polled after the abort");
}

/// Records what an abort handle says while the future holding it drops.
struct SeesItself {
    abort: Rc<std::cell::RefCell<Option<AbortHandle>>>,
    seen: Rc<std::cell::Cell<Option<bool>>>,
}

impl Drop for SeesItself {
    fn drop(&mut self) {
        let finished = self.abort.borrow().as_ref().map(AbortHandle::is_finished);
        self.seen.set(finished);
    }
}

#[test]
fn is_finished_is_false_while_an_aborted_future_drops_and_true_after() {
    util::run("finished while dropping", async {
        let abort = Rc::new(std::cell::RefCell::new(None));
        let seen = Rc::new(std::cell::Cell::new(None));
        let guard = SeesItself {
            abort: abort.clone(),
            seen: seen.clone(),
        };
        let task = runtime::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        runtime::task::yield_now().await;
        *abort.borrow_mut() = Some(task.abort_handle());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(seen.get(), Some(false), "not done while its future drops");
        assert!(abort.borrow().as_ref().unwrap().is_finished());
    });
}
