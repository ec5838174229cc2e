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
//! While a test has paused the clock, the turn never sleeps for a timer:
//! if nothing else woke anything, the clock jumps to the next deadline
//! (auto-advance) and that timer fires at once.
//!
//! The future given to `block_on` is not a spawned task: it lives on
//! `block_on`'s stack, and its waker queues the reserved id [`MAIN_TASK`].

mod builder;
pub(crate) mod cell;
pub(crate) mod context;
mod dump;
pub(crate) mod foreign;
mod group;
pub(crate) mod handle;
mod metrics;
pub(crate) mod remote;
mod runtime;
pub(crate) mod waker;

pub use builder::Builder;
pub use dump::{dump, TaskDump, TaskInfo};
pub use group::{CoreId, GroupError, RuntimeGroup};
pub use handle::{Handle, TryCurrentError};
pub use metrics::{metrics, Metrics};
pub use runtime::{block_on, Runtime};

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use crate::coop::{self, Deferred};
use crate::reactor::{PollingTask, Reactor};
use crate::slab::{Key, Slab};
use crate::task::JoinHandle;
use crate::time::{Clock, Timers};
use crate::trace::Tracer;
use cell::{Runnable, TaskCell, TaskMeta};
use waker::{Shared, TaskId, TaskWaker};

/// Names a runtime of this process; never reused.
pub(crate) type RuntimeId = u64;

/// The id the waker of `block_on`'s future queues; no slab key takes it.
const MAIN_TASK: TaskId = Key::from_u64(u64::MAX);

/// A spawned task as the executor stores it.
type Task = TaskCell<dyn Runnable>;

/// One runtime's state, shared through `Rc` by the `Runtime`, the
/// thread-local context and the handles that spawn.
pub(crate) struct Core {
    /// This runtime's name, which its timers remember.
    pub(crate) id: RuntimeId,
    /// What other threads may touch: remote queue, eventfd, blocking pool,
    /// spawns from other threads.
    pub(crate) shared: Arc<Shared>,
    /// The epoll reactor.
    pub(crate) reactor: Rc<Reactor>,
    /// Pending sleeps.
    pub(crate) timers: Timers,
    /// The runtime's clock, which a test may pause.
    pub(crate) clock: Rc<Clock>,
    /// How many tasks one tick polls before the reactor gets its turn.
    event_interval: usize,
    /// The cooperative budget of each poll.
    budget: u32,
    /// Tasks that yielded, woken after the next turn.
    pub(crate) deferred: Deferred,
    /// Every live spawned task. `Rc`, so that a poll needs the slab only
    /// for the lookup (the task's handle holds the same `Rc`).
    tasks: RefCell<Slab<Rc<Task>>>,
    /// Tasks to poll, in wake order, each at most once (its queued flag
    /// sees to that); `None` is the future given to `block_on`. Holding the
    /// task itself, not its id, saves the poll a slab lookup.
    run_queue: RefCell<VecDeque<Option<Rc<Task>>>>,
    /// Set while the runtime drops its tasks: `spawn` then drops the
    /// future at once instead of queuing it.
    shutting_down: Cell<bool>,
    /// Task polls so far, for [`Metrics`].
    polls: Cell<u64>,
    /// Tasks spawned so far.
    spawned: Cell<u64>,
    /// Polls cut short by a spent budget.
    pub(crate) budget_yields: Cell<u64>,
    /// Tasks queued from other threads.
    remote_schedules: Cell<u64>,
    /// Turns that could block (a timeout other than zero).
    parks: Cell<u64>,
    /// Time spent in those turns.
    parked_for: Cell<Duration>,
    /// When the runtime was built.
    started: std::time::Instant,
    /// What the runtime reports, if anything (the trace, stall warnings,
    /// histograms).
    pub(crate) tracer: Option<Rc<Tracer>>,
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
    /// Queues task `id` (already marked queued by its waker) on the local
    /// run queue. A stale id (the task is gone) does nothing.
    pub(crate) fn schedule(&self, id: TaskId) {
        if id == MAIN_TASK {
            self.run_queue.borrow_mut().push_back(None);
            return;
        }
        let tasks = self.tasks.borrow();
        if let Some(task) = tasks.get(id) {
            self.run_queue.borrow_mut().push_back(Some(task.clone()));
            if let Some(tracer) = &self.tracer {
                tracer.queued(id);
            }
        }
    }

    /// Wakes task `id` on the runtime's own thread, as its waker would but
    /// without the thread-local lookup: the reactor hands over the ids of
    /// the tasks it parked by id. A stale id (the task is gone) does nothing.
    #[inline]
    fn wake_task(&self, id: TaskId) {
        Core::wake_into(&self.tasks.borrow(), &mut self.run_queue.borrow_mut(), id);
    }

    /// [`wake_task`](Core::wake_task) with the slab and the run queue
    /// already borrowed: a reactor turn borrows them once for all its
    /// events.
    #[inline(always)]
    fn wake_into(tasks: &Slab<Rc<Task>>, run_queue: &mut VecDeque<Option<Rc<Task>>>, id: TaskId) {
        if let Some(task) = tasks.get(id) {
            if task.header.mark_queued() {
                run_queue.push_back(Some(task.clone()));
            }
        }
    }

    /// Stores `future` as a new task and queues it.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_with(TaskMeta::new(None), future)
    }

    /// [`spawn`](Core::spawn) with a name.
    pub(crate) fn spawn_named<F>(&self, name: Option<Rc<str>>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_with(TaskMeta::new(name), future)
    }

    /// [`spawn`](Core::spawn) under the given id and name.
    pub(crate) fn spawn_with<F>(&self, meta: TaskMeta, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.shutting_down.get() {
            // The runtime is dropping its tasks; a task spawned now (say,
            // from a `Drop` impl) is dropped with them, never polled.
            let header = Arc::new(TaskWaker::new(self.shared.clone(), MAIN_TASK));
            header.retire();
            let task = Rc::new(TaskCell::new(header, meta, future));
            task.state.release(&task.header);
            return JoinHandle::new(task);
        }
        let mut handle = None;
        self.spawned.set(self.spawned.get() + 1);
        let key = self.tasks.borrow_mut().insert_with(|id| {
            let header = Arc::new(TaskWaker::new(self.shared.clone(), id));
            let task = Rc::new(TaskCell::new(header, meta, future));
            handle = Some(JoinHandle::new(task.clone()));
            self.run_queue.borrow_mut().push_back(Some(task.clone()));
            task as Rc<Task>
        });
        if let Some(tracer) = &self.tracer {
            if let Some(task) = self.tasks.borrow().get(key) {
                let meta = &task.meta;
                tracer.spawned(key, meta.id, meta.name.clone(), task.waker.data() as usize);
            }
        }
        handle.expect("insert_with calls its closure")
    }

    /// The cooperative budget of each poll.
    pub(crate) fn budget(&self) -> u32 {
        self.budget
    }

    /// The id and name of the spawned task being polled, if any.
    pub(crate) fn polled_task_meta(&self) -> Option<TaskMeta> {
        let key = self.reactor.polled_task()?;
        self.tasks.borrow().get(key).map(|task| task.meta.clone())
    }

    /// Polls `task` once; drops it if it completed.
    #[inline]
    fn poll_task(&self, task: Rc<Task>) {
        if let Some(tracer) = &self.tracer {
            return self.poll_task_traced(task, tracer);
        }
        if self.poll_once(&task).is_ready() {
            self.retire(task);
        }
    }

    /// [`poll_task`](Core::poll_task) while the runtime traces (or keeps
    /// histograms, or watches for stalls).
    #[cold]
    #[inline(never)]
    fn poll_task_traced(&self, task: Rc<Task>, tracer: &Tracer) {
        let key = task.header.id();
        let started = tracer.begin_poll(Some(key));
        let poll = self.poll_once(&task);
        task.busy.set(task.busy.get() + started.elapsed());
        tracer.end_poll(Some(key), started, poll.is_pending());
        if poll.is_ready() {
            tracer.finished(key, task.waker.data() as usize, task.state.ending());
            self.retire(task);
        }
    }

    /// Polls `task` once; `Ready` once it is done.
    #[inline(always)]
    fn poll_once(&self, task: &Task) -> std::task::Poll<()> {
        // No slab borrow is held here: the task may spawn, wake, or drop
        // other tasks.
        task.header.mark_dequeued();
        self.polls.set(self.polls.get() + 1);
        task.polls.set(task.polls.get() + 1);
        coop::reset(self.budget);
        self.reactor
            .start_poll(Some(PollingTask::new(task.header.id(), &task.waker)));
        // The cell catches panics, so this never unwinds.
        let poll = task
            .state
            .poll(&task.header, &mut Context::from_waker(&task.waker));
        self.reactor.end_poll();
        poll
    }

    /// Removes a task that is done, and drops its future.
    fn retire(&self, task: Rc<Task>) {
        task.header.retire();
        let removed = self.tasks.borrow_mut().remove(task.header.id());
        // Drop the future after releasing every borrow: its `Drop` may
        // spawn, or wake anything.
        task.state.release(&task.header);
        drop(removed);
    }

    /// One tick: poll up to `event_interval` queued tasks (the main future
    /// among them, through `poll_main`), then turn the reactor and fire
    /// timers. Returns the main future's output once it is ready.
    fn tick<T>(&self, poll_main: &mut impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..self.event_interval {
            let Some(queued) = self.run_queue.borrow_mut().pop_front() else {
                break;
            };
            match queued {
                Some(task) => self.poll_task(task),
                None => {
                    if let Some(output) = poll_main() {
                        return Some(output);
                    }
                }
            }
        }

        self.reactor.take_woken(|id| self.wake_task(id));
        self.shared.run_injected(self);
        let more_to_run = !self.run_queue.borrow().is_empty()
            || !self.shared.remote_queue.looks_empty()
            || !self.deferred.is_empty();
        let next_deadline = if more_to_run {
            None
        } else {
            self.timers.next_deadline()
        };
        // A paused clock with only timers to wait for jumps to the next
        // deadline, unless the turn brings something else to do first.
        let auto_advance = next_deadline.filter(|_| self.clock.may_auto_advance());
        let timeout = match (more_to_run, auto_advance, next_deadline) {
            (true, _, _) | (false, Some(_), _) => Some(Duration::ZERO),
            (false, None, deadline) => {
                deadline.map(|deadline| deadline.saturating_duration_since(self.clock.now()))
            }
        };
        let queued = self.run_queue.borrow().len();
        let parks = timeout != Some(Duration::ZERO);
        let parked_at = parks.then(std::time::Instant::now);
        let notified = {
            // Only task ids reach the closure (wakers are collected, and
            // woken below with no borrow held), and queuing an id touches
            // nothing else: one borrow of each serves the whole turn.
            let tasks = self.tasks.borrow();
            let mut run_queue = self.run_queue.borrow_mut();
            self.reactor
                .turn_collect(timeout, |id| Core::wake_into(&tasks, &mut run_queue, id))
        };
        self.reactor.wake_collected();
        if let Some(parked_at) = parked_at {
            self.parks.set(self.parks.get() + 1);
            self.parked_for
                .set(self.parked_for.get() + parked_at.elapsed());
        }
        if notified {
            self.shared.acknowledge_ring();
        }
        if let Some(deadline) = auto_advance {
            if !notified && self.run_queue.borrow().len() == queued {
                self.clock.advance_to(deadline);
            }
        }
        if !self.timers.is_empty() {
            self.timers
                .fire_due(self.clock.now(), self.tracer.as_deref());
        }
        self.shared.remote_queue.drain(|id| {
            self.remote_schedules.set(self.remote_schedules.get() + 1);
            if let Some(tracer) = &self.tracer {
                tracer.remote_wake(id);
            }
            self.schedule(id);
        });
        self.deferred.wake_all();
        None
    }

    /// Counts for tests and introspection.
    pub(crate) fn metrics(&self) -> Metrics {
        let io = self.reactor.counts();
        let tasks = self.tasks.borrow().len();
        let (poll_time_histogram, schedule_latency_histogram) = self
            .tracer
            .as_ref()
            .map_or((None, None), |tracer| tracer.histograms());
        let elapsed = self.started.elapsed();
        Metrics {
            tasks,
            io_registrations: io.registrations,
            timers: self.timers.len(),
            polls: self.polls.get(),
            num_alive_tasks: tasks,
            spawned_tasks_count: self.spawned.get(),
            poll_count: self.polls.get(),
            budget_forced_yield_count: self.budget_yields.get(),
            remote_schedule_count: self.remote_schedules.get(),
            park_count: self.parks.get(),
            total_busy_duration: elapsed.saturating_sub(self.parked_for.get()),
            elapsed,
            io_driver_fd_registered_count: io.registered,
            io_driver_fd_deregistered_count: io.deregistered,
            io_driver_ready_count: io.ready_events,
            poll_time_histogram,
            schedule_latency_histogram,
        }
    }
}
