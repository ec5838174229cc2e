//! Sync-primitive micro-benchmarks, ours beside tokio's on their
//! `current_thread` runtimes: uncontended `Mutex` lock/unlock, `Semaphore`
//! acquire/release, `broadcast` fan-out to 100 receivers, and `watch`
//! change notification.
//!
//! Run with `cargo bench -p bench --bench sync`.

use std::future::Future;
use std::time::{Duration, Instant};

use bench::{compare, tokio_runtime};

/// Lock/unlock pairs per round.
const LOCKS: u64 = 1_000_000;
/// Acquire/release pairs per round.
const ACQUIRES: u64 = 1_000_000;
/// Receivers of the broadcast fan-out.
const FAN_OUT: usize = 100;
/// Values broadcast per round (each to every receiver).
const BROADCASTS: u64 = 10_000;
/// Changes sent per round of the watch benchmark.
const CHANGES: u64 = 100_000;

fn main() {
    println!(
        "sync benchmarks: median of {} interleaved rounds",
        bench::ROUNDS
    );
    mutex();
    semaphore();
    broadcast_fan_out();
    watch_changes();
}

/// Runs `f` on a fresh runtime of ours and times it.
fn ours<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Duration {
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(time_async(f()))
}

/// Runs `f` on a fresh tokio runtime and times it.
fn theirs<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Duration {
    let rt = tokio_runtime();
    rt.block_on(time_async(f()))
}

fn mutex() {
    // Each runtime's budget makes a task that never waits yield every 128
    // operations; both loops pay that alike.
    compare(
        "Mutex lock + unlock, uncontended",
        LOCKS,
        || {
            ours(|| async {
                let mutex = runtime::sync::Mutex::new(0u64);
                for _ in 0..LOCKS {
                    *mutex.lock().await += 1;
                }
                assert_eq!(*mutex.lock().await, LOCKS);
            })
        },
        || {
            theirs(|| async {
                let mutex = tokio::sync::Mutex::new(0u64);
                for _ in 0..LOCKS {
                    *mutex.lock().await += 1;
                }
                assert_eq!(*mutex.lock().await, LOCKS);
            })
        },
    );
}

fn semaphore() {
    compare(
        "Semaphore acquire + release",
        ACQUIRES,
        || {
            ours(|| async {
                let semaphore = runtime::sync::Semaphore::new(1);
                for _ in 0..ACQUIRES {
                    drop(std::hint::black_box(semaphore.acquire().await.unwrap()));
                }
            })
        },
        || {
            theirs(|| async {
                let semaphore = tokio::sync::Semaphore::new(1);
                for _ in 0..ACQUIRES {
                    drop(std::hint::black_box(semaphore.acquire().await.unwrap()));
                }
            })
        },
    );
}

fn broadcast_fan_out() {
    compare(
        "broadcast 10k values to 100 receivers",
        BROADCASTS * FAN_OUT as u64,
        || {
            ours(|| async {
                let (tx, rx) = runtime::sync::broadcast::channel::<u64>(16);
                let tasks: Vec<_> = (0..FAN_OUT)
                    .map(|_| {
                        let mut rx = tx.subscribe();
                        runtime::spawn(async move {
                            let mut sum = 0;
                            while let Ok(v) = rx.recv().await {
                                sum += v;
                            }
                            sum
                        })
                    })
                    .collect();
                drop(rx);
                for i in 0..BROADCASTS {
                    tx.send(i).unwrap();
                    // Let every receiver take it before the next one.
                    runtime::task::yield_now().await;
                }
                drop(tx);
                for task in tasks {
                    assert_eq!(task.await.unwrap(), BROADCASTS * (BROADCASTS - 1) / 2);
                }
            })
        },
        || {
            theirs(|| async {
                let (tx, rx) = tokio::sync::broadcast::channel::<u64>(16);
                let tasks: Vec<_> = (0..FAN_OUT)
                    .map(|_| {
                        let mut rx = tx.subscribe();
                        tokio::spawn(async move {
                            let mut sum = 0;
                            while let Ok(v) = rx.recv().await {
                                sum += v;
                            }
                            sum
                        })
                    })
                    .collect();
                drop(rx);
                for i in 0..BROADCASTS {
                    tx.send(i).unwrap();
                    tokio::task::yield_now().await;
                }
                drop(tx);
                for task in tasks {
                    assert_eq!(task.await.unwrap(), BROADCASTS * (BROADCASTS - 1) / 2);
                }
            })
        },
    );
}

fn watch_changes() {
    compare(
        "watch: 100k changes, each seen by a task",
        CHANGES,
        || {
            ours(|| async {
                let (tx, mut rx) = runtime::sync::watch::channel(0u64);
                let (ack_tx, mut ack_rx) = runtime::sync::watch::channel(0u64);
                let watcher = runtime::spawn(async move {
                    while rx.changed().await.is_ok() {
                        let seen = *rx.borrow_and_update();
                        ack_tx.send(seen).unwrap();
                    }
                });
                for i in 1..=CHANGES {
                    tx.send(i).unwrap();
                    // Wait until the watcher saw this change.
                    ack_rx.changed().await.unwrap();
                }
                drop(tx);
                watcher.await.unwrap();
            })
        },
        || {
            theirs(|| async {
                let (tx, mut rx) = tokio::sync::watch::channel(0u64);
                let (ack_tx, mut ack_rx) = tokio::sync::watch::channel(0u64);
                let watcher = tokio::spawn(async move {
                    while rx.changed().await.is_ok() {
                        let seen = *rx.borrow_and_update();
                        ack_tx.send(seen).unwrap();
                    }
                });
                for i in 1..=CHANGES {
                    tx.send(i).unwrap();
                    ack_rx.changed().await.unwrap();
                }
                drop(tx);
                watcher.await.unwrap();
            })
        },
    );
}

/// Awaits `f` and returns how long it took.
async fn time_async<F: Future>(f: F) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}
