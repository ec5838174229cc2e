//! Timers at their limits: never early (many random sub-3 ms sleeps,
//! concurrent and sequential), no busy-waiting for a sub-millisecond
//! deadline, signals interrupting `epoll_wait`, deadlines so far ahead that
//! `Instant` arithmetic would overflow, and a million create-poll-drop
//! cycles.
//!
//! Only lower bounds on elapsed time are asserted, plus generous upper
//! bounds where a hang would otherwise result: a loaded machine may make any
//! timer late, never early. Every test runs under a [`Watchdog`], which is
//! not a runtime timer and so does not show in the timer counts checked.

mod util;

use runtime::time::Instant;
use std::future::{pending, poll_fn, ready, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use runtime::time::{interval, sleep, sleep_until, timeout};
use util::{poll_once, run, sleep_not_early, Watchdog, XorShift};

/// A random duration below 3 ms, in nanoseconds, so that deadlines fall
/// anywhere between whole milliseconds and the rounding is exercised.
fn below_3ms(rng: &mut XorShift) -> Duration {
    Duration::from_nanos(rng.below(3_000_000))
}

/// 500 concurrent sleeps of random lengths below 3 ms, then 500
/// sequential ones, plus `sleep_until` and `timeout`: none ends early.
#[test]
fn five_hundred_random_short_sleeps_never_end_early() {
    run("random short sleeps", async {
        let mut rng = XorShift::new(0x5eed);
        let handles: Vec<_> = (0..500)
            .map(|_| runtime::spawn(sleep_not_early(below_3ms(&mut rng))))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        for _ in 0..500 {
            sleep_not_early(below_3ms(&mut rng)).await;
        }
        for _ in 0..100 {
            let deadline = Instant::now() + below_3ms(&mut rng);
            sleep_until(deadline).await;
            let now = Instant::now();
            assert!(
                now >= deadline,
                "sleep_until woke {:?} early",
                deadline - now
            );

            let requested = below_3ms(&mut rng);
            let start = Instant::now();
            assert!(timeout(requested, pending::<()>()).await.is_err());
            let elapsed = start.elapsed();
            assert!(
                elapsed >= requested,
                "timeout({requested:?}) fired after {elapsed:?}"
            );
        }
        assert_eq!(runtime::metrics().timers, 0);
    });
}

/// CPU time and voluntary context switches of the calling thread.
fn thread_usage() -> (Duration, i64) {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (time(usage.ru_utime) + time(usage.ru_stime), usage.ru_nvcsw)
}

/// 1,000 sequential 500 µs sleeps: the deadline is rounded up to a whole
/// millisecond for `epoll_wait`, so the thread blocks; it does not spin
/// with zero timeouts until the deadline. Its CPU time (user + system, of
/// this thread only) stays well below the wall time, and it blocks
/// (voluntary context switches) for most of the sleeps.
#[test]
fn sub_millisecond_sleeps_do_not_spin() {
    run("sleeps do not spin", async {
        const SLEEPS: u32 = 1000;
        let (cpu_before, switches_before) = thread_usage();
        let start = Instant::now();
        for _ in 0..SLEEPS {
            sleep_not_early(Duration::from_micros(500)).await;
        }
        let wall = start.elapsed();
        let (cpu_after, switches_after) = thread_usage();
        let cpu = cpu_after - cpu_before;
        let switches = switches_after - switches_before;
        assert!(
            cpu < wall / 2,
            "{SLEEPS} sleeps of 500 µs used {cpu:?} of CPU in {wall:?}: the runtime spins"
        );
        assert!(
            switches >= i64::from(SLEEPS / 4),
            "{SLEEPS} sleeps of 500 µs blocked only {switches} times: the runtime polls \
             epoll with a zero timeout instead of waiting"
        );
    });
}

/// Signals delivered to the runtime's thread.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// The SIGUSR1 handler: counts, nothing else (atomics are
/// async-signal-safe).
extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Installs [`count_signal`] for SIGUSR1, without `SA_RESTART`, so every
/// signal makes a blocked `epoll_wait` fail with `EINTR`.
fn install_sigusr1_handler() {
    // SAFETY: an all-zero `sigaction` is a valid value of the plain C
    // struct (no handler, empty flags) that is filled in below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = 0; // no SA_RESTART
                         // SAFETY: `action.sa_mask` is a valid, writable `sigset_t`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised, the handler only touches an
    // atomic, and this runs in a child process of its own (see the test),
    // so no other test sees the handler.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
}

/// A thread that sends SIGUSR1 to `target` every millisecond until
/// dropped.
struct SignalStorm {
    /// Set to stop the thread.
    stop: Arc<AtomicBool>,
    /// The sending thread; joined on drop, so it never signals a thread
    /// that has exited.
    thread: Option<thread::JoinHandle<()>>,
}

impl SignalStorm {
    /// Starts signalling `target`, a thread that outlives the storm.
    fn start(target: libc::pthread_t) -> SignalStorm {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::spawn({
            let stop = stop.clone();
            move || {
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: `target` is the test thread, which joins this
                    // thread (dropping the storm) before it exits, so the
                    // id is valid for every call.
                    let rc = unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
                    assert_eq!(rc, 0, "pthread_kill failed: {rc}");
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });
        SignalStorm {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SignalStorm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Signals every millisecond (a handler without `SA_RESTART`, so each one
/// interrupts `epoll_wait` with `EINTR`) neither end a 100 ms sleep early
/// nor keep it from ending, and short sleeps under the same storm are not
/// early either. Runs in a child process so the handler stays there.
#[test]
fn sleeps_interrupted_by_signals_end_on_time() {
    util::in_child_process("sleeps_interrupted_by_signals_end_on_time", || {
        let _watchdog = Watchdog::new("sleeps under a signal storm", util::DEADLINE);
        install_sigusr1_handler();
        // SAFETY: `pthread_self` has no preconditions.
        let me = unsafe { libc::pthread_self() };
        runtime::block_on(async {
            let storm = SignalStorm::start(me);
            // Wait for the first signal, so the storm is surely under way.
            while SIGNALS.load(Ordering::Relaxed) == 0 {
                sleep(Duration::from_millis(1)).await;
            }

            let before = SIGNALS.load(Ordering::Relaxed);
            let requested = Duration::from_millis(100);
            let start = Instant::now();
            sleep(requested).await;
            let elapsed = start.elapsed();
            let during = SIGNALS.load(Ordering::Relaxed) - before;
            assert!(
                elapsed >= requested,
                "woke after {elapsed:?} of {requested:?}"
            );
            assert!(
                elapsed < Duration::from_secs(2),
                "a 100 ms sleep took {elapsed:?} under signals"
            );
            assert!(
                during >= 2,
                "only {during} signals arrived during the sleep: nothing was interrupted"
            );

            // Short sleeps and a timeout, also under the storm.
            let mut rng = XorShift::new(99);
            for _ in 0..50 {
                sleep_not_early(below_3ms(&mut rng)).await;
            }
            let start = Instant::now();
            assert!(timeout(Duration::from_millis(30), pending::<()>())
                .await
                .is_err());
            assert!(start.elapsed() >= Duration::from_millis(30));
            drop(storm);
            assert_eq!(runtime::metrics().timers, 0);
        });
    });
}

/// A future that a plain thread completes after `after`, waking the task
/// from outside the runtime; the runtime meanwhile blocks in `epoll_wait`
/// with whatever its timers ask for.
async fn woken_from_a_thread_after(after: Duration) {
    let state: Arc<Mutex<(bool, Option<Waker>)>> = Arc::new(Mutex::new((false, None)));
    let waker_thread = thread::spawn({
        let state = state.clone();
        move || {
            thread::sleep(after);
            let waker = {
                let mut state = state.lock().unwrap();
                state.0 = true;
                state.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    });
    poll_fn(|cx| {
        let mut state = state.lock().unwrap();
        if state.0 {
            Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await;
    waker_thread.join().unwrap();
}

/// Deadlines so far ahead that `Instant + Duration` overflows (or nearly)
/// neither panic nor wrap around: the sleeps stay pending, the reactor
/// blocks with them as its only timer (and is woken from another thread),
/// they are dropped cleanly, and `timeout(Duration::MAX, ..)` of a ready
/// future returns its output.
#[test]
fn deadlines_far_in_the_future_neither_panic_nor_overflow() {
    run("far deadlines", async {
        let hundred_years = Duration::from_secs(100 * 365 * 86_400);
        let far = [
            Duration::MAX,
            Duration::new(u64::MAX, 0),
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(i64::MAX as u64),
            hundred_years,
        ];
        let year = Duration::from_secs(365 * 86_400);
        for duration in far {
            let mut s = pin!(sleep(duration));
            assert!(!s.is_elapsed(), "sleep({duration:?}) is already elapsed");
            assert!(
                s.deadline() > Instant::now() + year,
                "sleep({duration:?}) ends within a year"
            );
            assert!(poll_once(s.as_mut()).await.is_pending());
            assert_eq!(runtime::metrics().timers, 1);

            // The far deadline is the reactor's only timeout while the
            // thread wakes us; it must not fire, wrap to "now", or panic.
            woken_from_a_thread_after(Duration::from_millis(20)).await;
            assert!(poll_once(s.as_mut()).await.is_pending());
            assert_eq!(runtime::metrics().timers, 1);
        }
        assert_eq!(runtime::metrics().timers, 0);

        // sleep_until a far instant, and resetting to one.
        {
            let mut s = pin!(sleep_until(Instant::now() + hundred_years));
            assert!(poll_once(s.as_mut()).await.is_pending());
            s.as_mut().reset(Instant::now() + hundred_years * 2);
            assert!(poll_once(s.as_mut()).await.is_pending());
            assert_eq!(runtime::metrics().timers, 1);
        }
        assert_eq!(runtime::metrics().timers, 0);

        // timeout with the largest duration.
        assert_eq!(timeout(Duration::MAX, async { 5 }).await, Ok(5));
        assert_eq!(timeout(Duration::MAX, ready("ready")).await, Ok("ready"));
        {
            let mut t = pin!(timeout(Duration::MAX, pending::<()>()));
            assert!(poll_once(t.as_mut()).await.is_pending());
            woken_from_a_thread_after(Duration::from_millis(5)).await;
            assert!(poll_once(t.as_mut()).await.is_pending());
        }
        let start = Instant::now();
        let later = timeout(Duration::MAX, sleep(Duration::from_millis(2))).await;
        assert_eq!(later, Ok(()));
        assert!(start.elapsed() >= Duration::from_millis(2));

        // An interval with the largest period: one tick now, the next never.
        {
            let mut every = interval(Duration::MAX);
            every.tick().await;
            let mut next = pin!(every.tick());
            assert!(poll_once(next.as_mut()).await.is_pending());
        }
        assert_eq!(runtime::metrics().timers, 0);
    });
}

/// How many `Sleep`s the churn tests create, poll once and drop.
const CHURN: u32 = 1_000_000;

/// Creates `cycles` sleeps with random deadlines between one and two
/// seconds ahead (far enough that none is due at its first poll, however
/// loaded the machine), polls each once (registering its timer) and drops
/// it; `others` timers are pending throughout.
async fn churn(cycles: u32, seed: u64, others: usize) {
    let mut rng = XorShift::new(seed);
    poll_fn(|cx| {
        for i in 0..cycles {
            let duration = Duration::from_secs(1) + Duration::from_nanos(rng.below(1_000_000_000));
            let mut s = pin!(sleep(duration));
            assert!(s.as_mut().poll(cx).is_pending());
            if i % 100_000 == 0 {
                assert_eq!(runtime::metrics().timers, others + 1, "after {i} cycles");
            }
        }
        Poll::Ready(())
    })
    .await;
}

/// A million create-poll-drop cycles of `Sleep`, with deadlines scattered
/// over a second, leave no timer behind and every later timer working.
#[test]
fn a_million_sleeps_created_polled_and_dropped_leave_no_timer() {
    run("a million sleeps", async {
        // A long-lived timer among the churn, which must stay.
        let mut anchor = pin!(sleep(Duration::from_secs(3600)));
        assert!(poll_once(anchor.as_mut()).await.is_pending());
        churn(CHURN, 1, 1).await;
        assert_eq!(runtime::metrics().timers, 1);
        sleep_not_early(Duration::from_millis(1)).await;
        assert_eq!(runtime::metrics().timers, 1);
    });
}

/// The resident set size of this process, in bytes.
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: usize = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("VmRSS in kB");
    kib * 1024
}

/// How much a million create-poll-drop cycles may grow the process: far
/// less than one stale 24-byte entry per cycle would take (24 MB), far more
/// than any bounded bookkeeping needs.
const CHURN_GROWTH_LIMIT: usize = 8 << 20;

/// A million create-poll-drop cycles also leave no memory behind: a timer
/// store that cancels lazily must still clean up what it marked. Runs in a
/// child process, where no other test allocates meanwhile.
#[test]
fn a_million_dropped_sleeps_leave_no_memory_behind() {
    util::in_child_process("a_million_dropped_sleeps_leave_no_memory_behind", || {
        let _watchdog = Watchdog::new("a million sleeps, memory", util::DEADLINE);
        runtime::block_on(async {
            // Warm up whatever the store keeps, then measure.
            churn(10_000, 2, 0).await;
            let before = resident_bytes();
            churn(CHURN, 3, 0).await;
            let growth = resident_bytes().saturating_sub(before);
            assert_eq!(runtime::metrics().timers, 0);
            assert!(
                growth < CHURN_GROWTH_LIMIT,
                "{CHURN} create-poll-drop cycles grew the process by {growth} bytes"
            );
        });
    });
}
