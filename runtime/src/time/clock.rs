//! The runtime's clock, which tests may pause: [`pause`], [`advance`],
//! [`resume`].
//!
//! Each runtime has a [`Clock`]. Normally it is the system's monotonic
//! clock. Paused, it stands still: only [`advance`] moves it, and so does
//! the runtime itself when it has nothing to do but wait for a timer (it
//! jumps to that timer's deadline at once instead of sleeping), so a test
//! of a five-minute timeout takes no time at all. Resumed, it runs again at
//! the real rate from wherever it stood.
//!
//! [`Instant::now`](super::Instant::now) reads the current runtime's clock.
//! So that a program that never pauses pays nothing, a process-wide count
//! of clocks that are not plain system time is checked first: while it is
//! zero, `now` is `std::time::Instant::now()` and nothing else.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::executor::context;

/// Runtimes in the process whose clock is paused or was paused once.
static ADJUSTED_CLOCKS: AtomicUsize = AtomicUsize::new(0);

/// The panic message of `pause` on a paused clock.
const ALREADY_PAUSED: &str = "time::pause: the runtime's clock is already paused";

/// The panic message of `advance` and `resume` on a running clock.
const NOT_PAUSED: &str = "the runtime's clock is not paused: call time::pause() first";

/// Where a clock stands.
#[derive(Debug, Clone, Copy)]
enum State {
    /// The system's monotonic clock.
    System,
    /// Stopped at this moment.
    Paused(std::time::Instant),
    /// Running at the system's rate, shifted: `now` is `virtual_base` plus
    /// the system time elapsed since `system_base` (a clock paused, moved,
    /// then resumed).
    Shifted {
        /// The clock's reading at `system_base`.
        virtual_base: std::time::Instant,
        /// When it resumed, in system time.
        system_base: std::time::Instant,
    },
}

/// One runtime's clock.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Where it stands.
    state: Cell<State>,
    /// Work in flight that the runtime cannot see (a `spawn_blocking` job):
    /// while any is, the paused clock does not jump to the next timer,
    /// which could otherwise fire before the work's result arrives.
    inhibitors: Cell<usize>,
}

impl Clock {
    /// A clock at system time, or paused at now if `paused`.
    pub(crate) fn new(paused: bool) -> Clock {
        let clock = Clock {
            state: Cell::new(State::System),
            inhibitors: Cell::new(0),
        };
        if paused {
            clock.pause();
        }
        clock
    }

    /// The clock's reading.
    #[inline]
    pub(crate) fn now(&self) -> std::time::Instant {
        match self.state.get() {
            State::System => std::time::Instant::now(),
            State::Paused(at) => at,
            State::Shifted {
                virtual_base,
                system_base,
            } => virtual_base + system_base.elapsed(),
        }
    }

    /// True while the clock stands still.
    pub(crate) fn is_paused(&self) -> bool {
        matches!(self.state.get(), State::Paused(_))
    }

    /// True if the runtime may jump the paused clock to the next timer:
    /// paused, and no work it cannot see is in flight.
    pub(crate) fn may_auto_advance(&self) -> bool {
        self.is_paused() && self.inhibitors.get() == 0
    }

    /// Stops the clock at its current reading.
    ///
    /// # Panics
    ///
    /// If it is paused already.
    fn pause(&self) {
        let state = self.state.get();
        assert!(!matches!(state, State::Paused(_)), "{ALREADY_PAUSED}");
        if let State::System = state {
            ADJUSTED_CLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        self.state.set(State::Paused(self.now()));
    }

    /// Starts the stopped clock again, at the system's rate, from where it
    /// stands.
    ///
    /// # Panics
    ///
    /// If it is not paused.
    fn resume(&self) {
        let State::Paused(at) = self.state.get() else {
            panic!("{NOT_PAUSED}");
        };
        self.state.set(State::Shifted {
            virtual_base: at,
            system_base: std::time::Instant::now(),
        });
    }

    /// Moves the stopped clock forward by `duration`.
    ///
    /// # Panics
    ///
    /// If it is not paused.
    fn advance(&self, duration: Duration) {
        let State::Paused(at) = self.state.get() else {
            panic!("{NOT_PAUSED}");
        };
        let to = at
            .checked_add(duration)
            .unwrap_or_else(|| panic!("time::advance({duration:?}) overflows the clock"));
        self.state.set(State::Paused(to));
    }

    /// Moves the stopped clock forward to `to`, if that is later: the
    /// runtime's jump to the next timer.
    pub(crate) fn advance_to(&self, to: std::time::Instant) {
        if let State::Paused(at) = self.state.get() {
            if to > at {
                self.state.set(State::Paused(to));
            }
        }
    }

    /// Keeps the paused clock from jumping ahead until the guard is
    /// dropped.
    pub(crate) fn inhibit_auto_advance(self: &Rc<Clock>) -> Inhibitor {
        self.inhibitors.set(self.inhibitors.get() + 1);
        Inhibitor(self.clone())
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        if !matches!(self.state.get(), State::System) {
            ADJUSTED_CLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Holds a paused clock back from jumping to the next timer; see
/// [`Clock::inhibit_auto_advance`].
#[derive(Debug)]
pub(crate) struct Inhibitor(Rc<Clock>);

impl Drop for Inhibitor {
    fn drop(&mut self) {
        let clock = &self.0;
        clock.inhibitors.set(clock.inhibitors.get() - 1);
    }
}

/// The current runtime's clock reading; the system's outside a runtime.
#[inline]
pub(crate) fn now() -> std::time::Instant {
    if ADJUSTED_CLOCKS.load(Ordering::Relaxed) == 0 {
        return std::time::Instant::now();
    }
    context::with_current(|core| core.clock.now()).unwrap_or_else(std::time::Instant::now)
}

/// Runs `f` on the current runtime's clock.
///
/// # Panics
///
/// Outside a runtime.
fn with_clock<R>(what: &str, f: impl FnOnce(&Clock) -> R) -> R {
    context::with_current(|core| f(&core.clock))
        .unwrap_or_else(|| panic!("{what} must be called inside a runtime (`runtime::block_on`)"))
}

/// Stops the current runtime's clock, for tests of time-dependent code.
///
/// From now on [`Instant::now`](super::Instant::now) stands still, and
/// timers fire only when the clock reaches their deadline: through
/// [`advance`], or by itself when the runtime has nothing to do but wait for
/// a timer, in which case the clock jumps straight to that timer's deadline
/// (auto-advance). So a test of a five-minute idle timeout runs in
/// microseconds, and always the same way. While a
/// [`spawn_blocking`](crate::task::spawn_blocking) job is running the clock
/// does not jump, since its result may be what a timer is racing. I/O is
/// not paused: a socket still becomes ready when data arrives.
///
/// [`Builder::start_paused`](crate::Builder::start_paused) (and
/// `#[runtime::test(start_paused = true)]`) starts a runtime paused.
///
/// # Panics
///
/// Outside a runtime, or if the clock is paused already.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, Instant};
///
/// runtime::block_on(async {
///     runtime::time::pause();
///     let start = Instant::now();
///     // An hour passes at once: nothing else is waiting.
///     sleep(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
pub fn pause() {
    with_clock("time::pause", Clock::pause);
}

/// Starts the paused clock again from where it stands, at the system's
/// rate.
///
/// # Panics
///
/// Outside a runtime, or if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// runtime::block_on(async {
///     runtime::time::pause();
///     runtime::time::advance(Duration::from_secs(60)).await;
///     let paused_at = Instant::now();
///     runtime::time::resume();
///     assert!(Instant::now() >= paused_at);
/// });
/// ```
pub fn resume() {
    with_clock("time::resume", Clock::resume);
}

/// Moves the paused clock forward by `duration`, then yields so that the
/// timers it made due fire (and their tasks run) before this returns.
///
/// # Panics
///
/// Outside a runtime, if the clock is not paused, or if the clock would
/// overflow.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use std::cell::Cell;
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     runtime::time::pause();
///     let fired = Rc::new(Cell::new(false));
///     let task = runtime::spawn({
///         let fired = fired.clone();
///         async move {
///             runtime::time::sleep(Duration::from_secs(10)).await;
///             fired.set(true);
///         }
///     });
///     runtime::task::yield_now().await; // the task registers its timer
///     runtime::time::advance(Duration::from_secs(9)).await;
///     assert!(!fired.get());
///     runtime::time::advance(Duration::from_secs(1)).await;
///     assert!(fired.get());
///     task.await.unwrap();
/// });
/// ```
///
/// Not cancel-safe in one sense: the clock moves at the first poll, and
/// stays moved if the future is then dropped.
pub async fn advance(duration: Duration) {
    with_clock("time::advance", |clock| clock.advance(duration));
    crate::task::yield_now().await;
}
