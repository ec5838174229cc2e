//! [`sleep`], [`sleep_until`] and their future, [`Sleep`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::{Instant, TimerKey};
use crate::coop;
use crate::executor::{context, Core, RuntimeId};

/// How far ahead a deadline that would overflow `Instant` is placed:
/// about thirty years, which no program waits out.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// The panic message of a timer polled outside a runtime.
const NO_RUNTIME: &str = "a runtime::time timer was polled outside a runtime: \
     sleeps, timeouts and intervals must be awaited inside `runtime::block_on`";

/// The panic message of a timer polled on another runtime than its own.
const OTHER_RUNTIME: &str = "a runtime::time timer was polled on a thread whose runtime is \
     not the one it was first polled on: a timer stays with its runtime";

/// `now + duration` on the runtime's clock, or about thirty years from now
/// if that overflows.
pub(super) fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + FAR_FUTURE)
}

/// `deadline + period`, or about thirty years after it if that overflows.
pub(super) fn after(deadline: Instant, period: Duration) -> Instant {
    deadline
        .checked_add(period)
        .unwrap_or_else(|| deadline + FAR_FUTURE)
}

/// Waits until `duration` has elapsed on the runtime's clock.
///
/// Cancel-safe: dropping the future cancels the timer, and nothing else
/// happened.
///
/// # Panics
///
/// When polled outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// runtime::block_on(async {
///     let start = Instant::now();
///     runtime::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(deadline_after(duration))
}

/// Waits until `deadline` on the runtime's clock.
///
/// Cancel-safe, as [`sleep`].
///
/// # Panics
///
/// When polled outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// runtime::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     runtime::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// A timer registered with one runtime's store.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Its key in the store.
    key: TimerKey,
    /// The runtime whose store holds it.
    runtime: RuntimeId,
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the
/// timer.
///
/// It is `Send` and `Sync`, as tokio's is (hyper's `rt::Timer` needs
/// that): it holds the timer's key and its runtime's id, not a reference
/// to the runtime. It registers with the runtime that first polls it and
/// must be polled only there; polling it on another runtime panics. Dropped
/// on another thread, it cannot reach its runtime's store: the timer then
/// stays there until its deadline, when it wakes its (finished) waker for
/// nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// When the sleep ends.
    deadline: Instant,
    /// The registered timer; `None` until the first pending poll, and
    /// again once it fired.
    entry: Option<Entry>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

impl Sleep {
    /// A sleep until `deadline`, registered at its first poll.
    pub(super) fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            entry: None,
        }
    }

    /// When the sleep ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Instant;
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(runtime::time::sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed on the runtime's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(runtime::time::sleep(Duration::ZERO).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline; the sleep can be awaited again after it fired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Instant;
    ///
    /// runtime::block_on(async {
    ///     let mut sleep = Box::pin(runtime::time::sleep(Duration::from_secs(3600)));
    ///     sleep.as_mut().reset(Instant::now() + Duration::from_millis(1));
    ///     sleep.as_mut().await;
    ///     assert!(sleep.is_elapsed());
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.cancel();
        this.deadline = deadline;
    }

    /// Moves the deadline of an unpinned sleep (`Sleep` is `Unpin`).
    pub(super) fn set_deadline(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    /// Removes the registered timer, if any, when its runtime is the
    /// current one.
    fn cancel(&mut self) {
        if let Some(entry) = self.entry.take() {
            context::with_current(|core| {
                if core.id == entry.runtime {
                    core.timers.remove(entry.key);
                }
            });
        }
    }

    /// [`Future::poll`] on `core`, the current runtime.
    fn poll_on(&mut self, core: &Core, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(entry) = self.entry {
            assert!(entry.runtime == core.id, "{OTHER_RUNTIME}");
            // A timer still in the store has not fired: the runtime fires
            // every due timer right after each reactor turn, so this sleep
            // is not over yet (or is woken at the end of this tick). No
            // clock read needed: a sleep polled often, such as an idle
            // timeout guarding every read, costs a store lookup per poll.
            if core.timers.update(entry.key, cx.waker()) {
                return Poll::Pending;
            }
            self.entry = None;
        }
        if core.clock.now() >= self.deadline.into_std() {
            // A due timer costs one unit of the cooperative budget, so a
            // loop of zero-length sleeps or expired timeouts still yields.
            ready!(coop::poll_proceed(cx));
            return Poll::Ready(());
        }
        // Not registered yet, or fired while the clock had not quite
        // reached the deadline: register.
        if let Some(tracer) = &core.tracer {
            tracer.timer_set(self.deadline.into_std() - core.clock.now());
        }
        let key = core.timers.insert(self.deadline.into_std(), cx.waker());
        self.entry = Some(Entry {
            key,
            runtime: core.id,
        });
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        context::with_current(|core| this.poll_on(core, cx))
            .unwrap_or_else(|| panic!("{NO_RUNTIME}"))
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
