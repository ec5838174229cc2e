//! [`AsyncFd`]: any file descriptor on the reactor.
//!
//! The runtime's own sockets are built the same way: the fd is registered
//! once, edge-triggered, and every operation waits for the cached readiness
//! ([`readable`](AsyncFd::readable) / [`writable`](AsyncFd::writable)),
//! tries the syscall, and clears the readiness when the syscall says
//! `WouldBlock` ([`AsyncFdReadyGuard::try_io`]).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use crate::executor::context;
use crate::reactor::{Direction, Interest, Ready, Registration};

/// A file descriptor registered with the runtime's reactor, so that tasks
/// can wait for it to become readable or writable.
///
/// Wrap anything that owns an fd epoll can watch: a pipe, a socket type
/// this crate does not have, a `timerfd`, an `eventfd`, `inotify`, a
/// serial port. **The fd must be in nonblocking mode**: the reactor only
/// says when it *may* be ready, and a blocking read would stall the whole
/// runtime. The fd is registered once, edge-triggered, when the `AsyncFd`
/// is made, and deregistered when it is dropped (or by
/// [`into_inner`](AsyncFd::into_inner)).
///
/// Waiting gives a *guard*, [`AsyncFdReadyGuard`]. Do the I/O through
/// [`try_io`](AsyncFdReadyGuard::try_io): when the closure says
/// `WouldBlock`, the readiness is cleared and the next wait really waits.
/// An operation that found nothing to do without going through the guard
/// must call [`clear_ready`](AsyncFdReadyGuard::clear_ready) itself; one
/// that did not drain the fd leaves the readiness set (edge-triggered epoll
/// would not report it again).
///
/// The same as tokio's, but for `T: AsFd` (tokio asks for `AsRawFd`), and
/// every wait charges the cooperative budget, as all the runtime's I/O does.
///
/// # Examples
///
/// A Unix socket pair from `std`, one end waited on:
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use runtime::io::unix::AsyncFd;
///
/// runtime::block_on(async {
///     let (ours, mut theirs) = UnixStream::pair()?;
///     ours.set_nonblocking(true)?;
///     let ours = AsyncFd::new(ours)?;
///     theirs.write_all(b"ping")?;
///
///     let mut buf = [0; 4];
///     let n = loop {
///         let mut guard = ours.readable().await?;
///         match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///             Ok(result) => break result?,
///             Err(_would_block) => continue,
///         }
///     };
///     assert_eq!(&buf[..n], b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct AsyncFd<T: AsFd> {
    /// The object that owns the fd, registered with the reactor.
    io: Registration<T>,
    /// The directions it was registered for.
    interest: Interest,
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", self.get_ref())
            .field("interest", &self.interest)
            .finish()
    }
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner`'s fd with the current runtime, for both reads and
    /// writes.
    ///
    /// # Errors
    ///
    /// What epoll says: `PermissionDenied` for an fd epoll cannot watch
    /// (a regular file or a directory, which are always "ready": read them
    /// on the blocking pool), with a message that says so; `AlreadyExists`
    /// if the same open file is registered already; or the error of a
    /// runtime that is shutting down.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner`'s fd for `interest` only: for an fd that only ever
    /// reads (or writes), so that the other direction's events are not
    /// reported at all.
    ///
    /// # Errors
    ///
    /// As [`new`](AsyncFd::new).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let reactor = context::current().reactor.clone();
        let io = Registration::with_interest(inner, reactor, interest)?;
        Ok(AsyncFd { io, interest })
    }

    /// The wrapped object.
    pub fn get_ref(&self) -> &T {
        self.io.get_ref()
    }

    /// The wrapped object, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.get_mut()
    }

    /// Deregisters the fd and returns the wrapped object, still open.
    pub fn into_inner(self) -> T {
        self.io.into_inner()
    }

    /// Waits until the fd may be readable (or its read side closed).
    ///
    /// Cancel-safe: dropping the future loses nothing, since waiting
    /// consumes no readiness.
    ///
    /// # Errors
    ///
    /// If the `AsyncFd` was registered without [`Interest::READABLE`], or
    /// its runtime was dropped and the readiness can never be reported.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// [`readable`](AsyncFd::readable), with a guard that lends the
    /// wrapped object mutably.
    ///
    /// # Errors
    ///
    /// As [`readable`](AsyncFd::readable).
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let (ready, events) = poll_fn(|cx| self.poll_direction(cx, Direction::Read)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            direction: Direction::Read,
            ready,
            events,
        })
    }

    /// Waits until the fd may be writable (or its write side closed).
    ///
    /// Cancel-safe, as [`readable`](AsyncFd::readable).
    ///
    /// # Errors
    ///
    /// If the `AsyncFd` was registered without [`Interest::WRITABLE`], or
    /// its runtime was dropped and the readiness can never be reported.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// [`writable`](AsyncFd::writable), with a guard that lends the
    /// wrapped object mutably.
    ///
    /// # Errors
    ///
    /// As [`writable`](AsyncFd::writable).
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let (ready, events) = poll_fn(|cx| self.poll_direction(cx, Direction::Write)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            direction: Direction::Write,
            ready,
            events,
        })
    }

    /// Polls for read readiness; see [`readable`](AsyncFd::readable).
    ///
    /// # Errors
    ///
    /// As [`readable`](AsyncFd::readable).
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Read)
    }

    /// Polls for write readiness; see [`writable`](AsyncFd::writable).
    ///
    /// # Errors
    ///
    /// As [`writable`](AsyncFd::writable).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Write)
    }

    /// Runs `op` on the wrapped object once `interest` (one direction) is
    /// ready, and again after each `WouldBlock` once the reactor reports
    /// readiness anew: the whole wait-try-clear loop in one call.
    ///
    /// Cancel-safe if `op` is: dropping the future between attempts loses
    /// nothing.
    ///
    /// # Errors
    ///
    /// `op`'s error, or a waiting error as for [`readable`](AsyncFd::readable).
    ///
    /// # Panics
    ///
    /// If `interest` names both directions.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let direction = match (interest.is_readable(), interest.is_writable()) {
            (true, false) => Direction::Read,
            (false, true) => Direction::Write,
            _ => panic!("AsyncFd::async_io waits for one direction: READABLE or WRITABLE"),
        };
        self.check_interest(direction)?;
        poll_fn(|cx| self.io.poll_io(cx, direction, &mut op)).await
    }

    /// Runs `op` once, without waiting, if `interest` (one direction) is
    /// known to be ready: `WouldBlock` if it is not, or if `op` says so
    /// (which clears the readiness).
    ///
    /// # Errors
    ///
    /// `op`'s, `WouldBlock`, or the error of a dropped runtime.
    ///
    /// # Panics
    ///
    /// If `interest` names both directions.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let direction = match (interest.is_readable(), interest.is_writable()) {
            (true, false) => Direction::Read,
            (false, true) => Direction::Write,
            _ => panic!("AsyncFd::try_io tries one direction: READABLE or WRITABLE"),
        };
        self.check_interest(direction)?;
        self.io.try_io(direction, op)
    }

    /// A guard for `direction` once it is ready.
    fn poll_guard<'a>(
        &'a self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let (ready, events) = ready!(self.poll_direction(cx, direction))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            direction,
            ready,
            events,
        }))
    }

    /// The readiness of `direction` and the event count it was seen at,
    /// once the direction is ready.
    fn poll_direction(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<(Ready, u32)>> {
        self.check_interest(direction)?;
        let ready = ready!(self.io.poll_ready(cx, direction))?;
        Poll::Ready(Ok((ready, self.io.event_count())))
    }

    /// An error if the fd is not watched for `direction`: waiting would be
    /// for ever.
    fn check_interest(&self, direction: Direction) -> io::Result<()> {
        if self.interest.includes(direction) {
            return Ok(());
        }
        let asked = match direction {
            Direction::Read => "readable",
            Direction::Write => "writable",
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "waiting until {asked}, but this AsyncFd was registered for {:?} only",
                self.interest
            ),
        ))
    }

    /// Forgets `direction`'s readiness unless an event came after `events`.
    fn clear(&self, direction: Direction, events: u32) {
        self.io.clear_if_unchanged(direction, events);
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// The error of [`AsyncFdReadyGuard::try_io`]: the operation would block,
/// and the readiness was cleared; wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block; the readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}

/// Proof that an [`AsyncFd`] was ready in one direction, from
/// [`readable`](AsyncFd::readable) or [`writable`](AsyncFd::writable).
///
/// Dropping it leaves the readiness as it is; [`try_io`] and
/// [`clear_ready`] clear it.
///
/// [`try_io`]: AsyncFdReadyGuard::try_io
/// [`clear_ready`]: AsyncFdReadyGuard::clear_ready
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    /// The fd.
    fd: &'a AsyncFd<T>,
    /// The direction that was ready.
    direction: Direction,
    /// What was ready.
    ready: Ready,
    /// The fd's event count when it was seen ready.
    events: u32,
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("direction", &self.direction)
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    /// What was ready: readable (or read-closed) for a read guard, writable
    /// (or write-closed) for a write guard.
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// Forgets the readiness, so that the next wait waits for epoll's next
    /// report. Call it after an operation outside [`try_io`] said
    /// `WouldBlock`. If an event arrived since the guard was made, the
    /// readiness stays: that event may be the one the next wait needs.
    ///
    /// [`try_io`]: AsyncFdReadyGuard::try_io
    pub fn clear_ready(&mut self) {
        self.fd.clear(self.direction, self.events);
    }

    /// Keeps the readiness: what dropping the guard does anyway.
    pub fn retain_ready(&mut self) {}

    /// Runs `op`; if it says `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)`, so the caller waits again. Any other result is
    /// returned in `Ok`.
    ///
    /// # Errors
    ///
    /// [`TryIoError`] when `op` would block.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`] this guard is for.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The object the [`AsyncFd`] wraps.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

/// [`AsyncFdReadyGuard`] lending the [`AsyncFd`] mutably, from
/// [`readable_mut`](AsyncFd::readable_mut) or
/// [`writable_mut`](AsyncFd::writable_mut).
pub struct AsyncFdReadyMutGuard<'a, T: AsFd> {
    /// The fd.
    fd: &'a mut AsyncFd<T>,
    /// The direction that was ready.
    direction: Direction,
    /// What was ready.
    ready: Ready,
    /// The fd's event count when it was seen ready.
    events: u32,
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("direction", &self.direction)
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl<T: AsFd> AsyncFdReadyMutGuard<'_, T> {
    /// What was ready; see [`AsyncFdReadyGuard::ready`].
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// Forgets the readiness; see [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        self.fd.clear(self.direction, self.events);
    }

    /// Keeps the readiness: what dropping the guard does anyway.
    pub fn retain_ready(&mut self) {}

    /// Runs `op` with the [`AsyncFd`] lent mutably; see
    /// [`AsyncFdReadyGuard::try_io`].
    ///
    /// # Errors
    ///
    /// [`TryIoError`] when `op` would block.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`] this guard is for.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The [`AsyncFd`], mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The object the [`AsyncFd`] wraps.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The object the [`AsyncFd`] wraps, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}
