//! [`Permits`]: the fair, first-come-first-served counting semaphore that
//! [`Mutex`](super::Mutex), [`RwLock`](super::RwLock),
//! [`Semaphore`](super::Semaphore), [`OnceCell`](super::OnceCell) and the
//! bounded [`mpsc`](super::mpsc) channel are built on.
//!
//! # How it works
//!
//! The free permits live in one atomic word, beside two flags:
//!
//! ```text
//! state = permits << SHIFT | QUEUED | CLOSED
//! ```
//!
//! * **The fast path** is one compare-and-swap. An acquire that finds
//!   enough permits and nobody queued takes them; a release that finds
//!   nobody queued puts them back. An uncontended lock and unlock is two
//!   atomic operations and never touches the waiters' mutex.
//! * **The slow path** locks the waiters' mutex. An acquire that cannot be
//!   served joins the queue and sets `QUEUED`, taking whatever permits are
//!   free as a down payment. From then on the fast paths are closed (a
//!   set `QUEUED` makes every compare-and-swap either fail or divert), so
//!   every release goes through the mutex and hands its permits straight
//!   to the head of the queue, in order. The last waiter to leave clears
//!   `QUEUED` and puts back what is left.
//!
//! # Invariants
//!
//! * While `QUEUED` is set, the word holds no permits, and only a holder
//!   of the waiters' mutex changes it: the free permits all belong to the
//!   head of the queue, and nobody can overtake it. This is what makes a
//!   large `acquire_many` safe from starvation by a stream of small ones.
//! * `QUEUED` is set exactly while the queue is not empty (both change
//!   only under the mutex).
//! * A waiter leaves the queue only under the mutex, either granted (its
//!   id moves to `granted`) or, on close, failed (its id is in neither).
//!
//! Wakers are collected under the mutex and woken after it is released.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{const_fn_unless_loom, Mutex, MutexGuard};

use super::{lock, update};

/// Set once the semaphore is closed: acquires fail.
const CLOSED: usize = 1;
/// Set while some acquire waits in the queue: the fast paths are closed.
const QUEUED: usize = 2;
/// The flags' bits.
const FLAGS: usize = CLOSED | QUEUED;
/// How far the permit count is shifted past the flags.
const SHIFT: usize = 2;

/// The most permits a semaphore may hold, leaving headroom so that adding
/// two counts never overflows the word.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// The panic message of a semaphore created with, or grown to, more than
/// [`MAX_PERMITS`] permits.
pub(crate) const TOO_MANY_PERMITS: &str =
    "a semaphore may not hold more than Semaphore::MAX_PERMITS (usize::MAX >> 3) permits";

/// The panic message of an [`Acquire`] polled after it completed (only
/// this crate's own futures poll one, and never twice).
const POLLED_AFTER_COMPLETION: &str = "an acquire future was polled after it completed";

/// Why [`Permits::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquire {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free, or earlier acquires are queued.
    NoPermits,
}

/// The semaphore was closed while (or before) an acquire waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// A fair counting semaphore: see the module docs.
pub(crate) struct Permits {
    /// `permits << SHIFT | QUEUED | CLOSED`.
    state: AtomicUsize,
    /// The queue of acquires that wait.
    waiters: Mutex<Waiters>,
}

/// The acquires that wait, behind the mutex.
struct Waiters {
    /// Waiting acquires in arrival order (ids increase).
    queue: BTreeMap<u64, Waiter>,
    /// Acquires that were handed all their permits and have not yet seen
    /// it. A dropped one gives its permits back.
    granted: BTreeSet<u64>,
    /// The id of the next waiter.
    next_id: u64,
}

/// One waiting acquire.
struct Waiter {
    /// Permits it still needs.
    missing: usize,
    /// Permits it was already handed (a down payment on the total).
    assigned: usize,
    /// Its task.
    waker: Waker,
}

impl fmt::Debug for Permits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("Permits")
            .field("available", &(state >> SHIFT))
            .field("queued", &(state & QUEUED != 0))
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}

impl Permits {
    const_fn_unless_loom! {
        /// A semaphore holding `permits` permits.
        ///
        /// # Panics
        ///
        /// If `permits` exceeds [`MAX_PERMITS`] ([`TOO_MANY_PERMITS`]).
        pub(crate) fn new(permits: usize) -> Permits {
            assert!(permits <= MAX_PERMITS, "{}", TOO_MANY_PERMITS);
            Permits {
                state: AtomicUsize::new(permits << SHIFT),
                waiters: Mutex::new(Waiters {
                    queue: BTreeMap::new(),
                    granted: BTreeSet::new(),
                    next_id: 0,
                }),
            }
        }
    }

    /// Locks the waiters.
    fn lock(&self) -> MutexGuard<'_, Waiters> {
        lock(&self.waiters)
    }

    /// Permits free right now (not counting those handed to waiters).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// True once [`close`](Permits::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits if they are free and nobody is queued, without
    /// waiting. Taking zero permits always succeeds on an open semaphore.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquire> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & CLOSED != 0 {
                return Err(TryAcquire::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if state & QUEUED != 0 || state >> SHIFT < n {
                return Err(TryAcquire::NoPermits);
            }
            match self.state.compare_exchange_weak(
                state,
                state - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => state = actual,
            }
        }
    }

    /// Waits for `n` permits, in line behind the acquires already waiting.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            permits: self,
            needed: n,
            progress: Progress::Idle,
        }
    }

    /// Gives back `n` permits: to the queue's head first, in order, the
    /// rest to the free count (which saturates at [`MAX_PERMITS`], so that
    /// this never panics: it runs in `Drop`).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut state = self.state.load(Ordering::Relaxed);
        while state & QUEUED == 0 {
            let permits = ((state >> SHIFT) + n).min(MAX_PERMITS);
            let new = permits << SHIFT | (state & FLAGS);
            match self
                .state
                .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        self.release_slow(n);
    }

    /// [`release`](Permits::release) when acquires are queued.
    #[cold]
    fn release_slow(&self, n: usize) {
        let mut wakers = Vec::new();
        let mut waiters = self.lock();
        self.release_locked(n, &mut waiters, &mut wakers);
        drop(waiters);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Adds `n` permits, like [`release`](Permits::release), but refusing
    /// to go past [`MAX_PERMITS`].
    ///
    /// # Panics
    ///
    /// If the free permits would exceed [`MAX_PERMITS`]
    /// ([`TOO_MANY_PERMITS`]).
    pub(crate) fn add(&self, n: usize) {
        assert!(
            n <= MAX_PERMITS && self.available() + n <= MAX_PERMITS,
            "{}",
            TOO_MANY_PERMITS
        );
        self.release(n);
    }

    /// Takes up to `n` free permits for good; returns how many it took.
    pub(crate) fn forget(&self, n: usize) -> usize {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let taken = (state >> SHIFT).min(n);
            if taken == 0 {
                return 0;
            }
            match self.state.compare_exchange_weak(
                state,
                state - (taken << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return taken,
                Err(actual) => state = actual,
            }
        }
    }

    /// Closes the semaphore: every waiting acquire fails, and so does
    /// every later one. Permits already handed out stay valid, and the
    /// down payments of the failed waiters become free again.
    pub(crate) fn close(&self) {
        let mut waiters = self.lock();
        let queue = std::mem::take(&mut waiters.queue);
        let refunded: usize = queue.values().map(|w| w.assigned).sum();
        // The queue is empty now: clear `QUEUED` and put the refund back.
        self.settle(refunded, CLOSED);
        drop(waiters);
        queue.into_values().for_each(|w| w.waker.wake());
    }

    /// Hands `n` permits to the queue's head, in order, collecting the
    /// wakers of the acquires it completes; once the queue is empty,
    /// clears `QUEUED` and frees what is left.
    fn release_locked(&self, mut n: usize, waiters: &mut Waiters, wakers: &mut Vec<Waker>) {
        while n > 0 {
            let Some(mut head) = waiters.queue.first_entry() else {
                break;
            };
            let waiter = head.get_mut();
            let given = waiter.missing.min(n);
            waiter.missing -= given;
            waiter.assigned += given;
            n -= given;
            if waiter.missing > 0 {
                break;
            }
            let (id, waiter) = head.remove_entry();
            waiters.granted.insert(id);
            wakers.push(waiter.waker);
        }
        if waiters.queue.is_empty() {
            self.settle(n, 0);
        }
    }

    /// With the queue empty (and the waiters' mutex held): clears
    /// `QUEUED`, sets `flags`, and adds `n` free permits.
    fn settle(&self, n: usize, flags: usize) {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let permits = ((state >> SHIFT) + n).min(MAX_PERMITS);
            let new = permits << SHIFT | (state & CLOSED) | flags;
            match self
                .state
                .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }

    /// The slow path of a first poll: under the mutex, either take the
    /// permits after all (nobody queued and enough free), or join the
    /// queue with what is free as a down payment.
    fn enqueue(&self, n: usize, waker: &Waker) -> Result<Option<u64>, Closed> {
        let mut waiters = self.lock();
        let mut state = self.state.load(Ordering::Acquire);
        // Close the fast paths and take every free permit, in one step, so
        // that no release can slip in between.
        let taken = loop {
            if state & CLOSED != 0 {
                return Err(Closed);
            }
            match self.state.compare_exchange_weak(
                state,
                QUEUED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break state >> SHIFT,
                Err(actual) => state = actual,
            }
        };
        if waiters.queue.is_empty() && taken >= n {
            // Enough after all (a release came in meanwhile): reopen.
            self.settle(taken - n, 0);
            return Ok(None);
        }
        // With a queue already there, `taken` is zero (see the invariants).
        let id = waiters.next_id;
        waiters.next_id += 1;
        waiters.queue.insert(
            id,
            Waiter {
                missing: n - taken,
                assigned: taken,
                waker: waker.clone(),
            },
        );
        Ok(Some(id))
    }
}

/// The future of [`Permits::acquire`]: `Ok` once it holds its permits,
/// `Err` if the semaphore was closed first.
///
/// Dropping it gives its place up: its down payment, or all its permits if
/// it was granted them but has not seen it, pass on to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub(crate) struct Acquire<'a> {
    /// The semaphore.
    permits: &'a Permits,
    /// How many permits it wants.
    needed: usize,
    /// How far it got.
    progress: Progress,
}

/// The progress of an [`Acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// Not polled yet.
    Idle,
    /// In the queue under this id (or granted or failed under it, and not
    /// yet polled since).
    Waiting(u64),
    /// Completed: the permits belong to the caller now.
    Done,
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("needed", &self.needed)
            .field("progress", &self.progress)
            .finish()
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // Completing costs one unit of the cooperative budget (a loop that
        // locks and unlocks an uncontended mutex must not starve the
        // thread); once it is spent, nothing is taken and the task yields.
        ready!(coop::poll_proceed(cx));
        match this.progress {
            Progress::Done => panic!("{}", POLLED_AFTER_COMPLETION),
            Progress::Idle => {
                // 1. The fast path.
                match this.permits.try_acquire(this.needed) {
                    Ok(()) => {
                        this.progress = Progress::Done;
                        return Poll::Ready(Ok(()));
                    }
                    Err(TryAcquire::Closed) => {
                        this.progress = Progress::Done;
                        return Poll::Ready(Err(Closed));
                    }
                    Err(TryAcquire::NoPermits) => {}
                }
                // 2. The slow path: served after all, or in line.
                match this.permits.enqueue(this.needed, cx.waker()) {
                    Ok(None) => {
                        this.progress = Progress::Done;
                        Poll::Ready(Ok(()))
                    }
                    Ok(Some(id)) => {
                        this.progress = Progress::Waiting(id);
                        coop::refund();
                        Poll::Pending
                    }
                    Err(Closed) => {
                        this.progress = Progress::Done;
                        Poll::Ready(Err(Closed))
                    }
                }
            }
            Progress::Waiting(id) => {
                let mut waiters = this.permits.lock();
                if let Some(waiter) = waiters.queue.get_mut(&id) {
                    // Still in line: refresh the waker.
                    let replaced = update(&mut waiter.waker, cx.waker());
                    drop(waiters);
                    drop(replaced);
                    coop::refund();
                    return Poll::Pending;
                }
                let granted = waiters.granted.remove(&id);
                drop(waiters);
                this.progress = Progress::Done;
                Poll::Ready(if granted { Ok(()) } else { Err(Closed) })
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Progress::Waiting(id) = self.progress else {
            return;
        };
        let mut wakers = Vec::new();
        let mut waiters = self.permits.lock();
        let (refund, own) = match waiters.queue.remove(&id) {
            Some(waiter) => (waiter.assigned, Some(waiter.waker)),
            None if waiters.granted.remove(&id) => (self.needed, None),
            // Failed by `close`: nothing to give back.
            None => (0, None),
        };
        // Passes the permits on (and, if this was the last waiter, reopens
        // the fast paths even when there is nothing to pass).
        self.permits
            .release_locked(refund, &mut waiters, &mut wakers);
        drop(waiters);
        // Its own waker is only dropped, not woken.
        drop(own);
        wakers.into_iter().for_each(Waker::wake);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_util::{poll_with, Counter};
    use super::*;

    #[test]
    fn the_fast_path_takes_and_gives_back() {
        let permits = Permits::new(2);
        assert_eq!(permits.try_acquire(2), Ok(()));
        assert_eq!(permits.try_acquire(1), Err(TryAcquire::NoPermits));
        permits.release(2);
        assert_eq!(permits.available(), 2);
    }

    #[test]
    fn a_queued_acquire_takes_a_down_payment_and_blocks_newcomers() {
        let permits = Permits::new(3);
        permits.try_acquire(2).unwrap();
        let big = Counter::new();
        let mut want_three = permits.acquire(3);
        assert!(poll_with(&mut want_three, &big).is_pending());
        // The one free permit went to the waiter.
        assert_eq!(permits.available(), 0);
        // A small newcomer queues behind instead of overtaking.
        let small = Counter::new();
        let mut want_one = permits.acquire(1);
        assert!(poll_with(&mut want_one, &small).is_pending());
        assert_eq!(permits.try_acquire(1), Err(TryAcquire::NoPermits));
        permits.release(1);
        assert_eq!((big.wakes(), small.wakes()), (0, 0));
        permits.release(1);
        assert_eq!((big.wakes(), small.wakes()), (1, 0));
        assert_eq!(poll_with(&mut want_three, &big), Poll::Ready(Ok(())));
        permits.release(3);
        assert_eq!(small.wakes(), 1);
        assert_eq!(poll_with(&mut want_one, &small), Poll::Ready(Ok(())));
        permits.release(1);
        assert_eq!(permits.available(), 3);
        assert_eq!(permits.state.load(Ordering::Relaxed) & QUEUED, 0);
    }

    #[test]
    fn a_dropped_waiter_passes_its_down_payment_on() {
        let permits = Permits::new(2);
        permits.try_acquire(1).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut first = permits.acquire(2);
        let mut second = permits.acquire(1);
        assert!(poll_with(&mut first, &a).is_pending());
        assert!(poll_with(&mut second, &b).is_pending());
        drop(first);
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut second, &b), Poll::Ready(Ok(())));
        permits.release(1);
        permits.release(1);
        assert_eq!(permits.available(), 2);
    }

    #[test]
    fn a_dropped_granted_waiter_passes_its_permits_on() {
        let permits = Permits::new(1);
        permits.try_acquire(1).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut first = permits.acquire(1);
        let mut second = permits.acquire(1);
        assert!(poll_with(&mut first, &a).is_pending());
        assert!(poll_with(&mut second, &b).is_pending());
        permits.release(1);
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        drop(first);
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut second, &b), Poll::Ready(Ok(())));
    }

    #[test]
    fn the_last_waiter_leaving_reopens_the_fast_path() {
        let permits = Permits::new(1);
        permits.try_acquire(1).unwrap();
        let a = Counter::new();
        let mut waiting = permits.acquire(1);
        assert!(poll_with(&mut waiting, &a).is_pending());
        drop(waiting);
        permits.release(1);
        assert_eq!(permits.try_acquire(1), Ok(()));
    }

    #[test]
    fn close_fails_waiters_but_not_granted_ones() {
        let permits = Permits::new(1);
        permits.try_acquire(1).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut first = permits.acquire(1);
        let mut second = permits.acquire(1);
        assert!(poll_with(&mut first, &a).is_pending());
        assert!(poll_with(&mut second, &b).is_pending());
        permits.release(1); // granted to `first`
        permits.close();
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut first, &a), Poll::Ready(Ok(())));
        assert_eq!(poll_with(&mut second, &b), Poll::Ready(Err(Closed)));
        assert_eq!(permits.try_acquire(0), Err(TryAcquire::Closed));
    }

    #[test]
    fn releases_saturate_instead_of_overflowing() {
        let permits = Permits::new(MAX_PERMITS);
        permits.release(10);
        assert_eq!(permits.available(), MAX_PERMITS);
    }

    #[test]
    #[should_panic(expected = "MAX_PERMITS")]
    fn adding_past_the_maximum_panics() {
        Permits::new(MAX_PERMITS).add(1);
    }
}
