//! [`Builder`]: a runtime with settings other than the defaults.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::group::{CoreId, GroupError, RuntimeGroup};
use super::waker::Shared;
use super::{Core, Runtime};
use crate::blocking::{BlockingPool, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_THREADS};
use crate::coop::{Deferred, POLL_BUDGET};
use crate::reactor::Reactor;
use crate::slab::Slab;
use crate::sys::eventfd::Notifier;
use crate::time::{Clock, Timers};
use crate::trace::{TraceConfig, Tracer};
use std::future::Future;

/// How many tasks one tick polls before the reactor gets its turn, unless
/// the [`Builder`] says otherwise (tokio's default too).
pub(crate) const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// The largest accepted `event_interval` and `budget`: beyond this a busy
/// task or queue would hold the thread for seconds.
const MAX_SETTING: u32 = 1_000_000;

/// The next runtime's id.
static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// Configures a [`Runtime`] before it starts: the loop's fairness
/// settings, the blocking pool, and a paused clock for tests.
///
/// Tokio's shape: `Builder::new_current_thread()` exists too, and
/// `enable_all()` (our runtime always has I/O and timers) is accepted and
/// does nothing, so that a tokio program's builder chain ports unchanged.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = runtime::Builder::new()
///     .event_interval(31)
///     .budget(64)
///     .max_blocking_threads(4)
///     .thread_keep_alive(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # std::io::Result::Ok(())
/// ```
pub struct Builder {
    /// Tasks polled per tick before the reactor turns.
    event_interval: u32,
    /// Budgeted operations per poll.
    budget: u32,
    /// Most blocking-pool threads at once.
    max_blocking_threads: usize,
    /// How long an idle blocking-pool thread waits before it exits.
    thread_keep_alive: Duration,
    /// Start with the clock paused.
    start_paused: bool,
    /// What to report: the event trace, stalls, histograms.
    trace: TraceConfig,
    /// Runtimes [`spawn_per_core`](Builder::spawn_per_core) starts; 0:
    /// one per CPU the process may use.
    threads: usize,
    /// Pin each of those runtimes' threads to a CPU.
    pin: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("event_interval", &self.event_interval)
            .field("budget", &self.budget)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("start_paused", &self.start_paused)
            .field("trace", &self.trace)
            .field("threads", &self.threads)
            .field("pin", &self.pin)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: an event interval of 61, a budget of 128 operations
    /// per poll, at most 512 blocking threads kept 10 s when idle, the
    /// clock running.
    pub fn new() -> Builder {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
            budget: POLL_BUDGET,
            max_blocking_threads: DEFAULT_MAX_THREADS,
            thread_keep_alive: DEFAULT_KEEP_ALIVE,
            start_paused: false,
            trace: TraceConfig::default(),
            threads: 1,
            pin: false,
        }
    }

    /// The same as [`new`](Builder::new): every runtime here is a
    /// current-thread runtime.
    pub fn new_current_thread() -> Builder {
        Builder::new()
    }

    /// Accepted for tokio's sake; I/O and timers are always on.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// How many tasks one tick polls before the reactor gets its turn
    /// (61): lower reacts to I/O sooner, higher runs queued tasks with
    /// fewer `epoll_wait` calls.
    ///
    /// # Panics
    ///
    /// If `interval` is 0 or above 1,000,000.
    pub fn event_interval(&mut self, interval: u32) -> &mut Builder {
        assert!(
            (1..=MAX_SETTING).contains(&interval),
            "event_interval must be between 1 and {MAX_SETTING}, not {interval}"
        );
        self.event_interval = interval;
        self
    }

    /// How many budgeted operations (reads, writes, channel receives, ...)
    /// a task may perform in one poll before it must yield (128); see the
    /// crate's docs on the cooperative budget.
    ///
    /// # Panics
    ///
    /// If `budget` is 0 or above 1,000,000.
    pub fn budget(&mut self, budget: u32) -> &mut Builder {
        assert!(
            (1..=MAX_SETTING).contains(&budget),
            "budget must be between 1 and {MAX_SETTING}, not {budget}"
        );
        self.budget = budget;
        self
    }

    /// The most threads the runtime's blocking pool runs at once (512);
    /// more jobs wait in its queue.
    ///
    /// # Panics
    ///
    /// If `max` is 0.
    pub fn max_blocking_threads(&mut self, max: usize) -> &mut Builder {
        assert!(max > 0, "the blocking pool needs at least one thread");
        self.max_blocking_threads = max;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it
    /// exits (10 s).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Starts the runtime with its clock paused, as
    /// [`time::pause`](crate::time::pause) would: for tests of
    /// time-dependent code.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::Instant;
    ///
    /// let rt = runtime::Builder::new().start_paused(true).build()?;
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     runtime::time::sleep(Duration::from_secs(300)).await;
    ///     assert_eq!(start.elapsed(), Duration::from_secs(300));
    /// });
    /// # std::io::Result::Ok(())
    /// ```
    pub fn start_paused(&mut self, paused: bool) -> &mut Builder {
        self.start_paused = paused;
        self
    }

    /// Writes the runtime's event trace to `writer`: one line per turn of
    /// the reactor, per event and whom it woke, per task poll with what the
    /// task read and wrote and where it parked, per spawn, timer and
    /// registration (see the [`trace`](crate#the-event-trace) docs). The
    /// environment variable `RUNTIME_TRACE=1` does the same, to stderr, for
    /// any program.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::{Arc, Mutex};
    ///
    /// /// Collects the trace in memory.
    /// #[derive(Clone, Default)]
    /// struct Collect(Arc<Mutex<Vec<u8>>>);
    /// impl Write for Collect {
    ///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
    ///         self.0.lock().unwrap().extend_from_slice(buf);
    ///         Ok(buf.len())
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    ///
    /// let trace = Collect::default();
    /// let rt = runtime::Builder::new().trace(trace.clone()).build()?;
    /// rt.block_on(async {
    ///     runtime::task::Builder::new().name("hello").spawn(async {})?.await.unwrap();
    ///     std::io::Result::Ok(())
    /// })?;
    /// drop(rt); // the writer thread has the last lines soon after
    /// # std::thread::sleep(std::time::Duration::from_millis(100));
    /// let text = String::from_utf8(trace.0.lock().unwrap().clone()).unwrap();
    /// assert!(text.contains("\"hello\" spawned"), "{text}");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn trace(&mut self, writer: impl io::Write + Send + 'static) -> &mut Builder {
        self.trace.lines = Some(Box::new(writer));
        self
    }

    /// Reports every task poll that holds the thread longer than
    /// `threshold` (to the trace, or to stderr), naming the task: a
    /// single-threaded runtime's worst enemy made visible. Off by default;
    /// watching costs two clock reads per poll.
    pub fn stall_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.trace.stall = Some(threshold);
        self
    }

    /// Keeps the poll-time and schedule-latency histograms of
    /// [`Metrics`](crate::Metrics) (tokio calls the first
    /// `enable_metrics_poll_time_histogram`). Costs two clock reads per
    /// poll and one per wake.
    pub fn enable_metrics_histograms(&mut self) -> &mut Builder {
        self.trace.histograms = true;
        self
    }

    /// How many runtimes [`spawn_per_core`](Builder::spawn_per_core)
    /// starts (1 unless said): `0` means one per CPU the process may use.
    ///
    /// # Panics
    ///
    /// Above 1,024.
    pub fn threads(&mut self, threads: usize) -> &mut Builder {
        assert!(
            threads <= 1024,
            "at most 1,024 runtimes per group, not {threads}"
        );
        self.threads = threads;
        self
    }

    /// Pins each runtime [`spawn_per_core`](Builder::spawn_per_core) starts
    /// to a CPU of its own (core `i` to the `i`-th CPU the process may use,
    /// wrapping around if there are more runtimes than CPUs).
    pub fn pin(&mut self, pin: bool) -> &mut Builder {
        self.pin = pin;
        self
    }

    /// Starts [`threads`](Builder::threads) runtimes, each on a thread of
    /// its own, each running `make(core)`; see
    /// [`RuntimeGroup`](crate::RuntimeGroup) for the model. The closure is
    /// called on each core's thread, so the future it makes need not be
    /// `Send`. The settings apply to every runtime; a writer given to
    /// [`trace`](Builder::trace) receives core 0's trace (the others trace
    /// to stderr if `RUNTIME_TRACE=1`).
    ///
    /// # Errors
    ///
    /// If a thread or a runtime cannot be started (the ones started are
    /// stopped), or pinning fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpSocket;
    ///
    /// // Two runtimes, each with its own listener on one shared port.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let group = runtime::Builder::new().threads(2).spawn_per_core(move |core| async move {
    ///     let socket = TcpSocket::new_v4()?;
    ///     socket.set_reuseport(true)?;
    ///     socket.bind(([127, 0, 0, 1], port).into())?;
    ///     let listener = socket.listen(128)?;
    ///     std::io::Result::Ok((core.index(), listener.local_addr()?.port()))
    /// })?;
    /// for result in group.join()? {
    ///     assert_eq!(result?.1, port);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_per_core<F, Fut>(&mut self, make: F) -> io::Result<RuntimeGroup<Fut::Output>>
    where
        F: Fn(CoreId) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pin = self.pin;
        RuntimeGroup::start(self, threads, pin, make)
    }

    /// [`spawn_per_core`](Builder::spawn_per_core), then
    /// [`join`](RuntimeGroup::join): runs a future per core and waits for
    /// them all.
    ///
    /// # Errors
    ///
    /// [`GroupError::Start`] if the group cannot start; otherwise as
    /// [`RuntimeGroup::join`].
    pub fn run_per_core<F, Fut>(&mut self, make: F) -> Result<Vec<Fut::Output>, GroupError>
    where
        F: Fn(CoreId) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        match self.spawn_per_core(make) {
            Ok(group) => group.join(),
            Err(e) => Err(GroupError::Start(e)),
        }
    }

    /// The settings for core `index` of a group: these, and the trace
    /// writer for core 0 only.
    pub(super) fn for_core(&mut self, index: usize) -> Builder {
        let trace = TraceConfig {
            lines: if index == 0 {
                self.trace.lines.take()
            } else {
                None
            },
            stall: self.trace.stall,
            histograms: self.trace.histograms,
        };
        Builder {
            event_interval: self.event_interval,
            budget: self.budget,
            max_blocking_threads: self.max_blocking_threads,
            thread_keep_alive: self.thread_keep_alive,
            start_paused: self.start_paused,
            trace,
            threads: 1,
            pin: false,
        }
    }

    /// Creates the runtime: an epoll instance and an eventfd.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors or memory.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let mut config = std::mem::take(&mut self.trace);
        if config.lines.is_none() && std::env::var_os("RUNTIME_TRACE").is_some_and(|v| v == "1") {
            config.lines = Some(Box::new(io::stderr()));
        }
        let tracer = (!config.is_off()).then(|| Rc::new(Tracer::new(config)));
        let notifier = Notifier::new()?;
        let reactor = notifier
            .with_fd(|fd| Reactor::new(fd, tracer.clone()))
            .expect("a new notifier is open")?;
        let blocking = BlockingPool::new(self.max_blocking_threads, self.thread_keep_alive);
        let core = Core {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            shared: Arc::new(Shared::new(notifier, blocking)),
            reactor: Rc::new(reactor),
            timers: Timers::default(),
            clock: Rc::new(Clock::new(self.start_paused)),
            event_interval: self.event_interval as usize,
            budget: self.budget,
            deferred: Deferred::default(),
            tasks: RefCell::new(Slab::default()),
            run_queue: RefCell::new(VecDeque::new()),
            shutting_down: Cell::new(false),
            polls: Cell::new(0),
            spawned: Cell::new(0),
            budget_yields: Cell::new(0),
            remote_schedules: Cell::new(0),
            parks: Cell::new(0),
            parked_for: Cell::new(Duration::ZERO),
            started: std::time::Instant::now(),
            tracer,
        };
        Ok(Runtime::from_core(core))
    }
}
