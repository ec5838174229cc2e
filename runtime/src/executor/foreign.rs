//! A local task's [`JoinHandle`](crate::task::JoinHandle) on another
//! thread.
//!
//! A task spawned with [`spawn`](crate::spawn) lives in one `Rc` cell that
//! its handle shares; that is what makes spawning cheap. An `Rc` must not
//! be touched by two threads, yet a handle whose output is `Send` is
//! `Send`, as tokio's is: it may be awaited, aborted or dropped anywhere.
//!
//! So the handle remembers which thread it was made on ([`thread_number`])
//! and uses the cell directly only there. Anywhere else it asks the task's
//! own thread, through the runtime's queue of jobs from other threads:
//!
//! * awaited (or asked `is_finished`, or for an abort handle) elsewhere, it
//!   queues a [`ForwardJob`] that hands the task's result, now or when it
//!   comes, to a locked [`RemoteJoin`] any thread can await;
//! * aborted elsewhere, it queues an abort by the task's key and id;
//! * dropped elsewhere, it queues a [`ReleaseJob`] that drops its share of
//!   the cell on the task's thread.
//!
//! The queue runs jobs in order, so a handle's release always comes after
//! its forward. If the runtime is gone, a job is refused and dropped where
//! it was made: on the task's own thread it does its work there; on another
//! thread a forward reports the task cancelled, and a release leaks the
//! cell (its future was dropped with the runtime), since nothing there may
//! touch it.

use std::cell::{Cell, OnceCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::cell::{Join, TaskCell};
use super::remote::{RemoteAbort, RemoteJoin};
use super::waker::{Injected, Shared, TaskWaker};
use crate::slab::Key;
use crate::task::{Id, JoinError};

/// This thread's number: unique in the process and never reused, unlike
/// thread-local addresses or OS thread ids.
#[inline]
pub(crate) fn thread_number() -> u64 {
    /// The next number to hand out; 0 means "not numbered yet".
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static NUMBER: Cell<u64> = const { Cell::new(0) };
    }
    NUMBER.with(|number| match number.get() {
        0 => {
            let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
            number.set(fresh);
            fresh
        }
        known => known,
    })
}

/// A pointer to a local task's cell that may cross threads but is
/// dereferenced only on the task's own thread, or for the fields that
/// never change after the spawn (see [`LocalJoin::header`]).
struct CellPtr<C: ?Sized>(*const TaskCell<C>);

// SAFETY: a `CellPtr` is only an address on any thread but the task's
// own; every job that dereferences it checks `thread_number` first (or
// runs from the runtime's job queue, which only the task's thread drains).
unsafe impl<C: ?Sized> Send for CellPtr<C> {}

/// A pointer to a local task's state, with the same rules as [`CellPtr`].
struct StatePtr<C: ?Sized>(*const C);

// SAFETY: as for `CellPtr`: dereferenced only on the task's thread.
unsafe impl<C: ?Sized> Send for StatePtr<C> {}

/// A value a job carries to the task's thread.
struct AssertSend<T>(T);

// SAFETY: only forward jobs carry one, with the task's `RemoteJoin<T>`.
// A forward job is made only when the handle is used on a thread other
// than its own, and a `JoinHandle<T>` can reach another thread only if `T`
// is `Send` (its `Send` impl says so), so the `RemoteJoin<T>` is `Send`.
unsafe impl<T> Send for AssertSend<T> {}

/// The handle side of a local task: its share of the cell, and once the
/// handle has been used on another thread, where the result goes instead.
pub(crate) struct LocalJoin<T> {
    /// The task's cell; dropped by hand, on its own thread (see `Drop`).
    cell: ManuallyDrop<Rc<TaskCell<dyn Join<T>>>>,
    /// The thread the handle was made on, the task's.
    thread: u64,
    /// Set the first time the handle is used on another thread: from then
    /// on the result arrives here, on every thread.
    forwarded: OnceCell<Box<Forwarded<T>>>,
}

// SAFETY: `cell` is used (cloned, dropped, dereferenced) only on the
// thread recorded in `thread`; on any other thread the handle reads only
// the cell's fields that never change after the spawn, and hands the rest
// to jobs that run on the task's thread (see the module docs). Everything
// else it holds is `Send` when `T` is.
unsafe impl<T: Send> Send for LocalJoin<T> {}

/// Where a handle used on another thread gets the result.
pub(crate) struct Forwarded<T> {
    /// Filled by the task's thread, read by any.
    pub(crate) join: Arc<RemoteJoin<T>>,
    /// Aborts through the task's thread.
    pub(crate) abort: Arc<dyn RemoteAbort>,
}

impl<T> LocalJoin<T> {
    /// The handle of `cell`, made on the task's thread.
    pub(crate) fn new(cell: Rc<TaskCell<dyn Join<T>>>) -> LocalJoin<T> {
        LocalJoin {
            cell: ManuallyDrop::new(cell),
            thread: thread_number(),
            forwarded: OnceCell::new(),
        }
    }

    /// The cell, if this is the task's thread and the result has not been
    /// forwarded: then the handle works on the cell as if it never moved.
    #[inline]
    pub(crate) fn here(&self) -> Option<&Rc<TaskCell<dyn Join<T>>>> {
        (self.thread == thread_number() && self.forwarded.get().is_none()).then_some(&*self.cell)
    }

    /// The task's waker state and id, which are set at the spawn and never
    /// change: any thread may read them.
    fn header(&self) -> (&Arc<TaskWaker>, Id) {
        let cell = Rc::as_ptr(&self.cell);
        // SAFETY: our share keeps the cell alive. `header` and `meta.id`
        // are written before the cell is shared and never again, so reading
        // them races with nothing the task's thread does (it writes only
        // the `Cell`s beside them, and the `Rc` counts, which we do not
        // read). The addresses are taken without making a reference to the
        // whole cell.
        unsafe {
            (
                &*std::ptr::addr_of!((*cell).header),
                *std::ptr::addr_of!((*cell).meta.id),
            )
        }
    }

    /// The task's id, on any thread.
    pub(crate) fn id(&self) -> Id {
        self.header().1
    }

    /// The result's destination for use on another thread: made, and the
    /// task's thread asked to fill it, the first time.
    pub(crate) fn forwarded(&self) -> &Forwarded<T> {
        self.forwarded.get_or_init(|| {
            let (header, id) = self.header();
            Box::new(self.state().forward(self.thread, header, id))
        })
    }

    /// Aborts the task from any thread: directly on its own, else through
    /// its runtime's job queue.
    pub(crate) fn abort_elsewhere(&self) {
        let (header, id) = self.header();
        abort_by_key(header.shared(), header.id(), id);
    }

    /// The task's state, to reach the methods of `Join` that make jobs.
    fn state(&self) -> &dyn Join<T> {
        let cell = Rc::as_ptr(&self.cell);
        // SAFETY: our share keeps the cell alive; the methods called
        // through this reference (`forward`, `release_job`) only build
        // jobs from their arguments and read nothing of the state, so they
        // race with nothing the task's thread does.
        unsafe { &*std::ptr::addr_of!((*cell).state) }
    }
}

impl<T> Drop for LocalJoin<T> {
    fn drop(&mut self) {
        if self.here().is_some() {
            // SAFETY: dropped once, here, on the task's thread.
            unsafe { ManuallyDrop::drop(&mut self.cell) };
            return;
        }
        // Another thread, or a forward job may still be queued: the
        // release goes after it, to the task's thread.
        let (header, _) = self.header();
        let shared = header.shared().clone();
        let job = self
            .state()
            .release_job(Rc::as_ptr(&self.cell).cast(), self.thread);
        // Refused: the runtime is gone; dropping the job here releases the
        // cell if this is the task's thread, and leaks it otherwise.
        drop(shared.inject(job));
    }
}

/// Cancels task `id` under `key` of the runtime `shared`, from any thread.
fn abort_by_key(shared: &Shared, key: Key, id: Id) {
    let job: Injected = Box::new(move |core| core.abort_task(key, id));
    // Refused: the runtime is gone, and its tasks with it.
    drop(shared.inject(job));
}

/// The abort side of a forwarded local task.
struct AbortByKey<T> {
    /// Where the result goes, to tell whether the task is done.
    join: AssertSend<Arc<RemoteJoin<T>>>,
    /// The task's runtime.
    shared: Arc<Shared>,
    /// The task's slab key there.
    key: Key,
}

// SAFETY: as for `AssertSend`: made only for a handle used on another
// thread, whose `T` is `Send`, so the `RemoteJoin<T>` may be shared.
unsafe impl<T> Sync for AbortByKey<T> {}

impl<T> RemoteAbort for AbortByKey<T> {
    fn abort(&self) {
        abort_by_key(&self.shared, self.key, self.join.0.id());
    }

    fn is_finished(&self) -> bool {
        self.join.0.is_finished()
    }

    fn id(&self) -> Id {
        self.join.0.id()
    }
}

/// Sets up the forwarding of a handle used on another thread: the result's
/// destination, its abort, and the job that asks the task's thread (`thread`,
/// runtime `header.shared()`) to fill it from `state`.
pub(crate) fn forward<C, T>(state: &C, thread: u64, header: &TaskWaker, id: Id) -> Forwarded<T>
where
    C: Join<T> + 'static,
    T: 'static,
{
    let join = RemoteJoin::new(id);
    let abort = Arc::new(AbortByKey {
        join: AssertSend(join.clone()),
        shared: header.shared().clone(),
        key: header.id(),
    });
    let job = ForwardJob::<C, T> {
        state: StatePtr(state),
        thread,
        join: AssertSend(join.clone()),
    };
    // The job's `Drop` does the work, run or refused: refused (the runtime
    // is gone) and dropped here, not on the task's thread, it reports the
    // task cancelled.
    let job: Injected = Box::new(move |_| drop(job));
    drop(header.shared().inject(job));
    Forwarded { join, abort }
}

/// The job that drops, on the task's thread, the share of the cell at
/// `cell` that a handle gave up; `state` is that cell's state, which gives
/// the cell's type.
///
/// # Panics
///
/// If `state` is not the state of the cell at `cell`.
pub(crate) fn release_job<C: 'static>(state: &C, cell: *const (), thread: u64) -> Injected {
    let cell: *const TaskCell<C> = cell.cast();
    // SAFETY: only an address is computed, inside the cell's allocation.
    let its_state = unsafe { std::ptr::addr_of!((*cell).state) };
    assert!(
        std::ptr::eq(its_state, state),
        "a task cell's type was mistaken"
    );
    let job = ReleaseJob::<C> {
        cell: CellPtr(cell),
        thread,
    };
    Box::new(move |_| drop(job))
}

/// A job for the task's thread: hand the result to `join`, now if the
/// task is done, else when it is.
struct ForwardJob<C: ?Sized + Join<T>, T> {
    /// The task's state; alive while the handle that made the job is (and
    /// its release is queued behind this job).
    state: StatePtr<C>,
    /// The task's thread.
    thread: u64,
    /// Where the result goes.
    join: AssertSend<Arc<RemoteJoin<T>>>,
}

impl<C: ?Sized + Join<T>, T> Drop for ForwardJob<C, T> {
    fn drop(&mut self) {
        if thread_number() != self.thread {
            // Refused by a runtime that is gone, on another thread.
            self.join.0.finish(Err(JoinError::cancelled()));
            return;
        }
        // SAFETY: this is the task's thread, and the handle's share keeps
        // the cell alive (see `state`).
        let state = unsafe { &*self.state.0 };
        state.forward_to(self.join.0.clone());
    }
}

/// A job for the task's thread: drop a handle's share of the cell.
struct ReleaseJob<C: ?Sized> {
    /// The share, from `Rc::as_ptr` of the handle's `Rc`.
    cell: CellPtr<C>,
    /// The task's thread.
    thread: u64,
}

impl<C: ?Sized> Drop for ReleaseJob<C> {
    fn drop(&mut self) {
        if thread_number() == self.thread {
            // SAFETY: the pointer came from the handle's `Rc`, whose share
            // the handle gave up to this job without dropping it; this is
            // the cell's thread, and the job is dropped once.
            drop(unsafe { Rc::from_raw(self.cell.0) });
        }
        // Elsewhere the share is leaked: see the module docs.
    }
}
