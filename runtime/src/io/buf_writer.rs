//! [`BufWriter`]: buffering for any writer.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use super::buf_reader::DEFAULT_CAPACITY;
use super::{AsyncBufRead, AsyncRead, AsyncWrite};
use crate::coop;

pin_project! {
    /// Adds a buffer to a writer, so that many small writes cost one write
    /// of the inner writer each time the buffer fills.
    ///
    /// Data reaches the inner writer when the buffer is full, on
    /// [`flush`](super::AsyncWriteExt::flush), and on
    /// [`shutdown`](super::AsyncWriteExt::shutdown) (which flushes first).
    /// Writes at least as large as the buffer skip it once it is empty.
    /// Dropping a `BufWriter` drops what it buffered: flush first. A write
    /// that only fills the buffer charges the cooperative budget, as a
    /// write to the inner writer would.
    ///
    /// Reads go straight to the inner stream, if it is a reader too.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncWriteExt, BufWriter};
    ///
    /// runtime::block_on(async {
    ///     let mut out = BufWriter::new(Vec::new());
    ///     for i in 0..3 {
    ///         out.write_all(format!("line {i}\n").as_bytes()).await?;
    ///     }
    ///     assert!(out.get_ref().is_empty()); // still buffered
    ///     out.flush().await?;
    ///     assert_eq!(out.get_ref(), b"line 0\nline 1\nline 2\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub struct BufWriter<W> {
        #[pin]
        inner: W,
        // The buffered bytes; `buf[written..]` has not reached `inner` yet.
        buf: Vec<u8>,
        // How much of `buf` a flush in progress has written.
        written: usize,
        // The buffer's capacity (`buf` never grows beyond it).
        capacity: usize,
    }
}

impl<W: AsyncWrite> BufWriter<W> {
    /// A `BufWriter` with an 8 KiB buffer.
    ///
    /// # Examples
    ///
    /// See [`BufWriter`].
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// A `BufWriter` with a buffer of `capacity` bytes (at least one).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = runtime::io::BufWriter::with_capacity(64 * 1024, Vec::new());
    /// assert!(out.buffer().is_empty());
    /// ```
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        let capacity = capacity.max(1);
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            written: 0,
            capacity,
        }
    }

    /// Writes the buffer to the inner writer (without flushing it).
    fn poll_flush_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        while *this.written < this.buf.len() {
            match ready!(this
                .inner
                .as_mut()
                .poll_write(cx, &this.buf[*this.written..]))
            {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write the buffered data",
                    )))
                }
                Ok(n) => *this.written += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        this.buf.clear();
        *this.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W> BufWriter<W> {
    /// The inner writer.
    ///
    /// # Examples
    ///
    /// See [`BufWriter`].
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer. Writing to it directly skips the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = runtime::io::BufWriter::new(Vec::new());
    /// out.get_mut().push(1);
    /// assert_eq!(out.get_ref(), &[1]);
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, pinned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    ///
    /// let mut out = runtime::io::BufWriter::with_capacity(100, Vec::new());
    /// assert_eq!(out.capacity(), 100);
    /// assert!(Pin::new(&mut out).get_pin_mut().is_empty());
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.project().inner
    }

    /// The inner writer back; what was buffered is dropped (flush first).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncWriteExt, BufWriter};
    ///
    /// runtime::block_on(async {
    ///     let mut out = BufWriter::new(Vec::new());
    ///     out.write_all(b"kept").await?;
    ///     out.flush().await?;
    ///     assert_eq!(out.into_inner(), b"kept");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The bytes written to the `BufWriter` that have not reached the inner
    /// writer yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncWriteExt, BufWriter};
    ///
    /// runtime::block_on(async {
    ///     let mut out = BufWriter::new(Vec::new());
    ///     out.write_all(b"pending").await?;
    ///     assert_eq!(out.buffer(), b"pending");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    /// The size of the buffer.
    ///
    /// The example of [`get_pin_mut`](Self::get_pin_mut) shows it.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("inner", &self.inner)
            .field("buffered", &(self.buf.len() - self.written))
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<W: AsyncWrite> AsyncWrite for BufWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() + buf.len() > self.capacity {
            ready!(self.as_mut().poll_flush_buf(cx))?;
        }
        let this = self.project();
        if buf.len() >= *this.capacity {
            // The buffer is empty now; a write this large skips it.
            return this.inner.poll_write(cx, buf);
        }
        // Into memory: always ready, so it pays.
        ready!(coop::poll_proceed(cx));
        this.buf.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.project().inner.poll_close(cx)
    }
}

impl<W: AsyncRead> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<W: AsyncBufRead> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}
