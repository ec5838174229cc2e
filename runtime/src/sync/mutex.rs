//! [`Mutex`]: an async mutex whose guard may be held across `.await`.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::loom::{const_fn_unless_loom, UnsafeCell};

use super::block_on_thread;
use super::permits::Permits;

/// The invariant behind the `expect`s on a mutex's acquire.
const NEVER_CLOSED: &str = "a mutex's semaphore is never closed";

/// An async mutual-exclusion lock: one task (or thread) at a time gets the
/// guard, and may hold it across `.await`.
///
/// Tasks that wait get the lock in the order they asked for it (it is
/// *fair*): an unlock hands the lock straight to the task that has waited
/// longest, so a task that locks and unlocks in a loop cannot starve the
/// others. A `lock()` that is dropped while waiting leaves the line, and if
/// the lock had already been handed to it, passes it on to the next task.
///
/// Prefer `std::sync::Mutex` when the lock is never held across an
/// `.await`: it is cheaper still. This one is for the cases where the
/// critical section itself waits (a connection shared by several tasks,
/// say).
///
/// `Mutex<T>` is `Send + Sync` when `T: Send`: tasks on other threads and
/// other runtimes may share it through an `Arc`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Mutex;
///
/// runtime::block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let count = count.clone();
///             runtime::spawn(async move {
///                 let mut guard = count.lock().await;
///                 runtime::task::yield_now().await; // held across an await
///                 *guard += 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    /// One permit: whoever holds it holds the lock.
    permits: Permits,
    /// The data; accessed only by the permit's holder.
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands the `T` from thread to thread, one holder at a
// time, so `T: Send` suffices for both: a shared `&Mutex<T>` never gives
// two threads access to the `T` at once.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The error of [`Mutex::try_lock`]: the lock is held (or promised to a
/// task that waits for it).
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
///
/// let mutex = Mutex::new(());
/// let _guard = mutex.try_lock().unwrap();
/// let err = mutex.try_lock().unwrap_err();
/// assert_eq!(err.to_string(), "operation would block");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    const_fn_unless_loom! {
        /// An unlocked mutex holding `value`.
        ///
        /// It is a `const fn`, so a mutex can be a `static`.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::sync::Mutex;
        ///
        /// static LOG: Mutex<Vec<&str>> = Mutex::new(Vec::new());
        ///
        /// runtime::block_on(async {
        ///     LOG.lock().await.push("started");
        ///     assert_eq!(LOG.lock().await.len(), 1);
        /// });
        /// ```
        pub fn new(value: T) -> Mutex<T> {
            Mutex {
                permits: Permits::new(1),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let mutex = runtime::sync::Mutex::new(String::from("x"));
    /// assert_eq!(mutex.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock and returns its guard; the lock is released when
    /// the guard is dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: dropping the future before it completes
    /// gives up its place in line, and if the lock had already been handed
    /// to it, the lock passes to the next waiter (or is released).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// runtime::block_on(async {
    ///     let mutex = Mutex::new(1);
    ///     *mutex.lock().await += 1;
    ///     assert_eq!(*mutex.lock().await, 2);
    /// });
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.permits.acquire(1).await.expect(NEVER_CLOSED);
        MutexGuard { lock: self }
    }

    /// Like [`lock`](Mutex::lock), for a mutex in an `Arc`: the guard keeps
    /// the `Arc` and borrows nothing, so it may be moved into a spawned
    /// task or stored.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Mutex::lock) is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Mutex;
    ///
    /// runtime::block_on(async {
    ///     let mutex = Arc::new(Mutex::new(0));
    ///     let mut guard = mutex.clone().lock_owned().await;
    ///     let task = runtime::spawn(async move {
    ///         *guard = 5; // the guard moved into the task
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(*mutex.lock().await, 5);
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.permits.acquire(1).await.expect(NEVER_CLOSED);
        OwnedMutexGuard { lock: self }
    }

    /// Takes the lock if it is free and nobody waits for it, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or promised to a waiting task.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// assert!(mutex.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.permits.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Like [`try_lock`](Mutex::try_lock), for a mutex in an `Arc`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or promised to a waiting task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let guard = mutex.clone().try_lock_owned().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.permits.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock on a plain thread, blocking it.
    ///
    /// # Panics
    ///
    /// On a thread that is running a runtime: it would stop driving the
    /// very tasks that may hold the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(0));
    /// let other = mutex.clone();
    /// std::thread::spawn(move || *other.blocking_lock() += 1)
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(*mutex.blocking_lock(), 1);
    /// ```
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        block_on_thread(self.lock())
    }

    /// The value, through an exclusive borrow of the mutex: no locking
    /// needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut mutex = runtime::sync::Mutex::new(1);
    /// *mutex.get_mut() = 2;
    /// assert_eq!(mutex.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The guard of a [`Mutex`] locked by [`lock`](Mutex::lock) or
/// [`try_lock`](Mutex::try_lock): it derefs to the value and unlocks when
/// dropped, handing the lock to the longest-waiting task.
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
///
/// runtime::block_on(async {
///     let mutex = Mutex::new(vec![1]);
///     let mut guard = mutex.lock().await;
///     guard.push(2);
///     drop(guard); // unlocks
///     assert_eq!(*mutex.lock().await, [1, 2]);
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The locked mutex.
    ///
    /// # Invariant
    ///
    /// This guard holds the mutex's one permit.
    lock: &'a Mutex<T>,
}

// SAFETY: a shared guard gives out `&T` only, to any thread holding a
// `&MutexGuard`, so it takes `T: Sync` (and `T: Send` for the mutex). The
// automatic impl would ask only `Mutex<T>: Sync`, which is `T: Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (the field's
        // invariant), so no other guard exists to write the data, and the
        // borrow is tied to `&self`.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the mutex's only permit, and the borrow
        // is tied to `&mut self`: it is the only access.
        self.lock.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.permits.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// The guard of a [`Mutex`] in an `Arc`, from
/// [`lock_owned`](Mutex::lock_owned): like [`MutexGuard`], but it owns an
/// `Arc` of the mutex instead of borrowing it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::{Mutex, OwnedMutexGuard};
///
/// runtime::block_on(async {
///     let mutex = Arc::new(Mutex::new(1));
///     let guard: OwnedMutexGuard<i32> = mutex.clone().lock_owned().await;
///     assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
///     assert_eq!(*guard, 1);
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    /// The locked mutex.
    ///
    /// # Invariant
    ///
    /// This guard holds the mutex's one permit.
    lock: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`: sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::{Mutex, OwnedMutexGuard};
    ///
    /// let mutex = Arc::new(Mutex::new(()));
    /// let guard = mutex.clone().try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
    /// ```
    pub fn mutex(this: &OwnedMutexGuard<T>) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (the field's
        // invariant), and the borrow is tied to `&self`.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the mutex's only permit, and the borrow
        // is tied to `&mut self`.
        self.lock.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.permits.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
