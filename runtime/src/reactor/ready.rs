//! What the reactor knows about an fd: [`Direction`]s, the cached
//! [`Ready`] bits, and the [`Interest`] an fd is registered with.

use std::fmt;
use std::ops;

use crate::sys::epoll::{self, Event};

/// One direction of I/O on a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading, accepting, receiving.
    Read,
    /// Writing, connecting, sending.
    Write,
}

/// Readiness of an I/O object: what epoll reported for it and no syscall
/// has disproved yet.
///
/// [`AsyncFd`](crate::io::unix::AsyncFd)'s guards hand it out, and the
/// reactor keeps one per registered fd. The closed states never clear:
/// once a peer hung up, reads keep returning EOF.
///
/// # Examples
///
/// ```
/// use runtime::io::Ready;
///
/// let ready = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(ready.is_readable() && ready.is_read_closed());
/// assert!(!ready.is_writable());
/// assert!(Ready::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Ready(u8);

impl Ready {
    /// Nothing is ready.
    pub const EMPTY: Ready = Ready(0);
    /// Data (or a connection) can be read.
    pub const READABLE: Ready = Ready(1);
    /// Data can be written.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The read side reached end of stream or failed: reads return EOF or
    /// the error at once.
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The write side hung up or failed: writes return the error at once.
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// The runtime was dropped and nothing will report readiness again.
    /// Set together with both directions' bits, so that each operation
    /// reaches its syscall once more; where the syscall then says
    /// `WouldBlock`, only this bit is left and the operation fails instead
    /// of waiting for ever. Never handed to users.
    pub(crate) const SHUT_DOWN: Ready = Ready(1 << 4);
    /// The runtime traces what it does: operations on this fd take the
    /// reporting path. Never cleared; never handed to users.
    pub(crate) const TRACED: Ready = Ready(1 << 5);

    /// The bits one epoll event adds.
    #[inline]
    pub(crate) fn from_event(event: &Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready |= Ready::READABLE;
        }
        if event.is_writable() {
            ready |= Ready::WRITABLE;
        }
        if event.is_read_closed() {
            ready |= Ready::READ_CLOSED;
        }
        if event.is_hup() || event.is_error() {
            ready |= Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        ready
    }

    /// Every bit that lets an operation in `direction` make progress,
    /// shut-down included.
    #[inline]
    const fn of(direction: Direction) -> Ready {
        match direction {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::SHUT_DOWN.0),
            Direction::Write => {
                Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::SHUT_DOWN.0)
            }
        }
    }

    /// The bit that a syscall proves gone when it returns `WouldBlock` in
    /// `direction`; the closed and shut-down bits never go.
    #[inline]
    pub(crate) const fn clearable(direction: Direction) -> Ready {
        match direction {
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
        }
    }

    /// True if an operation in `direction` may make progress.
    #[inline]
    pub(crate) fn allows(self, direction: Direction) -> bool {
        !self.intersection(Ready::of(direction)).is_empty()
    }

    /// True if neither the runtime's shutdown nor tracing is set: the
    /// operation may take the hot path.
    #[inline(always)]
    pub(crate) fn is_plain(self) -> bool {
        self.intersection(Ready(Ready::SHUT_DOWN.0 | Ready::TRACED.0))
            .is_empty()
    }

    /// True if `direction` is ready only because the runtime shut down:
    /// an operation there would wait for a report that never comes.
    #[inline]
    pub(crate) fn only_shut_down(self, direction: Direction) -> bool {
        self.intersection(Ready::of(direction)) == Ready::SHUT_DOWN
    }

    /// The bits of `direction` only, as a user sees them (no shut-down bit).
    #[inline]
    pub(crate) fn for_direction(self, direction: Direction) -> Ready {
        self.intersection(Ready::of(direction))
            .difference(Ready::SHUT_DOWN)
    }

    /// How a trace names the readiness an event brought.
    pub(crate) fn describe(self) -> String {
        let names = [
            (Ready::READABLE, "readable"),
            (Ready::WRITABLE, "writable"),
            (Ready::READ_CLOSED, "read-closed"),
            (Ready::WRITE_CLOSED, "write-closed"),
        ];
        let words: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| self.contains(*bit))
            .map(|(_, name)| *name)
            .collect();
        if words.is_empty() {
            "nothing".to_string()
        } else {
            words.join(" + ")
        }
    }

    /// True if no bit is set.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if data (or a connection) can be read.
    pub fn is_readable(self) -> bool {
        self.contains(Ready::READABLE)
    }

    /// True if data can be written.
    pub fn is_writable(self) -> bool {
        self.contains(Ready::WRITABLE)
    }

    /// True if the read side reached end of stream or failed.
    pub fn is_read_closed(self) -> bool {
        self.contains(Ready::READ_CLOSED)
    }

    /// True if the write side hung up or failed.
    pub fn is_write_closed(self) -> bool {
        self.contains(Ready::WRITE_CLOSED)
    }

    /// True if every bit of `other` is set in `self`.
    #[inline]
    pub(crate) fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in both.
    #[inline]
    pub(crate) const fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }

    /// The bits of `self` that are not in `other`.
    #[inline]
    pub(crate) const fn difference(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;

    #[inline]
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    #[inline]
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::Sub for Ready {
    type Output = Ready;

    #[inline]
    fn sub(self, other: Ready) -> Ready {
        self.difference(other)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::SHUT_DOWN, "SHUT_DOWN"),
            (Ready::TRACED, "TRACED"),
        ];
        let mut set = names.iter().filter(|(bit, _)| self.contains(*bit));
        match set.next() {
            None => f.write_str("Ready(EMPTY)"),
            Some((_, first)) => {
                f.write_str("Ready(")?;
                f.write_str(first)?;
                for (_, name) in set {
                    write!(f, " | {name}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Which directions an fd is watched for.
///
/// Sockets are watched for both; [`AsyncFd::with_interest`] can ask for
/// one, for an fd that only ever reads or only ever writes. Never empty.
///
/// [`AsyncFd::with_interest`]: crate::io::unix::AsyncFd::with_interest
///
/// # Examples
///
/// ```
/// use runtime::io::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    /// Watch for readability (and the peer's half-close).
    read: bool,
    /// Watch for writability.
    write: bool,
}

impl Interest {
    /// Watch for reads.
    pub const READABLE: Interest = Interest {
        read: true,
        write: false,
    };
    /// Watch for writes.
    pub const WRITABLE: Interest = Interest {
        read: false,
        write: true,
    };
    /// Both: what every socket is registered with.
    pub(crate) const BOTH: Interest = Interest {
        read: true,
        write: true,
    };

    /// True if reads are watched.
    pub const fn is_readable(self) -> bool {
        self.read
    }

    /// True if writes are watched.
    pub const fn is_writable(self) -> bool {
        self.write
    }

    /// Both `self` and `other`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest {
            read: self.read || other.read,
            write: self.write || other.write,
        }
    }

    /// True if `direction` is watched.
    pub(crate) fn includes(self, direction: Direction) -> bool {
        match direction {
            Direction::Read => self.read,
            Direction::Write => self.write,
        }
    }

    /// As the epoll layer spells it.
    pub(crate) fn to_epoll(self) -> epoll::Interest {
        epoll::Interest {
            read: self.read,
            write: self.write,
        }
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.read, self.write) {
            (true, true) => f.write_str("Interest(READABLE | WRITABLE)"),
            (true, false) => f.write_str("Interest(READABLE)"),
            (false, true) => f.write_str("Interest(WRITABLE)"),
            (false, false) => unreachable!("an Interest is never empty"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shut_down_makes_both_directions_ready_but_only_shut_down() {
        let ready = Ready::SHUT_DOWN;
        assert!(ready.allows(Direction::Read) && ready.allows(Direction::Write));
        assert!(ready.only_shut_down(Direction::Read));
        let readable = ready | Ready::READABLE;
        assert!(!readable.only_shut_down(Direction::Read));
        assert!(readable.only_shut_down(Direction::Write));
        assert_eq!(readable.for_direction(Direction::Read), Ready::READABLE);
    }

    #[test]
    fn closed_bits_make_their_direction_ready() {
        assert!(Ready::READ_CLOSED.allows(Direction::Read));
        assert!(!Ready::READ_CLOSED.allows(Direction::Write));
        assert!(Ready::WRITE_CLOSED.allows(Direction::Write));
        let cleared = (Ready::READABLE | Ready::READ_CLOSED) - Ready::clearable(Direction::Read);
        assert_eq!(cleared, Ready::READ_CLOSED);
    }

    #[test]
    fn debug_names_the_bits() {
        assert_eq!(
            format!("{:?}", Ready::READABLE | Ready::WRITE_CLOSED),
            "Ready(READABLE | WRITE_CLOSED)"
        );
        assert_eq!(format!("{:?}", Ready::EMPTY), "Ready(EMPTY)");
    }
}
