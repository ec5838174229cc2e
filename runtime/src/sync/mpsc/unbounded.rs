//! The unbounded channel's ends: [`UnboundedSender`],
//! [`UnboundedReceiver`], [`WeakUnboundedSender`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::loom::Arc;

use super::super::block_on_thread;
use super::chan::{Chan, Closed, Recv};
use super::error::{SendError, TryRecvError};

/// Sends values into an unbounded channel; created by
/// [`unbounded_channel`](super::unbounded_channel).
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
    pub(super) chan: Arc<Chan<T>>,
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
    ///     let (tx, rx) = mpsc::unbounded_channel::<u8>();
    ///     runtime::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.send(1).is_err());
    /// });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        self.chan.closed()
    }

    /// A [`WeakUnboundedSender`]: it does not keep the channel open, and
    /// can be turned back into a sender while some sender is alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// let weak = tx.downgrade();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak(true);
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// True if both senders feed the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// Live senders of this channel (this one and its clones).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// assert_eq!(tx.strong_count(), 1);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.sender_counts().0
    }

    /// Live weak senders of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// let _weak = tx.downgrade();
    /// assert_eq!(tx.weak_count(), 1);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.sender_counts().1
    }
}

/// An unbounded sender that does not keep its channel open; made by
/// [`UnboundedSender::downgrade`].
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = runtime::sync::mpsc::unbounded_channel();
/// let weak = tx.downgrade();
/// weak.upgrade().unwrap().send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub struct WeakUnboundedSender<T> {
    /// The shared channel.
    chan: Arc<Chan<T>>,
}

impl<T> WeakUnboundedSender<T> {
    /// A sender again, if some sender is still alive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().then(|| UnboundedSender {
            chan: self.chan.clone(),
        })
    }

    /// Live senders of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
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
    /// let (tx, _rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// assert_eq!(tx.downgrade().weak_count(), 1);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.sender_counts().1
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak(true);
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.add_weak(false);
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

/// Receives the values of an unbounded channel; created by
/// [`unbounded_channel`](super::unbounded_channel).
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
    pub(super) chan: Arc<Chan<T>>,
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
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     runtime::spawn(async move { tx.send(5).unwrap() });
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
    ///     let (tx, mut rx) = mpsc::unbounded_channel();
    ///     for i in 0..3 {
    ///         tx.send(i).unwrap();
    ///     }
    ///     drop(tx);
    ///     let mut all = Vec::new();
    ///     while rx.recv_many(&mut all, 2).await > 0 {}
    ///     assert_eq!(all, [0, 1, 2]);
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

    /// Values buffered, waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = runtime::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True if no value is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = runtime::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}
