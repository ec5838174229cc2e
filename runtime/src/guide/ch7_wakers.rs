//! 7. The `Waker`, and the promise that `Pending` makes.
//!
//! Chapters 2 to 6 were about learning *when* a socket is ready. An async
//! runtime adds the other half: *who* gets told. In the examples, the loop
//! that called `epoll_wait` also did the reading, so "who" was always the
//! loop itself. In an async program the reading is done by many separate
//! pieces of code, each written as if it were alone, and each must be
//! called back when its socket is ready.
//!
//! # `poll`, `Pending` and the waker
//!
//! A future is driven by calls to [`Future::poll`](std::future::Future::poll),
//! which get a [`Context`](std::task::Context) carrying a
//! [`Waker`](std::task::Waker). `poll` either finishes
//! ([`Poll::Ready`](std::task::Poll::Ready)) or returns
//! [`Poll::Pending`](std::task::Poll::Pending), and `Pending` is a promise:
//!
//! > I cannot finish now, **and I have arranged for this waker to be woken
//! > when it is worth polling me again.**
//!
//! The executor relies on it completely. It does not poll a pending task
//! again on its own; it waits for the wake. A future that returns `Pending`
//! without arranging a wake has broken the promise, and its task sleeps for
//! ever. A wake, on the other side, is only a hint: the future may be
//! polled and find it still cannot finish (another task took the data, say),
//! and then it must simply arrange a new wake and return `Pending` again.
//!
//! Here is the promise kept: a flag set by another thread, and a future
//! that waits for it by leaving its waker where that thread will find it.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::sync::{Arc, Mutex};
//! use std::task::{Context, Poll, Waker};
//! use std::thread;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Flag {
//!     set: bool,
//!     waker: Option<Waker>,
//! }
//!
//! struct WaitForFlag(Arc<Mutex<Flag>>);
//!
//! impl Future for WaitForFlag {
//!     type Output = ();
//!     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
//!         let mut flag = self.0.lock().unwrap();
//!         if flag.set {
//!             return Poll::Ready(());
//!         }
//!         // The promise: whoever sets the flag will find this waker.
//!         flag.waker = Some(cx.waker().clone());
//!         Poll::Pending
//!     }
//! }
//!
//! let flag = Arc::new(Mutex::new(Flag::default()));
//! let setter = flag.clone();
//! thread::spawn(move || {
//!     thread::sleep(Duration::from_millis(10));
//!     let mut flag = setter.lock().unwrap();
//!     flag.set = true;
//!     if let Some(waker) = flag.waker.take() {
//!         waker.wake(); // from another thread: rings the runtime's eventfd
//!     }
//! });
//! runtime::block_on(WaitForFlag(flag));
//! ```
//!
//! And here it is broken: a future that says `Pending` and tells nobody.
//! Nothing will ever poll it again; only the timeout around it ends the
//! wait.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//! use std::time::Duration;
//!
//! struct Forgetful;
//!
//! impl Future for Forgetful {
//!     type Output = ();
//!     fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
//!         Poll::Pending // and no waker kept anywhere: a broken promise
//!     }
//! }
//!
//! runtime::block_on(async {
//!     let waited = runtime::time::timeout(Duration::from_millis(20), Forgetful).await;
//!     assert!(waited.is_err(), "nobody was ever going to wake it");
//! });
//! ```
//!
//! Every `poll_*` method of this crate keeps the promise the same way:
//! before it returns `Pending`, the current task is parked somewhere that
//! will wake it, on a socket's slot in the reactor, in the timer heap, or
//! in a channel's list of waiters.
//!
//! # What a wake does here
//!
//! * **The waker** of a spawned task is `std::task::Wake` on an `Arc`
//!   (`runtime/src/executor/waker.rs`, `TaskWaker`). A wake first marks the
//!   task queued with an atomic swap, so a task woken ten times is queued
//!   once, and then puts it on a run queue.
//! * **On the runtime's own thread** (a socket event, a timer, a channel
//!   send from another task) that is the local run queue: no syscall, no
//!   lock.
//! * **From another thread** (a [`spawn_blocking`](crate::task::spawn_blocking)
//!   job finishing, a channel send from a plain thread, the example above)
//!   it is the remote queue, and the runtime's thread may be asleep in
//!   `epoll_wait`. So the wake also writes to an eventfd that epoll watches
//!   (`runtime/src/sys/eventfd.rs`, `Notifier`; the `Shared::ring` call in
//!   `waker.rs`), unless a ring is already pending, and `epoll_wait`
//!   returns. The reactor knows that event by its token, `WAKE_TOKEN`
//!   (`runtime/src/reactor/mod.rs`).
//! * **Parking on a socket by id.** While the executor polls a task it
//!   tells the reactor which task it is (`Reactor::start_poll`). A read that
//!   must wait, and whose context carries exactly that task's waker, parks
//!   the task's id, a plain number, instead of a clone of the waker
//!   (`runtime/src/reactor/waiters.rs`, `Waiters::park_polled`); the turn
//!   then hands the id straight to the run queue. Any other waker (the
//!   `block_on` future's, a combinator's, another executor's) is stored and
//!   woken as a `Waker`.
//!
//! Either way the contract is the one above, and the next chapter shows
//! the loop that keeps its side of it: whatever is woken gets polled.
