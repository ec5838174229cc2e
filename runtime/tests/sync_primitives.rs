//! `runtime::sync` beyond the channels: Mutex, RwLock, Semaphore, Barrier,
//! OnceCell, broadcast, watch, CancellationToken, and mpsc's permits.
//!
//! Fairness and cancel safety are checked the same way throughout: tasks
//! queue in a known order (each polled once, so it is in line), one is
//! dropped, and the test checks who gets the lock, permit or value next.
//! Every test runs under the watchdog of `util::run`, so a lost wakeup
//! fails instead of hanging. A future that a test drops is boxed: a
//! `pin!`ned one would only be dropped at the end of its scope.

mod util;

use std::cell::RefCell;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use runtime::sync::mpsc::error::{SendTimeoutError, TrySendError};
use runtime::sync::{
    broadcast, mpsc, watch, Barrier, CancellationToken, Mutex, OnceCell, RwLock, Semaphore,
    TryAcquireError,
};
use runtime::task::yield_now;
use util::{poll_once, run};

/// Spawns tasks that each record `id` in `log` once they hold the lock, in
/// the order given, letting each start waiting before the next is spawned.
async fn queue_lockers(
    mutex: &Arc<Mutex<()>>,
    log: &Rc<RefCell<Vec<u32>>>,
    ids: &[u32],
) -> Vec<runtime::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for &id in ids {
        let (mutex, log) = (mutex.clone(), log.clone());
        tasks.push(runtime::spawn(async move {
            let _guard = mutex.lock().await;
            log.borrow_mut().push(id);
        }));
        yield_now().await; // the task is now in line
    }
    tasks
}

#[test]
fn mutex_waiters_get_the_lock_in_order() {
    run("mutex fifo", async {
        let mutex = Arc::new(Mutex::new(()));
        let log = Rc::new(RefCell::new(Vec::new()));
        let guard = mutex.lock().await;
        let tasks = queue_lockers(&mutex, &log, &[1, 2, 3]).await;
        assert!(mutex.try_lock().is_err(), "a newcomer must not overtake");
        drop(guard);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*log.borrow(), [1, 2, 3]);
    });
}

#[test]
fn a_dropped_lock_gives_its_place_to_the_next_waiter() {
    run("mutex cancel", async {
        let mutex = Arc::new(Mutex::new(0));
        let guard = mutex.lock().await;
        // First in line, then cancelled after the lock was handed to it.
        let mut first = Box::pin(mutex.lock());
        assert!(poll_once(first.as_mut()).await.is_pending());
        let second = runtime::spawn({
            let mutex = mutex.clone();
            async move { *mutex.lock().await += 1 }
        });
        yield_now().await;
        drop(guard); // hands the lock to `first`
        drop(first); // which passes it on
        second.await.unwrap();
        assert_eq!(*mutex.lock().await, 1);
    });
}

#[test]
fn a_mutex_guard_is_held_across_awaits_and_threads() {
    let mutex = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let mutex = mutex.clone();
            std::thread::spawn(move || {
                runtime::block_on(async {
                    for _ in 0..1_000 {
                        let mut guard = mutex.lock().await;
                        let seen = *guard;
                        yield_now().await; // nobody else may write meanwhile
                        *guard = seen + 1;
                    }
                })
            })
        })
        .collect();
    for _ in 0..1_000 {
        *mutex.blocking_lock() += 1;
    }
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(*mutex.blocking_lock(), 3_000);
}

#[test]
fn an_owned_guard_moves_into_a_task() {
    run("lock_owned", async {
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let mut guard = mutex.clone().lock_owned().await;
        let task = runtime::spawn(async move {
            guard.push(1);
            yield_now().await;
            guard.push(2);
        });
        assert_eq!(*mutex.lock().await, [1, 2]);
        task.await.unwrap();
    });
}

#[test]
fn rwlock_readers_queue_behind_a_waiting_writer() {
    run("rwlock writer preference", async {
        let lock = Arc::new(RwLock::new(0));
        let log = Rc::new(RefCell::new(Vec::new()));
        let reader = lock.read().await;
        let writer = runtime::spawn({
            let (lock, log) = (lock.clone(), log.clone());
            async move {
                *lock.write().await = 1;
                log.borrow_mut().push("writer");
            }
        });
        yield_now().await; // the writer waits for the reader
        assert!(
            lock.try_read().is_err(),
            "a reader overtook a waiting writer"
        );
        let late_reader = runtime::spawn({
            let (lock, log) = (lock.clone(), log.clone());
            async move {
                let value = *lock.read().await;
                log.borrow_mut().push("late reader");
                value
            }
        });
        yield_now().await;
        assert!(log.borrow().is_empty());
        drop(reader);
        writer.await.unwrap();
        assert_eq!(
            late_reader.await.unwrap(),
            1,
            "the late reader ran after the writer"
        );
        assert_eq!(*log.borrow(), ["writer", "late reader"]);
    });
}

#[test]
fn a_dropped_write_lets_the_readers_behind_it_in() {
    run("rwlock cancel", async {
        let lock = RwLock::new(0);
        let reader = lock.read().await;
        let mut write = Box::pin(lock.write());
        assert!(poll_once(write.as_mut()).await.is_pending());
        let mut read = pin!(lock.read());
        assert!(
            poll_once(read.as_mut()).await.is_pending(),
            "queued behind the writer"
        );
        drop(write);
        // The writer's place is gone: the reader behind it goes now.
        assert!(poll_once(read.as_mut()).await.is_ready());
        drop(reader);
    });
}

#[test]
fn a_large_acquire_is_not_starved_by_small_ones() {
    run("semaphore fifo", async {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.acquire_many(2).await.unwrap();
        let big = runtime::spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire_many(2).await.unwrap().num_permits() }
        });
        yield_now().await;
        // A stream of small acquires arrives after the big one.
        let small: Vec<_> = (0..4)
            .map(|_| {
                let semaphore = semaphore.clone();
                runtime::spawn(async move { drop(semaphore.acquire().await.unwrap()) })
            })
            .collect();
        yield_now().await;
        held.forget();
        semaphore.add_permits(1);
        yield_now().await;
        assert!(!big.is_finished(), "one permit is not enough");
        assert!(
            small.iter().all(|t| !t.is_finished()),
            "a small acquire overtook"
        );
        semaphore.add_permits(1);
        assert_eq!(big.await.unwrap(), 2);
        for task in small {
            task.await.unwrap();
        }
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn a_dropped_acquire_gives_its_permit_to_the_next_waiter() {
    run("semaphore cancel", async {
        let semaphore = Semaphore::new(1);
        let permit = semaphore.acquire().await.unwrap();
        let mut first = Box::pin(semaphore.acquire());
        let mut second = pin!(semaphore.acquire());
        assert!(poll_once(first.as_mut()).await.is_pending());
        assert!(poll_once(second.as_mut()).await.is_pending());
        drop(permit); // granted to `first`
        drop(first);
        match poll_once(second.as_mut()).await {
            Poll::Ready(Ok(permit)) => drop(permit),
            other => panic!(
                "the permit was not passed on: {:?}",
                other.map(|r| r.is_ok())
            ),
        }
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn close_fails_waiters_but_keeps_held_permits_valid() {
    run("semaphore close", async {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.acquire().await.unwrap();
        let waiter = runtime::spawn({
            let semaphore = semaphore.clone();
            async move { semaphore.acquire().await.map(drop) }
        });
        yield_now().await;
        semaphore.close();
        assert!(waiter.await.unwrap().is_err());
        assert_eq!(
            semaphore.try_acquire().unwrap_err(),
            TryAcquireError::Closed
        );
        drop(held);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn barrier_releases_groups_with_one_leader_each() {
    run("barrier", async {
        let barrier = Arc::new(Barrier::new(3));
        let tasks: Vec<_> = (0..9)
            .map(|_| {
                let barrier = barrier.clone();
                runtime::spawn(async move { barrier.wait().await.is_leader() })
            })
            .collect();
        let mut leaders = 0;
        for task in tasks {
            leaders += task.await.unwrap() as usize;
        }
        assert_eq!(leaders, 3);
    });
}

#[test]
fn a_dropped_barrier_wait_withdraws_its_arrival() {
    run("barrier cancel", async {
        let barrier = Barrier::new(2);
        let mut quitter = Box::pin(barrier.wait());
        assert!(poll_once(quitter.as_mut()).await.is_pending());
        drop(quitter);
        // Had the arrival stayed, this one would complete the group alone.
        let mut alone = pin!(barrier.wait());
        assert!(poll_once(alone.as_mut()).await.is_pending());
        let mut partner = pin!(barrier.wait());
        let leader = match poll_once(partner.as_mut()).await {
            Poll::Ready(result) => result.is_leader(),
            Poll::Pending => panic!("the second arrival did not fill the group"),
        };
        assert!(leader);
        assert!(matches!(poll_once(alone.as_mut()).await, Poll::Ready(r) if !r.is_leader()));
    });
}

#[test]
fn concurrent_initialisers_run_once_and_the_others_wait() {
    run("once cell", async {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (cell, runs) = (cell.clone(), runs.clone());
                runtime::spawn(async move {
                    *cell
                        .get_or_init(|| async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            yield_now().await; // the others arrive meanwhile
                            i
                        })
                        .await
                })
            })
            .collect();
        let mut values = Vec::new();
        for task in tasks {
            values.push(task.await.unwrap());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(values.iter().all(|v| *v == values[0]));
    });
}

#[test]
fn a_cancelled_initialiser_lets_the_next_one_try() {
    run("once cell cancel", async {
        let cell = OnceCell::new();
        let mut first = Box::pin(cell.get_or_init(|| async {
            std::future::pending::<()>().await;
            1
        }));
        assert!(poll_once(first.as_mut()).await.is_pending()); // initialising
        let mut second = pin!(cell.get_or_init(|| async { 2 }));
        assert!(poll_once(second.as_mut()).await.is_pending()); // waits
        drop(first);
        assert!(matches!(poll_once(second.as_mut()).await, Poll::Ready(&2)));
        assert_eq!(cell.get(), Some(&2));
    });
}

#[test]
fn broadcast_fans_out_and_reports_lag() {
    run("broadcast", async {
        let (tx, rx) = broadcast::channel(4);
        let receivers: Vec<_> = (0..10)
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
        for i in 1..=100u64 {
            tx.send(i).unwrap();
            yield_now().await; // the receivers keep up
        }
        drop(tx);
        for task in receivers {
            assert_eq!(task.await.unwrap(), 5050);
        }

        let (tx, mut slow) = broadcast::channel(2);
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        assert_eq!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(8))
        );
        assert_eq!(slow.recv().await, Ok(8));
    });
}

#[test]
fn a_dropped_broadcast_recv_loses_nothing() {
    run("broadcast cancel", async {
        let (tx, mut rx) = broadcast::channel(2);
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_once(recv.as_mut()).await.is_pending());
        }
        tx.send(1).unwrap();
        assert_eq!(rx.recv().await, Ok(1));
    });
}

#[test]
fn watch_changes_coalesce_and_wait_for_finds_the_value() {
    run("watch", async {
        let (tx, mut rx) = watch::channel(0);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        rx.changed().await.unwrap(); // two sends, one change seen
        assert_eq!(*rx.borrow_and_update(), 2);
        let mut changed = pin!(rx.changed());
        assert!(poll_once(changed.as_mut()).await.is_pending());
        assert!(!tx.send_if_modified(|_| false));
        assert!(
            poll_once(changed.as_mut()).await.is_pending(),
            "unmodified: no wakeup"
        );
        tx.send_modify(|v| *v += 1);
        assert!(poll_once(changed.as_mut()).await.is_ready());

        let waiter = runtime::spawn({
            let mut rx = tx.subscribe();
            async move { *rx.wait_for(|v| *v >= 10).await.unwrap() }
        });
        for i in 4..=12 {
            tx.send(i).unwrap();
            yield_now().await;
        }
        assert_eq!(waiter.await.unwrap(), 10);
    });
}

#[test]
fn watch_closed_resolves_when_the_last_receiver_goes() {
    run("watch closed", async {
        let (tx, rx) = watch::channel(());
        let rx2 = rx.clone();
        let closed = runtime::spawn(async move { tx.closed().await });
        yield_now().await;
        drop(rx);
        yield_now().await;
        assert!(!closed.is_finished());
        drop(rx2);
        closed.await.unwrap();
    });
}

#[test]
fn cancelling_a_parent_reaches_every_descendant_on_any_thread() {
    run("cancellation", async {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        let sibling = root.child_token();
        sibling.cancel();
        assert!(!root.is_cancelled(), "a child does not cancel its parent");
        let waiter = runtime::spawn(grandchild.clone().cancelled_owned());
        yield_now().await;
        let canceller = std::thread::spawn(move || root.cancel());
        waiter.await.unwrap();
        assert!(child.is_cancelled() && grandchild.is_cancelled());
        canceller.join().unwrap();
    });
}

#[test]
fn mpsc_permits_hold_slots_and_recv_many_takes_batches() {
    run("mpsc permits", async {
        let (tx, mut rx) = mpsc::channel(2);
        let permit = tx.reserve().await.unwrap();
        tx.send(1).await.unwrap();
        assert_eq!(tx.capacity(), 0);
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        assert_eq!(
            tx.send_timeout(9, Duration::from_millis(5)).await,
            Err(SendTimeoutError::Timeout(9))
        );
        permit.send(2);
        let mut batch = Vec::new();
        assert_eq!(rx.recv_many(&mut batch, 10).await, 2);
        assert_eq!(batch, [1, 2]);
        assert_eq!((rx.len(), rx.capacity(), rx.max_capacity()), (0, 2, 2));
    });
}

#[test]
fn a_dropped_mpsc_recv_loses_nothing() {
    run("mpsc recv cancel", async {
        let (tx, mut rx) = mpsc::channel(1);
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_once(recv.as_mut()).await.is_pending());
        }
        tx.send(5).await.unwrap();
        assert_eq!(rx.recv().await, Some(5));
    });
}

#[test]
fn a_dropped_reserve_gives_its_slot_to_the_next_sender() {
    run("mpsc reserve cancel", async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let mut reserve = Box::pin(tx.reserve());
        assert!(poll_once(reserve.as_mut()).await.is_pending());
        let sender = runtime::spawn({
            let tx = tx.clone();
            async move { tx.send(1).await.unwrap() }
        });
        yield_now().await;
        assert_eq!(rx.recv().await, Some(0)); // grants the slot to `reserve`
        drop(reserve);
        sender.await.unwrap();
        assert_eq!(rx.recv().await, Some(1));
    });
}
