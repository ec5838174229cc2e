//! [`AsyncReadExt`]: the `async fn` helpers of every [`AsyncRead`], and
//! their futures.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::utf8::Utf8Appender;
use super::{AsyncRead, Chain, Take};

/// Defines `AsyncReadExt` methods that read a number of several bytes.
macro_rules! read_numbers {
    ($(#[doc = $what:literal] $name:ident / $write:ident -> $ty:ty, $decode:ident;)*) => {$(
        #[doc = concat!("Reads ", $what, ".")]
        ///
        /// # Cancel safety
        ///
        /// Not cancel-safe: if the future is dropped after some of the
        /// number's bytes arrived, they are lost and the stream is out of
        /// step. Read from a [`BufReader`](super::BufReader) and peek with
        /// [`fill_buf`](super::AsyncBufReadExt::fill_buf) where that
        /// matters.
        ///
        /// # Errors
        ///
        /// `UnexpectedEof` if the stream ends before all of its bytes, or
        /// the reader's error.
        ///
        /// # Examples
        ///
        /// ```
        /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
        ///
        /// runtime::block_on(async {
        #[doc = concat!("    let value = 42 as ", stringify!($ty), ";")]
        ///     let mut bytes = Vec::new();
        #[doc = concat!("    bytes.", stringify!($write), "(value).await?;")]
        #[doc = concat!("    assert_eq!((&bytes[..]).", stringify!($name), "().await?, value);")]
        ///     std::io::Result::Ok(())
        /// })?;
        /// # std::io::Result::Ok(())
        /// ```
        fn $name(&mut self) -> ReadNumber<'_, Self, $ty>
        where
            Self: Unpin,
        {
            ReadNumber::new(self, std::mem::size_of::<$ty>(), |b| {
                <$ty>::$decode(b.try_into().expect("the future read exactly the number's size"))
            })
        }
    )*};
}

/// `async fn` helpers for every [`AsyncRead`].
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
///     client.write_all(b"hello").await?;
///     client.shutdown().await?;
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).await?;
///     assert_eq!(got, b"hello");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`; `Ok(0)` means end of stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: bytes are only taken from the reader by a read that
    /// completes, so a dropped future loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut buf = [0; 4];
    ///     let n = (&b"hello"[..]).read(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hell");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: the bytes read before the future was dropped are in
    /// `buf`, but how many is lost.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first; the bytes read so far are in
    /// `buf` but their count is lost, as with `std::io::Read::read_exact`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut buf = [0; 5];
    ///     (&b"hello, world"[..]).read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hello");
    ///     let err = (&b"hi"[..]).read_exact(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact { reader: self, buf }
    }

    /// Reads until end of stream, appending to `buf`; returns how many bytes
    /// were appended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe as far as the data goes: every byte read before the
    /// future was dropped is in `buf` (only the count is lost), so calling
    /// again continues where it stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut all = b"> ".to_vec();
    ///     assert_eq!((&b"abc"[..]).read_to_end(&mut all).await?, 3);
    ///     assert_eq!(all, b"> abc");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start = buf.len();
        ReadToEnd {
            reader: self,
            buf,
            start,
        }
    }

    /// Reads until end of stream, appending to `buf`, which must be UTF-8;
    /// returns how many bytes were appended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe for whole characters: text is appended to `buf` as it
    /// arrives, so what was read before the future was dropped is there.
    /// The exception is a character whose bytes were split between two
    /// reads: its first bytes (at most three) wait in the future for the
    /// rest and are lost with it. For a lossless reader of text, keep the
    /// state in the reader: use [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines).
    ///
    /// # Errors
    ///
    /// `InvalidData` if the stream is not UTF-8; `buf` is then left as it
    /// was before the call. Or the reader's error (`buf` keeps the text
    /// read before it).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut text = String::new();
    ///     "grüße".as_bytes().read_to_string(&mut text).await?;
    ///     assert_eq!(text, "grüße");
    ///     let err = (&b"\xff"[..]).read_to_string(&mut text).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    ///     assert_eq!(text, "grüße");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString {
            reader: self,
            text: Utf8Appender::new(buf),
            chunk: Vec::new(),
        }
    }

    /// Reads at most `limit` bytes from this reader, then reports end of
    /// stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut head = Vec::new();
    ///     (&b"hello, world"[..]).take(5).read_to_end(&mut head).await?;
    ///     assert_eq!(head, b"hello");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take::new(self, limit)
    }

    /// Reads this reader to its end, then `next`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut both = Vec::new();
    ///     (&b"hello, "[..]).chain(&b"world"[..]).read_to_end(&mut both).await?;
    ///     assert_eq!(both, b"hello, world");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain::new(self, next)
    }

    /// Reads one byte.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the byte is taken from the reader only by a read that
    /// completes the future.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` at end of stream, or the reader's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    ///
    /// runtime::block_on(async {
    ///     let mut reader = &[7u8, 0xff][..];
    ///     assert_eq!(reader.read_u8().await?, 7);
    ///     assert_eq!(reader.read_i8().await?, -1);
    ///     assert!(reader.read_u8().await.is_err());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    fn read_u8(&mut self) -> ReadNumber<'_, Self, u8>
    where
        Self: Unpin,
    {
        ReadNumber::new(self, 1, |b| b[0])
    }

    /// Reads one byte as an `i8`. Cancel-safe, like
    /// [`read_u8`](AsyncReadExt::read_u8), which has an example.
    fn read_i8(&mut self) -> ReadNumber<'_, Self, i8>
    where
        Self: Unpin,
    {
        ReadNumber::new(self, 1, |b| b[0] as i8)
    }

    read_numbers! {
        /// a big-endian `u16`
        read_u16 / write_u16 -> u16, from_be_bytes;
        /// a little-endian `u16`
        read_u16_le / write_u16_le -> u16, from_le_bytes;
        /// a big-endian `i16`
        read_i16 / write_i16 -> i16, from_be_bytes;
        /// a little-endian `i16`
        read_i16_le / write_i16_le -> i16, from_le_bytes;
        /// a big-endian `u32`
        read_u32 / write_u32 -> u32, from_be_bytes;
        /// a little-endian `u32`
        read_u32_le / write_u32_le -> u32, from_le_bytes;
        /// a big-endian `i32`
        read_i32 / write_i32 -> i32, from_be_bytes;
        /// a little-endian `i32`
        read_i32_le / write_i32_le -> i32, from_le_bytes;
        /// a big-endian `u64`
        read_u64 / write_u64 -> u64, from_be_bytes;
        /// a little-endian `u64`
        read_u64_le / write_u64_le -> u64, from_le_bytes;
        /// a big-endian `i64`
        read_i64 / write_i64 -> i64, from_be_bytes;
        /// a little-endian `i64`
        read_i64_le / write_i64_le -> i64, from_le_bytes;
        /// a big-endian `u128`
        read_u128 / write_u128 -> u128, from_be_bytes;
        /// a little-endian `u128`
        read_u128_le / write_u128_le -> u128, from_le_bytes;
        /// a big-endian `i128`
        read_i128 / write_i128 -> i128, from_be_bytes;
        /// a little-endian `i128`
        read_i128_le / write_i128_le -> i128, from_le_bytes;
        /// a big-endian `f32`
        read_f32 / write_f32 -> f32, from_be_bytes;
        /// a little-endian `f32`
        read_f32_le / write_f32_le -> f32, from_le_bytes;
        /// a big-endian `f64`
        read_f64 / write_f64 -> f64, from_be_bytes;
        /// a little-endian `f64`
        read_f64_le / write_f64_le -> f64, from_le_bytes;
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Read<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// Where the bytes go.
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        Pin::new(&mut *this.reader).poll_read(cx, this.buf)
    }
}

/// The future of [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ReadExact<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// The part of the buffer still to fill.
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            let n = ready!(Pin::new(&mut *this.reader).poll_read(cx, this.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            let rest = std::mem::take(&mut this.buf);
            this.buf = &mut rest[n..];
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncReadExt::read_to_end`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ReadToEnd<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// Where the bytes are appended.
    buf: &'a mut Vec<u8>,
    /// `buf.len()` when the read started.
    start: usize,
}

/// How much `read_to_end` grows its buffer by at least, per read.
const READ_TO_END_CHUNK: usize = 8 * 1024;

/// The most `read_to_end` asks for in one read.
const READ_TO_END_MAX_READ: usize = 64 * 1024;

/// Reads once from `reader`, appending to `buf` (growing it as
/// `read_to_end` does); `Ready(Ok(0))` is end of stream. On every path out,
/// `buf` holds exactly the bytes read.
fn poll_append<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
    appended: usize,
) -> Poll<io::Result<usize>> {
    let filled = buf.len();
    if buf.capacity() - filled < READ_TO_END_CHUNK {
        buf.reserve(READ_TO_END_CHUNK.max(appended));
    }
    // Zero (and offer) at most one chunk of the spare capacity per read:
    // zeroing all of it each time would cost O(capacity) per read, quadratic
    // when a peer trickles its data.
    let spare = (buf.capacity() - filled).min(READ_TO_END_MAX_READ);
    buf.resize(filled + spare, 0);
    let poll = Pin::new(reader).poll_read(cx, &mut buf[filled..]);
    // Keep exactly the bytes read, `Pending` and errors included.
    let n = match &poll {
        Poll::Ready(Ok(n)) => *n,
        _ => 0,
    };
    buf.truncate(filled + n);
    poll
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let appended = this.buf.len() - this.start;
            if ready!(poll_append(this.reader, cx, this.buf, appended))? == 0 {
                return Poll::Ready(Ok(this.buf.len() - this.start));
            }
        }
    }
}

/// The future of [`AsyncReadExt::read_to_string`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ReadToString<'a, R: ?Sized> {
    /// The reader.
    reader: &'a mut R,
    /// The caller's string, and the start of a character not complete yet.
    text: Utf8Appender<'a>,
    /// Scratch space for one read (its bytes go to `text` at once).
    chunk: Vec<u8>,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            this.chunk.clear();
            let n = ready!(poll_append(this.reader, cx, &mut this.chunk, 0))?;
            if n == 0 {
                return Poll::Ready(this.text.finish());
            }
            this.text.push(&this.chunk);
            if this.text.is_invalid() {
                // No need to read the rest: the outcome is known.
                return Poll::Ready(this.text.finish());
            }
        }
    }
}

/// The future of the `AsyncReadExt::read_u8` … `read_f64_le` family:
/// reads a number's bytes, then decodes them.
#[must_use = "futures do nothing unless awaited"]
pub struct ReadNumber<'a, R: ?Sized, T> {
    /// The reader.
    reader: &'a mut R,
    /// The bytes read so far (the first `filled` of `size`).
    bytes: [u8; 16],
    /// How many bytes the number has (at most 16).
    size: usize,
    /// How many have been read.
    filled: usize,
    /// Turns the `size` bytes into the number.
    decode: fn(&[u8]) -> T,
}

impl<'a, R: ?Sized, T> ReadNumber<'a, R, T> {
    /// Reads `size` bytes from `reader` and decodes them with `decode`.
    fn new(reader: &'a mut R, size: usize, decode: fn(&[u8]) -> T) -> Self {
        ReadNumber {
            reader,
            bytes: [0; 16],
            size,
            filled: 0,
            decode,
        }
    }
}

impl<R: ?Sized, T> fmt::Debug for ReadNumber<'_, R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadNumber")
            .field("size", &self.size)
            .field("filled", &self.filled)
            .finish()
    }
}

impl<R: AsyncRead + Unpin + ?Sized, T> Future for ReadNumber<'_, R, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while this.filled < this.size {
            let rest = &mut this.bytes[this.filled..this.size];
            let n = ready!(Pin::new(&mut *this.reader).poll_read(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            this.filled += n;
        }
        Poll::Ready(Ok((this.decode)(&this.bytes[..this.size])))
    }
}
