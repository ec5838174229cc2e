//! [`Chan`]: what both flavours of channel share, and the logic written
//! once for both: slots and who waits for them, receiving, closing, and
//! the count of senders.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::{Arc, Mutex, MutexGuard};

use super::super::{lock, register, update, wake};
use super::error::{TryRecvError, TrySendError};

/// What the senders and the receiver share.
pub(super) struct Chan<T> {
    /// Everything, behind one lock.
    state: Mutex<State<T>>,
    /// The bound; `None` for an unbounded channel.
    capacity: Option<usize>,
}

/// The channel's state.
///
/// # Invariants
///
/// * Slots: `buffer.len() + granted.len() + reserved` never exceeds the
///   capacity. A slot is *taken* by a value in the buffer, by a waiting
///   sender that was granted it, or by a [`Permit`](super::Permit).
/// * While senders wait in `send_waiters`, no slot is free: every slot that
///   frees up is granted to the first waiter at once. So a sender without
///   a grant may take a slot exactly when [`State::has_room`].
pub(super) struct State<T> {
    /// Values sent and not yet received, oldest first.
    buffer: VecDeque<T>,
    /// Live senders (clones included); weak senders do not count.
    senders: usize,
    /// Live weak senders.
    weak_senders: usize,
    /// True once the receiver was dropped or closed: new sends fail.
    rx_closed: bool,
    /// True once the receiver was dropped: values are dropped, not kept.
    rx_dropped: bool,
    /// The receiving task, waiting for a value or for the end.
    rx_waker: Option<Waker>,
    /// Senders waiting for a slot, in arrival order (ids increase).
    send_waiters: BTreeMap<u64, Waker>,
    /// Waiting senders granted a slot that have not used it yet.
    granted: BTreeSet<u64>,
    /// Slots held by permits (from `reserve`) not yet used or dropped.
    reserved: usize,
    /// Tasks awaiting `closed()`.
    closed_waiters: BTreeMap<u64, Waker>,
    /// The id of the next waiter of either kind.
    next_id: u64,
}

impl<T> State<T> {
    /// A fresh waiter id.
    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Slots taken (see the invariants).
    fn taken(&self) -> usize {
        self.buffer.len() + self.granted.len() + self.reserved
    }

    /// Buffers `value`, or hands it back to be dropped (after unlocking) if
    /// the receiver is gone. Returns the receiver's waker, to wake after
    /// unlocking.
    fn push(&mut self, value: T) -> (Option<Waker>, Option<T>) {
        if self.rx_dropped {
            return (None, Some(value));
        }
        self.buffer.push_back(value);
        (self.rx_waker.take(), None)
    }

    /// True if no value can arrive any more: every sender is gone, or the
    /// receiver was closed and no permit is left to send with.
    fn is_disconnected(&self) -> bool {
        self.senders == 0 || (self.rx_closed && self.reserved == 0)
    }

    /// Closes the receiving side. Returns the wakers of every waiting
    /// sender (their sends now fail) and every `closed` waiter.
    fn close(&mut self) -> Vec<Waker> {
        self.rx_closed = true;
        self.granted.clear();
        let senders = mem::take(&mut self.send_waiters);
        let closed = mem::take(&mut self.closed_waiters);
        senders.into_values().chain(closed.into_values()).collect()
    }
}

impl<T> Chan<T> {
    /// A channel with one sender; `capacity` is `None` for unbounded.
    pub(super) fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            state: Mutex::new(State {
                buffer: VecDeque::new(),
                senders: 1,
                weak_senders: 0,
                rx_closed: false,
                rx_dropped: false,
                rx_waker: None,
                send_waiters: BTreeMap::new(),
                granted: BTreeSet::new(),
                reserved: 0,
                closed_waiters: BTreeMap::new(),
                next_id: 0,
            }),
            capacity,
        })
    }

    /// Locks the state.
    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// True if a sender without a grant may take a slot now.
    fn has_room(&self, state: &State<T>) -> bool {
        match self.capacity {
            None => true,
            Some(capacity) => state.taken() < capacity,
        }
    }

    /// Grants a free slot, if any, to the first waiting sender; returns its
    /// waker, to wake after unlocking.
    fn grant_next(&self, state: &mut State<T>) -> Option<Waker> {
        if !self.has_room(state) {
            return None;
        }
        let (id, waker) = state.send_waiters.pop_first()?;
        state.granted.insert(id);
        Some(waker)
    }

    /// The bound (`usize::MAX` for an unbounded channel).
    pub(super) fn max_capacity(&self) -> usize {
        self.capacity.unwrap_or(usize::MAX)
    }

    /// Free slots right now: the bound less the values buffered and the
    /// slots promised or reserved.
    pub(super) fn capacity(&self) -> usize {
        let state = self.lock();
        self.max_capacity().saturating_sub(state.taken())
    }

    /// Values buffered.
    pub(super) fn len(&self) -> usize {
        self.lock().buffer.len()
    }

    /// Buffers `value` if there is a free slot, without waiting.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = self.lock();
        if state.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if !self.has_room(&state) {
            return Err(TrySendError::Full(value));
        }
        let (rx_waker, _) = state.push(value);
        drop(state);
        wake(rx_waker);
        Ok(())
    }

    /// Takes a free slot for a permit, without waiting.
    pub(super) fn try_reserve(&self) -> Result<(), TrySendError<()>> {
        let mut state = self.lock();
        if state.rx_closed {
            return Err(TrySendError::Closed(()));
        }
        if !self.has_room(&state) {
            return Err(TrySendError::Full(()));
        }
        state.reserved += 1;
        Ok(())
    }

    /// Waits in line for a slot (see [`SlotWait`]); on `Ok` the slot is
    /// this caller's, and the lock is still held so that it can be used at
    /// once. `Err` if the channel closed first.
    ///
    /// Completing costs one unit of the cooperative budget.
    pub(super) fn poll_slot(
        &self,
        waiter: &mut SlotWait,
        cx: &mut Context<'_>,
    ) -> Poll<Result<MutexGuard<'_, State<T>>, ()>> {
        ready!(coop::poll_proceed(cx));
        let mut state = self.lock();

        // 1. A closed channel: `close` already dropped every waiter entry
        //    and grant, this one's included.
        if state.rx_closed {
            waiter.id = None;
            return Poll::Ready(Err(()));
        }

        // 2. A slot granted by a receive, or (for a sender not yet waiting)
        //    a free slot.
        let granted = waiter.id.is_some_and(|id| state.granted.remove(&id));
        if granted || (waiter.id.is_none() && self.has_room(&state)) {
            waiter.id = None;
            return Poll::Ready(Ok(state));
        }

        // 3. Full: wait in line (or refresh the waker if already there).
        let replaced = match waiter.id.and_then(|id| state.send_waiters.get_mut(&id)) {
            Some(stored) => update(stored, cx.waker()),
            None => {
                let id = state.next_id();
                state.send_waiters.insert(id, cx.waker().clone());
                waiter.id = Some(id);
                None
            }
        };
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }

    /// Leaves the line of senders waiting for a slot; a slot granted but
    /// never used goes to the next waiter.
    pub(super) fn withdraw(&self, waiter: &mut SlotWait) {
        let Some(id) = waiter.id.take() else {
            return;
        };
        let mut state = self.lock();
        let removed = state.send_waiters.remove(&id);
        let next = if removed.is_none() && state.granted.remove(&id) {
            self.grant_next(&mut state)
        } else {
            None
        };
        drop(state);
        drop(removed);
        wake(next);
    }

    /// Sends `value` with a slot held by the caller (a granted wait, with
    /// the lock still held).
    pub(super) fn push_locked(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        let (rx_waker, dropped) = state.push(value);
        drop(state);
        drop(dropped);
        wake(rx_waker);
    }

    /// Counts a slot as held by a permit (a granted wait, with the lock
    /// still held).
    pub(super) fn reserve_locked(&self, mut state: MutexGuard<'_, State<T>>) {
        state.reserved += 1;
    }

    /// Sends `value` with a permit's slot.
    pub(super) fn send_reserved(&self, value: T) {
        let mut state = self.lock();
        state.reserved -= 1;
        let (rx_waker, dropped) = state.push(value);
        drop(state);
        drop(dropped);
        wake(rx_waker);
    }

    /// A permit was dropped unused: its slot goes to the next waiting
    /// sender, and a closed channel whose last permit this was ends.
    pub(super) fn release_reserved(&self) {
        let mut state = self.lock();
        state.reserved -= 1;
        let next = self.grant_next(&mut state);
        let rx_waker = if state.buffer.is_empty() && state.is_disconnected() {
            state.rx_waker.take()
        } else {
            None
        };
        drop(state);
        wake(next);
        wake(rx_waker);
    }

    /// Takes up to `limit` of the oldest values into `out`, handing the
    /// slots they free to the waiting senders; returns the wakers of the
    /// senders it granted, to wake after unlocking.
    fn pop_into(&self, state: &mut State<T>, out: &mut Vec<T>, limit: usize) -> Vec<Waker> {
        let mut granted = Vec::new();
        for _ in 0..limit {
            let Some(value) = state.buffer.pop_front() else {
                break;
            };
            out.push(value);
            granted.extend(self.grant_next(state));
        }
        granted
    }

    /// Takes the oldest value, or registers the receiver's waker. A value
    /// (or the end) costs one unit of the cooperative budget; once it is
    /// spent the value stays in the channel and the task yields.
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        if let Some(value) = state.buffer.pop_front() {
            let granted = self.grant_next(&mut state);
            drop(state);
            wake(granted);
            return Poll::Ready(Some(value));
        }
        if state.is_disconnected() {
            return Poll::Ready(None);
        }
        let replaced = register(&mut state.rx_waker, cx.waker());
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }

    /// Takes up to `limit` values into `out` once at least one is there;
    /// `Ready(0)` at the end of the channel or for a `limit` of zero. The
    /// whole batch costs one unit of the cooperative budget.
    pub(super) fn poll_recv_many(
        &self,
        cx: &mut Context<'_>,
        out: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        if !state.buffer.is_empty() {
            let before = out.len();
            let granted = self.pop_into(&mut state, out, limit);
            drop(state);
            granted.into_iter().for_each(Waker::wake);
            return Poll::Ready(out.len() - before);
        }
        if state.is_disconnected() {
            return Poll::Ready(0);
        }
        let replaced = register(&mut state.rx_waker, cx.waker());
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }

    /// Takes the oldest value without waiting.
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        if let Some(value) = state.buffer.pop_front() {
            let granted = self.grant_next(&mut state);
            drop(state);
            wake(granted);
            return Ok(value);
        }
        if state.is_disconnected() {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Closes the receiving side; buffered values stay receivable.
    pub(super) fn close(&self) {
        let wakers = self.lock().close();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once the receiver was dropped or closed.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().rx_closed
    }

    /// Counts a new sender.
    pub(super) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// Counts a new sender made from a weak one, if any sender is still
    /// alive (otherwise the channel has ended for good).
    pub(super) fn upgrade(&self) -> bool {
        let mut state = self.lock();
        if state.senders == 0 {
            return false;
        }
        state.senders += 1;
        true
    }

    /// Counts a weak sender made or dropped.
    pub(super) fn add_weak(&self, added: bool) {
        let mut state = self.lock();
        if added {
            state.weak_senders += 1;
        } else {
            state.weak_senders -= 1;
        }
    }

    /// Live senders and weak senders.
    pub(super) fn sender_counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.senders, state.weak_senders)
    }

    /// Counts a sender gone; the last one wakes the receiver, which then
    /// sees the end of the channel.
    pub(super) fn drop_sender(&self) {
        let mut state = self.lock();
        state.senders -= 1;
        let rx_waker = if state.senders == 0 {
            state.rx_waker.take()
        } else {
            None
        };
        drop(state);
        wake(rx_waker);
    }

    /// The receiver is gone: closes the channel and drops what it held.
    pub(super) fn drop_receiver(&self) {
        let mut state = self.lock();
        let wakers = state.close();
        state.rx_dropped = true;
        let buffer = mem::take(&mut state.buffer);
        let rx_waker = state.rx_waker.take();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        // The values' `Drop` impls run only now, with the lock released.
        drop(buffer);
        drop(rx_waker);
    }

    /// Waits for a value; backs both receivers' `recv`.
    pub(super) fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: self,
            registered: false,
        }
    }

    /// Waits for values; backs both receivers' `recv_many`.
    pub(super) fn recv_many<'a>(&'a self, out: &'a mut Vec<T>, limit: usize) -> RecvMany<'a, T> {
        RecvMany {
            chan: self,
            out,
            limit,
            registered: false,
        }
    }

    /// Waits for the receiver to close; backs both senders' `closed`.
    pub(super) fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: self,
            waiter: None,
        }
    }
}

/// A sender's place in the line for a slot.
#[derive(Debug, Default)]
pub(super) struct SlotWait {
    /// Its id in `send_waiters` (or, once granted, in `granted`); `None`
    /// before it waits and after it completes.
    id: Option<u64>,
}

impl SlotWait {
    /// True while it waits in line (or holds a grant not yet used).
    pub(super) fn is_waiting(&self) -> bool {
        self.id.is_some()
    }
}

/// The future of `recv` on a [`Receiver`](super::Receiver) or
/// [`UnboundedReceiver`](super::UnboundedReceiver).
///
/// Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// Whether this future's waker may be in the receiver's slot.
    registered: bool,
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let poll = self.chan.poll_recv(cx);
        self.registered = poll.is_pending();
        poll
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            // The receiver is borrowed by this future, so the slot holds
            // this future's waker (or none).
            let waker = self.chan.lock().rx_waker.take();
            drop(waker);
        }
    }
}

/// The future of `recv_many` on either receiver.
pub(super) struct RecvMany<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// Where the values go.
    out: &'a mut Vec<T>,
    /// At most this many per call.
    limit: usize,
    /// Whether this future's waker may be in the receiver's slot.
    registered: bool,
}

impl<T> Future for RecvMany<'_, T> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        let poll = this.chan.poll_recv_many(cx, this.out, this.limit);
        this.registered = poll.is_pending();
        poll
    }
}

impl<T> Drop for RecvMany<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            let waker = self.chan.lock().rx_waker.take();
            drop(waker);
        }
    }
}

/// The future of `closed` on a [`Sender`](super::Sender) or
/// [`UnboundedSender`](super::UnboundedSender).
///
/// Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// This future's id in `closed_waiters`, once it waits.
    waiter: Option<u64>,
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("waiting", &self.waiter.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        ready!(coop::poll_proceed(cx));
        let mut state = this.chan.lock();
        if state.rx_closed {
            // `close` already removed this future's entry.
            this.waiter = None;
            return Poll::Ready(());
        }
        let replaced = match this.waiter.and_then(|id| state.closed_waiters.get_mut(&id)) {
            Some(stored) => update(stored, cx.waker()),
            None => {
                let id = state.next_id();
                state.closed_waiters.insert(id, cx.waker().clone());
                this.waiter = Some(id);
                None
            }
        };
        drop(state);
        drop(replaced);
        coop::refund();
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter.take() {
            let removed = self.chan.lock().closed_waiters.remove(&id);
            drop(removed);
        }
    }
}

#[cfg(all(test, not(loom)))]
impl<T> Chan<T> {
    /// Senders waiting in line, for the unit tests.
    pub(super) fn waiting_senders(&self) -> usize {
        self.lock().send_waiters.len()
    }
}
