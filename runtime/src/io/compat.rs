//! [`Compat`]: a `futures_io` type as a runtime I/O type (the `futures-io`
//! feature).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncBufRead, AsyncRead, AsyncWrite};
use crate::coop;

pin_project! {
    /// Wraps a type that implements `futures_io`'s traits so that it
    /// implements the runtime's: [`AsyncRead`], [`AsyncWrite`],
    /// [`AsyncBufRead`], as the wrapped type does. (The other direction
    /// needs no wrapper: with the `futures-io` feature the runtime's types
    /// implement `futures_io`'s traits themselves.)
    ///
    /// A futures-io type knows nothing of the runtime's cooperative
    /// budget, and may be always ready (an in-memory cursor), so each
    /// operation that completes through `Compat` charges the budget.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::Compat;
    ///
    /// runtime::block_on(async {
    ///     // A futures-io reader, used with the runtime's `copy`.
    ///     let mut reader = Compat::new(futures::io::Cursor::new(b"from futures".to_vec()));
    ///     let mut out = Vec::new();
    ///     runtime::io::copy(&mut reader, &mut out).await?;
    ///     assert_eq!(out, b"from futures");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[derive(Debug)]
    pub struct Compat<T> {
        #[pin]
        inner: T,
    }
}

impl<T> Compat<T> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    /// use runtime::io::Compat;
    ///
    /// let mut cursor = Compat::new(futures::io::Cursor::new(vec![1, 2, 3]));
    /// assert_eq!(cursor.get_ref().position(), 0);
    /// cursor.get_mut().set_position(1);
    /// assert_eq!(Pin::new(&mut cursor).get_pin_mut().position(), 1);
    /// assert_eq!(cursor.into_inner().into_inner(), [1, 2, 3]);
    /// ```
    pub fn new(inner: T) -> Compat<T> {
        Compat { inner }
    }

    /// The wrapped value.
    ///
    /// The example of [`new`](Self::new) shows it.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value.
    ///
    /// The example of [`new`](Self::new) shows it.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped value, pinned.
    ///
    /// The example of [`new`](Self::new) shows it.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// The wrapped value back.
    ///
    /// The example of [`new`](Self::new) shows it.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Charges the budget for `op`, and gives the unit back if `op` turns out
/// not to be ready: only what completes pays.
fn charged<T>(cx: &mut Context<'_>, op: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    ready!(coop::poll_proceed(cx));
    let poll = op(cx);
    if poll.is_pending() {
        coop::refund();
    }
    poll
}

impl<T: futures_io::AsyncRead> AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let inner = self.project().inner;
        charged(cx, |cx| inner.poll_read(cx, buf))
    }
}

impl<T: futures_io::AsyncBufRead> AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let inner = self.project().inner;
        charged(cx, |cx| inner.poll_fill_buf(cx))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<T: futures_io::AsyncWrite> AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let inner = self.project().inner;
        charged(cx, |cx| inner.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.project().inner;
        charged(cx, |cx| inner.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.project().inner;
        charged(cx, |cx| inner.poll_close(cx))
    }
}
