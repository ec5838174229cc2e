//! A channel that holds one value and tells receivers when it changes:
//! [`channel`], [`Sender`], [`Receiver`].
//!
//! Receivers do not queue values: they see the latest one, whenever they
//! look ([`Receiver::borrow`]), and can wait for the next change
//! ([`Receiver::changed`]). Each receiver remembers which version it has
//! seen, so a change made while it was busy is not missed, and several
//! changes made meanwhile are seen as one. Good for configuration, state
//! ("shutting down", "connected") and progress.
//!
//! Every type here is `Send + Sync` when `T: Send + Sync`.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::watch;
//!
//! runtime::block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let task = runtime::spawn(async move {
//!         rx.wait_for(|state| *state == "ready").await.is_ok()
//!     });
//!     tx.send("loading").unwrap();
//!     tx.send("ready").unwrap();
//!     assert!(task.await.unwrap());
//! });
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use super::wait_list::WaitList;
use super::{lock, update};

pub use error::{RecvError, SendError};

/// The low bit of `Shared::version`: set once every sender is gone.
const CLOSED: u64 = 1;
/// One version step, above the closed bit.
const STEP: u64 = 2;

/// Errors of the watch channel.
pub mod error {
    use std::fmt;

    /// The error of [`Sender::send`](super::Sender::send): there is no
    /// receiver. It gives the value back (it was not stored).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// drop(rx);
    /// assert_eq!(tx.send(1).unwrap_err().0, 1);
    /// assert_eq!(*tx.borrow(), 0);
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// The error of waiting on a [`Receiver`](super::Receiver): every
    /// sender is gone, so the value will not change again.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     drop(tx);
    ///     assert_eq!(rx.changed().await.unwrap_err().to_string(), "channel closed");
    /// });
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

/// Creates a watch channel holding `init`. The receiver starts having seen
/// it.
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// let (tx, rx) = watch::channel(1);
/// assert_eq!(*rx.borrow(), 1);
/// assert!(!rx.has_changed().unwrap());
/// tx.send(2).unwrap();
/// assert!(rx.has_changed().unwrap());
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let mut waiters = WaitList::default();
    let slot = waiters.add();
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicU64::new(0),
        state: Mutex::new(State {
            senders: 1,
            receivers: 1,
            waiters,
            closed_waiters: BTreeMap::new(),
            next_id: 0,
        }),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    let receiver = Receiver {
        shared,
        seen: 0,
        slot,
    };
    (sender, receiver)
}

/// What the senders and receivers share.
struct Shared<T> {
    /// The value.
    value: RwLock<T>,
    /// `version * STEP | CLOSED`. The version is bumped while the value's
    /// write lock is held, so a reader holding the read lock sees the
    /// version of the value it reads.
    version: AtomicU64,
    /// Counts and waiters.
    state: Mutex<State>,
}

/// The counts and waiters of a watch channel.
struct State {
    /// Live senders.
    senders: usize,
    /// Live receivers.
    receivers: usize,
    /// The receivers' wakers.
    waiters: WaitList,
    /// Tasks awaiting [`Sender::closed`], by id.
    closed_waiters: BTreeMap<u64, Waker>,
    /// The next id in `closed_waiters`.
    next_id: u64,
}

impl<T> Shared<T> {
    /// Locks the counts and waiters.
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Read access to the value (a panic in a `send_modify` closure leaves
    /// it modified, not poisoned).
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `modify` on the value under the write lock; if it says it
    /// changed the value, bumps the version and wakes every waiting
    /// receiver.
    fn modify(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let mut value = self.value.write().unwrap_or_else(PoisonError::into_inner);
        let modified = modify(&mut value);
        if modified {
            self.version.fetch_add(STEP, Ordering::Release);
        }
        drop(value);
        if modified {
            self.wake_receivers();
        }
        modified
    }

    /// Wakes every waiting receiver (after a change, or the close).
    fn wake_receivers(&self) {
        let mut wakers = Vec::new();
        let mut state = self.lock();
        state.waiters.take_all(&mut wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The current version, without the closed bit.
    fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire) / STEP
    }
}

/// A borrow of a watch channel's value, from `borrow` or
/// `borrow_and_update`. It holds the value's read lock: senders wait until
/// it is dropped, so keep it short, and never hold it across an `.await`
/// (a sender on the same thread would deadlock).
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// let (tx, mut rx) = watch::channel(vec![1]);
/// tx.send(vec![1, 2]).unwrap();
/// let value = rx.borrow_and_update();
/// assert!(value.has_changed());
/// assert_eq!(*value, [1, 2]);
/// ```
pub struct Ref<'a, T> {
    /// The read lock.
    guard: RwLockReadGuard<'a, T>,
    /// Whether the value is newer than what the receiver had seen.
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// True if this value is one the receiver had not seen before this
    /// borrow (always false for [`Sender::borrow`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(0);
    /// assert!(!rx.borrow().has_changed());
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Changes a watch channel's value; created by [`channel`]. Clone it for
/// more writers: receivers see the channel closed once every sender is
/// gone.
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// let (tx, rx) = watch::channel(0);
/// tx.send_modify(|n| *n += 5);
/// assert_eq!(*rx.borrow(), 5);
/// ```
pub struct Sender<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.shared.version.fetch_or(CLOSED, Ordering::Release);
            self.shared.wake_receivers();
        }
    }
}

impl<T> Sender<T> {
    /// Replaces the value and notifies every receiver, if there is at least
    /// one.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value, which is *not* stored, if there is no
    /// receiver (use [`send_replace`](Sender::send_replace) to store it
    /// anyway).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel("a");
    /// tx.send("b").unwrap();
    /// assert_eq!(*rx.borrow(), "b");
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.lock().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value, receivers or not, and notifies them; returns the
    /// old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        let mut old = None;
        self.shared.modify(|current| {
            old = value.take().map(|new| std::mem::replace(current, new));
            true
        });
        old.expect("the modify closure ran")
    }

    /// Modifies the value in place and notifies every receiver.
    ///
    /// `modify` runs with the value's write lock held: it must not use the
    /// same channel. If it panics, the value stays as far as it got and no
    /// receiver is notified.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.shared.modify(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place, and notifies the receivers only if
    /// `modify` returns true. Returns what `modify` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(1);
    /// let changed = tx.send_if_modified(|n| {
    ///     if *n == 1 {
    ///         return false; // leave it, tell nobody
    ///     }
    ///     *n = 1;
    ///     true
    /// });
    /// assert!(!changed);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.modify(modify)
    }

    /// Borrows the current value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::watch::channel(3);
    /// assert_eq!(*tx.borrow(), 3);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver, which starts having seen the current value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        let slot = state.waiters.add();
        drop(state);
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version(),
            slot,
        }
    }

    /// How many receivers are alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(());
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// How many senders are alive (this one and its clones).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::watch::channel(());
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.lock().senders
    }

    /// True if there is no receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until there is no receiver.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only withdraws its waker.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// runtime::block_on(async {
    ///     let (tx, rx) = watch::channel(0);
    ///     runtime::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    pub async fn closed(&self) {
        Closed {
            shared: &self.shared,
            waiter: None,
        }
        .await
    }
}

/// The future of [`Sender::closed`].
struct Closed<'a, T> {
    /// The channel.
    shared: &'a Shared<T>,
    /// Its id in `closed_waiters`, once registered.
    waiter: Option<u64>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        ready!(coop::poll_proceed(cx));
        let mut state = this.shared.lock();
        if state.receivers == 0 {
            if let Some(id) = this.waiter.take() {
                let removed = state.closed_waiters.remove(&id);
                drop(state);
                drop(removed);
            }
            return Poll::Ready(());
        }
        let replaced = match this.waiter.and_then(|id| state.closed_waiters.get_mut(&id)) {
            Some(stored) => update(stored, cx.waker()),
            None => {
                let id = state.next_id;
                state.next_id += 1;
                state.closed_waiters.insert(id, cx.waker().clone());
                this.waiter = Some(id);
                None
            }
        };
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter.take() {
            let removed = self.shared.lock().closed_waiters.remove(&id);
            drop(removed);
        }
    }
}

/// Watches a watch channel's value; created by [`channel`],
/// [`Sender::subscribe`] or cloning (a clone has seen what the original
/// has).
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = watch::channel(0);
///     runtime::spawn(async move {
///         for i in 1..=3 {
///             tx.send(i).unwrap();
///             runtime::task::yield_now().await;
///         }
///     });
///     while rx.changed().await.is_ok() {
///         if *rx.borrow_and_update() == 3 {
///             break;
///         }
///     }
///     assert_eq!(*rx.borrow(), 3);
/// });
/// ```
pub struct Receiver<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    seen: u64,
    /// This receiver's slot in the wait list.
    slot: usize,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        let mut state = self.shared.lock();
        state.receivers += 1;
        let slot = state.waiters.add();
        drop(state);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            slot,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receivers -= 1;
        let waker = state.waiters.remove(self.slot);
        let closed = if state.receivers == 0 {
            std::mem::take(&mut state.closed_waiters)
        } else {
            BTreeMap::new()
        };
        drop(state);
        drop(waker);
        closed.into_values().for_each(Waker::wake);
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value, without marking it seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow(), 2);
    /// assert!(rx.has_changed().unwrap()); // still unseen
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let has_changed = self.shared.version() != self.seen;
        Ref { guard, has_changed }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 2);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        // Under the read lock, the version matches the value read.
        let version = self.shared.version();
        let has_changed = version != self.seen;
        self.seen = version;
        Ref { guard, has_changed }
    }

    /// True if the value changed since this receiver last marked it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::watch::channel(1);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.version.load(Ordering::Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state / STEP != self.seen)
    }

    /// Marks the current value unseen, so that the next
    /// [`changed`](Receiver::changed) completes at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, mut rx) = runtime::sync::watch::channel(1);
    /// rx.mark_changed();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// ```
    pub fn mark_changed(&mut self) {
        // Versions are below `u64::MAX / 2`, so one below whatever was seen
        // differs from every version to come.
        self.seen = self.seen.wrapping_sub(1);
    }

    /// Marks the current value seen, without borrowing it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// rx.mark_unchanged();
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version();
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    /// Completes at once if the current value is unseen (even if every
    /// sender is gone since).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone and the current value was
    /// seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is marked seen until the future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     std::thread::spawn(move || tx.send(1).unwrap());
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    /// });
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        changed(&self.shared, &mut self.seen, self.slot).await
    }

    /// Waits until the value satisfies `predicate`, and returns a borrow
    /// of it (marked seen). The current value is checked first; then each
    /// new one.
    ///
    /// `predicate` runs with the value's read lock held: it must not use
    /// the same channel's sender.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone before a value satisfying
    /// `predicate` was seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing; the values it
    /// rejected are marked seen.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     runtime::spawn(async move {
    ///         for i in 1..10 {
    ///             tx.send(i).unwrap();
    ///             runtime::task::yield_now().await;
    ///         }
    ///     });
    ///     let value = rx.wait_for(|n| *n >= 5).await.unwrap();
    ///     assert!(*value >= 5);
    /// });
    /// ```
    // The read guard is dropped before the only await: clippy sees the
    // guard's variable live across it because one path returns it.
    #[allow(clippy::await_holding_lock)]
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            let guard = self.shared.read();
            let version = self.shared.version();
            let has_changed = version != self.seen;
            self.seen = version;
            // After the close, only a last unseen value is worth a look.
            if (!closed || has_changed) && predicate(&guard) {
                return Ok(Ref { guard, has_changed });
            }
            drop(guard);
            if closed {
                return Err(RecvError(()));
            }
            // Borrows only the fields `guard` does not, so that the
            // borrow returned above may outlive the loop.
            closed = changed(&self.shared, &mut self.seen, self.slot)
                .await
                .is_err();
        }
    }
}

/// Waits for a version past `*seen` (see [`Receiver::changed`]).
fn changed<'a, T>(shared: &'a Shared<T>, seen: &'a mut u64, slot: usize) -> Changed<'a, T> {
    Changed {
        shared,
        seen,
        slot,
        registered: false,
    }
}

/// The future of [`Receiver::changed`].
struct Changed<'a, T> {
    /// The channel.
    shared: &'a Shared<T>,
    /// The receiver's seen version.
    seen: &'a mut u64,
    /// The receiver's slot in the wait list.
    slot: usize,
    /// Whether its waker may be in its slot.
    registered: bool,
}

impl<T> Changed<'_, T> {
    /// Completes if the version moved past what was seen (marking it
    /// seen), or fails if the channel is closed.
    fn check(&mut self) -> Option<Result<(), RecvError>> {
        let state = self.shared.version.load(Ordering::Acquire);
        if state / STEP != *self.seen {
            *self.seen = state / STEP;
            return Some(Ok(()));
        }
        if state & CLOSED != 0 {
            return Some(Err(RecvError(())));
        }
        None
    }
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // A change (or the end) costs one unit of the cooperative budget.
        ready!(coop::poll_proceed(cx));
        if let Some(result) = this.check() {
            return Poll::Ready(result);
        }
        // Register, then look again: a sender bumps the version before it
        // locks the state to wake, so either it finds this waker or this
        // look finds its version.
        let mut state = this.shared.lock();
        let replaced = state.waiters.register(this.slot, cx.waker());
        this.registered = true;
        drop(state);
        drop(replaced);
        if let Some(result) = this.check() {
            return Poll::Ready(result);
        }
        coop::refund();
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            let waker = self.shared.lock().waiters.withdraw(self.slot);
            drop(waker);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ends_are_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Sender<String>>();
        assert_send_sync::<Receiver<String>>();
    }

    #[test]
    fn a_dropped_receiver_frees_its_slot() {
        let (tx, rx) = channel(0);
        for _ in 0..10 {
            drop(tx.subscribe());
        }
        drop(rx);
        let _rx = tx.subscribe();
        assert!(tx.shared.lock().waiters.is_empty());
    }
}
