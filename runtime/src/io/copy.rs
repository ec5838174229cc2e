//! [`copy`] and [`copy_buf`]: moving every byte of a reader into a writer.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::{AsyncBufRead, AsyncRead, AsyncWrite};

/// The size of the buffer of `copy` and `copy_bidirectional` (per
/// direction).
const COPY_BUFFER: usize = 16 * 1024;

/// One direction of a copy: a buffer and how far the bytes in it got.
pub(super) struct CopyBuffer {
    /// Bytes read and not yet all written: `buf[pos..cap]` is still to go.
    buf: Box<[u8]>,
    /// The first byte not written yet.
    pos: usize,
    /// The end of the bytes read.
    cap: usize,
    /// Bytes written so far.
    amt: u64,
    /// The reader reported end of stream.
    read_done: bool,
    /// Something was written since the writer was last flushed.
    need_flush: bool,
}

impl fmt::Debug for CopyBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuffer")
            .field("in_flight", &(self.cap - self.pos))
            .field("copied", &self.amt)
            .field("read_done", &self.read_done)
            .finish()
    }
}

impl CopyBuffer {
    /// An empty buffer.
    pub(super) fn new() -> CopyBuffer {
        CopyBuffer {
            buf: vec![0; COPY_BUFFER].into_boxed_slice(),
            pos: 0,
            cap: 0,
            amt: 0,
            read_done: false,
            need_flush: false,
        }
    }

    /// Copies until `reader` ends and everything read is written and
    /// flushed; returns the bytes copied. While the reader has nothing, the
    /// writer is flushed, so that a buffering writer never sits on data
    /// that a peer waits for.
    pub(super) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            // 1. Refill the buffer once it is all written.
            if self.pos == self.cap && !self.read_done {
                match reader.as_mut().poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => {
                        self.pos = 0;
                        self.cap = n;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            // 2. Write what was read.
            while self.pos < self.cap {
                let n = ready!(writer
                    .as_mut()
                    .poll_write(cx, &self.buf[self.pos..self.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted no more bytes",
                    )));
                }
                self.pos += n;
                self.amt += n as u64;
                self.need_flush = true;
            }
            // 3. At the end, flush.
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(self.amt));
            }
        }
    }
}

/// Copies everything `reader` yields into `writer`, until end of stream,
/// then flushes `writer`; returns the number of bytes copied. The writer is
/// not shut down (see [`copy_bidirectional`](super::copy_bidirectional),
/// which does that).
///
/// The bytes go through a 16 KiB buffer. When the reader has nothing to
/// give, `writer` is flushed, so that a [`BufWriter`](super::BufWriter)
/// does not sit on bytes while the reader waits.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future loses the bytes read but not yet
/// written (up to 16 KiB), and the count. [`copy_buf`] loses no bytes.
///
/// # Errors
///
/// The first error of either side; `WriteZero` if the writer accepts no
/// more bytes.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let mut reader = &b"every byte"[..];
///     let mut writer = Vec::new();
///     let n = runtime::io::copy(&mut reader, &mut writer).await?;
///     assert_eq!(n, 10);
///     assert_eq!(writer, b"every byte");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Copy<'a, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    Copy {
        reader,
        writer,
        buf: CopyBuffer::new(),
    }
}

/// The future of [`copy`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Copy<'a, R: ?Sized, W: ?Sized> {
    /// Where the bytes come from.
    reader: &'a mut R,
    /// Where they go.
    writer: &'a mut W,
    /// The bytes in between.
    buf: CopyBuffer,
}

impl<R, W> Future for Copy<'_, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.buf
            .poll_copy(cx, Pin::new(&mut *this.reader), Pin::new(&mut *this.writer))
    }
}

/// Copies everything a buffered `reader` yields into `writer`, straight from
/// the reader's buffer, until end of stream, then flushes `writer`; returns
/// the number of bytes copied.
///
/// # Cancel safety
///
/// Cancel-safe as far as the data goes: bytes are consumed from the reader
/// only once written, so after a dropped future the rest is still in the
/// reader (the count is lost).
///
/// # Errors
///
/// The first error of either side; `WriteZero` if the writer accepts no
/// more bytes.
///
/// # Examples
///
/// ```
/// use runtime::io::BufReader;
///
/// runtime::block_on(async {
///     let mut reader = BufReader::new(&b"buffered"[..]);
///     let mut writer = Vec::new();
///     assert_eq!(runtime::io::copy_buf(&mut reader, &mut writer).await?, 8);
///     assert_eq!(writer, b"buffered");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> CopyBuf<'a, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf {
        reader,
        writer,
        amt: 0,
        need_flush: false,
    }
}

/// The future of [`copy_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    /// Where the bytes come from.
    reader: &'a mut R,
    /// Where they go.
    writer: &'a mut W,
    /// Bytes copied so far.
    amt: u64,
    /// Something was written since the writer was last flushed.
    need_flush: bool,
}

impl<R, W> Future for CopyBuf<'_, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let available = match Pin::new(&mut *this.reader).poll_fill_buf(cx) {
                Poll::Ready(result) => result?,
                Poll::Pending => {
                    if this.need_flush {
                        ready!(Pin::new(&mut *this.writer).poll_flush(cx))?;
                        this.need_flush = false;
                    }
                    return Poll::Pending;
                }
            };
            if available.is_empty() {
                ready!(Pin::new(&mut *this.writer).poll_flush(cx))?;
                this.need_flush = false;
                return Poll::Ready(Ok(this.amt));
            }
            let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, available))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the writer accepted no more bytes",
                )));
            }
            Pin::new(&mut *this.reader).consume(n);
            this.amt += n as u64;
            this.need_flush = true;
        }
    }
}
