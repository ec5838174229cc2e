//! The reactor: one epoll instance and a slab of I/O slots.
//!
//! # The readiness model
//!
//! * **Register once, edge-triggered.** A socket is added to epoll when it is
//!   created, for `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`, and never
//!   modified afterwards: no `epoll_ctl` per operation.
//! * **Readiness is cached per slot.** [`Reactor::turn`] ORs what epoll
//!   reports into the slot and wakes the tasks parked on those directions.
//!   An I/O method loops: wait until the direction is ready, try the syscall,
//!   and on `WouldBlock` clear the direction and wait again. Because an
//!   edge-triggered fd only reports *changes*, the bits must stay set until a
//!   syscall proves the buffer is drained (`WouldBlock`, or a short read).
//!   Tokio guards that clear with a reactor tick, because its reactor may
//!   turn on another thread between the check and the syscall; here both
//!   happen within one poll on the one thread that also turns the reactor,
//!   so no event can slip in between and no tick is needed.
//! * **Hang-up and error wake both directions** and stay set, so the next
//!   read returns EOF or the error and the next write returns the error.
//! * **Tokens carry a generation.** The epoll data word is the slot's
//!   [`Key`]: `(generation << 32) | index`. An event whose generation does
//!   not match the slot's current one belongs to a registration that is
//!   gone and is dropped, even if the fd number and the index were reused.
//! * **`EPOLL_CTL_DEL` before close.** An epoll registration follows the
//!   open file description, not the fd number, so [`Registered`] deletes it
//!   before its fd is closed.
//! * **Any number of tasks** may wait on one slot and direction; a turn
//!   wakes them all, after the slab borrow is released. A slot keeps at
//!   most one waiter per task. The `poll_*` methods have no hook to run when
//!   the future that called them is dropped, so a dropped read's waiter
//!   stays parked until the direction's next event, which wakes that task
//!   once, spuriously and harmlessly (waking a finished task does nothing),
//!   or until the socket closes. So that such dead waiters cannot pile up
//!   on a socket that never becomes ready, the list has a limit that
//!   adapts to the live waiters (see `Waiters`). Readiness itself is never
//!   lost: it is cleared only by a syscall that proved it gone.
//! * **Tasks of this runtime park by id.** While the executor polls a task
//!   it tells the reactor the task's id and the identity of its waker
//!   ([`PollingTask`]). A `poll_*` call whose context carries exactly that
//!   waker parks the id, a plain `Copy` value, instead of a clone of the
//!   waker, and the turn hands woken ids straight to the executor's run
//!   queue: no reference count changes hands, no thread-local is looked up
//!   and no waker vtable is called on the hot path. Any other waker (the
//!   `block_on` future's, a combinator's own, another executor's) is parked
//!   and woken as a `Waker`.
//! * **A budget per poll.** A task may perform [`IO_BUDGET`] operations per
//!   poll; the next one returns `Pending` and defers the task until after
//!   the next turn (as `yield_now` does), so a connection whose data never
//!   runs out cannot starve the others, nor I/O and timers.
//! * **Shutdown.** Dropping the runtime marks the sockets that outlive it
//!   ready for good and wakes whoever waits on them (tasks of other
//!   runtimes): where an operation would then wait for a turn that will
//!   never come, it fails instead ([`Reactor::shut_down`]).

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::rc::Rc;
use std::task::{Context, Poll, RawWakerVTable, Waker};
use std::time::Duration;

use crate::slab::{Key, Slab};
use crate::sys::epoll::{Epoll, Event, Events, Interest};

/// The data word of the runtime's own eventfd (the [`Notifier`]); no slab key
/// can take this value, since the slab never reaches index `u32::MAX`.
///
/// [`Notifier`]: crate::sys::eventfd::Notifier
pub(crate) const WAKE_TOKEN: u64 = u64::MAX;

/// How many I/O operations a task may perform in one poll before it must
/// yield: the next operation wakes the task and returns `Pending`, so a
/// task whose sockets are always ready cannot starve the others.
pub(crate) const IO_BUDGET: u32 = 128;

/// Waiters parked on one direction of one slot before they are all evicted
/// (woken), until evictions show that more of them are alive; see
/// `Waiters::park`.
const MAX_PARKED: usize = 64;

/// How many events one `epoll_wait` can return.
const EVENTS_CAPACITY: usize = 1024;

/// Every socket is watched for both directions and the peer's half-close.
const SOCKET_INTEREST: Interest = Interest {
    read: true,
    write: true,
};

/// One direction of I/O on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reading, accepting.
    Read,
    /// Writing, connecting.
    Write,
}

/// Cached readiness bits of one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready(u8);

impl Ready {
    /// Data (or a connection) can be read.
    const READABLE: u8 = 1;
    /// Data can be written.
    const WRITABLE: u8 = 1 << 1;
    /// The read side reached EOF or an error; never cleared.
    const READ_CLOSED: u8 = 1 << 2;
    /// The write side hung up or failed; never cleared.
    const WRITE_CLOSED: u8 = 1 << 3;
    /// The runtime was dropped and nothing will report readiness again:
    /// both directions stay ready, so that an operation reaches its
    /// syscall and fails instead of waiting. Never cleared.
    const SHUT_DOWN: u8 = 1 << 4;

    /// The bits one epoll event adds.
    fn from_event(event: &Event) -> Ready {
        let mut bits = 0;
        if event.is_readable() {
            bits |= Ready::READABLE;
        }
        if event.is_writable() {
            bits |= Ready::WRITABLE;
        }
        if event.is_read_closed() {
            bits |= Ready::READ_CLOSED;
        }
        if event.is_hup() || event.is_error() {
            bits |= Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        Ready(bits)
    }

    /// The bits that make `direction` ready.
    fn mask(direction: Direction) -> u8 {
        match direction {
            Direction::Read => Ready::READABLE | Ready::READ_CLOSED | Ready::SHUT_DOWN,
            Direction::Write => Ready::WRITABLE | Ready::WRITE_CLOSED | Ready::SHUT_DOWN,
        }
    }

    /// True if an operation in `direction` may make progress.
    fn is_ready(self, direction: Direction) -> bool {
        self.0 & Ready::mask(direction) != 0
    }
}

/// The task the executor is polling right now, as the reactor sees it: its
/// id, and the identity of the waker the executor handed to `poll`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollingTask {
    /// The task's slab key in the executor.
    id: Key,
    /// The waker's data pointer; compared, never dereferenced.
    waker_data: *const (),
    /// The waker's vtable; compared, never called.
    waker_vtable: *const RawWakerVTable,
}

impl PollingTask {
    /// Task `id`, polled with `waker`.
    pub(crate) fn new(id: Key, waker: &Waker) -> PollingTask {
        PollingTask {
            id,
            waker_data: waker.data(),
            waker_vtable: waker.vtable(),
        }
    }

    /// True if `waker` is the very waker the task is polled with: same
    /// data and same vtable. (While the task is being polled its waker is
    /// alive, so no other waker can share that data pointer.) A clone made
    /// elsewhere may carry a different copy of the vtable and not match;
    /// that only costs the fast path, never a wake-up.
    fn polls_with(&self, waker: &Waker) -> bool {
        std::ptr::eq(waker.data(), self.waker_data)
            && std::ptr::eq(waker.vtable(), self.waker_vtable)
    }
}

/// One parked waiter.
#[derive(Debug)]
enum Waiter {
    /// A task of this runtime, parked by id: waking it is a push onto the
    /// run queue.
    Task(Key),
    /// Any other waker.
    Waker(Waker),
}

impl Waiter {
    /// Wakes the waiter: a task id goes to `wake_task`.
    #[inline]
    fn wake(self, wake_task: &mut impl FnMut(Key)) {
        match self {
            Waiter::Task(id) => wake_task(id),
            Waiter::Waker(waker) => waker.wake(),
        }
    }
}

/// A waiter about to park, borrowed so that a waker already parked is not
/// cloned again.
#[derive(Debug, Clone, Copy)]
enum Parking<'a> {
    /// The polled task, by id.
    Task(Key),
    /// Any other waker.
    Waker(&'a Waker),
}

impl Parking<'_> {
    /// True if `parked` wakes the same task.
    fn is(self, parked: &Waiter) -> bool {
        match (self, parked) {
            (Parking::Task(id), Waiter::Task(parked)) => id == *parked,
            (Parking::Waker(waker), Waiter::Waker(parked)) => waker.will_wake(parked),
            _ => false,
        }
    }

    /// The waiter to store.
    fn to_waiter(self) -> Waiter {
        match self {
            Parking::Task(id) => Waiter::Task(id),
            Parking::Waker(waker) => Waiter::Waker(waker.clone()),
        }
    }

    /// Who this waiter is, for recognising it after an eviction.
    fn identity(self) -> Identity {
        match self {
            Parking::Task(id) => Identity::Task(id),
            Parking::Waker(waker) => Identity::of(waker),
        }
    }
}

/// Who a parked waiter is, kept after the waiter itself was evicted: a
/// task id, or a waker's data and vtable addresses (compared, never
/// dereferenced, and holding no reference count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Identity {
    /// A task of this runtime.
    Task(Key),
    /// Any other waker.
    Waker(usize, usize),
}

impl Identity {
    /// The identity of `waker`.
    fn of(waker: &Waker) -> Identity {
        Identity::Waker(waker.data() as usize, waker.vtable() as *const _ as usize)
    }
}

/// The tasks parked on one direction of one slot.
///
/// The first waiter is stored inline, so the common case (one task per
/// direction) allocates nothing; a waiter that would wake the same task as
/// one already stored is not stored again, so the list is bounded by the
/// number of distinct tasks waiting.
///
/// # Stale waiters and the limit
///
/// A poll-based read has no hook to run when its future is dropped, so a
/// waiter whose future is gone stays parked until the direction's next
/// event. Many short-lived tasks parking on a socket that never becomes
/// ready would pile up, so the list has a limit: when it is full, every
/// waiter is evicted, that is woken (a spurious wake: a task still
/// interested polls and parks again, a finished one ignores it). Only the
/// live ones come back, and they are counted: the next limit is
/// [`MAX_PARKED`] plus twice the number that came back since the previous
/// eviction. So a socket with more live waiters than the limit evicts a
/// few times, the limit grows past them, and it settles (never a busy
/// loop); dead waiters never raise the limit, so memory stays
/// proportional to the live ones.
#[derive(Debug, Default)]
struct Waiters {
    /// The first parked waiter.
    first: Option<Waiter>,
    /// Further waiters, one per other waiting task.
    ///
    /// # Invariant
    ///
    /// Empty whenever `first` is `None`.
    rest: Vec<Waiter>,
    /// Waiters recent evictions woke that have not parked again since, with
    /// the count of those that have; `None` until the first eviction.
    evicted: Option<Box<Evicted>>,
}

/// The error of an I/O object whose runtime was dropped.
#[cold]
fn shut_down_error() -> io::Error {
    io::Error::other("the runtime this I/O object belongs to has shut down")
}

/// What [`Waiters`] remembers of its recent evictions.
#[derive(Debug, Default)]
struct Evicted {
    /// Who was evicted and has not come back yet. An evicted waker is kept
    /// (a clone) so that its address cannot be reused by a new waker that
    /// would then pass for it.
    waiting_to_return: std::collections::HashMap<Identity, Option<Waker>>,
    /// How many evicted waiters came back.
    returned: usize,
    /// The current limit on parked waiters.
    limit: usize,
}

impl Waiters {
    /// How many waiters may be parked before the next eviction.
    fn limit(&self) -> usize {
        self.evicted.as_ref().map_or(MAX_PARKED, |e| e.limit)
    }

    /// Parks `waiter` unless the same task is already parked here; when
    /// the list is full, evicts every waiter parked so far and returns
    /// them to be woken (see the type's docs).
    #[must_use = "the returned waiters must be woken, after the borrow ends"]
    fn park(&mut self, waiter: Parking<'_>) -> Option<Vec<Waiter>> {
        match &self.first {
            None => {
                self.first = Some(waiter.to_waiter());
                self.note_return(waiter);
            }
            Some(first) if waiter.is(first) => {}
            Some(_) => {
                if self.rest.iter().any(|parked| waiter.is(parked)) {
                    return None;
                }
                if self.rest.len() + 2 > self.limit() {
                    return Some(self.evict_all_for(waiter));
                }
                self.rest.push(waiter.to_waiter());
                self.note_return(waiter);
            }
        }
        None
    }

    /// Counts `waiter` if the last eviction woke it: it is alive.
    fn note_return(&mut self, waiter: Parking<'_>) {
        if let Some(evicted) = &mut self.evicted {
            if evicted
                .waiting_to_return
                .remove(&waiter.identity())
                .is_some()
            {
                evicted.returned += 1;
            }
        }
    }

    /// Evicts every parked waiter, leaves `waiter` as the only one, and
    /// sets the next limit from how many of the previous eviction's
    /// waiters came back.
    #[cold]
    fn evict_all_for(&mut self, waiter: Parking<'_>) -> Vec<Waiter> {
        let mut evicted = std::mem::take(&mut self.rest);
        evicted.extend(self.first.replace(waiter.to_waiter()));
        let memory = self.evicted.get_or_insert_with(Box::default);
        memory.limit = MAX_PARKED + 2 * memory.returned;
        memory.returned = 0;
        // Live waiters may come back only after the next eviction or two
        // (the run queue is first in, first out), so the evicted are
        // remembered across evictions, up to a few limits' worth: dead
        // ones never come back and must not be kept for ever.
        if memory.waiting_to_return.len() > 4 * memory.limit {
            memory.waiting_to_return.clear();
        }
        memory
            .waiting_to_return
            .extend(evicted.iter().map(|waiter| match waiter {
                Waiter::Task(id) => (Identity::Task(*id), None),
                Waiter::Waker(waker) => (Identity::of(waker), Some(waker.clone())),
            }));
        evicted
    }

    /// Wakes every waiter parked in `waiters`, with no borrow held while a
    /// waker runs (it may do anything, even park again here); task ids go
    /// to `wake_task`.
    #[inline]
    fn wake_all(waiters: &RefCell<Waiters>, wake_task: &mut impl FnMut(Key)) {
        let mut parked = waiters.borrow_mut();
        // `rest` only fills once `first` is taken, so no first, no waiter:
        // the common case for the direction an event did not change.
        let Some(first) = parked.first.take() else {
            return;
        };
        if parked.rest.is_empty() {
            // The next common case: one waiter.
            drop(parked);
            first.wake(wake_task);
            return;
        }
        let rest = std::mem::take(&mut parked.rest);
        drop(parked);
        first.wake(wake_task);
        Waiters::wake_rest(rest, wake_task);
    }

    /// Wakes the waiters beyond the first.
    #[cold]
    fn wake_rest(rest: Vec<Waiter>, wake_task: &mut impl FnMut(Key)) {
        rest.into_iter().for_each(|waiter| waiter.wake(wake_task));
    }
}

/// The reactor's state for one registered fd, shared by the slab and the
/// [`Registered`] handle that owns the fd.
#[derive(Debug, Default)]
pub(crate) struct IoSlot {
    /// What epoll reported and no syscall has disproved yet.
    readiness: Cell<Ready>,
    /// Tasks waiting for [`Direction::Read`].
    readers: RefCell<Waiters>,
    /// Tasks waiting for [`Direction::Write`].
    writers: RefCell<Waiters>,
}

impl IoSlot {
    /// The waiters of `direction`.
    fn waiters(&self, direction: Direction) -> &RefCell<Waiters> {
        match direction {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// True if an operation in `direction` may make progress.
    #[inline]
    fn is_ready(&self, direction: Direction) -> bool {
        self.readiness.get().is_ready(direction)
    }

    /// True if `direction` is ready only because the runtime was dropped:
    /// a task would have waited here, for ever.
    fn only_shut_down(&self, direction: Direction) -> bool {
        let Ready(bits) = self.readiness.get();
        bits & Ready::mask(direction) == Ready::SHUT_DOWN
    }

    /// Checks, after a syscall returned `WouldBlock`, that epoll will
    /// report the next change.
    ///
    /// # Errors
    ///
    /// If the runtime was dropped: no report will ever come, so waiting
    /// would be for ever.
    fn ensure_reported(&self) -> io::Result<()> {
        if self.readiness.get().0 & Ready::SHUT_DOWN != 0 {
            return Err(shut_down_error());
        }
        Ok(())
    }

    /// Forgets that `direction` is ready, after a syscall proved it is not.
    ///
    /// Hang-up, error and shut-down bits stay: once closed, always ready.
    pub(crate) fn clear_readiness(&self, direction: Direction) {
        let clear = match direction {
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
        };
        let Ready(bits) = self.readiness.get();
        self.readiness.set(Ready(bits & !clear));
    }

    /// Records an event and wakes the tasks it makes ready.
    ///
    /// A direction that was ready already has nobody parked on it (tasks
    /// park only on a direction that is not ready, and the turn that makes
    /// it ready wakes them all), so only newly ready directions are looked
    /// at: the writers of a socket that stays writable cost nothing.
    #[inline]
    fn apply(&self, event: &Event, wake_task: &mut impl FnMut(Key)) {
        let new = Ready::from_event(event);
        let old = self.readiness.get();
        self.readiness.set(Ready(old.0 | new.0));
        if new.is_ready(Direction::Read) && !old.is_ready(Direction::Read) {
            Waiters::wake_all(&self.readers, wake_task);
        }
        if new.is_ready(Direction::Write) && !old.is_ready(Direction::Write) {
            Waiters::wake_all(&self.writers, wake_task);
        }
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
    /// I/O operations the task being polled may still perform; reset by
    /// the executor before each poll.
    budget: Cell<u32>,
    /// Wakers of tasks that yielded (`yield_now`, or a spent budget), woken
    /// only after the next turn, so they run after the tasks it wakes.
    deferred: RefCell<Vec<Waker>>,
    /// The task being polled, if the executor is polling a spawned task.
    polling: Cell<Option<PollingTask>>,
    /// Tasks parked by id and woken outside a turn (their socket closed,
    /// or they were evicted), for the executor to collect.
    woken: RefCell<Vec<Key>>,
    /// Set when the runtime is dropped; see [`Reactor::shut_down`].
    shut_down: Cell<bool>,
}

impl Reactor {
    /// Creates the epoll instance and watches `notifier` under
    /// [`WAKE_TOKEN`].
    pub(crate) fn new(notifier: BorrowedFd<'_>) -> io::Result<Reactor> {
        let epoll = Epoll::new()?;
        let interest = Interest {
            read: true,
            write: false,
        };
        epoll.add(notifier, WAKE_TOKEN, interest)?;
        Ok(Reactor {
            epoll,
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            slots: RefCell::new(Slab::default()),
            budget: Cell::new(IO_BUDGET),
            deferred: RefCell::new(Vec::new()),
            polling: Cell::new(None),
            woken: RefCell::new(Vec::new()),
            shut_down: Cell::new(false),
        })
    }

    /// Adds `fd` to epoll, edge-triggered for both directions and
    /// half-close, and gives it a slot.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>) -> io::Result<(Key, Rc<IoSlot>)> {
        if self.shut_down.get() {
            return Err(shut_down_error());
        }
        let slot = Rc::new(IoSlot::default());
        let key = self.slots.borrow_mut().insert(slot.clone());
        if let Err(e) = self.epoll.add(fd, key.to_u64(), SOCKET_INTEREST) {
            self.slots.borrow_mut().remove(key);
            return Err(e);
        }
        Ok((key, slot))
    }

    /// Removes `fd` from epoll and frees its slot, waking anything still
    /// parked on it so that no task waits forever.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>, key: Key) {
        // Errors are ignored: the fd is about to be closed, which removes it
        // from epoll anyway, and `Drop` must not fail.
        let _ = self.epoll.delete(fd);
        let slot = self.slots.borrow_mut().remove(key);
        if let Some(slot) = slot {
            let mut wake_task = |id| self.woken.borrow_mut().push(id);
            Waiters::wake_all(&slot.readers, &mut wake_task);
            Waiters::wake_all(&slot.writers, &mut wake_task);
        }
    }

    /// Called by the executor before each poll: a full [`IO_BUDGET`], and
    /// the task being polled (`None` for a future that is not a spawned
    /// task, whose waker is then parked as a `Waker`).
    #[inline]
    pub(crate) fn start_poll(&self, task: Option<PollingTask>) {
        self.budget.set(IO_BUDGET);
        self.polling.set(task);
    }

    /// Called by the executor after each poll: no task is being polled, so
    /// none can be parked by id.
    #[inline]
    pub(crate) fn end_poll(&self) {
        self.polling.set(None);
    }

    /// Hands the ids of tasks woken outside a turn to `wake_task`.
    pub(crate) fn take_woken(&self, wake_task: impl FnMut(Key)) {
        let woken = std::mem::take(&mut *self.woken.borrow_mut());
        woken.into_iter().for_each(wake_task);
    }

    /// Ready once `direction` of `slot` may make progress and the polled
    /// task still has I/O budget; otherwise the task is parked on the slot
    /// (or, when its budget is spent, deferred until after the next turn;
    /// see [`Reactor::budget_spent`]).
    #[inline]
    fn poll_ready(&self, slot: &IoSlot, cx: &mut Context<'_>, direction: Direction) -> Poll<()> {
        if !self.consume_budget() {
            self.budget_spent(cx.waker());
            return Poll::Pending;
        }
        if slot.is_ready(direction) {
            return Poll::Ready(());
        }
        self.park(slot, cx.waker(), direction);
        Poll::Pending
    }

    /// Parks the polled task on `direction` of `slot`: by id if `waker` is
    /// the one the executor polls it with, else as a waker.
    ///
    /// The common case, the polled task parking by id on a list that is
    /// empty and has never evicted anyone (so there is no return to count),
    /// is inlined; everything else goes through [`Waiters::park`], out of
    /// line, so that the ready path of [`Reactor::poll_ready`] stays small.
    #[inline]
    fn park(&self, slot: &IoSlot, waker: &Waker, direction: Direction) {
        // `IoSlot::apply` relies on it: nobody parks on a ready direction.
        debug_assert!(!slot.is_ready(direction));
        let waiter = match self.polling.get() {
            Some(task) if task.polls_with(waker) => Parking::Task(task.id),
            _ => Parking::Waker(waker),
        };
        let waiters = slot.waiters(direction);
        if let Parking::Task(id) = waiter {
            let mut parked = waiters.borrow_mut();
            if parked.first.is_none() && parked.evicted.is_none() {
                parked.first = Some(Waiter::Task(id));
                return;
            }
        }
        self.park_slow(waiters, waiter);
    }

    /// [`Reactor::park`] for every case but the common one.
    #[inline(never)]
    fn park_slow(&self, waiters: &RefCell<Waiters>, waiter: Parking<'_>) {
        let evicted = waiters.borrow_mut().park(waiter);
        if let Some(evicted) = evicted {
            let mut wake_task = |id| self.woken.borrow_mut().push(id);
            evicted
                .into_iter()
                .for_each(|waiter| waiter.wake(&mut wake_task));
        }
    }

    /// Takes one unit of the polled task's budget; false when it is spent.
    #[inline]
    fn consume_budget(&self) -> bool {
        let left = self.budget.get();
        if left == 0 {
            return false;
        }
        self.budget.set(left - 1);
        true
    }

    /// Wakes `waker` only after the next turn. (A task deferred twice is
    /// still queued once: its waker's queued flag sees to that.)
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Makes the polled task, its budget spent, yield: woken after the next
    /// turn. If this reactor will never turn again (its runtime was
    /// dropped, and another runtime polls the task), woken at once with a
    /// fresh budget instead.
    #[cold]
    #[inline(never)]
    fn budget_spent(&self, waker: &Waker) {
        if self.shut_down.get() {
            self.budget.set(IO_BUDGET);
            waker.wake_by_ref();
        } else {
            self.defer(waker);
        }
    }

    /// True if some task waits for the next turn: the turn must not block.
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty()
    }

    /// Wakes the tasks deferred until now (called after a turn).
    pub(crate) fn wake_deferred(&self) {
        let mut deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        if deferred.is_empty() {
            return;
        }
        // No borrow is held while a waker runs; the vector's capacity is
        // kept for the next turn.
        deferred.drain(..).for_each(Waker::wake);
        let mut slot = self.deferred.borrow_mut();
        if slot.is_empty() {
            *slot = deferred;
        }
    }

    /// Called as the runtime is dropped, for the I/O objects that outlive
    /// it: nothing will turn this reactor again. Every socket is marked
    /// ready for good, and everyone still parked on one (another runtime's
    /// task) is woken, so that each operation reaches its syscall and, where
    /// it would wait, fails with an error instead. New registrations fail.
    pub(crate) fn shut_down(&self) {
        self.shut_down.set(true);
        // Every slot is marked before any waker runs (one could panic), and
        // no borrow of the slab is held while they run.
        let slots: Vec<Rc<IoSlot>> = self.slots.borrow().values().cloned().collect();
        for slot in &slots {
            let Ready(bits) = slot.readiness.get();
            slot.readiness.set(Ready(bits | Ready::SHUT_DOWN));
        }
        for slot in slots {
            // The ids are this runtime's own tasks, which are gone.
            Waiters::wake_all(&slot.readers, &mut drop);
            Waiters::wake_all(&slot.writers, &mut drop);
        }
        self.woken.borrow_mut().clear();
        // Deferred wakers too: another runtime's task may have spent its
        // budget on one of these sockets. (This runtime's own tasks'
        // wakers are retired by now; waking them does nothing.)
        self.wake_deferred();
    }

    /// Number of registered fds.
    pub(crate) fn registrations(&self) -> usize {
        self.slots.borrow().len()
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
    pub(crate) fn turn(&self, timeout: Option<Duration>, mut wake_task: impl FnMut(Key)) -> bool {
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.epoll.wait(&mut events, timeout) {
            panic!("epoll_wait on the runtime's own epoll fd failed: {e}");
        }
        let mut notified = false;
        for event in events.iter() {
            if event.token == WAKE_TOKEN {
                notified = true;
                continue;
            }
            // Hold the slab borrow only for the lookup: wakers may register
            // or deregister sockets.
            let slot = self.slots.borrow().get(Key::from_u64(event.token)).cloned();
            // `None`: the generation is stale. The registration is gone, and
            // the event must not wake whoever reused the slot.
            if let Some(slot) = slot {
                slot.apply(&event, &mut wake_task);
            }
        }
        notified
    }
}

/// An fd registered with a reactor: the fd, its slot, and the duty to
/// deregister before the fd closes.
#[derive(Debug)]
pub(crate) struct Registered<T: AsFd> {
    /// The I/O object that owns the fd.
    ///
    /// # Invariant
    ///
    /// Registered with `reactor` under `key` from creation until `drop`.
    io: T,
    /// The reactor the fd is registered with.
    reactor: Rc<Reactor>,
    /// The slot's key, which is also the epoll data word.
    key: Key,
    /// The slot's readiness and waiters.
    slot: Rc<IoSlot>,
}

impl<T: AsFd> Registered<T> {
    /// Registers `io` with `reactor`.
    pub(crate) fn new(io: T, reactor: Rc<Reactor>) -> io::Result<Registered<T>> {
        let (key, slot) = reactor.register(io.as_fd())?;
        Ok(Registered {
            io,
            reactor,
            key,
            slot,
        })
    }

    /// The I/O object.
    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    /// The reactor the fd is registered with.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// Ready once `direction` may make progress and the task still has
    /// I/O budget; a task whose budget is spent is woken and yields.
    #[inline]
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<()> {
        self.reactor.poll_ready(&self.slot, cx, direction)
    }

    /// [`poll_ready`](Registered::poll_ready) for operations off the hot
    /// path, which fail where they would have waited for a dropped runtime.
    ///
    /// # Errors
    ///
    /// If the runtime was dropped and epoll had not reported `direction`
    /// ready before.
    pub(crate) fn poll_ready_or_fail(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_ready(cx, direction));
        if self.slot.only_shut_down(direction) {
            return Poll::Ready(Err(shut_down_error()));
        }
        Poll::Ready(Ok(()))
    }

    /// Forgets that `direction` is ready.
    #[inline]
    pub(crate) fn clear_readiness(&self, direction: Direction) {
        self.slot.clear_readiness(direction)
    }

    /// Checks, after a syscall returned `WouldBlock`, that epoll will
    /// report the next change.
    ///
    /// # Errors
    ///
    /// If the runtime was dropped: waiting would be for ever.
    pub(crate) fn ensure_reported(&self) -> io::Result<()> {
        self.slot.ensure_reported()
    }

    /// Runs `op` once `direction` is ready, and again after each
    /// `WouldBlock` once the reactor reports readiness anew.
    ///
    /// # Errors
    ///
    /// `op`'s, or, where it would wait for a dropped runtime, the
    /// shut-down error.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            std::task::ready!(self.poll_ready_or_fail(cx, direction))?;
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(direction),
                result => return Poll::Ready(result),
            }
        }
    }
}

impl<T: AsFd> Drop for Registered<T> {
    fn drop(&mut self) {
        // Delete before `io` drops and closes the fd.
        self.reactor.deregister(self.io.as_fd(), self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::eventfd::Notifier;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn reactor() -> (Reactor, Notifier) {
        let notifier = Notifier::new().unwrap();
        (Reactor::new(notifier.as_fd()).unwrap(), notifier)
    }

    /// A socket pair whose first end is nonblocking and registered with
    /// `reactor`, after a turn that took its first events, and that end's
    /// key and slot.
    fn registered_pair(reactor: &Reactor) -> (UnixStream, UnixStream, Key, Rc<IoSlot>) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let (key, slot) = reactor.register(a.as_fd()).unwrap();
        reactor.turn(Some(Duration::ZERO), |_| {});
        (a, b, key, slot)
    }

    /// Parks a new counting waker on `direction` of `slot`, as a waker
    /// (no task is being polled), with a fresh I/O budget.
    fn park(reactor: &Reactor, slot: &IoSlot, direction: Direction) -> Arc<CountingWaker> {
        reactor.start_poll(None);
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(reactor.poll_ready(slot, &mut cx, direction).is_pending());
        counter
    }

    #[test]
    fn readiness_wakes_every_parked_task_once() {
        let (reactor, _notifier) = reactor();
        let (_a, mut b, _key, slot) = registered_pair(&reactor);
        let first = park(&reactor, &slot, Direction::Read);
        let second = park(&reactor, &slot, Direction::Read);
        b.write_all(b"x").unwrap();
        reactor.turn(Some(Duration::from_secs(5)), |_| {});
        assert_eq!(first.0.load(Ordering::SeqCst), 1);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        // Still cached as readable until a syscall says otherwise.
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        assert!(reactor
            .poll_ready(&slot, &mut Context::from_waker(&waker), Direction::Read)
            .is_ready());
        slot.clear_readiness(Direction::Read);
        assert!(reactor
            .poll_ready(&slot, &mut Context::from_waker(&waker), Direction::Read)
            .is_pending());
    }

    fn woken_count(counter: &CountingWaker) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    #[test]
    fn the_polled_task_parks_by_id_and_its_id_is_handed_over() {
        let (reactor, _notifier) = reactor();
        let (_a, mut b, _key, slot) = registered_pair(&reactor);

        let task = Arc::new(CountingWaker::default());
        let task_waker = Waker::from(task.clone());
        let other = Arc::new(CountingWaker::default());
        let other_waker = Waker::from(other.clone());
        let id = Key::from_u64(7);
        reactor.start_poll(Some(PollingTask::new(id, &task_waker)));
        let mut cx = Context::from_waker(&task_waker);
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Read)
            .is_pending());
        // Polled again while still parked: not parked twice.
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Read)
            .is_pending());
        // Another waker seen during the same poll (a combinator's own, say)
        // is not the task's: it parks as a waker.
        let mut other_cx = Context::from_waker(&other_waker);
        assert!(reactor
            .poll_ready(&slot, &mut other_cx, Direction::Read)
            .is_pending());
        reactor.end_poll();

        b.write_all(b"x").unwrap();
        let mut woken = Vec::new();
        reactor.turn(Some(Duration::from_secs(5)), |id| woken.push(id));
        assert_eq!(woken, [id], "the task's id is handed over, once");
        assert_eq!(woken_count(&task), 0, "not through its waker");
        assert_eq!(woken_count(&other), 1);
    }

    #[test]
    fn outside_a_poll_the_same_waker_parks_as_a_waker() {
        let (reactor, _notifier) = reactor();
        let (_a, mut b, _key, slot) = registered_pair(&reactor);
        let task = Arc::new(CountingWaker::default());
        let task_waker = Waker::from(task.clone());
        reactor.start_poll(Some(PollingTask::new(Key::from_u64(7), &task_waker)));
        reactor.end_poll();
        let mut cx = Context::from_waker(&task_waker);
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Read)
            .is_pending());
        b.write_all(b"x").unwrap();
        let mut woken = Vec::new();
        reactor.turn(Some(Duration::from_secs(5)), |id| woken.push(id));
        assert!(woken.is_empty());
        assert_eq!(woken_count(&task), 1);
    }

    #[test]
    fn deregister_hands_over_the_ids_parked_on_the_slot() {
        let (reactor, _notifier) = reactor();
        let (a, _b, key, slot) = registered_pair(&reactor);
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        let (reader, writer) = (Key::from_u64(1), Key::from_u64(2));
        let mut cx = Context::from_waker(&waker);
        reactor.start_poll(Some(PollingTask::new(reader, &waker)));
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Read)
            .is_pending());
        reactor.start_poll(Some(PollingTask::new(writer, &waker)));
        // A fresh socket is writable: make it look full to park a writer.
        slot.clear_readiness(Direction::Write);
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Write)
            .is_pending());
        reactor.end_poll();
        reactor.deregister(a.as_fd(), key);
        let mut woken = Vec::new();
        reactor.take_woken(|id| woken.push(id));
        assert_eq!(woken, [reader, writer]);
    }

    #[test]
    fn parked_wakers_are_bounded_and_evicted_ones_are_woken() {
        let (reactor, _notifier) = reactor();
        let (_a, _b, _key, slot) = registered_pair(&reactor);
        let parked: Vec<_> = (0..MAX_PARKED * 3)
            .map(|_| park(&reactor, &slot, Direction::Read))
            .collect();
        let waiters = slot.readers.borrow();
        assert!(waiters.rest.len() < MAX_PARKED);
        let woken = parked
            .iter()
            .filter(|w| w.0.load(Ordering::SeqCst) == 1)
            .count();
        assert_eq!(
            woken + waiters.rest.len() + 1,
            parked.len(),
            "every waker is parked or woken"
        );
    }

    #[test]
    fn live_waiters_beyond_the_limit_settle_after_a_few_evictions() {
        // 150 live tasks keep parking on one direction: every evicted one
        // parks again at once, as a task still waiting would.
        let wakers: Vec<Waker> = (0..150)
            .map(|_| Waker::from(Arc::new(CountingWaker::default())))
            .collect();
        let mut waiters = Waiters::default();
        let mut evictions = 0;
        let mut to_park: Vec<usize> = (0..wakers.len()).collect();
        while let Some(i) = to_park.pop() {
            if let Some(evicted) = waiters.park(Parking::Waker(&wakers[i])) {
                evictions += 1;
                assert!(evictions <= 8, "evictions do not settle: {evictions}");
                for waiter in evicted {
                    let Waiter::Waker(waker) = waiter else {
                        unreachable!()
                    };
                    let j = wakers.iter().position(|w| w.will_wake(&waker)).unwrap();
                    to_park.insert(0, j);
                }
            }
        }
        assert_eq!(waiters.rest.len() + 1, wakers.len(), "all 150 are parked");
        // Dead waiters do not raise the limit: after 1,000 that never come
        // back, it is down to the minimum, and what is remembered of them
        // stays bounded.
        let bound = MAX_PARKED + 2 * wakers.len();
        for _ in 0..1_000 {
            let dead = Waker::from(Arc::new(CountingWaker::default()));
            let _ = waiters.park(Parking::Waker(&dead));
            assert!(waiters.rest.len() < bound);
        }
        assert_eq!(waiters.limit(), MAX_PARKED);
        let remembered = waiters.evicted.as_ref().unwrap().waiting_to_return.len();
        assert!(
            remembered <= 5 * bound,
            "{remembered} evicted waiters remembered"
        );
    }

    #[test]
    fn hang_up_makes_both_directions_ready_for_good() {
        let (reactor, _notifier) = reactor();
        let (a, b) = UnixStream::pair().unwrap();
        let (_key, slot) = reactor.register(a.as_fd()).unwrap();
        drop(b);
        reactor.turn(Some(Duration::from_secs(5)), |_| {});
        slot.clear_readiness(Direction::Read);
        slot.clear_readiness(Direction::Write);
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        let mut cx = Context::from_waker(&waker);
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Read)
            .is_ready());
        assert!(reactor
            .poll_ready(&slot, &mut cx, Direction::Write)
            .is_ready());
    }

    /// The registration follows the open file description, so a description
    /// kept alive by a `dup` keeps reporting events under the old token even
    /// after its fd number was closed and reused. The generation in the token
    /// is what stops such an event from waking the slot's new owner.
    #[test]
    fn stale_event_for_a_reused_fd_number_wakes_nobody() {
        // Other tests open fds on other threads and may take the number
        // first; retry until the kernel hands the same number back.
        let reused = (0..50).any(|_| stale_event_scenario());
        assert!(reused, "the fd number was never reused in 50 attempts");
    }

    /// Runs the scenario; false if the fd number was not reused (nothing
    /// was checked).
    fn stale_event_scenario() -> bool {
        let (reactor, _notifier) = reactor();
        let (old, mut old_peer) = UnixStream::pair().unwrap();
        let old_fd = old.as_raw_fd();
        let (old_key, _old_slot) = reactor.register(old.as_fd()).unwrap();
        reactor.turn(Some(Duration::ZERO), |_| {});

        // Forget the slot without EPOLL_CTL_DEL, keep the description alive
        // through a duplicate, and close the original fd number.
        let keep_alive = old.try_clone().unwrap();
        reactor.slots.borrow_mut().remove(old_key);
        drop(old);

        // The next socket gets the same fd number and the same slab index.
        let (new, _new_peer) = UnixStream::pair().unwrap();
        if new.as_raw_fd() != old_fd {
            return false;
        }
        let (new_key, new_slot) = reactor.register(new.as_fd()).unwrap();
        assert_ne!(new_key, old_key);
        assert_eq!(
            new_key.to_u64() as u32,
            old_key.to_u64() as u32,
            "the index was not reused"
        );
        reactor.turn(Some(Duration::ZERO), |_| {});
        let parked = park(&reactor, &new_slot, Direction::Read);

        // Data for the *old* description: epoll reports it under the old token.
        old_peer.write_all(b"stale").unwrap();
        reactor.turn(Some(Duration::from_millis(50)), |_| {});
        assert_eq!(
            parked.0.load(Ordering::SeqCst),
            0,
            "a stale event woke the new owner"
        );
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        assert!(reactor
            .poll_ready(&new_slot, &mut Context::from_waker(&waker), Direction::Read)
            .is_pending());
        drop(keep_alive);
        true
    }

    #[test]
    fn notifier_is_reported_as_a_wakeup() {
        let (reactor, notifier) = reactor();
        assert!(!reactor.turn(Some(Duration::ZERO), |_| {}));
        notifier.notify().unwrap();
        assert!(reactor.turn(Some(Duration::from_secs(5)), |_| {}));
    }

    #[test]
    fn deregister_wakes_parked_tasks_and_frees_the_slot() {
        let (reactor, _notifier) = reactor();
        let (a, _b, key, slot) = registered_pair(&reactor);
        let parked = park(&reactor, &slot, Direction::Read);
        assert_eq!(reactor.registrations(), 1);
        reactor.deregister(a.as_fd(), key);
        assert_eq!(reactor.registrations(), 0);
        assert_eq!(parked.0.load(Ordering::SeqCst), 1);
    }
}
