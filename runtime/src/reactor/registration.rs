//! [`Registration`]: the handle every I/O type holds. It owns the I/O
//! object, keeps its fd registered with the reactor, and offers the two
//! calls every operation is built from: [`poll_ready`] and [`poll_io`].
//!
//! [`poll_ready`]: Registration::poll_ready
//! [`poll_io`]: Registration::poll_io

use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::{Direction, Interest, IoOutcome, IoSlot, Reactor, Ready};
use crate::coop;
use crate::slab::Key;

/// An I/O object whose fd is registered with a reactor: the object, its
/// slot, and the duty to deregister before the fd closes.
#[derive(Debug)]
pub(crate) struct Registration<T: AsFd> {
    /// The I/O object that owns the fd; `None` only after
    /// [`into_inner`](Registration::into_inner) took it out.
    ///
    /// # Invariant
    ///
    /// While `Some`, registered with `reactor` under `key`.
    io: Option<T>,
    /// The reactor the fd is registered with.
    reactor: Rc<Reactor>,
    /// The slot's key, which is also the epoll data word.
    key: Key,
    /// The slot's readiness and waiters.
    slot: Rc<IoSlot>,
}

impl<T: AsFd> Registration<T> {
    /// Registers `io` with `reactor`, for both directions.
    ///
    /// # Errors
    ///
    /// See [`Reactor::register`].
    pub(crate) fn new(io: T, reactor: Rc<Reactor>) -> io::Result<Registration<T>> {
        Registration::with_interest(io, reactor, Interest::BOTH)
    }

    /// Registers `io` with `reactor` for `interest`.
    ///
    /// # Errors
    ///
    /// See [`Reactor::register`].
    pub(crate) fn with_interest(
        io: T,
        reactor: Rc<Reactor>,
        interest: Interest,
    ) -> io::Result<Registration<T>> {
        let (key, slot) = reactor.register(io.as_fd(), interest)?;
        Ok(Registration {
            io: Some(io),
            reactor,
            key,
            slot,
        })
    }

    /// The I/O object.
    #[inline(always)]
    pub(crate) fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("a registration holds its I/O object until into_inner")
    }

    /// The I/O object, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.io
            .as_mut()
            .expect("a registration holds its I/O object until into_inner")
    }

    /// Deregisters the fd and gives the I/O object back, open.
    pub(crate) fn into_inner(mut self) -> T {
        let io = self
            .io
            .take()
            .expect("a registration holds its I/O object until into_inner");
        self.reactor.deregister(io.as_fd(), self.key);
        io
    }

    /// The slot's key.
    #[cfg(test)]
    pub(crate) fn key(&self) -> Key {
        self.key
    }

    /// The reactor the fd is registered with.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// Ready once an operation in `direction` may make progress, charging
    /// the polled task one unit of its cooperative budget; otherwise the
    /// task is parked on the slot until epoll reports the direction, and
    /// `Pending` (also when the budget is spent: see [`coop`]).
    ///
    /// The [`Ready`] bits returned are those of `direction`.
    ///
    /// # Errors
    ///
    /// Where the direction is ready only because the runtime was dropped:
    /// waiting for epoll would be for ever. This is the one place where "the
    /// runtime is gone" becomes an error.
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<Ready>> {
        // The hot paths, inlined into every operation: ready, or not ready
        // (park). A shut-down runtime and tracing are out of line: one test
        // of the same readiness word sends both there.
        let ready = self.slot.readiness.get();
        if ready.is_plain() {
            if ready.allows(direction) {
                ready!(coop::poll_proceed(cx));
                return Poll::Ready(Ok(ready.for_direction(direction)));
            }
            self.reactor.park(&self.slot, cx.waker(), direction);
            return Poll::Pending;
        }
        self.poll_ready_slow(cx, direction)
    }

    /// [`poll_ready`](Registration::poll_ready) once the runtime is gone,
    /// or while the runtime traces: what it does, it also reports.
    #[cold]
    #[inline(never)]
    fn poll_ready_slow(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<Ready>> {
        match self.slot.ready_for(direction) {
            Some(ready) => {
                ready!(coop::poll_proceed(cx));
                Poll::Ready(ready)
            }
            None => {
                self.reactor
                    .trace_io(&self.slot, direction, IoOutcome::Parked);
                self.reactor.park(&self.slot, cx.waker(), direction);
                Poll::Pending
            }
        }
    }

    /// Runs `op` once `direction` is ready, and again each time it says
    /// `WouldBlock` (which clears the cached readiness: the task waits for
    /// epoll's next report) or `Interrupted`.
    ///
    /// # Errors
    ///
    /// `op`'s, or [`poll_ready`](Registration::poll_ready)'s.
    #[inline(always)]
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_described(cx, direction, op, |_| None)
    }

    /// [`poll_io`](Registration::poll_io) for a byte stream's read or write
    /// of `len` bytes, where a short transfer (`0 < n < len`) proves the
    /// direction drained too: the kernel moved everything it had data or
    /// room for, and edge-triggered epoll reports the next change. That
    /// saves the syscall that would only return `WouldBlock`. (A datagram
    /// socket must not use this: a short datagram says nothing about the
    /// next one.)
    #[inline(always)]
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(self.poll_io_described(cx, direction, op, |n| Some(*n)))?;
        if n > 0 && n < len {
            self.slot.clear(direction);
        }
        Poll::Ready(Ok(n))
    }

    /// The one I/O loop: [`poll_io`](Registration::poll_io), with `bytes`
    /// telling a trace how many bytes a result moved.
    #[inline(always)]
    fn poll_io_described<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
        bytes: fn(&R) -> Option<usize>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ready = self.slot.readiness.get();
            if !ready.is_plain() {
                return self.poll_io_slow(cx, direction, op, bytes);
            }
            if !ready.allows(direction) {
                self.reactor.park(&self.slot, cx.waker(), direction);
                return Poll::Pending;
            }
            ready!(coop::poll_proceed(cx));
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.slot.clear(direction),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// The I/O loop once the runtime is gone, or while it traces.
    #[cold]
    #[inline(never)]
    fn poll_io_slow<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
        bytes: fn(&R) -> Option<usize>,
    ) -> Poll<io::Result<R>> {
        loop {
            ready!(self.poll_ready_slow(cx, direction))?;
            let result = op(self.get_ref());
            self.reactor
                .trace_io(&self.slot, direction, IoOutcome::of(&result, bytes));
            match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.slot.clear(direction),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs `op` once, without waiting, if `direction` is known to be
    /// ready: the `try_*` methods. `WouldBlock` if it is not (no syscall is
    /// made), or if `op` says so (which clears the cached readiness).
    ///
    /// # Errors
    ///
    /// `op`'s, `WouldBlock`, or, where the direction is ready only because
    /// the runtime was dropped, the shut-down error.
    #[inline]
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.try_io_described(direction, op, |_| None)
    }

    /// [`try_io`](Registration::try_io) for a byte stream's read or write
    /// of `len` bytes: a short transfer clears the cached readiness too, as
    /// in [`poll_stream_io`](Registration::poll_stream_io).
    ///
    /// # Errors
    ///
    /// As [`try_io`](Registration::try_io).
    #[inline]
    pub(crate) fn try_stream_io(
        &self,
        direction: Direction,
        len: usize,
        op: impl FnOnce(&T) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let n = self.try_io_described(direction, op, |n| Some(*n))?;
        if n > 0 && n < len {
            self.slot.clear(direction);
        }
        Ok(n)
    }

    /// Tells a trace, if one runs, what an operation on this fd did
    /// beyond its byte count (a listener names the connection it
    /// accepted). Costs one readiness test when not tracing.
    #[inline]
    pub(crate) fn trace_outcome(&self, direction: Direction, outcome: IoOutcome) {
        if !self.slot.readiness.get().is_plain() {
            self.reactor.trace_io(&self.slot, direction, outcome);
        }
    }

    /// The one try: [`try_io`](Registration::try_io), with `bytes` for a
    /// trace.
    #[inline(always)]
    fn try_io_described<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&T) -> io::Result<R>,
        bytes: fn(&R) -> Option<usize>,
    ) -> io::Result<R> {
        let ready = self.slot.readiness.get();
        if !ready.is_plain() {
            return self.try_io_slow(direction, op, bytes);
        }
        if !ready.allows(direction) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let result = op(self.get_ref());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.slot.clear(direction);
        }
        result
    }

    /// The try once the runtime is gone, or while it traces.
    #[cold]
    #[inline(never)]
    fn try_io_slow<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&T) -> io::Result<R>,
        bytes: fn(&R) -> Option<usize>,
    ) -> io::Result<R> {
        match self.slot.ready_for(direction) {
            None => Err(io::ErrorKind::WouldBlock.into()),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => {
                let result = op(self.get_ref());
                self.reactor
                    .trace_io(&self.slot, direction, IoOutcome::of(&result, bytes));
                if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                    self.slot.clear(direction);
                    if let Some(Err(e)) = self.slot.ready_for(direction) {
                        return Err(e);
                    }
                }
                result
            }
        }
    }

    /// Forgets that `direction` is ready, for an operation that proved the
    /// fd drained by itself (read until `WouldBlock` within this poll).
    pub(crate) fn clear_readiness(&self, direction: Direction) {
        self.slot.clear(direction);
    }

    /// The slot's event count: a guard remembers it with the readiness it
    /// saw, and [`clear_if_unchanged`](Registration::clear_if_unchanged)
    /// compares.
    pub(crate) fn event_count(&self) -> u32 {
        self.slot.events.get()
    }

    /// Forgets that `direction` is ready, unless epoll reported a new event
    /// since `seen` (an [`event_count`](Registration::event_count)): that
    /// event may have made it ready again, and clearing it would lose the
    /// edge.
    pub(crate) fn clear_if_unchanged(&self, direction: Direction, seen: u32) {
        if self.slot.events.get() == seen {
            self.slot.clear(direction);
        }
    }
}

impl<T: AsFd> Drop for Registration<T> {
    fn drop(&mut self) {
        if let Some(io) = &self.io {
            // Delete before `io` drops and closes the fd.
            self.reactor.deregister(io.as_fd(), self.key);
        }
    }
}
