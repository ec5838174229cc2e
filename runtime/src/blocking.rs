//! The blocking pool behind [`spawn_blocking`]: plain threads for work that
//! would stall the runtime's one thread (file I/O, DNS lookups, heavy
//! computation, blocking libraries).
//!
//! # Design
//!
//! * **One pool per runtime**, sized by the runtime's
//!   [`Builder`](crate::Builder) (`max_blocking_threads`,
//!   `thread_keep_alive`). The runtime itself is untouched:
//!   [`spawn_blocking`] sends the closure to the pool and
//!   spawns an ordinary local task that awaits the result through a
//!   [`oneshot`] channel, whose sender wakes the task
//!   from the pool thread (ringing the runtime's eventfd). A panic in the
//!   closure is caught on the pool thread, sent as the result, and resumed
//!   in the local task, so the handle reports it like any task's panic.
//! * **Threads start on demand**, up to a limit ([`DEFAULT_MAX_THREADS`],
//!   changed with `Builder::max_blocking_threads`): a job goes to an idle
//!   thread if there is one, else to a new thread while under the limit,
//!   else it waits in the queue for the next thread to finish.
//! * **Idle threads exit** after a keep-alive ([`DEFAULT_KEEP_ALIVE`],
//!   changed with `Builder::thread_keep_alive`), so a burst of work does
//!   not leave hundreds of threads behind, and at once when their runtime
//!   is dropped.
//! * **The queue is unbounded**, as tokio's is. Each queued job is a
//!   `spawn_blocking` call the program made and whose handle it holds (or
//!   detached), so the queue grows only as fast as the program asks, like
//!   the task list; bounding it would have to either block the runtime
//!   thread or fail the call, both worse. A program that may submit
//!   unboundedly should bound itself, for example by awaiting handles or
//!   with a semaphore built from [`sync`](crate::sync).
//! * **Nothing waits for blocking work at shutdown.** Dropping a runtime
//!   drops the tasks awaiting results; a closure already queued or running
//!   still runs to completion on its pool thread, and its result is
//!   dropped there; then the thread exits. A closure cannot be interrupted, so waiting would make
//!   dropping a runtime hang for as long as the slowest closure.
//!
//! The pool's bookkeeping, invariants kept under [`Pool::state`]'s lock:
//! `idle` counts threads waiting for work and not yet claimed; a submitter
//! that finds one claims it (`idle -= 1, notified += 1`) and signals the
//! condvar; any waiting thread may consume a claim. A thread leaves only
//! when the queue is empty and no claim is outstanding, so a queued job
//! always has a thread that will take it.

use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crate::executor::{context, Core};
// loom's under `cfg(loom)`, so that `tests/loom_blocking.rs` can model the
// hand-off between submitters and pool threads.
use crate::loom::{thread, Arc, Condvar, Mutex, MutexGuard};
use crate::sync::oneshot;
use crate::task::JoinHandle;

/// How many pool threads may run at once unless the runtime's `Builder`
/// says otherwise.
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;

/// How long a pool thread waits for work before it exits, unless the
/// runtime's `Builder` says otherwise.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The name of every pool thread (at most 15 bytes, the kernel's limit).
const THREAD_NAME: &str = "rt-blocking";

/// The panic message of a handle whose closure was lost without a result,
/// which the pool never does.
const RESULT_LOST: &str = "spawn_blocking: the closure was dropped without running";

/// A type-erased job: runs the closure and sends its result.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// One runtime's blocking pool; cheap to clone (`Send + Sync`), so that a
/// `Handle` on another thread can submit to it.
#[derive(Clone)]
pub(crate) struct BlockingPool(Arc<Pool>);

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.0.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &state.threads)
            .field("queued", &state.queue.len())
            .finish()
    }
}

impl BlockingPool {
    /// A pool of at most `max_threads` (at least 1) threads that exit after
    /// `keep_alive` without work.
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool(Arc::new(Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                max_threads: max_threads.max(1),
                keep_alive,
                closed: false,
            }),
            condvar: Condvar::new(),
        }))
    }

    /// Runs `f` on a pool thread; the returned future gives its result.
    ///
    /// # Errors
    ///
    /// If no pool thread exists and none can be started.
    pub(crate) fn run<F, R>(&self, f: F) -> io::Result<oneshot::Receiver<std::thread::Result<R>>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            // The receiver is gone if the awaiting task was dropped (runtime
            // dropped, task aborted): the result is then dropped here.
            let _ = tx.send(result);
        });
        Pool::submit(&self.0, job)?;
        Ok(rx)
    }

    /// The runtime is gone: threads finish what is queued, then exit
    /// instead of waiting for more.
    pub(crate) fn shut_down(&self) {
        self.0.lock().closed = true;
        self.0.condvar.notify_all();
    }
}

/// The blocking pool: a job queue and the threads that take from it.
struct Pool {
    /// Everything, behind one lock; see the module docs for the invariants.
    state: Mutex<State>,
    /// Signalled when a job is queued for an idle thread, or the settings
    /// change.
    condvar: Condvar,
}

/// The pool's state.
struct State {
    /// Jobs no thread has taken yet, oldest first.
    queue: VecDeque<Job>,
    /// Live pool threads (busy or idle), including one being started.
    threads: usize,
    /// Threads waiting for work that no submitter has claimed yet.
    idle: usize,
    /// Claims on idle threads not yet consumed by a waking thread.
    notified: usize,
    /// The most threads that may be alive; at least 1.
    max_threads: usize,
    /// How long an idle thread waits before it exits.
    keep_alive: Duration,
    /// Set when the runtime is dropped: idle threads exit at once.
    closed: bool,
}

impl Pool {
    /// Locks the state. Jobs run without the lock and nothing under it
    /// panics, so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` and makes sure a thread will run it: an idle one, a new
    /// one, or (at the limit) the next busy one to finish.
    ///
    /// # Errors
    ///
    /// If no pool thread exists and none can be started; the job is then
    /// dropped without running.
    fn submit(this: &Arc<Pool>, job: Job) -> io::Result<()> {
        let mut state = this.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            this.condvar.notify_one();
            return Ok(());
        }
        if state.threads >= state.max_threads {
            return Ok(());
        }
        // Start a thread with the lock held, so that the count and the
        // queue stay consistent if it fails.
        state.threads += 1;
        let pool = this.clone();
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || pool.run_worker());
        match spawned {
            Ok(_detached) => Ok(()),
            Err(e) => {
                state.threads -= 1;
                if state.threads == 0 {
                    // Nobody would ever take the job: give it up. It is the
                    // one just pushed, since we held the lock throughout.
                    let job = state.queue.pop_back();
                    drop(state);
                    drop(job);
                    return Err(e);
                }
                // A busy thread takes it when it finishes.
                Ok(())
            }
        }
    }

    /// A pool thread's life: run queued jobs, wait for more, exit after
    /// the keep-alive or when above the limit.
    fn run_worker(&self) {
        let mut state = self.lock();
        'work: loop {
            // 1. Run jobs while any are queued, without the lock. A job
            //    catches the closure's panic itself; this catches a panic
            //    in dropping an unwanted result, so the thread survives.
            while let Some(job) = state.queue.pop_front() {
                drop(state);
                let _ = catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
            }
            // 2. Wait for a claim, at most the keep-alive.
            state.idle += 1;
            let idle_since = Instant::now();
            loop {
                if state.notified > 0 {
                    // A submitter counted us (or another idle thread, which
                    // stays idle in our place) out of `idle` already.
                    state.notified -= 1;
                    continue 'work;
                }
                let deadline = idle_since + state.keep_alive;
                let now = Instant::now();
                if now >= deadline || state.closed || state.threads > state.max_threads {
                    // No claim is outstanding, so the queue is empty too.
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
                state = self
                    .condvar
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
}

/// Runs `f` on a thread of the blocking pool and returns a handle to its
/// result, so that blocking work does not stall the runtime's thread.
///
/// Each runtime has its own pool. It starts threads on demand, at most 512
/// unless [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
/// says otherwise; when all are busy, jobs wait in an unbounded queue,
/// first in first out. A thread idle for 10 seconds (see
/// [`Builder::thread_keep_alive`](crate::Builder::thread_keep_alive)) exits.
///
/// Awaiting the handle gives `f`'s output, or a [`JoinError`] whose
/// [`is_panic`](crate::task::JoinError::is_panic) is true if `f` panicked
/// (the panic message is printed by the panic hook on the pool thread, as
/// for any thread).
///
/// `f` cannot be cancelled: [`abort`](JoinHandle::abort) and dropping the
/// runtime only stop the wait. `f` still runs to completion and its result
/// is dropped on the pool thread; dropping a runtime never waits for
/// blocking work. `f` runs outside any runtime: it cannot call
/// [`spawn`](crate::spawn), but may use the blocking methods of
/// [`sync`](crate::sync)'s channels.
///
/// # Panics
///
/// Outside a runtime. If no pool thread exists and the OS refuses to start
/// one, the handle reports a panic whose message holds the OS error.
///
/// [`JoinError`]: crate::task::JoinError
///
/// # Examples
///
/// ```
/// use runtime::task::spawn_blocking;
///
/// runtime::block_on(async {
///     let sum = spawn_blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10)); // blocks
///         (1..=100u32).sum::<u32>()
///     });
///     assert_eq!(sum.await.unwrap(), 5050);
///
///     let err = spawn_blocking(|| panic!("boom")).await.unwrap_err();
///     assert!(err.is_panic());
/// });
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking_on(&context::current(), f)
}

/// [`spawn_blocking`] on `core`'s pool, awaited by a task of `core`.
pub(crate) fn spawn_blocking_on<F, R>(core: &Core, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match core.shared.blocking.run(f) {
        Ok(rx) => {
            // While the job runs, a paused clock must not jump ahead: its
            // result may be what a timer is racing.
            let inhibitor = core.clock.inhibit_auto_advance();
            core.spawn(async move {
                let result = rx.await;
                drop(inhibitor);
                match result {
                    Ok(Ok(output)) => output,
                    Ok(Err(payload)) => resume_unwind(payload),
                    Err(_) => resume_unwind(Box::new(RESULT_LOST)),
                }
            })
        }
        Err(e) => {
            let message = format!("spawn_blocking: cannot start a pool thread: {e}");
            core.spawn(async move { resume_unwind(Box::new(message)) })
        }
    }
}
