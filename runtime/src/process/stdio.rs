//! [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: our ends of a child's
//! piped standard streams, nonblocking and on the reactor.
//!
//! `std::process::Command` creates the pipes (close-on-exec, blocking) and
//! gives the child its ends; we set `O_NONBLOCK` on ours only. Each end of
//! a pipe is its own open file description, so the child's ends stay
//! blocking, as programs expect of their standard streams.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use crate::io::{AsyncRead, AsyncWrite, PipeReader, PipeWriter};
use crate::sys::pipe as sys;

/// Makes `fd`, our end of a pipe `std` created for a child, nonblocking.
fn nonblocking(fd: OwnedFd) -> io::Result<OwnedFd> {
    sys::set_nonblocking(fd.as_fd(), true)?;
    Ok(fd)
}

/// The writing end of a child's stdin, from [`Child::stdin`](super::Child::stdin).
///
/// [`close`](crate::io::AsyncWriteExt::close) (or dropping it) gives the
/// child end of input. [`Child::wait`](super::Child::wait) drops it first,
/// so a child that reads to the end of its input cannot hang the wait.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::process::{Command, Stdio};
///
/// runtime::block_on(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"meow").await?;
///     stdin.close().await?;
///     let mut echoed = Vec::new();
///     child.stdout.take().unwrap().read_to_end(&mut echoed).await?;
///     assert_eq!(echoed, b"meow");
///     assert!(child.wait().await?.success());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct ChildStdin {
    /// The pipe end.
    inner: PipeWriter,
}

/// The reading end of a child's stdout, from [`Child::stdout`](super::Child::stdout).
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
/// use runtime::process::{Command, Stdio};
///
/// runtime::block_on(async {
///     let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
///     let mut out = Vec::new();
///     child.stdout.take().unwrap().read_to_end(&mut out).await?;
///     assert_eq!(out, b"hi\n");
///     child.wait().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct ChildStdout {
    /// The pipe end.
    inner: PipeReader,
}

/// The reading end of a child's stderr, from [`Child::stderr`](super::Child::stderr).
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncReadExt;
/// use runtime::process::{Command, Stdio};
///
/// runtime::block_on(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo oops >&2"])
///         .stderr(Stdio::piped())
///         .spawn()?;
///     let mut err = Vec::new();
///     child.stderr.take().unwrap().read_to_end(&mut err).await?;
///     assert_eq!(err, b"oops\n");
///     child.wait().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct ChildStderr {
    /// The pipe end.
    inner: PipeReader,
}

impl ChildStdin {
    /// Puts a `std` child's stdin on the current runtime's reactor
    /// (making our end nonblocking).
    ///
    /// # Errors
    ///
    /// If the flag cannot be set or the fd cannot be registered.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::ChildStdin;
    ///
    /// runtime::block_on(async {
    ///     let mut child = std::process::Command::new("true")
    ///         .stdin(std::process::Stdio::piped())
    ///         .spawn()?;
    ///     let stdin = ChildStdin::from_std(child.stdin.take().unwrap())?;
    ///     drop(stdin);
    ///     child.wait()?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let inner = PipeWriter::from_nonblocking(nonblocking(stdin.into())?)?;
        Ok(ChildStdin { inner })
    }
}

impl ChildStdout {
    /// Puts a `std` child's stdout on the current runtime's reactor
    /// (making our end nonblocking).
    ///
    /// # Errors
    ///
    /// If the flag cannot be set or the fd cannot be registered.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::io::AsyncReadExt;
    /// use runtime::process::ChildStdout;
    ///
    /// runtime::block_on(async {
    ///     let mut child = std::process::Command::new("echo")
    ///         .arg("x")
    ///         .stdout(std::process::Stdio::piped())
    ///         .spawn()?;
    ///     let mut stdout = ChildStdout::from_std(child.stdout.take().unwrap())?;
    ///     let mut out = Vec::new();
    ///     stdout.read_to_end(&mut out).await?;
    ///     assert_eq!(out, b"x\n");
    ///     child.wait()?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stdout: std::process::ChildStdout) -> io::Result<ChildStdout> {
        let inner = PipeReader::from_nonblocking(nonblocking(stdout.into())?)?;
        Ok(ChildStdout { inner })
    }
}

impl ChildStderr {
    /// Puts a `std` child's stderr on the current runtime's reactor
    /// (making our end nonblocking).
    ///
    /// # Errors
    ///
    /// If the flag cannot be set or the fd cannot be registered.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::process::ChildStderr;
    ///
    /// runtime::block_on(async {
    ///     let mut child = std::process::Command::new("true")
    ///         .stderr(std::process::Stdio::piped())
    ///         .spawn()?;
    ///     let stderr = ChildStderr::from_std(child.stderr.take().unwrap())?;
    ///     drop(stderr);
    ///     child.wait()?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std(stderr: std::process::ChildStderr) -> io::Result<ChildStderr> {
        let inner = PipeReader::from_nonblocking(nonblocking(stderr.into())?)?;
        Ok(ChildStderr { inner })
    }
}

/// `Debug`, `AsFd`, `AsRawFd` and the conversion into a `Stdio` (for
/// piping one child into another) for each of the three.
macro_rules! pipe_end_impls {
    ($($ty:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.inner.as_raw_fd())
                    .finish()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// Our end, taken off the reactor and made blocking again, as
            /// another child's stdio: `a | b` is `b.stdin(a_stdout)`.
            fn try_from(end: $ty) -> io::Result<Stdio> {
                end.inner.into_blocking_fd().map(Stdio::from)
            }
        }
    )*};
}

pipe_end_impls!(ChildStdin, ChildStdout, ChildStderr);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Closes our end: the child reads end of input.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
