//! The idle sweeper: closes connections that echo nothing for a whole idle
//! limit.
//!
//! One task per server, not a timer per connection: it wakes every quarter
//! of the limit and looks at each open connection's progress counter (the
//! bytes it echoed). A connection whose counter stood still for
//! [`IDLE_CHECKS`] sweeps in a row is shut down. The echo's hot path never
//! reads the clock or touches a timer; it only adds to its counter.
//!
//! A connection is closed between 1 and 1.25 limits after its last
//! progress, never early: its last progress came at or before the sweep
//! that saw it, and [`IDLE_CHECKS`] more sweeps, each a quarter limit after
//! the one before, must see no change. A connection that is new at a sweep
//! counts as having made progress then.

use std::cell::Cell;
use std::io;
use std::net::Shutdown;
use std::rc::Weak;
use std::time::Duration;

use crate::server::Connections;
use crate::Connection;

/// Sweeps per idle limit; a connection is closed after this many in a row
/// saw no progress.
pub(crate) const IDLE_CHECKS: u32 = 4;

/// The sweeper's view of one connection.
#[derive(Debug)]
pub(crate) struct IdleCheck {
    /// The progress counter at the last sweep; `u64::MAX` before the
    /// first one (no connection echoes that much), so the first sweep
    /// always sees a change.
    seen: Cell<u64>,
    /// Sweeps in a row that saw no change.
    still: Cell<u32>,
    /// Set when the sweeper closed the connection.
    fired: Cell<bool>,
}

impl IdleCheck {
    /// A connection not seen by any sweep yet.
    pub(crate) fn new() -> IdleCheck {
        IdleCheck {
            seen: Cell::new(u64::MAX),
            still: Cell::new(0),
            fired: Cell::new(false),
        }
    }

    /// Looks at the counter `progress`; true once it stood still for
    /// [`IDLE_CHECKS`] sweeps in a row.
    fn check(&self, progress: u64) -> bool {
        if progress != self.seen.get() {
            self.seen.set(progress);
            self.still.set(0);
            return false;
        }
        self.still.set(self.still.get() + 1);
        self.still.get() >= IDLE_CHECKS
    }

    /// Whether the sweeper closed the connection.
    pub(crate) fn fired(&self) -> bool {
        self.fired.get()
    }
}

/// Closes `connection` for being idle: shuts down both directions, so that
/// its echo, waiting to read or to write, ends at once.
fn close_idle(connection: &Connection) {
    connection.idle.fired.set(true);
    let _ = connection.stream().shutdown_with(Shutdown::Both);
}

/// The error a connection closed for being idle for `limit` ends with.
pub(crate) fn idle_error(limit: Duration) -> io::Error {
    let message = format!("idle for {} s", limit.as_secs_f64());
    io::Error::new(io::ErrorKind::TimedOut, message)
}

/// The sweeper's task: every quarter of `limit`, checks each open
/// connection; ends once none is open (the server starts it again with the
/// next connection), or once the server is gone.
///
/// Cancel safety: cancel-safe; a sweep runs between two awaits.
pub(crate) async fn sweep(connections: Weak<Connections>, limit: Duration) {
    loop {
        // From now, not from the last deadline: a late sweep (a busy
        // runtime) must not make the next ones come sooner.
        runtime::time::sleep(limit / IDLE_CHECKS).await;
        let Some(connections) = connections.upgrade() else {
            return;
        };
        let open = connections.for_each_open(|connection| {
            if connection.idle.check(connection.bytes_echoed()) {
                close_idle(connection);
            }
        });
        if open == 0 {
            connections.sweeper_stopped();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_the_checks_in_a_row_and_not_before() {
        let check = IdleCheck::new();
        // The first sweep sees a new connection: progress, whatever the count.
        assert!(!check.check(0));
        for _ in 1..IDLE_CHECKS {
            assert!(!check.check(0));
        }
        assert!(check.check(0), "still for IDLE_CHECKS sweeps");
    }

    #[test]
    fn progress_starts_the_count_again() {
        let check = IdleCheck::new();
        assert!(!check.check(5));
        for _ in 1..IDLE_CHECKS {
            assert!(!check.check(5));
        }
        assert!(!check.check(6), "progress just before the last check");
        for _ in 1..IDLE_CHECKS {
            assert!(!check.check(6));
        }
        assert!(check.check(6));
    }

    #[test]
    fn the_error_names_the_limit() {
        let e = idle_error(Duration::from_secs(1));
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "idle for 1 s");
    }
}
