//! [`Runtime`] and [`block_on`]: running a future, and the tasks it
//! spawns, to completion on this thread.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::waker::TaskWaker;
use super::{context, Builder, Core, Handle, Metrics, TaskDump, MAIN_TASK};
use crate::coop;
use crate::task::JoinHandle;

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
        Builder::new().build()
    }

    /// A runtime around `core`, made by the [`Builder`].
    pub(super) fn from_core(core: Core) -> Runtime {
        Runtime {
            core: Rc::new(core),
            _not_send: PhantomData,
        }
    }

    /// A [`Handle`] to this runtime, for spawning onto it from other
    /// threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// let handle = rt.handle();
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// std::thread::spawn(move || {
    ///     let task = handle.spawn(async { 2 + 2 });
    ///     let _ = tx.send(runtime::block_on(task).unwrap());
    /// });
    /// assert_eq!(rt.block_on(rx).unwrap(), 4);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::of(&self.core)
    }

    /// Spawns `future` onto this runtime, as [`spawn`](crate::spawn) does
    /// inside it; callable outside [`block_on`](Runtime::block_on) too,
    /// where the task first runs at the next `block_on`. Unlike tokio's, it
    /// takes futures that are not `Send`: the runtime is on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// let shared = std::rc::Rc::new(6);
    /// let task = rt.spawn(async move { *shared * 7 });
    /// assert_eq!(rt.block_on(task).unwrap(), 42);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// Runs `f` on this runtime's blocking pool, as
    /// [`spawn_blocking`](crate::task::spawn_blocking) does inside it.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// let task = rt.spawn_blocking(|| 2 + 2);
    /// assert_eq!(rt.block_on(task).unwrap(), 4);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::blocking::spawn_blocking_on(&self.core, f)
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
            coop::reset(core.budget);
            core.reactor.start_poll(None);
            let started = core.tracer.as_ref().map(|tracer| tracer.begin_poll(None));
            let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
            if let (Some(tracer), Some(started)) = (&core.tracer, started) {
                tracer.end_poll(None, started, poll.is_pending());
            }
            match poll {
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
        core.run_queue.borrow_mut().retain(Option::is_some);
        output
    }

    /// Every live task of this runtime; see [`dump`](crate::dump).
    pub fn dump(&self) -> TaskDump {
        self.core.dump()
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
            task.state.release(&task.header);
        }
        drop(tasks);
        self.core.run_queue.borrow_mut().clear();
        self.core.shared.remote_queue.drain(drop);
        // Spawns from other threads that never ran are cancelled (their
        // handles say so), and no more are taken.
        self.core.shared.close_injection();
        self.core.shared.blocking.shut_down();
        self.core.timers.clear();
        // I/O objects that outlive the runtime now fail instead of waiting,
        // and other runtimes' tasks waiting on them are woken to see that.
        self.core.reactor.shut_down();
        // Wakers may outlive the runtime (and keep its shared part), but
        // need not keep its eventfd: a wake from now on does nothing.
        self.core.shared.notifier.close();
        // Wakers deferred by a poll this runtime made: its own tasks' are
        // retired by now (waking them does nothing), but a future polled
        // with another executor's waker may have yielded here.
        self.core.deferred.wake_all();
    }
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
