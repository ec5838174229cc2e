//! Timers: [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! A [`Sleep`] registers its deadline with the runtime's timer store at its
//! first poll and cancels it when dropped. Each reactor turn waits at most
//! until the earliest deadline, rounded **up** to whole milliseconds, and
//! then every due timer fires. A timer never fires early.

mod timers;

pub(crate) use timers::{TimerKey, Timers};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

pub use std::time::Instant;

use pin_project_lite::pin_project;

use crate::coop;
use crate::executor::context;

/// How far ahead a deadline that would overflow `Instant` is placed:
/// about thirty years, which no program waits out.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

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
    /// The registered timer: the runtime's timer store and its key there.
    entry: Option<(Rc<Timers>, TimerKey)>,
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
        if let Some((timers, key)) = self.entry.take() {
            timers.remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A timer still in the store has not fired: the runtime fires every
        // due timer right after each reactor turn, so this sleep is not
        // over yet (or will be woken at the end of this tick). No clock
        // read needed: a sleep polled often, such as an idle timeout
        // guarding every read, costs a store lookup per poll.
        if let Some((timers, key)) = &self.entry {
            if timers.update(*key, cx.waker()) {
                return Poll::Pending;
            }
        }
        if self.is_elapsed() {
            // A due timer costs one unit of the cooperative budget, so a
            // loop of zero-length sleeps or expired timeouts still yields.
            ready!(coop::poll_proceed(cx));
            self.cancel();
            return Poll::Ready(());
        }
        // Not registered yet, or fired while the clock had not quite
        // reached the deadline: register.
        let timers = context::current().timers.clone();
        let key = timers.insert(self.deadline, cx.waker());
        self.entry = Some((timers, key));
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
