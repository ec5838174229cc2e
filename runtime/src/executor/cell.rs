//! A spawned task's one allocation: its waker, its future, and what its
//! [`JoinHandle`](crate::task::JoinHandle) reads, side by side.
//!
//! The executor holds the cell as `Rc<TaskCell<dyn Runnable>>` and the
//! handle as `Rc<TaskCell<dyn Join<T>>>`: two views of the same `Rc`, so a
//! spawn allocates the cell and the waker's `Arc`, and nothing else.
//!
//! The future is polled where it lies, inside the `Rc` allocation, which
//! never moves; that is the one `unsafe` here (see [`TaskState::poll`]).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use super::foreign;
use super::remote::RemoteJoin;
use super::waker::{Injected, TaskWaker};
use crate::coop;
use crate::slab::Key;
use crate::task::{Id, JoinError, LocalReady};

/// A task as both the executor and its handle see it.
pub(crate) struct TaskCell<S: ?Sized> {
    /// The waker's shared state: the queued flag and the slab key.
    pub(crate) header: Arc<TaskWaker>,
    /// The waker handed to `poll`, built once from `header`.
    pub(crate) waker: Waker,
    /// The task's public id and name.
    pub(crate) meta: TaskMeta,
    /// When it was spawned, for task dumps.
    pub(crate) spawned: std::time::Instant,
    /// How often it was polled.
    pub(crate) polls: Cell<u64>,
    /// How long its polls took in all; kept only while the runtime traces.
    pub(crate) busy: Cell<std::time::Duration>,
    /// The future and its output: `TaskState<F>`, seen as `dyn Runnable`
    /// by the executor and as `dyn Join<T>` by the handle.
    pub(crate) state: S,
}

/// What a task is called: its id, and the name it was given, if any.
#[derive(Debug, Clone)]
pub(crate) struct TaskMeta {
    /// Unique in the process.
    pub(crate) id: Id,
    /// From [`task::Builder::name`](crate::task::Builder::name).
    pub(crate) name: Option<Rc<str>>,
}

impl TaskMeta {
    /// A new id, and `name`.
    pub(crate) fn new(name: Option<Rc<str>>) -> TaskMeta {
        TaskMeta {
            id: Id::next(),
            name,
        }
    }
}

impl<F: Future> TaskCell<TaskState<F>> {
    /// A cell for `future`, woken through `header`.
    pub(crate) fn new(header: Arc<TaskWaker>, meta: TaskMeta, future: F) -> TaskCell<TaskState<F>> {
        TaskCell {
            waker: Waker::from(header.clone()),
            meta,
            spawned: std::time::Instant::now(),
            polls: Cell::new(0),
            busy: Cell::new(std::time::Duration::ZERO),
            header,
            state: TaskState {
                future: RefCell::new(Some(future)),
                output: Cell::new(None),
                finished: AtomicBool::new(false),
                claimed: AtomicBool::new(false),
                aborted: Cell::new(false),
                panicked: Cell::new(false),
                join_waker: Cell::new(None),
            },
        }
    }
}

/// What the executor does with a task.
pub(crate) trait Runnable {
    /// Polls the future once with `cx`; `Ready` once the task is done
    /// (finished, panicked, or aborted), its output stored for the handle.
    /// A panic is caught and becomes the handle's `JoinError`. `header` is
    /// the task's own waker state, told when the task is done.
    fn poll(&self, header: &TaskWaker, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops the future in place, if it is still there, and reports the
    /// task cancelled to its handle unless it already finished. Called
    /// once the task is done, or when the runtime drops it.
    fn release(&self, header: &TaskWaker);

    /// How a task that is done ended, in a trace's words: `finished`,
    /// `panicked`, or `was cancelled`.
    fn ending(&self) -> &'static str;
}

/// What a [`JoinHandle`](crate::task::JoinHandle) does with its task.
pub(crate) trait Join<T> {
    /// The output once the task is done; otherwise parks `cx`'s waker.
    ///
    /// # Panics
    ///
    /// If polled again after it returned the output.
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;

    /// Has the task's `key` put on `ready` when the task is done, instead
    /// of waking a waiter: how a `JoinSet` on this thread watches a task it
    /// just spawned, with no waker to allocate and no lock to take.
    fn join_into(&self, ready: Rc<LocalReady>, key: Key);

    /// Hands the result to `join`, now if the task is done, else when it
    /// is: the handle is being used on another thread (see
    /// [`foreign`](super::foreign)). Called on the task's thread.
    fn forward_to(&self, join: Arc<RemoteJoin<T>>);

    /// The output, if the task is done and it was not claimed or taken
    /// before: how a forwarded handle takes it without waiting for the
    /// task's thread, and how `forward_to` takes it there. Any thread may
    /// call it; only a forwarded handle and the forward job do.
    fn claim_output(&self) -> Option<Result<T, JoinError>>;

    /// A job that calls [`forward_to`](Join::forward_to) with `join` on the
    /// task's thread (`thread`): see [`foreign::forward_job`]. Builds the
    /// job only: any thread may call it.
    fn forward_job(&self, thread: u64, join: Arc<RemoteJoin<T>>) -> Injected;

    /// A job that drops, on the task's thread, the share of the cell at
    /// `cell` (this one's) that a handle gave up. Builds the job only, as
    /// `forward_job` does.
    fn release_job(&self, cell: *const (), thread: u64) -> Injected;
}

/// Who hears that a task with output `T` is done.
enum JoinWaiter<T> {
    /// The task awaiting the handle.
    Task(Waker),
    /// A `JoinSet` on this thread: the task's key goes on its list.
    Set(Rc<LocalReady>, Key),
    /// A handle used on another thread: the result goes here.
    Forward(Arc<RemoteJoin<T>>),
}

/// The part of a task that depends on its future's type.
pub(crate) struct TaskState<F: Future> {
    /// The future; `None` once it has been dropped.
    ///
    /// # Invariant
    ///
    /// Pinned: this field lives inside the task's `Rc` allocation, which
    /// never moves, and the future is never moved out of the `Option`,
    /// only dropped in place by assigning `None`.
    future: RefCell<Option<F>>,
    /// The task's result, until the handle takes it.
    output: Cell<Option<Result<F::Output, JoinError>>>,
    /// True once the task has finished, panicked, or been cancelled; set
    /// (on the task's thread) after `output` is stored, so that a forwarded
    /// handle on another thread that reads it true may claim the output.
    /// Atomic for that reader only: the task's thread is its one writer.
    finished: AtomicBool,
    /// Set by whoever takes the output through
    /// [`claim_output`](Join::claim_output): a forwarded handle on another
    /// thread, or the forward job on the task's thread.
    claimed: AtomicBool,
    /// Set when a poll found the abort requested (through the waker
    /// state) and stopped the task: for `ending`.
    aborted: Cell<bool>,
    /// Set when the future panicked.
    panicked: Cell<bool>,
    /// Who waits for the task to be done.
    join_waker: Cell<Option<JoinWaiter<F::Output>>>,
}

impl<F: Future> TaskState<F> {
    /// Stores the result (or forwards it) and tells the waiter; marks
    /// `header` finished first, so that an abort handle never reads
    /// "running" once anyone has heard the task is done.
    fn finish(&self, header: &TaskWaker, result: Result<F::Output, JoinError>) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        match self.join_waker.take() {
            Some(JoinWaiter::Forward(join)) => {
                self.finished.store(true, Ordering::Release);
                header.mark_finished();
                join.finish(result);
            }
            waiter => {
                self.output.set(Some(result));
                // Publishes the output to a forwarded handle elsewhere.
                self.finished.store(true, Ordering::Release);
                header.mark_finished();
                match waiter {
                    Some(JoinWaiter::Task(waker)) => waker.wake(),
                    Some(JoinWaiter::Set(ready, key)) => ready.push(key),
                    Some(JoinWaiter::Forward(_)) | None => {}
                }
            }
        }
    }
}

impl<F: Future> Runnable for TaskState<F> {
    fn poll(&self, header: &TaskWaker, cx: &mut Context<'_>) -> Poll<()> {
        // An abort through the header (an abort handle, or another thread)
        // is seen here, before the future is polled again.
        if header.abort_requested() {
            // Noted for `ending`. `release` drops the future and reports
            // the cancellation.
            self.aborted.set(true);
            return Poll::Ready(());
        }
        let mut slot = self.future.borrow_mut();
        let Some(future) = slot.as_mut() else {
            return Poll::Ready(());
        };
        // SAFETY: the future is pinned in place (see the invariant on
        // `future`): it lives in the task's `Rc` allocation, which is never
        // moved or unwrapped, and it leaves the `Option` only by being
        // dropped there (`release`). So it never moves between this poll
        // and its drop, which is what `Pin` requires.
        let future = unsafe { Pin::new_unchecked(future) };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => {
                self.panicked.set(true);
                Err(JoinError::panic(payload))
            }
        };
        drop(slot);
        self.finish(header, result);
        Poll::Ready(())
    }

    fn release(&self, header: &TaskWaker) {
        // A future being polled cannot be released (its poll holds the
        // borrow); it is dropped with the cell instead.
        if let Ok(mut future) = self.future.try_borrow_mut() {
            // Dropped in place, as pinning requires. Its `Drop` may wake
            // or spawn; the executor holds no borrow while it runs.
            *future = None;
        }
        self.finish(header, Err(JoinError::cancelled()));
    }

    fn ending(&self) -> &'static str {
        if self.panicked.get() {
            "panicked"
        } else if self.aborted.get() {
            "was cancelled"
        } else {
            "finished"
        }
    }
}

impl<F> Join<F::Output> for TaskState<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        if self.finished.load(Ordering::Relaxed) {
            // The output costs one unit of the cooperative budget; once it
            // is spent, it stays here and the task yields.
            ready!(coop::poll_proceed(cx));
        }
        if let Some(output) = self.output.take() {
            return Poll::Ready(output);
        }
        assert!(
            !self.finished.load(Ordering::Relaxed),
            "JoinHandle polled again after it returned the task's output"
        );
        let waiter = match self.join_waker.take() {
            Some(JoinWaiter::Task(parked)) if parked.will_wake(cx.waker()) => parked,
            _ => cx.waker().clone(),
        };
        self.join_waker.set(Some(JoinWaiter::Task(waiter)));
        Poll::Pending
    }

    fn join_into(&self, ready: Rc<LocalReady>, key: Key) {
        if self.finished.load(Ordering::Relaxed) {
            ready.push(key);
            return;
        }
        self.join_waker.set(Some(JoinWaiter::Set(ready, key)));
    }

    fn forward_to(&self, join: Arc<RemoteJoin<F::Output>>) {
        if !self.finished.load(Ordering::Relaxed) {
            self.join_waker.set(Some(JoinWaiter::Forward(join)));
            return;
        }
        // Claimed already (the handle took it, or returned it before it
        // moved): nobody reads `join` any more, and the cancellation given
        // to it is never seen.
        let result = self
            .claim_output()
            .unwrap_or_else(|| Err(JoinError::cancelled()));
        join.finish(result);
    }

    fn claim_output(&self) -> Option<Result<F::Output, JoinError>> {
        if !self.finished.load(Ordering::Acquire) || self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        // Ours alone: the task's thread stored the output before the
        // `finished` we read (and writes it no more), and every other
        // reader of a forwarded handle's output claims it first.
        self.output.take()
    }

    fn forward_job(&self, thread: u64, join: Arc<RemoteJoin<F::Output>>) -> Injected {
        foreign::forward_job(self, thread, join)
    }

    fn release_job(&self, cell: *const (), thread: u64) -> Injected {
        foreign::release_job::<Self, F::Output>(self, cell, thread)
    }
}
