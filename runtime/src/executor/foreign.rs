//! A local task's [`JoinHandle`](crate::task::JoinHandle) on another
//! thread.
//!
//! A task spawned with [`spawn`](crate::spawn) lives in one `Rc` cell that
//! its handle shares; that is what makes spawning cheap. An `Rc` must not
//! be touched by two threads, yet a handle whose output is `Send` is
//! `Send`, as tokio's is: it may be awaited, aborted or dropped anywhere.
//!
//! So the handle remembers which thread it was made on ([`thread_number`])
//! and uses the cell directly only there. Anywhere else it touches only
//! what is safe from any thread (the fields fixed at the spawn, the atomic
//! `finished` flag, and the output once it has claimed it), and asks the
//! task's own thread for the rest, through the runtime's queue of jobs from
//! other threads (an abort, on any thread, is a flag in the task's waker
//! state, which needs no job):
//!
//! * awaited elsewhere, it queues a
//!   [`ForwardJob`] that hands the task's result, now or when it comes, to
//!   a locked [`RemoteJoin`] any thread can await. A task that has
//!   finished already needs no job: the handle sees `finished` and claims
//!   the output itself, so a runtime that is not running does not keep it
//!   waiting;
//! * dropped elsewhere, it queues a [`ReleaseJob`] that drops its share of
//!   the cell on the task's thread.
//!
//! The queue runs jobs in order, so a handle's release always comes after
//! its forward. If the runtime is gone, a job is refused and dropped where
//! it was made: on the task's own thread it does its work there; on another
//! thread a forward reports the task cancelled (unless the output is
//! there to claim), and a release drops the output if it can claim it, but
//! leaks the cell itself (its future was dropped with the runtime), since
//! nothing there may touch its counts.

use std::cell::Cell;
use std::mem::{offset_of, ManuallyDrop};
use std::rc::Rc;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::cell::{Join, TaskCell};
use super::remote::RemoteJoin;
use super::waker::{Injected, TaskWaker};
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

// SAFETY: only what `forward` builds carries one (the forward job), with
// the task's `RemoteJoin<T>`. `forward` runs only when the handle is used
// on a thread other than its own, and a `JoinHandle<T>` can reach another
// thread only if `T` is `Send` (its `Send` impl says so), so the
// `RemoteJoin<T>` is `Send`.
unsafe impl<T> Send for AssertSend<T> {}

/// The handle side of a local task: its share of the cell, and once the
/// handle has been used on another thread, where the result goes instead.
pub(crate) struct LocalJoin<T> {
    /// The task's cell; dropped by hand, on its own thread (see `Drop`).
    cell: ManuallyDrop<Rc<TaskCell<dyn Join<T>>>>,
    /// The number of the thread the handle was made on, the task's; and
    /// [`RETURNED`] once the handle has returned the output. (One word
    /// for both: the handle is as small as it can be, which spawning many
    /// tasks and keeping their handles feels.)
    thread: u64,
    /// Null until the handle is first used on another thread, then a
    /// `Box<Forwarded<T>>` owned by the handle: from then on the result
    /// arrives there, on every thread.
    forwarded: AtomicPtr<Forwarded<T>>,
}

/// The bit of [`LocalJoin::thread`] that says the output was returned;
/// thread numbers never reach it.
const RETURNED: u64 = 1 << 63;

// SAFETY: `cell` is used (cloned, dropped, dereferenced) only on the
// thread recorded in `thread`; on any other thread the handle reads only
// the cell's fields that never change after the spawn (among them the
// waker state, whose flags are atomic), its atomic `finished` flag, and
// the output after claiming it (see `state`), and
// hands the rest to jobs that run on the task's thread (see the module
// docs). Everything else it holds is `Send` when `T` is.
unsafe impl<T: Send> Send for LocalJoin<T> {}

// SAFETY: through `&self` the handle may at once be used on the task's
// thread (which reads the cell's `Cell`s) and on others (which read only
// what `Send` above lists, and forward through the atomic `forwarded`).
// Neither side writes what the other reads; everything that takes the
// output needs `&mut self`.
unsafe impl<T: Send> Sync for LocalJoin<T> {}

/// Where a handle used on another thread gets the result.
pub(crate) struct Forwarded<T> {
    /// Filled by the task's thread, read by any.
    pub(crate) join: Arc<RemoteJoin<T>>,
}

impl<T> LocalJoin<T> {
    /// The handle of `cell`, made on the task's thread.
    pub(crate) fn new(cell: Rc<TaskCell<dyn Join<T>>>) -> LocalJoin<T> {
        LocalJoin {
            cell: ManuallyDrop::new(cell),
            thread: thread_number(),
            forwarded: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Whether this is the task's thread.
    #[inline]
    fn at_its_thread(&self) -> bool {
        self.thread & !RETURNED == thread_number()
    }

    /// The forwarding, if the handle was used on another thread.
    #[inline]
    fn forwarding(&self) -> Option<&Forwarded<T>> {
        let forwarded = self.forwarded.load(Ordering::Acquire);
        // SAFETY: non-null, it points to the handle's own `Box`, made
        // before it was published (Release) and freed only by the handle's
        // `Drop`.
        unsafe { forwarded.as_ref() }
    }

    /// The cell, if this is the task's thread and the result has not been
    /// forwarded: then the handle works on the cell as if it never moved.
    #[inline]
    pub(crate) fn here(&self) -> Option<&Rc<TaskCell<dyn Join<T>>>> {
        (self.at_its_thread() && self.forwarding().is_none()).then_some(&*self.cell)
    }

    /// Notes that the handle returned the output (on any path), so that a
    /// later poll anywhere panics as one on the task's thread does.
    #[inline]
    pub(crate) fn note_returned(&mut self) {
        self.thread |= RETURNED;
    }

    /// Polls for the result away from the cell: on another thread, or
    /// after the result was forwarded.
    ///
    /// # Panics
    ///
    /// If polled again after it returned the output.
    pub(crate) fn poll_forwarded(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        assert!(
            self.thread & RETURNED == 0,
            "JoinHandle polled again after it returned the task's output"
        );
        let forwarded = self.forwarded();
        if let Poll::Ready(result) = forwarded.join.poll_join(cx) {
            return Poll::Ready(result);
        }
        // Finished, and the task's thread has not forwarded it yet (it may
        // not be running): take it here.
        match self.state().claim_output() {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }

    /// True once the task is done, on any thread.
    pub(crate) fn is_finished(&self) -> bool {
        self.header().0.is_finished()
    }

    /// The task's waker state and id, which are set at the spawn and never
    /// change: any thread may read them.
    pub(crate) fn header(&self) -> (&Arc<TaskWaker>, Id) {
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
        match self.forwarding() {
            Some(forwarded) => forwarded,
            None => self.forward(),
        }
    }

    /// Makes the forwarding, and asks the task's thread to fill it.
    #[cold]
    fn forward(&self) -> &Forwarded<T> {
        let (header, id) = self.header();
        let fresh = Box::into_raw(Box::new(Forwarded {
            join: RemoteJoin::new(id),
        }));
        let null = std::ptr::null_mut();
        match self
            .forwarded
            .compare_exchange(null, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: just made from a `Box`, now the handle's.
                let forwarded = unsafe { &*fresh };
                let thread = self.thread & !RETURNED;
                let job = self.state().forward_job(thread, forwarded.join.clone());
                // Refused (the runtime is gone): dropped here, not on the
                // task's thread, the job reports the task cancelled.
                drop(header.shared().inject(job));
                forwarded
            }
            Err(first) => {
                // Another thread (the handle is `Sync`) forwarded first.
                // SAFETY: `fresh` was never published; `first` is the
                // handle's, as in `forwarding`.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*first
                }
            }
        }
    }

    /// Aborts the task, from any thread: the task's executor sees the
    /// request before it polls the task again.
    pub(crate) fn abort(&self) {
        self.header().0.request_abort();
    }

    /// The task's state, for the methods of `Join` that any thread may
    /// call.
    fn state(&self) -> &dyn Join<T> {
        let cell = Rc::as_ptr(&self.cell);
        // SAFETY: our share keeps the cell alive. Off the task's thread,
        // only these methods are called through this reference:
        // `forward_job` and `release_job` build values from their
        // arguments and read nothing of the state;
        // `claim_output` takes the output only after reading `finished`
        // true (written after the output, which the task's thread then
        // leaves alone) and winning the atomic `claimed` flag against the
        // one other claimant, the forward job. None of them races with
        // what the task's thread does.
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
        let thread = self.thread & !RETURNED;
        let job = self
            .state()
            .release_job(Rc::as_ptr(&self.cell).cast(), thread);
        // Refused: the runtime is gone; dropping the job here releases the
        // cell if this is the task's thread, and leaks it otherwise.
        drop(shared.inject(job));
        let forwarded = *self.forwarded.get_mut();
        if !forwarded.is_null() {
            // SAFETY: the handle's own `Box` (see `forwarding`), freed once.
            drop(unsafe { Box::from_raw(forwarded) });
        }
    }
}

/// The job that asks the task's thread (`thread`) to fill `join` from
/// `state`. Its `Drop` does the work, run or refused: refused (the runtime
/// is gone) and dropped on another thread, it reports the task cancelled.
pub(crate) fn forward_job<C, T>(state: &C, thread: u64, join: Arc<RemoteJoin<T>>) -> Injected
where
    C: Join<T> + 'static,
    T: 'static,
{
    let job = ForwardJob::<C, T> {
        state: StatePtr(state),
        thread,
        join: AssertSend(join),
    };
    Box::new(move |_| drop(job))
}

/// The job that drops, on the task's thread, the share of the cell at
/// `cell` that a handle gave up; `state` is that cell's state, which gives
/// the cell's type.
///
/// # Panics
///
/// If `state` is not the state of the cell at `cell`.
pub(crate) fn release_job<C, T>(state: &C, cell: *const (), thread: u64) -> Injected
where
    C: Join<T> + 'static,
    T: 'static,
{
    // Checked by address arithmetic alone, before the pointer is used.
    let its_state = cell
        .cast::<u8>()
        .wrapping_add(offset_of!(TaskCell<C>, state));
    assert!(
        std::ptr::eq(its_state, std::ptr::from_ref(state).cast::<u8>()),
        "a task cell's type was mistaken"
    );
    let job = ReleaseJob::<C, T> {
        cell: CellPtr(cell.cast()),
        thread,
        output: std::marker::PhantomData,
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
struct ReleaseJob<C: Join<T>, T> {
    /// The share, from `Rc::as_ptr` of the handle's `Rc`.
    cell: CellPtr<C>,
    /// The task's thread.
    thread: u64,
    /// The output's type, for `claim_output`.
    output: std::marker::PhantomData<fn() -> T>,
}

impl<C: Join<T>, T> Drop for ReleaseJob<C, T> {
    fn drop(&mut self) {
        if thread_number() == self.thread {
            // SAFETY: the pointer came from the handle's `Rc`, whose share
            // the handle gave up to this job without dropping it; this is
            // the cell's thread, and the job is dropped once.
            drop(unsafe { Rc::from_raw(self.cell.0) });
            return;
        }
        // Refused by a runtime that is gone, on another thread: the share
        // is leaked (see the module docs), but not the output, if it can
        // be claimed.
        // SAFETY: the share we hold (leaked) keeps the cell alive, and
        // `claim_output` is safe from any thread (see `LocalJoin::state`).
        let state = unsafe { &(*self.cell.0).state };
        drop(state.claim_output());
    }
}
