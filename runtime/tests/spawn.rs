//! `spawn` and `JoinHandle`: outputs, detach, abort, panics, and what gets
//! dropped (exactly once) when a task ends or its runtime goes away,
//! including `Drop` impls that spawn and wake.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use runtime::task::{yield_now, JoinHandle};
use runtime::Runtime;
use util::{yield_until, DropCounter};

/// Pending until its first poll, then stores its waker in `slot` and stays
/// pending forever.
fn park_and_publish(slot: Rc<RefCell<Option<Waker>>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

#[test]
fn outputs_come_back_through_the_handles() {
    runtime::block_on(async {
        let handles: Vec<JoinHandle<usize>> = (0..100)
            .map(|i| {
                runtime::spawn(async move {
                    for _ in 0..i % 5 {
                        yield_now().await;
                    }
                    i * i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate().rev() {
            assert_eq!(handle.await.unwrap(), i * i);
        }
        // Non-Send outputs and futures are fine.
        let rc = Rc::new(5);
        let out = runtime::spawn(async move { Rc::new(*rc + 1) })
            .await
            .unwrap();
        assert_eq!(*out, 6);
        // Through the `task` module path as well.
        assert_eq!(
            runtime::task::spawn(async { "task" }).await.unwrap(),
            "task"
        );
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

#[test]
fn tasks_run_without_being_awaited() {
    runtime::block_on(async {
        let ran = Rc::new(Cell::new(false));
        let handle = runtime::spawn({
            let ran = ran.clone();
            async move { ran.set(true) }
        });
        yield_now().await;
        assert!(ran.get());
        assert!(handle.is_finished());
        handle.await.unwrap();
    });
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let steps = Rc::new(Cell::new(0));
        let handle = runtime::spawn({
            let steps = steps.clone();
            async move {
                let _counter = DropCounter(&DROPS);
                for _ in 0..5 {
                    steps.set(steps.get() + 1);
                    runtime::time::sleep(Duration::from_millis(1)).await;
                }
                steps.set(100);
                String::from("output nobody reads")
            }
        });
        drop(handle);
        util::deadline("detached task", async {
            while steps.get() != 100 {
                yield_now().await;
            }
        })
        .await;
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        assert_eq!(runtime::metrics().tasks, 0);
    });
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn abort_drops_the_future_and_reports_cancellation() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    runtime::block_on(async {
        let polled = Rc::new(Cell::new(0));
        let handle = runtime::spawn({
            let polled = polled.clone();
            async move {
                let _counter = DropCounter(&DROPS);
                poll_fn(|_| {
                    polled.set(polled.get() + 1);
                    Poll::<()>::Pending
                })
                .await;
            }
        });
        yield_now().await;
        assert_eq!(polled.get(), 1);
        assert!(!handle.is_finished());
        assert_eq!(DROPS.load(Ordering::SeqCst), 0);

        handle.abort();
        handle.abort(); // twice is harmless
        let err = handle.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
        assert_eq!(err.to_string(), "task was cancelled");
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        // The aborted future was not polled again.
        assert_eq!(polled.get(), 1);
        assert_eq!(runtime::metrics().tasks, 0);
    });
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn abort_before_the_first_poll_never_polls() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    runtime::block_on(async {
        let polled = Rc::new(Cell::new(false));
        let handle = runtime::spawn({
            let polled = polled.clone();
            let counter = DropCounter(&DROPS);
            async move {
                let _counter = counter;
                polled.set(true);
            }
        });
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        assert!(!polled.get());
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn abort_of_a_finished_task_keeps_its_output() {
    runtime::block_on(async {
        let handle = runtime::spawn(async { 9 });
        yield_now().await;
        assert!(handle.is_finished());
        handle.abort();
        assert_eq!(handle.await.unwrap(), 9);
    });
}

#[test]
fn abort_of_a_task_sleeping_or_waiting_on_io_frees_its_timer_and_socket() {
    runtime::block_on(async {
        let sleeper = runtime::spawn(runtime::time::sleep(Duration::from_secs(3600)));
        let (client, _server) = util::tcp_pair().await;
        let reader = runtime::spawn(async move {
            let mut buf = [0; 8];
            runtime::io::AsyncReadExt::read(&mut &client, &mut buf).await
        });
        yield_now().await;
        let before = runtime::metrics();
        assert_eq!(before.timers, 1);
        assert_eq!(before.io_registrations, 2);
        sleeper.abort();
        reader.abort();
        assert!(sleeper.await.unwrap_err().is_cancelled());
        assert!(reader.await.unwrap_err().is_cancelled());
        let after = runtime::metrics();
        assert_eq!(after.timers, 0);
        assert_eq!(after.io_registrations, 1);
        assert_eq!(after.tasks, 0);
    });
}

#[test]
fn a_task_may_abort_itself() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    runtime::block_on(async {
        let own: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
        let handle = runtime::spawn({
            let own = own.clone();
            async move {
                let _counter = DropCounter(&DROPS);
                yield_now().await;
                own.borrow().as_ref().expect("handle stored").abort();
                pending::<()>().await;
            }
        });
        *own.borrow_mut() = Some(handle);
        util::deadline("self-abort", async {
            while !own.borrow().as_ref().unwrap().is_finished() {
                yield_now().await;
            }
        })
        .await;
        let handle = own.borrow_mut().take().unwrap();
        assert!(handle.await.unwrap_err().is_cancelled());
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn is_finished_tracks_the_task() {
    runtime::block_on(async {
        let gate = Rc::new(Cell::new(false));
        let handle = runtime::spawn({
            let gate = gate.clone();
            async move {
                while !gate.get() {
                    yield_now().await;
                }
                1
            }
        });
        assert!(!handle.is_finished(), "finished before it ran");
        for _ in 0..5 {
            yield_now().await;
            assert!(!handle.is_finished());
        }
        gate.set(true);
        yield_until(10, || handle.is_finished()).await;
        assert_eq!(handle.await.unwrap(), 1);

        let panicker = runtime::spawn(async { panic!("finished by panicking") });
        yield_until(10, || panicker.is_finished()).await;
        assert!(panicker.await.unwrap_err().is_panic());
    });
}

#[test]
fn a_panicking_task_leaves_the_others_running() {
    runtime::block_on(async {
        let progress = Rc::new(Cell::new(0));
        let healthy: Vec<_> = (0..10)
            .map(|i| {
                let progress = progress.clone();
                runtime::spawn(async move {
                    for _ in 0..20 {
                        progress.set(progress.get() + 1);
                        yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let panickers: Vec<_> = (0..3)
            .map(|i| {
                runtime::spawn(async move {
                    yield_now().await;
                    if i == 1 {
                        std::panic::panic_any(format!("task {i} panicked"));
                    }
                    panic!("static message");
                })
            })
            .collect();
        for (i, handle) in healthy.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i);
        }
        assert_eq!(progress.get(), 200);
        let mut messages = Vec::new();
        for handle in panickers {
            let err = handle.await.unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert!(err.to_string().starts_with("task panicked"), "{err}");
            let payload = err.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap();
            messages.push(message);
        }
        assert_eq!(
            messages,
            ["static message", "task 1 panicked", "static message"]
        );
        // The runtime goes on.
        assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1);
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

#[test]
fn a_detached_panicking_task_does_not_disturb_the_runtime() {
    let out = runtime::block_on(async {
        drop(runtime::spawn(async { panic!("nobody is listening") }));
        for _ in 0..3 {
            yield_now().await;
        }
        runtime::spawn(async { 2 }).await.unwrap()
    });
    assert_eq!(out, 2);
}

#[test]
fn dropping_a_runtime_drops_every_pending_future_exactly_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    const EACH: usize = 20;
    let rt = Runtime::new().unwrap();
    let handles = rt.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..EACH {
            // Parked forever.
            let c = DropCounter(&DROPS);
            handles.push(runtime::spawn(async move {
                let _c = c;
                pending::<()>().await;
            }));
            // Sleeping far beyond the test.
            let c = DropCounter(&DROPS);
            handles.push(runtime::spawn(async move {
                let _c = c;
                runtime::time::sleep(Duration::from_secs(3600)).await;
            }));
            // Waiting for bytes that never come.
            let c = DropCounter(&DROPS);
            let (client, server) = util::tcp_pair().await;
            handles.push(runtime::spawn(async move {
                let _c = (c, server);
                let mut buf = [0; 1];
                let _ = runtime::io::AsyncReadExt::read(&mut &client, &mut buf).await;
            }));
            // Waiting on another task that never finishes.
            let c = DropCounter(&DROPS);
            let inner = runtime::spawn(pending::<()>());
            handles.push(runtime::spawn(async move {
                let _c = c;
                let _ = inner.await;
            }));
            // Ready to run again (yielding in a loop).
            let c = DropCounter(&DROPS);
            handles.push(runtime::spawn(async move {
                let _c = c;
                loop {
                    yield_now().await;
                }
            }));
        }
        // Let every task run once and park.
        for _ in 0..3 {
            yield_now().await;
        }
        // And some that never ran at all.
        for _ in 0..EACH {
            let c = DropCounter(&DROPS);
            handles.push(runtime::spawn(async move {
                let _c = c;
            }));
        }
        let m = runtime::metrics();
        assert_eq!(m.tasks, 7 * EACH); // the inner pending tasks count too
        assert_eq!(m.timers, EACH);
        assert_eq!(m.io_registrations, 2 * EACH);
        handles
    });
    assert_eq!(DROPS.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(DROPS.load(Ordering::SeqCst), 6 * EACH);
    // Every handle reports the cancellation instead of hanging.
    for handle in handles {
        assert!(handle.is_finished());
    }
}

#[test]
#[allow(clippy::async_yields_async)] // the handle is meant to leave the runtime
fn handles_of_a_dropped_runtime_report_cancellation() {
    let rt = Runtime::new().unwrap();
    let handle = rt.block_on(async { runtime::spawn(pending::<u8>()) });
    drop(rt);
    let err = runtime::block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
}

/// Spawns `spawn_on_drop` from its `Drop` impl, recording the outcome.
struct SpawnOnDrop {
    /// Counts this value's drop.
    _counter: DropCounter,
    /// Set if the task spawned from `drop` ever ran.
    child_ran: Rc<Cell<bool>>,
    /// Counts the drop of the child's future.
    child_drops: &'static AtomicUsize,
}

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let ran = self.child_ran.clone();
        let counter = DropCounter(self.child_drops);
        let handle = runtime::spawn(async move {
            let _counter = counter;
            ran.set(true);
        });
        drop(handle);
    }
}

#[test]
fn a_drop_that_spawns_during_runtime_drop_is_harmless() {
    static PARENT_DROPS: AtomicUsize = AtomicUsize::new(0);
    static CHILD_DROPS: AtomicUsize = AtomicUsize::new(0);
    let child_ran = Rc::new(Cell::new(false));
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            let guard = SpawnOnDrop {
                _counter: DropCounter(&PARENT_DROPS),
                child_ran: child_ran.clone(),
                child_drops: &CHILD_DROPS,
            };
            drop(runtime::spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            }));
        }
        yield_now().await;
    });
    drop(rt);
    assert_eq!(PARENT_DROPS.load(Ordering::SeqCst), 10);
    assert_eq!(CHILD_DROPS.load(Ordering::SeqCst), 10);
    assert!(!child_ran.get(), "a task spawned during shutdown ran");
}

#[test]
fn a_drop_that_spawns_when_its_task_completes_spawns_normally() {
    static PARENT_DROPS: AtomicUsize = AtomicUsize::new(0);
    static CHILD_DROPS: AtomicUsize = AtomicUsize::new(0);
    let child_ran = Rc::new(Cell::new(false));
    runtime::block_on(async {
        let guard = SpawnOnDrop {
            _counter: DropCounter(&PARENT_DROPS),
            child_ran: child_ran.clone(),
            child_drops: &CHILD_DROPS,
        };
        runtime::spawn(async move {
            let _guard = guard;
            yield_now().await;
        })
        .await
        .unwrap();
        assert_eq!(PARENT_DROPS.load(Ordering::SeqCst), 1);
        yield_until(10, || child_ran.get()).await;
        assert_eq!(CHILD_DROPS.load(Ordering::SeqCst), 1);
    });
}

/// A runtime dropped while *another* runtime is current (here: inside the
/// other's `block_on`) must still drop a task spawned by its futures'
/// `Drop` impls, not hand it to the other runtime.
#[test]
fn a_drop_that_spawns_while_another_runtime_is_current_stays_with_its_runtime() {
    static PARENT_DROPS: AtomicUsize = AtomicUsize::new(0);
    static CHILD_DROPS: AtomicUsize = AtomicUsize::new(0);
    let child_ran = Rc::new(Cell::new(false));
    let inner = Runtime::new().unwrap();
    inner.block_on(async {
        let guard = SpawnOnDrop {
            _counter: DropCounter(&PARENT_DROPS),
            child_ran: child_ran.clone(),
            child_drops: &CHILD_DROPS,
        };
        drop(runtime::spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        yield_now().await;
    });
    runtime::block_on(async {
        drop(inner);
        assert_eq!(PARENT_DROPS.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(!child_ran.get(), "the child ran on a different runtime");
        assert_eq!(CHILD_DROPS.load(Ordering::SeqCst), 1);
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// A runtime kept in a thread-local (the usual "one runtime per thread"
/// pattern) is dropped by the thread-local destructors when its thread
/// exits. Its thread-local was set up before the runtime's own context
/// thread-local was first used, so its destructor runs after the context's.
/// That must drop the tasks, not abort the process. (Run in a child
/// process, since the failure is an abort.)
#[test]
fn a_runtime_in_a_thread_local_is_dropped_at_thread_exit() {
    util::in_child_process(
        "a_runtime_in_a_thread_local_is_dropped_at_thread_exit",
        || {
            static DROPS: AtomicUsize = AtomicUsize::new(0);
            thread_local! {
                static RT: Runtime = Runtime::new().unwrap();
            }
            let thread = std::thread::spawn(|| {
                RT.with(|rt| {
                    rt.block_on(async {
                        for _ in 0..3 {
                            let counter = DropCounter(&DROPS);
                            drop(runtime::spawn(async move {
                                let _counter = counter;
                                pending::<()>().await;
                            }));
                        }
                        yield_now().await;
                    })
                });
            });
            thread.join().unwrap();
            assert_eq!(DROPS.load(Ordering::SeqCst), 3);
        },
    );
}

/// Wakes the stored waker from its `Drop` impl.
struct WakeOnDrop(Rc<RefCell<Option<Waker>>>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.0.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }
}

#[test]
fn a_drop_that_wakes_another_task_wakes_it() {
    runtime::block_on(async {
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let woken = Rc::new(Cell::new(0));
        let sleeper = runtime::spawn({
            let slot = slot.clone();
            let woken = woken.clone();
            poll_fn(move |cx| {
                woken.set(woken.get() + 1);
                if woken.get() == 2 {
                    return Poll::Ready(());
                }
                *slot.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
        });
        yield_now().await;
        assert_eq!(woken.get(), 1);
        // A task whose future wakes `sleeper` when dropped at completion.
        let waker_task = runtime::spawn({
            let guard = WakeOnDrop(slot.clone());
            async move {
                let _guard = guard;
                yield_now().await;
            }
        });
        waker_task.await.unwrap();
        util::deadline("woken by a Drop impl", sleeper)
            .await
            .unwrap();
        assert_eq!(woken.get(), 2);
    });
}

#[test]
fn wakes_from_drop_impls_during_runtime_drop_are_ignored() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let rt = Runtime::new().unwrap();
    let slots: Vec<Rc<RefCell<Option<Waker>>>> = (0..20).map(|_| Rc::default()).collect();
    rt.block_on(async {
        for (i, slot) in slots.iter().enumerate() {
            // Each task parks publishing its waker, and when dropped wakes
            // its own waker, its neighbour's, and a task not yet dropped.
            let own = WakeOnDrop(slot.clone());
            let next = WakeOnDrop(slots[(i + 1) % slots.len()].clone());
            let prev = WakeOnDrop(slots[(i + slots.len() - 1) % slots.len()].clone());
            let slot = slot.clone();
            drop(runtime::spawn(async move {
                let _guards = (own, next, prev, DropCounter(&DROPS));
                park_and_publish(slot).await;
            }));
        }
        yield_now().await;
        assert!(slots.iter().all(|s| s.borrow().is_some()));
    });
    let polls = rt.metrics().polls;
    drop(rt);
    assert_eq!(DROPS.load(Ordering::SeqCst), slots.len());
    // The wakers outlive the runtime; waking them does nothing.
    for slot in &slots {
        slot.borrow().as_ref().unwrap().wake_by_ref();
    }
    assert_eq!(polls, 20);
}

#[test]
fn spawning_from_inside_poll_and_from_drop_never_double_borrows() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    /// Spawns a tree of tasks `depth` deep, two children each, from
    /// inside `poll`; each leaf spawns once more from a `Drop` impl.
    fn tree(depth: u32, count: Rc<Cell<usize>>) -> Pin<Box<dyn Future<Output = usize>>> {
        Box::pin(async move {
            count.set(count.get() + 1);
            if depth == 0 {
                let ran = Rc::new(Cell::new(false));
                let _guard = SpawnOnDrop {
                    _counter: DropCounter(&DROPS),
                    child_ran: ran,
                    child_drops: &DROPS,
                };
                yield_now().await;
                return 1;
            }
            let left = runtime::spawn(tree(depth - 1, count.clone()));
            let right = runtime::spawn(tree(depth - 1, count.clone()));
            // Spawn from a plain `poll` as well.
            let direct = poll_fn(|_| Poll::Ready(runtime::spawn(async { 0 }))).await;
            left.await.unwrap() + right.await.unwrap() + direct.await.unwrap()
        })
    }
    runtime::block_on(async {
        let count = Rc::new(Cell::new(0));
        let leaves = runtime::spawn(tree(6, count.clone())).await.unwrap();
        assert_eq!(leaves, 64);
        assert_eq!(count.get(), 127);
        // Each leaf's guard dropped once and its spawned child ran and dropped.
        util::deadline("children of Drop impls", async {
            while DROPS.load(Ordering::SeqCst) < 128 {
                yield_now().await;
            }
        })
        .await;
        assert_eq!(DROPS.load(Ordering::SeqCst), 128);
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

/// A future that, from its `Drop` impl, does everything a `Drop` might:
/// spawn, wake itself and others, read metrics, abort handles, create and
/// drop timers and sockets.
struct BusyDrop {
    /// Wakers of other tasks.
    others: Rc<RefCell<Vec<Waker>>>,
    /// Handles of other tasks.
    handles: Rc<RefCell<Vec<JoinHandle<()>>>>,
    /// Counts this drop.
    _counter: DropCounter,
}

impl Drop for BusyDrop {
    fn drop(&mut self) {
        for waker in self.others.borrow().iter() {
            waker.wake_by_ref();
        }
        for handle in self.handles.borrow().iter() {
            handle.abort();
        }
        let _ = runtime::metrics();
        drop(runtime::spawn(async {}));
        let mut sleep = Box::pin(runtime::time::sleep(Duration::from_secs(60)));
        let waker = self.others.borrow().first().cloned();
        if let Some(waker) = waker {
            let _ = sleep.as_mut().poll(&mut Context::from_waker(&waker));
        }
        drop(sleep);
        drop(runtime::net::TcpListener::from_std(
            std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        ));
    }
}

#[test]
fn busy_drop_impls_at_completion_and_at_runtime_drop() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let rt = Runtime::new().unwrap();
    let others: Rc<RefCell<Vec<Waker>>> = Rc::default();
    let handles: Rc<RefCell<Vec<JoinHandle<()>>>> = Rc::default();
    rt.block_on(async {
        for i in 0..30 {
            let busy = BusyDrop {
                others: others.clone(),
                handles: handles.clone(),
                _counter: DropCounter(&DROPS),
            };
            let others = others.clone();
            let handle = runtime::spawn(async move {
                let _busy = busy;
                // Publish this task's waker.
                poll_fn(|cx| {
                    others.borrow_mut().push(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                if i % 3 == 0 {
                    // Finish now: the Drop runs at completion.
                    yield_now().await;
                    return;
                }
                pending::<()>().await;
            });
            handles.borrow_mut().push(handle);
        }
        for _ in 0..5 {
            yield_now().await;
        }
        assert_eq!(others.borrow().len(), 30);
    });
    // The tasks that finished aborted the rest from their Drop impls; the
    // runtime ran them down already or drops them now.
    drop(rt);
    assert_eq!(DROPS.load(Ordering::SeqCst), 30);
    for handle in handles.borrow().iter() {
        assert!(handle.is_finished());
    }
    // Wakers that outlive the runtime are inert.
    for waker in others.borrow().iter() {
        waker.wake_by_ref();
    }
}

#[test]
fn a_future_may_drop_its_own_handle_and_other_handles_inside_poll() {
    runtime::block_on(async {
        let victim = runtime::spawn(pending::<()>());
        let victim_finished = Rc::new(Cell::new(false));
        let task = runtime::spawn({
            let victim_finished = victim_finished.clone();
            async move {
                victim.abort();
                let result = victim.await;
                victim_finished.set(result.unwrap_err().is_cancelled());
            }
        });
        drop(task);
        yield_until(10, || victim_finished.get()).await;
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

#[test]
fn runtime_spawn_outside_block_on_runs_at_the_next_block_on() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    let rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    // A `!Send` future, spawning a task of its own once it runs.
    let task = rt.spawn(async move {
        flag.set(true);
        runtime::spawn(async { 2 }).await.unwrap() + 1
    });
    let blocking = rt.spawn_blocking(|| 4);
    assert!(!ran.get(), "nothing runs before block_on");
    assert_eq!(rt.block_on(task).unwrap(), 3);
    assert!(ran.get());
    assert_eq!(rt.block_on(blocking).unwrap(), 4);
    // A task spawned and never driven is dropped with the runtime.
    let counter = DropCounter(&DROPPED);
    let never = rt.spawn(async move {
        let _counter = counter;
        pending::<()>().await;
    });
    drop(rt);
    assert_eq!(DROPPED.load(Ordering::SeqCst), 1);
    assert!(runtime::block_on(never).unwrap_err().is_cancelled());
}
