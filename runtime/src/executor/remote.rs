//! A task spawned from another thread: the [`RemoteJoin`] state its
//! `JoinHandle` shares across threads, and the [`RemoteRunner`] future the
//! runtime runs for it.
//!
//! A local task's handle shares the task's `Rc` cell: no atomics, no lock.
//! A handle made on another thread (by [`Handle::spawn`](super::Handle))
//! cannot share an `Rc`, so such a task reports to an `Arc`'d, locked
//! [`RemoteJoin`] instead: the runner stores the output there and wakes
//! whoever awaits the handle, on whatever thread.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::coop;
use crate::loom::{Mutex, MutexGuard};
use crate::task::{Id, JoinError};

/// What a handle and its remote task share.
#[derive(Debug)]
pub(crate) struct RemoteJoin<T> {
    /// The task's id, chosen when it was spawned.
    id: Id,
    /// Everything, behind one lock; wakers are woken after unlocking.
    state: Mutex<State<T>>,
}

/// What an [`AbortHandle`](crate::task::AbortHandle) does with a remote
/// task: nothing that depends on the output's type.
pub(crate) trait RemoteAbort: Send + Sync {
    /// Asks the task to stop at its next poll, waking it.
    fn abort(&self);
    /// True once the task finished, panicked, or was cancelled.
    fn is_finished(&self) -> bool;
    /// The task's id.
    fn id(&self) -> Id;
}

impl<T: Send> RemoteAbort for RemoteJoin<T> {
    fn abort(&self) {
        RemoteJoin::abort(self);
    }

    fn is_finished(&self) -> bool {
        RemoteJoin::is_finished(self)
    }

    fn id(&self) -> Id {
        self.id
    }
}

/// The shared state of a remote task.
#[derive(Debug)]
struct State<T> {
    /// The result, until the handle takes it.
    output: Option<Result<T, JoinError>>,
    /// True once the task finished, panicked, or was cancelled.
    finished: bool,
    /// Set by the handle's `abort`.
    abort_requested: bool,
    /// The task's waker, so that an abort can wake it.
    task_waker: Option<Waker>,
    /// The task awaiting the handle.
    join_waker: Option<Waker>,
}

impl<T> RemoteJoin<T> {
    /// A fresh, unfinished state for the task `id`.
    pub(crate) fn new(id: Id) -> Arc<RemoteJoin<T>> {
        Arc::new(RemoteJoin {
            id,
            state: Mutex::new(State {
                output: None,
                finished: false,
                abort_requested: false,
                task_waker: None,
                join_waker: None,
            }),
        })
    }

    /// Locks the state; nothing panics under the lock, so poisoning is
    /// ignored.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the result (the first one only) and wakes the handle's task.
    pub(crate) fn finish(&self, result: Result<T, JoinError>) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.finished = true;
        state.output = Some(result);
        let waker = state.join_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The handle's poll.
    ///
    /// # Panics
    ///
    /// If polled again after it returned the output.
    pub(crate) fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        if let Some(output) = state.output.take() {
            return Poll::Ready(output);
        }
        assert!(
            !state.finished,
            "JoinHandle polled again after it returned the task's output"
        );
        let replaced = match &state.join_waker {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => state.join_waker.replace(cx.waker().clone()),
        };
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.id
    }

    /// Parks `waker` to be woken when the task is done, without charging
    /// the cooperative budget.
    pub(crate) fn set_join_waker(&self, waker: &Waker) {
        let mut state = self.lock();
        if state.finished {
            drop(state);
            waker.wake_by_ref();
            return;
        }
        let replaced = state.join_waker.replace(waker.clone());
        drop(state);
        drop(replaced);
    }

    /// Asks the task to stop at its next poll, waking it.
    pub(crate) fn abort(&self) {
        let mut state = self.lock();
        if state.finished || state.abort_requested {
            return;
        }
        state.abort_requested = true;
        let waker = state.task_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// True once the task finished, panicked, or was cancelled.
    pub(crate) fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

pin_project! {
    /// The local task that runs a remote spawn's future and reports to
    /// its [`RemoteJoin`]. Dropped without finishing (aborted, or never
    /// run because its runtime went away), it reports the cancellation.
    pub(crate) struct RemoteRunner<F: Future> {
        #[pin]
        future: F,
        join: Arc<RemoteJoin<F::Output>>,
    }

    impl<F: Future> PinnedDrop for RemoteRunner<F> {
        fn drop(this: Pin<&mut Self>) {
            this.join.finish(Err(JoinError::cancelled()));
        }
    }
}

impl<F: Future> RemoteRunner<F> {
    /// Runs `future`, reporting to `join`.
    pub(crate) fn new(future: F, join: Arc<RemoteJoin<F::Output>>) -> RemoteRunner<F> {
        RemoteRunner { future, join }
    }
}

impl<F: Future> Future for RemoteRunner<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        {
            let mut state = this.join.lock();
            if state.abort_requested {
                drop(state);
                // Dropping the runner reports the cancellation.
                return Poll::Ready(());
            }
            if !state
                .task_waker
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                state.task_waker = Some(cx.waker().clone());
            }
        }
        let result = match catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JoinError::panic(payload)),
        };
        this.join.finish(result);
        Poll::Ready(())
    }
}
