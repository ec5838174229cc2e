//! Spawning tasks and waiting for them: [`spawn`], [`yield_now`],
//! [`JoinHandle`], [`JoinError`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::executor::cell::{Join, TaskCell};
use crate::executor::context;
use crate::executor::remote::RemoteJoin;

pub use crate::blocking::spawn_blocking;
pub use crate::coop::{consume_budget, unconstrained, Unconstrained};

/// Spawns `future` as a task on the current runtime and returns a handle
/// to its output.
///
/// The future need not be `Send`: it runs on this thread. It starts running
/// at the next opportunity, whether or not the handle is awaited; dropping
/// the [`JoinHandle`] detaches the task, which keeps running.
///
/// # Panics
///
/// Outside a runtime (that is, not within [`block_on`](crate::block_on)).
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let shared = std::rc::Rc::new(5); // !Send is fine
///     let task = runtime::spawn(async move { *shared * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::current().spawn(future)
}

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or `Err(JoinError)` if the task panicked
/// or was aborted. Dropping it **detaches** the task: the task keeps running
/// and its output is dropped when it finishes.
///
/// The handle shares the task's single allocation: the future is dropped as
/// soon as the task ends, but the allocation (the future's size, plus the
/// output until it is taken) lives until the handle is dropped too, as with
/// tokio's handles.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let task = runtime::spawn(async { panic!("boom") });
///     let err = task.await.unwrap_err();
///     assert!(err.is_panic());
/// });
/// ```
pub struct JoinHandle<T> {
    /// Where the task's result appears.
    task: Joined<T>,
}

/// Where a task's result appears.
enum Joined<T> {
    /// A task spawned on this thread: its cell, shared with the executor.
    Local(Rc<TaskCell<dyn Join<T>>>),
    /// A task spawned from another thread (`Handle::spawn`), or blocking
    /// work started off the runtime: a locked state shared across threads.
    Remote(Arc<RemoteJoin<T>>),
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// The handle of the task in `task`.
    pub(crate) fn new(task: Rc<TaskCell<dyn Join<T>>>) -> JoinHandle<T> {
        JoinHandle {
            task: Joined::Local(task),
        }
    }

    /// The handle of a task that reports to `join`.
    pub(crate) fn remote(join: Arc<RemoteJoin<T>>) -> JoinHandle<T> {
        JoinHandle {
            task: Joined::Remote(join),
        }
    }

    /// Cancels the task: its future is dropped at the latest when the
    /// runtime next reaches it, without being polled again, and awaiting
    /// the handle gives a [`JoinError`] whose
    /// [`is_cancelled`](JoinError::is_cancelled) is true. Aborting a
    /// finished task does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let task = runtime::spawn(std::future::pending::<()>());
    ///     task.abort();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        match &self.task {
            Joined::Local(task) => {
                if task.state.request_abort() {
                    task.waker.wake_by_ref();
                }
            }
            Joined::Remote(join) => join.abort(),
        }
    }

    /// True once the task has finished, panicked, or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let task = runtime::spawn(async {});
    ///     assert!(!task.is_finished());
    ///     runtime::task::yield_now().await;
    ///     assert!(task.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.task {
            Joined::Local(task) => task.state.is_finished(),
            Joined::Remote(join) => join.is_finished(),
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &self.task {
            Joined::Local(task) => task.state.poll_join(cx),
            Joined::Remote(join) => join.poll_join(cx),
        }
    }
}

/// Why a task gave no output: it panicked, or it was cancelled.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let err = runtime::spawn(async { panic!("oops") }).await.unwrap_err();
///     assert!(err.is_panic());
///     let payload = err.into_panic();
///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"oops"));
/// });
/// ```
pub struct JoinError {
    /// What happened.
    repr: Repr,
}

/// The two ways a task can end without output.
enum Repr {
    /// Aborted, or dropped with its runtime.
    Cancelled,
    /// Panicked, with the panic's payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// The error of a cancelled task.
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// The error of a task that panicked with `payload`.
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    /// True if the task was aborted or dropped with its runtime.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, for `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic called on a cancelled task's error"))
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string.
    fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(msg)) => write!(f, "task panicked: {msg}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_) => write!(
                f,
                "JoinError::Panic({:?})",
                self.panic_message().unwrap_or("..")
            ),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}

/// Lets the other ready tasks, I/O and timers run before this one
/// continues.
///
/// The task is woken again only after the runtime's next reactor turn: it
/// runs after every task that was already ready and every task that the
/// turn's I/O events and due timers woke. (Outside this runtime, say under
/// another executor, it simply wakes itself and returns `Pending` once.)
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     runtime::task::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    /// Whether the first poll already happened.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        match context::try_current() {
            Some(core) => core.deferred.defer(cx.waker()),
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}
