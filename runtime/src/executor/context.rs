//! The thread-local "current runtime", set for the duration of `block_on`.
//!
//! Free functions (`spawn`, `sleep`, `TcpStream::connect`) find their
//! runtime here, and a waker fired on the runtime's own thread uses it to
//! push onto the local run queue instead of ringing the eventfd.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::waker::{Shared, TaskId};
use super::Core;

/// The panic message of `spawn`, `sleep` and friends outside a runtime.
pub(crate) const NO_RUNTIME: &str = "no runtime is running on this thread: \
     `spawn`, timers and sockets must be created inside `runtime::block_on`";

/// The panic message of `block_on` inside `block_on`.
pub(crate) const NESTED_BLOCK_ON: &str = "`block_on` was called from inside a running runtime: \
     it would block the thread that drives that runtime; `.await` the future or `spawn` it instead";

thread_local! {
    /// The runtime whose `block_on` (or drop) is running on this thread.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Makes a runtime current until dropped, then restores what was current
/// before.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    /// What to put back on drop; `None` if the thread-local is gone (the
    /// thread is exiting) and nothing was changed.
    previous: Option<Option<Rc<Core>>>,
}

/// Makes `core` the current runtime.
///
/// # Panics
///
/// If a runtime is already current on this thread ([`NESTED_BLOCK_ON`]).
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    let guard = enter_for_drop(core);
    if let Some(Some(_)) = &guard.previous {
        drop(guard); // puts the outer runtime back before unwinding
        panic!("{}", NESTED_BLOCK_ON);
    }
    guard
}

/// Makes `core` current whatever was current before (which the guard
/// restores). Used when dropping a runtime, which may happen inside another
/// runtime's `block_on` or while the thread's locals are being destroyed:
/// a `spawn` from a dropped task's `Drop` must reach the runtime being
/// dropped, never another one.
pub(crate) fn enter_for_drop(core: &Rc<Core>) -> EnterGuard {
    let previous = CURRENT
        .try_with(|current| current.replace(Some(core.clone())))
        .ok();
    EnterGuard { previous }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Nothing on this thread is budgeted once the runtime stops
        // running (or unwinds).
        crate::coop::lift();
        if let Some(previous) = self.previous.take() {
            // Drop our handle only after the borrow ends.
            let ours = CURRENT.try_with(|current| current.replace(previous));
            drop(ours);
        }
    }
}

/// The current runtime.
///
/// # Panics
///
/// Outside a runtime ([`NO_RUNTIME`]).
pub(crate) fn current() -> Rc<Core> {
    try_current().expect(NO_RUNTIME)
}

/// The current runtime, if any.
pub(crate) fn try_current() -> Option<Rc<Core>> {
    CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
}

/// Runs `f` with the current runtime, without cloning its handle; `None`
/// outside a runtime (or while the thread is exiting). `f` must not enter
/// or leave a runtime.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| match current.try_borrow() {
            Ok(current) => current.as_deref().map(f),
            Err(_) => None,
        })
        .ok()
        .flatten()
}

/// Pushes `id` onto the local run queue if the runtime that owns `shared`
/// is current on this thread. Returns false otherwise (another thread, no
/// runtime, or the thread is exiting), and the caller takes the remote path.
pub(crate) fn push_local(shared: &Arc<Shared>, id: TaskId) -> bool {
    CURRENT
        .try_with(|current| match current.try_borrow() {
            Ok(current) => match &*current {
                Some(core) if Arc::ptr_eq(&core.shared, shared) => {
                    core.schedule(id);
                    true
                }
                _ => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false)
}
