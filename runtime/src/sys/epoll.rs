//! `Epoll`: the kernel's readiness queue, owned as an `OwnedFd`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::syscall;

/// An epoll instance. Closing it (on drop) drops every registration in it.
#[derive(Debug)]
pub(crate) struct Epoll {
    /// The epoll fd, close-on-exec.
    fd: OwnedFd,
}

/// What a registration asks epoll to watch, as typed flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interest {
    /// Report readability (`EPOLLIN`, and `EPOLLRDHUP` for a peer's FIN).
    pub(crate) read: bool,
    /// Report writability (`EPOLLOUT`).
    pub(crate) write: bool,
}

/// One readiness event as the kernel reported it, copied out of the packed
/// `epoll_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    /// The data word given at registration.
    pub(crate) token: u64,
    /// The raw `EPOLL*` bits; read them through the methods below.
    flags: u32,
}

impl Event {
    /// Data can be read, or the read side reached EOF or an error.
    pub(crate) fn is_readable(&self) -> bool {
        self.flags & (libc::EPOLLIN | libc::EPOLLPRI) as u32 != 0
    }

    /// Data can be written.
    pub(crate) fn is_writable(&self) -> bool {
        self.flags & libc::EPOLLOUT as u32 != 0
    }

    /// The peer shut down its write side: reads will reach EOF.
    pub(crate) fn is_read_closed(&self) -> bool {
        self.flags & libc::EPOLLRDHUP as u32 != 0
    }

    /// Both directions hung up (`EPOLLHUP`).
    pub(crate) fn is_hup(&self) -> bool {
        self.flags & libc::EPOLLHUP as u32 != 0
    }

    /// An error is pending on the fd (`EPOLLERR`); the next syscall returns it.
    pub(crate) fn is_error(&self) -> bool {
        self.flags & libc::EPOLLERR as u32 != 0
    }
}

/// A reusable buffer that `Epoll::wait` fills.
pub(crate) struct Events {
    /// Room for `capacity` events; its length is the number the last wait
    /// initialised.
    buf: Vec<libc::epoll_event>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("len", &self.buf.len())
            .finish()
    }
}

impl Events {
    /// A buffer for at most `capacity` events per wait.
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        Events {
            buf: Vec::with_capacity(capacity.max(1)),
        }
    }

    /// The events of the last wait.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf.iter().map(|ev| Event {
            // Copy fields out of the packed struct before using them.
            token: { ev.u64 },
            flags: { ev.events },
        })
    }

    /// How many events the last wait returned.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the last wait returned no events.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl Epoll {
    /// Creates a close-on-exec epoll instance.
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: `epoll_create1` takes only a flag word.
        let fd = unsafe { syscall!(epoll_create1(libc::EPOLL_CLOEXEC)) }?;
        // SAFETY: `epoll_create1` succeeded, so `fd` is a fresh descriptor
        // that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    /// Registers `fd`, edge-triggered, for `interest`, tagged with `token`.
    ///
    /// The registration follows the open file description: callers
    /// [`delete`](Epoll::delete) it before the last fd to it is closed.
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        let mut flags = libc::EPOLLET;
        if interest.read {
            flags |= libc::EPOLLIN | libc::EPOLLRDHUP;
        }
        if interest.write {
            flags |= libc::EPOLLOUT;
        }
        let mut event = libc::epoll_event {
            events: flags as u32,
            u64: token,
        };
        // SAFETY: both fds are open for the duration of the call (one is
        // owned by `self`, the other borrowed), and `event` is a valid,
        // initialised `epoll_event` that the kernel only reads.
        unsafe {
            syscall!(epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event
            ))
        }?;
        Ok(())
    }

    /// Removes `fd` from the interest list.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        // SAFETY: both fds are open for the call; since Linux 2.6.9 the event
        // pointer may be null for `EPOLL_CTL_DEL`.
        unsafe {
            syscall!(epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd.as_raw_fd(),
                std::ptr::null_mut()
            ))
        }?;
        Ok(())
    }

    /// Waits for events, at most `timeout` (`None`: forever).
    ///
    /// The timeout is rounded **up** to whole milliseconds, so a caller that
    /// waits for a deadline never wakes before it. An interrupted wait
    /// (`EINTR`) is returned as zero events: it is just an early wakeup.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms = match timeout {
            None => -1,
            Some(t) => {
                // Round up: 1 ns becomes 1 ms, never 0.
                let ms = t.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        events.buf.clear();
        match super::direct::epoll_wait(self.fd.as_fd(), &mut events.buf, timeout_ms) {
            Ok(n) => {
                // SAFETY: `epoll_wait` returned n ≤ capacity, and the kernel
                // initialised exactly those n entries.
                unsafe { events.buf.set_len(n) };
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    const BOTH: Interest = Interest {
        read: true,
        write: true,
    };

    #[test]
    fn zero_timeout_wait_returns_at_once_with_no_events() {
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(8);
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn a_written_socket_reports_its_token_readable_once_edge_triggered() {
        let epoll = Epoll::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        epoll.add(a.as_fd(), 42, BOTH).unwrap();
        let mut events = Events::with_capacity(8);

        // A fresh socket is writable, not readable.
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        let first: Vec<Event> = events.iter().collect();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].token, 42);
        assert!(first[0].is_writable() && !first[0].is_readable());

        // Edge-triggered: nothing new happened, so nothing is reported.
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());

        b.write_all(b"x").unwrap();
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let ev: Vec<Event> = events.iter().collect();
        assert_eq!(ev.len(), 1);
        assert!(ev[0].is_readable());

        drop(b);
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let ev: Vec<Event> = events.iter().collect();
        assert!(ev[0].is_read_closed());
    }

    #[test]
    fn deleted_fd_reports_nothing() {
        let epoll = Epoll::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        epoll.add(a.as_fd(), 7, BOTH).unwrap();
        epoll.delete(a.as_fd()).unwrap();
        b.write_all(b"x").unwrap();
        let mut events = Events::with_capacity(8);
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.len(), 0);
    }

    #[test]
    fn timeout_is_rounded_up_never_early() {
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(1);
        let wait = Duration::from_micros(1_500);
        let start = std::time::Instant::now();
        epoll.wait(&mut events, Some(wait)).unwrap();
        assert!(start.elapsed() >= wait);
    }
}
