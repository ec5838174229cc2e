//! A wake allocates nothing: on the runtime thread (local run queue) and
//! from another thread (lock-free ring + eventfd), once the queues are warm.
//!
//! This binary counts every allocation of the process with a wrapping
//! global allocator, so it holds a single test and runs without the test
//! harness (`harness = false`): nothing else may run alongside, not even
//! the harness's thread, which allocates whenever it first waits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// Counts allocations, then defers to the system allocator.
struct CountingAllocator;

/// Allocations (and reallocations) since the process started.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; the counter is atomic.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// Wakes `waker` `rounds` times from the runtime thread, letting the woken
/// task run after each wake; returns how many times it was polled.
async fn local_wakes(waker: &Waker, polls: &AtomicUsize, rounds: usize) -> usize {
    let before = polls.load(Ordering::SeqCst);
    for _ in 0..rounds {
        waker.wake_by_ref();
        runtime::task::yield_now().await;
    }
    polls.load(Ordering::SeqCst) - before
}

fn main() {
    a_wake_allocates_nothing_on_or_off_the_runtime_thread();
    println!("a wake allocates nothing on or off the runtime thread: ok");
}

fn a_wake_allocates_nothing_on_or_off_the_runtime_thread() {
    let rt = runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A task that counts its polls and parks its waker where we can
        // reach it.
        let polls = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
        let task = runtime::spawn({
            let polls = polls.clone();
            let stop = stop.clone();
            poll_fn(move |cx| {
                if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    waker_tx.send(cx.waker().clone()).unwrap();
                }
                if stop.load(Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        });
        runtime::task::yield_now().await;
        let waker = waker_rx.recv_timeout(Duration::from_secs(10)).unwrap();

        // On the runtime thread: warm up, then measure.
        local_wakes(&waker, &polls, 1_000).await;
        let start = allocations();
        let polled = local_wakes(&waker, &polls, 10_000).await;
        let local_allocations = allocations() - start;
        assert_eq!(polled, 10_000, "every local wake should cause one poll");
        assert_eq!(local_allocations, 0, "10,000 local wakes allocated");

        // From another thread, while the runtime keeps polling the task.
        for (phase, rounds) in [("warm-up", 10_000), ("measured", 100_000)] {
            let remote = {
                let waker = waker.clone();
                std::thread::spawn(move || {
                    let start = allocations();
                    for _ in 0..rounds {
                        waker.wake_by_ref();
                    }
                    allocations() - start
                })
            };
            // Keep the runtime turning (and polling the task) meanwhile.
            // Yielding, not sleeping: a timer insert would allocate, and the
            // count covers every thread.
            let give_up = std::time::Instant::now() + Duration::from_secs(20);
            while !remote.is_finished() {
                assert!(
                    std::time::Instant::now() < give_up,
                    "the waking thread hung"
                );
                runtime::task::yield_now().await;
            }
            let remote_allocations = remote.join().unwrap();
            if phase == "measured" {
                assert_eq!(remote_allocations, 0, "{rounds} remote wakes allocated");
            }
        }
        stop.store(true, Ordering::SeqCst);
        waker.wake();
        runtime::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the task did not finish")
            .unwrap();
    });
}
