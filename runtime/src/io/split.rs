//! [`split`]: a read half and a write half of any stream.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{AsyncRead, AsyncWrite};

/// Splits `stream` into a half that reads and a half that writes, which
/// can live in different tasks.
///
/// The halves share the stream through an `Rc<RefCell<..>>`: the runtime
/// runs every task on one thread, so only one half is ever in a poll at a
/// time, and no lock is needed. The halves are therefore not `Send`. For a
/// [`TcpStream`](crate::net::TcpStream), reading and writing through
/// `&TcpStream`, or its own
/// [`split`](crate::net::TcpStream::split)/[`into_split`](crate::net::TcpStream::into_split),
/// costs nothing at all; this is for any other stream.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (near, mut far) = runtime::io::duplex(64);
///     let (mut reader, mut writer) = runtime::io::split(near);
///     let echo = runtime::spawn(async move {
///         runtime::io::copy(&mut reader, &mut writer).await?;
///         writer.shutdown().await?;
///         std::io::Result::Ok(reader.unsplit(writer))
///     });
///     far.write_all(b"echo me").await?;
///     far.shutdown().await?;
///     let mut echoed = Vec::new();
///     far.read_to_end(&mut echoed).await?;
///     assert_eq!(echoed, b"echo me");
///     let _near_again = echo.await.unwrap()?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let shared = Rc::new(RefCell::new(Box::pin(stream)));
    (
        ReadHalf {
            stream: shared.clone(),
        },
        WriteHalf { stream: shared },
    )
}

/// The stream the two halves share. It is pinned in its own box, so that
/// streams that are not `Unpin` can be split too.
type Shared<T> = Rc<RefCell<Pin<Box<T>>>>;

/// The reading half of [`split`].
pub struct ReadHalf<T> {
    /// The stream, shared with the [`WriteHalf`].
    stream: Shared<T>,
}

/// The writing half of [`split`].
pub struct WriteHalf<T> {
    /// The stream, shared with the [`ReadHalf`].
    stream: Shared<T>,
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}

/// The message of the panic of [`ReadHalf::unsplit`] with a stranger.
const UNRELATED_HALVES: &str = "ReadHalf::unsplit: the WriteHalf is from a different split";

impl<T> ReadHalf<T> {
    /// True if `other` is the other half of the same stream.
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, w) = runtime::io::split(runtime::io::duplex(8).0);
    /// assert!(r.is_pair_of(&w));
    /// ```
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Rc::ptr_eq(&self.stream, &other.stream)
    }

    /// Puts the halves back together.
    ///
    /// # Panics
    ///
    /// If `writer` is not the other half of this stream.
    ///
    /// # Examples
    ///
    /// See [`split`].
    pub fn unsplit(self, writer: WriteHalf<T>) -> T
    where
        T: Unpin,
    {
        assert!(self.is_pair_of(&writer), "{UNRELATED_HALVES}");
        drop(writer);
        let cell = Rc::into_inner(self.stream).expect("the two halves held the only references");
        *Pin::into_inner(cell.into_inner())
    }
}

impl<T: AsyncRead> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.borrow_mut().as_mut().poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.borrow_mut().as_mut().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.borrow_mut().as_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.borrow_mut().as_mut().poll_close(cx)
    }
}
