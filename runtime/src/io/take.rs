//! [`Take`]: a reader cut off after a number of bytes.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncBufRead, AsyncRead};

pin_project! {
    /// Reads at most a number of bytes from a reader, then reports end of
    /// stream; see [`AsyncReadExt::take`](super::AsyncReadExt::take).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut head = (&b"0123456789"[..]).take(4);
    ///     let mut got = Vec::new();
    ///     head.read_to_end(&mut got).await?;
    ///     assert_eq!(got, b"0123");
    ///     assert_eq!(head.limit(), 0);
    ///     head.set_limit(2);
    ///     got.clear();
    ///     head.read_to_end(&mut got).await?;
    ///     assert_eq!(got, b"45");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read"]
    pub struct Take<R> {
        // The reader.
        #[pin]
        inner: R,
        // How many more bytes may be read.
        limit: u64,
    }
}

impl<R> Take<R> {
    /// `inner`, cut off after `limit` bytes.
    pub(super) fn new(inner: R, limit: u64) -> Take<R> {
        Take { inner, limit }
    }

    /// How many more bytes may be read.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     use std::pin::Pin;
    ///     use runtime::io::AsyncReadExt;
    ///
    ///     let mut head = (&b"abcdef"[..]).take(2);
    ///     assert_eq!(head.limit(), 2);
    ///     head.set_limit(3);
    ///     assert_eq!(head.get_ref().len(), 6);
    ///     head.get_mut().read_u8().await?; // not counted
    ///     assert_eq!(Pin::new(&mut head).get_pin_mut().len(), 5);
    ///     let mut rest = Vec::new();
    ///     head.read_to_end(&mut rest).await?;
    ///     assert_eq!(rest, b"bcd");
    ///     assert_eq!(head.into_inner(), b"ef");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Allows `limit` more bytes.
    ///
    /// The example of [`limit`](Self::limit) shows it.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The reader.
    ///
    /// The example of [`limit`](Self::limit) shows it.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader; reading from it directly does not count.
    ///
    /// The example of [`limit`](Self::limit) shows it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The reader, pinned.
    ///
    /// The example of [`limit`](Self::limit) shows it.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The reader back.
    ///
    /// The example of [`limit`](Self::limit) shows it.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// `limit` as a length, capped at `len`.
fn allowed(limit: u64, len: usize) -> usize {
    usize::try_from(limit).map_or(len, |limit| limit.min(len))
}

impl<R: AsyncRead> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if *this.limit == 0 {
            return Poll::Ready(Ok(0));
        }
        let max = allowed(*this.limit, buf.len());
        let n = ready!(this.inner.poll_read(cx, &mut buf[..max]))?;
        *this.limit -= n as u64;
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncBufRead> AsyncBufRead for Take<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.project();
        if *this.limit == 0 {
            return Poll::Ready(Ok(&[]));
        }
        let available = ready!(this.inner.poll_fill_buf(cx))?;
        let max = allowed(*this.limit, available.len());
        Poll::Ready(Ok(&available[..max]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.project();
        let amt = allowed(*this.limit, amt);
        *this.limit -= amt as u64;
        this.inner.consume(amt);
    }
}
