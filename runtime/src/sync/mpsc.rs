//! Multi-producer, single-consumer channels: the bounded [`channel`] and
//! the [`unbounded_channel`].
//!
//! Senders can be cloned and moved to other threads (when `T: Send`); the
//! one receiver takes values in the order they were sent. A receiver sees
//! `None` once every sender is gone and the buffer is empty; a sender
//! learns that the receiver is gone from a failed send, from
//! [`is_closed`](Sender::is_closed), or by awaiting
//! [`closed`](Sender::closed).
//!
//! # Back-pressure
//!
//! A bounded channel holds at most `capacity` values. When it is full,
//! [`Sender::send`] waits, [`Sender::try_send`] fails with
//! [`TrySendError::Full`], and [`Sender::blocking_send`] parks its thread.
//! Waiting senders are served first come, first served: each value received
//! frees one slot, which is handed straight to the longest-waiting sender
//! (it is *granted* the slot), so a newcomer cannot take it. A waiting send
//! that is dropped after being granted a slot passes it to the next one.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::mpsc;
//!
//! runtime::block_on(async {
//!     let (tx, mut rx) = mpsc::channel(8);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         runtime::spawn(async move {
//!             tx.send(id).await.unwrap();
//!         });
//!     }
//!     drop(tx); // so that `recv` ends once the tasks are done
//!     let mut got = Vec::new();
//!     while let Some(id) = rx.recv().await {
//!         got.push(id);
//!     }
//!     got.sort();
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};

use futures_core::Stream;

use crate::coop;

use super::{assert_blocking_allowed, block_on_thread, lock, register, update, wake};

pub use error::{SendError, TryRecvError, TrySendError};

/// The panic message of `channel(0)`.
const ZERO_CAPACITY: &str = "mpsc::channel needs a capacity greater than zero: \
     a channel with no room could never accept a value (use a capacity of 1 for a rendezvous)";

/// The panic message of a [`Send`] future polled after it completed.
const POLLED_AFTER_COMPLETION: &str = "mpsc send future polled again after it completed";

/// Errors of the mpsc channels.
pub mod error {
    use std::fmt;

    /// The error of a send on a closed channel: the receiver was dropped or
    /// closed. It gives the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::unbounded_channel();
    /// drop(rx);
    /// let err = tx.send("lost").unwrap_err();
    /// assert_eq!(err.to_string(), "channel closed");
    /// assert_eq!(err.0, "lost");
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

    /// The error of [`Sender::try_send`](super::Sender::try_send). It gives
    /// the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum TrySendError<T> {
        /// The channel is full; the value may fit later.
        Full(T),
        /// The receiver was dropped or closed; no value will ever fit.
        Closed(T),
    }

    impl<T> TrySendError<T> {
        /// The value that was not sent.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::sync::mpsc;
        ///
        /// let (tx, _rx) = mpsc::channel(1);
        /// tx.try_send('a').unwrap();
        /// assert_eq!(tx.try_send('b').unwrap_err().into_inner(), 'b');
        /// ```
        pub fn into_inner(self) -> T {
            match self {
                TrySendError::Full(value) | TrySendError::Closed(value) => value,
            }
        }
    }

    impl<T> fmt::Debug for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TrySendError::Full(_) => f.write_str("Full(..)"),
                TrySendError::Closed(_) => f.write_str("Closed(..)"),
            }
        }
    }

    impl<T> fmt::Display for TrySendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TrySendError::Full(_) => f.write_str("no available capacity"),
                TrySendError::Closed(_) => f.write_str("channel closed"),
            }
        }
    }

    impl<T> std::error::Error for TrySendError<T> {}

    impl<T> From<SendError<T>> for TrySendError<T> {
        fn from(e: SendError<T>) -> TrySendError<T> {
            TrySendError::Closed(e.0)
        }
    }

    /// The error of `try_recv` on a [`Receiver`](super::Receiver) or
    /// [`UnboundedReceiver`](super::UnboundedReceiver).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value is buffered, but senders remain.
        Empty,
        /// No value is buffered, and none will come: every sender is gone,
        /// or the receiver was closed.
        Disconnected,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("receiving on an empty channel"),
                TryRecvError::Disconnected => f.write_str("receiving on a closed channel"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

/// Creates a bounded channel that buffers at most `capacity` values.
///
/// # Panics
///
/// If `capacity` is zero.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
///     assert!(tx.try_send(3).is_err()); // full
///     assert_eq!(rx.recv().await, Some(1));
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "{}", ZERO_CAPACITY);
    let chan = Chan::new(Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates a channel with no limit on the values it buffers: sending never
/// waits.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     let mut n = 0;
///     while rx.recv().await.is_some() {
///         n += 1;
///     }
///     assert_eq!(n, 1000);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(None);
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// What the senders and the receiver share.
struct Chan<T> {
    /// Everything, behind one lock.
    state: Mutex<State<T>>,
}

/// The channel's state.
///
/// # Invariant
///
/// While senders wait in `send_waiters`, the channel has no free slot:
/// every slot that frees up is granted to the first waiter at once.
/// So a sender without a grant may push exactly when [`State::has_room`].
struct State<T> {
    /// Values sent and not yet received, oldest first.
    buffer: VecDeque<T>,
    /// The bound; `None` for an unbounded channel.
    capacity: Option<usize>,
    /// Live senders (clones included).
    senders: usize,
    /// True once the receiver was dropped or closed: sends fail.
    rx_closed: bool,
    /// The receiving task, waiting for a value or for the last sender to go.
    rx_waker: Option<Waker>,
    /// Senders waiting for a slot, in arrival order (ids increase).
    send_waiters: BTreeMap<u64, Waker>,
    /// Waiting senders that were granted a slot and have not used it yet.
    /// Each granted id holds one slot: `buffer.len() + granted.len()` never
    /// exceeds the capacity.
    granted: BTreeSet<u64>,
    /// Tasks awaiting [`Sender::closed`].
    closed_waiters: BTreeMap<u64, Waker>,
    /// The id of the next waiter of either kind.
    next_id: u64,
}

impl<T> State<T> {
    /// True if a sender without a grant may push a value now.
    fn has_room(&self) -> bool {
        match self.capacity {
            None => true,
            Some(capacity) => self.buffer.len() + self.granted.len() < capacity,
        }
    }

    /// A fresh waiter id.
    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Buffers `value`; returns the receiver's waker, to wake after
    /// unlocking.
    fn push(&mut self, value: T) -> Option<Waker> {
        self.buffer.push_back(value);
        self.rx_waker.take()
    }

    /// Takes the oldest value, handing the slot it frees to the first
    /// waiting sender. Returns that sender's waker with the value.
    fn pop(&mut self) -> Option<(T, Option<Waker>)> {
        let value = self.buffer.pop_front()?;
        Some((value, self.grant_next()))
    }

    /// Grants a free slot, if any, to the first waiting sender; returns its
    /// waker, to wake after unlocking.
    fn grant_next(&mut self) -> Option<Waker> {
        if !self.has_room() {
            return None;
        }
        let (id, waker) = self.send_waiters.pop_first()?;
        self.granted.insert(id);
        Some(waker)
    }

    /// True if no value can arrive any more.
    fn is_disconnected(&self) -> bool {
        self.senders == 0 || self.rx_closed
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
    /// A channel with one sender.
    fn new(capacity: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            state: Mutex::new(State {
                buffer: VecDeque::new(),
                capacity,
                senders: 1,
                rx_closed: false,
                rx_waker: None,
                send_waiters: BTreeMap::new(),
                granted: BTreeSet::new(),
                closed_waiters: BTreeMap::new(),
                next_id: 0,
            }),
        })
    }

    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// Buffers `value` if there is a free slot, without waiting.
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = self.lock();
        if state.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if !state.has_room() {
            return Err(TrySendError::Full(value));
        }
        let rx_waker = state.push(value);
        drop(state);
        wake(rx_waker);
        Ok(())
    }

    /// Takes the oldest value, or registers the receiver's waker. A value
    /// (or the end) costs one unit of the cooperative budget; once it is
    /// spent the value stays in the channel and the task yields.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        ready!(coop::poll_proceed(cx));
        let mut state = self.lock();
        if let Some((value, granted)) = state.pop() {
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

    /// Takes the oldest value without waiting.
    fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        if let Some((value, granted)) = state.pop() {
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
    fn close(&self) {
        let wakers = self.lock().close();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once the receiver was dropped or closed.
    fn is_closed(&self) -> bool {
        self.lock().rx_closed
    }

    /// Counts a new sender.
    fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// Counts a sender gone; the last one wakes the receiver, which then
    /// sees the end of the channel.
    fn drop_sender(&self) {
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
    fn drop_receiver(&self) {
        let mut state = self.lock();
        let wakers = state.close();
        let buffer = mem::take(&mut state.buffer);
        let rx_waker = state.rx_waker.take();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        // The values' `Drop` impls run only now, with the lock released.
        drop(buffer);
        drop(rx_waker);
    }

    /// Waits for a value; backs both receivers' `recv`.
    fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: self,
            registered: false,
        }
    }

    /// Waits for the receiver to close; backs both senders' `closed`.
    fn closed(&self) -> Closed<'_, T> {
        Closed {
            chan: self,
            waiter: None,
        }
    }
}

/// Sends values into a bounded channel; created by [`channel`].
///
/// Clone it for more producers; it may be moved to another thread when
/// `T: Send`. The channel ends, from the receiver's view, when every clone
/// is dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(16);
/// let producers: Vec<_> = (0..2)
///     .map(|id| {
///         let tx = tx.clone();
///         std::thread::spawn(move || tx.blocking_send(id).unwrap())
///     })
///     .collect();
/// drop(tx);
/// let total = runtime::block_on(async {
///     let mut total = 0;
///     while let Some(id) = rx.recv().await {
///         total += id;
///     }
///     total
/// });
/// assert_eq!(total, 1);
/// for p in producers {
///     p.join().unwrap();
/// }
/// ```
pub struct Sender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Waiting senders get freed slots in the order they started waiting.
    /// Dropping the returned future withdraws the send (the value is
    /// dropped with it).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is dropped or closed,
    /// before or while waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     tx.send("first").await.unwrap();
    ///     let waiting = runtime::spawn(async move { tx.send("second").await });
    ///     assert_eq!(rx.recv().await, Some("first"));
    ///     assert_eq!(rx.recv().await, Some("second"));
    ///     waiting.await.unwrap().unwrap();
    /// });
    /// ```
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            waiter: None,
        }
    }

    /// Sends `value` if the channel has a free slot, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the channel is full (or its free slots are
    /// promised to senders already waiting); [`TrySendError::Closed`] if
    /// the receiver was dropped or closed. Both give the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(tx.try_send(2), Ok(()));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Sends `value` from a plain thread, blocking the thread while the
    /// channel is full. This is how a `std::thread` feeds a task.
    ///
    /// It must not be called on a thread that is running a runtime: that
    /// thread would stop driving the tasks, including, perhaps, the very
    /// receiver it waits for.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is dropped or closed.
    ///
    /// # Panics
    ///
    /// If called inside [`block_on`](crate::block_on) (in a task or in the
    /// future given to it).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     for i in 0..5 {
    ///         tx.blocking_send(i).unwrap(); // waits for the task to receive
    ///     }
    /// });
    /// let got = runtime::block_on(async {
    ///     let mut got = Vec::new();
    ///     while let Some(i) = rx.recv().await {
    ///         got.push(i);
    ///     }
    ///     got
    /// });
    /// assert_eq!(got, [0, 1, 2, 3, 4]);
    /// producer.join().unwrap();
    /// ```
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        assert_blocking_allowed();
        // The common case needs no waker: there is room.
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
            Err(TrySendError::Full(value)) => block_on_thread(self.send(value)),
        }
    }

    /// True once the receiver was dropped or closed, so that sends fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel::<u8>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel::<u8>(1);
    ///     runtime::spawn(async move { rx.close() });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).await.is_err());
    /// });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        self.chan.closed()
    }
}

/// Sends values into an unbounded channel; created by
/// [`unbounded_channel`].
///
/// Sending never waits, so [`send`](UnboundedSender::send) is a plain
/// method that works on any thread. Clone it for more producers.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// std::thread::spawn(move || tx.send("from a thread").unwrap())
///     .join()
///     .unwrap();
/// assert_eq!(runtime::block_on(rx.recv()), Some("from a thread"));
/// ```
pub struct UnboundedSender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value`; never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// True once the receiver was dropped or closed, so that sends fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, rx) = mpsc::unbounded_channel::<u8>();
    ///     runtime::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        self.chan.closed()
    }
}

/// Receives the values of a bounded channel; created by [`channel`].
///
/// It is also a [`Stream`] of the values, which ends when the channel does.
/// Dropping it closes the channel: sends fail from then on, and the values
/// still buffered are dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::channel(4);
///     runtime::spawn(async move {
///         for word in ["a", "b"] {
///             tx.send(word).await.unwrap();
///         }
///     });
///     assert_eq!(rx.recv().await, Some("a"));
///     assert_eq!(rx.recv().await, Some("b"));
///     assert_eq!(rx.recv().await, None); // the sender is gone
/// });
/// ```
pub struct Receiver<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> Receiver<T> {
    /// Waits for the next value. Gives `None` once the buffer is empty and
    /// every sender is gone (or the receiver was closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     runtime::spawn(async move { tx.send(5).await.unwrap() });
    ///     assert_eq!(rx.recv().await, Some(5));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        self.chan.recv()
    }

    /// Polls for the next value; `Ready(None)` when the channel has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     tx.try_send(1).unwrap();
    ///     let got = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
    ///     assert_eq!(got, Some(1));
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Takes the next value without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no value is buffered but senders remain;
    /// [`TryRecvError::Disconnected`] if no value is buffered and none can
    /// come.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Waits for the next value on a plain thread, blocking it.
    ///
    /// It must not be called on a thread that is running a runtime: that
    /// thread would stop driving the tasks, including, perhaps, the senders
    /// it waits for.
    ///
    /// # Panics
    ///
    /// If called inside [`block_on`](crate::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let consumer = std::thread::spawn(move || rx.blocking_recv());
    /// runtime::block_on(async move { tx.send(3).await.unwrap() });
    /// assert_eq!(consumer.join().unwrap(), Some(3));
    /// ```
    pub fn blocking_recv(&mut self) -> Option<T> {
        block_on_thread(self.recv())
    }

    /// Closes the channel without dropping the receiver: sends fail from
    /// now on, waiting senders are woken with an error, and the values
    /// already buffered can still be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(2);
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Receives the values of an unbounded channel; created by
/// [`unbounded_channel`].
///
/// It is also a [`Stream`] of the values, which ends when the channel does.
/// Dropping it closes the channel: sends fail from then on, and the values
/// still buffered are dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     tx.send(1).unwrap();
///     drop(tx);
///     assert_eq!(rx.recv().await, Some(1));
///     assert_eq!(rx.recv().await, None);
/// });
/// ```
pub struct UnboundedReceiver<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").finish_non_exhaustive()
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> UnboundedReceiver<T> {
    /// Waits for the next value. Gives `None` once the buffer is empty and
    /// every sender is gone (or the receiver was closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     runtime::spawn(async move { tx.send(5).unwrap() });
    ///     assert_eq!(rx.recv().await, Some(5));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        self.chan.recv()
    }

    /// Polls for the next value; `Ready(None)` when the channel has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     tx.send(1).unwrap();
    ///     let got = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
    ///     assert_eq!(got, Some(1));
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Takes the next value without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no value is buffered but senders remain;
    /// [`TryRecvError::Disconnected`] if no value is buffered and none can
    /// come.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Waits for the next value on a plain thread, blocking it.
    ///
    /// It must not be called on a thread that is running a runtime: that
    /// thread would stop driving the tasks, including, perhaps, the senders
    /// it waits for.
    ///
    /// # Panics
    ///
    /// If called inside [`block_on`](crate::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel();
    /// let consumer = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(3).unwrap();
    /// assert_eq!(consumer.join().unwrap(), Some(3));
    /// ```
    pub fn blocking_recv(&mut self) -> Option<T> {
        block_on_thread(self.recv())
    }

    /// Closes the channel without dropping the receiver: sends fail from
    /// now on, and the values already buffered can still be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

/// The future of [`Sender::send`].
///
/// Dropping it withdraws the send: its waker is removed, and a slot it had
/// been granted passes to the next waiting sender.
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value to send; `None` once sent or returned.
    value: Option<T>,
    /// This send's id in `send_waiters` (or, once granted a slot, in
    /// `granted`); `None` before it waits and after it completes.
    waiter: Option<u64>,
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.waiter.is_some())
            .finish_non_exhaustive()
    }
}

// The value is never pinned: it is moved into the buffer.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(this.value.is_some(), "{}", POLLED_AFTER_COMPLETION);
        // A send that completes costs one unit of the cooperative budget;
        // once it is spent, the value stays here and the task yields.
        ready!(coop::poll_proceed(cx));
        let value = this.value.take().expect(POLLED_AFTER_COMPLETION);
        let mut state = this.chan.lock();

        // 1. A closed channel: `close` already dropped every waiter entry
        //    and grant, this send's included.
        if state.rx_closed {
            this.waiter = None;
            drop(state);
            return Poll::Ready(Err(SendError(value)));
        }

        // 2. A slot granted by a receive, or (for a send not yet waiting) a
        //    free slot: push.
        let granted = this.waiter.is_some_and(|id| state.granted.remove(&id));
        if granted || state.has_room() {
            // Only if the invariant on `State` were broken could a waiting
            // send find room without a grant; it then leaves the queue.
            let withdrawn = match this.waiter.take() {
                Some(id) if !granted => state.send_waiters.remove(&id),
                _ => None,
            };
            let rx_waker = state.push(value);
            drop(state);
            drop(withdrawn);
            wake(rx_waker);
            return Poll::Ready(Ok(()));
        }

        // 3. Full: wait in line (or refresh the waker if already there).
        this.value = Some(value);
        let replaced = match this.waiter.and_then(|id| state.send_waiters.get_mut(&id)) {
            Some(stored) => update(stored, cx.waker()),
            None => {
                let id = state.next_id();
                state.send_waiters.insert(id, cx.waker().clone());
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

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        let Some(id) = self.waiter.take() else {
            return;
        };
        let mut state = self.chan.lock();
        let removed = state.send_waiters.remove(&id);
        // Granted but never used: the slot goes to the next waiter.
        let next = if removed.is_none() && state.granted.remove(&id) {
            state.grant_next()
        } else {
            None
        };
        drop(state);
        drop(removed);
        wake(next);
        // `self.value` is dropped after this, with the lock released.
    }
}

/// The future of `recv` on a [`Receiver`] or [`UnboundedReceiver`].
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

/// The future of `closed` on a [`Sender`] or [`UnboundedSender`].
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

#[cfg(test)]
mod tests {
    use super::super::test_util::{poll_with, Counter};
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    #[should_panic(expected = "capacity greater than zero")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }

    #[test]
    fn waiting_senders_are_served_in_order() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut send_a = tx.send(1);
        let mut send_b = tx.send(2);
        assert!(poll_with(&mut send_a, &a).is_pending());
        assert!(poll_with(&mut send_b, &b).is_pending());

        // The freed slot goes to `a`, the first in line; a newcomer cannot
        // take it.
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
        assert!(poll_with(&mut send_b, &b).is_pending());
        assert_eq!(poll_with(&mut send_a, &a), Poll::Ready(Ok(())));

        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut send_b, &b), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn a_dropped_granted_send_passes_its_slot_on() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut send_a = tx.send(1);
        let mut send_b = tx.send(2);
        assert!(poll_with(&mut send_a, &a).is_pending());
        assert!(poll_with(&mut send_b, &b).is_pending());
        assert_eq!(rx.try_recv(), Ok(0)); // grants the slot to `a`
        drop(send_a);
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut send_b, &b), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn a_dropped_waiting_send_releases_its_waker() {
        let (tx, _rx) = channel(1);
        tx.try_send(0).unwrap();
        let a = Counter::new();
        let mut send = tx.send(1);
        assert!(poll_with(&mut send, &a).is_pending());
        assert_eq!(Arc::strong_count(&a), 2);
        drop(send);
        assert_eq!(Arc::strong_count(&a), 1);
        assert!(tx.chan.lock().send_waiters.is_empty());
    }

    #[test]
    fn a_dropped_recv_releases_its_waker() {
        let (_tx, mut rx) = channel::<u8>(1);
        let a = Counter::new();
        let mut recv = rx.recv();
        assert!(poll_with(&mut recv, &a).is_pending());
        assert_eq!(Arc::strong_count(&a), 2);
        drop(recv);
        assert_eq!(Arc::strong_count(&a), 1);
    }

    #[test]
    fn closing_fails_waiting_senders_and_wakes_closed() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (a, c) = (Counter::new(), Counter::new());
        let mut send = tx.send(1);
        let mut closed = tx.closed();
        assert!(poll_with(&mut send, &a).is_pending());
        assert!(poll_with(&mut closed, &c).is_pending());
        rx.close();
        assert_eq!((a.wakes(), c.wakes()), (1, 1));
        assert_eq!(poll_with(&mut send, &a), Poll::Ready(Err(SendError(1))));
        assert!(poll_with(&mut closed, &c).is_ready());
        // The buffered value is still there.
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn last_sender_dropped_wakes_the_receiver() {
        let (tx, mut rx) = unbounded_channel::<u8>();
        let tx2 = tx.clone();
        let a = Counter::new();
        let mut recv = rx.recv();
        assert!(poll_with(&mut recv, &a).is_pending());
        drop(tx);
        assert_eq!(a.wakes(), 0);
        drop(tx2);
        assert_eq!(a.wakes(), 1);
        assert_eq!(poll_with(&mut recv, &a), Poll::Ready(None));
    }

    /// A value whose `Drop` locks the channel it was sent on: it would
    /// deadlock if the channel dropped values while holding its lock.
    struct LocksOnDrop {
        /// A sender of the very channel the value travels in.
        tx: UnboundedSender<LocksOnDrop>,
        /// Counts drops.
        drops: Arc<AtomicUsize>,
    }

    impl Drop for LocksOnDrop {
        fn drop(&mut self) {
            let _ = self.tx.is_closed();
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn buffered_values_are_dropped_after_unlocking() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = unbounded_channel();
        for _ in 0..3 {
            let value = LocksOnDrop {
                tx: tx.clone(),
                drops: drops.clone(),
            };
            assert!(tx.send(value).is_ok());
        }
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn ends_are_send_and_sync() {
        fn assert_send_sync<X: std::marker::Send + Sync>() {}
        assert_send_sync::<Sender<String>>();
        assert_send_sync::<Receiver<String>>();
        assert_send_sync::<UnboundedSender<String>>();
        assert_send_sync::<UnboundedReceiver<String>>();
        assert_send_sync::<Send<'static, String>>();
    }

    #[test]
    fn errors_debug_without_t_debug() {
        struct Opaque;
        assert_eq!(format!("{:?}", SendError(Opaque)), "SendError { .. }");
        assert_eq!(format!("{:?}", TrySendError::Full(Opaque)), "Full(..)");
        assert_eq!(TrySendError::Closed(Opaque).to_string(), "channel closed");
    }
}
