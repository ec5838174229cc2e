//! [`JoinSet`]: a group of tasks, joined in the order they finish.
//!
//! Each task is told, at spawn, to put its key on the set's ready list
//! when it finishes (its output is stored by then). `join_next` takes from
//! that list, so joining n tasks costs O(n) in all, not O(n) per call.
//!
//! Tasks of this thread, the common case, report on a plain list: the
//! task's cell holds the list itself where it would hold a waker, so
//! watching a task costs no allocation and no lock. Blocking work reports
//! from a pool thread, so it gets a small waker of its own and a locked
//! list, made the first time the set holds such work.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};

use super::{AbortHandle, JoinError, JoinHandle};
use crate::coop;
use crate::slab::{Key, Slab};

/// A set of tasks whose outputs are taken as they finish.
///
/// Dropping the set aborts every task still in it, as tokio's does;
/// [`detach_all`](JoinSet::detach_all) lets them run on instead.
///
/// # Examples
///
/// ```
/// use runtime::task::JoinSet;
///
/// runtime::block_on(async {
///     let mut set = JoinSet::new();
///     for i in 0..10u32 {
///         set.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(result) = set.join_next().await {
///         sum += result.unwrap();
///     }
///     assert_eq!(sum, 285);
/// });
/// ```
pub struct JoinSet<T> {
    /// The handles of the tasks not yet joined.
    tasks: Slab<JoinHandle<T>>,
    /// Keys of finished tasks of this thread.
    local: Rc<LocalReady>,
    /// Keys of finished blocking work; made on first use.
    remote: Option<Arc<RemoteReady>>,
}

/// The finished tasks of a set, as tasks on the set's own thread report
/// them.
#[derive(Default)]
pub(crate) struct LocalReady {
    /// Keys of tasks that finished and were not joined yet, in order.
    keys: RefCell<VecDeque<Key>>,
    /// The task waiting in `join_next`.
    waiter: Cell<Option<Waker>>,
}

impl LocalReady {
    /// Records that the task under `key` is done, and wakes the waiter.
    pub(crate) fn push(&self, key: Key) {
        self.keys.borrow_mut().push_back(key);
        if let Some(waiter) = self.waiter.take() {
            waiter.wake();
        }
    }

    /// The oldest finished key.
    fn pop(&self) -> Option<Key> {
        self.keys.borrow_mut().pop_front()
    }
}

/// The finished blocking work of a set, as pool threads report it.
#[derive(Default)]
struct RemoteReady {
    /// Behind a lock: a pool thread pushes.
    inner: Mutex<RemoteInner>,
}

/// The list proper.
#[derive(Default)]
struct RemoteInner {
    /// Keys of work that finished and was not joined yet, in order.
    keys: VecDeque<Key>,
    /// The task waiting in `join_next`.
    waiter: Option<Waker>,
}

impl RemoteReady {
    /// Locks the list; nothing panics under the lock.
    fn lock(&self) -> MutexGuard<'_, RemoteInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parked on one piece of blocking work: records its key when it is done.
struct EntryWaker {
    /// The work's key in the set.
    key: Key,
    /// The set's list.
    ready: Arc<RemoteReady>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut inner = self.ready.lock();
        inner.keys.push_back(self.key);
        let waiter = inner.waiter.take();
        drop(inner);
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: Slab::default(),
            local: Rc::default(),
            remote: None,
        }
    }

    /// Tasks in the set (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.len() == 0
    }

    /// Spawns `future` on the current runtime, as a task of the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Runs `f` on the blocking pool, as a task of the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }

    /// Adds a spawned task's handle to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let local = &self.local;
        let remote = &mut self.remote;
        self.tasks.insert_with(|key| {
            handle.join_into(key, local, || {
                let ready = remote.get_or_insert_with(Arc::default).clone();
                Waker::from(Arc::new(EntryWaker { key, ready }))
            });
            handle
        });
        abort
    }

    /// Waits for the next task to finish and returns its result, or `None`
    /// if the set is empty. Tasks come out in the order they finish
    /// (in a set that also holds blocking work, the finished tasks of the
    /// set's own thread come first, then the finished blocking work); an
    /// aborted task gives a cancelled [`JoinError`].
    ///
    /// Cancel-safe: a result is taken from the set only by the call that
    /// returns it.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for [`join_next`](JoinSet::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.is_empty() {
            return Poll::Ready(None);
        }
        ready!(coop::poll_proceed(cx));
        if let Some(result) = self.take_ready() {
            return Poll::Ready(Some(result));
        }
        // Nothing on this thread can finish a task before we return, so
        // the local list stays empty until then.
        self.local.waiter.set(Some(cx.waker().clone()));
        if let Some(remote) = &self.remote {
            let mut inner = remote.lock();
            if !inner.keys.is_empty() {
                // Blocking work finished since `take_ready` looked.
                drop(inner);
                if let Some(result) = self.take_ready() {
                    return Poll::Ready(Some(result));
                }
                // Only stale keys: look again at the next poll.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let replaced = inner.waiter.replace(cx.waker().clone());
            drop(inner);
            drop(replaced);
        }
        coop::refund();
        Poll::Pending
    }

    /// The result of a finished task, if one is ready, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.take_ready()
    }

    /// Takes the next finished task's result.
    fn take_ready(&mut self) -> Option<Result<T, JoinError>> {
        loop {
            let key = match self.local.pop() {
                Some(key) => key,
                None => self.remote.as_ref()?.lock().keys.pop_front()?,
            };
            // A stale key: its task was detached since.
            let Some(mut handle) = self.tasks.remove(key) else {
                continue;
            };
            // The output is there: take it without charging the budget
            // again (`poll_join_next` charged it).
            let waker = Waker::noop();
            let mut take = coop::unconstrained(&mut handle);
            match Pin::new(&mut take).poll(&mut Context::from_waker(waker)) {
                Poll::Ready(result) => return Some(result),
                // Cannot happen: the handle's waker fires once the output
                // is stored. Keep the task rather than lose it.
                Poll::Pending => {
                    self.insert(handle);
                }
            }
        }
    }

    /// Cancels every task in the set; they stay in it, and join as
    /// cancelled (or with their output, if they finished first).
    pub fn abort_all(&mut self) {
        self.tasks.values().for_each(JoinHandle::abort);
    }

    /// Cancels every task and waits until all are gone, dropping their
    /// results.
    ///
    /// Cancel-safe: dropping the future leaves the rest of the tasks
    /// aborted and in the set.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they
    /// finished.
    ///
    /// # Panics
    ///
    /// If a task panicked (the panic is resumed) or was cancelled.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("JoinSet::join_all: {e}"),
            }
        }
        outputs
    }

    /// Removes every task from the set without cancelling them: they run
    /// on, detached.
    pub fn detach_all(&mut self) {
        drop(self.tasks.drain());
        self.local.keys.borrow_mut().clear();
        if let Some(remote) = &self.remote {
            remote.lock().keys.clear();
        }
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}
