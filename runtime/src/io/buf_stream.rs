//! [`BufStream`]: buffering both directions of a stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncBufRead, AsyncRead, AsyncWrite, BufReader, BufWriter};

pin_project! {
    /// A [`BufReader`] and a [`BufWriter`] around one stream: reads and
    /// writes are both buffered. Flush (or shut down) to send what was
    /// written.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncBufReadExt, AsyncWriteExt, BufStream};
    ///
    /// runtime::block_on(async {
    ///     let (near, mut far) = runtime::io::duplex(1024);
    ///     let mut near = BufStream::new(near);
    ///     near.write_all(b"ping\n").await?;
    ///     near.flush().await?;
    ///     far.write_all(b"pong\n").await?;
    ///     let mut line = String::new();
    ///     near.read_line(&mut line).await?;
    ///     assert_eq!(line, "pong\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[derive(Debug)]
    pub struct BufStream<S> {
        // The stream, with its two buffers.
        #[pin]
        inner: BufReader<BufWriter<S>>,
    }
}

impl<S: AsyncRead + AsyncWrite> BufStream<S> {
    /// Buffers `stream` with 8 KiB for each direction.
    ///
    /// # Examples
    ///
    /// See [`BufStream`].
    pub fn new(stream: S) -> BufStream<S> {
        BufStream {
            inner: BufReader::new(BufWriter::new(stream)),
        }
    }

    /// Buffers `stream` with the given capacities.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = runtime::io::duplex(64);
    /// let stream = runtime::io::BufStream::with_capacity(1024, 512, a);
    /// # drop(stream);
    /// ```
    pub fn with_capacity(
        reader_capacity: usize,
        writer_capacity: usize,
        stream: S,
    ) -> BufStream<S> {
        BufStream {
            inner: BufReader::with_capacity(
                reader_capacity,
                BufWriter::with_capacity(writer_capacity, stream),
            ),
        }
    }
}

impl<S> BufStream<S> {
    /// The stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::pin::Pin;
    ///
    /// let mut stream = runtime::io::BufStream::new(runtime::io::empty());
    /// let _: &runtime::io::Empty = stream.get_ref();
    /// let _: &mut runtime::io::Empty = stream.get_mut();
    /// let _: Pin<&mut runtime::io::Empty> = Pin::new(&mut stream).get_pin_mut();
    /// ```
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref().get_ref()
    }

    /// The stream. Using it directly skips both buffers.
    ///
    /// The example of [`get_ref`](Self::get_ref) shows it.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut().get_mut()
    }

    /// The stream, pinned.
    ///
    /// The example of [`get_ref`](Self::get_ref) shows it.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().inner.get_pin_mut().get_pin_mut()
    }

    /// The stream back; what either buffer held is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = runtime::io::duplex(64);
    /// let a = runtime::io::BufStream::new(a).into_inner();
    /// # drop(a);
    /// ```
    pub fn into_inner(self) -> S {
        self.inner.into_inner().into_inner()
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncRead for BufStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncBufRead for BufStream<S> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncWrite for BufStream<S> {
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
