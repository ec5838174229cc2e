//! The cooperative budget: how a task that always finds work is made to
//! yield.
//!
//! A single-threaded runtime has no preemption: a task that is polled runs
//! until it returns `Pending`. A task reading a socket whose peer never
//! stops sending, or draining a channel that never empties, would never
//! return `Pending` by itself, and every other task, timer and socket on
//! the thread would starve.
//!
//! So each poll of a task gets a budget of [`POLL_BUDGET`] operations.
//! Every operation that could be ready again and again charges one unit
//! when it is about to complete: socket and fd I/O, channel sends and
//! receives, `Notify`, join handles, timers that are already due, stdin,
//! the io toolkit's in-memory streams. Once the budget is spent, the next
//! such operation returns `Pending` instead, without doing anything (so it
//! loses nothing and can simply be polled again), and the task is
//! *deferred*: woken only after the runtime's next reactor turn, so that it
//! runs after every task that turn makes ready (as `yield_now` does).
//!
//! An operation that is not ready costs nothing: it parks, and parking
//! yields by itself.
//!
//! The budget is a thread-local counter, so that channels, which may be
//! used from any thread and from any executor, can charge it without
//! knowing which runtime polls them. Outside a runtime's poll it is
//! unconstrained.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::executor::context;

/// How many budgeted operations a task may perform in one poll; the next
/// one makes it yield.
pub(crate) const POLL_BUDGET: u32 = 128;

/// The counter's value when nothing is budgeted: outside a poll, or inside
/// [`unconstrained`]. It counts down like any other, but would take four
/// billion operations to run out; if it ever does, it starts again.
const UNCONSTRAINED: u32 = u32::MAX;

thread_local! {
    /// Operations the future being polled on this thread may still perform.
    static LEFT: Cell<u32> = const { Cell::new(UNCONSTRAINED) };
}

/// Gives the task about to be polled a full budget of `budget` operations
/// (called by the executor before each poll; [`POLL_BUDGET`] unless the
/// runtime's `Builder` said otherwise).
#[inline]
pub(crate) fn reset(budget: u32) {
    LEFT.set(budget);
}

/// Lifts the budget: nothing is being polled by a runtime on this thread.
pub(crate) fn lift() {
    LEFT.set(UNCONSTRAINED);
}

/// Charges one operation to the polled task's budget: `Ready` if it may go
/// on, or, once the budget is spent, `Pending` with the task deferred
/// until after the next reactor turn.
///
/// Call it only when the operation is about to complete, and do nothing
/// else on `Pending`: the operation must be exactly as if never attempted.
#[inline(always)]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = LEFT.get();
    if left == 0 {
        spent(cx.waker());
        return Poll::Pending;
    }
    LEFT.set(left - 1);
    Poll::Ready(())
}

/// Gives back the unit [`poll_proceed`] charged, for an operation that
/// turned out not to be ready after all: only what completes is paid for.
#[inline]
pub(crate) fn refund() {
    LEFT.set(LEFT.get().saturating_add(1));
}

/// The budget left now, to give back to [`restore`]: for an adapter that
/// must poll the same operation twice (a borrow-checker limitation) and
/// pay for it once.
#[inline]
pub(crate) fn left() -> u32 {
    LEFT.get()
}

/// Puts the budget back to what [`left`] returned.
#[inline]
pub(crate) fn restore(left: u32) {
    LEFT.set(left);
}

/// The budget ran out: defer `waker` on the runtime polling it. A spent
/// counter with no runtime on this thread can only be an unconstrained one
/// that ran all the way down: start it again and wake at once.
#[cold]
#[inline(never)]
fn spent(waker: &Waker) {
    match context::try_current() {
        Some(core) => {
            core.budget_yields.set(core.budget_yields.get() + 1);
            if let Some(tracer) = &core.tracer {
                tracer.budget_yield(core.budget());
            }
            core.deferred.defer(waker);
        }
        None => {
            lift();
            waker.wake_by_ref();
        }
    }
}

/// Tasks that yielded (`yield_now`, or a spent budget), woken only after
/// the next reactor turn so that they run after the tasks it wakes.
#[derive(Default)]
pub(crate) struct Deferred {
    /// Their wakers, in the order they yielded.
    wakers: RefCell<Vec<Waker>>,
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("len", &self.wakers.borrow().len())
            .finish()
    }
}

impl Deferred {
    /// Wakes `waker` only after the next turn. (A task deferred twice is
    /// still queued once: its waker's queued flag sees to that.)
    pub(crate) fn defer(&self, waker: &Waker) {
        self.wakers.borrow_mut().push(waker.clone());
    }

    /// True if some task waits for the next turn: the turn must not block.
    pub(crate) fn is_empty(&self) -> bool {
        self.wakers.borrow().is_empty()
    }

    /// Wakes the tasks deferred until now (called after a turn).
    pub(crate) fn wake_all(&self) {
        let mut deferred = std::mem::take(&mut *self.wakers.borrow_mut());
        if deferred.is_empty() {
            return;
        }
        // No borrow is held while a waker runs; the vector's capacity is
        // kept for the next turn.
        deferred.drain(..).for_each(Waker::wake);
        let mut slot = self.wakers.borrow_mut();
        if slot.is_empty() {
            *slot = deferred;
        }
    }
}

/// Charges one unit of the cooperative budget, yielding first if it is
/// spent: a loop that does a lot of work without touching the runtime's
/// I/O (hashing a big file already in memory, say) can call this once per
/// step to let other tasks run.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let mut sum = 0u64;
///     for i in 0..1_000u64 {
///         runtime::task::consume_budget().await;
///         sum += i;
///     }
///     assert_eq!(sum, 499_500);
/// });
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(poll_proceed).await
}

pin_project! {
    /// The future of [`unconstrained`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Unconstrained<F> {
        #[pin]
        future: F,
    }
}

/// Runs `future` without the cooperative budget: its operations never make
/// it yield. Use it sparingly: a future that is always ready then starves
/// everything else on the thread.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..1_000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     // All 1,000 in one poll, with no yield after the 128th.
///     let total = runtime::task::unconstrained(async move {
///         let mut total = 0;
///         while let Some(i) = rx.recv().await {
///             total += i;
///         }
///         total
///     })
///     .await;
///     assert_eq!(total, 499_500);
/// });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let before = LEFT.replace(UNCONSTRAINED);
        // Put the budget back even if the future panics.
        struct Restore(u32);
        impl Drop for Restore {
            fn drop(&mut self) {
                LEFT.set(self.0);
            }
        }
        let _restore = Restore(before);
        self.project().future.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Nothing;

    impl Wake for Nothing {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn a_reset_budget_allows_exactly_poll_budget_operations() {
        let waker = Waker::from(Arc::new(Nothing));
        let mut cx = Context::from_waker(&waker);
        reset(POLL_BUDGET);
        for _ in 0..POLL_BUDGET {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        // No runtime on this thread: the spent budget is lifted and the
        // task woken, so it is pending once.
        assert!(poll_proceed(&mut cx).is_pending());
        assert!(poll_proceed(&mut cx).is_ready());
        lift();
    }
}
