//! `runtime::sync`: channels and `Notify` between tasks and plain threads.
//!
//! Every test runs under a watchdog (`runtime::time::timeout`), so a lost
//! wakeup fails the test instead of hanging it.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures_core::Stream;
use runtime::sync::mpsc::error::{SendError, TryRecvError, TrySendError};
use runtime::sync::{mpsc, oneshot, Notify};
use runtime::task::yield_now;
use runtime::time::{sleep, timeout};

/// How long any one test may take.
const WATCHDOG: Duration = Duration::from_secs(30);

/// How long to wait to conclude that something does *not* happen.
const QUIET: Duration = Duration::from_millis(20);

/// Producer threads in the many-producers tests.
const THREADS: usize = 4;

/// Messages each producer thread sends.
const PER_THREAD: u64 = 100_000;

/// Runs `future` on a fresh runtime, failing the test if it takes longer
/// than [`WATCHDOG`].
fn run<F: Future>(future: F) -> F::Output {
    runtime::block_on(async {
        timeout(WATCHDOG, future)
            .await
            .expect("watchdog: the test did not finish in time")
    })
}

/// Polls `future` exactly once.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Receives `(thread, sequence)` messages until the channel ends, checking
/// that each thread's messages arrive once each and in order. Returns how
/// many arrived per thread.
async fn receive_sequences<S>(mut rx: S) -> [u64; THREADS]
where
    S: Stream<Item = (usize, u64)> + Unpin,
{
    let mut expected = [0; THREADS];
    while let Some((thread, seq)) = poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await {
        assert_eq!(
            seq, expected[thread],
            "thread {thread}: message lost, duplicated or reordered"
        );
        expected[thread] += 1;
    }
    expected
}

#[test]
fn many_threads_blocking_send_into_a_bounded_channel() {
    let (tx, rx) = mpsc::channel::<(usize, u64)>(64);
    let producers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    tx.blocking_send((thread, seq)).expect("receiver alive");
                }
            })
        })
        .collect();
    drop(tx);
    let counts = run(receive_sequences(rx));
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(counts, [PER_THREAD; THREADS]);
}

#[test]
fn many_threads_send_into_an_unbounded_channel() {
    let (tx, rx) = mpsc::unbounded_channel::<(usize, u64)>();
    let producers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    tx.send((thread, seq)).expect("receiver alive");
                }
            })
        })
        .collect();
    drop(tx);
    let counts = run(receive_sequences(rx));
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(counts, [PER_THREAD; THREADS]);
}

#[test]
fn threads_and_tasks_share_a_tiny_channel() {
    // Capacity 1: nearly every send waits, so slots are handed over
    // constantly between parked threads and waiting tasks.
    const EACH: u64 = 2_000;
    let (tx, rx) = mpsc::channel::<(usize, u64)>(1);
    let threads: Vec<_> = (0..2)
        .map(|thread| {
            let tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..EACH {
                    tx.blocking_send((thread, seq)).unwrap();
                }
            })
        })
        .collect();
    let counts = run(async move {
        for task in 2..THREADS {
            let tx = tx.clone();
            runtime::spawn(async move {
                for seq in 0..EACH {
                    tx.send((task, seq)).await.unwrap();
                }
            });
        }
        drop(tx);
        receive_sequences(rx).await
    });
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(counts, [EACH; THREADS]);
}

#[test]
fn a_full_channel_pushes_back() {
    run(async {
        let (tx, mut rx) = mpsc::channel(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));

        let tx2 = tx.clone();
        let waiting = runtime::spawn(async move { tx2.send(3).await });
        for _ in 0..5 {
            yield_now().await;
        }
        assert!(!waiting.is_finished(), "send must wait while full");

        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn a_blocked_thread_resumes_after_a_receive() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let producer = thread::spawn(move || tx.blocking_send(1));
    run(async {
        sleep(QUIET).await; // the thread is now parked on the full channel
        assert_eq!(rx.recv().await, Some(0));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None);
    });
    assert_eq!(producer.join().unwrap(), Ok(()));
}

#[test]
fn dropping_the_receiver_wakes_every_sender() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let thread_tx = tx.clone();
    let blocked_thread = thread::spawn(move || thread_tx.blocking_send(1));
    run(async move {
        let waiting_send = {
            let tx = tx.clone();
            runtime::spawn(async move { tx.send(2).await })
        };
        let closed = {
            let tx = tx.clone();
            runtime::spawn(async move { tx.closed().await })
        };
        sleep(QUIET).await;
        assert!(!waiting_send.is_finished() && !closed.is_finished());
        assert!(!tx.is_closed());

        drop(rx);
        assert_eq!(waiting_send.await.unwrap(), Err(SendError(2)));
        closed.await.unwrap();
        assert!(tx.is_closed());
        assert_eq!(tx.send(3).await, Err(SendError(3)));
        assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    });
    assert_eq!(blocked_thread.join().unwrap(), Err(SendError(1)));
}

#[test]
fn dropping_the_last_sender_ends_the_receiver() {
    run(async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        let receiver = runtime::spawn(async move { (rx.recv().await, urx.recv().await) });
        yield_now().await;
        assert!(!receiver.is_finished());
        // Dropped on another thread: the wake crosses threads.
        let tx2 = tx.clone();
        thread::spawn(move || drop((tx, tx2, utx))).join().unwrap();
        assert_eq!(receiver.await.unwrap(), (None, None));
    });
}

#[test]
fn close_lets_buffered_values_drain() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(3), Err(SendError(3)));
        tx.closed().await;
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn receivers_are_streams() {
    run(async {
        let (tx, mut rx) = mpsc::channel(3);
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(i) = poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn blocking_recv_on_a_thread() {
    let (tx, mut rx) = mpsc::channel(2);
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        while let Some(i) = rx.blocking_recv() {
            got.push(i);
        }
        got
    });
    run(async move {
        for i in 0..100 {
            tx.send(i).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());
}

#[test]
#[should_panic(expected = "blocking channel operation")]
fn blocking_send_on_a_runtime_thread_panics() {
    runtime::block_on(async {
        let (tx, _rx) = mpsc::channel(1);
        let _ = tx.blocking_send(1);
    });
}

#[test]
fn oneshot_across_threads() {
    // A value from a thread.
    let (tx, rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(String::from("hi")).unwrap();
    });
    assert_eq!(run(rx), Ok(String::from("hi")));
    sender.join().unwrap();

    // A sender dropped on a thread without sending.
    let (tx, rx) = oneshot::channel::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(tx);
    });
    assert!(run(rx).is_err());
    dropper.join().unwrap();

    // A receiver dropped on a thread: the sender's `closed` resolves.
    let (mut tx, rx) = oneshot::channel::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(rx);
    });
    run(tx.closed());
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
    dropper.join().unwrap();

    // A thread waiting for a task's answer.
    let (tx, rx) = oneshot::channel();
    let waiter = thread::spawn(move || rx.blocking_recv());
    run(async move {
        sleep(Duration::from_millis(5)).await;
        tx.send(42).unwrap();
    });
    assert_eq!(waiter.join().unwrap(), Ok(42));
}

#[test]
fn oneshot_try_recv_and_close() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));
}

#[test]
fn notify_one_stores_a_single_permit() {
    run(async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        notify.notified().await; // the permit
        assert!(
            timeout(QUIET, notify.notified()).await.is_err(),
            "only one permit may be stored"
        );
    });
}

#[test]
fn notify_one_wakes_a_waiting_task_from_another_thread() {
    run(async {
        let notify = Arc::new(Notify::new());
        let waiter = {
            let notify = notify.clone();
            runtime::spawn(async move { notify.notified().await })
        };
        yield_now().await;
        let notifier = thread::spawn(move || notify.notify_one());
        waiter.await.unwrap();
        notifier.join().unwrap();
    });
}

#[test]
fn notify_one_wakes_exactly_one_waiter() {
    run(async {
        let notify = Arc::new(Notify::new());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let notify = notify.clone();
                runtime::spawn(async move { notify.notified().await })
            })
            .collect();
        yield_now().await;
        notify.notify_one();
        sleep(QUIET).await;
        let finished = waiters.iter().filter(|w| w.is_finished()).count();
        assert_eq!(finished, 1);
        notify.notify_one();
        for waiter in waiters {
            waiter.await.unwrap();
        }
    });
}

#[test]
fn notify_waiters_wakes_all_and_stores_no_permit() {
    run(async {
        let notify = Arc::new(Notify::new());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let notify = notify.clone();
                runtime::spawn(async move { notify.notified().await })
            })
            .collect();
        yield_now().await;
        notify.notify_waiters();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert!(
            timeout(QUIET, notify.notified()).await.is_err(),
            "notify_waiters must not store a permit"
        );
    });
}

#[test]
fn a_dropped_notified_passes_its_notification_on() {
    run(async {
        let notify = Notify::new();
        let mut first = notify.notified();
        let mut second = notify.notified();
        assert!(poll_once(&mut first).await.is_pending());
        assert!(poll_once(&mut second).await.is_pending());
        notify.notify_one(); // chooses `first`, the longest waiting
        drop(first);
        timeout(QUIET * 10, second)
            .await
            .expect("the dropped waiter's notification reached the next one");

        // With nobody else waiting, it becomes the permit.
        let mut only = notify.notified();
        assert!(poll_once(&mut only).await.is_pending());
        notify.notify_one();
        drop(only);
        timeout(QUIET * 10, notify.notified())
            .await
            .expect("the dropped waiter's notification became the permit");
    });
}

#[test]
fn a_cancelled_waiting_task_passes_its_notification_on() {
    run(async {
        let notify = Arc::new(Notify::new());
        let cancelled = {
            let notify = notify.clone();
            runtime::spawn(async move { notify.notified().await })
        };
        let patient = {
            let notify = notify.clone();
            runtime::spawn(async move { notify.notified().await })
        };
        yield_now().await; // both wait, `cancelled` first
        notify.notify_one();
        cancelled.abort(); // dropped before it can run again
        patient.await.unwrap();
    });
}
