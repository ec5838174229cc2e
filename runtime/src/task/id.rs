//! [`Id`]: which task is which.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::executor::context;

/// The next id handed out.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A task's id: unique among every task of the process, for its whole
/// life and after (ids are never reused).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let task = runtime::spawn(async { runtime::task::id() });
///     let id = task.id();
///     assert_eq!(task.await.unwrap(), id);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// A fresh id.
    pub(crate) fn next() -> Id {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("2^64 task ids are never exhausted"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// The id of the task being polled.
///
/// # Panics
///
/// Outside a spawned task (the future given to `block_on` is not one);
/// [`try_id`] does not.
pub fn id() -> Id {
    try_id().expect("task::id() was called outside a spawned task")
}

/// The id of the task being polled, if a spawned task is being polled.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     assert!(runtime::task::try_id().is_none()); // block_on's own future
///     let inner = runtime::spawn(async { runtime::task::try_id() });
///     assert!(inner.await.unwrap().is_some());
/// });
/// ```
pub fn try_id() -> Option<Id> {
    context::with_current(|core| core.polled_task_meta().map(|meta| meta.id)).flatten()
}
