//! `Notifier`: an eventfd that wakes a thread blocked in `epoll_wait`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::syscall;

/// A nonblocking, close-on-exec eventfd. Any thread may [`notify`]; the
/// runtime thread watches it with epoll and [`drain`]s it.
///
/// [`notify`]: Notifier::notify
/// [`drain`]: Notifier::drain
#[derive(Debug)]
pub(crate) struct Notifier {
    /// The eventfd.
    fd: OwnedFd,
}

impl Notifier {
    /// Creates the eventfd with a zero counter.
    pub(crate) fn new() -> io::Result<Notifier> {
        // SAFETY: `eventfd` takes an initial value and flags only.
        let fd = unsafe { syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK)) }?;
        // SAFETY: `eventfd` succeeded, so `fd` is a fresh descriptor nobody
        // else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Notifier { fd })
    }

    /// Makes the eventfd readable, waking an `epoll_wait` that watches it.
    ///
    /// `WouldBlock` means the counter is saturated: it is already readable,
    /// which is all a notification needs, so it counts as success.
    pub(crate) fn notify(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: `one` is a live u64 and we pass exactly its 8 bytes.
        let res = unsafe {
            syscall!(write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>()
            ))
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Resets the counter to zero. `WouldBlock` means nothing was pending.
    pub(crate) fn drain(&self) -> io::Result<()> {
        let mut count: u64 = 0;
        // SAFETY: `count` is a live u64 and the kernel writes exactly its 8
        // bytes.
        let res = unsafe {
            syscall!(read(
                self.fd.as_raw_fd(),
                (&mut count as *mut u64).cast(),
                std::mem::size_of::<u64>()
            ))
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for Notifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::epoll::{Epoll, Events, Interest};
    use std::time::Duration;

    #[test]
    fn notify_wakes_epoll_and_drain_resets() {
        let epoll = Epoll::new().unwrap();
        let notifier = Notifier::new().unwrap();
        let interest = Interest {
            read: true,
            write: false,
        };
        epoll.add(notifier.as_fd(), 1, interest).unwrap();
        let mut events = Events::with_capacity(4);
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());

        let remote = std::thread::scope(|s| s.spawn(|| notifier.notify()).join().unwrap());
        remote.unwrap();
        notifier.notify().unwrap();
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(events.len(), 1);
        notifier.drain().unwrap();
        // Draining twice is harmless.
        notifier.drain().unwrap();
    }
}
