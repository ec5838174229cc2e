//! A [`TcpStream`] split in two: borrowed halves ([`TcpStream::split`]) for
//! two futures of one task, owned halves ([`TcpStream::into_split`]) for two
//! tasks.
//!
//! Reads and writes already work through `&TcpStream`, so a half is only a
//! reference (or an `Rc`) with the one direction's traits: no lock, no
//! cost. The owned halves are `!Send`, as every task of this runtime may be.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::TcpStream;
use crate::io::{AsyncRead, AsyncWrite};

/// The reading half of a borrowed [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    /// The stream.
    stream: &'a TcpStream,
}

/// The writing half of a borrowed [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    /// The stream.
    stream: &'a TcpStream,
}

impl<'a> ReadHalf<'a> {
    /// Both halves of `stream`.
    pub(crate) fn pair(stream: &'a mut TcpStream) -> (ReadHalf<'a>, WriteHalf<'a>) {
        let stream = &*stream;
        (ReadHalf { stream }, WriteHalf { stream })
    }

    /// Peeks at the incoming bytes; see [`TcpStream::peek`].
    ///
    /// Cancel-safe: nothing is consumed.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peek`].
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl WriteHalf<'_> {
    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
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
        Poll::Ready(shut_down_writes(self.stream))
    }
}

/// The reading half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    /// The stream, shared with the write half.
    stream: Rc<TcpStream>,
}

/// The writing half of [`TcpStream::into_split`]. Dropping it shuts the
/// write side down, so the peer reads EOF, unless
/// [`forget`](OwnedWriteHalf::forget) was called.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    /// The stream, shared with the read half.
    stream: Rc<TcpStream>,
    /// Whether dropping the half shuts the write side down.
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    /// Both halves of `stream`.
    pub(crate) fn pair(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
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
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
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

    /// Peeks at the incoming bytes; see [`TcpStream::peek`].
    ///
    /// Cancel-safe: nothing is consumed.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peek`].
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// Waits until the stream may be readable; see
    /// [`TcpStream::readable`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::readable`].
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Reads once without waiting; see [`TcpStream::try_read`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf {
    /// Keeps the write side open when this half is dropped.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Puts the two halves back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if they come from different streams.
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// Waits until the stream may be writable; see
    /// [`TcpStream::writable`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::writable`].
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Writes once without waiting; see [`TcpStream::try_write`].
    ///
    /// # Errors
    ///
    /// As [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // Errors are ignored: the peer may be gone already, and `Drop`
            // must not fail.
            let _ = shut_down_writes(&self.stream);
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
        let result = shut_down_writes(&self.stream);
        // Shut down once: the drop need not do it again.
        self.shutdown_on_drop = false;
        Poll::Ready(result)
    }
}

/// Sends FIN: the peer reads EOF. A peer that is gone already is not an
/// error here.
fn shut_down_writes(stream: &TcpStream) -> io::Result<()> {
    match std::net::TcpStream::shutdown(stream.std(), Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        result => result,
    }
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from different
/// streams. Both are given back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}
