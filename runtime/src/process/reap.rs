//! How a child's exit is learned, and how a child nobody waits for is
//! still reaped.
//!
//! * [`Exit::PidFd`]: the child's pidfd is registered with the reactor,
//!   which reports it readable once the child has exited; `waitid` on the
//!   pidfd then reaps it.
//! * [`Exit::Blocking`], the fallback for kernels without pidfds: a job on
//!   the runtime's blocking pool blocks in `waitid(WNOWAIT)` until the
//!   child has exited *without reaping it*, then completes a oneshot the
//!   [`Child`](super::Child) awaits; the `Child` reaps. The zombie keeps
//!   the pid from being reused until then, so signalling by pid is safe.
//!
//! # Orphans
//!
//! A `Child` dropped while its process runs (after `SIGKILL` if it was
//! `kill_on_drop`) becomes an *orphan*:
//!
//! * a pidfd orphan is watched by a small detached task on the runtime
//!   the child was spawned on, which reaps it when the pidfd turns
//!   readable. If that runtime is not the current one or is shutting
//!   down (or is dropped before the child exits), the pidfd moves to a
//!   process-wide list instead, which every [`Command::spawn`] and every
//!   new orphan sweeps with a nonblocking `waitid`: exited entries are
//!   reaped and removed. The list holds only children still running whose
//!   runtime is gone, and each sweep empties it of the exited ones, so
//!   zombies cannot pile up while the program goes on spawning; a
//!   program that stops spawning may keep the last few zombies until it
//!   exits.
//! * a fallback orphan is reaped by its own waiter job, which needs no
//!   runtime: the shared state says the `Child` is gone.
//!
//! [`Command::spawn`]: super::Command::spawn

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitStatus;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::thread;

use crate::coop;
use crate::executor::{context, Core};
use crate::reactor::{Direction, Interest, Registration};
use crate::sync::oneshot;
use crate::sys::pidfd::{self as sys, PidFd};

/// How a child's exit is learned; see the module docs.
#[derive(Debug)]
pub(crate) enum Exit {
    /// A pidfd on the reactor.
    PidFd(Registration<PidFd>),
    /// A waiter on the blocking pool.
    Blocking(Fallback),
    /// Reaped, with this status.
    Reaped(ExitStatus),
}

impl Exit {
    /// Starts watching child `pid`, with a pidfd if `use_pidfd` and the
    /// kernel has them, else with the fallback.
    ///
    /// # Errors
    ///
    /// If neither can be set up (no fd left and no pool thread can be
    /// started). The child is then killed and reaped before this returns,
    /// so nothing is left behind.
    pub(crate) fn watch(core: &Core, pid: u32, use_pidfd: bool) -> io::Result<Exit> {
        if use_pidfd {
            let registered = PidFd::open(pid).and_then(|pidfd| {
                Registration::with_interest(pidfd, core.reactor.clone(), Interest::READABLE)
            });
            if let Ok(registration) = registered {
                return Ok(Exit::PidFd(registration));
            }
            // ENOSYS (an old kernel, or a seccomp filter), EMFILE, or a
            // shut-down reactor: the fallback needs no fd and no reactor.
        }
        match Fallback::start(core, pid) {
            Ok(fallback) => Ok(Exit::Blocking(fallback)),
            Err(e) => {
                // Nobody could ever reap the child: end it now. A killed
                // child exits within moments, so this blocks only briefly.
                let _ = sys::kill(pid);
                let _ = sys::wait_exited(pid);
                let _ = sys::try_reap(pid);
                Err(e)
            }
        }
    }

    /// Ready with the exit status once the child has exited (reaping it),
    /// charging the cooperative budget.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let status = match self {
            Exit::Reaped(status) => {
                ready!(coop::poll_proceed(cx));
                return Poll::Ready(Ok(*status));
            }
            Exit::PidFd(registration) => loop {
                ready!(registration.poll_ready(cx, Direction::Read))?;
                match registration
                    .get_ref()
                    .try_wait()
                    .map_err(sys::explain_echild)?
                {
                    Some(status) => break status,
                    // Readable only on exit, so not seen in practice; wait
                    // for the next report rather than spin.
                    None => registration.clear_readiness(Direction::Read),
                }
            },
            Exit::Blocking(fallback) => ready!(fallback.poll_wait(cx))?,
        };
        // Dropping the registration closes the pidfd.
        *self = Exit::Reaped(status);
        Poll::Ready(Ok(status))
    }

    /// Reaps the child if it has exited, without waiting.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let status = match self {
            Exit::Reaped(status) => return Ok(Some(*status)),
            Exit::PidFd(registration) => registration.get_ref().try_wait(),
            Exit::Blocking(fallback) => fallback.try_wait(),
        };
        let status = status.map_err(sys::explain_echild)?;
        if let Some(status) = status {
            *self = Exit::Reaped(status);
        }
        Ok(status)
    }

    /// Sends `SIGKILL`, unless the child was reaped already (then it is
    /// `Ok`: there is nothing to kill).
    pub(crate) fn kill(&mut self) -> io::Result<()> {
        match self {
            Exit::Reaped(_) => Ok(()),
            Exit::PidFd(registration) => registration.get_ref().kill(),
            Exit::Blocking(fallback) => fallback.kill(),
        }
    }

    /// Whether the child was reaped.
    pub(crate) fn is_reaped(&self) -> bool {
        matches!(self, Exit::Reaped(_))
    }

    /// The `Child` is gone: kill the process first if `kill`, then reap it
    /// now if it has exited, or leave it to be reaped as an orphan.
    pub(crate) fn orphan(mut self, kill: bool) {
        if kill {
            let _ = self.kill();
        }
        match self {
            Exit::Reaped(_) => {}
            Exit::PidFd(registration) => orphan_pidfd(registration),
            Exit::Blocking(fallback) => fallback.orphan(),
        }
    }
}

/// The fallback's state, shared by the `Child` and its waiter job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The `Child` is alive and has not reaped the process.
    Running,
    /// Reaped (by the `Child`, or by the waiter for an orphan).
    Reaped,
    /// The `Child` was dropped before the process was reaped: the waiter
    /// reaps it.
    Orphaned,
}

/// The fallback: a waiter job on the blocking pool; see the module docs.
#[derive(Debug)]
pub(crate) struct Fallback {
    /// The child's pid.
    ///
    /// # Invariant
    ///
    /// While `state` is not `Reaped`, an unreaped child of ours, so
    /// signalling or reaping it by pid hits no other process. Every
    /// `waitpid` and `kill` on it happens with `state` locked.
    pid: u32,
    /// Who reaps; see [`State`].
    state: Arc<Mutex<State>>,
    /// Completes when the waiter saw the exit; `None` once it did.
    exited: Option<oneshot::Receiver<thread::Result<io::Result<()>>>>,
}

impl Fallback {
    /// Submits the waiter job for `pid` to `core`'s blocking pool.
    fn start(core: &Core, pid: u32) -> io::Result<Fallback> {
        let state = Arc::new(Mutex::new(State::Running));
        let shared = state.clone();
        let exited = core.shared.blocking.run(move || {
            // Blocks until the child exits, without reaping it: `ECHILD`
            // only if the `Child` reaped it first (through `try_wait`).
            let result = sys::wait_exited(pid);
            let mut state = lock(&shared);
            if *state == State::Orphaned {
                let _ = sys::try_reap(pid);
                *state = State::Reaped;
            }
            result
        })?;
        Ok(Fallback {
            pid,
            state,
            exited: Some(exited),
        })
    }

    /// Reaps the child once the waiter says it has exited.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(exited) = &mut self.exited {
            let result = ready!(Pin::new(exited).poll(cx));
            self.exited = None;
            match result {
                Ok(Ok(Ok(()))) => {}
                // ECHILD: `try_wait` may have reaped it meanwhile; the
                // reap below says which.
                Ok(Ok(Err(_))) => {}
                Ok(Err(_)) | Err(_) => {
                    return Poll::Ready(Err(io::Error::other(
                        "the blocking-pool waiter of a child process was lost",
                    )))
                }
            }
        }
        Poll::Ready(match self.try_wait() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err(io::Error::other(
                "the child had exited, but reaping it found it running",
            )),
            Err(e) => Err(e),
        })
    }

    /// Reaps the child if it has exited.
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let mut state = lock(&self.state);
        match *state {
            State::Running => {
                let status = sys::try_reap(self.pid)?;
                if status.is_some() {
                    *state = State::Reaped;
                }
                Ok(status)
            }
            State::Reaped | State::Orphaned => Err(io::Error::other(
                "the fallback waiter reaped the child already",
            )),
        }
    }

    /// Sends `SIGKILL` unless the child was reaped.
    fn kill(&self) -> io::Result<()> {
        let state = lock(&self.state);
        match *state {
            State::Running => sys::kill(self.pid),
            State::Reaped | State::Orphaned => Ok(()),
        }
    }

    /// Reaps the child now if it has exited, else leaves it to the waiter.
    fn orphan(self) {
        let mut state = lock(&self.state);
        if *state == State::Running {
            *state = match sys::try_reap(self.pid) {
                Ok(None) => State::Orphaned,
                Ok(Some(_)) | Err(_) => State::Reaped,
            };
        }
    }
}

/// Locks a fallback state. Nothing under the lock panics, so a poisoned
/// lock is still consistent.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Orphaned pidfds whose runtime is gone (or was not current when their
/// `Child` was dropped); see the module docs.
static DETACHED: Mutex<Vec<PidFd>> = Mutex::new(Vec::new());

/// Locks [`DETACHED`]; nothing under the lock panics.
fn detached() -> MutexGuard<'static, Vec<PidFd>> {
    DETACHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reaps the detached orphans that have exited and forgets them (also
/// those that turn out reaped elsewhere).
pub(crate) fn sweep() {
    let mut list = detached();
    if !list.is_empty() {
        list.retain(|pidfd| matches!(pidfd.try_wait(), Ok(None)));
    }
}

/// How many detached orphans are left (for tests).
#[doc(hidden)]
pub fn detached_orphans() -> usize {
    detached().len()
}

/// Keeps `pidfd` in [`DETACHED`] unless its child has exited (then it is
/// reaped now).
fn detach(pidfd: PidFd) {
    if let Ok(None) = pidfd.try_wait() {
        detached().push(pidfd);
    }
}

/// Watches an orphaned pidfd from a task of its runtime, or detaches it.
fn orphan_pidfd(registration: Registration<PidFd>) {
    sweep();
    if let Ok(Some(_)) | Err(_) = registration.get_ref().try_wait() {
        return;
    }
    let watchable = context::try_current()
        .filter(|core| Rc::ptr_eq(&core.reactor, registration.reactor()))
        .filter(|core| !core.reactor.is_shut_down());
    match watchable {
        // Spawned while the runtime drops its tasks, the task is dropped at
        // once, which detaches the pidfd.
        Some(core) => drop(core.spawn(Orphan(Some(registration)))),
        None => detach(registration.into_inner()),
    }
}

/// The task that reaps an orphan when its pidfd turns readable. Dropped
/// unfinished (its runtime is dropped), it detaches the pidfd.
#[derive(Debug)]
struct Orphan(
    /// The pidfd, until the child is reaped.
    Option<Registration<PidFd>>,
);

impl Future for Orphan {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(registration) = &self.0 else {
            return Poll::Ready(());
        };
        loop {
            if ready!(registration.poll_ready(cx, Direction::Read)).is_err() {
                // The runtime is gone: `Drop` detaches the pidfd.
                return Poll::Ready(());
            }
            match registration.get_ref().try_wait() {
                Ok(None) => registration.clear_readiness(Direction::Read),
                Ok(Some(_)) | Err(_) => {
                    self.0 = None;
                    return Poll::Ready(());
                }
            }
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(registration) = self.0.take() {
            detach(registration.into_inner());
        }
    }
}
