//! [`empty`], [`sink`] and [`repeat`]: the always-ready streams.
//!
//! Each completes every operation at once, for ever, so each charges the
//! cooperative budget: a loop over one of them still yields to timers and
//! other tasks.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::{AsyncBufRead, AsyncRead, AsyncWrite};
use crate::coop;

/// A reader that is always at end of stream, and a writer that accepts and
/// discards every byte.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let mut nothing = runtime::io::empty();
///     let mut buf = Vec::new();
///     assert_eq!(nothing.read_to_end(&mut buf).await?, 0);
///     assert_eq!(nothing.write(b"gone").await?, 4);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

/// The stream of [`empty`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    /// Made only by [`empty`].
    _private: (),
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _amt: usize) {}
}

impl AsyncWrite for Empty {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(()))
    }
}

/// A writer that accepts and discards every byte.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let mut reader = &b"discarded"[..];
///     let n = runtime::io::copy(&mut reader, &mut runtime::io::sink()).await?;
///     assert_eq!(n, 9);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

/// The writer of [`sink`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    /// Made only by [`sink`].
    _private: (),
}

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(coop::poll_proceed(cx));
        Poll::Ready(Ok(()))
    }
}

/// A reader that yields `byte` for ever.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
///
/// runtime::block_on(async {
///     let mut zeros = Vec::new();
///     runtime::io::repeat(0).take(1000).read_to_end(&mut zeros).await?;
///     assert_eq!(zeros, vec![0; 1000]);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

/// The reader of [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    /// The byte it yields.
    byte: u8,
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ready!(coop::poll_proceed(cx));
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }
}
