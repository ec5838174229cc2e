//! A [`UnixStream`] split in two: borrowed halves ([`UnixStream::split`])
//! for two futures of one task, owned halves ([`UnixStream::into_split`])
//! for two tasks. The same shape as TCP's halves (`net/split.rs`).
//!
//! Reads and writes already work through `&UnixStream`, so a half is only
//! a reference (or an `Rc`) with the one direction's traits: no lock, no
//! cost. The owned halves are `!Send`, as every task of this runtime may
//! be.

use std::error::Error;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{SocketAddr, UnixStream};
use crate::io::{AsyncRead, AsyncWrite};

/// The reading half of a borrowed [`UnixStream::split`].
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut a, mut b) = runtime::net::UnixStream::pair()?;
///     b.write_all(b"r").await?;
///     let (mut read, _write) = a.split();
///     let mut buf = [0; 1];
///     read.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"r");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a> {
    /// The stream.
    stream: &'a UnixStream,
}

/// The writing half of a borrowed [`UnixStream::split`].
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut a, mut b) = runtime::net::UnixStream::pair()?;
///     let (_read, mut write) = a.split();
///     write.write_all(b"w").await?;
///     let mut buf = [0; 1];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"w");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a> {
    /// The stream.
    stream: &'a UnixStream,
}

impl<'a> ReadHalf<'a> {
    /// Both halves of `stream`.
    pub(crate) fn pair(stream: &'a mut UnixStream) -> (ReadHalf<'a>, WriteHalf<'a>) {
        let stream = &*stream;
        (ReadHalf { stream }, WriteHalf { stream })
    }

    /// The remote address; see [`UnixStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// What `getpeername` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (mut a, _b) = runtime::net::UnixStream::pair()?;
    ///     let (read, _write) = a.split();
    ///     assert!(read.peer_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address; see [`UnixStream::local_addr`].
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (mut a, _b) = runtime::net::UnixStream::pair()?;
    ///     let (read, _write) = a.split();
    ///     assert!(read.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl WriteHalf<'_> {
    /// The remote address; see [`UnixStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// What `getpeername` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (mut a, _b) = runtime::net::UnixStream::pair()?;
    ///     let (_read, write) = a.split();
    ///     assert!(write.peer_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address; see [`UnixStream::local_addr`].
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (mut a, _b) = runtime::net::UnixStream::pair()?;
    ///     let (_read, write) = a.split();
    ///     assert!(write.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shut_down_writes())
    }
}

/// The reading half of [`UnixStream::into_split`].
///
/// # Examples
///
/// See [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    /// The stream, shared with the write half.
    stream: Rc<UnixStream>,
}

/// The writing half of [`UnixStream::into_split`]. Dropping it shuts the
/// write side down, so the peer reads EOF, unless
/// [`forget`](OwnedWriteHalf::forget) was called.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
///
/// runtime::block_on(async {
///     let (a, mut b) = runtime::net::UnixStream::pair()?;
///     let (_read, write) = a.into_split();
///     drop(write);
///     assert_eq!(b.read(&mut [0; 8]).await?, 0, "EOF");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    /// The stream, shared with the read half.
    stream: Rc<UnixStream>,
    /// Whether dropping the half shuts the write side down.
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    /// Both halves of `stream`.
    pub(crate) fn pair(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Rc::new(stream);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf {
                stream,
                shutdown_on_drop: true,
            },
        )
    }

    /// Puts the two halves of one stream back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`], holding both halves, if they come from different
    /// streams.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (a_read, a_write) = a.into_split();
    ///     let (b_read, b_write) = b.into_split();
    ///     let mixed = a_read.reunite(b_write).unwrap_err();
    ///     let (a_read, b_write) = (mixed.0, mixed.1);
    ///     let _a = a_read.reunite(a_write).expect("same stream");
    ///     let _b = b_write.reunite(b_read).expect("same stream");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Rc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        let mut write = other;
        write.shutdown_on_drop = false;
        let stream = write.stream.clone();
        drop(write);
        drop(self);
        Ok(Rc::try_unwrap(stream).expect("the two halves held the only references"))
    }

    /// Waits until the stream may be readable; see
    /// [`UnixStream::readable`]. Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::readable`].
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _ = write;
    ///     b.writable().await?;
    ///     b.try_write(b"x")?;
    ///     read.readable().await?;
    ///     assert_eq!(read.try_read(&mut [0; 4])?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Reads once without waiting; see [`UnixStream::try_read`].
    ///
    /// # Errors
    ///
    /// As [`UnixStream::try_read`].
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _ = write;
    ///     assert_eq!(read.try_read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    ///     drop(b);
    ///     read.readable().await?;
    ///     assert_eq!(read.try_read(&mut [0; 4])?, 0, "EOF");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// The remote address; see [`UnixStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// What `getpeername` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _keep = (write, b);
    ///     assert!(read.peer_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address; see [`UnixStream::local_addr`].
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _keep = (write, b);
    ///     assert!(read.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf {
    /// Keeps the write side open when this half is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// runtime::block_on(async {
    ///     let (a, mut b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     write.forget();
    ///     b.write_all(b"still open").await?;
    ///     let mut read = read;
    ///     let mut buf = [0; 10];
    ///     read.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"still open");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Puts the two halves back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if they come from different streams.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _ = b;
    ///     let _a = write.reunite(read).expect("halves of one stream");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn reunite(self, other: OwnedReadHalf) -> Result<UnixStream, ReuniteError> {
        other.reunite(self)
    }

    /// Waits until the stream may be writable; see
    /// [`UnixStream::writable`]. Cancel-safe: waiting consumes nothing.
    ///
    /// # Errors
    ///
    /// As [`UnixStream::writable`].
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _ = read;
    ///     write.writable().await?;
    ///     assert_eq!(write.try_write(b"x")?, 1);
    ///     b.readable().await?;
    ///     assert_eq!(b.try_read(&mut [0; 4])?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Writes once without waiting; see [`UnixStream::try_write`].
    ///
    /// # Errors
    ///
    /// As [`UnixStream::try_write`].
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _keep = (read, b);
    ///     write.writable().await?;
    ///     assert_eq!(write.try_write(b"x")?, 1);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// The remote address; see [`UnixStream::peer_addr`].
    ///
    /// # Errors
    ///
    /// What `getpeername` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _keep = (read, b);
    ///     assert!(write.peer_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address; see [`UnixStream::local_addr`].
    ///
    /// # Errors
    ///
    /// What `getsockname` says.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (a, b) = runtime::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let _keep = (read, b);
    ///     assert!(write.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // Errors are ignored: the peer may be gone already, and `Drop`
            // must not fail.
            let _ = self.stream.shut_down_writes();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = self.stream.shut_down_writes();
        // Shut down once: the drop need not do it again.
        self.shutdown_on_drop = false;
        Poll::Ready(result)
    }
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different
/// streams. Both are given back.
///
/// # Examples
///
/// See [`OwnedReadHalf::reunite`].
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same Unix stream")
    }
}

impl Error for ReuniteError {}
