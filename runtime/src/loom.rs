//! The synchronisation types the [`sync`](crate::sync) primitives are built
//! on: std's in a normal build, [loom]'s under `cfg(loom)`.
//!
//! loom runs a test closure under every interleaving of its threads that
//! matters (bounded by `LOOM_MAX_PREEMPTIONS`), so a lost wakeup or a data
//! race that a stress test would hit once a month fails at once. It can
//! only see what goes through its own types, so the primitives take their
//! `Arc`, `Mutex`, `RwLock`, atomics, `UnsafeCell` and `thread` from here,
//! under the same names in both builds. The models are in
//! `tests/loom_*.rs`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p runtime --release --test 'loom_*'
//! ```
//!
//! Under `cfg(loom)` the whole crate builds (a runtime built under loom is
//! not usable outside `loom::model`). The sync primitives, the executor's
//! cross-thread state (`executor/waker.rs`, `executor/remote.rs`) and the
//! blocking pool run on loom's types; the reactor keeps std's and is not
//! exercised by the models, since loom cannot model `epoll_wait`. Two
//! stand-ins make the remote wake path visible to loom: [`Ring`] replaces
//! crossbeam's lock-free `ArrayQueue` (which loom cannot see into), and
//! the eventfd `Notifier` becomes a loom-visible flag
//! ([`ModelEventfd`]). `crate::loom_model` exposes the pieces to
//! `tests/loom_executor.rs`. Public signatures never change: a
//! `lock_owned(self: Arc<Self>)` takes std's `Arc` in both builds, and a
//! waker is always std's (loom's `block_on` supplies one that is
//! loom-aware).
//!
//! loom's types cannot be built in a constant, so a constructor that is a
//! `const fn` in a normal build is a plain `fn` under loom
//! ([`const_fn_unless_loom!`]).
//!
//! [loom]: https://docs.rs/loom

#[cfg(not(loom))]
pub(crate) use std::sync::{atomic, Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::sync::{atomic, Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Defines a constructor as a `const fn` in a normal build and as a plain
/// `fn` under loom, whose types cannot be built in a constant. The body is
/// written once.
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $name:ident ($($args:tt)*) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[cfg(not(loom))]
        $vis const fn $name($($args)*) -> $ret $body

        $(#[$attr])*
        #[cfg(loom)]
        $vis fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use const_fn_unless_loom;

/// An `UnsafeCell` whose accesses loom can check: every access goes through
/// [`with`](UnsafeCell::with) (shared) or [`with_mut`](UnsafeCell::with_mut)
/// (exclusive), and under loom two accesses that race (one of them
/// exclusive, with no happens-before between them) fail the model.
///
/// The pointer handed to the closure is std's raw pointer; dereferencing it
/// is the caller's `unsafe`, justified by the lock or flag that guards the
/// cell.
pub(crate) struct UnsafeCell<T: ?Sized> {
    /// The cell: std's, or loom's tracking one.
    #[cfg(not(loom))]
    inner: std::cell::UnsafeCell<T>,
    /// The cell: std's, or loom's tracking one.
    #[cfg(loom)]
    inner: loom::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    const_fn_unless_loom! {
        /// A cell holding `value`.
        pub(crate) fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell {
                #[cfg(not(loom))]
                inner: std::cell::UnsafeCell::new(value),
                #[cfg(loom)]
                inner: loom::cell::UnsafeCell::new(value),
            }
        }
    }

    /// The value, taken out of the cell.
    pub(crate) fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a pointer for reading the value.
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.inner.get())
    }

    /// Runs `f` with a pointer for reading the value.
    #[cfg(loom)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.inner.with(f)
    }

    /// Runs `f` with a pointer for writing the value.
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.inner.get())
    }

    /// Runs `f` with a pointer for writing the value.
    #[cfg(loom)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.inner.with_mut(f)
    }

    /// The value, through an exclusive borrow of the cell.
    #[cfg(not(loom))]
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The value, through an exclusive borrow of the cell.
    #[cfg(loom)]
    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves that no other access to the cell
        // exists, for as long as the returned borrow lives.
        self.inner.with_mut(|value| unsafe { &mut *value })
    }
}

/// Under loom, the stand-in for crossbeam's `ArrayQueue` in the remote run
/// queue: the same interface (bounded, `push` gives the value back when
/// full), built on loom's `Mutex` so that loom sees every hand-off. loom
/// cannot look inside crossbeam's atomics, so the model checks the
/// protocol around the ring (queued flag, overflow, `ring_pending`, the
/// eventfd), not the ring's own lock-free code, which crossbeam tests.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Ring<T> {
    /// The slots, oldest first.
    slots: Mutex<std::collections::VecDeque<T>>,
    /// How many fit.
    capacity: usize,
}

#[cfg(loom)]
impl<T> Ring<T> {
    /// An empty ring of `capacity` slots.
    pub(crate) fn new(capacity: usize) -> Ring<T> {
        Ring {
            slots: Mutex::new(std::collections::VecDeque::new()),
            capacity,
        }
    }

    /// Adds `value`, or gives it back if the ring is full.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut slots = self.slots.lock().unwrap();
        if slots.len() >= self.capacity {
            return Err(value);
        }
        slots.push_back(value);
        Ok(())
    }

    /// The oldest value, if any.
    pub(crate) fn pop(&self) -> Option<T> {
        self.slots.lock().unwrap().pop_front()
    }

    /// True if no value is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.lock().unwrap().is_empty()
    }
}

/// Under loom, the eventfd's part in the remote wake path: a `notify` sets
/// the flag, and the runtime's turn ([`wait`](ModelEventfd::wait)) either
/// blocks until it is set (an `epoll_wait` without timeout) or only looks
/// (a timeout of zero), and reports and clears it: edge-triggered epoll
/// reports each notification after the last turn that returned it once. A
/// lost wake then leaves the runtime's thread blocked for good, which loom
/// reports as a deadlock.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct ModelEventfd {
    /// True from a `notify` until a turn reports it.
    signalled: Mutex<bool>,
    /// Signalled by `notify`.
    condvar: Condvar,
}

#[cfg(loom)]
impl ModelEventfd {
    /// What a write to the eventfd does.
    pub(crate) fn notify(&self) {
        *self.signalled.lock().unwrap() = true;
        self.condvar.notify_all();
    }

    /// What one turn sees of the eventfd: true if it fired. With `block`,
    /// waits until it does.
    pub(crate) fn wait(&self, block: bool) -> bool {
        let mut signalled = self.signalled.lock().unwrap();
        while block && !*signalled {
            signalled = self.condvar.wait(signalled).unwrap();
        }
        std::mem::take(&mut *signalled)
    }
}
