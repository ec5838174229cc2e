//! loom models of the blocking pool's hand-off: submitters queue jobs
//! under the pool's lock and claim an idle thread or start one; pool
//! threads take jobs, wait idle, and exit on keep-alive or shutdown. The
//! pool runs on loom's `Mutex`, `Condvar` and threads under `cfg(loom)`.
//!
//! loom never times a condvar wait out, so a keep-alive of zero stands for
//! one that has run out (an idle thread exits at once: the exit races with
//! the next submission), and a long one for a thread that stays (it waits
//! for work or the shutdown). A job left in the queue with no thread to
//! run it leaves its waiter blocked, which loom reports as a deadlock.
//!
//! Only built with `RUSTFLAGS="--cfg loom"` (see `loom_executor.rs`).

#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use runtime::loom_model::{BlockingPool, Model};

/// Submits a job that counts its runs and returns `value`, and waits for
/// its result.
fn run_counted(pool: &BlockingPool, runs: &Arc<AtomicUsize>, value: u32) -> u32 {
    let runs = runs.clone();
    let rx = pool
        .run(move || {
            runs.fetch_add(1, Ordering::Relaxed);
            value
        })
        .unwrap();
    block_on(rx).unwrap().unwrap()
}

#[test]
fn a_job_runs_once_and_its_result_arrives() {
    loom::model(|| {
        let pool = BlockingPool::new(1, Duration::ZERO);
        let runs = Arc::new(AtomicUsize::new(0));
        assert_eq!(run_counted(&pool, &runs, 7), 7);
        assert_eq!(runs.load(Ordering::Relaxed), 1);
        pool.shut_down();
    });
}

#[test]
fn a_job_submitted_while_the_only_thread_exits_is_not_lost() {
    loom::model(|| {
        let pool = BlockingPool::new(1, Duration::ZERO);
        let runs = Arc::new(AtomicUsize::new(0));
        let (pool2, runs2) = (pool.clone(), runs.clone());
        let other = thread::spawn(move || run_counted(&pool2, &runs2, 2));
        assert_eq!(run_counted(&pool, &runs, 1), 1);
        assert_eq!(other.join().unwrap(), 2);
        assert_eq!(runs.load(Ordering::Relaxed), 2);
        pool.shut_down();
    });
}

#[test]
fn an_idle_thread_takes_the_next_job_and_exits_at_shutdown() {
    loom::model(|| {
        let pool = BlockingPool::new(1, Duration::from_secs(60));
        let runs = Arc::new(AtomicUsize::new(0));
        assert_eq!(run_counted(&pool, &runs, 1), 1);
        // The thread is idle (or about to be): the claim must reach it.
        assert_eq!(run_counted(&pool, &runs, 2), 2);
        assert_eq!(runs.load(Ordering::Relaxed), 2);
        // An idle thread would otherwise wait for good: loom would report
        // the model as deadlocked if the shutdown did not reach it.
        pool.shut_down();
    });
}

#[test]
fn a_job_submitted_while_the_pool_shuts_down_still_runs() {
    loom::model(|| {
        let pool = BlockingPool::new(1, Duration::from_secs(60));
        let runs = Arc::new(AtomicUsize::new(0));
        let pool2 = pool.clone();
        let closer = thread::spawn(move || pool2.shut_down());
        assert_eq!(run_counted(&pool, &runs, 3), 3);
        closer.join().unwrap();
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn spawn_blocking_from_another_thread_reports_to_its_handle() {
    loom::model(|| {
        let rt = Model::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let handle = rt.spawn_blocking(move || {
            r.fetch_add(1, Ordering::Relaxed);
            5
        });
        assert_eq!(block_on(handle).unwrap(), 5);
        assert_eq!(runs.load(Ordering::Relaxed), 1);
        rt.shut_down(&[]);
    });
}
