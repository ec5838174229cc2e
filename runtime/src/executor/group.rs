//! Thread-per-core: a [`RuntimeGroup`] of runtimes, one per thread, each
//! optionally pinned to a core, started by
//! [`Builder::spawn_per_core`](super::Builder::spawn_per_core).
//!
//! # The model
//!
//! One runtime is one thread: no locks on the hot path, no work stealing,
//! `!Send` tasks. A program that outgrows a core runs one such runtime per
//! core. Each core's runtime runs a future the program builds for it (the
//! builder closure is `Send + Sync`; the future need not be `Send`), and a
//! connection lives its whole life on the core that accepted it: each core
//! binds its own listener on the same port with `SO_REUSEPORT`
//! ([`TcpSocket::set_reuseport`](crate::net::TcpSocket::set_reuseport)), or
//! one core accepts and hands each connection's socket to another core
//! through that core's [`Handle`] (`Send` values only: a
//! `std::net::TcpStream` from [`TcpStream::into_std`](crate::net::TcpStream::into_std)).
//!
//! A panic in a core's future stops the whole group (the other cores'
//! futures are dropped, their runtimes with them) and
//! [`join`](RuntimeGroup::join) reports which core panicked. Dropping the
//! group, or [`shutdown`](RuntimeGroup::shutdown), stops every core the
//! same way.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;

use super::{Builder, Handle};
use crate::sync::Notify;
use crate::sys::affinity;

/// Which core of a [`RuntimeGroup`] a future runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoreId {
    /// Its place in the group, from 0.
    index: usize,
    /// The CPU its thread is pinned to, if pinned.
    cpu: Option<usize>,
}

impl CoreId {
    /// The core's place in the group, from 0 to the number of cores - 1.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The CPU the core's thread is pinned to, if the group pins.
    pub fn cpu(&self) -> Option<usize> {
        self.cpu
    }
}

impl fmt::Display for CoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "core {}", self.index)
    }
}

/// Why a [`RuntimeGroup`] did not give every core's output.
#[derive(Debug)]
#[non_exhaustive]
pub enum GroupError {
    /// A core's future (or runtime) panicked; the others were stopped.
    Panicked {
        /// The core that panicked first.
        core: CoreId,
        /// Its panic message, if it was a string.
        message: String,
    },
    /// The group was shut down before every core's future finished.
    Stopped,
    /// A thread or a runtime could not be started.
    Start(io::Error),
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Panicked { core, message } => write!(f, "{core} panicked: {message}"),
            GroupError::Stopped => f.write_str("the runtime group was shut down"),
            GroupError::Start(e) => write!(f, "cannot start the runtime group: {e}"),
        }
    }
}

impl Error for GroupError {}

/// What every core watches: set once the group must stop.
#[derive(Debug, Default)]
struct Stop {
    /// True once stopping.
    requested: AtomicBool,
    /// Wakes every core's runtime when it is set.
    notify: Notify,
}

impl Stop {
    /// Asks every core to stop.
    fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Completes once a stop is requested.
    async fn requested(&self) {
        loop {
            let notified = self.notify.notified();
            if self.requested.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// How one core's thread ended.
enum Ended<T> {
    /// Its future finished with this output.
    Output(T),
    /// It was stopped before its future finished.
    Stopped,
    /// It panicked with this message.
    Panicked(String),
}

/// Runtimes running on threads of their own, one per core: from
/// [`Builder::spawn_per_core`](super::Builder::spawn_per_core).
///
/// # Examples
///
/// ```
/// let group = runtime::Builder::new()
///     .threads(2)
///     .spawn_per_core(|core| async move {
///         runtime::task::yield_now().await;
///         core.index() * 10
///     })?;
/// assert_eq!(group.len(), 2);
/// assert_eq!(group.join()?, vec![0, 10]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RuntimeGroup<T> {
    /// Each core's thread, in core order; `None` once joined.
    threads: Vec<Option<thread::JoinHandle<Ended<T>>>>,
    /// Each core's runtime.
    handles: Vec<Handle>,
    /// Each core's id.
    cores: Vec<CoreId>,
    /// Shared by every core.
    stop: Arc<Stop>,
}

impl<T> fmt::Debug for RuntimeGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeGroup")
            .field("cores", &self.cores)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> RuntimeGroup<T> {
    /// Starts `cores` runtimes built as `builder` says, each running
    /// `make(core)`; see [`Builder::spawn_per_core`](super::Builder::spawn_per_core).
    pub(super) fn start<F, Fut>(
        builder: &mut Builder,
        cores: usize,
        pin: bool,
        make: F,
    ) -> io::Result<Self>
    where
        F: Fn(CoreId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let cpus = if pin {
            affinity::allowed_cpus()?
        } else {
            Vec::new()
        };
        let make = Arc::new(make);
        let stop = Arc::new(Stop::default());
        let mut group = RuntimeGroup {
            threads: Vec::with_capacity(cores),
            handles: Vec::with_capacity(cores),
            cores: Vec::with_capacity(cores),
            stop: stop.clone(),
        };
        for index in 0..cores {
            let core = CoreId {
                index,
                cpu: (!cpus.is_empty()).then(|| cpus[index % cpus.len()]),
            };
            let mut settings = builder.for_core(index);
            let (make, stop) = (make.clone(), stop.clone());
            let (started_tx, started_rx) = mpsc::channel();
            let thread = thread::Builder::new()
                .name(format!("rt-core-{index}"))
                .spawn(move || {
                    if let Some(cpu) = core.cpu {
                        if let Err(e) = affinity::pin_current_thread(cpu) {
                            let _ = started_tx.send(Err(e));
                            return Ended::Stopped;
                        }
                    }
                    let rt = match settings.build() {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return Ended::Stopped;
                        }
                    };
                    let _ = started_tx.send(Ok(rt.handle()));
                    drop(started_tx);
                    let ended = catch_unwind(AssertUnwindSafe(|| {
                        rt.block_on(run_until_stopped(make(core), &stop))
                    }));
                    // Dropping the runtime drops the core's remaining tasks;
                    // a panic there is reported like the future's own.
                    let dropped = catch_unwind(AssertUnwindSafe(|| drop(rt)));
                    let ended = match (ended, dropped) {
                        (Ok(Some(output)), Ok(())) => Ended::Output(output),
                        (Ok(None), Ok(())) => Ended::Stopped,
                        (Err(payload), _) | (_, Err(payload)) => {
                            Ended::Panicked(panic_message(&*payload))
                        }
                    };
                    if let Ended::Panicked(_) = ended {
                        stop.request();
                    }
                    ended
                });
            let thread = match thread {
                Ok(thread) => thread,
                Err(e) => {
                    group.shutdown();
                    return Err(e);
                }
            };
            group.threads.push(Some(thread));
            group.cores.push(core);
            match started_rx.recv() {
                Ok(Ok(handle)) => group.handles.push(handle),
                Ok(Err(e)) => {
                    group.shutdown();
                    return Err(io::Error::new(e.kind(), format!("{core}: {e}")));
                }
                Err(_) => {
                    group.shutdown();
                    return Err(io::Error::other(format!("{core} failed to start")));
                }
            }
        }
        Ok(group)
    }

    /// How many cores the group runs.
    pub fn len(&self) -> usize {
        self.cores.len()
    }

    /// True if the group runs no core (never: a group has at least one).
    pub fn is_empty(&self) -> bool {
        self.cores.is_empty()
    }

    /// Each core's [`Handle`], in core order: to pass `Send` work to a
    /// chosen core.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Each core's id, in core order.
    pub fn cores(&self) -> &[CoreId] {
        &self.cores
    }

    /// Asks every core to stop: each core's future is dropped at its next
    /// turn, and its runtime with it. [`join`](RuntimeGroup::join) then
    /// waits for the threads.
    pub fn shutdown(&self) {
        self.stop.request();
    }

    /// Waits for every core's thread, and returns their futures' outputs
    /// in core order.
    ///
    /// # Errors
    ///
    /// [`GroupError::Panicked`] naming the core whose future (or runtime)
    /// panicked first, after the others were stopped;
    /// [`GroupError::Stopped`] if the group was shut down before every
    /// future finished.
    pub fn join(mut self) -> Result<Vec<T>, GroupError> {
        let mut outputs = Vec::with_capacity(self.len());
        let mut first_error = None;
        for (index, thread) in self.threads.iter_mut().enumerate() {
            let ended = thread
                .take()
                .map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|payload| Ended::Panicked(panic_message(&*payload)))
                })
                .unwrap_or(Ended::Stopped);
            match ended {
                Ended::Output(output) => outputs.push(output),
                Ended::Panicked(message) => {
                    let core = self.cores[index];
                    // A panic outranks a stop: it is why the others stopped.
                    if !matches!(first_error, Some(GroupError::Panicked { .. })) {
                        first_error = Some(GroupError::Panicked { core, message });
                    }
                }
                Ended::Stopped => {
                    first_error.get_or_insert(GroupError::Stopped);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outputs),
        }
    }
}

impl<T> Drop for RuntimeGroup<T> {
    fn drop(&mut self) {
        self.stop.request();
        for thread in self.threads.iter_mut().filter_map(Option::take) {
            let _ = thread.join();
        }
    }
}

/// Runs `future` until it finishes (`Some`) or the group stops (`None`).
async fn run_until_stopped<F: Future>(future: F, stop: &Stop) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut stopped = pin!(stop.requested());
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        stopped.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// A panic payload's message, when it is a string.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_string())
}
