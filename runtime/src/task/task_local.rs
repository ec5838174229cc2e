//! Task-local values: [`task_local!`](crate::task_local), [`LocalKey`] and
//! the future of [`LocalKey::scope`].
//!
//! A task-local value is set for the duration of a future: each time the
//! future is polled, the value is moved into a thread-local slot, and moved
//! back out when the poll returns. So code called from anywhere inside the
//! future sees it, and code of other tasks (polled in between) does not.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey as StdLocalKey;

use pin_project_lite::pin_project;

/// Declares task-local values, as tokio's `task_local!` does.
///
/// # Examples
///
/// ```
/// runtime::task_local! {
///     /// The request being served.
///     static REQUEST_ID: u64;
/// }
///
/// runtime::block_on(async {
///     let seen = REQUEST_ID
///         .scope(42, async { REQUEST_ID.get() })
///         .await;
///     assert_eq!(seen, 42);
///     assert!(REQUEST_ID.try_with(|_| ()).is_err(), "outside its scope");
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

/// The expansion of one [`task_local!`] item.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey::__new(&__SLOT)
        };
    };
}

/// A key to a task-local value, made by [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    /// The thread-local slot the value lives in while its future is polled.
    slot: &'static StdLocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// The error of [`LocalKey::try_with`]: no scope of the key is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set: called outside its scope")
    }
}

impl Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    /// Used by [`task_local!`](crate::task_local).
    #[doc(hidden)]
    pub const fn __new(slot: &'static StdLocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { slot }
    }

    /// Runs `future` with the key set to `value`.
    ///
    /// The returned future is as cancel-safe as `future`; dropping it
    /// drops the value.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Some(value),
            future,
        }
    }

    /// Runs `f` with the key set to `value`, synchronously.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::task_local! { static DEPTH: u32; }
    /// assert_eq!(DEPTH.sync_scope(3, || DEPTH.get()), 3);
    /// ```
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let mut value = Some(value);
        let _entered = Entered::enter(self, &mut value);
        f()
    }

    /// Runs `f` with a reference to the value.
    ///
    /// # Panics
    ///
    /// Outside a scope of the key; [`try_with`](LocalKey::try_with) does
    /// not.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `f` with a reference to the value, if a scope of the key is
    /// running.
    ///
    /// # Errors
    ///
    /// [`AccessError`] outside a scope.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.slot
            .try_with(|slot| {
                let slot = slot.borrow();
                slot.as_ref().map(f).ok_or(AccessError(()))
            })
            .unwrap_or(Err(AccessError(())))
    }

    /// A copy of the value.
    ///
    /// # Panics
    ///
    /// Outside a scope of the key.
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

/// The value moved into its slot for one poll, and back out when dropped
/// (also when the poll panics).
struct Entered<'a, T: 'static> {
    /// The key.
    key: &'static LocalKey<T>,
    /// Where the value goes back to.
    value: &'a mut Option<T>,
}

impl<'a, T: 'static> Entered<'a, T> {
    /// Moves `value` into `key`'s slot, keeping what was there (an outer
    /// scope of the same key) in `value` until the guard is dropped.
    fn enter(key: &'static LocalKey<T>, value: &'a mut Option<T>) -> Entered<'a, T> {
        key.slot
            .with(|slot| std::mem::swap(&mut *slot.borrow_mut(), value));
        Entered { key, value }
    }
}

impl<T: 'static> Drop for Entered<'_, T> {
    fn drop(&mut self) {
        // If the thread-local is gone (thread exit), the value stays lost
        // with it; nothing else can be done in a `Drop`.
        let _ = self
            .key
            .slot
            .try_with(|slot| std::mem::swap(&mut *slot.borrow_mut(), self.value));
    }
}

pin_project! {
    /// The future of [`LocalKey::scope`].
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        value: Option<T>,
        #[pin]
        future: F,
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").finish_non_exhaustive()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = Entered::enter(this.key, this.value);
        this.future.poll(cx)
    }
}
