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

/// Makes a runtime current until dropped.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    /// Whether this guard set the context (and so must clear it).
    entered: bool,
}

/// Makes `core` the current runtime.
///
/// # Panics
///
/// If a runtime is already current on this thread ([`NESTED_BLOCK_ON`]).
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    let guard = try_enter(core);
    assert!(guard.entered, "{}", NESTED_BLOCK_ON);
    guard
}

/// Makes `core` current unless another runtime already is; used when
/// dropping a runtime, which may happen anywhere.
pub(crate) fn try_enter(core: &Rc<Core>) -> EnterGuard {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            return EnterGuard { entered: false };
        }
        *current = Some(core.clone());
        EnterGuard { entered: true }
    })
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if self.entered {
            // Take it out first and drop it after the borrow ends.
            let core = CURRENT.with(|current| current.borrow_mut().take());
            drop(core);
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
