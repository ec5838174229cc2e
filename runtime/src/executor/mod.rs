//! The executor: tasks in a slab, a run queue, and the loop that alternates
//! between polling ready tasks and turning the reactor.
//!
//! # The loop
//!
//! 1. Pop task ids from the local run queue and poll them, at most
//!    [`MAX_POLLS_PER_TICK`] per tick, so that a queue that never empties
//!    still lets the reactor run regularly.
//! 2. Turn the reactor: with timeout zero if tasks are still queued, else
//!    until the next timer deadline, else until an event arrives. The turn
//!    wakes the tasks whose sockets became ready; wakers from other threads
//!    ring the eventfd, which ends a blocking turn.
//! 3. Fire due timers, move the ids woken from other threads onto the
//!    local queue, and wake the tasks that yielded during the tick.
//!
//! The future given to `block_on` is not a spawned task: it lives on
//! `block_on`'s stack, and its waker queues the reserved id [`MAIN_TASK`].

pub(crate) mod cell;
pub(crate) mod context;
pub(crate) mod waker;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::coop::{self, Deferred};
use crate::reactor::{PollingTask, Reactor};
use crate::slab::{Key, Slab};
use crate::sys::eventfd::Notifier;
use crate::task::JoinHandle;
use crate::time::Timers;
use cell::{Runnable, TaskCell};
use waker::{RemoteQueue, Shared, TaskId, TaskWaker};

/// How many tasks one tick polls before the reactor gets its turn.
pub(crate) const MAX_POLLS_PER_TICK: usize = 61;

/// The id the waker of `block_on`'s future queues; no slab key takes it.
const MAIN_TASK: TaskId = Key::from_u64(u64::MAX);

/// A spawned task as the executor stores it.
type Task = TaskCell<dyn Runnable>;

/// One runtime's state, shared through `Rc` by the `Runtime`, the
/// thread-local context and the handles that spawn.
pub(crate) struct Core {
    /// What other threads may touch: remote queue and eventfd.
    pub(crate) shared: Arc<Shared>,
    /// The epoll reactor.
    pub(crate) reactor: Rc<Reactor>,
    /// Pending sleeps.
    pub(crate) timers: Rc<Timers>,
    /// Tasks that yielded, woken after the next turn.
    pub(crate) deferred: Deferred,
    /// Every live spawned task. `Rc`, so that a poll needs the slab only
    /// for the lookup (the task's handle holds the same `Rc`).
    tasks: RefCell<Slab<Rc<Task>>>,
    /// Ids of tasks to poll, in wake order; each at most once.
    run_queue: RefCell<VecDeque<TaskId>>,
    /// Set while the runtime drops its tasks: `spawn` then drops the
    /// future at once instead of queuing it.
    shutting_down: Cell<bool>,
    /// Task polls so far, for [`Metrics`].
    polls: Cell<u64>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("tasks", &self.tasks.borrow().len())
            .field("queued", &self.run_queue.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Queues task `id` on the local run queue.
    pub(crate) fn schedule(&self, id: TaskId) {
        self.run_queue.borrow_mut().push_back(id);
    }

    /// Wakes task `id` on the runtime's own thread, as its waker would but
    /// without the thread-local lookup: the reactor hands over the ids of
    /// the tasks it parked by id. A stale id (the task is gone) does nothing.
    #[inline]
    fn wake_task(&self, id: TaskId) {
        let tasks = self.tasks.borrow();
        if let Some(task) = tasks.get(id) {
            if task.header.mark_queued() {
                self.schedule(id);
            }
        }
    }

    /// Stores `future` as a new task and queues it.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.shutting_down.get() {
            // The runtime is dropping its tasks; a task spawned now (say,
            // from a `Drop` impl) is dropped with them, never polled.
            let header = Arc::new(TaskWaker::new(self.shared.clone(), MAIN_TASK));
            header.retire();
            let task = Rc::new(TaskCell::new(header, future));
            task.state.release();
            return JoinHandle::new(task);
        }
        let mut handle = None;
        self.tasks.borrow_mut().insert_with(|id| {
            let header = Arc::new(TaskWaker::new(self.shared.clone(), id));
            let task = Rc::new(TaskCell::new(header, future));
            handle = Some(JoinHandle::new(task.clone()));
            self.schedule(id);
            task as Rc<Task>
        });
        handle.expect("insert_with calls its closure")
    }

    /// Polls task `id` once; drops it if it completed.
    #[inline]
    fn poll_task(&self, id: TaskId) {
        // A stale id: the task finished or was dropped after being woken.
        let Some(task) = self.tasks.borrow().get(id).cloned() else {
            return;
        };
        // No slab borrow is held from here on: the task may spawn, wake, or
        // drop other tasks.
        task.header.mark_dequeued();
        self.polls.set(self.polls.get() + 1);
        coop::reset();
        self.reactor
            .start_poll(Some(PollingTask::new(id, &task.waker)));
        // The cell catches panics, so this never unwinds.
        let poll = task.state.poll(&mut Context::from_waker(&task.waker));
        self.reactor.end_poll();
        if poll.is_pending() {
            return;
        }
        task.header.retire();
        let removed = self.tasks.borrow_mut().remove(id);
        // Drop the future after releasing every borrow: its `Drop` may
        // spawn, or wake anything.
        task.state.release();
        drop(removed);
    }

    /// One tick: poll up to [`MAX_POLLS_PER_TICK`] queued tasks (the main
    /// future among them, through `poll_main`), then turn the reactor and
    /// fire timers. Returns the main future's output once it is ready.
    fn tick<T>(&self, poll_main: &mut impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..MAX_POLLS_PER_TICK {
            let Some(id) = self.run_queue.borrow_mut().pop_front() else {
                break;
            };
            if id == MAIN_TASK {
                if let Some(output) = poll_main() {
                    return Some(output);
                }
            } else {
                self.poll_task(id);
            }
        }

        self.reactor.take_woken(|id| self.wake_task(id));
        let more_to_run = !self.run_queue.borrow().is_empty()
            || !self.shared.remote_queue.looks_empty()
            || !self.deferred.is_empty();
        let timeout = if more_to_run {
            Some(Duration::ZERO)
        } else {
            self.timers.next_timeout()
        };
        if self.reactor.turn(timeout, |id| self.wake_task(id)) {
            self.shared.acknowledge_ring();
        }
        self.timers.fire_due();
        self.shared.remote_queue.drain(|id| self.schedule(id));
        self.deferred.wake_all();
        None
    }

    /// Counts for tests and introspection.
    fn metrics(&self) -> Metrics {
        let io = self.reactor.counts();
        Metrics {
            tasks: self.tasks.borrow().len(),
            io_registrations: io.registrations,
            io_driver_fd_registered_count: io.registered,
            io_driver_fd_deregistered_count: io.deregistered,
            io_driver_ready_count: io.ready_events,
            timers: self.timers.len(),
            polls: self.polls.get(),
        }
    }
}

/// A single-threaded async runtime: an executor, an epoll reactor and timers.
///
/// Futures need not be `Send`: everything runs on the thread that calls
/// [`block_on`](Runtime::block_on). Dropping the runtime drops every task
/// that has not finished. Sockets it created that outlive it (held outside
/// its tasks) stay open, but nothing will report their readiness again: an
/// operation that needs a new report (a read or write that finds nothing to
/// do, `readable`, `writable`, `accept`) fails with an error instead of
/// waiting, and signal streams end. What epoll reported before the drop is
/// still used.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let task = runtime::spawn(async { 6 * 7 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # std::io::Result::Ok(())
/// ```
pub struct Runtime {
    /// The shared state.
    core: Rc<Core>,
    /// Runtimes stay on the thread that created them.
    _not_send: PhantomData<Rc<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("core", &self.core).finish()
    }
}

impl Runtime {
    /// Creates a runtime: an epoll instance and an eventfd.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors or memory.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        let notifier = Notifier::new()?;
        let reactor = Reactor::new(notifier.as_fd())?;
        let shared = Arc::new(Shared {
            remote_queue: RemoteQueue::new(),
            notifier,
            ring_pending: AtomicBool::new(false),
        });
        let core = Core {
            shared,
            reactor: Rc::new(reactor),
            timers: Rc::new(Timers::default()),
            deferred: Deferred::default(),
            tasks: RefCell::new(Slab::default()),
            run_queue: RefCell::new(VecDeque::new()),
            shutting_down: Cell::new(false),
            polls: Cell::new(0),
        };
        Ok(Runtime {
            core: Rc::new(core),
            _not_send: PhantomData,
        })
    }

    /// Runs `future` to completion on this thread, driving every spawned
    /// task and all I/O and timers meanwhile.
    ///
    /// Tasks still pending when `future` completes stay in the runtime and
    /// run again at the next `block_on`, or are dropped with the runtime.
    ///
    /// # Panics
    ///
    /// If called from inside a running `block_on` on this thread, and if
    /// `future` panics (the panic propagates to the caller; spawned tasks
    /// are unaffected).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// let n = rt.block_on(async {
    ///     runtime::task::yield_now().await;
    ///     5
    /// });
    /// assert_eq!(n, 5);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = context::enter(&self.core);
        let core = &*self.core;
        let main = Arc::new(TaskWaker::new(core.shared.clone(), MAIN_TASK));
        let waker = Waker::from(main.clone());
        let mut future = pin!(future);
        let mut poll_main = || {
            main.mark_dequeued();
            coop::reset();
            core.reactor.start_poll(None);
            match future.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => None,
            }
        };
        core.schedule(MAIN_TASK);
        let output = loop {
            if let Some(output) = core.tick(&mut poll_main) {
                break output;
            }
        };
        // A stale wake of the finished main future must not queue it again.
        main.retire();
        core.run_queue.borrow_mut().retain(|id| *id != MAIN_TASK);
        output
    }

    /// Counts of what the runtime holds right now.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// assert_eq!(rt.metrics().tasks, 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.core.metrics()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Futures' `Drop` impls may call `spawn` or touch their sockets, so
        // this runtime is current while they run, even inside another one.
        let _guard = context::enter_for_drop(&self.core);
        self.core.shutting_down.set(true);
        let tasks = self.core.tasks.borrow_mut().drain();
        // Retire every waker first, so a task's `Drop` waking another task
        // queues nothing. Handles may keep a cell alive, so each future is
        // dropped explicitly, and its handle reports the cancellation.
        for task in &tasks {
            task.header.retire();
        }
        for task in &tasks {
            task.state.release();
        }
        drop(tasks);
        self.core.run_queue.borrow_mut().clear();
        self.core.shared.remote_queue.drain(drop);
        self.core.timers.clear();
        // I/O objects that outlive the runtime now fail instead of waiting,
        // and other runtimes' tasks waiting on them are woken to see that.
        self.core.reactor.shut_down();
        // Wakers deferred by a poll this runtime made: its own tasks' are
        // retired by now (waking them does nothing), but a future polled
        // with another executor's waker may have yielded here.
        self.core.deferred.wake_all();
    }
}

/// A snapshot of what a runtime holds, from [`Runtime::metrics`] or
/// [`metrics()`](crate::metrics()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Spawned tasks that have not finished.
    pub tasks: usize,
    /// Sockets registered with the reactor.
    pub io_registrations: usize,
    /// Pending timers (sleeps, timeouts, intervals being awaited).
    pub timers: usize,
    /// Task polls since the runtime started (not counting `block_on`'s own
    /// future).
    pub polls: u64,
    /// File descriptors registered with the reactor since it started
    /// (tokio's name).
    pub io_driver_fd_registered_count: u64,
    /// File descriptors deregistered since the reactor started (tokio's
    /// name).
    pub io_driver_fd_deregistered_count: u64,
    /// Readiness events epoll reported for registered fds (tokio's name).
    pub io_driver_ready_count: u64,
}

/// Counts of what the current runtime holds.
///
/// # Panics
///
/// Outside a runtime.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let _task = runtime::spawn(async {});
///     assert_eq!(runtime::metrics().tasks, 1);
/// });
/// ```
pub fn metrics() -> Metrics {
    context::current().metrics()
}

/// Runs `future` to completion on a new [`Runtime`], then drops the runtime
/// and whatever tasks are left.
///
/// # Panics
///
/// If the runtime cannot be created (no file descriptors left), if called
/// inside another `block_on`, and if `future` panics.
///
/// # Examples
///
/// ```
/// let out = runtime::block_on(async { "done" });
/// assert_eq!(out, "done");
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("cannot create the runtime: {e}"));
    rt.block_on(future)
}
