//! A multi-producer, multi-consumer channel where every receiver sees every
//! value: [`channel`], [`Sender`], [`Receiver`].
//!
//! The channel is a bounded ring of the last `capacity` values. A send
//! never waits: it overwrites the oldest value. A receiver that falls more
//! than `capacity` values behind has missed some; its next `recv` says how
//! many with [`RecvError::Lagged`], and it goes on from the oldest value
//! still held. Receivers made by [`Sender::subscribe`] or
//! [`Receiver::resubscribe`] see only the values sent after they were made.
//!
//! Each receiver gets its own clone of every value (`T: Clone`); the last
//! receiver to read a value takes it without cloning, and a value is
//! dropped as soon as every receiver has read it, not only when it is
//! overwritten.
//!
//! Every type here is `Send + Sync` when `T: Send`: senders and receivers
//! may live on any thread and runtime.
//!
//! A receiver that has just read the newest value leaves its waker in the
//! channel at once, so that its next `recv` (usually right away, in a
//! loop) can wait without taking the lock: it only checks that nothing was
//! sent since. The price is that a receiver that stops receiving after
//! that, or whose `recv` future is dropped while it waits, is woken once by
//! the next send for nothing (tokio withdraws the waker instead).
//!
//! # Examples
//!
//! ```
//! use runtime::sync::broadcast;
//!
//! runtime::block_on(async {
//!     let (tx, mut rx1) = broadcast::channel(16);
//!     let mut rx2 = tx.subscribe();
//!     tx.send("hello").unwrap();
//!     assert_eq!(rx1.recv().await, Ok("hello"));
//!     assert_eq!(rx2.recv().await, Ok("hello"));
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{Arc, Mutex, MutexGuard};

use super::wait_list::WaitList;
use super::{block_on_thread, lock};

pub use error::{RecvError, SendError, TryRecvError};

/// The panic message of `channel(0)` or of a capacity too large to round
/// up to a power of two.
const BAD_CAPACITY: &str =
    "broadcast::channel needs a capacity greater than zero and at most usize::MAX / 2";

/// Errors of the broadcast channel.
pub mod error {
    use std::fmt;

    /// The error of [`Sender::send`](super::Sender::send): there is no
    /// receiver. It gives the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(1);
    /// drop(rx);
    /// let err = tx.send(7).unwrap_err();
    /// assert_eq!(err.0, 7);
    /// assert_eq!(err.to_string(), "channel closed");
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// The error of [`Receiver::recv`](super::Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::RecvError};
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = broadcast::channel(2);
    ///     for i in 0..5 {
    ///         tx.send(i).unwrap();
    ///     }
    ///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3)));
    ///     assert_eq!(rx.recv().await, Ok(3)); // the oldest still held
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Ok(4));
    ///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// });
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// The receiver fell behind and missed this many values; the next
        /// receive gives the oldest value still held.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No new value yet, but senders remain.
        Empty,
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// The receiver missed this many values.
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

/// Creates a broadcast channel that holds the last `capacity` values,
/// rounded up to a power of two.
///
/// # Panics
///
/// If `capacity` is zero or larger than `usize::MAX / 2`.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = broadcast::channel(4);
///     let task = runtime::spawn(async move { rx.recv().await });
///     runtime::task::yield_now().await;
///     tx.send(1).unwrap();
///     assert_eq!(task.await.unwrap(), Ok(1));
/// });
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0 && capacity <= usize::MAX >> 1,
        "{}",
        BAD_CAPACITY
    );
    let capacity = capacity.next_power_of_two();
    let mut waiters = WaitList::default();
    let slot = waiters.add();
    let shared = Arc::new(Shared {
        published: AtomicU64::new(0),
        state: Mutex::new(State {
            buffer: (0..capacity).map(|_| Slot::default()).collect(),
            mask: capacity as u64 - 1,
            tail: 0,
            senders: 1,
            receivers: 1,
            waiters,
        }),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    let receiver = Receiver {
        shared,
        next: 0,
        slot,
        armed: None,
    };
    (sender, receiver)
}

/// What the senders and receivers share.
struct Shared<T> {
    /// Grows with every send and when the last sender goes (`tail` times
    /// two, plus one once closed); written under the lock, read without it
    /// by a receiver that left its waker here (see [`Armed`]).
    published: AtomicU64,
    /// Everything, behind one lock.
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }
}

/// What `published` says of a channel whose tail is `tail`.
fn published(tail: u64, closed: bool) -> u64 {
    tail << 1 | u64::from(closed)
}

/// A receiver's waker left in the channel, and when: while `published`
/// still reads `at`, no send and no close has taken the waker, so a task
/// with the same waker can wait without the lock. (The waker stored keeps
/// its task's waker state alive, so no other waker can have the same
/// address meanwhile.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Armed {
    /// The waker's data pointer and vtable, as `Waker::will_wake` compares
    /// them.
    waker: (usize, usize),
    /// `published` when it was left.
    at: u64,
}

impl Armed {
    /// The identity `Waker::will_wake` compares.
    fn identity(waker: &Waker) -> (usize, usize) {
        (
            waker.data() as usize,
            std::ptr::from_ref(waker.vtable()) as usize,
        )
    }
}

/// The channel's state.
struct State<T> {
    /// The ring: position `p` lives at `p & mask`.
    buffer: Box<[Slot<T>]>,
    /// The ring's length minus one (the length is a power of two).
    mask: u64,
    /// The position the next value gets; the ring holds positions
    /// `tail - len .. tail` (those that exist).
    tail: u64,
    /// Live senders.
    senders: usize,
    /// Live receivers.
    receivers: usize,
    /// The receivers' wakers.
    waiters: WaitList,
}

/// One place in the ring.
struct Slot<T> {
    /// The position of the value here.
    pos: u64,
    /// Receivers that have yet to read it: when it reaches zero the value
    /// is taken out (by the last reader) or dropped.
    remaining: usize,
    /// The value; `None` once every receiver has read it.
    value: Option<T>,
}

impl<T> Default for Slot<T> {
    fn default() -> Slot<T> {
        Slot {
            pos: 0,
            remaining: 0,
            value: None,
        }
    }
}

/// Why a receive did not return a value.
enum Miss {
    /// Nothing new yet.
    Empty,
    /// No sender left and nothing new.
    Closed,
    /// Missed this many.
    Lagged(u64),
}

impl<T: Clone> State<T> {
    /// Takes the value at `*next` for a receiver, advancing it; the last
    /// reader takes the value itself, the others a clone.
    fn recv_at(&mut self, next: &mut u64) -> Result<T, Miss> {
        if *next == self.tail {
            return Err(if self.senders == 0 {
                Miss::Closed
            } else {
                Miss::Empty
            });
        }
        let oldest = self.oldest();
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(Miss::Lagged(missed));
        }
        let slot = &mut self.buffer[(*next & self.mask) as usize];
        debug_assert_eq!(slot.pos, *next);
        // Clone first: if `T::clone` panics, nothing has changed.
        let value = if slot.remaining > 1 {
            let value = slot.value.clone();
            slot.remaining -= 1;
            value
        } else {
            slot.remaining = 0;
            slot.value.take()
        };
        *next += 1;
        // Every receiver that can reach this position is counted in
        // `remaining`, so the value is still there.
        value.ok_or(Miss::Empty)
    }
}

impl<T> State<T> {
    /// The ring's length.
    fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// The oldest position the ring still holds.
    fn oldest(&self) -> u64 {
        self.tail.saturating_sub(self.capacity())
    }

    /// The values still held for some receiver. Receivers read in order and
    /// a value goes once its last reader passes it (or leaves), so the
    /// positions whose value is gone are a prefix of the ring's: a binary
    /// search finds where the held ones start.
    fn queued(&self) -> usize {
        let held = |pos: u64| self.buffer[(pos & self.mask) as usize].value.is_some();
        let (mut gone, mut end) = (self.oldest(), self.tail);
        while gone < end {
            let mid = gone + (end - gone) / 2;
            if held(mid) {
                end = mid;
            } else {
                gone = mid + 1;
            }
        }
        (self.tail - gone) as usize
    }

    /// A receiver at `next` is gone: it will not read the positions it had
    /// left, so those values no longer wait for it. Returns the values that
    /// no receiver waits for any more, to drop after unlocking.
    fn forget_reader(&mut self, next: u64) -> Vec<T> {
        let mut unread = Vec::new();
        let start = next.max(self.tail.saturating_sub(self.mask + 1));
        for pos in start..self.tail {
            let slot = &mut self.buffer[(pos & self.mask) as usize];
            slot.remaining = slot.remaining.saturating_sub(1);
            if slot.remaining == 0 {
                unread.extend(slot.value.take());
            }
        }
        unread
    }
}

/// Sends values to every receiver of a broadcast channel; created by
/// [`channel`]. Clone it for more producers.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(8);
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send(1).unwrap()).join().unwrap();
/// tx.send(2).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// ```
pub struct Sender<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakers = Vec::new();
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            // The receivers waiting now see the end.
            let closed = published(state.tail, true);
            self.shared.published.store(closed, Ordering::Release);
            state.waiters.take_all(&mut wakers);
        }
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> Sender<T> {
    /// Sends `value` to every receiver alive now, overwriting the oldest
    /// value if the ring is full; never waits. Returns how many receivers
    /// it was sent to.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel(2);
    /// let _rx2 = tx.subscribe();
    /// assert_eq!(tx.send("x").unwrap(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut wakers = Vec::new();
        let mut state = self.shared.lock();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let receivers = state.receivers;
        let tail = state.tail;
        let index = (tail & state.mask) as usize;
        let slot = &mut state.buffer[index];
        let overwritten = slot.value.replace(value);
        slot.pos = tail;
        slot.remaining = receivers;
        state.tail += 1;
        let sent = published(state.tail, false);
        self.shared.published.store(sent, Ordering::Release);
        if !state.waiters.is_empty() {
            state.waiters.take_all(&mut wakers);
        }
        drop(state);
        // A value nobody read is dropped only now, with the lock released.
        drop(overwritten);
        wakers.into_iter().for_each(Waker::wake);
        Ok(receivers)
    }

    /// A new receiver, which will see the values sent from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(2);
    /// drop(rx);
    /// let mut rx = tx.subscribe(); // there is a receiver again
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver::new(self.shared.clone())
    }

    /// How many receivers are alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<()>(1);
    /// assert_eq!(tx.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// How many values are queued: sent, not yet read by every receiver
    /// that was alive when they were sent, and not overwritten since.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx.try_recv().unwrap();
    /// assert_eq!(tx.len(), 2, "rx2 has read nothing yet");
    /// rx2.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().queued()
    }

    /// True if no value is queued (see [`len`](Sender::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::broadcast::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Receives every value sent on a broadcast channel; created by
/// [`channel`], [`Sender::subscribe`] or [`Receiver::resubscribe`].
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = broadcast::channel(4);
///     tx.send(1).unwrap();
///     tx.send(2).unwrap();
///     drop(tx);
///     let mut got = Vec::new();
///     while let Ok(v) = rx.recv().await {
///         got.push(v);
///     }
///     assert_eq!(got, [1, 2]);
/// });
/// ```
pub struct Receiver<T> {
    /// The shared channel.
    shared: Arc<Shared<T>>,
    /// The position of the next value to read.
    next: u64,
    /// This receiver's slot in the wait list.
    slot: usize,
    /// Its waker, if it left it in its slot after reading the newest value.
    armed: Option<Armed>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// A receiver at the channel's tail.
    fn new(shared: Arc<Shared<T>>) -> Receiver<T> {
        let mut state = shared.lock();
        state.receivers += 1;
        let slot = state.waiters.add();
        let next = state.tail;
        drop(state);
        Receiver {
            shared,
            next,
            slot,
            armed: None,
        }
    }

    /// A new receiver at the channel's tail: it sees only the values sent
    /// from now on, not those this one has yet to read.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut fresh = rx.resubscribe();
    /// assert_eq!(fresh.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(2).unwrap();
    /// assert_eq!(fresh.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        Receiver::new(self.shared.clone())
    }

    /// How many values this receiver has yet to read (at most the ring's
    /// capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        let state = self.shared.lock();
        let start = self.next.max(state.tail.saturating_sub(state.mask + 1));
        (state.tail - start) as usize
    }

    /// True if this receiver has read every value sent so far.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = runtime::sync::broadcast::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next value.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] if this receiver fell more than the capacity
    /// behind (it then goes on from the oldest value held);
    /// [`RecvError::Closed`] once every sender is gone and every value was
    /// read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is taken only in the poll that returns it, so
    /// dropping the future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = broadcast::channel(1);
    ///     std::thread::spawn(move || tx.send(5).unwrap());
    ///     assert_eq!(rx.recv().await, Ok(5));
    /// });
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        Recv { receiver: self }.await
    }

    /// Takes the next value without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if there is nothing new;
    /// [`TryRecvError::Lagged`] and [`TryRecvError::Closed`] as for
    /// [`recv`](Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// tx.send('a').unwrap();
    /// assert_eq!(rx.try_recv(), Ok('a'));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let result = self.shared.lock().recv_at(&mut self.next);
        result.map_err(|miss| match miss {
            Miss::Empty => TryRecvError::Empty,
            Miss::Closed => TryRecvError::Closed,
            Miss::Lagged(n) => TryRecvError::Lagged(n),
        })
    }

    /// Waits for the next value on a plain thread, blocking it.
    ///
    /// # Errors
    ///
    /// As [`recv`](Receiver::recv).
    ///
    /// # Panics
    ///
    /// On a thread that is running a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(1);
    /// let thread = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(1).unwrap(); // buffered until the thread reads it
    /// assert_eq!(thread.join().unwrap(), Ok(1));
    /// ```
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        block_on_thread(self.recv())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receivers -= 1;
        let waker = state.waiters.remove(self.slot);
        let unread = state.forget_reader(self.next);
        drop(state);
        drop(waker);
        drop(unread);
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    /// The receiver.
    receiver: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A value (or the end) costs one unit of the cooperative budget.
        ready!(coop::poll_proceed(cx));
        let receiver = &mut *self.get_mut().receiver;
        if let Some(armed) = receiver.armed {
            // Our waker is in the channel; if nothing was sent or closed
            // since, it is still there and nothing is new: wait. A send that
            // this load misses wakes us after it, so we look again then.
            if armed.waker == Armed::identity(cx.waker())
                && receiver.shared.published.load(Ordering::Acquire) == armed.at
            {
                coop::refund();
                return Poll::Pending;
            }
        }
        let mut state = receiver.shared.lock();
        let result = match state.recv_at(&mut receiver.next) {
            Ok(value) => Ok(value),
            Err(Miss::Closed) => Err(RecvError::Closed),
            Err(Miss::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(Miss::Empty) => {
                let replaced = state.arm(receiver.slot, cx.waker(), &mut receiver.armed);
                drop(state);
                drop(replaced);
                coop::refund();
                return Poll::Pending;
            }
        };
        // The newest value, read: leave the waker now, so that the next
        // `recv` can wait without the lock (unless the channel is closed:
        // that `recv` must see the end).
        let replaced = match &result {
            Ok(_) if receiver.next == state.tail && state.senders > 0 => {
                state.arm(receiver.slot, cx.waker(), &mut receiver.armed)
            }
            _ => None,
        };
        drop(state);
        drop(replaced);
        Poll::Ready(result)
    }
}

impl<T> State<T> {
    /// Leaves `waker` in a receiver's `slot` and notes it in its `armed`;
    /// returns the waker it replaced, to drop after unlocking.
    fn arm(&mut self, slot: usize, waker: &Waker, armed: &mut Option<Armed>) -> Option<Waker> {
        *armed = Some(Armed {
            waker: Armed::identity(waker),
            at: published(self.tail, self.senders == 0),
        });
        self.waiters.register(slot, waker)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts drops.
    #[derive(Clone)]
    struct Counted(std::sync::Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_value_read_by_every_receiver_is_dropped_at_once() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, mut a) = channel(4);
        let mut b = tx.subscribe();
        tx.send(Counted(drops.clone())).unwrap();
        drop(a.try_recv().unwrap());
        assert_eq!(drops.load(Ordering::SeqCst), 1); // a's clone
        drop(b.try_recv().unwrap());
        // b took the value itself: nothing is left in the ring.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(tx.shared.lock().buffer.iter().all(|s| s.value.is_none()));
    }

    #[test]
    fn a_dropped_receiver_no_longer_holds_values_back() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, mut a) = channel(4);
        let b = tx.subscribe();
        tx.send(Counted(drops.clone())).unwrap();
        drop(a.try_recv().unwrap());
        drop(b);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn capacity_is_rounded_up_to_a_power_of_two() {
        let (tx, _rx) = channel::<u8>(3);
        assert_eq!(tx.shared.lock().capacity(), 4);
    }

    #[test]
    #[should_panic(expected = "capacity greater than zero")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }

    /// A waker that counts its wakes.
    struct CountingWaker(AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waker and its counter.
    fn counting_waker() -> (Waker, std::sync::Arc<CountingWaker>) {
        let counter = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        (Waker::from(counter.clone()), counter)
    }

    /// Polls a fresh `recv` of `rx` once with `waker`.
    fn poll_recv(rx: &mut Receiver<u32>, waker: &Waker) -> Poll<Result<u32, RecvError>> {
        let mut recv = std::pin::pin!(rx.recv());
        recv.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_receiver_that_read_the_newest_value_is_woken_by_the_next_send() {
        let (tx, mut rx) = channel(4);
        let (waker, wakes) = counting_waker();
        tx.send(1).unwrap();
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(1)));
        // Waits without the lock, its waker left in the channel.
        assert!(rx.armed.is_some());
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Pending);
        tx.send(2).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(2)));
    }

    #[test]
    fn another_task_polling_an_armed_receiver_is_the_one_woken() {
        let (tx, mut rx) = channel(4);
        let (first, first_wakes) = counting_waker();
        let (second, second_wakes) = counting_waker();
        tx.send(1).unwrap();
        assert_eq!(poll_recv(&mut rx, &first), Poll::Ready(Ok(1)));
        // Another waker: the receiver takes the lock and registers it.
        assert_eq!(poll_recv(&mut rx, &second), Poll::Pending);
        tx.send(2).unwrap();
        assert_eq!(second_wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(first_wakes.0.load(Ordering::SeqCst), 0);
        assert_eq!(poll_recv(&mut rx, &second), Poll::Ready(Ok(2)));
    }

    #[test]
    fn an_armed_receiver_sees_the_last_sender_go() {
        let (tx, mut rx) = channel(4);
        let (waker, wakes) = counting_waker();
        tx.send(1).unwrap();
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(1)));
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Pending);
        drop(tx);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll_recv(&mut rx, &waker),
            Poll::Ready(Err(RecvError::Closed))
        );
    }

    #[test]
    fn the_last_value_after_the_senders_left_is_followed_by_the_end() {
        let (tx, mut rx) = channel(4);
        let (waker, _wakes) = counting_waker();
        tx.send(1).unwrap();
        drop(tx);
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(1)));
        assert_eq!(
            poll_recv(&mut rx, &waker),
            Poll::Ready(Err(RecvError::Closed))
        );
    }

    #[test]
    fn try_recv_after_arming_does_not_hide_a_later_send() {
        let (tx, mut rx) = channel(4);
        let (waker, wakes) = counting_waker();
        tx.send(1).unwrap();
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(1)));
        tx.send(2).unwrap(); // takes the armed waker
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(rx.try_recv(), Ok(2));
        // Nothing new: this poll must register again, not trust the old arm.
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Pending);
        tx.send(3).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert_eq!(poll_recv(&mut rx, &waker), Poll::Ready(Ok(3)));
    }

    #[test]
    fn the_senders_len_counts_what_some_receiver_still_waits_for() {
        let (tx, mut slow) = channel::<u32>(4);
        assert_eq!((tx.len(), tx.is_empty()), (0, true));
        for value in 0..3 {
            tx.send(value).unwrap();
        }
        // A late subscriber waits for nothing sent before it.
        let mut late = tx.subscribe();
        tx.send(3).unwrap();
        assert_eq!(tx.len(), 4);
        assert_eq!(late.try_recv(), Ok(3));
        assert_eq!(tx.len(), 4, "slow has read nothing");
        assert_eq!(slow.try_recv(), Ok(0));
        assert_eq!(slow.try_recv(), Ok(1));
        assert_eq!(tx.len(), 2);
        // Overwritten values are not queued: the ring holds four.
        for value in 4..10 {
            tx.send(value).unwrap();
        }
        assert_eq!(tx.len(), 4);
        // The only receivers left read everything, or leave.
        drop(slow);
        assert_eq!(tx.len(), 4, "late has not read 6..10");
        assert_eq!(late.try_recv(), Err(TryRecvError::Lagged(2)));
        for value in 6..10 {
            assert_eq!(late.try_recv(), Ok(value));
        }
        assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
        assert_eq!((tx.len(), tx.is_empty()), (0, true));
    }

    #[test]
    fn ends_are_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Sender<String>>();
        assert_send_sync::<Receiver<String>>();
    }
}
