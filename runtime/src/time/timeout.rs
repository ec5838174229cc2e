//! [`timeout`], [`timeout_at`] and their future, [`Timeout`].

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::error::Elapsed;
use super::{sleep, sleep_until, Instant, Sleep};

/// Runs `future` for at most `duration`.
///
/// The future is polled first, so one that is already ready wins even with
/// a zero duration. Dropping the returned future drops `future` and
/// cancels the timer. It is as cancel-safe as `future` is.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     let fast = runtime::time::timeout(Duration::from_secs(5), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
///     let never = std::future::pending::<()>();
///     let slow = runtime::time::timeout(Duration::from_millis(1), never).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep(duration),
    }
}

/// Runs `future` until `deadline` at the latest; see [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::Instant;
///
/// runtime::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     let never = std::future::pending::<()>();
///     assert!(runtime::time::timeout_at(deadline, never).await.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// The future of [`timeout`] and [`timeout_at`]: `Send` when the
    /// wrapped future is.
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, without the deadline.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}
