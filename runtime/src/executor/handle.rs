//! [`Handle`]: a runtime, reached from any thread.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::cell::TaskMeta;
use super::remote::{RemoteJoin, RemoteRunner};
use super::waker::Shared;
use super::{context, Core, RuntimeId};
use crate::blocking::{spawn_blocking_on, BlockingPool};
use crate::task::{Id, JoinError, JoinHandle};

/// A handle to a runtime that other threads (pool threads, plain threads,
/// other runtimes) may hold, to spawn `Send` work onto it.
///
/// A task spawned through a handle runs on the runtime's thread like any
/// other; its [`JoinHandle`] is `Send` and may be awaited on any thread,
/// whatever runtime (or none) that thread runs. This is how one runtime
/// hands work to another, one runtime per core.
///
/// `Handle` is `Send + Sync` and cheap to clone. A spawn onto a runtime
/// that has been dropped gives a handle that reports the task cancelled.
///
/// # Examples
///
/// A plain thread hands the runtime a job and awaits the answer on a
/// runtime of its own, while the first runtime runs:
///
/// ```
/// use runtime::sync::oneshot;
///
/// let rt = runtime::Runtime::new()?;
/// let handle = rt.handle();
/// let (tx, rx) = oneshot::channel();
/// let worker = std::thread::spawn(move || {
///     let task = handle.spawn(async { "done on the runtime's thread" });
///     let _ = tx.send(runtime::block_on(task).unwrap());
/// });
/// assert_eq!(rt.block_on(rx).unwrap(), "done on the runtime's thread");
/// worker.join().unwrap();
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The runtime's thread-safe part.
    shared: Arc<Shared>,
    /// Which runtime it is.
    id: RuntimeId,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("runtime", &self.id).finish()
    }
}

impl Handle {
    /// The handle of `core`.
    pub(crate) fn of(core: &Core) -> Handle {
        Handle {
            shared: core.shared.clone(),
            id: core.id,
        }
    }

    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    ///
    /// Outside a runtime; [`try_current`](Handle::try_current) does not.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let handle = runtime::Handle::current();
    ///     let task = handle.spawn(async { 1 });
    ///     assert_eq!(task.await.unwrap(), 1);
    /// });
    /// ```
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The handle of the runtime running on this thread, if any.
    ///
    /// # Errors
    ///
    /// [`TryCurrentError`] outside a runtime.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(Handle::of).ok_or(TryCurrentError(()))
    }

    /// Spawns `future` onto the runtime, from any thread.
    ///
    /// On the runtime's own thread this is [`spawn`](crate::spawn). From
    /// another thread the future is queued for the runtime's thread, which
    /// is woken out of `epoll_wait` to start it.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     // On the runtime's own thread, a spawn like any other.
    ///     let handle = runtime::Handle::current();
    ///     assert_eq!(handle.spawn(async { 6 * 7 }).await.unwrap(), 42);
    /// });
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let on_runtime = context::with_current(|core| core.id == self.id).unwrap_or(false);
        if on_runtime {
            return context::with_current(|core| core.spawn(future))
                .expect("the runtime is current");
        }
        self.spawn_remote(future)
    }

    /// Queues `future` for the runtime's thread.
    fn spawn_remote<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        let join = RemoteJoin::new(id);
        let runner = RemoteRunner::new(future, join.clone());
        let job = Box::new(move |core: &Core| {
            let meta = TaskMeta { id, name: None };
            drop(core.spawn_with(meta, runner));
        });
        // If the runtime is gone the job comes back; dropping it drops the
        // runner, which reports the task cancelled.
        let _refused = self.shared.inject(job);
        JoinHandle::remote(join)
    }

    /// Spawns the future `make` builds onto the runtime, from any thread:
    /// `make` is sent to the runtime's thread and called there, so the
    /// future need not be `Send` (only `make` and the output must be). This
    /// is how a thread-per-core program hands a connection to another
    /// core: send the `std` socket, wrap it there.
    ///
    /// The name is tokio-util's (`LocalPoolHandle::spawn_pinned`): the task
    /// stays on the runtime it was sent to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let rt = runtime::Runtime::new()?;
    /// let handle = rt.handle();
    /// let (tx, rx) = runtime::sync::oneshot::channel();
    /// std::thread::spawn(move || {
    ///     let task = handle.spawn_pinned(|| async {
    ///         let local = Rc::new(21); // !Send, fine: it lives on the runtime
    ///         runtime::task::yield_now().await;
    ///         *local * 2
    ///     });
    ///     let _ = tx.send(runtime::block_on(task).unwrap());
    /// });
    /// assert_eq!(rt.block_on(rx).unwrap(), 42);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn spawn_pinned<M, F>(&self, make: M) -> JoinHandle<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        let join = RemoteJoin::new(id);
        let report = join.clone();
        let job = Box::new(move |core: &Core| {
            let meta = TaskMeta { id, name: None };
            drop(core.spawn_with(meta, RemoteRunner::new(make(), report)));
        });
        if let Err(refused) = self.shared.inject(job) {
            // The runtime is gone: the job never runs, and the handle
            // must say so (`make` has not built a runner to say it).
            drop(refused);
            join.finish(Err(JoinError::cancelled()));
        }
        JoinHandle::remote(join)
    }

    /// Runs `f` on the runtime's blocking pool, from any thread; see
    /// [`spawn_blocking`](crate::task::spawn_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Runtime::new()?;
    /// let handle = rt.handle();
    /// // From a plain thread: the pool thread reports straight back.
    /// let four = std::thread::spawn(move || runtime::block_on(handle.spawn_blocking(|| 2 + 2)))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(four.unwrap(), 4);
    /// # drop(rt);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let on_runtime = context::with_current(|core| core.id == self.id).unwrap_or(false);
        if on_runtime {
            return context::with_current(|core| spawn_blocking_on(core, f))
                .expect("the runtime is current");
        }
        spawn_blocking_remote(&self.shared.blocking, f)
    }
}

/// [`Handle::spawn_blocking`] off the runtime's thread: nothing needs to
/// run on the runtime, the pool thread reports straight to the handle.
pub(crate) fn spawn_blocking_remote<F, R>(pool: &BlockingPool, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let join = RemoteJoin::new(Id::next());
    let report = join.clone();
    let ran = pool.run(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        report.finish(result.map_err(JoinError::panic));
    });
    if let Err(e) = ran {
        let message = format!("spawn_blocking: cannot start a pool thread: {e}");
        join.finish(Err(JoinError::panic(Box::new(message))));
    }
    JoinHandle::remote(join)
}

/// The error of [`Handle::try_current`]: no runtime runs on this thread.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no runtime is running on this thread: Handle::current() must be called \
             inside `runtime::block_on`",
        )
    }
}

impl Error for TryCurrentError {}
