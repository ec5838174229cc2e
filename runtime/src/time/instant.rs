//! [`Instant`]: the runtime's clock reading, which a paused clock controls.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use super::clock;

/// A moment on the runtime's clock, like [`std::time::Instant`] but read
/// through the runtime: while a test has [paused](super::pause) the clock,
/// [`Instant::now`] is the paused (virtual) time, which moves only by
/// [`advance`](super::advance) or when the runtime has nothing to do but
/// wait for a timer. Otherwise it is exactly `std::time::Instant::now()`.
///
/// Timers ([`sleep_until`](super::sleep_until),
/// [`timeout_at`](super::timeout_at), [`interval_at`](super::interval_at))
/// take this type, as tokio's do; convert with [`from_std`] and
/// [`into_std`].
///
/// [`from_std`]: Instant::from_std
/// [`into_std`]: Instant::into_std
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert_eq!(Instant::from_std(start.into_std()), start);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// The moment, as `std` measures it.
    std: std::time::Instant,
}

impl Instant {
    /// The current time on the runtime's clock (the paused time in a test
    /// that paused it; outside a runtime, the system's monotonic clock).
    pub fn now() -> Instant {
        Instant { std: clock::now() }
    }

    /// The same moment as a `std` instant.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant { std }
    }

    /// The same moment as a `std` instant.
    pub fn into_std(self) -> std::time::Instant {
        self.std
    }

    /// How long after `earlier` this is; zero if it is before it.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// How long after `earlier` this is, or `None` if it is before it.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.std.checked_duration_since(earlier.std)
    }

    /// How long after `earlier` this is; zero if it is before it.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.std.saturating_duration_since(earlier.std)
    }

    /// How long ago this was, on the runtime's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that overflows.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_add(duration).map(Instant::from_std)
    }

    /// `self - duration`, or `None` if that underflows.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.std.checked_sub(duration).map(Instant::from_std)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result overflows; use [`checked_add`](Instant::checked_add).
    fn add(self, duration: Duration) -> Instant {
        Instant::from_std(self.std + duration)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// If the result underflows; use [`checked_sub`](Instant::checked_sub).
    fn sub(self, duration: Duration) -> Instant {
        Instant::from_std(self.std - duration)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// How long after `earlier` this is; zero if it is before it.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
