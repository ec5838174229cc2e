//! `Handle`: spawning `Send` work onto a runtime from other threads, pool
//! threads and other runtimes, and awaiting it there.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use runtime::sync::oneshot;
use runtime::{Handle, Runtime};

/// Runs `rt` until `done` fires (another thread's work is finished).
fn drive_until<T>(rt: &Runtime, done: oneshot::Receiver<T>) -> T {
    let _watchdog = util::Watchdog::new("handle", util::DEADLINE);
    rt.block_on(done).expect("the other thread reported")
}

#[test]
fn a_plain_thread_spawns_and_awaits_on_a_runtime_of_its_own() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::spawn(move || {
        let tasks: Vec<_> = (0..100u64)
            .map(|i| handle.spawn(async move { i * 2 }))
            .collect();
        let sum: u64 = runtime::block_on(async {
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        });
        let _ = tx.send(sum);
    });
    assert_eq!(drive_until(&rt, rx), 9900);
    thread.join().unwrap();
}

#[test]
fn ten_thousand_spawns_from_two_threads_none_lost() {
    let rt = Runtime::new().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (handle, ran) = (rt.handle(), ran.clone());
            std::thread::spawn(move || {
                let tasks: Vec<_> = (0..5_000)
                    .map(|_| {
                        let ran = ran.clone();
                        handle.spawn(async move {
                            ran.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                runtime::block_on(async {
                    for task in tasks {
                        task.await.unwrap();
                    }
                });
            })
        })
        .collect();
    let waiter = std::thread::spawn(move || {
        for thread in threads {
            thread.join().unwrap();
        }
        let _ = tx.send(());
    });
    drive_until(&rt, rx);
    waiter.join().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 10_000);
}

#[test]
fn a_pool_thread_and_another_runtime_can_spawn_here() {
    util::run("handle from pool and runtime", async {
        let handle = Handle::current();
        // From a pool thread: the handle's own blocking call awaits the
        // spawned task on a runtime of the pool thread's.
        let from_pool = runtime::task::spawn_blocking({
            let handle = handle.clone();
            move || runtime::block_on(handle.spawn(async { "pool" })).unwrap()
        });
        assert_eq!(from_pool.await.unwrap(), "pool");
        // From another runtime's thread, awaited inside that runtime.
        let (tx, rx) = oneshot::channel();
        let other = std::thread::spawn(move || {
            runtime::block_on(async move {
                let task = handle.spawn(async {
                    runtime::time::sleep(Duration::from_millis(1)).await;
                    "other runtime"
                });
                let _ = tx.send(task.await.unwrap());
            })
        });
        assert_eq!(rx.await.unwrap(), "other runtime");
        other.join().unwrap();
    });
}

#[test]
fn a_remote_task_can_be_aborted_and_its_panic_is_reported() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::spawn(move || {
        let forever = handle.spawn(std::future::pending::<()>());
        let boom = handle.spawn(async { panic!("remote boom") });
        runtime::block_on(async {
            forever.abort();
            let aborted = forever.await.unwrap_err();
            let panicked = boom.await.unwrap_err();
            let _ = tx.send((aborted.is_cancelled(), panicked.is_panic()));
        });
    });
    assert_eq!(drive_until(&rt, rx), (true, true));
    thread.join().unwrap();
    // The runtime goes on.
    assert_eq!(
        rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }),
        1
    );
}

#[test]
fn spawning_onto_a_dropped_runtime_gives_a_cancelled_handle() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    drop(rt);
    let task = handle.spawn(async { 1 });
    let err = runtime::block_on(task).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn a_spawn_that_never_ran_is_cancelled_when_its_runtime_drops() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let task = std::thread::spawn(move || {
        let task = handle.spawn(async { 1 });
        // Keep the handle on this thread: wait for the drop, then await.
        std::thread::sleep(Duration::from_millis(50));
        runtime::block_on(task)
    });
    // The runtime never runs: it is dropped with the spawn still queued.
    std::thread::sleep(Duration::from_millis(10));
    drop(rt);
    let err = task.join().unwrap().unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn try_current_outside_a_runtime_is_an_error() {
    let err = Handle::try_current().unwrap_err();
    assert!(err.to_string().contains("no runtime"));
}
