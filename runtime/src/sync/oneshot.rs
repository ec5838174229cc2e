//! A channel for sending a single value: [`channel`], [`Sender`],
//! [`Receiver`].
//!
//! The [`Receiver`] is itself a future of the value. Either end may live on
//! another thread (when the value is `Send`), and dropping either end wakes
//! the other: a receiver whose sender is dropped without sending gets
//! [`RecvError`]; a sender whose receiver is gone gets its value back from
//! [`send`](Sender::send), and [`closed`](Sender::closed) resolves.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::oneshot;
//!
//! runtime::block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     runtime::spawn(async move {
//!         let _ = tx.send("done");
//!     });
//!     assert_eq!(rx.await, Ok("done"));
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::loom::{Arc, Mutex, MutexGuard};

use super::{block_on_thread, lock, register, wake};

pub use error::{RecvError, TryRecvError};

/// The panic message of a [`Receiver`] polled after it returned its result.
const POLLED_AFTER_COMPLETION: &str = "oneshot::Receiver polled again after it returned its result";

/// The invariant behind `Sender::inner`'s `expect`.
const SENDER_STATE_TAKEN: &str = "the sender's state is taken only by `send`, which consumes it";

/// Errors of the oneshot channel.
pub mod error {
    use std::fmt;

    /// The error of awaiting a [`Receiver`](super::Receiver): the sender
    /// was dropped without sending a value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// runtime::block_on(async {
    ///     let (tx, rx) = oneshot::channel::<u8>();
    ///     drop(tx);
    ///     let err = rx.await.unwrap_err();
    ///     assert_eq!(err.to_string(), "channel closed");
    /// });
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel::<u8>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet, but the sender is still there.
        Empty,
        /// No value will come: the sender was dropped without sending, or
        /// the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

/// Creates a channel for one value: the [`Sender`] sends it, the
/// [`Receiver`] is a future of it.
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// tx.send(3).unwrap();
/// assert_eq!(runtime::block_on(rx), Ok(3));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            complete: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    let sender = Sender {
        inner: Some(inner.clone()),
    };
    let receiver = Receiver { inner: Some(inner) };
    (sender, receiver)
}

/// What the two ends share.
struct Inner<T> {
    /// Everything, behind one lock.
    state: Mutex<State<T>>,
}

impl<T> Inner<T> {
    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }
}

/// The channel's state.
struct State<T> {
    /// The value, from `send` until the receiver takes it.
    value: Option<T>,
    /// True once the sender has sent or been dropped: no value will come
    /// after this.
    complete: bool,
    /// True once the receiver was dropped or closed: `send` fails.
    rx_closed: bool,
    /// The task awaiting the receiver.
    rx_waker: Option<Waker>,
    /// The task awaiting [`Sender::closed`].
    tx_waker: Option<Waker>,
}

/// Sends the channel's one value; created by [`channel`].
///
/// It may be moved to another thread when `T: Send`. Dropping it without
/// sending makes the receiver resolve to [`RecvError`].
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// std::thread::spawn(move || tx.send(vec![1, 2]).unwrap())
///     .join()
///     .unwrap();
/// assert_eq!(runtime::block_on(rx), Ok(vec![1, 2]));
/// ```
pub struct Sender<T> {
    /// The shared state; `None` only inside `send`, which consumes the
    /// sender.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// The shared state.
    fn inner(&self) -> &Inner<T> {
        self.inner.as_ref().expect(SENDER_STATE_TAKEN)
    }

    /// Sends `value`, completing the channel. It does not wait: the value is
    /// stored for the receiver, which is woken.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect(SENDER_STATE_TAKEN);
        let mut state = inner.lock();
        state.complete = true;
        if state.rx_closed {
            drop(state);
            return Err(value);
        }
        state.value = Some(value);
        let rx_waker = state.rx_waker.take();
        drop(state);
        wake(rx_waker);
        Ok(())
    }

    /// True once the receiver has been dropped or closed, so that a
    /// [`send`](Sender::send) would fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner().lock().rx_closed
    }

    /// Waits until the receiver is dropped or closed: useful to stop
    /// computing a value nobody wants.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// runtime::block_on(async {
    ///     let (mut tx, rx) = oneshot::channel::<u32>();
    ///     runtime::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed {
            sender: self,
            registered: false,
        }
    }

    /// Polls for the receiver being dropped or closed; registers the task
    /// to be woken when it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// runtime::block_on(async {
    ///     let (mut tx, rx) = oneshot::channel::<u32>();
    ///     drop(rx);
    ///     std::future::poll_fn(|cx| tx.poll_closed(cx)).await;
    /// });
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.inner().lock();
        if state.rx_closed {
            return Poll::Ready(());
        }
        let replaced = register(&mut state.tx_waker, cx.waker());
        drop(state);
        drop(replaced);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // After `send` there is nothing left to do.
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = inner.lock();
        state.complete = true;
        let rx_waker = state.rx_waker.take();
        let tx_waker = state.tx_waker.take();
        drop(state);
        wake(rx_waker);
        drop(tx_waker);
    }
}

/// The future of [`Sender::closed`]. Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    /// The sender being watched.
    sender: &'a mut Sender<T>,
    /// Whether this future's waker may be in the sender's slot.
    registered: bool,
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let poll = self.sender.poll_closed(cx);
        self.registered = poll.is_pending();
        poll
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            // The sender is borrowed by this future, so the slot holds this
            // future's waker (or none): nobody else can be waiting there.
            let waker = self.sender.inner().lock().tx_waker.take();
            drop(waker);
        }
    }
}

/// Receives the channel's one value; created by [`channel`].
///
/// It is a future of `Result<T, RecvError>`: `Ok` with the value, or
/// [`RecvError`] if the sender was dropped without sending. Dropping it
/// closes the channel, so the sender's [`send`](Sender::send) fails and
/// [`closed`](Sender::closed) resolves.
///
/// # Panics
///
/// Polling it again after it returned its result.
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// runtime::block_on(async {
///     let (tx, rx) = oneshot::channel();
///     runtime::spawn(async move {
///         runtime::task::yield_now().await;
///         let _ = tx.send('x');
///     });
///     assert_eq!(rx.await, Ok('x'));
/// });
/// ```
pub struct Receiver<T> {
    /// The shared state; `None` once the result was taken.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("finished", &self.inner.is_none())
            .finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no value has been sent yet;
    /// [`TryRecvError::Closed`] if none ever will be (the sender was
    /// dropped, or the value was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let mut state = inner.lock();
        let result = match state.value.take() {
            Some(value) => Ok(value),
            None if state.complete => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        };
        drop(state);
        if !matches!(result, Err(TryRecvError::Empty)) {
            self.inner = None;
        }
        result
    }

    /// Waits for the value on a plain thread, blocking it.
    ///
    /// It must not be called on a thread that is running a runtime: that
    /// thread would stop driving the tasks, including, perhaps, the sender
    /// it waits for.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender was dropped without sending.
    ///
    /// # Panics
    ///
    /// If called inside [`block_on`](crate::block_on), or after the result
    /// was already taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// runtime::block_on(async move { tx.send(8).unwrap() });
    /// assert_eq!(waiter.join().unwrap(), Ok(8));
    /// ```
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        block_on_thread(self)
    }

    /// Closes the channel without dropping the receiver: the sender's
    /// [`send`](Sender::send) fails from now on and
    /// [`closed`](Sender::closed) resolves. A value sent before the close
    /// can still be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(1), Err(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        let Some(inner) = &self.inner else {
            return;
        };
        let mut state = inner.lock();
        state.rx_closed = true;
        let tx_waker = state.tx_waker.take();
        drop(state);
        wake(tx_waker);
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_ref().expect(POLLED_AFTER_COMPLETION);
        // The answer costs one unit of the cooperative budget; once it is
        // spent, the value stays in the channel and the task yields.
        ready!(coop::poll_proceed(cx));
        let mut state = inner.lock();
        let result = match state.value.take() {
            Some(value) => Ok(value),
            None if state.complete => Err(RecvError(())),
            None => {
                let replaced = register(&mut state.rx_waker, cx.waker());
                drop(state);
                drop(replaced);
                coop::refund();
                return Poll::Pending;
            }
        };
        drop(state);
        self.inner = None;
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = inner.lock();
        state.rx_closed = true;
        let value = state.value.take();
        let tx_waker = state.tx_waker.take();
        let rx_waker = state.rx_waker.take();
        drop(state);
        wake(tx_waker);
        // User code (`T`'s `Drop`) runs only now, with the lock released.
        drop(value);
        drop(rx_waker);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_util::{poll_with, Counter};
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts drops of values it wraps.
    struct DropCounter<'a>(&'a AtomicUsize);

    impl Drop for DropCounter<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn send_then_receive() {
        let (tx, mut rx) = channel();
        let counter = Counter::new();
        assert!(poll_with(&mut rx, &counter).is_pending());
        tx.send(9).unwrap();
        assert_eq!(counter.wakes(), 1);
        assert_eq!(poll_with(&mut rx, &counter), Poll::Ready(Ok(9)));
    }

    #[test]
    fn dropping_the_sender_wakes_the_receiver() {
        let (tx, mut rx) = channel::<u8>();
        let counter = Counter::new();
        assert!(poll_with(&mut rx, &counter).is_pending());
        drop(tx);
        assert_eq!(counter.wakes(), 1);
        assert_eq!(
            poll_with(&mut rx, &counter),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn dropping_the_receiver_wakes_closed() {
        let (mut tx, rx) = channel::<u8>();
        let counter = Counter::new();
        let mut closed = tx.closed();
        assert!(poll_with(&mut closed, &counter).is_pending());
        drop(rx);
        assert_eq!(counter.wakes(), 1);
        assert!(poll_with(&mut closed, &counter).is_ready());
        drop(closed);
        assert_eq!(tx.send(1), Err(1));
    }

    #[test]
    fn dropped_closed_future_releases_its_waker() {
        let (mut tx, _rx) = channel::<u8>();
        let counter = Counter::new();
        let mut closed = tx.closed();
        assert!(poll_with(&mut closed, &counter).is_pending());
        assert_eq!(Arc::strong_count(&counter), 2);
        drop(closed);
        assert_eq!(Arc::strong_count(&counter), 1);
    }

    #[test]
    fn close_keeps_a_value_already_sent() {
        let (tx, mut rx) = channel();
        tx.send(4).unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Ok(4));
    }

    #[test]
    fn dropping_the_receiver_drops_an_unreceived_value() {
        let drops = AtomicUsize::new(0);
        let (tx, rx) = channel();
        assert!(tx.send(DropCounter(&drops)).is_ok());
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    #[should_panic(expected = "polled again")]
    fn polling_after_completion_panics() {
        let (tx, mut rx) = channel();
        let counter = Counter::new();
        tx.send(()).unwrap();
        assert!(poll_with(&mut rx, &counter).is_ready());
        let _ = poll_with(&mut rx, &counter);
    }

    #[test]
    fn ends_are_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Sender<String>>();
        assert_send_sync::<Receiver<String>>();
    }
}
