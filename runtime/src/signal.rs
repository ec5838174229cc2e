//! Unix signals as async values: [`ctrl_c`], and [`signal`] for a stream
//! of any [`SignalKind`].
//!
//! ```
//! use runtime::signal::{signal, SignalKind};
//!
//! runtime::block_on(async {
//!     let mut hangups = signal(SignalKind::hangup())?;
//!     // Send ourselves a SIGHUP, as `kill -HUP <pid>` would.
//!     std::process::Command::new("kill")
//!         .args(["-HUP", &std::process::id().to_string()])
//!         .status()?;
//!     assert_eq!(hangups.recv().await, Some(()));
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! # Handlers are process-wide, and replace the default action
//!
//! The first [`signal`] (or [`ctrl_c`]) for a signal number installs a
//! `sigaction` handler for it, for the whole process and for the rest of
//! its life. From then on the signal no longer has its default action:
//! a `SIGINT` or `SIGTERM` does **not** terminate the process any more,
//! even once every [`Signal`] is dropped. This is what tokio does too; a
//! program that wants to exit on Ctrl-C after catching it once exits by
//! itself (`std::process::exit`). Faults and uncatchable signals
//! (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGKILL`, `SIGSTOP`) are
//! refused.
//!
//! # Handlers that were there before are kept
//!
//! A handler another library installed first (`ctrlc`, `signal-hook`, a C
//! library's) is not lost: ours calls it after its own work, unless the
//! signal's previous disposition was `SIG_DFL` or `SIG_IGN`. A library
//! that installs its handler *after* ours and chains to the one before it
//! (signal-hook-registry does) calls ours, so both hear every delivery,
//! in either order.
//!
//! # Child processes
//!
//! [`process`](crate::process) installs no `SIGCHLD` handler: it learns
//! of exits from pidfds. A program may catch `SIGCHLD` itself with
//! [`signal`]`(`[`SignalKind::child()`]`)`; that changes nothing for
//! [`process`](crate::process), as long as nothing in the program reaps
//! children it did not spawn (`waitpid(-1)`) or sets `SIGCHLD` to
//! `SIG_IGN`.
//!
//! # How a delivery reaches the tasks
//!
//! A signal handler may only do async-signal-safe things, so the work is
//! split in three:
//!
//! 1. **The handler** (in `sys::signal`) increments a process-wide atomic
//!    counter for its signal number and writes one byte to a global
//!    nonblocking, close-on-exec pipe, preserving `errno`. The counters
//!    carry the information; the byte only says "look at the counters", so
//!    a full pipe loses nothing.
//! 2. **Each runtime** that has a [`Signal`] registers its own duplicate of
//!    the pipe's read end with its reactor (one per runtime, shared by that
//!    runtime's `Signal`s, deregistered with the last of them). A write to
//!    the pipe makes every epoll instance that watches a duplicate report
//!    it, so every runtime wakes, on whatever thread.
//! 3. **A [`Signal`]** remembers how many deliveries it has seen. When it is
//!    polled and the counter is ahead, it catches up and yields one `()`:
//!    several deliveries between two polls are **coalesced** into one, as
//!    in tokio. Otherwise it waits until its runtime's duplicate is
//!    readable, drains the pipe, and looks at the counter again.
//!
//! The pipe alone would lose wakeups: epoll checks that an fd is still
//! readable when it hands out an event, so if runtime A drains the shared
//! pipe before runtime B's `epoll_wait` collects its event, B never hears
//! of the delivery. So the `Signal`s that wait also park their wakers in a
//! process-wide list, and whoever drains a non-empty pipe wakes the whole
//! list (wakers work across threads). A `Signal` parks in that list
//! *before* it reads the counter; the handler increments the counter
//! before it writes the byte, and the drainer empties the list only after
//! draining, so each waiting `Signal` either sees the new count or is
//! still in the list when the drainer wakes it.
//!
//! Each wake goes to every waiting `Signal` of every kind (the drainer
//! cannot tell which signal the bytes were for); a `Signal` whose counter
//! did not move just parks again. Signals are rare, so this costs nothing
//! that matters.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::raw::c_int;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use futures_core::Stream;

use crate::executor::context;
use crate::reactor::{Direction, Reactor, Registration};
use crate::sys::signal::{self as sys, SignalReceiver};

/// A kind of Unix signal, by number.
///
/// # Examples
///
/// ```
/// use runtime::signal::SignalKind;
///
/// assert_eq!(SignalKind::interrupt(), SignalKind::from_raw(2));
/// assert_eq!(SignalKind::terminate().as_raw_value(), 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(
    /// The signal number.
    c_int,
);

impl SignalKind {
    /// A signal by its number, for signals without a named constructor.
    /// [`signal`] checks it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::signal::SignalKind;
    ///
    /// assert_eq!(SignalKind::from_raw(10), SignalKind::user_defined1());
    /// ```
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::signal::SignalKind;
    ///
    /// assert_eq!(SignalKind::hangup().as_raw_value(), 1);
    /// ```
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// `SIGINT`: interrupt from the terminal (Ctrl-C).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::interrupt().as_raw_value(), 2);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(sys::SIGINT)
    }

    /// `SIGTERM`: a polite request to terminate (what `kill` sends).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::terminate().as_raw_value(), 15);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(sys::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::hangup().as_raw_value(), 1);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(sys::SIGHUP)
    }

    /// `SIGQUIT`: quit from the terminal (Ctrl-\\).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::quit().as_raw_value(), 3);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(sys::SIGQUIT)
    }

    /// `SIGUSR1`: user-defined signal 1.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::user_defined1().as_raw_value(), 10);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(sys::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined signal 2.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::user_defined2().as_raw_value(), 12);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(sys::SIGUSR2)
    }

    /// `SIGALRM`: an `alarm(2)` timer expired.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::alarm().as_raw_value(), 14);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(sys::SIGALRM)
    }

    /// `SIGCHLD`: a child process exited or stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::child().as_raw_value(), 17);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(sys::SIGCHLD)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader. (The Rust
    /// standard library ignores it at startup; catching it replaces that.)
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::pipe().as_raw_value(), 13);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(sys::SIGPIPE)
    }

    /// `SIGWINCH`: the terminal window changed size.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::signal::SignalKind::window_change().as_raw_value(), 28);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(sys::SIGWINCH)
    }
}

/// Starts listening for deliveries of `kind`: returns a [`Signal`] that
/// yields once for each delivery after this call (deliveries between two
/// polls count as one).
///
/// The first call for a signal number installs a process-wide handler that
/// replaces the signal's default action for the rest of the process's
/// life; see the [module docs](self). Every `Signal` sees every delivery:
/// any number of them, in any number of runtimes, may listen to the same
/// signal.
///
/// # Errors
///
/// `InvalidInput` for a signal that cannot or must not be caught
/// (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`) or a
/// number out of range; the OS error if the handler cannot be installed or
/// no file descriptor is left for the pipe.
///
/// # Panics
///
/// Outside a runtime.
///
/// # Examples
///
/// ```
/// use runtime::signal::{signal, SignalKind};
///
/// runtime::block_on(async {
///     let mut terms = signal(SignalKind::terminate())?;
///     std::process::Command::new("kill")
///         .arg(std::process::id().to_string()) // SIGTERM by default
///         .status()?;
///     terms.recv().await;
///     println!("shutting down");
///
///     let err = signal(SignalKind::from_raw(9)).unwrap_err(); // SIGKILL
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let reactor = context::current().reactor.clone();
    sys::install(kind.0)?;
    let seen = sys::deliveries(kind.0);
    Signal::new(kind, seen, &reactor)
}

/// A stream of the deliveries of one signal, from [`signal`].
///
/// Each `Signal` counts the deliveries it has seen, so every `Signal`
/// receives every delivery, whoever else listens. Deliveries that arrive
/// while nobody polls it are coalesced into one.
///
/// A `Signal` belongs to the runtime it was created in: poll it there.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_core::Stream;
/// use runtime::signal::{signal, SignalKind};
///
/// runtime::block_on(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     std::process::Command::new("kill")
///         .args(["-USR1", &std::process::id().to_string()])
///         .status()?;
///     let item = poll_fn(|cx| Pin::new(&mut usr1).poll_next(cx)).await;
///     assert_eq!(item, Some(()));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Signal {
    /// The signal listened to.
    kind: SignalKind,
    /// The signal's delivery counter when this `Signal` last yielded (or
    /// was created); the counter running ahead means a new delivery.
    seen: u64,
    /// This runtime's duplicate of the pipe's read end, shared with the
    /// runtime's other `Signal`s.
    pipe: Rc<Registration<SignalReceiver>>,
    /// Our key in the process-wide [`WAITERS`] list.
    id: u64,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Signal {
    /// A `Signal` that has seen `seen` deliveries, registered with
    /// `reactor`. The handler must be installed already.
    fn new(kind: SignalKind, seen: u64, reactor: &Rc<Reactor>) -> io::Result<Signal> {
        Ok(Signal {
            kind,
            seen,
            pipe: pipe_for(reactor)?,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Waits for the next delivery. Returns `Some(())` once per delivery
    /// (or per batch of deliveries since the last call).
    ///
    /// Returns `None` only once the runtime the stream was created on has
    /// been dropped, as tokio's does: no delivery can reach it any more.
    /// Cancel-safe: dropping the future loses no delivery.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::signal::{signal, SignalKind};
    ///
    /// runtime::block_on(async {
    ///     let mut a = signal(SignalKind::user_defined2())?;
    ///     let mut b = signal(SignalKind::user_defined2())?;
    ///     std::process::Command::new("kill")
    ///         .args(["-USR2", &std::process::id().to_string()])
    ///         .status()?;
    ///     // Both listeners see the one delivery.
    ///     assert_eq!(a.recv().await, Some(()));
    ///     assert_eq!(b.recv().await, Some(()));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery: `Ready(Some(()))` if the signal was
    /// delivered since the last `Ready`, `Ready(None)` if the stream's
    /// runtime was dropped, else `Pending` with the task parked until the
    /// next delivery.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use runtime::signal::{signal, SignalKind};
    ///
    /// runtime::block_on(async {
    ///     let mut quit = signal(SignalKind::quit())?;
    ///     // Nothing was delivered yet.
    ///     let first = poll_fn(|cx| std::task::Poll::Ready(quit.poll_recv(cx))).await;
    ///     assert!(first.is_pending());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.pipe.reactor().is_shut_down() {
            // The runtime was dropped: nothing will report the pipe
            // readable again, so the stream has ended, for good.
            unpark(self.id);
            return Poll::Ready(None);
        }
        // 1. Park in the process-wide list *before* reading the counter, so
        //    that a runtime that drains the pipe after our read wakes us.
        park(self.id, cx.waker());
        loop {
            // 2. News since we last looked?
            let now = sys::deliveries(self.kind.0);
            if now != self.seen {
                self.seen = now;
                unpark(self.id);
                return Poll::Ready(Some(()));
            }
            // 3. Wait until this runtime's duplicate of the pipe turns
            //    readable (the task is parked on the reactor slot as well).
            if ready!(self.pipe.poll_ready(cx, Direction::Read)).is_err() {
                // Only if the runtime shut down while we looked.
                unpark(self.id);
                return Poll::Ready(None);
            }
            // 4. Empty the pipe so that the next byte is a new edge, then
            //    wake everyone else who waits: their runtimes' epoll may no
            //    longer report a pipe we emptied. Nothing can make the pipe
            //    readable between the drain and the clear: the reactor only
            //    turns on this thread, between polls.
            let drained = self.pipe.get_ref().drain();
            self.pipe.clear_readiness(Direction::Read);
            if !matches!(drained, Ok(0)) {
                wake_all_but(self.id);
            }
        }
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        unpark(self.id);
        // Bytes left in the pipe would keep it readable without a new edge
        // on kernels that only signal empty-to-non-empty transitions, so a
        // departing `Signal` that was woken but never got to drain does it
        // now, and passes the news on. Errors are ignored: `Drop` must not
        // fail, and the next reader retries.
        if let Ok(1..) = self.pipe.get_ref().drain() {
            wake_all_but(self.id);
        }
    }
}

/// Waits for one Ctrl-C (`SIGINT`): the future returned by [`ctrl_c`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     let ctrl_c = runtime::signal::ctrl_c();
///     // Nobody presses Ctrl-C here, so give up after a moment.
///     let waited = runtime::time::timeout(Duration::from_millis(10), ctrl_c).await;
///     assert!(waited.is_err());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    /// What the future is at.
    state: CtrlCState,
}

/// The stages of a [`CtrlC`].
enum CtrlCState {
    /// Created: the handler is installed (or failed to be) and the counter
    /// was read; the runtime is not known yet.
    Start(io::Result<u64>),
    /// Polled at least once: listening through the runtime's pipe.
    Listening(Signal),
    /// The result was returned.
    Done,
}

impl fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            CtrlCState::Start(_) => "start",
            CtrlCState::Listening(_) => "listening",
            CtrlCState::Done => "done",
        };
        f.debug_struct("CtrlC").field("state", &state).finish()
    }
}

/// Completes at the next Ctrl-C (`SIGINT`) after this call.
///
/// The handler is installed when `ctrl_c` is called, not when the future
/// is first polled, so a Ctrl-C in between is not missed, and the call
/// works outside a runtime; the future must be polled inside one. As with
/// [`signal`], the handler stays for the rest of the process's life, and
/// from then on `SIGINT` no longer terminates the process: a program that
/// should still die on a second Ctrl-C must exit by itself.
///
/// # Errors
///
/// The error of installing the handler or of creating the runtime's pipe
/// registration (no file descriptor left); "the signal stream ended" if
/// the runtime the future was first polled on is dropped before a Ctrl-C.
///
/// # Panics
///
/// If polled outside a runtime.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let ctrl_c = runtime::signal::ctrl_c();
///     std::process::Command::new("kill")
///         .args(["-INT", &std::process::id().to_string()])
///         .status()?;
///     ctrl_c.await?;
///     println!("Ctrl-C received, shutting down");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn ctrl_c() -> CtrlC {
    let kind = SignalKind::interrupt();
    let start = sys::install(kind.0).map(|()| sys::deliveries(kind.0));
    CtrlC {
        state: CtrlCState::Start(start),
    }
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let CtrlCState::Start(_) = this.state {
            // Outside a runtime this panics before the state changes.
            let reactor = context::current().reactor.clone();
            let CtrlCState::Start(start) = std::mem::replace(&mut this.state, CtrlCState::Done)
            else {
                unreachable!("matched just above");
            };
            let signal =
                start.and_then(|seen| Signal::new(SignalKind::interrupt(), seen, &reactor));
            match signal {
                Ok(signal) => this.state = CtrlCState::Listening(signal),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let CtrlCState::Listening(signal) = &mut this.state else {
            panic!("`CtrlC` polled after it completed");
        };
        let delivered = ready!(signal.poll_recv(cx));
        this.state = CtrlCState::Done;
        Poll::Ready(delivered.ok_or_else(|| io::Error::other("the signal stream ended")))
    }
}

/// Hands out [`Signal::id`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The wakers of the `Signal`s that wait, in every runtime of the process,
/// keyed by [`Signal::id`]. Whoever drains the pipe wakes them all; see the
/// module docs for why the pipe's own readiness is not enough.
static WAITERS: Mutex<Vec<(u64, Waker)>> = Mutex::new(Vec::new());

/// Locks [`WAITERS`]. Nothing panics or runs user code under this lock
/// (wakers are woken and dropped after it is released), so a poisoned lock
/// is still consistent.
fn waiters() -> MutexGuard<'static, Vec<(u64, Waker)>> {
    WAITERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Parks `waker` for `Signal` `id`, replacing a waker of another task.
fn park(id: u64, waker: &Waker) {
    let mut list = waiters();
    let replaced = match list.iter_mut().find(|(key, _)| *key == id) {
        Some((_, stored)) if stored.will_wake(waker) => None,
        Some((_, stored)) => Some(std::mem::replace(stored, waker.clone())),
        None => {
            list.push((id, waker.clone()));
            None
        }
    };
    drop(list);
    drop(replaced);
}

/// Withdraws `Signal` `id` from the list.
fn unpark(id: u64) {
    let mut list = waiters();
    let removed = list
        .iter()
        .position(|(key, _)| *key == id)
        .map(|i| list.swap_remove(i));
    drop(list);
    drop(removed);
}

/// Wakes every parked `Signal` but `id` (which is running and looks at the
/// counter itself) and empties the list; a woken `Signal` parks again
/// when it is polled.
fn wake_all_but(id: u64) {
    let mut list = waiters();
    let own = list
        .iter()
        .position(|(key, _)| *key == id)
        .map(|i| list.swap_remove(i));
    let others = std::mem::take(&mut *list);
    list.extend(own);
    drop(list);
    for (_, waker) in others {
        waker.wake();
    }
}

thread_local! {
    /// The pipe registration of each runtime on this thread that has a
    /// `Signal`. Weak, so the last `Signal` of a runtime deregisters it.
    static PIPES: RefCell<Vec<Weak<Registration<SignalReceiver>>>> =
        const { RefCell::new(Vec::new()) };
}

/// This runtime's registration of a duplicate of the pipe's read end:
/// the existing one, or a new one.
fn pipe_for(reactor: &Rc<Reactor>) -> io::Result<Rc<Registration<SignalReceiver>>> {
    let existing = PIPES
        .try_with(|pipes| {
            let mut pipes = pipes.borrow_mut();
            pipes.retain(|pipe| pipe.strong_count() > 0);
            pipes
                .iter()
                .filter_map(Weak::upgrade)
                .find(|pipe| Rc::ptr_eq(pipe.reactor(), reactor))
        })
        .ok()
        .flatten();
    if let Some(pipe) = existing {
        return Ok(pipe);
    }
    let pipe = Rc::new(Registration::new(SignalReceiver::new()?, reactor.clone())?);
    // If the thread-local is gone (thread exit), the registration just is
    // not shared.
    let _ = PIPES.try_with(|pipes| pipes.borrow_mut().push(Rc::downgrade(&pipe)));
    Ok(pipe)
}
