//! [`Metrics`]: counts of what a runtime holds and has done.

use super::context;
use crate::trace::Histogram;

/// A snapshot of what a runtime holds and has done, from
/// [`Runtime::metrics`](crate::Runtime::metrics) or
/// [`metrics()`](crate::metrics()). The counters carry tokio's names, so
/// dashboards and habits carry over; they are plain counters on the
/// runtime's one thread, so keeping them costs (almost) nothing.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new()?;
/// rt.block_on(async {
///     runtime::spawn(async {}).await.unwrap();
/// });
/// let m = rt.metrics();
/// assert_eq!(m.spawned_tasks_count, 1);
/// assert_eq!(m.num_alive_tasks, 0);
/// assert!(m.poll_count >= 1);
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Spawned tasks that have not finished (the same as
    /// `num_alive_tasks`).
    pub tasks: usize,
    /// File descriptors registered with the reactor right now.
    pub io_registrations: usize,
    /// Pending timers (sleeps, timeouts, intervals being awaited).
    pub timers: usize,
    /// Task polls since the runtime started (the same as `poll_count`).
    pub polls: u64,
    /// Spawned tasks that have not finished.
    pub num_alive_tasks: usize,
    /// Tasks spawned since the runtime started.
    pub spawned_tasks_count: u64,
    /// Task polls since the runtime started (not counting `block_on`'s own
    /// future).
    pub poll_count: u64,
    /// Polls cut short because the task spent its cooperative budget.
    pub budget_forced_yield_count: u64,
    /// Tasks scheduled from other threads (remote wakes).
    pub remote_schedule_count: u64,
    /// Times the runtime waited in `epoll_wait` with a timeout other than
    /// zero: it had nothing to run.
    pub park_count: u64,
    /// How long the runtime was not waiting in those turns: polling tasks,
    /// handling events, firing timers.
    pub total_busy_duration: std::time::Duration,
    /// How long the runtime has existed.
    pub elapsed: std::time::Duration,
    /// File descriptors registered with the reactor since it started.
    pub io_driver_fd_registered_count: u64,
    /// File descriptors deregistered since the reactor started.
    pub io_driver_fd_deregistered_count: u64,
    /// Readiness events epoll reported for registered fds.
    pub io_driver_ready_count: u64,
    /// How long task polls took, if
    /// [`Builder::enable_metrics_histograms`](crate::Builder::enable_metrics_histograms)
    /// was called.
    pub poll_time_histogram: Option<Histogram>,
    /// How long woken tasks waited until they were polled, if enabled.
    pub schedule_latency_histogram: Option<Histogram>,
}

/// Counts of what the current runtime holds.
///
/// # Panics
///
/// Outside a runtime.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let _task = runtime::spawn(async {});
///     assert_eq!(runtime::metrics().tasks, 1);
/// });
/// ```
pub fn metrics() -> Metrics {
    context::current().metrics()
}
