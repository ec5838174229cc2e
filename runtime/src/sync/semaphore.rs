//! [`Semaphore`]: a fair counting semaphore, for limiting concurrency.

use std::fmt;
use std::sync::Arc;

use crate::loom::const_fn_unless_loom;

use super::permits::{self, Permits, TryAcquire};

/// A counting semaphore: a pool of permits that tasks acquire, wait for
/// when none are left, and give back by dropping them.
///
/// It is **fair**: acquires are served in the order they started waiting,
/// so a large [`acquire_many`](Semaphore::acquire_many) is not starved by a
/// stream of small ones. While anyone waits, permits that come back go to
/// the first waiter (as a down payment, until it has all it asked for),
/// and [`try_acquire`](Semaphore::try_acquire) fails even if some are free.
///
/// [`close`](Semaphore::close) makes every waiting and later acquire fail
/// with [`AcquireError`]; permits already held stay valid.
///
/// `Semaphore` is `Send + Sync`: share it through an `Arc` (for the owned
/// permits) or a reference.
///
/// # Examples
///
/// At most two downloads at a time:
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Semaphore;
///
/// runtime::block_on(async {
///     let slots = Arc::new(Semaphore::new(2));
///     let tasks: Vec<_> = (0..5)
///         .map(|i| {
///             let slots = slots.clone();
///             runtime::spawn(async move {
///                 let _permit = slots.acquire().await.unwrap();
///                 runtime::task::yield_now().await; // "download" i
///                 i
///             })
///         })
///         .collect();
///     let mut done = 0;
///     for task in tasks {
///         done += task.await.unwrap();
///     }
///     assert_eq!(done, 10);
///     assert_eq!(slots.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    /// The permits and the waiters.
    permits: Permits,
}

/// The error of an acquire on a closed [`Semaphore`].
///
/// # Examples
///
/// ```
/// use runtime::sync::Semaphore;
///
/// runtime::block_on(async {
///     let semaphore = Semaphore::new(1);
///     semaphore.close();
///     let err = semaphore.acquire().await.unwrap_err();
///     assert_eq!(err.to_string(), "semaphore closed");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`] and its siblings.
///
/// # Examples
///
/// ```
/// use runtime::sync::{Semaphore, TryAcquireError};
///
/// let semaphore = Semaphore::new(0);
/// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// semaphore.close();
/// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free, or earlier acquires wait for them.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<TryAcquire> for TryAcquireError {
    fn from(e: TryAcquire) -> TryAcquireError {
        match e {
            TryAcquire::Closed => TryAcquireError::Closed,
            TryAcquire::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Default for Semaphore {
    /// A semaphore with no permits.
    fn default() -> Semaphore {
        Semaphore::new(0)
    }
}

impl Semaphore {
    /// The most permits a semaphore may hold.
    pub const MAX_PERMITS: usize = permits::MAX_PERMITS;

    const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        ///
        /// It is a `const fn`, so a semaphore can be a `static`.
        ///
        /// # Panics
        ///
        /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::sync::Semaphore;
        ///
        /// static CONNECTIONS: Semaphore = Semaphore::new(100);
        /// assert_eq!(CONNECTIONS.available_permits(), 100);
        /// ```
        pub fn new(permits: usize) -> Semaphore {
            Semaphore {
                permits: Permits::new(permits),
            }
        }
    }

    /// Permits free right now; permits already handed to a waiting
    /// acquire (as a down payment) do not count.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// let _two = semaphore.try_acquire_many(2).unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }

    /// Adds `n` permits; they go to waiting acquires first, in order.
    ///
    /// # Panics
    ///
    /// If the free permits would exceed [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(0);
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.permits.add(n);
    }

    /// Removes up to `n` free permits for good; returns how many it
    /// removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// assert_eq!(semaphore.forget_permits(5), 3);
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.permits.forget(n)
    }

    /// Closes the semaphore: every waiting and later acquire fails. Permits
    /// already held stay valid, and dropping them still returns them.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// semaphore.close();
    /// assert!(semaphore.is_closed());
    /// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::Closed);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn close(&self) {
        self.permits.close();
    }

    /// True once [`close`](Semaphore::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = runtime::sync::Semaphore::new(1);
    /// assert!(!semaphore.is_closed());
    /// semaphore.close();
    /// assert!(semaphore.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed, before or while
    /// waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, and fair: dropping the future gives up its place in
    /// line, and a permit already handed to it passes to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// runtime::block_on(async {
    ///     let semaphore = Semaphore::new(1);
    ///     let permit = semaphore.acquire().await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once. It waits in line like any acquire,
    /// collecting returned permits until it has all `n`: smaller acquires
    /// that come later cannot overtake it.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed, before or while
    /// waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place, and the
    /// permits it had collected pass to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// runtime::block_on(async {
    ///     let semaphore = Semaphore::new(5);
    ///     let permit = semaphore.acquire_many(3).await.unwrap();
    ///     assert_eq!(permit.num_permits(), 3);
    ///     assert_eq!(semaphore.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        match self.permits.acquire(n as usize).await {
            Ok(()) => Ok(SemaphorePermit {
                semaphore: self,
                permits: n,
            }),
            Err(_) => Err(AcquireError(())),
        }
    }

    /// Waits for one permit of a semaphore in an `Arc`; the permit keeps
    /// the `Arc`, so it may be moved into a spawned task.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire) is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// runtime::block_on(async {
    ///     let semaphore = Arc::new(Semaphore::new(1));
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///     let task = runtime::spawn(async move {
    ///         drop(permit); // released by the task
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits of a semaphore in an `Arc`.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire_many`](Semaphore::acquire_many) is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// runtime::block_on(async {
    ///     let semaphore = Arc::new(Semaphore::new(4));
    ///     let permit = semaphore.clone().acquire_many_owned(4).await.unwrap();
    ///     assert_eq!(permit.num_permits(), 4);
    /// });
    /// ```
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        match self.permits.acquire(n as usize).await {
            Ok(()) => Ok(OwnedSemaphorePermit {
                semaphore: self,
                permits: n,
            }),
            Err(_) => Err(AcquireError(())),
        }
    }

    /// Takes one permit if one is free and nobody waits, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if none is free or acquires are
    /// waiting; [`TryAcquireError::Closed`] if the semaphore is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert!(semaphore.try_acquire().is_err());
    /// drop(permit);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(2);
    /// assert!(semaphore.try_acquire_many(3).is_err());
    /// assert!(semaphore.try_acquire_many(2).is_ok());
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.permits.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Takes one permit of a semaphore in an `Arc`, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits of a semaphore in an `Arc`, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let permit = semaphore.clone().try_acquire_many_owned(3).unwrap();
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.permits.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back (to
/// the first waiter, if any).
///
/// # Examples
///
/// ```
/// use runtime::sync::Semaphore;
///
/// let semaphore = Semaphore::new(2);
/// let permit = semaphore.try_acquire_many(2).unwrap();
/// assert_eq!(permit.num_permits(), 2);
/// drop(permit);
/// assert_eq!(semaphore.available_permits(), 2);
/// ```
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    /// The semaphore they came from.
    semaphore: &'a Semaphore,
    /// How many.
    permits: u32,
}

impl SemaphorePermit<'_> {
    /// Drops the permit without giving its permits back: the semaphore
    /// shrinks by that many.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(2);
    /// semaphore.try_acquire().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = runtime::sync::Semaphore::new(3);
    /// assert_eq!(semaphore.try_acquire_many(3).unwrap().num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.permits.release(self.permits as usize);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

/// Permits of a [`Semaphore`] in an `Arc`; like [`SemaphorePermit`], but it
/// owns an `Arc` of the semaphore instead of borrowing it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use runtime::sync::Semaphore;
///
/// let semaphore = Arc::new(Semaphore::new(1));
/// let permit = semaphore.clone().try_acquire_owned().unwrap();
/// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
/// ```
#[must_use = "the permits are given back as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    /// The semaphore they came from.
    semaphore: Arc<Semaphore>,
    /// How many.
    permits: u32,
}

impl OwnedSemaphorePermit {
    /// Drops the permit without giving its permits back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// semaphore.clone().try_acquire_owned().unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(2));
    /// let permit = semaphore.try_acquire_many_owned(2).unwrap();
    /// assert_eq!(permit.num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore the permits came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert_eq!(permit.semaphore().available_permits(), 0);
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.permits.release(self.permits as usize);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
