//! [`interval`], [`interval_at`], [`Interval`] and what it does about
//! missed ticks ([`MissedTickBehavior`]).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::sleep::after;
use super::{Instant, Sleep};

/// How late a tick may be before it counts as missed: a timer fires up to
/// a millisecond late by design (epoll's timeout is rounded up), and a busy
/// runtime adds a little more; that is not a missed tick.
const MISSED_AFTER: Duration = Duration::from_millis(5);

/// A stream of instants `period` apart; the first tick is immediate.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     let mut ticks = runtime::time::interval(Duration::from_millis(2));
///     let first = ticks.tick().await;
///     let second = ticks.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// A stream of instants `period` apart, the first at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// runtime::block_on(async {
///     let start = Instant::now() + Duration::from_millis(3);
///     let mut ticks = runtime::time::interval_at(start, Duration::from_millis(2));
///     assert_eq!(ticks.tick().await, start);
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: Sleep::new(start),
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed (the task was busy, or
/// the runtime was): tokio's three behaviours, and its default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::MissedTickBehavior;
///
/// runtime::block_on(async {
///     let mut ticks = runtime::time::interval(Duration::from_millis(10));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Skip);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks one after another, as fast as they are
    /// polled, until caught up with the original schedule (the default).
    #[default]
    Burst,
    /// Fire once now, then go on `period` after now: the schedule shifts.
    Delay,
    /// Fire once now, then go on at the next instant of the original
    /// schedule, skipping the missed ones.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick scheduled for `scheduled` that fired at
    /// `now`, late.
    fn next_after_late(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => after(scheduled, period),
            MissedTickBehavior::Delay => after(now, period),
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(scheduled).as_nanos();
                let periods = behind / period.as_nanos() + 1;
                let periods = u32::try_from(periods).unwrap_or(u32::MAX);
                scheduled
                    .checked_add(period.saturating_mul(periods))
                    .unwrap_or_else(|| after(now, period))
            }
        }
    }
}

/// The stream of [`interval`] and [`interval_at`]: `Send` and `Sync`.
#[derive(Debug)]
pub struct Interval {
    /// Time between ticks.
    period: Duration,
    /// Sleeps until the next tick.
    sleep: Sleep,
    /// What to do about missed ticks.
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// Cancel-safe: a tick is consumed only by the poll that returns it.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.sleep).poll(cx));
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        let next = if now > after(scheduled, MISSED_AFTER) {
            self.missed_tick_behavior
                .next_after_late(scheduled, now, self.period)
        } else {
            after(scheduled, self.period)
        };
        self.sleep.set_deadline(next);
        Poll::Ready(scheduled)
    }

    /// Starts the schedule again: the next tick is `period` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Instant;
    ///
    /// runtime::block_on(async {
    ///     runtime::time::pause();
    ///     let mut ticks = runtime::time::interval(Duration::from_secs(10));
    ///     ticks.tick().await;
    ///     runtime::time::advance(Duration::from_secs(3)).await;
    ///     ticks.reset();
    ///     let next = ticks.tick().await;
    ///     assert_eq!(next, Instant::now());
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.reset_at(after(Instant::now(), self.period));
    }

    /// Makes the next tick immediate.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Makes the next tick `after` from now.
    pub fn reset_after(&mut self, delay: Duration) {
        self.reset_at(after(Instant::now(), delay));
    }

    /// Makes the next tick happen at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.set_deadline(deadline);
    }

    /// What the interval does about missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what the interval does about missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
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
