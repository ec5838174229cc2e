//! [`yield_now`]: letting everything else run first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::executor::context;

/// Lets the other ready tasks, I/O and timers run before this one
/// continues.
///
/// The task is woken again only after the runtime's next reactor turn: it
/// runs after every task that was already ready and every task that the
/// turn's I/O events and due timers woke. (Outside this runtime, say under
/// another executor, it simply wakes itself and returns `Pending` once.)
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     runtime::task::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    /// Whether the first poll already happened.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        match context::try_current() {
            Some(core) => core.deferred.defer(cx.waker()),
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}
