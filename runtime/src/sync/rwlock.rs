//! [`RwLock`]: an async reader-writer lock that does not starve writers.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::loom::{const_fn_unless_loom, UnsafeCell};

use super::permits::Permits;
use super::TryLockError;

/// How many readers may hold the lock at once: a reader takes one permit,
/// a writer takes them all.
const MAX_READS: usize = (u32::MAX >> 3) as usize;

/// The invariant behind the `expect`s on a lock's acquires.
const NEVER_CLOSED: &str = "an rwlock's semaphore is never closed";

/// An async reader-writer lock: any number of readers at once, or one
/// writer; guards may be held across `.await`.
///
/// It is **writer-preferring** and fair: tasks are served in the order
/// they asked. Once a writer waits, readers that come after it queue
/// behind it, so a steady stream of readers cannot starve a writer. (The
/// lock is a semaphore of many permits: a reader takes one, a writer takes
/// them all, waiting in line like any other acquire.)
///
/// `RwLock<T>` is `Send` when `T: Send` and `Sync` when `T: Send + Sync`.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// runtime::block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // readers share
///         assert_eq!(*r1 + *r2, 10);
///     }
///     *lock.write().await += 1; // a writer is alone
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// `MAX_READS` permits: one per reader, all of them for a writer.
    permits: Permits,
    /// The data: shared by the readers' permits, exclusive to a writer's.
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands the `T` to one writer at a time, so moving the
// lock moves a `T`: `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: sharing the lock lets several readers on several threads see
// `&T` at once (`T: Sync`) and a writer on any thread get `&mut T`
// (`T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    const_fn_unless_loom! {
        /// An unlocked lock holding `value`.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::sync::RwLock;
        ///
        /// static CONFIG: RwLock<u32> = RwLock::new(1);
        /// runtime::block_on(async { assert_eq!(*CONFIG.read().await, 1) });
        /// ```
        pub fn new(value: T) -> RwLock<T> {
            RwLock {
                permits: Permits::new(MAX_READS),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(runtime::sync::RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access. It waits while a writer holds the
    /// lock, and also while a writer *waits* for it (writers are not
    /// starved).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in line (and a
    /// read access already granted to it).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// runtime::block_on(async {
    ///     let lock = RwLock::new(String::from("config"));
    ///     assert_eq!(lock.read().await.len(), 6);
    /// });
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.permits.acquire(1).await.expect(NEVER_CLOSED);
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive write access: until every reader and writer
    /// before it is done.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in line; the
    /// read permits it had collected pass on, so the readers queued behind
    /// it proceed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// runtime::block_on(async {
    ///     let lock = RwLock::new(vec![1]);
    ///     lock.write().await.push(2);
    ///     assert_eq!(*lock.read().await, [1, 2]);
    /// });
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.permits.acquire(MAX_READS).await.expect(NEVER_CLOSED);
        RwLockWriteGuard { lock: self }
    }

    /// Takes read access if no writer holds or waits for the lock, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds the lock or waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_read().is_ok());
    /// assert!(lock.try_write().is_err());
    /// drop(r);
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.permits.try_acquire(1) {
            Ok(()) => Ok(RwLockReadGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Takes write access if nobody holds or waits for the lock, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let mut w = lock.try_write().unwrap();
    /// *w = 2;
    /// assert!(lock.try_read().is_err());
    /// drop(w);
    /// assert_eq!(*lock.try_read().unwrap(), 2);
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.permits.try_acquire(MAX_READS) {
            Ok(()) => Ok(RwLockWriteGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The value, through an exclusive borrow of the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut lock = runtime::sync::RwLock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared read access to an [`RwLock`], from [`read`](RwLock::read) or
/// [`try_read`](RwLock::try_read); released when dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// runtime::block_on(async {
///     let lock = RwLock::new([1, 2]);
///     let guard = lock.read().await;
///     assert_eq!(guard[1], 2);
/// });
/// ```
#[must_use = "the read access is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    /// The lock.
    ///
    /// # Invariant
    ///
    /// This guard holds one of the lock's permits, so no writer holds it.
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds a read permit (the field's invariant),
        // so no writer, which needs every permit, can exist meanwhile.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.permits.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive write access to an [`RwLock`], from [`write`](RwLock::write)
/// or [`try_write`](RwLock::try_write); released when dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// runtime::block_on(async {
///     let lock = RwLock::new(0);
///     let mut guard = lock.write().await;
///     *guard = 9;
///     let reader = guard.downgrade(); // keep reading, let other readers in
///     assert_eq!(*reader, 9);
///     assert_eq!(*lock.read().await, 9);
/// });
/// ```
#[must_use = "the write access is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    /// The lock.
    ///
    /// # Invariant
    ///
    /// This guard holds all of the lock's permits.
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in
    /// between: the other permits are given back, so waiting readers (up
    /// to the next waiting writer) proceed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let reader = lock.try_write().unwrap().downgrade();
    /// assert!(lock.try_read().is_ok());
    /// assert!(lock.try_write().is_err());
    /// drop(reader);
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        // Keeps one permit of the writer's, as the reader's.
        lock.permits.release(MAX_READS - 1);
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds every permit (the field's invariant):
        // it is the only access, and the borrow is tied to `&self`.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds every permit, and the borrow is tied to
        // `&mut self`.
        self.lock.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.permits.release(MAX_READS);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
