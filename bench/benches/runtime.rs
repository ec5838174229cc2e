//! Runtime micro-benchmarks, ours beside tokio's `current_thread`:
//! spawn + join, yield ping-pong, wakes from another thread (on the same
//! core and on another), timers.
//!
//! Run with `cargo bench -p bench --bench runtime`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bench::{compare, time, tokio_runtime, XorShift};

/// Tasks spawned and joined per round.
const SPAWNS: u64 = 100_000;
/// Yields per round of the ping-pong (two tasks).
const PING_PONGS: u64 = 1_000_000;
/// Wake round trips through another thread per round.
const REMOTE_WAKES: u64 = 100_000;
/// Timers inserted per round; half are cancelled, half fire.
const TIMERS: u64 = 1_000_000;
/// Timer deadlines are spread over this window.
const TIMER_WINDOW: Duration = Duration::from_millis(50);

fn main() {
    println!(
        "runtime benchmarks: median of {} interleaved rounds",
        bench::ROUNDS
    );
    spawn_and_join();
    join_set();
    yield_ping_pong();
    remote_wakes();
    timers();
}

fn spawn_and_join() {
    compare(
        "spawn + join 100k trivial tasks",
        SPAWNS,
        || {
            let rt = runtime::Runtime::new().unwrap();
            rt.block_on(async {
                time_async(async {
                    let handles: Vec<_> = (0..SPAWNS)
                        .map(|i| runtime::spawn(async move { i }))
                        .collect();
                    for h in handles {
                        std::hint::black_box(h.await.unwrap());
                    }
                })
                .await
            })
        },
        || {
            let rt = tokio_runtime();
            rt.block_on(async {
                time_async(async {
                    let handles: Vec<_> = (0..SPAWNS)
                        .map(|i| tokio::spawn(async move { i }))
                        .collect();
                    for h in handles {
                        std::hint::black_box(h.await.unwrap());
                    }
                })
                .await
            })
        },
    );
}

fn join_set() {
    compare(
        "JoinSet: spawn 100k trivial tasks, join_next each",
        SPAWNS,
        || {
            let rt = runtime::Runtime::new().unwrap();
            rt.block_on(async {
                time_async(async {
                    let mut set = runtime::task::JoinSet::new();
                    for i in 0..SPAWNS {
                        set.spawn(async move { i });
                    }
                    while let Some(result) = set.join_next().await {
                        std::hint::black_box(result.unwrap());
                    }
                })
                .await
            })
        },
        || {
            let rt = tokio_runtime();
            rt.block_on(async {
                time_async(async {
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..SPAWNS {
                        set.spawn(async move { i });
                    }
                    while let Some(result) = set.join_next().await {
                        std::hint::black_box(result.unwrap());
                    }
                })
                .await
            })
        },
    );
}

fn yield_ping_pong() {
    compare(
        "two tasks yield_now 1M times in turn",
        PING_PONGS,
        || {
            let rt = runtime::Runtime::new().unwrap();
            rt.block_on(async {
                time_async(async {
                    let a = runtime::spawn(async {
                        for _ in 0..PING_PONGS / 2 {
                            runtime::task::yield_now().await;
                        }
                    });
                    let b = runtime::spawn(async {
                        for _ in 0..PING_PONGS / 2 {
                            runtime::task::yield_now().await;
                        }
                    });
                    a.await.unwrap();
                    b.await.unwrap();
                })
                .await
            })
        },
        || {
            let rt = tokio_runtime();
            rt.block_on(async {
                time_async(async {
                    let a = tokio::spawn(async {
                        for _ in 0..PING_PONGS / 2 {
                            tokio::task::yield_now().await;
                        }
                    });
                    let b = tokio::spawn(async {
                        for _ in 0..PING_PONGS / 2 {
                            tokio::task::yield_now().await;
                        }
                    });
                    a.await.unwrap();
                    b.await.unwrap();
                })
                .await
            })
        },
    );
}

/// A future that completes after `target` wakes from a thread pinned to
/// CPU `waker_cpu`, each sent only after the previous one was observed (so
/// every wake counts).
async fn remote_wake_round(target: usize, waker_cpu: usize) {
    let seen = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::task::Waker>(1);
    // Moves to its CPU (it starts with its parent's affinity), says so,
    // then wakes whatever waker it is sent until the sender is dropped.
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    let waker_thread = std::thread::spawn(move || {
        let pinned = bench::affinity::pin_current_thread(waker_cpu);
        let ok = pinned.is_ok();
        pinned_tx.send(pinned).unwrap();
        if ok {
            rx.into_iter().for_each(std::task::Waker::wake)
        }
    });
    pinned_rx
        .recv()
        .unwrap()
        .expect("cannot pin the waking thread");
    poll_fn(|cx| {
        let n = seen.fetch_add(1, Ordering::AcqRel) + 1;
        if n > target {
            return Poll::Ready(());
        }
        tx.send(cx.waker().clone()).unwrap();
        Poll::Pending
    })
    .await;
    drop(tx);
    waker_thread.join().unwrap();
}

/// The CPU the runtime's thread is pinned to in the remote-wake benchmark.
const RUNTIME_CPU: usize = 0;

/// Wakes from another thread, twice: from a thread on the runtime's own
/// core, where a wake is two context switches and the figure is the
/// runtimes' own cost, and from a thread on the other core, where on a
/// virtual machine the hypervisor's wake-up of an idle core dominates.
fn remote_wakes() {
    for (name, waker_cpu) in [
        ("100k wakes, waker on the same core", RUNTIME_CPU),
        ("100k wakes, waker on another core", RUNTIME_CPU + 1),
    ] {
        if let Err(e) = bench::affinity::with_current_thread_on(waker_cpu, || ()) {
            println!("{name:<40} skipped: {e}");
            continue;
        }
        // The runtime's thread stays on its core for the whole comparison.
        bench::affinity::with_current_thread_on(RUNTIME_CPU, || {
            compare(
                name,
                REMOTE_WAKES,
                || {
                    let rt = runtime::Runtime::new().unwrap();
                    rt.block_on(time_async(remote_wake_round(
                        REMOTE_WAKES as usize,
                        waker_cpu,
                    )))
                },
                || {
                    let rt = tokio_runtime();
                    rt.block_on(time_async(remote_wake_round(
                        REMOTE_WAKES as usize,
                        waker_cpu,
                    )))
                },
            )
        })
        .expect("cannot pin the runtime's thread");
    }
}

/// How long after the start of a round the first deadline falls: enough
/// to create and register a million sleeps before any is due.
const TIMER_LEAD: Duration = Duration::from_millis(1500);

/// Deadlines spread over [`TIMER_WINDOW`] after [`TIMER_LEAD`], in a fixed
/// pseudo-random order, and the instant by which all have passed.
fn deadlines() -> (Vec<Instant>, Instant) {
    let mut rng = XorShift::new(0x5eed);
    let start = Instant::now() + TIMER_LEAD;
    let deadlines = (0..TIMERS)
        .map(|_| start + Duration::from_micros(rng.below(TIMER_WINDOW.as_micros() as u64)))
        .collect();
    (deadlines, start + TIMER_WINDOW)
}

/// Registers every sleep (one poll each), cancels every other one, waits
/// until the window has passed, then lets the runtime fire the rest and
/// checks they all completed. Returns the time spent in the three measured
/// phases (the wait itself is not counted).
async fn timer_round<S: Future<Output = ()>, Y: Future<Output = ()>>(
    mut sleeps: Vec<Pin<Box<S>>>,
    all_due: Instant,
    yield_now: impl Fn() -> Y,
) -> Duration {
    let mut spent = Duration::ZERO;
    // Insert: the first poll registers each timer.
    spent += time_async(poll_fn(|cx| {
        for sleep in &mut sleeps {
            assert!(sleep.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    }))
    .await;
    // Cancel half.
    spent += time(|| {
        let mut keep = true;
        sleeps.retain(|_| {
            keep = !keep;
            keep
        })
    });
    // Wait (not measured) until every deadline has passed.
    std::thread::sleep(
        all_due.saturating_duration_since(Instant::now()) + Duration::from_millis(2),
    );
    // Fire: yield (each runtime's own `yield_now` lets its driver turn and
    // fire the due timers first), then poll every sleep; until all are
    // ready, a bounded number of times, since all are due.
    spent += time_async(async {
        for _ in 0..FIRE_ATTEMPTS {
            yield_now().await;
            poll_fn(|cx| {
                sleeps.retain_mut(|sleep| sleep.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            if sleeps.is_empty() {
                return;
            }
        }
        panic!("{} timers not fired though due", sleeps.len());
    })
    .await;
    spent
}

/// Yields allowed in the fire phase of a timer round before concluding
/// that due timers do not fire.
const FIRE_ATTEMPTS: usize = 100;

fn timers() {
    compare(
        "1M timers: insert, cancel half, fire half",
        TIMERS,
        || {
            let rt = runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let (deadlines, all_due) = deadlines();
                let sleeps = deadlines
                    .into_iter()
                    .map(|d| Box::pin(runtime::time::sleep_until(d.into())))
                    .collect();
                // As for tokio below: the budget would cut the round up.
                runtime::task::unconstrained(timer_round(sleeps, all_due, runtime::task::yield_now))
                    .await
            })
        },
        || {
            let rt = tokio_runtime();
            rt.block_on(async {
                let (deadlines, all_due) = deadlines();
                let sleeps = deadlines
                    .into_iter()
                    .map(|d| Box::pin(tokio::time::sleep_until(d.into())))
                    .collect();
                // Without this, tokio's cooperative budget would make most
                // of the half-million polls in one task poll return Pending.
                tokio::task::unconstrained(timer_round(sleeps, all_due, tokio::task::yield_now))
                    .await
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
