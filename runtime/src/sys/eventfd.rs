//! `Notifier`: an eventfd that wakes a thread blocked in `epoll_wait`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::PoisonError;

use super::syscall;
use crate::loom::RwLock;

/// A nonblocking, close-on-exec eventfd. Any thread may [`notify`]; the
/// runtime thread watches it with epoll, edge-triggered.
///
/// Nobody needs to read the counter: every write wakes the eventfd's wait
/// queue, so edge-triggered epoll reports each notification that follows
/// the last `epoll_wait` that returned it, however high the counter stands.
/// That saves the runtime a `read` per cross-thread wake. Only a counter
/// that reached its maximum must be reset, which `notify` does itself.
///
/// The runtime [`close`](Notifier::close)s it when it is dropped, though
/// wakers on other threads may keep the `Notifier` itself for longer; a
/// notification after that does nothing.
///
/// [`notify`]: Notifier::notify
#[derive(Debug)]
pub(crate) struct Notifier {
    /// The eventfd; `None` once closed. Notifications read-lock it, so the
    /// descriptor is never closed (and its number reused) under a write.
    fd: RwLock<Option<OwnedFd>>,
    /// Under loom, what stands for the eventfd in the models: loom cannot
    /// see a syscall (see `crate::loom`).
    #[cfg(loom)]
    pub(crate) model: crate::loom::ModelEventfd,
}

impl Notifier {
    /// Creates the eventfd with a zero counter.
    pub(crate) fn new() -> io::Result<Notifier> {
        // SAFETY: `eventfd` takes an initial value and flags only.
        let fd = unsafe { syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK)) }?;
        // SAFETY: `eventfd` succeeded, so `fd` is a fresh descriptor nobody
        // else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Notifier {
            fd: RwLock::new(Some(fd)),
            #[cfg(loom)]
            model: crate::loom::ModelEventfd::default(),
        })
    }

    /// Adds one to the counter, waking an `epoll_wait` that watches it.
    ///
    /// After 2^64 - 2 notifications the counter is saturated and a write
    /// would block without waking anyone; the counter is then reset and
    /// the write repeated.
    pub(crate) fn notify(&self) -> io::Result<()> {
        #[cfg(loom)]
        self.model.notify();
        match self.add(1) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.drain()?;
                self.add(1)
            }
            result => result,
        }
    }

    /// Adds `n` to the counter: `WouldBlock` if it would reach `u64::MAX`.
    fn add(&self, n: u64) -> io::Result<()> {
        let fd = self.fd.read().unwrap_or_else(PoisonError::into_inner);
        match &*fd {
            Some(fd) => super::direct::write(fd.as_fd(), &n.to_ne_bytes()).map(drop),
            None => Ok(()), // closed: nobody is left to wake
        }
    }

    /// Resets the counter to zero. `WouldBlock` means nothing was pending.
    fn drain(&self) -> io::Result<()> {
        let mut count = [0u8; 8];
        let fd = self.fd.read().unwrap_or_else(PoisonError::into_inner);
        let Some(fd) = &*fd else {
            return Ok(());
        };
        match super::direct::read(fd.as_fd(), &mut count) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Notifier {
    /// Runs `f` with the eventfd (to register it with epoll); `None` once
    /// it is closed.
    pub(crate) fn with_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
        let fd = self.fd.read().unwrap_or_else(PoisonError::into_inner);
        fd.as_ref().map(|fd| f(fd.as_fd()))
    }

    /// Closes the eventfd: the runtime that watched it is gone.
    pub(crate) fn close(&self) {
        let fd = self
            .fd
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::epoll::{Epoll, Events, Interest};
    use std::time::Duration;

    fn watched() -> (Epoll, Notifier, Events) {
        let epoll = Epoll::new().unwrap();
        let notifier = Notifier::new().unwrap();
        let interest = Interest {
            read: true,
            write: false,
        };
        notifier
            .with_fd(|fd| epoll.add(fd, 1, interest))
            .unwrap()
            .unwrap();
        (epoll, notifier, Events::with_capacity(4))
    }

    #[test]
    fn every_notification_is_reported_without_a_read() {
        let (epoll, notifier, mut events) = watched();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
        for round in 0..3 {
            let remote = std::thread::scope(|s| s.spawn(|| notifier.notify()).join().unwrap());
            remote.unwrap();
            epoll
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(events.len(), 1, "round {round}: the notification was lost");
            // Reported once: nothing more until the next notification.
            epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
            assert!(events.is_empty(), "round {round}: reported twice");
        }
    }

    #[test]
    fn a_saturated_counter_is_reset_and_still_notifies() {
        let (epoll, notifier, mut events) = watched();
        notifier.add(u64::MAX - 1).unwrap();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            notifier.add(1).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "the counter is saturated"
        );
        notifier.notify().unwrap();
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.len(), 1, "the notification after the reset was lost");
    }
}
