//! Under `cfg(loom)` only: the executor's and the blocking pool's
//! cross-thread pieces, for the models in `tests/loom_executor.rs` and
//! `tests/loom_blocking.rs`. Not part of the API.
//!
//! loom cannot model `epoll_wait`, so a model cannot run a whole
//! [`Runtime`](crate::Runtime). What crosses threads does not need one:
//! the wakers ([`TaskWaker`]) and the runtime's [`Shared`] part (remote
//! queue, `ring_pending`, the eventfd, which `crate::loom` replaces by a
//! loom-visible flag), the spawn queue ([`Injector`]) with
//! [`RemoteJoin`]/[`RemoteRunner`], and the blocking pool. These are the
//! runtime's own types, used as they are. Only the runtime thread's side
//! of a tick is written again here ([`Model::turn`], [`Model::shut_down`]),
//! step for step as `Core::tick` and `Runtime::drop` take it; a change
//! there must be made here too.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use crate::executor::handle::spawn_blocking_remote;
use crate::executor::remote::{RemoteJoin, RemoteRunner};
use crate::executor::waker::{Injector, Shared, TaskWaker};
use crate::slab::Key;
use crate::sync::oneshot;
use crate::sys::eventfd::Notifier;
use crate::task::{Id, JoinHandle};

/// A spawn from another thread as the models queue it: the runner that
/// `Handle::spawn` wraps the future in (the runtime's own job type takes a
/// `Core`, which a model cannot build).
pub type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One runtime's cross-thread state; clones share it.
#[derive(Clone)]
pub struct Model {
    /// The runtime's shared part, as `Core` holds it.
    shared: Arc<Shared>,
    /// The spawn queue (the runtime's own sits inside `shared`, typed for
    /// `Core`).
    injector: Arc<Injector<Job>>,
}

impl Default for Model {
    fn default() -> Model {
        Model::new()
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").finish_non_exhaustive()
    }
}

/// What one turn of the runtime's thread brought.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct Turn {
    /// Spawns from other threads, to be polled as new tasks.
    pub spawned: Vec<Job>,
    /// Ids of tasks woken from other threads, oldest first.
    pub woken: Vec<u64>,
    /// True if the eventfd fired.
    pub notified: bool,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).finish()
    }
}

/// A task's header: its queued flag and its waker.
#[derive(Clone)]
pub struct Task {
    /// The runtime's waker type.
    header: Arc<TaskWaker>,
}

impl Task {
    /// The waker a poll of the task gets.
    pub fn waker(&self) -> Waker {
        Waker::from(self.header.clone())
    }

    /// The task's id.
    pub fn id(&self) -> u64 {
        self.header.id().to_u64()
    }

    /// What `Core::poll_once` does before polling the task.
    pub fn mark_dequeued(&self) {
        self.header.mark_dequeued();
    }

    /// What `Core::retire` (and `Runtime::drop`) do once the task is gone.
    pub fn retire(&self) {
        self.header.retire();
    }

    /// True while the task is queued (or gone).
    pub fn is_queued(&self) -> bool {
        self.header.is_queued()
    }
}

impl Model {
    /// A runtime's shared part, with a blocking pool of one thread.
    ///
    /// # Panics
    ///
    /// If no eventfd can be made.
    pub fn new() -> Model {
        let notifier = Notifier::new().expect("eventfd");
        let blocking = crate::blocking::BlockingPool::new(1, Duration::ZERO);
        Model {
            shared: Arc::new(Shared::new(notifier, blocking)),
            injector: Arc::new(Injector::new()),
        }
    }

    /// A task of this runtime, created queued as `Core::spawn_with` makes
    /// it (the spawner puts it on the local run queue).
    pub fn task(&self, id: u64) -> Task {
        Task {
            header: Arc::new(TaskWaker::new(self.shared.clone(), Key::from_u64(id))),
        }
    }

    /// The runtime thread's side of a tick once it has polled its tasks,
    /// as `Core::tick` takes it: take the spawns from other threads, turn
    /// (the eventfd's `wait` stands for `epoll_wait`: blocking unless
    /// something is left to run), acknowledge a ring, drain the remote
    /// queue. `local_queue_empty` says whether the local run queue is
    /// empty after the polls.
    pub fn turn(&self, local_queue_empty: bool) -> Turn {
        let mut turn = Turn::default();
        // `Shared::run_injected`.
        if self.injector.may_have_jobs() {
            turn.spawned = self.injector.take();
        }
        let more_to_run = !local_queue_empty
            || !turn.spawned.is_empty()
            || !self.shared.remote_queue.looks_empty();
        turn.notified = self.shared.notifier.model.wait(!more_to_run);
        if turn.notified {
            self.shared.acknowledge_ring();
        }
        self.shared
            .remote_queue
            .drain(|id| turn.woken.push(id.to_u64()));
        turn
    }

    /// `Handle::spawn` from another thread: queues `future` for the
    /// runtime's thread, wakes it, and returns the handle.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let join = RemoteJoin::new(Id::next());
        let runner = RemoteRunner::new(future, join.clone());
        // As in `Handle::spawn_remote`: a refused job is dropped, and the
        // runner reports the task cancelled.
        let _refused = self
            .injector
            .inject(Box::pin(runner), || self.shared.ring());
        JoinHandle::remote(join)
    }

    /// `Handle::spawn_blocking` from another thread.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_remote(&self.shared.blocking, f)
    }

    /// What `Runtime::drop` does to the cross-thread state: retire every
    /// task, drop the queued remote wakes, refuse and drop the queued
    /// spawns, shut the blocking pool down.
    pub fn shut_down(&self, tasks: &[Task]) {
        for task in tasks {
            task.retire();
        }
        self.shared.remote_queue.drain(drop);
        drop(self.injector.close());
        self.shared.close_injection();
        self.shared.blocking.shut_down();
    }
}

/// A runtime's blocking pool.
#[derive(Debug, Clone)]
pub struct BlockingPool(crate::blocking::BlockingPool);

impl BlockingPool {
    /// A pool of at most `max_threads` threads that exit after
    /// `keep_alive` idle (loom never times a wait out: a zero keep-alive
    /// makes an idle thread exit at once, any other waits for work or the
    /// shutdown).
    pub fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool(crate::blocking::BlockingPool::new(max_threads, keep_alive))
    }

    /// Runs `f` on a pool thread (`BlockingPool::run`).
    ///
    /// # Errors
    ///
    /// If no pool thread exists and none can be started.
    pub fn run<F, R>(&self, f: F) -> io::Result<oneshot::Receiver<std::thread::Result<R>>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.0.run(f)
    }

    /// What dropping the runtime does to its pool.
    pub fn shut_down(&self) {
        self.0.shut_down();
    }
}
