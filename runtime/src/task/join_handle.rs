//! [`JoinHandle`]: awaiting a task's output; [`AbortHandle`]: cancelling it
//! from anywhere the handle can go.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::{Id, JoinError, LocalReady};
use crate::executor::cell::{Join, TaskCell};
use crate::executor::foreign::LocalJoin;
use crate::executor::remote::{RemoteAbort, RemoteJoin};
use crate::executor::waker::TaskWaker;
use crate::slab::Key;

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
/// The handle is `Send` and `Sync` when the output is, as tokio's is: it
/// may be awaited, aborted or dropped on any thread, whatever runtime (or
/// none) runs there. Awaited on a thread other than the task's, it takes
/// the output itself if the task has finished, and otherwise asks the
/// task's runtime to pass the result on when it comes (a lock, and a wake
/// of that runtime). An abort from there, and the release of the task's
/// allocation when the handle is dropped there, go through the task's
/// runtime too. If that runtime is dropped before the task finished,
/// awaiting the handle elsewhere reports the task cancelled; a handle
/// dropped elsewhere after its runtime is gone leaks the task's allocation
/// (not its output), which only its own thread may free.
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
    /// A task spawned with `spawn`: its cell, shared with the executor
    /// and used directly on the task's own thread.
    Local(LocalJoin<T>),
    /// A task spawned from another thread (`Handle::spawn`), or blocking
    /// work started off the runtime: a locked state shared across threads,
    /// and the same state seen without its output type, for abort handles.
    Remote(Arc<RemoteJoin<T>>, Arc<dyn RemoteAbort>),
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
            task: Joined::Local(LocalJoin::new(task)),
        }
    }

    /// The handle of a task that reports to `join`.
    pub(crate) fn remote(join: Arc<RemoteJoin<T>>) -> JoinHandle<T>
    where
        T: Send + 'static,
    {
        let abort: Arc<dyn RemoteAbort> = join.clone();
        JoinHandle {
            task: Joined::Remote(join, abort),
        }
    }

    /// The task's id; [`task::id`](super::id) inside the task says the
    /// same.
    pub fn id(&self) -> Id {
        match &self.task {
            Joined::Local(task) => task.id(),
            Joined::Remote(join, _) => join.id(),
        }
    }

    /// A handle that can only cancel the task, and outlives this one.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let task = runtime::spawn(std::future::pending::<()>());
    ///     let abort = task.abort_handle();
    ///     assert_eq!(abort.id(), task.id());
    ///     abort.abort();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    ///     assert!(abort.is_finished());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        let target = match &self.task {
            Joined::Local(local) => {
                let (header, id) = local.header();
                AbortTarget::Local(header.clone(), id)
            }
            Joined::Remote(_, abort) => AbortTarget::Remote(abort.clone()),
        };
        AbortHandle { target }
    }

    /// Has `key` put on a `JoinSet`'s list when the task is done, without
    /// charging the cooperative budget: on `local` for a task of this
    /// thread, through `remote`'s waker for one that reports from another.
    pub(crate) fn join_into(
        &self,
        key: Key,
        local: &Rc<LocalReady>,
        remote: impl FnOnce() -> Waker,
    ) {
        match &self.task {
            Joined::Local(task) => match task.here() {
                Some(task) => task.state.join_into(local.clone(), key),
                None => task.forwarded().join.set_join_waker(&remote()),
            },
            Joined::Remote(join, _) => join.set_join_waker(&remote()),
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
            Joined::Local(local) => local.abort(),
            Joined::Remote(join, _) => join.abort(),
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
            Joined::Local(local) => local.is_finished(),
            Joined::Remote(join, _) => join.is_finished(),
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().task {
            Joined::Local(local) => {
                let poll = match local.here() {
                    Some(task) => task.state.poll_join(cx),
                    None => local.poll_forwarded(cx),
                };
                if poll.is_ready() {
                    local.note_returned();
                }
                poll
            }
            Joined::Remote(join, _) => join.poll_join(cx),
        }
    }
}

/// Cancels a task without awaiting it: from
/// [`JoinHandle::abort_handle`] or [`JoinSet::spawn`](super::JoinSet::spawn).
///
/// As tokio's, it is `Send` and `Sync` and may be used on any thread, and
/// an abort through it works as one through the `JoinHandle` does: the
/// task is not polled again (unless it is being polled at that moment on
/// its own thread, when that poll ends first) and is dropped when its
/// runtime next runs. The handle of a task started with
/// [`spawn`](crate::spawn) does not keep the task's output alive; that of
/// one started with [`Handle::spawn`](crate::Handle::spawn) or
/// `spawn_blocking` shares the output's place with the `JoinHandle`, as
/// tokio's does.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let task = runtime::spawn(std::future::pending::<()>());
///     let abort = task.abort_handle();
///     std::thread::spawn(move || abort.abort()).join().unwrap();
///     assert!(task.await.unwrap_err().is_cancelled());
/// });
/// ```
pub struct AbortHandle {
    /// The task.
    target: AbortTarget,
}

/// The task an [`AbortHandle`] cancels.
enum AbortTarget {
    /// A task spawned on a runtime's thread: its waker's shared part, where
    /// an abort is requested (the executor reads it before each poll) and
    /// the end is noted, and the task's id. Any thread may hold this.
    Local(Arc<TaskWaker>, Id),
    /// A task spawned from another thread.
    Remote(Arc<dyn RemoteAbort>),
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`] does.
    pub fn abort(&self) {
        match &self.target {
            AbortTarget::Local(header, _) => header.request_abort(),
            AbortTarget::Remote(abort) => abort.abort(),
        }
    }

    /// True once the task has finished, panicked, or been cancelled (or
    /// its runtime was dropped).
    pub fn is_finished(&self) -> bool {
        match &self.target {
            AbortTarget::Local(header, _) => header.is_finished(),
            AbortTarget::Remote(abort) => abort.is_finished(),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        match &self.target {
            AbortTarget::Local(_, id) => *id,
            AbortTarget::Remote(abort) => abort.id(),
        }
    }
}
