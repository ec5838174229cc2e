//! The paused clock, auto-advance, what an interval does about missed
//! ticks, and timers that are `Send + Sync`. Minutes of virtual time; no
//! test here waits for real time.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use runtime::time::{
    advance, interval, interval_at, pause, resume, sleep, sleep_until, timeout, timeout_at,
    Instant, MissedTickBehavior,
};

/// Runs `future` on a runtime whose clock starts paused, under a watchdog.
fn paused<F: std::future::Future>(name: &'static str, future: F) -> F::Output {
    let _watchdog = util::Watchdog::new(name, util::DEADLINE);
    let rt = runtime::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(future)
}

#[test]
fn a_paused_clock_stands_still_and_advance_moves_it() {
    paused("standing still", async {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(Instant::now(), start, "the paused clock moved by itself");
        advance(Duration::from_secs(90)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(90));
    });
}

#[test]
fn an_idle_runtime_jumps_to_the_next_timer() {
    let real = std::time::Instant::now();
    paused("auto-advance", async {
        let start = Instant::now();
        sleep(Duration::from_secs(300)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(300));
        // Timers fire in deadline order, each at its own instant.
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|secs| {
                let order = order.clone();
                runtime::spawn(async move {
                    sleep(Duration::from_secs(secs)).await;
                    order.borrow_mut().push((secs, start.elapsed().as_secs()));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.borrow(), [(10, 310), (20, 320), (30, 330)]);
    });
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "auto-advance waited for real time"
    );
}

#[test]
fn advance_fires_due_timers_before_it_returns_and_no_others() {
    paused("advance", async {
        let fired = Rc::new(Cell::new(0));
        let task = runtime::spawn({
            let fired = fired.clone();
            async move {
                sleep(Duration::from_secs(10)).await;
                fired.set(1);
                sleep(Duration::from_secs(10)).await;
                fired.set(2);
            }
        });
        runtime::task::yield_now().await;
        advance(Duration::from_secs(9)).await;
        assert_eq!(fired.get(), 0, "fired early");
        advance(Duration::from_secs(1)).await;
        assert_eq!(fired.get(), 1);
        advance(Duration::from_secs(10)).await;
        assert_eq!(fired.get(), 2);
        task.await.unwrap();
    });
}

#[test]
fn io_still_wakes_a_task_while_the_clock_is_paused() {
    paused("io while paused", async {
        use runtime::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, mut server) = util::tcp_pair().await;
        let start = Instant::now();
        // A timeout far away does not fire while data is on its way: the
        // read completes first, since the runtime is not idle.
        let reader = runtime::spawn(async move {
            let mut buf = [0; 4];
            timeout(Duration::from_secs(3600), server.read_exact(&mut buf))
                .await
                .map(|r| r.map(|_| buf))
        });
        client.write_all(b"ping").await.unwrap();
        let got = reader.await.unwrap().expect("timed out").unwrap();
        assert_eq!(&got, b"ping");
        assert!(start.elapsed() < Duration::from_secs(3600));
    });
}

#[test]
fn a_blocking_job_holds_the_paused_clock_back() {
    paused("spawn_blocking inhibits", async {
        let start = Instant::now();
        let job = runtime::task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(50));
            "done"
        });
        // Without the hold the idle runtime would jump an hour ahead and
        // fire this timeout before the job reports.
        let result = timeout(Duration::from_secs(3600), job).await;
        assert_eq!(result.unwrap().unwrap(), "done");
        assert!(start.elapsed() < Duration::from_secs(3600));
    });
}

#[test]
fn resume_runs_the_clock_again_from_where_it_stood() {
    paused("resume", async {
        advance(Duration::from_secs(1000)).await;
        let at = Instant::now();
        resume();
        let wall = std::time::Instant::now();
        sleep(Duration::from_millis(5)).await;
        let moved = at.elapsed();
        assert!(moved >= Duration::from_millis(5), "{moved:?}");
        assert!(moved <= wall.elapsed() + Duration::from_millis(1));
        // Pausing again works.
        pause();
        let frozen = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(Instant::now(), frozen);
    });
}

#[test]
#[should_panic(expected = "already paused")]
fn pausing_twice_panics() {
    paused("pause twice", async { pause() });
}

#[test]
#[should_panic(expected = "not paused")]
fn advancing_a_running_clock_panics() {
    runtime::block_on(advance(Duration::from_secs(1)));
}

#[test]
fn burst_catches_up_on_missed_ticks_one_period_apart() {
    paused("burst", async {
        let mut ticks = interval(Duration::from_secs(10));
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        let first = ticks.tick().await;
        // Busy for 35 s: three ticks missed.
        advance(Duration::from_secs(35)).await;
        let mut late = Vec::new();
        for _ in 0..4 {
            late.push((ticks.tick().await - first).as_secs());
        }
        // The three missed ones at once, then the schedule goes on.
        assert_eq!(late, [10, 20, 30, 40]);
        assert_eq!((Instant::now() - first).as_secs(), 40);
    });
}

#[test]
fn delay_shifts_the_schedule_after_a_missed_tick() {
    paused("delay", async {
        let mut ticks = interval(Duration::from_secs(10));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let first = ticks.tick().await;
        advance(Duration::from_secs(35)).await;
        let late = ticks.tick().await;
        assert_eq!((late - first).as_secs(), 10, "the tick that was due");
        let next = ticks.tick().await;
        assert_eq!((next - first).as_secs(), 45, "a period after it fired");
    });
}

#[test]
fn skip_goes_on_at_the_next_grid_instant() {
    paused("skip", async {
        let mut ticks = interval(Duration::from_secs(10));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first = ticks.tick().await;
        advance(Duration::from_secs(35)).await;
        let late = ticks.tick().await;
        assert_eq!((late - first).as_secs(), 10);
        let next = ticks.tick().await;
        assert_eq!(
            (next - first).as_secs(),
            40,
            "on the grid, missed ones skipped"
        );
    });
}

#[test]
fn interval_at_reset_and_timeout_at_use_their_instants() {
    paused("interval_at and timeout_at", async {
        let start = Instant::now() + Duration::from_secs(7);
        let mut ticks = interval_at(start, Duration::from_secs(3));
        assert_eq!(ticks.tick().await, start);
        assert_eq!(Instant::now(), start);
        ticks.reset_after(Duration::from_secs(100));
        assert_eq!(ticks.tick().await, start + Duration::from_secs(100));
        let deadline = Instant::now() + Duration::from_secs(60);
        let never = std::future::pending::<()>();
        assert!(timeout_at(deadline, never).await.is_err());
        assert_eq!(Instant::now(), deadline);
        sleep_until(deadline - Duration::from_secs(1)).await; // in the past
        assert_eq!(Instant::now(), deadline);
    });
}

#[test]
fn timers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let sleep = sleep(Duration::from_secs(1));
    assert_send_sync(&sleep);
    assert_send_sync(&timeout(Duration::from_secs(1), async {}));
    assert_send_sync(&interval_at(Instant::now(), Duration::from_secs(1)));
    // A Send future that sleeps can go to Handle::spawn: another thread
    // spawns it onto this runtime and awaits it on a runtime of its own.
    let rt = runtime::Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = runtime::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        let task = handle.spawn(async {
            runtime::time::sleep(Duration::from_millis(1)).await;
            7
        });
        let _ = tx.send(runtime::block_on(task).unwrap());
    });
    assert_eq!(rt.block_on(rx).unwrap(), 7);
    thread.join().unwrap();
}

#[test]
fn a_sleep_polled_on_another_runtime_panics_clearly() {
    let first = runtime::Runtime::new().unwrap();
    let mut sleep = Box::pin(sleep(Duration::from_secs(3600)));
    first.block_on(async {
        assert!(util::poll_once(sleep.as_mut()).await.is_pending());
    });
    let second = runtime::Runtime::new().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        second.block_on(async {
            let _ = util::poll_once(sleep.as_mut()).await;
        })
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("not the one it was first polled on"),
        "{message}"
    );
}

#[test]
fn a_sleep_polled_outside_a_runtime_panics_clearly() {
    let sleep = sleep(Duration::from_secs(1));
    let panic = std::thread::spawn(move || {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut sleep = Box::pin(sleep);
        let _ = std::future::Future::poll(sleep.as_mut(), &mut cx);
    })
    .join()
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("outside a runtime"), "{message}");
}
