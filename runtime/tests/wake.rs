//! Wakers: fired from other threads (ringing the eventfd), fired many
//! times (coalesced: a task sits in the run queue at most once), fired
//! during the task's own poll (exactly one more poll), and fired after the
//! task or its runtime is gone (nothing happens).
//!
//! A lost wake shows up as a hang. These tests use no runtime timers, since
//! a timer turning the loop would hide a lost eventfd ring; a [`Watchdog`]
//! thread aborts the process with a message instead.

mod util;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use runtime::task::{yield_now, JoinHandle};
use runtime::Runtime;
use util::Watchdog;

/// Limit for each test here; they take milliseconds.
const LIMIT: Duration = Duration::from_secs(20);

/// Threads firing wakes at once.
const THREADS: usize = 8;
/// Wakes each of them fires.
const WAKES_PER_THREAD: usize = 10_000;

/// A task that counts its polls, publishes its waker on the first poll, and
/// completes once `fired` reaches `target`.
fn counting_task(
    fired: Arc<AtomicUsize>,
    target: usize,
    polls: Rc<Cell<usize>>,
    waker_slot: Rc<RefCell<Option<Waker>>>,
) -> JoinHandle<usize> {
    runtime::spawn(poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if fired.load(Ordering::SeqCst) >= target {
            return Poll::Ready(polls.get());
        }
        let mut slot = waker_slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(cx.waker().clone());
        }
        Poll::Pending
    }))
}

/// A task that parks forever, counting polls and publishing its waker.
fn parked_task(polls: Rc<Cell<usize>>, slot: Rc<RefCell<Option<Waker>>>) -> JoinHandle<()> {
    runtime::spawn(poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }))
}

/// Returns after the runtime has completed at least `n` full ticks: run
/// the queued tasks, turn the reactor, move the remotely woken tasks over.
///
/// `yield_now` alone does not ensure that: the main future is requeued
/// behind the local queue only, and may be polled again within the same
/// tick, before wakes from other threads are picked up. A wake from another
/// thread, in contrast, is seen only after a reactor turn, behind every
/// remote wake that came before it.
async fn ticks(n: usize) {
    for _ in 0..n {
        let fired = Arc::new(AtomicBool::new(false));
        let mut helper = None;
        poll_fn(|cx| {
            if fired.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if helper.is_none() {
                let waker = cx.waker().clone();
                let fired = fired.clone();
                helper = Some(thread::spawn(move || {
                    fired.store(true, Ordering::SeqCst);
                    waker.wake();
                }));
            }
            Poll::Pending
        })
        .await;
        helper.unwrap().join().unwrap();
        yield_now().await;
    }
}

#[test]
fn eight_threads_times_ten_thousand_wakes_lose_none() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("eight_threads_times_ten_thousand_wakes_lose_none", LIMIT);
    const TASKS: usize = 16;
    const TOTAL: usize = THREADS * WAKES_PER_THREAD;
    const _: () = assert!(TOTAL.is_multiple_of(TASKS));
    let fired: Vec<Arc<AtomicUsize>> = (0..TASKS).map(|_| Arc::default()).collect();
    let polls: Vec<Rc<Cell<usize>>> = (0..TASKS).map(|_| Rc::default()).collect();
    let slots: Vec<Rc<RefCell<Option<Waker>>>> = (0..TASKS).map(|_| Rc::default()).collect();

    let rt = Runtime::new().unwrap();
    let threads = rt.block_on(async {
        let start_polls = runtime::metrics().polls;
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                counting_task(
                    fired[i].clone(),
                    TOTAL / TASKS,
                    polls[i].clone(),
                    slots[i].clone(),
                )
            })
            .collect();
        ticks(1).await;
        let wakers: Vec<Waker> = slots.iter().map(|s| s.borrow().clone().unwrap()).collect();

        let go = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let wakers = wakers.clone();
                let fired = fired.clone();
                let go = go.clone();
                thread::spawn(move || {
                    go.wait();
                    for j in 0..WAKES_PER_THREAD {
                        let i = (t * WAKES_PER_THREAD + j) % TASKS;
                        // Count first, then wake: the last wake of a task
                        // is seen after its count is complete.
                        fired[i].fetch_add(1, Ordering::SeqCst);
                        wakers[i].wake_by_ref();
                    }
                })
            })
            .collect();

        let mut total_polls = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            let n = handle.await.unwrap();
            assert_eq!(n, polls[i].get());
            // Every poll but the first was caused by a wake.
            assert!(
                n <= TOTAL / TASKS + 1,
                "task {i} was polled {n} times for {} wakes",
                TOTAL / TASKS
            );
            total_polls += n;
        }
        assert_eq!(runtime::metrics().polls - start_polls, total_polls as u64);
        threads
    });
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(fired
        .iter()
        .all(|f| f.load(Ordering::SeqCst) == TOTAL / TASKS));
}

/// The body of the coalescing tests: `T` parks; then, while the
/// runtime thread is stuck in the synchronous poll of another task `B`,
/// `fire(T's waker)` wakes `T` many times. `T` must then be polled exactly
/// once more, not once per wake.
fn woken_many_times_while_the_runtime_is_busy_is_polled_once(fire: fn(&Waker)) {
    runtime::block_on(async {
        let polls = Rc::new(Cell::new(0));
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let task = parked_task(polls.clone(), slot.clone());
        ticks(1).await;
        assert_eq!(polls.get(), 1);
        let waker = slot.borrow().clone().unwrap();
        let before = runtime::metrics().polls;

        // B: one long synchronous poll during which T is woken.
        runtime::spawn(async move { fire(&waker) }).await.unwrap();
        ticks(10).await;

        assert_eq!(
            polls.get(),
            2,
            "T must be polled exactly once after the wakes"
        );
        // B once, T once.
        assert_eq!(runtime::metrics().polls - before, 2);
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn remote_wakes_while_the_runtime_is_busy_coalesce_into_one_poll() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("remote_wakes_coalesce", LIMIT);
    woken_many_times_while_the_runtime_is_busy_is_polled_once(|waker| {
        thread::scope(|s| {
            for _ in 0..THREADS {
                // `&Waker` shared by eight threads: Waker is Sync.
                s.spawn(|| {
                    for _ in 0..WAKES_PER_THREAD {
                        waker.wake_by_ref();
                    }
                });
            }
        });
    });
}

#[test]
fn local_wakes_coalesce_into_one_poll() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("local_wakes_coalesce", LIMIT);
    woken_many_times_while_the_runtime_is_busy_is_polled_once(|waker| {
        for _ in 0..WAKES_PER_THREAD {
            waker.wake_by_ref();
            // By value too: `wake` consumes its clone.
            #[allow(clippy::waker_clone_wake)]
            #[allow(clippy::waker_clone_wake)] // `wake` by value is under test
            waker.clone().wake();
        }
    });
}

#[test]
fn local_and_remote_wakes_mixed_coalesce_into_one_poll() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("mixed_wakes_coalesce", LIMIT);
    woken_many_times_while_the_runtime_is_busy_is_polled_once(|waker| {
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..WAKES_PER_THREAD {
                        waker.wake_by_ref();
                    }
                });
            }
            for _ in 0..WAKES_PER_THREAD {
                waker.wake_by_ref();
            }
        });
    });
}

/// Each odd poll asks a helper thread to fire the task's waker
/// `per_round` times *during* that poll, and waits until it has. That must
/// cause exactly one more (even) poll: none lost (a hang), none extra
/// (the count is checked after several full ticks). The main future then
/// wakes the task for the next round.
fn wakes_during_poll_cause_exactly_one_more_poll(per_round: usize) {
    const ROUNDS: usize = 100;
    let (request_tx, request_rx) = mpsc::channel::<Waker>();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let helper = thread::spawn(move || {
        while let Ok(waker) = request_rx.recv() {
            for _ in 0..per_round {
                waker.wake_by_ref();
            }
            ack_tx.send(()).unwrap();
        }
    });
    runtime::block_on(async move {
        let polls = Rc::new(Cell::new(0usize));
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let task = runtime::spawn({
            let polls = polls.clone();
            let slot = slot.clone();
            poll_fn(move |cx| {
                let p = polls.get() + 1;
                polls.set(p);
                *slot.borrow_mut() = Some(cx.waker().clone());
                if p == 2 * ROUNDS + 1 {
                    return Poll::Ready(());
                }
                if p % 2 == 1 {
                    request_tx.send(cx.waker().clone()).unwrap();
                    ack_rx.recv().unwrap(); // woken during this very poll
                }
                Poll::Pending
            })
        });
        for round in 1..=ROUNDS {
            ticks(3).await;
            assert_eq!(
                polls.get(),
                2 * round,
                "round {round}: wakes during a poll must cause exactly one more poll"
            );
            let waker = slot.borrow().clone().unwrap();
            waker.wake();
        }
        task.await.unwrap();
        assert_eq!(polls.get(), 2 * ROUNDS + 1);
    });
    helper.join().unwrap();
}

#[test]
fn a_wake_during_poll_causes_exactly_one_more_poll() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("a_wake_during_poll_causes_exactly_one_more_poll", LIMIT);
    wakes_during_poll_cause_exactly_one_more_poll(1);
}

#[test]
fn several_wakes_during_poll_cause_exactly_one_more_poll() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new(
        "several_wakes_during_poll_cause_exactly_one_more_poll",
        LIMIT,
    );
    wakes_during_poll_cause_exactly_one_more_poll(5);
}

#[test]
fn a_task_woken_from_another_thread_while_the_runtime_idles_runs() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("remote wake of an idle runtime", LIMIT);
    // Ping-pong: the task asks for a wake and parks; the runtime has no
    // timers and no sockets, so it blocks in `epoll_wait` until the
    // helper's wake rings the eventfd. A lost ring hangs.
    const ROUNDS: usize = 2_000;
    let (tx, rx) = mpsc::channel::<Waker>();
    let round = Arc::new(AtomicUsize::new(0));
    let helper = {
        let round = round.clone();
        thread::spawn(move || {
            for r in 1..=ROUNDS {
                let waker = rx.recv().unwrap();
                if r % 2 == 0 {
                    // Give the runtime time to reach epoll_wait.
                    thread::yield_now();
                }
                round.store(r, Ordering::SeqCst);
                // Odd rounds consume the waker, even rounds wake by ref.
                if r % 2 == 1 {
                    waker.wake();
                } else {
                    waker.wake_by_ref();
                }
            }
        })
    };
    runtime::block_on(async move {
        let mut asked = 0;
        runtime::spawn(poll_fn(move |cx| {
            let now = round.load(Ordering::SeqCst);
            if now == ROUNDS {
                return Poll::Ready(());
            }
            if now == asked {
                asked += 1;
                tx.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }))
        .await
        .unwrap();
    });
    helper.join().unwrap();
}

#[test]
fn a_task_waker_sent_to_another_thread_wakes_it_there() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("a_task_waker_sent_to_another_thread_wakes_it_there", LIMIT);
    util::assert_send::<Waker>();
    util::assert_sync::<Waker>();
    runtime::block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Waker>();
        let thread = thread::spawn({
            let done = done.clone();
            move || {
                // The real task waker, moved to this thread and woken here.
                let waker = rx.recv().unwrap();
                done.store(true, Ordering::SeqCst);
                waker.wake();
            }
        });
        let mut tx = Some(tx);
        let polls = runtime::spawn(poll_fn(move |cx| {
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if let Some(tx) = tx.take() {
                tx.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }));
        polls.await.unwrap();
        thread.join().unwrap();
    });
}

/// Wakes `waker` from this thread and from another one, both ways.
fn wake_everywhere(waker: &Waker) {
    waker.wake_by_ref();
    #[allow(clippy::waker_clone_wake)] // `wake` by value is under test
    waker.clone().wake();
    let remote = waker.clone();
    thread::spawn(move || {
        remote.wake_by_ref();
        remote.wake();
    })
    .join()
    .unwrap();
}

#[test]
fn waking_a_finished_task_does_nothing() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("waking_a_finished_task_does_nothing", LIMIT);
    runtime::block_on(async {
        // A finishes, leaving its waker behind.
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let finished = runtime::spawn({
            let slot = slot.clone();
            poll_fn(move |cx| {
                *slot.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(())
            })
        });
        finished.await.unwrap();
        let stale = slot.borrow_mut().take().unwrap();

        // B most likely takes A's freed slot (same index, new generation).
        let polls = Rc::new(Cell::new(0));
        let b_slot = Rc::default();
        let b = parked_task(polls.clone(), b_slot);
        ticks(1).await;
        assert_eq!(polls.get(), 1);
        let before = runtime::metrics().polls;

        for _ in 0..100 {
            wake_everywhere(&stale);
        }
        ticks(10).await;
        assert_eq!(polls.get(), 1, "a stale waker woke the slot's new task");
        assert_eq!(
            runtime::metrics().polls,
            before,
            "a stale waker caused a poll"
        );
        b.abort();
        let _ = b.await;
    });
}

#[test]
fn waking_an_aborted_task_does_nothing() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("waking_an_aborted_task_does_nothing", LIMIT);
    runtime::block_on(async {
        let polls = Rc::new(Cell::new(0));
        let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let task = parked_task(polls.clone(), slot.clone());
        ticks(1).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let waker = slot.borrow().clone().unwrap();
        let before = runtime::metrics().polls;
        for _ in 0..100 {
            wake_everywhere(&waker);
        }
        ticks(10).await;
        assert_eq!(polls.get(), 1);
        assert_eq!(runtime::metrics().polls, before);
        assert_eq!(runtime::metrics().tasks, 0);
    });
}

#[test]
fn waking_the_finished_main_future_does_nothing() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("waking_the_finished_main_future_does_nothing", LIMIT);
    let rt = Runtime::new().unwrap();
    let main_waker = rt.block_on(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
    wake_everywhere(&main_waker);
    // The next block_on is not confused by the stale wakes.
    let polls = Rc::new(Cell::new(0));
    rt.block_on({
        let polls = polls.clone();
        async move {
            wake_everywhere(&main_waker);
            polls.set(polls.get() + 1);
            yield_now().await;
            polls.set(polls.get() + 1);
        }
    });
    assert_eq!(polls.get(), 2);
}

#[test]
fn waking_a_task_of_a_dropped_runtime_does_nothing() {
    let _fds = util::fd_exclusive();
    let _watchdog = Watchdog::new("waking_a_task_of_a_dropped_runtime_does_nothing", LIMIT);
    let start_fds = util::open_fd_count();
    let polls = Rc::new(Cell::new(0));
    let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        drop(parked_task(polls.clone(), slot.clone()));
        ticks(1).await;
    });
    let waker = slot.borrow_mut().take().unwrap();
    drop(rt);

    // From this thread with no runtime, from another thread, and from
    // inside a different runtime: no panic, no hang, no poll.
    for _ in 0..100 {
        wake_everywhere(&waker);
    }
    runtime::block_on(async {
        for _ in 0..100 {
            wake_everywhere(&waker);
        }
        ticks(3).await;
        assert_eq!(runtime::metrics().polls, 0);
    });
    assert_eq!(polls.get(), 1);

    // Once the last waker is gone the runtime's fds are all closed.
    drop(waker);
    assert_eq!(util::open_fd_count(), start_fds, "the runtime leaked fds");
}

#[test]
fn wakers_of_two_runtimes_on_two_threads_stay_apart() {
    let _fds = util::fd_shared();
    let _watchdog = Watchdog::new("wakers_of_two_runtimes_on_two_threads_stay_apart", LIMIT);
    // Two runtimes on two threads, each with one task under the same task
    // id. Each poll of one task wakes the other from the other's thread,
    // where a different runtime is current: the wake must reach the waker's
    // own runtime (remote queue and eventfd), not the current one.
    const ROUNDS: usize = 500;
    let (to_a, from_b) = mpsc::channel::<Waker>();
    let (to_b, from_a) = mpsc::channel::<Waker>();
    let a_done = Arc::new(AtomicBool::new(false));
    let b_done = Arc::new(AtomicBool::new(false));
    let run = |send: mpsc::Sender<Waker>,
               recv: mpsc::Receiver<Waker>,
               me_done: Arc<AtomicBool>,
               peer_done: Arc<AtomicBool>| {
        move || {
            runtime::block_on(async move {
                let mut round = 0;
                let mut peer: Option<Waker> = None;
                runtime::spawn(poll_fn(move |cx| {
                    if peer.is_none() {
                        // Exchange wakers: send first, so neither waits
                        // for the other forever.
                        send.send(cx.waker().clone()).unwrap();
                        peer = Some(recv.recv().unwrap());
                    }
                    round += 1;
                    let finished = round > ROUNDS || peer_done.load(Ordering::SeqCst);
                    if finished {
                        me_done.store(true, Ordering::SeqCst);
                    }
                    peer.as_ref().unwrap().wake_by_ref();
                    if finished {
                        Poll::Ready(round)
                    } else {
                        Poll::Pending
                    }
                }))
                .await
                .unwrap()
            })
        }
    };
    let a = thread::spawn(run(to_b, from_b, a_done.clone(), b_done.clone()));
    let b = thread::spawn(run(to_a, from_a, b_done, a_done));
    let a_rounds = a.join().unwrap();
    let b_rounds = b.join().unwrap();
    // The one that finished first did all its rounds; the other was woken
    // by each of them.
    assert!(a_rounds.max(b_rounds) > ROUNDS, "{a_rounds} / {b_rounds}");
    assert!(
        a_rounds.min(b_rounds) > ROUNDS / 2,
        "{a_rounds} / {b_rounds}"
    );
}
