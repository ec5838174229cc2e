//! [`Metrics`]: counts of what a runtime holds and has done.

use super::context;

/// A snapshot of what a runtime holds, from [`Runtime::metrics`] or
/// [`metrics()`](crate::metrics()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Spawned tasks that have not finished.
    pub tasks: usize,
    /// Sockets registered with the reactor.
    pub io_registrations: usize,
    /// Pending timers (sleeps, timeouts, intervals being awaited).
    pub timers: usize,
    /// Task polls since the runtime started (not counting `block_on`'s own
    /// future).
    pub polls: u64,
    /// File descriptors registered with the reactor since it started
    /// (tokio's name).
    pub io_driver_fd_registered_count: u64,
    /// File descriptors deregistered since the reactor started (tokio's
    /// name).
    pub io_driver_fd_deregistered_count: u64,
    /// Readiness events epoll reported for registered fds (tokio's name).
    pub io_driver_ready_count: u64,
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
