//! [`stdout()`] and [`stderr()`]: the process's standard output streams,
//! written by a helper thread so that the runtime never blocks on them.
//!
//! # Why a thread
//!
//! A write to stdout can block for as long as whoever reads it pleases: a
//! terminal scrolled back, a pager, a full pipe. The reactor cannot help
//! without nonblocking mode, and that mode is a flag of the *open file
//! description*, which a terminal or a shell pipeline shares with other
//! processes: setting it would make the shell's own writes fail with
//! `EAGAIN`, and a crash would leave it set. A regular file cannot be
//! watched by epoll at all. So, as [`stdin()`](crate::io::stdin) does for
//! reading, one process-wide thread per stream does plain blocking
//! writes, and never touches the fd's flags. (If someone else made the
//! shared description nonblocking, the thread waits with `poll(2)`
//! instead of failing.)
//!
//! The hand-off is bounded: writes copy their bytes into a queue of at
//! most [`QUEUE_LIMIT`] bytes and return at once; a write that finds the
//! queue full waits until the thread has written some out. Small writes
//! are coalesced into chunks of up to [`CHUNK`] bytes, so the thread makes
//! one `write(2)` per chunk, not per call. Bytes are written in the order
//! the calls were made, across every handle and every runtime of the
//! process.
//!
//! Not done: for a pipe, reopening `/proc/self/fd/1` would give a
//! description of our own that could be nonblocking and watched by the
//! reactor, saving the thread; it does not work for sockets or when
//! `/proc` is missing, and the thread is needed anyway, so there is one
//! path for every kind of stdout.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use crate::coop;
use crate::io::AsyncWrite;
use crate::sys::pipe::write_all_blocking;

/// The most bytes one queued chunk holds, and so one `write(2)` writes.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The most bytes queued for the thread: a writer waits beyond this.
pub(crate) const QUEUE_LIMIT: usize = 4 * CHUNK;

/// A handle to the process's standard output, whose writes never block
/// the runtime's thread (a thread of its own makes the `write(2)` calls).
///
/// Writes return once their bytes are queued for the writer thread;
/// [`flush`](crate::io::AsyncWriteExt::flush) waits until every byte
/// queued so far (by any handle) is written. **Flush before the process
/// exits**: bytes still queued then are lost. Any number of handles may
/// exist; they share one queue and one thread.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// runtime::block_on(async {
///     let mut out = runtime::io::stdout();
///     out.write_all(b"hello from the runtime\n").await?;
///     out.flush().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        handle: Handle::new(&STDOUT, 1),
    }
}

/// A handle to the process's standard error; the same as [`stdout()`],
/// with its own queue and thread.
///
/// # Examples
///
/// ```
/// use runtime::io::AsyncWriteExt;
///
/// runtime::block_on(async {
///     let mut err = runtime::io::stderr();
///     err.write_all(b"a warning\n").await?;
///     err.flush().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn stderr() -> Stderr {
    Stderr {
        handle: Handle::new(&STDERR, 2),
    }
}

/// Standard output; see [`stdout()`].
pub struct Stdout {
    /// The shared stream.
    handle: Handle,
}

/// Standard error; see [`stderr()`].
pub struct Stderr {
    /// The shared stream.
    handle: Handle,
}

impl fmt::Debug for Stdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdout").finish_non_exhaustive()
    }
}

impl fmt::Debug for Stderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stderr").finish_non_exhaustive()
    }
}

/// `AsyncWrite` for both, through their handle.
macro_rules! write_through_handle {
    ($($ty:ident),*) => {$(
        impl AsyncWrite for $ty {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.handle.poll_write(cx, buf)
            }

            /// Waits until every byte queued so far is written.
            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.handle.poll_flush(cx)
            }

            /// Flushes; the stream itself stays open (it is the process's).
            fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.handle.poll_flush(cx)
            }
        }
    )*};
}

write_through_handle!(Stdout, Stderr);

/// Standard output's queue and thread.
static STDOUT: OnceLock<Stream> = OnceLock::new();

/// Standard error's queue and thread.
static STDERR: OnceLock<Stream> = OnceLock::new();

/// Hands out [`Handle::id`]s.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// One handle's view of a stream.
struct Handle {
    /// The stream, started at the first write.
    stream: &'static OnceLock<Stream>,
    /// The fd the stream writes to.
    fd: i32,
    /// Our key in the stream's waiter list.
    id: u64,
}

impl Handle {
    /// A handle to `stream`, writing to `fd`.
    fn new(stream: &'static OnceLock<Stream>, fd: i32) -> Handle {
        Handle {
            stream,
            fd,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The stream, starting its thread if this is the first use.
    fn stream(&self) -> io::Result<&'static Stream> {
        let fd = self.fd;
        let stream: &'static Stream = self.stream.get_or_init(|| Stream::new(fd));
        stream.start()
    }

    /// Queues as much of `buf` as fits, or waits for room.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let stream = self.stream()?;
        ready!(coop::poll_proceed(cx));
        let mut state = stream.lock();
        if let Some(e) = &state.error {
            return Poll::Ready(Err(e.to_error()));
        }
        let n = buf.len().min(QUEUE_LIMIT - state.queued);
        if n == 0 {
            // Full: the thread wakes us after its next chunk. Only what
            // completes is charged.
            state.park(self.id, cx.waker());
            drop(state);
            coop::refund();
            return Poll::Pending;
        }
        state.push(&buf[..n]);
        let parked = state.unpark(self.id);
        drop(state);
        drop(parked);
        stream.work.notify_one();
        Poll::Ready(Ok(n))
    }

    /// Ready once everything accepted so far was written (or failed).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(stream) = self.stream.get() else {
            return Poll::Ready(Ok(())); // never written to
        };
        let mut state = stream.lock();
        if let Some(e) = &state.error {
            return Poll::Ready(Err(e.to_error()));
        }
        if state.queued == 0 && !state.writing {
            let parked = state.unpark(self.id);
            drop(state);
            drop(parked);
            return Poll::Ready(Ok(()));
        }
        state.park(self.id, cx.waker());
        Poll::Pending
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.get() {
            let removed = stream.lock().unpark(self.id);
            drop(removed);
        }
    }
}

/// A stream's queue, shared by its handles and its writer thread.
struct Stream {
    /// The fd written: 1 or 2.
    fd: i32,
    /// The queue and the thread's progress.
    state: Mutex<State>,
    /// Signalled when bytes are queued.
    work: Condvar,
    /// Set once the thread was started: `None`, or why it could not be.
    started: OnceLock<Option<StreamError>>,
}

/// The queue.
struct State {
    /// Chunks not yet taken by the thread, oldest first; each at most
    /// [`CHUNK`] bytes.
    chunks: VecDeque<Vec<u8>>,
    /// Bytes in `chunks` plus the chunk being written: at most
    /// [`QUEUE_LIMIT`].
    queued: usize,
    /// The thread is writing a chunk (taken out of `chunks`).
    writing: bool,
    /// The error that ended the stream, reported to every later call.
    error: Option<StreamError>,
    /// Tasks waiting for room or for a flush, by handle id (one each).
    waiters: Vec<(u64, Waker)>,
}

/// A write error, kept to report again and again (`io::Error` is not
/// `Clone`).
struct StreamError {
    /// Its kind.
    kind: io::ErrorKind,
    /// Its message.
    message: String,
}

impl StreamError {
    /// A fresh `io::Error` saying the same.
    fn to_error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}

impl State {
    /// Appends `bytes` (which fit under the limit), coalescing into the
    /// last chunk where it has room.
    fn push(&mut self, bytes: &[u8]) {
        self.queued += bytes.len();
        let mut rest = bytes;
        if let Some(last) = self.chunks.back_mut() {
            let take = rest.len().min(CHUNK - last.len());
            last.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        for piece in rest.chunks(CHUNK) {
            let mut chunk = Vec::with_capacity(CHUNK.min(piece.len().max(4096)));
            chunk.extend_from_slice(piece);
            self.chunks.push_back(chunk);
        }
    }

    /// Keeps `waker` for handle `id`, replacing its older one.
    fn park(&mut self, id: u64, waker: &Waker) {
        match self.waiters.iter_mut().find(|(key, _)| *key == id) {
            Some((_, stored)) if stored.will_wake(waker) => {}
            Some((_, stored)) => stored.clone_from(waker),
            None => self.waiters.push((id, waker.clone())),
        }
    }

    /// Forgets handle `id`'s waker, returning it (to drop outside the
    /// lock).
    fn unpark(&mut self, id: u64) -> Option<Waker> {
        let i = self.waiters.iter().position(|(key, _)| *key == id)?;
        Some(self.waiters.swap_remove(i).1)
    }
}

impl Stream {
    /// A stream writing to `fd`; its thread starts at the first write.
    fn new(fd: i32) -> Stream {
        Stream {
            fd,
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                queued: 0,
                writing: false,
                error: None,
                waiters: Vec::new(),
            }),
            work: Condvar::new(),
            started: OnceLock::new(),
        }
    }

    /// Starts the writer thread, once; the stream, or the error of
    /// starting the thread.
    fn start(&'static self) -> io::Result<&'static Stream> {
        let started = self.started.get_or_init(|| {
            let name = if self.fd == 1 {
                "runtime-stdout"
            } else {
                "runtime-stderr"
            };
            match std::thread::Builder::new()
                .name(name.into())
                .spawn(move || self.run())
            {
                Ok(_detached) => None,
                Err(e) => Some(StreamError {
                    kind: e.kind(),
                    message: format!("cannot start the writer thread: {e}"),
                }),
            }
        });
        match started {
            None => Ok(self),
            Some(e) => Err(e.to_error()),
        }
    }

    /// Locks the state; nothing panics under the lock.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `chunk` to the stream's fd, borrowed from `std`'s handle
    /// (the process's standard streams are never closed by `std`).
    fn write(&self, chunk: &[u8]) -> io::Result<()> {
        if self.fd == 1 {
            write_all_blocking(io::stdout().as_fd(), chunk)
        } else {
            write_all_blocking(io::stderr().as_fd(), chunk)
        }
    }

    /// The writer thread: takes chunks in order and writes them, waking
    /// the waiting tasks after each; after an error, drops what is queued
    /// and keeps the error for every later call.
    fn run(&self) {
        let mut state = self.lock();
        loop {
            let Some(chunk) = state.chunks.pop_front() else {
                state = self
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            state.writing = true;
            drop(state);
            let written = self.write(&chunk);
            state = self.lock();
            state.writing = false;
            state.queued -= chunk.len();
            if let Err(e) = written {
                let dropped: usize = state.chunks.drain(..).map(|c| c.len()).sum();
                state.queued -= dropped;
                let stream = if self.fd == 1 { "stdout" } else { "stderr" };
                state.error.get_or_insert(StreamError {
                    kind: e.kind(),
                    message: format!("writing to {stream}: {e}"),
                });
            }
            let waiters = std::mem::take(&mut state.waiters);
            drop(state);
            waiters.into_iter().for_each(|(_, waker)| waker.wake());
            state = self.lock();
        }
    }
}
