//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`timeout_at`],
//! [`interval`], [`interval_at`], the runtime's clock ([`Instant`]) and a
//! paused clock for tests ([`pause`], [`advance`], [`resume`]).
//!
//! A [`Sleep`] registers its deadline with the runtime's timer store at its
//! first poll and cancels it when dropped. Each reactor turn waits at most
//! until the earliest deadline, rounded **up** to whole milliseconds, and
//! then every due timer fires. A timer never fires early.
//!
//! The timer types are `Send` and `Sync`, as tokio's are, so a `Send`
//! future may sleep; each is tied to the runtime that first polls it.

mod clock;
mod instant;
mod interval;
mod sleep;
mod timeout;
mod timers;

pub use clock::{advance, pause, resume};
pub(crate) use clock::{Clock, Inhibitor};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout};
pub(crate) use timers::{TimerKey, Timers};

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
    pub struct Elapsed(());

    impl Elapsed {
        /// The error of a timeout whose deadline passed.
        pub(crate) fn new() -> Elapsed {
            Elapsed(())
        }
    }

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
