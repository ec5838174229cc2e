//! The bounded channel's ends: [`Sender`], [`Receiver`], [`WeakSender`],
//! and the [`Permit`] that [`Sender::reserve`] hands out.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::loom::Arc;

use super::super::{assert_blocking_allowed, block_on_thread};
use super::chan::{Chan, Closed, Recv, SlotWait};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};

/// The panic message of a [`Send`] future polled after it completed.
const POLLED_AFTER_COMPLETION: &str = "mpsc send future polled again after it completed";

/// Sends values into a bounded channel; created by
/// [`channel`](super::channel).
///
/// Clone it for more producers; it may be moved to another thread when
/// `T: Send`. The channel ends, from the receiver's view, when every clone
/// is dropped ([`WeakSender`]s do not count).
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
    pub(super) chan: Arc<Chan<T>>,
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
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver is dropped or closed,
    /// before or while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the sense that matters for a queue: dropping the
    /// future withdraws the send, and a slot already granted to it passes
    /// to the next waiting sender. The value, which the future owns, is
    /// dropped with it; to keep it, use [`reserve`](Sender::reserve) and
    /// send only once the permit is there.
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
            wait: SlotWait::default(),
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

    /// Sends `value`, waiting at most `timeout` for a free slot.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if the channel stayed full;
    /// [`SendTimeoutError::Closed`] if the receiver is dropped or closed.
    /// Both give the value back.
    ///
    /// # Panics
    ///
    /// Outside a runtime (the timeout needs its timer).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Sender::send): dropping the future withdraws the send.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     tx.send_timeout(1, Duration::from_secs(1)).await.unwrap();
    ///     assert!(tx.send_timeout(2, Duration::from_millis(5)).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    /// });
    /// ```
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match crate::time::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(_)) => Err(SendTimeoutError::Closed(value)),
            Err(_) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Waits for a free slot and holds it as a [`Permit`], to send into
    /// later without waiting (or to give back by dropping the permit).
    ///
    /// This is how to send a value without risking it: the value need not
    /// exist until the slot does, so a cancelled wait loses nothing.
    ///
    /// # Errors
    ///
    /// [`SendError`] if the receiver is dropped or closed, before or while
    /// waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in line, and a
    /// slot already granted to it passes to the next waiting sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert!(tx.try_send(0).is_err()); // the only slot is held
    ///     permit.send(42);
    ///     assert_eq!(rx.recv().await, Some(42));
    /// });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        Reserve {
            chan: &self.chan,
            wait: SlotWait::default(),
        }
        .await
        .map(|()| Permit { chan: &self.chan })
    }

    /// Takes a free slot as a [`Permit`] without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if no slot is free (or the free ones are
    /// promised to waiting senders); [`TrySendError::Closed`] if the
    /// receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert!(tx.try_reserve().is_err());
    /// permit.send('x');
    /// assert_eq!(rx.try_recv(), Ok('x'));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.chan.try_reserve()?;
        Ok(Permit { chan: &self.chan })
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
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only withdraws its waker.
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

    /// Free slots right now: the bound less the values buffered and the
    /// slots held by permits or promised to waiting senders.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel(3);
    /// tx.try_send(1).unwrap();
    /// let _permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The channel's bound, as given to [`channel`](super::channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(3);
    /// assert_eq!(tx.max_capacity(), 3);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }

    /// A [`WeakSender`]: it does not keep the channel open, and can be
    /// turned back into a sender while some sender is alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.add_weak(true);
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// True if both senders feed the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let (other, _rx2) = runtime::sync::mpsc::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// Live senders of this channel (this one and its clones).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.strong_count(), 2);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.sender_counts().0
    }

    /// Live weak senders of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let _weak = tx.downgrade();
    /// assert_eq!(tx.weak_count(), 1);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.sender_counts().1
    }
}

/// A sender that does not keep its channel open; made by
/// [`Sender::downgrade`]. [`upgrade`](WeakSender::upgrade) it to send.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     let weak = tx.downgrade();
///     drop(tx);
///     assert_eq!(rx.recv().await, None::<u8>); // the weak one does not count
///     assert!(weak.upgrade().is_none());
/// });
/// ```
pub struct WeakSender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A sender again, if some sender is still alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel(1);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().try_send(1).unwrap();
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().then(|| Sender {
            chan: self.chan.clone(),
        })
    }

    /// Live senders of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// assert_eq!(tx.downgrade().strong_count(), 1);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.sender_counts().0
    }

    /// Live weak senders of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(weak.clone().weak_count(), 2);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.sender_counts().1
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        self.chan.add_weak(true);
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.add_weak(false);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// A slot in a bounded channel, held for one value; from
/// [`Sender::reserve`] or [`Sender::try_reserve`]. Sending with it never
/// waits and never fails; dropping it gives the slot back.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// runtime::block_on(async {
///     let (tx, mut rx) = mpsc::channel(1);
///     let permit = tx.reserve().await.unwrap();
///     drop(permit); // the slot is free again
///     tx.try_send(1).unwrap();
///     assert_eq!(rx.recv().await, Some(1));
/// });
/// ```
#[must_use = "the slot is given back as soon as the permit is dropped"]
pub struct Permit<'a, T> {
    /// The channel whose slot it holds.
    chan: &'a Chan<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the held slot. If the receiver was closed (not
    /// dropped) since, the value is still delivered; if it was dropped,
    /// the value is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = runtime::sync::mpsc::channel(1);
    /// tx.try_reserve().unwrap().send("v");
    /// assert_eq!(rx.try_recv(), Ok("v"));
    /// ```
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        chan.send_reserved(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_reserved();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// The future of [`Sender::reserve`].
struct Reserve<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// Its place in line.
    wait: SlotWait,
}

impl<T> Future for Reserve<'_, T> {
    type Output = Result<(), SendError<()>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.chan.poll_slot(&mut this.wait, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(())) => Poll::Ready(Err(SendError(()))),
            Poll::Ready(Ok(state)) => {
                this.chan.reserve_locked(state);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        self.chan.withdraw(&mut self.wait);
    }
}

/// The future of [`Sender::send`].
///
/// Dropping it withdraws the send: it leaves the line of waiting senders,
/// and a slot it had been granted passes to the next one.
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value to send; `None` once sent or returned.
    value: Option<T>,
    /// Its place in line.
    wait: SlotWait,
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("waiting", &self.wait.is_waiting())
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
        // A send that completes costs one unit of the cooperative budget
        // (charged by `poll_slot`); once it is spent, the value stays here
        // and the task yields.
        let slot = std::task::ready!(this.chan.poll_slot(&mut this.wait, cx));
        let value = this.value.take().expect(POLLED_AFTER_COMPLETION);
        match slot {
            Ok(state) => {
                this.chan.push_locked(state, value);
                Poll::Ready(Ok(()))
            }
            Err(()) => Poll::Ready(Err(SendError(value))),
        }
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.chan.withdraw(&mut self.wait);
        // `self.value` is dropped after this, with the lock released.
    }
}

/// Receives the values of a bounded channel; created by
/// [`channel`](super::channel).
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
    pub(super) chan: Arc<Chan<T>>,
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
    /// no value can come: every sender is gone, or the receiver was closed
    /// and every permit used or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is taken only in the poll that returns it.
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

    /// Waits for at least one value, then moves up to `limit` of them to
    /// the end of `buffer`; returns how many it moved. `0` means the
    /// channel has ended (or `limit` was zero).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: values are moved only in the poll that returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// runtime::block_on(async {
    ///     let (tx, mut rx) = mpsc::channel(8);
    ///     for i in 0..5 {
    ///         tx.send(i).await.unwrap();
    ///     }
    ///     let mut batch = Vec::new();
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 3);
    ///     assert_eq!(rx.recv_many(&mut batch, 3).await, 2);
    ///     assert_eq!(batch, [0, 1, 2, 3, 4]);
    /// });
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.chan.recv_many(buffer, limit).await
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
    /// [`TryRecvError::Empty`] if no value is buffered but one may come;
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

    /// Closes the channel without dropping the receiver: sends and
    /// reserves fail from now on, waiting senders are woken with an error,
    /// and the values already buffered (and those sent with permits taken
    /// before the close) can still be received.
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

    /// Values buffered, waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::mpsc::channel(4);
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True if no value is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = runtime::sync::mpsc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots right now (see [`Sender::capacity`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::mpsc::channel(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The channel's bound.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = runtime::sync::mpsc::channel::<u8>(4);
    /// assert_eq!(rx.max_capacity(), 4);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}
