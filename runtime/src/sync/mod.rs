//! Synchronisation between tasks and threads, with tokio's names and
//! shapes:
//!
//! * channels: [`oneshot`] (one value), [`mpsc`] (many producers, one
//!   consumer, bounded or not), [`broadcast`] (every receiver sees every
//!   value) and [`watch`] (the latest value, and change notification);
//! * locks and limits: [`Mutex`] and [`RwLock`], whose guards may be held
//!   across `.await`, and [`Semaphore`];
//! * meeting points and signals: [`Notify`], [`Barrier`], [`OnceCell`]
//!   (async initialisation, once) and [`CancellationToken`] (a tree of
//!   stop signals).
//!
//! The runtime is single-threaded, but the users of a primitive may live
//! anywhere: a plain `std::thread` can feed a task through an
//! [`mpsc::Sender`], answer it through a [`oneshot::Sender`], or share a
//! [`Mutex`] with tasks on other runtimes. So every type here is
//! thread-safe (`Send`, and `Sync` where it makes sense, when the values
//! carried are `Send`).
//!
//! # How they work
//!
//! Each primitive keeps its state behind one `std::sync::Mutex`, and keeps
//! the tasks waiting on it as `std::task::Waker`s, which are `Send + Sync`.
//! Two rules keep this simple and deadlock-free:
//!
//! * **Wake after unlocking.** An operation collects the wakers it must
//!   fire while it holds the lock, releases the lock, and only then wakes
//!   them. A waker may run arbitrary code; so may a value's `Drop`, so
//!   values are also dropped only after the lock is released.
//! * **Every waiter can be withdrawn.** A future that registered a waker
//!   removes it when it is dropped, so an abandoned `send`, `lock` or
//!   `acquire` leaks nothing. If the abandoned future had already been
//!   chosen to go next (a free channel slot, a lock, permits, a
//!   `notify_one`), it passes that on to the next waiter, so no wakeup is
//!   ever lost.
//!
//! The locks and the semaphore share one fair semaphore (`permits.rs`)
//! whose uncontended path is a single compare-and-swap on an atomic word
//! and never takes its mutex; [`broadcast`] and [`watch`] keep one waker
//! slot per receiver (`wait_list.rs`). Every wait charges the cooperative
//! budget when it completes, so a loop that always finds its lock free
//! still lets the other tasks and timers run.
//!
//! The primitives take their `Mutex`, atomics and cells from the crate's
//! `loom` module, so that `tests/loom_sync.rs` can check their hand-offs
//! under every interleaving (see `src/loom.rs`).
//!
//! # Examples
//!
//! A plain thread computes, a task on the runtime waits for the answer:
//!
//! ```
//! use runtime::sync::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! let worker = std::thread::spawn(move || {
//!     let _ = tx.send((1..=10).sum::<u32>());
//! });
//! let sum = runtime::block_on(async { rx.await.unwrap() });
//! assert_eq!(sum, 55);
//! worker.join().unwrap();
//! ```

mod barrier;
pub mod broadcast;
mod cancellation;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod permits;
mod rwlock;
mod semaphore;
mod wait_list;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use cancellation::{
    CancellationToken, DropGuard, WaitForCancellationFuture, WaitForCancellationFutureOwned,
};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::loom::thread::{self, Thread};
use crate::loom::{Mutex as StateMutex, MutexGuard as StateGuard};

use crate::executor::context;

/// The panic message of `blocking_send` and `blocking_recv` on a thread
/// that is running a runtime.
const BLOCKING_IN_RUNTIME: &str = "a blocking channel operation was called on a thread that is \
     running a runtime: it would block the thread that drives the runtime's tasks; \
     use the `async` method (`send(..).await`, `recv().await`) instead";

/// Locks `mutex`, ignoring poisoning.
///
/// This module never panics while holding one of its locks (user code,
/// wakers and `Drop` impls all run after unlocking), so a poisoned lock can
/// only mean a panic in the allocator; the state is still consistent.
fn lock<T>(mutex: &StateMutex<T>) -> StateGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores `waker` in `slot` unless the waker already there wakes the same
/// task. Returns the replaced waker, which the caller drops after unlocking.
fn register(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(stored) if stored.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// Like [`register`], for a waker kept in a collection.
fn update(stored: &mut Waker, waker: &Waker) -> Option<Waker> {
    if stored.will_wake(waker) {
        None
    } else {
        Some(std::mem::replace(stored, waker.clone()))
    }
}

/// Wakes `waker`, if any. Call it only after releasing the lock.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A waker that unparks the thread that created it.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Checks that this thread may block: it is not running a runtime.
///
/// # Panics
///
/// On a thread that is running a runtime ([`BLOCKING_IN_RUNTIME`]): that
/// thread must keep driving the tasks a blocking call may be waiting for.
fn assert_blocking_allowed() {
    assert!(context::try_current().is_none(), "{}", BLOCKING_IN_RUNTIME);
}

/// Runs `future` to completion on this plain thread, parking the thread
/// while the future is pending. Backs the `blocking_*` channel methods.
///
/// Parking cannot lose a wakeup: an `unpark` that comes before the `park`
/// makes the `park` return at once.
///
/// # Panics
///
/// On a thread that is running a runtime (see [`assert_blocking_allowed`]).
fn block_on_thread<F: Future>(future: F) -> F::Output {
    assert_blocking_allowed();
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // Spurious unparks only cause another poll.
        thread::park();
    }
}

/// Helpers for polling futures by hand in unit tests.
#[cfg(all(test, not(loom)))]
mod test_util {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// A waker that counts how often it was woken.
    #[derive(Default)]
    pub(super) struct Counter {
        /// Wakes so far.
        wakes: AtomicUsize,
    }

    impl Counter {
        /// A fresh counter.
        pub(super) fn new() -> Arc<Counter> {
            Arc::new(Counter::default())
        }

        /// Wakes so far.
        pub(super) fn wakes(&self) -> usize {
            self.wakes.load(Ordering::SeqCst)
        }
    }

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `future` once with `counter` as its waker.
    pub(super) fn poll_with<F: Future + Unpin>(
        future: &mut F,
        counter: &Arc<Counter>,
    ) -> Poll<F::Output> {
        let waker = Waker::from(counter.clone());
        Pin::new(future).poll(&mut Context::from_waker(&waker))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn block_on_thread_waits_for_another_thread() {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || {
            thread::sleep(std::time::Duration::from_millis(10));
            tx.send(7).unwrap();
        });
        assert_eq!(block_on_thread(rx), Ok(7));
        sender.join().unwrap();
    }

    #[test]
    #[should_panic(expected = "blocking channel operation")]
    fn block_on_thread_refuses_a_runtime_thread() {
        crate::block_on(async {
            block_on_thread(async {});
        });
    }
}
