//! Asynchronous byte I/O: the [`AsyncRead`] / [`AsyncWrite`] /
//! [`AsyncBufRead`] traits (shaped like `futures-io`'s), their `async fn`
//! helpers [`AsyncReadExt`] / [`AsyncWriteExt`] / [`AsyncBufReadExt`], and
//! the toolkit tokio users know: [`BufReader`], [`BufWriter`],
//! [`BufStream`], [`copy`], [`copy_buf`], [`copy_bidirectional`],
//! [`split`], [`duplex`], [`empty`], [`sink`] and [`repeat`].
//!
//! The `poll_*` methods are what I/O types implement; the extension traits
//! are what application code calls: `stream.read(&mut buf).await`.
//!
//! [`stdin()`] reads the process's standard input without blocking the
//! runtime, whatever stdin is: a terminal, a pipe, or a regular file.
//!
//! # Cancel safety
//!
//! Every `async fn` here says what dropping its future before it completes
//! does. The rule of thumb: a future never holds bytes it took from a
//! reader unless its docs say so. Where state must outlive one call (a line
//! that arrives in two pieces), it lives in the reader ([`Lines`],
//! [`BufReader`]) or in the caller's buffer, so a `timeout` or a `select`
//! that drops the future loses nothing.
//!
//! # The cooperative budget
//!
//! The in-memory types ([`duplex`], [`empty`], [`sink`], [`repeat`], and
//! [`BufReader`] / [`BufWriter`] when they serve from their buffer) are
//! always ready, so each completed operation charges the task's budget, as
//! socket I/O does: a loop over them still lets timers and other tasks run.
//!
//! # futures-io
//!
//! With the `futures-io` feature, every I/O type here (and in
//! [`net`](crate::net)) implements `futures_io`'s traits too, so the
//! `futures` crate's combinators work on them directly, and `Compat`
//! wraps a `futures_io` type into this module's traits.

mod async_fd;
mod buf_read_ext;
mod buf_reader;
mod buf_stream;
mod buf_writer;
mod chain;
#[cfg(feature = "futures-io")]
mod compat;
mod copy;
mod copy_bidirectional;
mod duplex;
#[cfg(feature = "futures-io")]
mod futures_io;
mod pipe;
mod read_ext;
mod split;
mod stdin;
mod stdout;
mod take;
mod utf8;
mod util;
mod write_ext;

pub use crate::reactor::{Interest, Ready};

/// Unix-specific I/O: [`AsyncFd`](unix::AsyncFd), which puts any file
/// descriptor on the reactor.
pub mod unix {
    pub use super::async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
}
pub use buf_read_ext::{AsyncBufReadExt, FillBuf, Lines, ReadLine, ReadUntil, Split};
pub use buf_reader::BufReader;
pub use buf_stream::BufStream;
pub use buf_writer::BufWriter;
pub use chain::Chain;
#[cfg(feature = "futures-io")]
pub use compat::Compat;
pub use copy::{copy, copy_buf, Copy, CopyBuf};
pub use copy_bidirectional::{copy_bidirectional, CopyBidirectional};
pub use duplex::{duplex, DuplexStream};
pub use pipe::{pipe, PipeReader, PipeWriter};
pub use read_ext::{AsyncReadExt, Read, ReadExact, ReadNumber, ReadToEnd, ReadToString};
pub use split::{split, ReadHalf, WriteHalf};
pub use stdin::{stdin, Stdin};
pub use stdout::{stderr, stdout, Stderr, Stdout};
pub use take::Take;
pub use util::{empty, repeat, sink, Empty, Repeat, Sink};
pub use write_ext::{AsyncWriteExt, Flush, Shutdown, Write, WriteAll, WriteNumber};

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Reads bytes asynchronously.
///
/// `poll_read` returns `Ready(Ok(n))` with `n > 0` bytes read,
/// `Ready(Ok(0))` at end of stream (or for an empty `buf`), `Ready(Err(e))`
/// on error, or `Pending` after arranging for the task to be woken when
/// data may be available.
///
/// # Examples
///
/// A reader of one fixed message, then end of stream:
///
/// ```
/// use std::io;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use runtime::io::{AsyncRead, AsyncReadExt};
///
/// struct Hello(&'static [u8]);
///
/// impl AsyncRead for Hello {
///     fn poll_read(
///         mut self: Pin<&mut Self>,
///         _cx: &mut Context<'_>,
///         buf: &mut [u8],
///     ) -> Poll<io::Result<usize>> {
///         let n = self.0.len().min(buf.len());
///         buf[..n].copy_from_slice(&self.0[..n]);
///         self.0 = &self.0[n..];
///         Poll::Ready(Ok(n))
///     }
/// }
///
/// runtime::block_on(async {
///     let mut text = String::new();
///     Hello(b"hello").read_to_string(&mut text).await?;
///     assert_eq!(text, "hello");
///     io::Result::Ok(())
/// })?;
/// # io::Result::Ok(())
/// ```
pub trait AsyncRead {
    /// Attempts to read into `buf`.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>>;
}

/// Writes bytes asynchronously.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// runtime::block_on(async {
///     let mut out = runtime::io::sink();
///     out.write_all(b"into the void").await?;
///     out.shutdown().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait AsyncWrite {
    /// Attempts to write from `buf`; `Ready(Ok(n))` wrote the first `n`
    /// bytes.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Attempts to push buffered data to its destination.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Attempts to close the writing side (for a socket: send FIN). This is
    /// what [`AsyncWriteExt::shutdown`] awaits.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A reader with an internal buffer, which can hand out what it holds
/// without copying: the basis of line reading.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncBufReadExt, BufReader};
///
/// runtime::block_on(async {
///     let mut reader = BufReader::new(&b"first\nsecond\n"[..]);
///     assert_eq!(reader.fill_buf().await?, b"first\nsecond\n");
///     reader.consume(6);
///     assert_eq!(reader.fill_buf().await?, b"second\n");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait AsyncBufRead: AsyncRead {
    /// Attempts to return the buffered bytes, reading more into the buffer
    /// first if it is empty. An empty slice means end of stream.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks the first `amt` bytes of what
    /// [`poll_fill_buf`](AsyncBufRead::poll_fill_buf) returned as read.
    /// `amt` must not exceed that slice's length (it is clamped to it).
    fn consume(self: Pin<&mut Self>, amt: usize);
}

/// A byte slice reads as its contents, then end of stream (as
/// `std::io::Read for &[u8]`). It is always ready, so it charges the
/// cooperative budget.
impl AsyncRead for &[u8] {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        let n = self.len().min(buf.len());
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Poll::Ready(Ok(n))
    }
}

impl AsyncBufRead for &[u8] {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        Poll::Ready(Ok(*self.get_mut()))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let amt = amt.min(self.len());
        *self = &self[amt..];
    }
}

/// A `Vec` appends what is written to it, and is always ready (it charges
/// the cooperative budget).
impl AsyncWrite for Vec<u8> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(crate::coop::poll_proceed(cx));
        self.get_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Forwards the `AsyncRead` / `AsyncBufRead` / `AsyncWrite` methods of a
/// pointer type (`&mut T`, `Box<T>`) to its target.
macro_rules! deref_impls {
    ($($ptr:ty),*) => {$(
        impl<T: AsyncRead + Unpin + ?Sized> AsyncRead for $ptr {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut **self).poll_read(cx, buf)
            }
        }

        impl<T: AsyncBufRead + Unpin + ?Sized> AsyncBufRead for $ptr {
            fn poll_fill_buf(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<&[u8]>> {
                Pin::new(&mut **self.get_mut()).poll_fill_buf(cx)
            }

            fn consume(mut self: Pin<&mut Self>, amt: usize) {
                Pin::new(&mut **self).consume(amt)
            }
        }

        impl<T: AsyncWrite + Unpin + ?Sized> AsyncWrite for $ptr {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut **self).poll_write(cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut **self).poll_flush(cx)
            }

            fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut **self).poll_close(cx)
            }
        }
    )*};
}

deref_impls!(&mut T, Box<T>);
