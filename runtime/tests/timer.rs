//! Timers: never early, fired in deadline order, `timeout`, cancellation
//! on drop, `interval`.
//!
//! Only lower bounds on elapsed time are asserted: a loaded machine may
//! make any timer late, never early.

mod util;

use runtime::time::Instant;
use std::cell::RefCell;
use std::future::{pending, poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use runtime::task::yield_now;
use runtime::time::{error::Elapsed, interval, sleep, sleep_until, timeout};
use util::{run, sleep_not_early, XorShift};

#[test]
fn sleeps_never_end_early() {
    run("many sleeps", async {
        let mut rng = XorShift::new(7);
        let handles: Vec<_> = (0..300)
            .map(|_| {
                // 0..20 ms, in microseconds, so deadlines fall between
                // whole milliseconds and the rounding is exercised.
                let requested = Duration::from_micros(rng.below(20_000));
                runtime::spawn(sleep_not_early(requested))
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn sleep_until_never_ends_early() {
    run("sleep_until", async {
        let mut rng = XorShift::new(11);
        for _ in 0..30 {
            let deadline = Instant::now() + Duration::from_micros(rng.below(3_000));
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
        // A deadline in the past is ready at once, without a timer.
        let past = Instant::now() - Duration::from_millis(5);
        let mut s = pin!(sleep_until(past));
        assert!(s.is_elapsed());
        poll_fn(|cx| {
            assert!(s.as_mut().poll(cx).is_ready());
            Poll::Ready(())
        })
        .await;
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn a_zero_sleep_completes_at_once() {
    runtime::block_on(async {
        sleep(Duration::ZERO).await;
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    // The order is only defined among timers pending together; on a
    // machine so slow that a deadline passed before every sleep was
    // registered, try again with more headroom.
    for headroom_ms in [20, 200, 2000] {
        let registered_in_time = run("ordering", async {
            let order = Rc::new(RefCell::new(Vec::new()));
            let base = Instant::now() + Duration::from_millis(headroom_ms);
            // Distinct deadlines 100 µs apart, spawned in a scrambled order.
            let mut indices: Vec<u64> = (0..50).collect();
            let mut rng = XorShift::new(3);
            for i in (1..indices.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                indices.swap(i, j);
            }
            let handles: Vec<_> = indices
                .iter()
                .map(|&i| {
                    let order = order.clone();
                    runtime::spawn(async move {
                        sleep_until(base + Duration::from_micros(100 * i)).await;
                        order.borrow_mut().push(i);
                    })
                })
                .collect();
            yield_now().await; // every task has polled its sleep once
            let in_time = Instant::now() < base;
            if in_time {
                assert_eq!(runtime::metrics().timers, 50);
            }
            for handle in handles {
                handle.await.unwrap();
            }
            if in_time {
                assert_eq!(*order.borrow(), (0..50).collect::<Vec<_>>());
            }
            in_time
        });
        if registered_in_time {
            return;
        }
    }
    panic!("the machine is too slow to register 50 timers within 2 s");
}

#[test]
fn timers_with_equal_deadlines_all_fire() {
    run("equal deadlines", async {
        let at = Instant::now() + Duration::from_millis(2);
        let handles: Vec<_> = (0..100)
            .map(|i| {
                runtime::spawn(async move {
                    sleep_until(at).await;
                    i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i);
        }
        assert!(Instant::now() >= at);
    });
}

#[test]
fn timeout_gives_elapsed_when_the_future_is_slower() {
    run("timeout", async {
        let start = Instant::now();
        let limit = Duration::from_millis(10);
        let result = timeout(limit, pending::<()>()).await;
        assert!(matches!(result, Err(Elapsed { .. })));
        assert!(start.elapsed() >= limit);
        let err = timeout(Duration::from_millis(1), sleep(Duration::from_secs(60)))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        // Both the outer timer and the inner sleep are gone.
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn timeout_passes_the_output_of_a_faster_future() {
    run("timeout ok", async {
        assert_eq!(timeout(Duration::from_secs(60), async { 5 }).await, Ok(5));
        // Ready futures win even with a zero limit.
        assert_eq!(timeout(Duration::ZERO, async { 6 }).await, Ok(6));
        let slow_enough = timeout(Duration::from_secs(60), async {
            sleep(Duration::from_millis(2)).await;
            7
        });
        assert_eq!(slow_enough.await, Ok(7));
        // The 60 s timers were cancelled when their futures completed.
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn dropping_a_sleep_cancels_its_timer() {
    runtime::block_on(async {
        assert_eq!(runtime::metrics().timers, 0);
        let mut sleeps: Vec<_> = (0..10)
            .map(|i| Box::pin(sleep(Duration::from_secs(3600 + i))))
            .collect();
        // Registered at the first poll.
        assert_eq!(runtime::metrics().timers, 0);
        poll_fn(|cx| {
            for s in &mut sleeps {
                assert!(s.as_mut().poll(cx).is_pending());
                // Polling again does not add a second timer.
                assert!(s.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        assert_eq!(runtime::metrics().timers, 10);
        sleeps.truncate(4);
        assert_eq!(runtime::metrics().timers, 4);
        drop(sleeps);
        assert_eq!(runtime::metrics().timers, 0);

        // Aborting a sleeping task drops its sleep.
        let task = runtime::spawn(sleep(Duration::from_secs(3600)));
        yield_now().await;
        assert_eq!(runtime::metrics().timers, 1);
        task.abort();
        let _ = task.await;
        assert_eq!(runtime::metrics().timers, 0);

        // A timeout that lost drops its inner sleep too.
        let _ = timeout(Duration::from_millis(1), sleep(Duration::from_secs(3600))).await;
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn a_reset_sleep_keeps_one_timer() {
    run("reset", async {
        let mut s = Box::pin(sleep(Duration::from_secs(3600)));
        poll_fn(|cx| {
            assert!(s.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(runtime::metrics().timers, 1);
        let deadline = Instant::now() + Duration::from_millis(3);
        s.as_mut().reset(deadline);
        assert_eq!(runtime::metrics().timers, 0);
        s.as_mut().await;
        assert!(Instant::now() >= deadline);
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
fn a_runtime_with_only_a_sleep_wakes_for_it() {
    // No tasks, no sockets: the runtime must wake from epoll_wait by the
    // timeout alone.
    let start = Instant::now();
    runtime::block_on(sleep(Duration::from_millis(15)));
    assert!(start.elapsed() >= Duration::from_millis(15));
}

#[test]
fn interval_ticks_on_its_grid() {
    run("interval", async {
        let period = Duration::from_millis(3);
        let start = Instant::now();
        let mut ticks = interval(period);
        assert_eq!(ticks.period(), period);
        let first = ticks.tick().await;
        // The first tick is immediate.
        assert!(first >= start && first <= Instant::now());
        let mut previous = first;
        for _ in 0..10 {
            let t = ticks.tick().await;
            assert!(Instant::now() >= t, "a tick came early");
            let gap = t - previous;
            assert!(gap >= period, "ticks {gap:?} apart");
            // On the grid: a whole number of periods after the first.
            let since_first = (t - first).as_nanos();
            assert_eq!(since_first % period.as_nanos(), 0, "tick off the grid");
            previous = t;
        }
        // With `Skip`, missed ticks are skipped, not burst (the default,
        // `Burst`, is tested on the paused clock in `paused_clock.rs`).
        ticks.set_missed_tick_behavior(runtime::time::MissedTickBehavior::Skip);
        std::thread::sleep(period * 4);
        let late = ticks.tick().await;
        let next = ticks.tick().await;
        // Bursting would schedule `next` one period after `late`, in the
        // past; skipping puts it on the first grid point after the call,
        // at least four periods on.
        assert!(next - late >= period * 3, "a burst after missed ticks");
        assert_eq!((next - first).as_nanos() % period.as_nanos(), 0);
        assert!(Instant::now() >= next);
        drop(ticks);
        assert_eq!(runtime::metrics().timers, 0);
    });
}

#[test]
#[should_panic(expected = "interval period must be non-zero")]
fn a_zero_interval_panics() {
    let _ = interval(Duration::ZERO);
}
