//! [`AsyncWriteExt`]: the `async fn` helpers of every [`AsyncWrite`], and
//! their futures.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::AsyncWrite;

/// Defines `AsyncWriteExt` methods that write a number of several bytes.
macro_rules! write_numbers {
    ($(#[doc = $what:literal] $name:ident($ty:ty), $encode:ident;)*) => {$(
        #[doc = concat!("Writes ", $what, ".")]
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: a future dropped after writing some of the
        /// number's bytes leaves the stream out of step.
        ///
        /// # Errors
        ///
        /// `WriteZero` if the writer accepts no more bytes, or the writer's
        /// error.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::io::AsyncWriteExt;
        ///
        /// runtime::block_on(async {
        ///     let mut bytes = Vec::new();
        #[doc = concat!("    bytes.", stringify!($name), "(1 as ", stringify!($ty), ").await?;")]
        #[doc = concat!("    assert_eq!(bytes, (1 as ", stringify!($ty), ").", stringify!($encode), "());")]
        ///     std::io::Result::Ok(())
        /// })?;
        /// # std::io::Result::Ok(())
        /// ```
        fn $name(&mut self, n: $ty) -> WriteNumber<'_, Self>
        where
            Self: Unpin,
        {
            WriteNumber::new(self, &n.$encode())
        }
    )*};
}

/// `async fn` helpers for every [`AsyncWrite`].
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut a, mut b) = runtime::io::duplex(64);
///     a.write_u32(7).await?;
///     a.write_all(b"seven").await?;
///     a.shutdown().await?; // b reads end of stream after the data
///     assert_eq!(b.read_u32().await?, 7);
///     let mut rest = String::new();
///     b.read_to_string(&mut rest).await?;
///     assert_eq!(rest, "seven");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes from `buf`; returns how many.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped future wrote nothing.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, buf }
    }

    /// Writes all of `buf`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: a future dropped before it completes may have
    /// written a prefix of `buf`, with its length unknown; the writer stays
    /// usable.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the writer accepts no more bytes, or the writer's
    /// error.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, buf }
    }

    /// Flushes buffered data.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: what was flushed stays flushed, and the rest stays
    /// buffered for the next flush.
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Shuts down the writing side, after flushing: for a socket, the peer
    /// reads end of stream, and this side can still read. As tokio's
    /// `shutdown`, backed by [`AsyncWrite::poll_close`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: call it again to finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    /// use runtime::net::{TcpListener, TcpStream};
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.shutdown().await?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0);
    ///     server.write_all(b"still open this way").await?;
    ///     let mut got = Vec::new();
    ///     server.shutdown().await?;
    ///     client.read_to_end(&mut got).await?;
    ///     assert_eq!(got, b"still open this way");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    /// The same as [`shutdown`](AsyncWriteExt::shutdown), under
    /// futures-io's name.
    fn close(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    /// Writes one byte.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped future wrote nothing.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the writer accepts no more bytes, or the writer's
    /// error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncWriteExt;
    ///
    /// runtime::block_on(async {
    ///     let mut bytes = Vec::new();
    ///     bytes.write_u8(1).await?;
    ///     bytes.write_i8(-1).await?;
    ///     assert_eq!(bytes, [1, 0xff]);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn write_u8(&mut self, n: u8) -> WriteNumber<'_, Self>
    where
        Self: Unpin,
    {
        WriteNumber::new(self, &[n])
    }

    /// Writes one byte from an `i8`. Cancel-safe, like
    /// [`write_u8`](AsyncWriteExt::write_u8), which has an example.
    fn write_i8(&mut self, n: i8) -> WriteNumber<'_, Self>
    where
        Self: Unpin,
    {
        WriteNumber::new(self, &n.to_be_bytes())
    }

    write_numbers! {
        /// a big-endian `u16`
        write_u16(u16), to_be_bytes;
        /// a little-endian `u16`
        write_u16_le(u16), to_le_bytes;
        /// a big-endian `i16`
        write_i16(i16), to_be_bytes;
        /// a little-endian `i16`
        write_i16_le(i16), to_le_bytes;
        /// a big-endian `u32`
        write_u32(u32), to_be_bytes;
        /// a little-endian `u32`
        write_u32_le(u32), to_le_bytes;
        /// a big-endian `i32`
        write_i32(i32), to_be_bytes;
        /// a little-endian `i32`
        write_i32_le(i32), to_le_bytes;
        /// a big-endian `u64`
        write_u64(u64), to_be_bytes;
        /// a little-endian `u64`
        write_u64_le(u64), to_le_bytes;
        /// a big-endian `i64`
        write_i64(i64), to_be_bytes;
        /// a little-endian `i64`
        write_i64_le(i64), to_le_bytes;
        /// a big-endian `u128`
        write_u128(u128), to_be_bytes;
        /// a little-endian `u128`
        write_u128_le(u128), to_le_bytes;
        /// a big-endian `i128`
        write_i128(i128), to_be_bytes;
        /// a little-endian `i128`
        write_i128_le(i128), to_le_bytes;
        /// a big-endian `f32`
        write_f32(f32), to_be_bytes;
        /// a little-endian `f32`
        write_f32_le(f32), to_le_bytes;
        /// a big-endian `f64`
        write_f64(f64), to_be_bytes;
        /// a little-endian `f64`
        write_f64_le(f64), to_le_bytes;
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// The future of [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Write<'a, W: ?Sized> {
    /// The writer.
    writer: &'a mut W,
    /// The bytes to write.
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut *this.writer).poll_write(cx, this.buf)
    }
}

/// Writes all of `buf`, advancing it past what was written.
fn poll_write_all<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    cx: &mut Context<'_>,
    buf: &mut &[u8],
) -> Poll<io::Result<()>> {
    while !buf.is_empty() {
        let n = ready!(Pin::new(&mut *writer).poll_write(cx, buf))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        *buf = &buf[n..];
    }
    Poll::Ready(Ok(()))
}

/// The future of [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct WriteAll<'a, W: ?Sized> {
    /// The writer.
    writer: &'a mut W,
    /// The bytes still to write.
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_write_all(this.writer, cx, &mut this.buf)
    }
}

/// The future of [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Flush<'a, W: ?Sized> {
    /// The writer.
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
    }
}

/// The future of [`AsyncWriteExt::shutdown`] and
/// [`AsyncWriteExt::close`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Shutdown<'a, W: ?Sized> {
    /// The writer.
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().writer).poll_close(cx)
    }
}

/// The future of the `AsyncWriteExt::write_u8` … `write_f64_le` family.
#[must_use = "futures do nothing unless awaited"]
pub struct WriteNumber<'a, W: ?Sized> {
    /// The writer.
    writer: &'a mut W,
    /// The number's bytes (the first `size`).
    bytes: [u8; 16],
    /// How many bytes the number has.
    size: usize,
    /// How many have been written.
    written: usize,
}

impl<'a, W: ?Sized> WriteNumber<'a, W> {
    /// Writes `encoded` (at most 16 bytes) to `writer`.
    fn new(writer: &'a mut W, encoded: &[u8]) -> Self {
        let mut bytes = [0; 16];
        bytes[..encoded.len()].copy_from_slice(encoded);
        WriteNumber {
            writer,
            bytes,
            size: encoded.len(),
            written: 0,
        }
    }
}

impl<W: ?Sized> fmt::Debug for WriteNumber<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteNumber")
            .field("size", &self.size)
            .field("written", &self.written)
            .finish()
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteNumber<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut rest = &this.bytes[this.written..this.size];
        let before = rest.len();
        let result = poll_write_all(this.writer, cx, &mut rest);
        this.written += before - rest.len();
        result
    }
}
