//! Combinators for two futures: [`or`] (the first to finish, the first
//! one preferred) and [`race`] (the first to finish, neither preferred),
//! with the shapes of futures-lite's.
//!
//! For more than two futures, or outputs of different types, or patterns
//! and preconditions, use [`select!`](crate::select). To wait for both,
//! [`join!`](crate::join).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::macros::rng;

/// Waits for two futures with the same output and returns the output of
/// the first to finish; if both are ready at the same poll, `future1`'s.
///
/// `future1` is always polled first, so it wins every tie; a `future1`
/// that is always ready starves `future2`. Where neither should be
/// preferred, use [`race`]. The loser is dropped with the returned [`Or`].
///
/// # Cancel safety
///
/// Dropping the [`Or`] drops both futures; it is as cancel-safe as they
/// are.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::future::or;
/// use runtime::time::sleep;
///
/// runtime::block_on(async {
///     let fast = async { "fast" };
///     let slow = async {
///         sleep(Duration::from_secs(5)).await;
///         "slow"
///     };
///     assert_eq!(or(slow, fast).await, "fast");
///     // Both ready: the first wins.
///     assert_eq!(or(async { 1 }, async { 2 }).await, 1);
/// });
/// ```
pub fn or<T, F1, F2>(future1: F1, future2: F2) -> Or<F1::IntoFuture, F2::IntoFuture>
where
    F1: IntoFuture<Output = T>,
    F2: IntoFuture<Output = T>,
{
    Or {
        future1: future1.into_future(),
        future2: future2.into_future(),
    }
}

pin_project! {
    /// The future returned by [`or`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Or<F1, F2> {
        // Polled first, so it wins ties.
        #[pin]
        future1: F1,
        // Polled when `future1` is pending.
        #[pin]
        future2: F2,
    }
}

impl<T, F1, F2> Future for Or<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        if let Poll::Ready(output) = this.future1.poll(cx) {
            return Poll::Ready(output);
        }
        this.future2.poll(cx)
    }
}

/// Waits for two futures with the same output and returns the output of
/// the first to finish, neither preferred: each poll picks at random which
/// to poll first, so a future that is always ready cannot starve the
/// other, and a tie goes either way.
///
/// The loser is dropped with the returned [`Race`]. Where one future
/// should win every tie, use [`or`].
///
/// # Cancel safety
///
/// Dropping the [`Race`] drops both futures; it is as cancel-safe as they
/// are.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::future::race;
/// use runtime::time::sleep;
///
/// runtime::block_on(async {
///     let quick = async {
///         sleep(Duration::from_millis(1)).await;
///         "quick"
///     };
///     let slow = async {
///         sleep(Duration::from_secs(5)).await;
///         "slow"
///     };
///     assert_eq!(race(slow, quick).await, "quick");
/// });
/// ```
pub fn race<T, F1, F2>(future1: F1, future2: F2) -> Race<F1::IntoFuture, F2::IntoFuture>
where
    F1: IntoFuture<Output = T>,
    F2: IntoFuture<Output = T>,
{
    Race {
        future1: future1.into_future(),
        future2: future2.into_future(),
    }
}

pin_project! {
    /// The future returned by [`race`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Race<F1, F2> {
        // One contender.
        #[pin]
        future1: F1,
        // The other.
        #[pin]
        future2: F2,
    }
}

impl<T, F1, F2> Future for Race<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        if rng::below(2) == 0 {
            if let Poll::Ready(output) = this.future1.poll(cx) {
                return Poll::Ready(output);
            }
            this.future2.poll(cx)
        } else {
            if let Poll::Ready(output) = this.future2.poll(cx) {
                return Poll::Ready(output);
            }
            this.future1.poll(cx)
        }
    }
}
