//! loom models of the sync primitives' cross-thread hand-offs.
//!
//! Each test runs its closure under every interleaving loom finds (bounded
//! by `LOOM_MAX_PREEMPTIONS`), with the primitives built on loom's types
//! (`runtime/src/loom.rs`). Futures are driven by `loom::future::block_on`
//! on loom threads; its waker is loom-aware, so a lost wakeup shows up as a
//! deadlock that loom reports, not as a hang.
//!
//! Only built with `RUSTFLAGS="--cfg loom"`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p runtime --release --test 'loom_*'
//! ```

#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use loom::future::block_on;
use loom::thread;
use runtime::sync::{
    broadcast, mpsc, oneshot, watch, CancellationToken, Mutex, Notify, OnceCell, RwLock, Semaphore,
};

/// Polls `future` once with a waker that does nothing, and returns whether
/// it completed; the future stays where the caller keeps it.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    future
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
}

mod oneshot_models {
    use super::*;

    #[test]
    fn a_value_sent_from_another_thread_arrives() {
        loom::model(|| {
            let (tx, rx) = oneshot::channel();
            let sender = thread::spawn(move || tx.send(7).unwrap());
            assert_eq!(block_on(rx), Ok(7));
            sender.join().unwrap();
        });
    }

    #[test]
    fn a_sender_dropped_on_another_thread_ends_the_wait() {
        loom::model(|| {
            let (tx, rx) = oneshot::channel::<u8>();
            let sender = thread::spawn(move || drop(tx));
            assert!(block_on(rx).is_err());
            sender.join().unwrap();
        });
    }

    #[test]
    fn a_receiver_dropped_on_another_thread_wakes_closed() {
        loom::model(|| {
            let (mut tx, rx) = oneshot::channel::<u8>();
            let receiver = thread::spawn(move || drop(rx));
            block_on(tx.closed());
            assert_eq!(tx.send(1), Err(1));
            receiver.join().unwrap();
        });
    }
}

mod mpsc_models {
    use super::*;

    #[test]
    fn a_sender_parked_for_room_is_woken_by_the_receiver() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::channel(1);
            let sender = thread::spawn(move || {
                block_on(async {
                    tx.send(1).await.unwrap();
                    // The channel is full now, unless the receiver was
                    // quick: this send may park for room.
                    tx.send(2).await.unwrap();
                })
            });
            block_on(async {
                assert_eq!(rx.recv().await, Some(1));
                assert_eq!(rx.recv().await, Some(2));
                assert_eq!(rx.recv().await, None);
            });
            sender.join().unwrap();
        });
    }

    #[test]
    fn close_fails_a_parked_sender_and_keeps_the_buffer() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::channel(1);
            tx.try_send(0).unwrap();
            let sender = thread::spawn(move || block_on(tx.send(1)).is_err());
            rx.close();
            assert!(
                sender.join().unwrap(),
                "a send into a closed, full channel failed"
            );
            assert_eq!(rx.try_recv(), Ok(0));
            assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));
        });
    }

    #[test]
    fn a_permit_reserved_on_another_thread_delivers() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::channel(1);
            tx.try_send(0).unwrap();
            let sender = thread::spawn(move || {
                block_on(async {
                    let permit = tx.reserve().await.unwrap();
                    permit.send(1);
                })
            });
            block_on(async {
                assert_eq!(rx.recv().await, Some(0));
                assert_eq!(rx.recv().await, Some(1));
                assert_eq!(rx.recv().await, None);
            });
            sender.join().unwrap();
        });
    }

    #[test]
    fn an_unbounded_receiver_sees_the_last_sender_go() {
        loom::model(|| {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let tx2 = tx.clone();
            let a = thread::spawn(move || tx.send(1).unwrap());
            let b = thread::spawn(move || drop(tx2));
            let mut got = 0;
            block_on(async {
                while let Some(v) = rx.recv().await {
                    got += v;
                }
            });
            assert_eq!(got, 1);
            a.join().unwrap();
            b.join().unwrap();
        });
    }
}

mod notify_models {
    use super::*;

    #[test]
    fn notify_one_from_another_thread_wakes_the_waiter() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            block_on(notify.notified());
            notifier.join().unwrap();
        });
    }

    #[test]
    fn a_dropped_notified_passes_the_notification_on() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            // Registers, then gives up, while `notify_one` runs: if it was
            // chosen, it must hand the notification on. (If the permit was
            // already there, its first poll completes and consumes it.)
            let quitter = thread::spawn({
                let notify = notify.clone();
                move || {
                    let mut notified = pin!(notify.notified());
                    poll_once(notified.as_mut())
                }
            });
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            let consumed = quitter.join().unwrap();
            notifier.join().unwrap();
            // Unless consumed, stored as the permit or passed on as one:
            // never lost.
            let mut notified = pin!(notify.notified());
            if consumed {
                assert!(!poll_once(notified.as_mut()), "one notify_one, two wakeups");
                return;
            }
            assert!(poll_once(notified.as_mut()), "the notification was lost");
        });
    }
}

mod mutex_models {
    use super::*;

    #[test]
    fn the_lock_is_handed_off_between_threads() {
        loom::model(|| {
            let mutex = Arc::new(Mutex::new(0));
            let other = thread::spawn({
                let mutex = mutex.clone();
                move || block_on(async { *mutex.lock().await += 1 })
            });
            block_on(async { *mutex.lock().await += 1 });
            other.join().unwrap();
            assert_eq!(*mutex.try_lock().unwrap(), 2);
        });
    }

    #[test]
    fn a_cancelled_lock_passes_the_lock_on() {
        loom::model(|| {
            let mutex = Arc::new(Mutex::new(0));
            let guard = mutex.try_lock().unwrap();
            // Queues, then gives up, while the holder unlocks.
            let quitter = thread::spawn({
                let mutex = mutex.clone();
                move || {
                    let mut lock = pin!(mutex.lock());
                    // Completes at once if the holder was already gone:
                    // fine too; the guard is then dropped with the future.
                    poll_once(lock.as_mut());
                }
            });
            drop(guard);
            quitter.join().unwrap();
            // Whatever happened, the lock is free again.
            assert!(mutex.try_lock().is_ok(), "a cancelled lock kept the mutex");
        });
    }

    #[test]
    fn a_cancelled_lock_does_not_strand_the_next_waiter() {
        loom::model(|| {
            let mutex = Arc::new(Mutex::new(0));
            let guard = mutex.try_lock().unwrap();
            let quitter = thread::spawn({
                let mutex = mutex.clone();
                move || {
                    let mut lock = pin!(mutex.lock());
                    poll_once(lock.as_mut());
                }
            });
            let waiter = thread::spawn({
                let mutex = mutex.clone();
                move || block_on(async { *mutex.lock().await += 1 })
            });
            drop(guard);
            quitter.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(*mutex.try_lock().unwrap(), 1);
        });
    }
}

mod semaphore_models {
    use super::*;

    #[test]
    fn permits_are_shared_between_threads() {
        loom::model(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let other = thread::spawn({
                let semaphore = semaphore.clone();
                move || block_on(async { drop(semaphore.acquire().await.unwrap()) })
            });
            block_on(async { drop(semaphore.acquire().await.unwrap()) });
            other.join().unwrap();
            assert_eq!(semaphore.available_permits(), 1);
        });
    }

    #[test]
    fn a_large_acquire_collects_permits_released_on_two_threads() {
        loom::model(|| {
            let semaphore = Arc::new(Semaphore::new(0));
            let adders: Vec<_> = (0..2)
                .map(|_| {
                    let semaphore = semaphore.clone();
                    thread::spawn(move || semaphore.add_permits(1))
                })
                .collect();
            block_on(async {
                let permit = semaphore.acquire_many(2).await.unwrap();
                assert_eq!(permit.num_permits(), 2);
            });
            for adder in adders {
                adder.join().unwrap();
            }
            assert_eq!(semaphore.available_permits(), 2);
        });
    }

    #[test]
    fn close_fails_a_waiting_acquire_and_refunds_it() {
        loom::model(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let waiter = thread::spawn({
                let semaphore = semaphore.clone();
                move || block_on(async { semaphore.acquire_many(2).await.map(|p| p.forget()) })
            });
            semaphore.close();
            assert!(waiter.join().unwrap().is_err());
            // The waiter's down payment came back.
            assert_eq!(semaphore.available_permits(), 1);
        });
    }

    #[test]
    fn a_cancelled_acquire_passes_its_permit_on() {
        loom::model(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let permit = semaphore.try_acquire().unwrap();
            let quitter = thread::spawn({
                let semaphore = semaphore.clone();
                move || {
                    let mut acquire = pin!(semaphore.acquire());
                    poll_once(acquire.as_mut());
                }
            });
            drop(permit);
            quitter.join().unwrap();
            assert_eq!(semaphore.available_permits(), 1);
        });
    }
}

mod rwlock_models {
    use super::*;

    #[test]
    fn a_writer_and_a_reader_on_two_threads() {
        loom::model(|| {
            let lock = Arc::new(RwLock::new(0));
            let writer = thread::spawn({
                let lock = lock.clone();
                move || block_on(async { *lock.write().await += 1 })
            });
            let seen = block_on(async { *lock.read().await });
            assert!(seen == 0 || seen == 1);
            writer.join().unwrap();
            assert_eq!(*lock.try_read().unwrap(), 1);
        });
    }
}

mod once_cell_models {
    use super::*;

    #[test]
    fn concurrent_initialisers_run_once() {
        loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let init = |cell: Arc<OnceCell<u8>>, runs: Arc<loom::sync::atomic::AtomicUsize>| {
                block_on(async move {
                    *cell
                        .get_or_init(|| async {
                            runs.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
                            5
                        })
                        .await
                })
            };
            let other = thread::spawn({
                let (cell, runs) = (cell.clone(), runs.clone());
                move || init(cell, runs)
            });
            assert_eq!(init(cell.clone(), runs.clone()), 5);
            assert_eq!(other.join().unwrap(), 5);
            assert_eq!(runs.load(loom::sync::atomic::Ordering::SeqCst), 1);
        });
    }
}

mod watch_models {
    use super::*;

    #[test]
    fn a_change_made_on_another_thread_is_seen() {
        loom::model(|| {
            let (tx, mut rx) = watch::channel(0);
            let sender = thread::spawn(move || tx.send(1).unwrap());
            block_on(async {
                rx.changed().await.unwrap();
                assert_eq!(*rx.borrow_and_update(), 1);
                // The sender is gone after its send.
                assert!(rx.changed().await.is_err());
            });
            sender.join().unwrap();
        });
    }

    #[test]
    fn wait_for_sees_the_value_it_waits_for() {
        loom::model(|| {
            let (tx, mut rx) = watch::channel(0);
            let sender = thread::spawn(move || {
                tx.send_modify(|v| *v += 1);
                tx.send_modify(|v| *v += 1);
            });
            block_on(async {
                assert_eq!(*rx.wait_for(|v| *v == 2).await.unwrap(), 2);
            });
            sender.join().unwrap();
        });
    }
}

mod broadcast_models {
    use super::*;

    #[test]
    fn every_receiver_gets_a_value_sent_on_another_thread() {
        loom::model(|| {
            let (tx, mut a) = broadcast::channel(1);
            let mut b = tx.subscribe();
            let sender = thread::spawn(move || {
                tx.send(1).unwrap();
            });
            let other = thread::spawn(move || block_on(b.recv()));
            assert_eq!(block_on(a.recv()), Ok(1));
            assert_eq!(other.join().unwrap(), Ok(1));
            sender.join().unwrap();
        });
    }

    /// A receiver that has read the newest value waits without the lock;
    /// a send or the close racing with that wait must still wake it.
    #[test]
    fn a_receiver_waiting_without_the_lock_sees_the_next_send_and_the_end() {
        loom::model(|| {
            let (tx, mut rx) = broadcast::channel(2);
            tx.send(1).unwrap();
            let sender = thread::spawn(move || {
                tx.send(2).unwrap();
            });
            block_on(async {
                assert_eq!(rx.recv().await, Ok(1));
                assert_eq!(rx.recv().await, Ok(2));
                assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Closed));
            });
            sender.join().unwrap();
        });
    }
}

mod cancellation_models {
    use super::*;

    #[test]
    fn cancelling_a_parent_on_another_thread_wakes_a_child() {
        loom::model(|| {
            let parent = CancellationToken::new();
            let child = parent.child_token();
            let canceller = thread::spawn(move || parent.cancel());
            block_on(child.cancelled());
            canceller.join().unwrap();
        });
    }

    #[test]
    fn a_child_made_while_the_parent_is_cancelled_is_cancelled() {
        loom::model(|| {
            let parent = CancellationToken::new();
            let canceller = thread::spawn({
                let parent = parent.clone();
                move || parent.cancel()
            });
            let child = parent.child_token();
            canceller.join().unwrap();
            assert!(child.is_cancelled());
        });
    }
}
