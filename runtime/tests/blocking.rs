//! `spawn_blocking`: results and panics come back through the handle, many
//! jobs and more jobs than threads all complete, idle threads exit, and
//! dropping a runtime does not wait for blocking work.
//!
//! The pool is process-wide, so tests that change its settings run in a
//! child process ([`util::in_child_process`]); the others share the default
//! pool. Hangs turn into failures through a [`Watchdog`].

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use runtime::task::spawn_blocking;
use runtime::Runtime;
use util::{in_child_process, Watchdog};

/// Limit for each test here.
const LIMIT: Duration = Duration::from_secs(30);

/// The name the pool gives its threads.
const POOL_THREAD_NAME: &str = "rt-blocking";

/// How many threads of this process are blocking-pool threads, by name.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == POOL_THREAD_NAME)
        .count()
}

/// Polls `condition` every few milliseconds until it holds or `limit`
/// passes; returns whether it held.
fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    condition()
}

#[test]
fn the_result_comes_back() {
    let _watchdog = Watchdog::new("the_result_comes_back", LIMIT);
    let out = runtime::block_on(async {
        let name = spawn_blocking(|| thread::current().name().map(str::to_owned));
        let value = spawn_blocking(|| vec![1u8, 2, 3]);
        (name.await.unwrap(), value.await.unwrap())
    });
    assert_eq!(
        out.0.as_deref(),
        Some(POOL_THREAD_NAME),
        "runs on a pool thread"
    );
    assert_eq!(out.1, [1, 2, 3]);
}

#[test]
fn a_panic_gives_a_panic_join_error_and_the_runtime_goes_on() {
    let _watchdog = Watchdog::new("panic", LIMIT);
    runtime::block_on(async {
        let err = spawn_blocking(|| -> u32 { panic!("blocking boom") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(
            err.into_panic().downcast_ref::<&str>(),
            Some(&"blocking boom")
        );
        // The pool thread survived, and so did the runtime.
        assert_eq!(spawn_blocking(|| 7).await.unwrap(), 7);
    });
}

#[test]
fn a_thousand_jobs_all_complete() {
    let _watchdog = Watchdog::new("a thousand jobs", LIMIT);
    let total = runtime::block_on(async {
        let handles: Vec<_> = (0..1_000u64)
            .map(|i| {
                spawn_blocking(move || {
                    if i % 100 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                    i
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..1_000).sum::<u64>());
}

#[test]
fn a_blocked_job_does_not_stall_the_runtime() {
    let _watchdog = Watchdog::new("runtime not stalled", LIMIT);
    runtime::block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let blocked = spawn_blocking(move || rx.recv().unwrap());
        // The runtime keeps running tasks and timers meanwhile.
        let ticker = runtime::spawn(async {
            for _ in 0..3 {
                runtime::time::sleep(Duration::from_millis(5)).await;
            }
            "ticked"
        });
        assert_eq!(ticker.await.unwrap(), "ticked");
        assert!(!blocked.is_finished());
        tx.send(()).unwrap();
        blocked.await.unwrap();
    });
}

#[test]
fn dropping_the_runtime_does_not_wait_and_the_job_still_completes() {
    let _watchdog = Watchdog::new("drop does not wait", LIMIT);
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let rt = Runtime::new().unwrap();
    let mut handle = None;
    rt.block_on(async {
        let (done, started) = (done.clone(), started.clone());
        handle = Some(spawn_blocking(move || {
            started.store(true, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(200));
            done.store(true, Ordering::SeqCst);
            "dropped on the pool thread"
        }));
    });
    let handle = handle.expect("set by block_on");
    assert!(
        wait_until(Duration::from_secs(10), || started.load(Ordering::SeqCst)),
        "the job never started"
    );
    let start = Instant::now();
    drop(rt);
    let drop_took = start.elapsed();
    assert!(
        drop_took < Duration::from_millis(100),
        "dropping the runtime waited {drop_took:?} for blocking work"
    );
    assert!(!done.load(Ordering::SeqCst), "the job finished early");
    // The handle outlived its runtime: the awaiting task was dropped.
    assert!(handle.is_finished());
    assert!(
        wait_until(Duration::from_secs(10), || done.load(Ordering::SeqCst)),
        "the job did not run to completion after the runtime was dropped"
    );
}

#[test]
fn more_jobs_than_threads_queue_and_complete() {
    in_child_process("more_jobs_than_threads_queue_and_complete", || {
        let _watchdog = Watchdog::new("queueing", LIMIT);
        let rt = runtime::Builder::new()
            .max_blocking_threads(2)
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let outputs = rt.block_on(async {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    let running = running.clone();
                    let most = most.clone();
                    spawn_blocking(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            let mut outputs = Vec::new();
            for handle in handles {
                outputs.push(handle.await.unwrap());
            }
            outputs
        });
        assert_eq!(outputs, (0..10).collect::<Vec<_>>());
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "the limit was not used or exceeded"
        );
        assert!(pool_threads() <= 2, "{} pool threads", pool_threads());
    });
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    in_child_process("idle_threads_exit_after_the_keep_alive", || {
        let _watchdog = Watchdog::new("idle exit", LIMIT);
        let rt = runtime::Builder::new()
            .thread_keep_alive(Duration::from_millis(100))
            .build()
            .unwrap();
        rt.block_on(async {
            // Four jobs that overlap need four threads.
            let barrier = Arc::new(std::sync::Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn_blocking(move || {
                        barrier.wait();
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        let after_burst = pool_threads();
        assert!(after_burst >= 1, "no pool thread right after the burst");
        assert!(
            wait_until(Duration::from_secs(10), || pool_threads() == 0),
            "{} pool threads still alive long after the keep-alive",
            pool_threads()
        );
        // The pool starts threads again when needed.
        assert_eq!(
            rt.block_on(async { spawn_blocking(|| 5).await }).unwrap(),
            5
        );
    });
}

#[test]
fn dropping_the_runtime_retires_its_idle_pool_threads() {
    in_child_process("dropping_the_runtime_retires_its_idle_pool_threads", || {
        let _watchdog = Watchdog::new("pool shutdown", LIMIT);
        // A keep-alive far longer than the test: only the drop can end them.
        let rt = runtime::Builder::new()
            .thread_keep_alive(Duration::from_secs(3600))
            .build()
            .unwrap();
        rt.block_on(async {
            let barrier = Arc::new(std::sync::Barrier::new(3));
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn_blocking(move || {
                        barrier.wait();
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        assert!(
            wait_until(Duration::from_secs(5), || pool_threads() == 3),
            "the burst did not leave three idle threads"
        );
        drop(rt);
        assert!(
            wait_until(Duration::from_secs(5), || pool_threads() == 0),
            "{} pool threads after their runtime was dropped",
            pool_threads()
        );
    });
}

#[test]
fn each_runtime_has_its_own_pool_limit() {
    in_child_process("each_runtime_has_its_own_pool_limit", || {
        let _watchdog = Watchdog::new("pool per runtime", LIMIT);
        let narrow = runtime::Builder::new()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let wide = runtime::Runtime::new().unwrap();
        // Two overlapping jobs on the wide runtime meet at a barrier: they
        // need two threads, which the narrow runtime's limit does not
        // constrain.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        wide.block_on(async {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn_blocking(move || {
                        barrier.wait();
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        let most = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        narrow.block_on(async {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (most, running) = (most.clone(), running.clone());
                    spawn_blocking(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(10));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
    });
}

#[test]
#[should_panic(expected = "no runtime")]
fn spawn_blocking_outside_a_runtime_panics() {
    drop(spawn_blocking(|| ()));
}
