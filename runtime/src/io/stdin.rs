//! [`stdin()`]: standard input, read on a helper thread.
//!
//! epoll cannot watch every kind of stdin: a regular file is always "ready"
//! (`epoll_ctl` refuses it with `EPERM`), and switching a terminal to
//! nonblocking mode would change it for every other process sharing it (the
//! shell, when we exit). So a plain thread reads stdin with ordinary
//! blocking reads and hands each chunk to the runtime through a bounded
//! channel; the file status flags of stdin are never touched.

use std::fmt;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::coop;
use crate::io::{AsyncBufRead, AsyncRead};
use crate::sync::mpsc;

/// Bytes the helper thread reads at a time.
const CHUNK_SIZE: usize = 64 * 1024;

/// Chunks read ahead of the reader: bounds memory to a few chunks.
const CHUNKS_AHEAD: usize = 2;

/// A handle to the process's standard input that reads without blocking
/// the runtime.
///
/// The helper thread starts at the first read. It reads ahead by at most a
/// few chunks; bytes it has read but nobody consumed are lost when the
/// handle is dropped, so make one `Stdin` and keep it (or its
/// [`lines`](super::AsyncBufReadExt::lines), which keeps a line that has
/// only partly arrived, so that a `timeout` around `next_line` loses
/// nothing). A thread still
/// blocked in `read` when the process exits does not delay the exit.
///
/// # Examples
///
/// ```no_run
/// use runtime::io::AsyncReadExt;
///
/// runtime::block_on(async {
///     let mut input = Vec::new();
///     runtime::io::stdin().read_to_end(&mut input).await?;
///     println!("read {} bytes", input.len());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn stdin() -> Stdin {
    Stdin {
        chunks: None,
        buffer: Vec::new(),
        consumed: 0,
    }
}

/// Standard input; see [`stdin()`].
pub struct Stdin {
    /// Chunks from the helper thread; `None` until the first read.
    chunks: Option<mpsc::Receiver<io::Result<Vec<u8>>>>,
    /// The chunk being consumed.
    buffer: Vec<u8>,
    /// How much of `buffer` was handed out already.
    consumed: usize,
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin")
            .field("started", &self.chunks.is_some())
            .field("buffered", &(self.buffer.len() - self.consumed))
            .finish()
    }
}

impl Stdin {
    /// Ready with the unconsumed bytes of the current chunk, fetching the
    /// next chunk if it is used up; an empty slice means end of input.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.consumed == self.buffer.len() {
            let chunks = match &mut self.chunks {
                Some(chunks) => chunks,
                None => self.chunks.insert(start_reader()?),
            };
            // The channel charges the budget for a chunk received.
            match ready!(chunks.poll_recv(cx)) {
                Some(Ok(chunk)) => self.buffer = chunk,
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => self.buffer.clear(), // end of input
            }
            self.consumed = 0;
        } else {
            // Served from memory: always ready, so it pays.
            ready!(coop::poll_proceed(cx));
        }
        Poll::Ready(Ok(&self.buffer[self.consumed..]))
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let available = ready!(this.fill(cx))?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        this.consumed += n;
        Poll::Ready(Ok(n))
    }
}

/// `Stdin` is buffered already (by the chunks of its helper thread), so it
/// reads lines without a [`BufReader`](super::BufReader): see
/// [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines).
///
/// # Examples
///
/// ```no_run
/// use runtime::io::AsyncBufReadExt;
///
/// runtime::block_on(async {
///     let mut lines = runtime::io::stdin().lines();
///     while let Some(line) = lines.next_line().await? {
///         println!("{line}");
///     }
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
impl AsyncBufRead for Stdin {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().fill(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.consumed = (this.consumed + amt).min(this.buffer.len());
    }
}

/// Starts the helper thread and returns the receiving end of its chunks.
fn start_reader() -> io::Result<mpsc::Receiver<io::Result<Vec<u8>>>> {
    let (chunks, received) = mpsc::channel(CHUNKS_AHEAD);
    std::thread::Builder::new()
        .name("runtime-stdin".into())
        .spawn(move || read_stdin(chunks))?;
    Ok(received)
}

/// The helper thread: blocking reads until end of input, a read error
/// (passed on), or the `Stdin` being dropped.
fn read_stdin(chunks: mpsc::Sender<io::Result<Vec<u8>>>) {
    let mut stdin = io::stdin().lock();
    loop {
        let mut buf = vec![0; CHUNK_SIZE];
        let chunk = match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if chunks.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}
