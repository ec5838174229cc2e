//! Task wakers: `std::task::Wake` on an `Arc`, usable from any thread.
//!
//! A wake marks the task queued (an atomic swap, so a task sits in a run
//! queue at most once however often it is woken) and then:
//!
//! * on the runtime's own thread, pushes the task id onto the local run
//!   queue: no atomics beyond the swap, no syscall, no allocation once the
//!   queue has grown;
//! * on any other thread, pushes it onto the shared [`RemoteQueue`] and
//!   rings the eventfd, unless a ring is already pending, so a runtime
//!   blocked in `epoll_wait` wakes up.
//!
//! Neither path allocates once the queues have grown to the number of
//! tasks woken per tick.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::task::Wake;

#[cfg(not(loom))]
use crossbeam_queue::ArrayQueue;

use crate::blocking::BlockingPool;
use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::Mutex;
#[cfg(loom)]
use crate::loom::Ring as ArrayQueue;
use crate::slab::Key;
use crate::sys::eventfd::Notifier;

/// Names a task of one runtime: its slab key (index and generation).
pub(crate) type TaskId = Key;

/// Slots of the lock-free part of the [`RemoteQueue`].
#[cfg(not(loom))]
const REMOTE_RING_CAPACITY: usize = 1024;

/// Under loom, one slot, so that the models take the overflow path too.
#[cfg(loom)]
const REMOTE_RING_CAPACITY: usize = 1;

/// Ids of tasks woken from other threads, until the runtime thread moves
/// them to its local queue.
///
/// A fixed-capacity lock-free ring takes the pushes, so a wake allocates
/// nothing (a linked queue such as `SegQueue` allocates a block every few
/// dozen pushes). When more than [`REMOTE_RING_CAPACITY`] distinct tasks are
/// woken remotely within one tick, the rest go to a mutex-protected vector,
/// which keeps its capacity. The queue never holds more ids than the
/// runtime has tasks, since a task is queued at most once.
#[derive(Debug)]
pub(crate) struct RemoteQueue {
    /// Where remote wakes go first.
    ring: ArrayQueue<TaskId>,
    /// Where they go when the ring is full.
    overflow: Mutex<Vec<TaskId>>,
}

impl RemoteQueue {
    /// An empty queue.
    pub(crate) fn new() -> RemoteQueue {
        RemoteQueue {
            ring: ArrayQueue::new(REMOTE_RING_CAPACITY),
            overflow: Mutex::new(Vec::new()),
        }
    }

    /// Adds `id`; callable from any thread.
    fn push(&self, id: TaskId) {
        if let Err(id) = self.ring.push(id) {
            self.overflow
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(id);
        }
    }

    /// True if the ring is empty. An id in the overflow is not seen here,
    /// but its wake rang the eventfd, so the runtime will not sleep on it.
    pub(crate) fn looks_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Hands every queued id to `schedule`, oldest first.
    pub(crate) fn drain(&self, mut schedule: impl FnMut(TaskId)) {
        while let Some(id) = self.ring.pop() {
            schedule(id);
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        overflow.drain(..).for_each(schedule);
    }
}

/// A spawn from another thread, run on the runtime's thread by the next
/// tick: it spawns the future it carries as a local task.
pub(crate) type Injected = Box<dyn FnOnce(&super::Core) + Send>;

/// Spawns from other threads waiting for the runtime's thread.
struct Injection<J> {
    /// Oldest first.
    jobs: Vec<J>,
    /// Set when the runtime is dropped: nothing is taken any more.
    closed: bool,
}

/// The queue of spawns from other threads: jobs of type `J` (an
/// [`Injected`] in the runtime; the loom models queue their own), and a
/// flag that spares the runtime's tick the lock while it is empty.
pub(crate) struct Injector<J> {
    /// The jobs, behind a lock.
    injection: Mutex<Injection<J>>,
    /// True while `injection` may hold jobs: the tick looks at the lock
    /// only then.
    injected: AtomicBool,
}

impl<J> Injector<J> {
    /// An empty, open queue.
    pub(crate) fn new() -> Injector<J> {
        Injector {
            injection: Mutex::new(Injection {
                jobs: Vec::new(),
                closed: false,
            }),
            injected: AtomicBool::new(false),
        }
    }

    /// Queues `job` and calls `ring` to wake the runtime's thread; gives
    /// the job back if the runtime is gone.
    pub(crate) fn inject(&self, job: J, ring: impl FnOnce()) -> Result<(), J> {
        let mut injection = self
            .injection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if injection.closed {
            return Err(job);
        }
        injection.jobs.push(job);
        self.injected.store(true, Ordering::SeqCst);
        drop(injection);
        ring();
        Ok(())
    }

    /// True if jobs may be queued: the tick's check before it locks.
    #[inline]
    pub(crate) fn may_have_jobs(&self) -> bool {
        self.injected.load(Ordering::Relaxed)
    }

    /// Takes the queued jobs, oldest first (on the runtime's thread).
    pub(crate) fn take(&self) -> Vec<J> {
        let mut injection = self
            .injection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.injected.store(false, Ordering::SeqCst);
        std::mem::take(&mut injection.jobs)
    }

    /// The runtime is being dropped: later jobs are refused, and those
    /// queued are returned (to be dropped by the caller, unlocked).
    pub(crate) fn close(&self) -> Vec<J> {
        let mut injection = self
            .injection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        injection.closed = true;
        std::mem::take(&mut injection.jobs)
    }
}

/// The part of a runtime that other threads may touch.
pub(crate) struct Shared {
    /// Tasks woken from other threads, moved to the local queue every tick.
    pub(crate) remote_queue: RemoteQueue,
    /// Rung by remote wakes; the reactor watches it under `WAKE_TOKEN`.
    pub(crate) notifier: Notifier,
    /// True from a ring until the runtime sees the notification: further remote
    /// wakes need no syscall.
    pub(crate) ring_pending: AtomicBool,
    /// The runtime's blocking pool.
    pub(crate) blocking: BlockingPool,
    /// Spawns from other threads ([`Handle::spawn`](super::Handle::spawn)).
    injection: Injector<Injected>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("ring_pending", &self.ring_pending)
            .field("blocking", &self.blocking)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The shared part of a new runtime.
    pub(crate) fn new(notifier: Notifier, blocking: BlockingPool) -> Shared {
        Shared {
            remote_queue: RemoteQueue::new(),
            notifier,
            ring_pending: AtomicBool::new(false),
            blocking,
            injection: Injector::new(),
        }
    }

    /// Called by the runtime after the notifier fired, before it drains the
    /// remote queue: a wake racing with this either pushed its id before
    /// the drain looks, or sees the flag clear and rings again. (The
    /// eventfd itself needs no reading; see `Notifier`.)
    pub(crate) fn acknowledge_ring(&self) {
        self.ring_pending.store(false, Ordering::SeqCst);
    }

    /// Wakes the runtime's thread out of `epoll_wait`, unless a ring is
    /// pending already.
    pub(crate) fn ring(&self) {
        if !self.ring_pending.swap(true, Ordering::SeqCst) {
            // A failed ring cannot be reported from a waker; `notify`
            // handles a saturated counter, so only a closed eventfd (the
            // runtime is being dropped) could fail here.
            let _ = self.notifier.notify();
        }
    }

    /// Queues `job` for the runtime's thread and wakes it; gives the job
    /// back if the runtime is gone.
    pub(crate) fn inject(&self, job: Injected) -> Result<(), Injected> {
        self.injection.inject(job, || self.ring())
    }

    /// Runs the spawns other threads queued (on the runtime's thread).
    pub(crate) fn run_injected(&self, core: &super::Core) {
        if !self.injection.may_have_jobs() {
            return;
        }
        for job in self.injection.take() {
            job(core);
        }
    }

    /// The runtime is being dropped: later spawns are refused, and those
    /// that never ran are dropped (their handles report the cancellation).
    pub(crate) fn close_injection(&self) {
        drop(self.injection.close());
    }
}

/// The waker of one task (or of the future given to `block_on`).
#[derive(Debug)]
pub(crate) struct TaskWaker {
    /// The runtime the task belongs to.
    shared: Arc<Shared>,
    /// Which task to run.
    id: TaskId,
    /// True while the id sits in a run queue, or for good once the task has
    /// finished or its runtime is gone, so such wakes do nothing.
    queued: AtomicBool,
    /// True once the task is done (its output stored, or it was dropped
    /// with its runtime): what an
    /// [`AbortHandle`](crate::task::AbortHandle) on any thread reads for
    /// `is_finished`.
    finished: AtomicBool,
    /// Set by an abort through the task's `JoinHandle` or an
    /// `AbortHandle`, on any thread; the task's poll reads it first.
    abort_requested: AtomicBool,
}

impl TaskWaker {
    /// A waker for task `id`, created queued (the spawner queues it).
    pub(crate) fn new(shared: Arc<Shared>, id: TaskId) -> TaskWaker {
        TaskWaker {
            shared,
            id,
            queued: AtomicBool::new(true),
            finished: AtomicBool::new(false),
            abort_requested: AtomicBool::new(false),
        }
    }

    /// Which task this wakes.
    #[inline]
    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// The runtime the task belongs to.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Called just before the task is polled: a wake from now on queues it
    /// again, so a wake that races with the poll causes exactly one more.
    ///
    /// A swap, not a store: a wake that found the flag still set (and so
    /// queued nothing) must have its event seen by the poll that follows.
    /// The swap reads what that wake's swap wrote and so acquires what the
    /// waker published before waking; a plain store, even `SeqCst`, would
    /// not (the store-buffering pattern), and the poll could miss the event
    /// with no wake left to come: a lost wakeup, which the loom model
    /// `a_wake_from_another_thread_is_never_lost` found. On x86-64 both
    /// compile to the same `xchg`.
    #[inline]
    pub(crate) fn mark_dequeued(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }

    /// Marks the task queued; true if it was not already (then the caller
    /// must queue its id).
    #[inline]
    pub(crate) fn mark_queued(&self) -> bool {
        !self.queued.swap(true, Ordering::AcqRel)
    }

    /// True while the task sits in a run queue (or is gone).
    pub(crate) fn is_queued(&self) -> bool {
        self.queued.load(Ordering::SeqCst)
    }

    /// Called when the task is gone: every later wake is a no-op.
    pub(crate) fn retire(&self) {
        self.queued.store(true, Ordering::SeqCst);
    }

    /// Notes that the task is done: called by the task's cell when it
    /// stores the result, before it tells anyone.
    pub(crate) fn mark_finished(&self) {
        self.finished.store(true, Ordering::Release);
    }

    /// True once [`mark_finished`](TaskWaker::mark_finished) was called,
    /// on any thread.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Asks the task to stop, from any thread: it is woken, and the
    /// executor sees the request before it polls the task again. (A task
    /// being polled on its own thread right now finishes that poll first.)
    pub(crate) fn request_abort(self: &Arc<Self>) {
        self.abort_requested.store(true, Ordering::Release);
        self.wake_by_ref();
    }

    /// True once an abort was requested through
    /// [`request_abort`](TaskWaker::request_abort).
    ///
    /// Relaxed is enough: the request is stored before the wake's swap of
    /// `queued`, and the poll that must see it comes after the executor's
    /// swap in [`mark_dequeued`](TaskWaker::mark_dequeued), which reads
    /// that swap or a later one.
    #[inline]
    pub(crate) fn abort_requested(&self) -> bool {
        self.abort_requested.load(Ordering::Relaxed)
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.mark_queued() {
            return; // already queued, finished, or its runtime is gone
        }
        if super::context::push_local(&self.shared, self.id) {
            return;
        }
        self.shared.remote_queue.push(self.id);
        self.shared.ring();
    }
}
