//! Timers: [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! Pending timers live in an ordered map keyed by `(deadline, id)`; the id
//! makes every key unique, so cancelling (dropping a [`Sleep`]) is a single
//! `remove`. Each reactor turn waits at most until the earliest deadline,
//! rounded **up** to whole milliseconds, and then every due timer fires.
//! A timer never fires early.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use std::time::Instant;

use pin_project_lite::pin_project;

use crate::executor::context;

/// How far ahead a deadline that would overflow `Instant` is placed:
/// about thirty years, which no program waits out.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// The runtime's pending timers.
#[derive(Default)]
pub(crate) struct Timers {
    /// Waker of each pending timer, ordered by deadline then id.
    map: RefCell<BTreeMap<(Instant, u64), Waker>>,
    /// The next timer id.
    next_id: Cell<u64>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("pending", &self.len())
            .finish()
    }
}

impl Timers {
    /// Adds a timer and returns its id.
    fn insert(&self, deadline: Instant, waker: &Waker) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.map.borrow_mut().insert((deadline, id), waker.clone());
        id
    }

    /// Replaces the waker of a pending timer; false if it already fired.
    fn update(&self, deadline: Instant, id: u64, waker: &Waker) -> bool {
        match self.map.borrow_mut().get_mut(&(deadline, id)) {
            Some(stored) => {
                if !stored.will_wake(waker) {
                    *stored = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    /// Cancels a timer (a no-op if it already fired).
    fn remove(&self, deadline: Instant, id: u64) {
        let removed = self.map.borrow_mut().remove(&(deadline, id));
        drop(removed); // dropping a waker may run arbitrary code: no borrow held
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.map.borrow().len()
    }

    /// How long the reactor may sleep before the next deadline: `None`
    /// without timers.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let map = self.map.borrow();
        let (&(deadline, _), _) = map.first_key_value()?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }

    /// Wakes every timer whose deadline has passed.
    pub(crate) fn fire_due(&self) {
        let due = {
            let mut map = self.map.borrow_mut();
            if map.is_empty() {
                return;
            }
            let now = Instant::now();
            let later = map.split_off(&(now, u64::MAX));
            std::mem::replace(&mut *map, later)
        };
        for waker in due.into_values() {
            waker.wake();
        }
    }

    /// Drops every timer (runtime shutdown).
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.map.borrow_mut());
        drop(all);
    }
}

/// `now + duration`, or about thirty years from now if that overflows.
fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + FAR_FUTURE)
}

/// Waits until `duration` has elapsed.
///
/// # Panics
///
/// When polled outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// runtime::block_on(async {
///     let start = Instant::now();
///     runtime::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(deadline_after(duration))
}

/// Waits until `deadline`.
///
/// # Panics
///
/// When polled outside a runtime.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// runtime::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     runtime::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the
/// timer.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// When the sleep ends.
    deadline: Instant,
    /// The registered timer: the runtime's timers and this timer's id.
    entry: Option<(Rc<Timers>, u64)>,
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
    fn new(deadline: Instant) -> Sleep {
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
    /// use std::time::{Duration, Instant};
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(runtime::time::sleep_until(deadline).deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
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
    /// use std::time::{Duration, Instant};
    /// runtime::block_on(async {
    ///     let mut sleep = runtime::time::sleep(Duration::from_secs(3600));
    ///     sleep.reset(Instant::now() + Duration::from_millis(1));
    ///     (&mut sleep).await;
    ///     assert!(sleep.is_elapsed());
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    /// Removes the registered timer, if any.
    fn cancel(&mut self) {
        if let Some((timers, id)) = self.entry.take() {
            timers.remove(self.deadline, id);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_elapsed() {
            self.cancel();
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        if let Some((timers, id)) = &self.entry {
            if timers.update(deadline, *id, cx.waker()) {
                return Poll::Pending;
            }
        }
        // Not registered yet (or fired early by a clock quirk): register.
        let timers = context::current().timers.clone();
        let id = timers.insert(deadline, cx.waker());
        self.entry = Some((timers, id));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Errors of the time module.
pub mod error {
    use std::fmt;

    /// The error of [`timeout`](super::timeout) when the deadline passed
    /// first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// runtime::block_on(async {
    ///     let never = std::future::pending::<()>();
    ///     let err = runtime::time::timeout(Duration::from_millis(1), never).await.unwrap_err();
    ///     assert_eq!(err.to_string(), "deadline has elapsed");
    /// });
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(e: Elapsed) -> std::io::Error {
            std::io::Error::new(std::io::ErrorKind::TimedOut, e)
        }
    }
}

/// Runs `future` for at most `duration`.
///
/// The future is polled first, so one that is already ready wins even with a
/// zero duration. Dropping the returned future drops `future` and cancels
/// the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// runtime::block_on(async {
///     let fast = runtime::time::timeout(Duration::from_secs(5), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

pin_project! {
    /// The future of [`timeout`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, error::Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(error::Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A stream of instants `period` apart; the first tick is immediate.
///
/// When ticks are missed (the task was busy), the next tick does not burst
/// to catch up: it skips to the next instant on the original grid.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// runtime::block_on(async {
///     let mut ticks = runtime::time::interval(Duration::from_millis(2));
///     let first = ticks.tick().await;
///     let second = ticks.tick().await;
///     assert!(second - first >= Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: Sleep::new(Instant::now()),
    }
}

/// The stream of [`interval`].
#[derive(Debug)]
pub struct Interval {
    /// Time between ticks.
    period: Duration,
    /// Sleeps until the next tick.
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        // The next grid point after `now`, skipping missed ticks.
        let mut next = scheduled
            .checked_add(self.period)
            .unwrap_or(scheduled + FAR_FUTURE);
        if next <= now {
            let behind = now.duration_since(scheduled).as_nanos();
            let period = self.period.as_nanos();
            let skip = behind / period + 1;
            let skip = u32::try_from(skip).unwrap_or(u32::MAX);
            next = scheduled
                .checked_add(self.period.saturating_mul(skip))
                .unwrap_or(now + self.period);
        }
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
