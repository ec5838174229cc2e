//! The reactor: one epoll instance and a slab of I/O slots.
//!
//! The readiness model it implements (each fd registered once,
//! edge-triggered; readiness cached per slot and cleared only when a
//! syscall proves it wrong; generation tokens; `EPOLL_CTL_DEL` before
//! close; the budget; shutdown) is explained in the guide, where rustdoc
//! shows it: [`guide::ch6_readiness`](crate::guide::ch6_readiness)
//! (`runtime/src/guide/ch6_readiness.rs`). Keep the two in step.

mod ready;
mod registration;
pub(crate) mod waiters;

pub(crate) use ready::Direction;
pub use ready::{Interest, Ready};
pub(crate) use registration::Registration;
pub(crate) use waiters::PollingTask;

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::Waker;
use std::time::Duration;

use crate::slab::{Key, Slab};
use crate::sys::epoll::{Epoll, Event, Events};
pub(crate) use crate::trace::IoOutcome;
use crate::trace::Tracer;
use waiters::{Waiter, Waiters};

/// The data word of the runtime's own eventfd (the [`Notifier`]); no slab key
/// can take this value, since the slab never reaches index `u32::MAX`.
///
/// [`Notifier`]: crate::sys::eventfd::Notifier
pub(crate) const WAKE_TOKEN: u64 = u64::MAX;

/// How many events one `epoll_wait` can return.
const EVENTS_CAPACITY: usize = 1024;

/// The error of an I/O object whose runtime was dropped.
#[cold]
pub(crate) fn shut_down_error() -> io::Error {
    io::Error::other("the runtime this I/O object belongs to has shut down")
}

/// The reactor's state for one registered fd, shared by the slab and the
/// [`Registration`] that owns the fd.
#[derive(Debug, Default)]
pub(crate) struct IoSlot {
    /// What epoll reported and no syscall has disproved yet.
    readiness: Cell<Ready>,
    /// The fd's number, for traces and task dumps.
    fd: RawFd,
    /// What a trace calls the fd: the name of the task that registered it.
    label: Option<Rc<str>>,
    /// How many events epoll reported for this fd (wrapping): a guard that
    /// saw readiness at one count may clear it only at the same count.
    events: Cell<u32>,
    /// Tasks waiting for [`Direction::Read`].
    readers: RefCell<Waiters>,
    /// Tasks waiting for [`Direction::Write`].
    writers: RefCell<Waiters>,
}

impl IoSlot {
    /// The waiters of `direction`.
    #[inline]
    fn waiters(&self, direction: Direction) -> &RefCell<Waiters> {
        match direction {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// What `direction` may do now: `None` if it must wait for epoll;
    /// `Some(Ok(ready))` if an operation may make progress; `Some(Err)` if
    /// it is ready only because the runtime shut down, so that waiting
    /// would be for ever.
    #[inline]
    fn ready_for(&self, direction: Direction) -> Option<io::Result<Ready>> {
        let ready = self.readiness.get();
        if !ready.allows(direction) {
            return None;
        }
        if ready.only_shut_down(direction) {
            return Some(Err(shut_down_error()));
        }
        Some(Ok(ready.for_direction(direction)))
    }

    /// Forgets that `direction` is ready, after a syscall proved it is not.
    ///
    /// Hang-up, error and shut-down bits stay: once closed, always ready.
    #[inline]
    fn clear(&self, direction: Direction) {
        let ready = self.readiness.get();
        self.readiness.set(ready - Ready::clearable(direction));
    }

    /// Records an event, handing the waiters of every direction it made
    /// ready to `wake`.
    ///
    /// A direction that was ready already has nobody parked on it (tasks
    /// park only on a direction that is not ready, and the turn that makes
    /// it ready wakes them all), so only newly ready directions are looked
    /// at: the writers of a socket that stays writable cost nothing.
    #[inline]
    fn apply(&self, event: &Event, wake: &mut impl FnMut(Waiter)) {
        let new = Ready::from_event(event);
        let old = self.readiness.get();
        self.readiness.set(old | new);
        self.events.set(self.events.get().wrapping_add(1));
        if new.allows(Direction::Read) && !old.allows(Direction::Read) {
            Waiters::wake_all(&self.readers, wake);
        }
        if new.allows(Direction::Write) && !old.allows(Direction::Write) {
            Waiters::wake_all(&self.writers, wake);
        }
    }

    /// Marks the slot ready for good: nothing will report it again. Both
    /// directions become ready, so that each operation still reaches its
    /// syscall once (bytes already there are read, even if epoll never
    /// reported them); once a syscall says `WouldBlock`, only the shut-down
    /// bit is left, and waiting fails.
    fn mark_shut_down(&self) {
        let all = Ready::READABLE | Ready::WRITABLE | Ready::SHUT_DOWN;
        self.readiness.set(self.readiness.get() | all);
    }
}

/// The epoll instance and the slots of everything registered with it.
#[derive(Debug)]
pub(crate) struct Reactor {
    /// The kernel's readiness queue.
    epoll: Epoll,
    /// The buffer `epoll_wait` fills, reused every turn.
    events: RefCell<Events>,
    /// Registered fds; an event's data word is the slot's key.
    slots: RefCell<Slab<Rc<IoSlot>>>,
    /// The task being polled, if the executor is polling a spawned task.
    polling: Cell<Option<PollingTask>>,
    /// Tasks parked by id and woken outside a turn (their fd closed, or
    /// they were evicted), for the executor to collect.
    woken: RefCell<Vec<Key>>,
    /// Wakers a turn found parked, woken once the slab is no longer
    /// borrowed; the vector is reused.
    to_wake: RefCell<Vec<Waker>>,
    /// Set when the runtime is dropped; see [`Reactor::shut_down`].
    shut_down: Cell<bool>,
    /// What the runtime reports, if anything.
    tracer: Option<Rc<Tracer>>,
    /// Registrations made since the reactor was created.
    registered: Cell<u64>,
    /// Registrations removed since the reactor was created.
    deregistered: Cell<u64>,
    /// Events that matched a registration, over all turns.
    ready_events: Cell<u64>,
}

impl Reactor {
    /// Creates the epoll instance and watches `notifier` under
    /// [`WAKE_TOKEN`].
    pub(crate) fn new(notifier: BorrowedFd<'_>, tracer: Option<Rc<Tracer>>) -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        epoll.add(notifier, WAKE_TOKEN, Interest::READABLE.to_epoll())?;
        Ok(Reactor {
            epoll,
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            slots: RefCell::new(Slab::default()),
            polling: Cell::new(None),
            woken: RefCell::new(Vec::new()),
            to_wake: RefCell::new(Vec::new()),
            shut_down: Cell::new(false),
            tracer,
            registered: Cell::new(0),
            deregistered: Cell::new(0),
            ready_events: Cell::new(0),
        })
    }

    /// Adds `fd` to epoll, edge-triggered for `interest` (and half-close
    /// with reads), and gives it a slot.
    ///
    /// # Errors
    ///
    /// What `epoll_ctl` says: `EPERM` for an fd epoll cannot watch (a
    /// regular file, a directory), with a message that says so;
    /// `EEXIST` if the same open file is registered already; or, once the
    /// runtime is gone, the shut-down error.
    pub(crate) fn register(
        &self,
        fd: BorrowedFd<'_>,
        interest: Interest,
    ) -> io::Result<(Key, Rc<IoSlot>)> {
        if self.shut_down.get() {
            return Err(shut_down_error());
        }
        let traced = self.tracer.as_ref().filter(|tracer| tracer.traces());
        let slot = Rc::new(IoSlot {
            fd: fd.as_raw_fd(),
            label: traced.and_then(|tracer| tracer.registered(fd.as_raw_fd())),
            readiness: Cell::new(if traced.is_some() {
                Ready::TRACED
            } else {
                Ready::EMPTY
            }),
            ..IoSlot::default()
        });
        let key = self.slots.borrow_mut().insert(slot.clone());
        if let Err(e) = self.epoll.add(fd, key.to_u64(), interest.to_epoll()) {
            self.slots.borrow_mut().remove(key);
            return Err(explain_register_error(e));
        }
        self.registered.set(self.registered.get() + 1);
        Ok((key, slot))
    }

    /// Removes `fd` from epoll and frees its slot, waking anything still
    /// parked on it so that no task waits for ever.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>, key: Key) {
        // Errors are ignored: the fd is about to be closed, which removes it
        // from epoll anyway, and `Drop` must not fail.
        let _ = self.epoll.delete(fd);
        let slot = self.slots.borrow_mut().remove(key);
        if let Some(slot) = slot {
            self.deregistered.set(self.deregistered.get() + 1);
            if let Some(tracer) = &self.tracer {
                tracer.deregistered(slot.fd);
            }
            let mut woken =
                |waiter: Waiter| waiter.wake(&mut |id| self.woken.borrow_mut().push(id));
            Waiters::wake_all(&slot.readers, &mut woken);
            Waiters::wake_all(&slot.writers, &mut woken);
        }
    }

    /// Called by the executor before each poll: the task being polled
    /// (`None` for a future that is not a spawned task, whose waker is then
    /// parked as a `Waker`).
    #[inline]
    pub(crate) fn start_poll(&self, task: Option<PollingTask>) {
        self.polling.set(task);
    }

    /// The slab key of the task being polled, if a spawned task is.
    pub(crate) fn polled_task(&self) -> Option<Key> {
        self.polling.get().map(|task| task.id())
    }

    /// Called by the executor after each poll: no task is being polled, so
    /// none can be parked by id.
    #[inline]
    pub(crate) fn end_poll(&self) {
        self.polling.set(None);
    }

    /// Parks the polled task on `direction` of `slot`: by id if `waker` is
    /// the one the executor polls it with, else as a waker.
    #[inline]
    fn park(&self, slot: &IoSlot, waker: &Waker, direction: Direction) {
        // `IoSlot::apply` relies on it: nobody parks on a ready direction.
        debug_assert!(!slot.readiness.get().allows(direction));
        Waiters::park_polled(slot.waiters(direction), self.polling.get(), waker, |id| {
            self.woken.borrow_mut().push(id)
        });
    }

    /// Tells the trace what an operation on `slot` did.
    #[cold]
    pub(crate) fn trace_io(&self, slot: &IoSlot, direction: Direction, outcome: IoOutcome) {
        if let Some(tracer) = &self.tracer {
            tracer.io(slot.fd, direction, outcome);
        }
    }

    /// Hands the ids of tasks woken outside a turn to `wake_task`.
    pub(crate) fn take_woken(&self, wake_task: impl FnMut(Key)) {
        let woken = std::mem::take(&mut *self.woken.borrow_mut());
        woken.into_iter().for_each(wake_task);
    }

    /// Called as the runtime is dropped, for the I/O objects that outlive
    /// it: nothing will turn this reactor again. Every slot is marked ready
    /// for good, and everyone still parked on one (another runtime's task)
    /// is woken, so that each operation reaches its syscall and, where it
    /// would wait, fails with an error instead. New registrations fail.
    pub(crate) fn shut_down(&self) {
        self.shut_down.set(true);
        // Every slot is marked before any waker runs (one could panic), and
        // no borrow of the slab is held while they run.
        let slots: Vec<Rc<IoSlot>> = self.slots.borrow().values().cloned().collect();
        slots.iter().for_each(|slot| slot.mark_shut_down());
        // The ids are this runtime's own tasks, which are gone.
        let mut wake = |waiter: Waiter| waiter.wake(&mut drop);
        for slot in slots {
            Waiters::wake_all(&slot.readers, &mut wake);
            Waiters::wake_all(&slot.writers, &mut wake);
        }
        self.woken.borrow_mut().clear();
    }

    /// The fds and directions task `task` (whose waker's data address is
    /// `waker_data`) is parked on, for task dumps.
    pub(crate) fn waits_of(&self, task: Key, waker_data: usize) -> Vec<(RawFd, Direction)> {
        let slots = self.slots.borrow();
        let mut waits = Vec::new();
        for slot in slots.values() {
            if slot.readers.borrow().holds(task, waker_data) {
                waits.push((slot.fd, Direction::Read));
            }
            if slot.writers.borrow().holds(task, waker_data) {
                waits.push((slot.fd, Direction::Write));
            }
        }
        waits
    }

    /// True once the runtime was dropped: nothing will turn this reactor
    /// again.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.get()
    }

    /// What the reactor counts, for the runtime's metrics.
    pub(crate) fn counts(&self) -> ReactorCounts {
        ReactorCounts {
            registrations: self.slots.borrow().len(),
            registered: self.registered.get(),
            deregistered: self.deregistered.get(),
            ready_events: self.ready_events.get(),
        }
    }

    /// One round: waits for events at most `timeout` (`None`: until one
    /// arrives), records readiness and wakes the parked tasks: wakers are
    /// woken, task ids are handed to `wake_task`.
    ///
    /// Returns true if the runtime's notifier fired ([`WAKE_TOKEN`]).
    ///
    /// # Panics
    ///
    /// If `epoll_wait` itself fails (`EBADF`, `EINVAL`), which only a bug in
    /// the runtime can cause.
    #[cfg(test)]
    pub(crate) fn turn(&self, timeout: Option<Duration>, wake_task: impl FnMut(Key)) -> bool {
        let notified = self.turn_collect(timeout, wake_task);
        self.wake_collected();
        notified
    }

    /// [`turn`](Reactor::turn), but the wakers it finds parked are only
    /// collected: the caller wakes them with
    /// [`wake_collected`](Reactor::wake_collected) once it may. So
    /// `wake_task` only ever runs inside the event loop, and the executor
    /// can borrow its task slab and run queue once for the whole turn
    /// instead of once per event.
    #[inline]
    pub(crate) fn turn_collect(
        &self,
        timeout: Option<Duration>,
        mut wake_task: impl FnMut(Key),
    ) -> bool {
        if let Some(tracer) = self.tracer.as_ref().filter(|tracer| tracer.traces()) {
            return self.turn_traced(tracer, timeout, wake_task);
        }
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.epoll.wait(&mut events, timeout) {
            panic!("epoll_wait on the runtime's own epoll fd failed: {e}");
        }
        let mut notified = false;
        let mut to_wake = self.to_wake.borrow_mut();
        {
            // Task ids only go onto the executor's run queue, which touches
            // no slot, so the slab stays borrowed for the whole loop; wakers
            // may run any code (register a socket, say), so they are only
            // collected here, and woken below.
            let slots = self.slots.borrow();
            let mut wake = |waiter: Waiter| match waiter {
                Waiter::Task(id) => wake_task(id),
                Waiter::Waker(waker) => to_wake.push(waker),
            };
            let mut matched = 0;
            for event in events.iter() {
                if event.token == WAKE_TOKEN {
                    notified = true;
                    continue;
                }
                // `None`: the generation is stale. The registration is gone,
                // and the event must not wake whoever reused the slot.
                if let Some(slot) = slots.get(Key::from_u64(event.token)) {
                    slot.apply(&event, &mut wake);
                    matched += 1;
                }
            }
            self.ready_events.set(self.ready_events.get() + matched);
        }
        drop(events);
        drop(to_wake);
        notified
    }

    /// Wakes the wakers a turn collected, with no borrow held.
    pub(crate) fn wake_collected(&self) {
        let mut to_wake = self.to_wake.borrow_mut();
        if to_wake.is_empty() {
            return;
        }
        let mut wakers = std::mem::take(&mut *to_wake);
        drop(to_wake);
        wakers.drain(..).for_each(Waker::wake);
        // Keep the capacity for the next turn (no turn runs meanwhile:
        // turns are not nested).
        *self.to_wake.borrow_mut() = wakers;
    }

    /// [`turn_collect`](Reactor::turn_collect), telling the trace each
    /// step: the wait, and for each event the fd, what it brought, and whom
    /// it woke.
    #[cold]
    #[inline(never)]
    fn turn_traced(
        &self,
        tracer: &Tracer,
        timeout: Option<Duration>,
        mut wake_task: impl FnMut(Key),
    ) -> bool {
        let mut events = self.events.borrow_mut();
        let started = std::time::Instant::now();
        if let Err(e) = self.epoll.wait(&mut events, timeout) {
            panic!("epoll_wait on the runtime's own epoll fd failed: {e}");
        }
        tracer.turn(timeout, events.iter().count(), started.elapsed());
        let mut notified = false;
        let mut to_wake = self.to_wake.borrow_mut();
        {
            let slots = self.slots.borrow();
            for event in events.iter() {
                if event.token == WAKE_TOKEN {
                    notified = true;
                    continue;
                }
                let key = Key::from_u64(event.token);
                let Some(slot) = slots.get(key) else {
                    continue;
                };
                let (mut tasks, mut wakers) = (Vec::new(), 0);
                slot.apply(&event, &mut |waiter: Waiter| match waiter {
                    Waiter::Task(id) => {
                        tasks.push(id);
                        tracer.queued(id);
                        wake_task(id);
                    }
                    Waiter::Waker(waker) => {
                        wakers += 1;
                        to_wake.push(waker);
                    }
                });
                let ready = Ready::from_event(&event).describe();
                tracer.event(slot.fd, slot.label.as_deref(), key, &ready, &tasks, wakers);
                self.ready_events.set(self.ready_events.get() + 1);
            }
        }
        drop(events);
        drop(to_wake);
        notified
    }
}

/// The reactor's counters at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReactorCounts {
    /// Fds registered right now.
    pub(crate) registrations: usize,
    /// Registrations made so far.
    pub(crate) registered: u64,
    /// Registrations removed so far.
    pub(crate) deregistered: u64,
    /// Events that matched a live registration so far.
    pub(crate) ready_events: u64,
}

/// Gives `EPERM` from `epoll_ctl` a message that says what it means.
fn explain_register_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied {
        return io::Error::new(
            e.kind(),
            "epoll cannot watch this file descriptor (EPERM: a regular file or a \
             directory is always ready; read it on the blocking pool instead)",
        );
    }
    e
}

#[cfg(test)]
mod tests;
