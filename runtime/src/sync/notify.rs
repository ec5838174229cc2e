//! [`Notify`]: wakes tasks waiting for an event, without carrying data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::{const_fn_unless_loom, Mutex, MutexGuard};

use super::{lock, update};

/// Notifies one task, or all of them, that something happened.
///
/// A task waits with [`notified().await`](Notify::notified). Then:
///
/// * [`notify_one`](Notify::notify_one) wakes one waiting task (the one
///   that has waited longest). If no task is waiting, it stores a
///   **permit** instead, and the next `notified().await` completes at once.
///   At most one permit is stored, however often `notify_one` is called.
/// * [`notify_waiters`](Notify::notify_waiters) wakes every task that is
///   waiting, and every [`Notified`] future created before the call even
///   if not polled yet. It stores no permit.
///
/// `Notify` is `Send + Sync`: share it through an `Arc` and notify from any
/// thread.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Notify;
///
/// runtime::block_on(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = notify.clone();
///     let task = runtime::spawn(async move {
///         waiter.notified().await;
///         "woken"
///     });
///     let thread = std::thread::spawn(move || notify.notify_one());
///     assert_eq!(task.await.unwrap(), "woken");
///     thread.join().unwrap();
/// });
/// ```
pub struct Notify {
    /// Everything, behind one lock.
    state: Mutex<State>,
}

/// The state of a [`Notify`].
struct State {
    /// A stored `notify_one` that found nobody waiting.
    permit: bool,
    /// Registered waiters not yet notified, in arrival order (ids increase).
    waiting: BTreeMap<u64, Waker>,
    /// Waiters that `notify_one` chose and that have not yet seen it. If
    /// one is dropped first, it passes the notification on.
    chosen: BTreeSet<u64>,
    /// The id of the next waiter.
    next_id: u64,
    /// How many times `notify_waiters` was called: a [`Notified`] created
    /// before a call completes even if it was not waiting yet.
    notify_waiters_calls: u64,
}

impl State {
    /// Wakes the first waiter, or stores the permit. Returns the waker to
    /// wake after unlocking.
    fn notify_one(&mut self) -> Option<Waker> {
        match self.waiting.pop_first() {
            Some((id, waker)) => {
                self.chosen.insert(id);
                Some(waker)
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiting", &state.waiting.len())
            .finish()
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl Notify {
    const_fn_unless_loom! {
        /// A `Notify` with no permit and no waiters.
        ///
        /// # Examples
        ///
        /// ```
        /// static READY: runtime::sync::Notify = runtime::sync::Notify::new();
        /// READY.notify_one();
        /// runtime::block_on(READY.notified()); // uses the stored permit
        /// ```
        pub fn new() -> Notify {
            Notify {
                state: Mutex::new(State {
                    permit: false,
                    waiting: BTreeMap::new(),
                    chosen: BTreeSet::new(),
                    next_id: 0,
                    notify_waiters_calls: 0,
                }),
            }
        }
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Waits for a notification.
    ///
    /// The future completes on the stored permit, if there is one, or when
    /// [`notify_one`](Notify::notify_one) picks it, or at
    /// [`notify_waiters`](Notify::notify_waiters) (including a call made
    /// after this method but before the first poll). It joins the line of
    /// waiters at its first poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// runtime::block_on(async {
    ///     let notify = Notify::new();
    ///     let notified = notify.notified();
    ///     notify.notify_waiters(); // counts: `notified` was created before
    ///     notified.await;
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        let calls = self.lock().notify_waiters_calls;
        Notified {
            notify: self,
            state: Waiting::Created(calls),
        }
    }

    /// Wakes the task that has waited longest, or stores a permit for the
    /// next waiter if none is waiting (at most one permit is stored).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// runtime::block_on(async {
    ///     let notify = Notify::new();
    ///     notify.notify_one();
    ///     notify.notify_one(); // still one permit
    ///     notify.notified().await; // completes at once
    /// });
    /// ```
    pub fn notify_one(&self) {
        let waker = self.lock().notify_one();
        super::wake(waker);
    }

    /// Wakes every waiting task; stores no permit.
    ///
    /// "Waiting" covers every [`Notified`] future created before this call,
    /// polled or not.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use runtime::sync::Notify;
    ///
    /// runtime::block_on(async {
    ///     let notify = Rc::new(Notify::new());
    ///     let tasks: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let notify = notify.clone();
    ///             runtime::spawn(async move { notify.notified().await })
    ///         })
    ///         .collect();
    ///     runtime::task::yield_now().await; // let the tasks start waiting
    ///     notify.notify_waiters();
    ///     for task in tasks {
    ///         task.await.unwrap();
    ///     }
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut state = self.lock();
        state.notify_waiters_calls += 1;
        let waiting = mem::take(&mut state.waiting);
        drop(state);
        waiting.into_values().for_each(Waker::wake);
    }
}

/// The future of [`Notify::notified`].
///
/// Dropping it withdraws its waker. If `notify_one` had already chosen it,
/// the notification passes to the next waiter (or becomes the permit), so
/// it is never lost.
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    /// The `Notify` waited on.
    notify: &'a Notify,
    /// How far this future got.
    state: Waiting,
}

/// The progress of a [`Notified`].
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// Not polled yet; holds the `notify_waiters` count at creation.
    Created(u64),
    /// Registered under this id.
    Registered(u64),
    /// Completed.
    Done,
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let Waiting::Done = this.state {
            return Poll::Ready(());
        }
        // Completing costs one unit of the cooperative budget (a loop of
        // `notify_one` and `notified` must not starve the thread); once it
        // is spent, nothing is taken and the task yields.
        ready!(coop::poll_proceed(cx));
        let mut state = this.notify.lock();
        match this.state {
            Waiting::Done => Poll::Ready(()),
            Waiting::Created(calls) => {
                // 1. A `notify_waiters` since creation, or the permit,
                //    completes it at once.
                if state.notify_waiters_calls != calls || mem::take(&mut state.permit) {
                    this.state = Waiting::Done;
                    return Poll::Ready(());
                }
                // 2. Otherwise join the line.
                let id = state.next_id;
                state.next_id += 1;
                state.waiting.insert(id, cx.waker().clone());
                this.state = Waiting::Registered(id);
                coop::refund();
                Poll::Pending
            }
            Waiting::Registered(id) => match state.waiting.get_mut(&id) {
                // Still in line: refresh the waker.
                Some(stored) => {
                    let replaced = update(stored, cx.waker());
                    drop(state);
                    drop(replaced);
                    coop::refund();
                    Poll::Pending
                }
                // Taken out of line by `notify_one` or `notify_waiters`.
                None => {
                    state.chosen.remove(&id);
                    this.state = Waiting::Done;
                    Poll::Ready(())
                }
            },
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Waiting::Registered(id) = self.state else {
            return;
        };
        let mut state = self.notify.lock();
        let removed = state.waiting.remove(&id);
        // Chosen by `notify_one` but never completed: pass it on.
        let next = if removed.is_none() && state.chosen.remove(&id) {
            state.notify_one()
        } else {
            None
        };
        drop(state);
        drop(removed);
        super::wake(next);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_util::{poll_with, Counter};
    use super::*;

    use std::sync::Arc;

    #[test]
    fn notify_one_wakes_the_longest_waiting() {
        let notify = Notify::new();
        let (a, b) = (Counter::new(), Counter::new());
        let mut first = notify.notified();
        let mut second = notify.notified();
        assert!(poll_with(&mut first, &a).is_pending());
        assert!(poll_with(&mut second, &b).is_pending());
        notify.notify_one();
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        assert!(poll_with(&mut first, &a).is_ready());
        assert!(poll_with(&mut second, &b).is_pending());
        assert!(!notify.lock().permit);
    }

    #[test]
    fn a_dropped_chosen_waiter_passes_the_notification_on() {
        let notify = Notify::new();
        let (a, b) = (Counter::new(), Counter::new());
        let mut first = notify.notified();
        let mut second = notify.notified();
        assert!(poll_with(&mut first, &a).is_pending());
        assert!(poll_with(&mut second, &b).is_pending());
        notify.notify_one();
        drop(first);
        assert_eq!(b.wakes(), 1);
        assert!(poll_with(&mut second, &b).is_ready());
        assert!(notify.lock().chosen.is_empty());
    }

    #[test]
    fn a_dropped_chosen_last_waiter_leaves_the_permit() {
        let notify = Notify::new();
        let a = Counter::new();
        let mut only = notify.notified();
        assert!(poll_with(&mut only, &a).is_pending());
        notify.notify_one();
        drop(only);
        assert!(notify.lock().permit);
    }

    #[test]
    fn a_dropped_waiter_releases_its_waker() {
        let notify = Notify::new();
        let a = Counter::new();
        let mut notified = notify.notified();
        assert!(poll_with(&mut notified, &a).is_pending());
        assert_eq!(Arc::strong_count(&a), 2);
        drop(notified);
        assert_eq!(Arc::strong_count(&a), 1);
        assert!(notify.lock().waiting.is_empty());
    }

    #[test]
    fn notify_waiters_wakes_all_and_stores_no_permit() {
        let notify = Notify::new();
        let counters: Vec<_> = (0..3).map(|_| Counter::new()).collect();
        let mut futures: Vec<_> = counters.iter().map(|_| notify.notified()).collect();
        for (f, c) in futures.iter_mut().zip(&counters) {
            assert!(poll_with(f, c).is_pending());
        }
        notify.notify_waiters();
        for (f, c) in futures.iter_mut().zip(&counters) {
            assert_eq!(c.wakes(), 1);
            assert!(poll_with(f, c).is_ready());
        }
        let late = Counter::new();
        assert!(poll_with(&mut notify.notified(), &late).is_pending());
    }

    #[test]
    fn notify_is_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Notify>();
        assert_send_sync::<Notified<'static>>();
    }
}
