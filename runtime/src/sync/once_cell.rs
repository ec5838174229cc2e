//! [`OnceCell`]: a value set at most once, initialised by an async
//! function.

use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{const_fn_unless_loom, UnsafeCell};

use super::permits::{Permits, TryAcquire};

/// A cell that is written at most once and then read by everyone, like
/// `std::sync::OnceLock`, but initialised by an `async` function.
///
/// When several tasks call [`get_or_init`](OnceCell::get_or_init) at once,
/// one runs its initialiser and the others wait for it (in line, without
/// running theirs). If the initialiser is cancelled (its future dropped) or
/// fails ([`get_or_try_init`](OnceCell::get_or_try_init)), the next waiting
/// task runs its own.
///
/// `OnceCell<T>` is `Sync` when `T: Send + Sync`: one thread may set it
/// and every thread read it.
///
/// # Examples
///
/// ```
/// use runtime::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
///
/// async fn load() -> String {
///     runtime::task::yield_now().await; // read a file, say
///     "port=6666".to_string()
/// }
///
/// runtime::block_on(async {
///     assert_eq!(CONFIG.get_or_init(load).await, "port=6666");
///     assert_eq!(CONFIG.get().map(String::as_str), Some("port=6666"));
/// });
/// ```
pub struct OnceCell<T> {
    /// True once `value` holds a value (set with `Release`, after writing).
    set: AtomicBool,
    /// The value.
    ///
    /// # Invariant
    ///
    /// Initialised exactly when `set` is true. It is written only by the
    /// holder of `init`'s one permit, before `set` is stored and `init`
    /// closed; after that it is only read (or taken through `&mut self`).
    value: UnsafeCell<MaybeUninit<T>>,
    /// One permit, held by whoever initialises; closed once the value is
    /// set, which releases every waiter.
    init: Permits,
}

// SAFETY: the cell owns a `T` and hands it over with itself.
unsafe impl<T: Send> Send for OnceCell<T> {}
// SAFETY: a shared cell lets one thread store a `T` (`T: Send`) and every
// thread read `&T` (`T: Sync`); the writes are ordered before every read by
// `set`'s Release store and Acquire loads.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// The error of [`OnceCell::set`], giving the value back.
///
/// # Examples
///
/// ```
/// use runtime::sync::{OnceCell, SetError};
///
/// let cell = OnceCell::new();
/// cell.set(1).unwrap();
/// assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another task is initialising the cell right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True for [`SetError::AlreadyInitializedError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new_with(Some(1));
    /// assert!(cell.set(2).unwrap_err().is_already_init_err());
    /// ```
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True for [`SetError::InitializingError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new_with(Some(1));
    /// assert!(!cell.set(2).unwrap_err().is_initializing_err());
    /// ```
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("cell already initialized"),
            SetError::InitializingError(_) => f.write_str("cell is being initialized"),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

/// Holds the initialisation permit; gives it back if dropped, so that a
/// cancelled or failed initialiser lets the next one try.
struct Initialising<'a, T> {
    /// The cell being initialised.
    cell: &'a OnceCell<T>,
}

impl<'a, T> Initialising<'a, T> {
    /// Stores `value` and releases every waiter; returns the stored value.
    fn finish(self, value: T) -> &'a T {
        let cell = self.cell;
        std::mem::forget(self);
        // SAFETY: this holds the one init permit and `set` is false (it was
        // checked after taking the permit), so nobody reads or writes the
        // value meanwhile (the invariant on `value`).
        cell.value.with_mut(|slot| unsafe { (*slot).write(value) });
        cell.set.store(true, Ordering::Release);
        // Every waiter, and every later initialiser, now fails to acquire
        // and finds the value.
        cell.init.close();
        // SAFETY: just set.
        unsafe { cell.get_unchecked() }
    }
}

impl<T> Drop for Initialising<'_, T> {
    fn drop(&mut self) {
        self.cell.init.release(1);
    }
}

impl<T> OnceCell<T> {
    const_fn_unless_loom! {
        /// An empty cell. It is a `const fn`, so a cell can be a `static`.
        ///
        /// # Examples
        ///
        /// ```
        /// let cell = runtime::sync::OnceCell::<u8>::new();
        /// assert!(!cell.initialized());
        /// ```
        pub fn new() -> OnceCell<T> {
            OnceCell {
                set: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
                init: Permits::new(1),
            }
        }
    }

    /// A cell holding `value`, or empty for `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new_with(Some(3));
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            // A fresh cell has nobody initialising it.
            let _ = cell.set(value);
        }
        cell
    }

    /// True once the cell holds a value.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new();
    /// cell.set(()).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// The value, if set; does not wait for an initialiser in progress.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(5).unwrap();
    /// assert_eq!(cell.get(), Some(&5));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `set` was seen true with Acquire.
            Some(unsafe { self.get_unchecked() })
        } else {
            None
        }
    }

    /// The value.
    ///
    /// # Safety
    ///
    /// `set` must have been seen true with `Acquire` ordering (or through
    /// `&mut self`), so the value is initialised and its write is visible.
    unsafe fn get_unchecked(&self) -> &T {
        // SAFETY: the caller saw `set`, so the value is initialised, and it
        // is never written again while shared (the invariant on `value`).
        self.value.with(|slot| unsafe { (*slot).assume_init_ref() })
    }

    /// The value, through an exclusive borrow of the cell.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cell = runtime::sync::OnceCell::new_with(Some(1));
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: `&mut self` is the only access, and `set` says the
            // value is initialised.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Sets the value if the cell is empty and nobody is initialising it.
    ///
    /// # Errors
    ///
    /// [`SetError::AlreadyInitializedError`] if the cell holds a value;
    /// [`SetError::InitializingError`] if an initialiser is running. Both
    /// give `value` back.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new();
    /// assert!(cell.set("a").is_ok());
    /// assert!(cell.set("b").is_err());
    /// assert_eq!(cell.get(), Some(&"a"));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.init.try_acquire(1) {
            Ok(()) => {
                let initialising = Initialising { cell: self };
                if self.initialized() {
                    return Err(SetError::AlreadyInitializedError(value));
                }
                initialising.finish(value);
                Ok(())
            }
            Err(TryAcquire::Closed) => Err(SetError::AlreadyInitializedError(value)),
            Err(TryAcquire::NoPermits) => Err(SetError::InitializingError(value)),
        }
    }

    /// The value, running `init` first if the cell is empty. If another
    /// task is initialising the cell, waits for it instead; if that one is
    /// cancelled, the first task waiting runs its own `init`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a task dropped while waiting gives its place up, and
    /// one dropped while running `init` lets the next waiter initialise.
    /// (What `init` had done by then is up to `init`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// runtime::block_on(async {
    ///     let cell = OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    ///     assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1); // not run
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(init().await) })
            .await
        {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init), for an initialiser
    /// that may fail: on `Err` the cell stays empty, the error is
    /// returned, and the next waiting task tries its own initialiser.
    ///
    /// # Errors
    ///
    /// The error of `init`, if this task ran it and it failed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`get_or_init`](OnceCell::get_or_init) is.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// runtime::block_on(async {
    ///     let cell = OnceCell::new();
    ///     let failed = cell.get_or_try_init(|| async { Err("offline") }).await;
    ///     assert_eq!(failed, Err("offline"));
    ///     let ok = cell.get_or_try_init(|| async { Ok::<_, &str>(7) }).await;
    ///     assert_eq!(ok, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        // Wait in line for the right to initialise; a closed `init` means
        // the value was set meanwhile.
        if self.init.acquire(1).await.is_err() {
            // SAFETY: `init` is closed only after `set` was stored, and the
            // close and this acquire's failure are ordered by its mutex.
            return Ok(unsafe { self.get_unchecked() });
        }
        let initialising = Initialising { cell: self };
        // Set while this task waited for the permit (by `set`)?
        if let Some(value) = self.get() {
            return Ok(value);
        }
        // Dropping `initialising` (on `Err`, or if this future is dropped
        // while `init` runs) hands the permit to the next waiter.
        let value = init().await?;
        Ok(initialising.finish(value))
    }

    /// Consumes the cell and returns its value, if set.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = runtime::sync::OnceCell::new_with(Some("v"));
    /// assert_eq!(cell.into_inner(), Some("v"));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut cell = runtime::sync::OnceCell::new_with(Some(1));
    /// assert_eq!(cell.take(), Some(1));
    /// assert!(!cell.initialized());
    /// assert!(cell.set(2).is_ok());
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.set.store(false, Ordering::Relaxed);
        // SAFETY: `&mut self` is the only access, and the value was
        // initialised; `set` is false now, so it is never read again.
        let value = unsafe { self.value.get_mut().assume_init_read() };
        // Reopen initialisation: a fresh semaphore of one permit.
        self.init = Permits::new(1);
        Some(value)
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: `&mut self` is the only access, and the value is
            // initialised; it is dropped exactly once, here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}
