//! [`copy_bidirectional`]: a proxy's inner loop.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::copy::CopyBuffer;
use super::{AsyncRead, AsyncWrite};

/// Copies `a` to `b` and `b` to `a` at the same time, until both have
/// reached end of stream; returns the bytes copied `(a to b, b to a)`.
///
/// Half-closes are passed on: when `a` reaches end of stream, `b`'s
/// writing side is shut down (for a socket, the peer reads EOF) while
/// `b` to `a` goes on, and the same the other way. So a client that sends
/// its request and shuts down its side gets the whole response.
///
/// # Cancel safety
///
/// Not cancel-safe: dropping the future loses the bytes read but not yet
/// written (up to 16 KiB each way), and the counts.
///
/// # Errors
///
/// The first error of either direction, at once; the other direction is
/// then left as it is.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     // client <-> (a, b) <-> server, with the proxy in between.
///     let (mut client, mut a) = runtime::io::duplex(1024);
///     let (mut b, mut server) = runtime::io::duplex(1024);
///     let proxy = runtime::spawn(async move {
///         runtime::io::copy_bidirectional(&mut a, &mut b).await
///     });
///     client.write_all(b"request").await?;
///     client.shutdown().await?; // passed on: the server reads EOF
///     let mut request = Vec::new();
///     server.read_to_end(&mut request).await?;
///     server.write_all(b"response").await?;
///     server.shutdown().await?;
///     let mut response = Vec::new();
///     client.read_to_end(&mut response).await?;
///     assert_eq!((&request[..], &response[..]), (&b"request"[..], &b"response"[..]));
///     assert_eq!(proxy.await.unwrap()?, (7, 8));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn copy_bidirectional<'a, A, B>(a: &'a mut A, b: &'a mut B) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    CopyBidirectional {
        a,
        b,
        a_to_b: Transfer::Running(CopyBuffer::new()),
        b_to_a: Transfer::Running(CopyBuffer::new()),
    }
}

/// Where one direction of the copy is.
#[derive(Debug)]
enum Transfer {
    /// Copying.
    Running(CopyBuffer),
    /// The reader ended; shutting down the writer. Holds the count.
    ShuttingDown(u64),
    /// Finished; holds the count.
    Done(u64),
}

impl Transfer {
    /// Drives this direction from `reader` to `writer`.
    fn poll<R, W>(
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
            match self {
                Transfer::Running(buf) => {
                    let count = ready!(buf.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                    *self = Transfer::ShuttingDown(count);
                }
                Transfer::ShuttingDown(count) => {
                    let count = *count;
                    ready!(writer.as_mut().poll_close(cx))?;
                    *self = Transfer::Done(count);
                }
                Transfer::Done(count) => return Poll::Ready(Ok(*count)),
            }
        }
    }
}

/// The future of [`copy_bidirectional`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct CopyBidirectional<'a, A: ?Sized, B: ?Sized> {
    /// One side.
    a: &'a mut A,
    /// The other side.
    b: &'a mut B,
    /// From `a` to `b`.
    a_to_b: Transfer,
    /// From `b` to `a`.
    b_to_a: Transfer,
}

impl<A, B> Future for CopyBidirectional<'_, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<(u64, u64)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Both directions make progress on every poll.
        let a_to_b = this
            .a_to_b
            .poll(cx, Pin::new(&mut *this.a), Pin::new(&mut *this.b))?;
        let b_to_a = this
            .b_to_a
            .poll(cx, Pin::new(&mut *this.b), Pin::new(&mut *this.a))?;
        let a_to_b = ready!(a_to_b);
        let b_to_a = ready!(b_to_a);
        Poll::Ready(Ok((a_to_b, b_to_a)))
    }
}
