//! [`BufReader`]: buffering for any reader.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncBufRead, AsyncRead, AsyncWrite};
use crate::coop;

/// The capacity of a buffer made by `new`: 8 KiB, as tokio's and std's.
pub(crate) const DEFAULT_CAPACITY: usize = 8 * 1024;

pin_project! {
    /// Adds a buffer to a reader, so that many small reads (a line at a
    /// time, a byte at a time) cost one read of the inner reader each time
    /// the buffer runs empty. It is also what gives any reader
    /// [`AsyncBufRead`], and with it [`lines`](super::AsyncBufReadExt::lines)
    /// and [`read_line`](super::AsyncBufReadExt::read_line).
    ///
    /// Reads at least as large as the buffer skip it when it is empty.
    /// Writes go straight to the inner stream, if it is a writer too.
    /// A read served from the buffer charges the cooperative budget, as a
    /// read of the inner reader would.
    ///
    /// Dropping a `BufReader` drops what it buffered; use
    /// [`buffer`](BufReader::buffer) first to keep it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    ///
    /// runtime::block_on(async {
    ///     let (mut client, server) = runtime::io::duplex(64);
    ///     client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
    ///     let mut server = BufReader::new(server);
    ///     let mut request_line = String::new();
    ///     server.read_line(&mut request_line).await?;
    ///     assert_eq!(request_line, "GET / HTTP/1.1\r\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub struct BufReader<R> {
        #[pin]
        inner: R,
        // The buffer; `buf[pos..filled]` is read but not yet consumed.
        buf: Box<[u8]>,
        // Where the unconsumed bytes start.
        pos: usize,
        // Where they end.
        filled: usize,
    }
}

impl<R: AsyncRead> BufReader<R> {
    /// A `BufReader` with an 8 KiB buffer.
    ///
    /// # Examples
    ///
    /// See [`BufReader`].
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A `BufReader` with a buffer of `capacity` bytes (at least one).
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = runtime::io::BufReader::with_capacity(64 * 1024, &b""[..]);
    /// assert!(reader.buffer().is_empty());
    /// ```
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
        }
    }
}

impl<R> BufReader<R> {
    /// The inner reader.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = runtime::io::BufReader::new(&b"abc"[..]);
    /// assert_eq!(*reader.get_ref(), b"abc");
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly skips the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut reader = runtime::io::BufReader::new(&b"abc"[..]);
    /// *reader.get_mut() = &b"xyz"[..];
    /// assert_eq!(*reader.get_ref(), b"xyz");
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, pinned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    ///
    /// let mut reader = runtime::io::BufReader::with_capacity(100, &b"abc"[..]);
    /// assert_eq!(reader.capacity(), 100);
    /// assert_eq!(*Pin::new(&mut reader).get_pin_mut(), b"abc");
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The inner reader back; what was buffered is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = runtime::io::BufReader::new(&b"abc"[..]);
    /// assert_eq!(reader.into_inner(), b"abc");
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes read from the inner reader but not consumed yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, BufReader};
    ///
    /// runtime::block_on(async {
    ///     let mut reader = BufReader::new(&b"abc"[..]);
    ///     reader.fill_buf().await?;
    ///     reader.consume(1);
    ///     assert_eq!(reader.buffer(), b"bc");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    /// The size of the buffer.
    ///
    /// The example of [`get_pin_mut`](Self::get_pin_mut) shows it.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

impl<R> fmt::Debug for BufReader<R>
where
    R: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("inner", &self.inner)
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.len())
            .finish()
    }
}

impl<R: AsyncRead> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // Nothing buffered and a large read: skip the copy.
        if self.pos == self.filled && buf.len() >= self.buf.len() {
            return self.project().inner.poll_read(cx, buf);
        }
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.project();
        if *this.pos == *this.filled {
            // Empty: refill from the inner reader (which charges the
            // budget itself).
            let n = ready!(this.inner.poll_read(cx, this.buf))?;
            *this.pos = 0;
            *this.filled = n;
        } else {
            // Served from memory: always ready, so it pays.
            ready!(coop::poll_proceed(cx));
        }
        Poll::Ready(Ok(&this.buf[*this.pos..*this.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.project();
        *this.pos = (*this.pos + amt).min(*this.filled);
    }
}

impl<R: AsyncWrite> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}
