//! [`duplex`]: an in-memory, bounded, two-way pipe, for tests and for
//! connecting two parts of a program as if over a socket.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use super::{AsyncRead, AsyncWrite};
use crate::coop;

/// The message of the panic of `duplex(0)`.
const ZERO_CAPACITY: &str =
    "duplex: max_buf_size must be at least 1 (a pipe of 0 bytes never moves a byte)";

/// Two connected in-memory streams: what one writes the other reads, like
/// the two ends of a TCP connection.
///
/// Each direction buffers at most `max_buf_size` bytes; a writer that finds
/// its direction full waits until the other end reads. Half-closes work as
/// on a socket: after one end's [`shutdown`](super::AsyncWriteExt::shutdown)
/// (or drop), the other end reads what is left and then end of stream, and
/// can still write. Writing to an end whose peer was dropped fails with
/// `BrokenPipe`. Each completed operation charges the cooperative budget.
///
/// The ends are `Send` and `Sync`, so one may be handed to another runtime.
///
/// # Panics
///
/// If `max_buf_size` is 0.
///
/// # Examples
///
/// ```
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
///
/// runtime::block_on(async {
///     let (mut client, mut server) = runtime::io::duplex(64);
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     drop(client);
///     assert_eq!(server.read(&mut buf).await?, 0); // end of stream
///     let err = server.write_all(b"pong").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "{ZERO_CAPACITY}");
    let one_way = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let other_way = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: one_way.clone(),
            write: other_way.clone(),
        },
        DuplexStream {
            read: other_way,
            write: one_way,
        },
    )
}

/// One end of a [`duplex`] pipe.
pub struct DuplexStream {
    /// The direction this end reads.
    read: Arc<Mutex<Pipe>>,
    /// The direction this end writes.
    write: Arc<Mutex<Pipe>>,
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuplexStream")
            .field("readable", &lock(&self.read).buffer.len())
            .field("written", &lock(&self.write).buffer.len())
            .finish()
    }
}

/// One direction: bytes written and not yet read, and who waits.
struct Pipe {
    /// The bytes in flight; never more than `max`.
    buffer: VecDeque<u8>,
    /// The most bytes in flight.
    max: usize,
    /// The writing end shut down (or was dropped): the reader gets end of
    /// stream once `buffer` is empty.
    write_closed: bool,
    /// The reading end was dropped: writes fail.
    read_closed: bool,
    /// The reader waiting for bytes.
    reader: Option<Waker>,
    /// The writer waiting for room.
    writer: Option<Waker>,
}

/// Locks a pipe. Nothing panics while a pipe is locked, so a poisoned lock
/// can only come from a panic elsewhere on that thread; the pipe is still
/// consistent.
fn lock(pipe: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    pipe.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores `cx`'s waker in `slot`, unless the same one is there already.
fn park(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl Pipe {
    /// An empty direction holding at most `max` bytes.
    fn new(max: usize) -> Pipe {
        Pipe {
            buffer: VecDeque::new(),
            max,
            write_closed: false,
            read_closed: false,
            reader: None,
            writer: None,
        }
    }
}

impl DuplexStream {
    /// Shuts down this end's writing direction: the peer reads end of
    /// stream after what is buffered.
    fn close_write(&self) {
        let waker = {
            let mut pipe = lock(&self.write);
            pipe.write_closed = true;
            pipe.reader.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.close_write();
        let waker = {
            let mut pipe = lock(&self.read);
            pipe.read_closed = true;
            pipe.buffer = VecDeque::new();
            pipe.writer.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (n, waker) = {
            let mut pipe = lock(&self.read);
            if pipe.buffer.is_empty() && !pipe.write_closed && !buf.is_empty() {
                park(&mut pipe.reader, cx);
                return Poll::Pending;
            }
            // Bytes, or end of stream: ready, so it pays.
            ready!(coop::poll_proceed(cx));
            let n = pipe.buffer.len().min(buf.len());
            for (to, from) in buf.iter_mut().zip(pipe.buffer.drain(..n)) {
                *to = from;
            }
            // Room was made: the writer may go on.
            (n, if n > 0 { pipe.writer.take() } else { None })
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (n, waker) = {
            let mut pipe = lock(&self.write);
            if pipe.read_closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the other end of the duplex stream was dropped",
                )));
            }
            if pipe.write_closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "write after shutdown of a duplex stream",
                )));
            }
            let room = pipe.max - pipe.buffer.len();
            if room == 0 && !buf.is_empty() {
                park(&mut pipe.writer, cx);
                return Poll::Pending;
            }
            ready!(coop::poll_proceed(cx));
            let n = room.min(buf.len());
            pipe.buffer.extend(&buf[..n]);
            (n, if n > 0 { pipe.reader.take() } else { None })
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}
