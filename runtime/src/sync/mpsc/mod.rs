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

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{Permit, Receiver, Send, Sender, WeakSender};
pub use chan::{Closed, Recv};
pub use error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use chan::Chan;

/// The panic message of `channel(0)`.
const ZERO_CAPACITY: &str = "mpsc::channel needs a capacity greater than zero: \
     a channel with no room could never accept a value (use a capacity of 1 for a rendezvous)";

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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::test_util::{poll_with, Counter};
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Poll;

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
        assert_eq!(tx.chan.waiting_senders(), 0);
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
    fn a_dropped_granted_reserve_passes_its_slot_on() {
        let (tx, mut rx) = channel::<u8>(1);
        tx.try_send(0).unwrap();
        let (a, b) = (Counter::new(), Counter::new());
        let mut reserve_a = Box::pin(tx.reserve());
        let mut send_b = tx.send(2);
        assert!(poll_with(&mut reserve_a, &a).is_pending());
        assert!(poll_with(&mut send_b, &b).is_pending());
        assert_eq!(rx.try_recv(), Ok(0)); // grants the slot to `a`
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        drop(reserve_a);
        assert_eq!(b.wakes(), 1);
        assert_eq!(poll_with(&mut send_b, &b), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn a_closed_channel_ends_only_once_its_permits_are_gone() {
        let (tx, mut rx) = channel::<u8>(2);
        let permit = tx.try_reserve().unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let a = Counter::new();
        let mut recv = rx.recv();
        assert!(poll_with(&mut recv, &a).is_pending());
        permit.send(5);
        assert_eq!(a.wakes(), 1);
        assert_eq!(poll_with(&mut recv, &a), Poll::Ready(Some(5)));
        drop(recv);
        let permit = tx.downgrade().upgrade().unwrap().try_reserve().map(drop);
        assert!(permit.is_err(), "closed: no new permits");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn a_dropped_permit_of_a_closed_channel_ends_it() {
        let (tx, mut rx) = channel::<u8>(1);
        let permit = tx.try_reserve().unwrap();
        rx.close();
        let a = Counter::new();
        let mut recv = rx.recv();
        assert!(poll_with(&mut recv, &a).is_pending());
        drop(permit);
        assert_eq!(a.wakes(), 1);
        assert_eq!(poll_with(&mut recv, &a), Poll::Ready(None));
    }

    #[test]
    fn weak_senders_do_not_keep_the_channel_open() {
        let (tx, mut rx) = channel::<u8>(1);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn ends_are_send_and_sync() {
        fn assert_send_sync<X: std::marker::Send + Sync>() {}
        assert_send_sync::<Sender<String>>();
        assert_send_sync::<Receiver<String>>();
        assert_send_sync::<UnboundedSender<String>>();
        assert_send_sync::<UnboundedReceiver<String>>();
        assert_send_sync::<Send<'static, String>>();
        assert_send_sync::<Permit<'static, String>>();
        assert_send_sync::<WeakSender<String>>();
        assert_send_sync::<WeakUnboundedSender<String>>();
    }

    #[test]
    fn errors_debug_without_t_debug() {
        struct Opaque;
        assert_eq!(format!("{:?}", SendError(Opaque)), "SendError { .. }");
        assert_eq!(format!("{:?}", TrySendError::Full(Opaque)), "Full(..)");
        assert_eq!(TrySendError::Closed(Opaque).to_string(), "channel closed");
    }
}
