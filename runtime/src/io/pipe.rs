//! [`pipe()`]: an anonymous pipe whose two ends are on the reactor.
//!
//! Both ends are close-on-exec, so no child inherits them by accident, and
//! nonblocking, which is safe: the two ends of a new pipe are two open
//! file descriptions that only this process holds. To give an end to a
//! child as its stdin, stdout or stderr, convert it into a
//! [`Stdio`](std::process::Stdio) (or an fd with
//! [`into_blocking_fd`](PipeReader::into_blocking_fd)): that takes it off
//! the reactor and makes it blocking again, as programs expect of their
//! standard streams.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::executor::context;
use crate::io::{AsyncRead, AsyncWrite};
use crate::reactor::{Direction, Interest, Registration};
use crate::sys::pipe::{self as sys, Pipe};

/// Creates an anonymous pipe: `(writer, reader)`, in tokio's order
/// (`tokio::net::unix::pipe::pipe` returns `(Sender, Receiver)`), with the
/// names of `std::io::pipe`'s types. Bytes written to the [`PipeWriter`]
/// come out of the [`PipeReader`]; the reader sees end of stream once the
/// writer is dropped or [closed](crate::io::AsyncWriteExt::close).
///
/// # Errors
///
/// When no file descriptor is left, or the runtime is shutting down.
///
/// # Panics
///
/// Outside a runtime.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut writer, mut reader) = runtime::io::pipe()?;
///     writer.write_all(b"through the pipe").await?;
///     drop(writer);
///     let mut got = Vec::new();
///     reader.read_to_end(&mut got).await?;
///     assert_eq!(got, b"through the pipe");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
///
/// The write end as a child's stdout:
///
/// ```
/// use runtime::io::AsyncReadExt;
/// use runtime::process::{Command, Stdio};
///
/// runtime::block_on(async {
///     let (writer, mut reader) = runtime::io::pipe()?;
///     let mut child = Command::new("echo")
///         .arg("hello")
///         .stdout(Stdio::try_from(writer)?)
///         .spawn()?;
///     let mut got = Vec::new();
///     reader.read_to_end(&mut got).await?;
///     assert_eq!(got, b"hello\n");
///     assert!(child.wait().await?.success());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn pipe() -> io::Result<(PipeWriter, PipeReader)> {
    let (read, write) = sys::pipe()?;
    let writer = PipeWriter::from_nonblocking(write)?;
    let reader = PipeReader::from_nonblocking(read)?;
    Ok((writer, reader))
}

/// The reading end of a pipe: from [`pipe()`], or a child's stdout or
/// stderr. Reads never block the runtime; `Ok(0)` is end of stream (every
/// writer is gone).
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
///
/// runtime::block_on(async {
///     let (writer, mut reader) = runtime::io::pipe()?;
///     drop(writer);
///     let mut buf = [0; 16];
///     assert_eq!(reader.read(&mut buf).await?, 0);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct PipeReader {
    /// The read end, nonblocking, registered for reads.
    io: Registration<Pipe>,
}

impl fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeReader")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl PipeReader {
    /// Registers `fd`, a read end that this process alone holds and that is
    /// nonblocking already, with the current runtime.
    pub(crate) fn from_nonblocking(fd: OwnedFd) -> io::Result<PipeReader> {
        let reactor = context::current().reactor.clone();
        let io = Registration::with_interest(Pipe::from_owned(fd), reactor, Interest::READABLE)?;
        Ok(PipeReader { io })
    }

    /// Takes the end off the reactor and returns its fd in blocking mode,
    /// for a child or for blocking code.
    ///
    /// # Errors
    ///
    /// If the flag cannot be changed (the fd is then closed).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (_writer, reader) = runtime::io::pipe()?;
    ///     let fd = reader.into_blocking_fd()?;
    ///     let stdin = std::process::Stdio::from(fd);
    ///     # drop(stdin);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.io.into_inner().into_owned();
        sys::set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

impl AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Read, buf.len(), |pipe| pipe.read(buf))
    }
}

impl AsFd for PipeReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for PipeReader {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl TryFrom<PipeReader> for std::process::Stdio {
    type Error = io::Error;

    /// The end as a child's stdio, in blocking mode; see
    /// [`PipeReader::into_blocking_fd`].
    fn try_from(reader: PipeReader) -> io::Result<std::process::Stdio> {
        reader.into_blocking_fd().map(std::process::Stdio::from)
    }
}

/// The writing end of a pipe: from [`pipe()`], or a child's stdin. Writes
/// never block the runtime; [`close`](crate::io::AsyncWriteExt::close)
/// closes the end at once, so the reader sees end of stream even while
/// the `PipeWriter` lives.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut writer, mut reader) = runtime::io::pipe()?;
///     writer.write_all(b"last words").await?;
///     writer.close().await?;
///     let mut got = Vec::new();
///     reader.read_to_end(&mut got).await?;
///     assert_eq!(got, b"last words");
///     // Writing after close is an error, not a panic.
///     assert!(writer.write_all(b"more").await.is_err());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct PipeWriter {
    /// The write end, nonblocking, registered for writes; `None` once
    /// closed.
    io: Option<Registration<Pipe>>,
}

impl fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeWriter")
            .field(
                "fd",
                &self.io.as_ref().map(|io| io.get_ref().as_fd().as_raw_fd()),
            )
            .finish()
    }
}

/// The error of writing to a [`PipeWriter`] after closing it.
fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the pipe's write end was closed by this process",
    )
}

impl PipeWriter {
    /// Registers `fd`, a write end that this process alone holds and that
    /// is nonblocking already, with the current runtime.
    pub(crate) fn from_nonblocking(fd: OwnedFd) -> io::Result<PipeWriter> {
        let reactor = context::current().reactor.clone();
        let io = Registration::with_interest(Pipe::from_owned(fd), reactor, Interest::WRITABLE)?;
        Ok(PipeWriter { io: Some(io) })
    }

    /// Takes the end off the reactor and returns its fd in blocking mode,
    /// for a child or for blocking code.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if it was closed already; if the flag cannot be changed
    /// (the fd is then closed).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let (writer, _reader) = runtime::io::pipe()?;
    ///     let stdout = std::process::Stdio::from(writer.into_blocking_fd()?);
    ///     # drop(stdout);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_blocking_fd(mut self) -> io::Result<OwnedFd> {
        let io = self.io.take().ok_or_else(closed_error)?;
        let fd = io.into_inner().into_owned();
        sys::set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }

    /// The fd, unless closed.
    fn raw(&self) -> Option<RawFd> {
        self.io.as_ref().map(|io| io.get_ref().as_fd().as_raw_fd())
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &self.io {
            Some(io) => io.poll_stream_io(cx, Direction::Write, buf.len(), |pipe| pipe.write(buf)),
            None => Poll::Ready(Err(closed_error())),
        }
    }

    /// Nothing is buffered: always ready.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the write end (deregistering it first); later calls do
    /// nothing.
    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.io.take());
        Poll::Ready(Ok(()))
    }
}

impl AsFd for PipeWriter {
    /// # Panics
    ///
    /// If the writer was closed: there is no fd to lend.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io
            .as_ref()
            .expect("PipeWriter::as_fd after close: the fd is gone")
            .get_ref()
            .as_fd()
    }
}

impl AsRawFd for PipeWriter {
    /// -1 once closed.
    fn as_raw_fd(&self) -> RawFd {
        self.raw().unwrap_or(-1)
    }
}

impl TryFrom<PipeWriter> for std::process::Stdio {
    type Error = io::Error;

    /// The end as a child's stdio, in blocking mode; see
    /// [`PipeWriter::into_blocking_fd`].
    fn try_from(writer: PipeWriter) -> io::Result<std::process::Stdio> {
        writer.into_blocking_fd().map(std::process::Stdio::from)
    }
}
