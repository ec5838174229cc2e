//! hyper on the runtime: the glue every runtime other than tokio needs,
//! in one module to copy into a project.
//!
//! * [`HyperIo`] makes any runtime stream (`TcpStream`, a `BufReader`, a
//!   `DuplexStream`, ...) a `hyper::rt::Read + Write`.
//! * [`LocalExec`] spawns hyper's background tasks (HTTP/2 streams) with
//!   `runtime::spawn`, which needs no `Send`.
//! * [`RuntimeTimer`] gives hyper the runtime's timers, for its timeouts
//!   (`header_read_timeout`, keep-alive pings).
//!
//! ```ignore
//! let io = HyperIo::new(stream);
//! hyper::server::conn::http1::Builder::new()
//!     .timer(RuntimeTimer)
//!     .serve_connection(io, service)
//!     .await?;
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use runtime::io::{AsyncRead, AsyncWrite};

/// The most bytes one read hands hyper.
const READ_CHUNK: usize = 16 * 1024;

/// A runtime stream as hyper's I/O.
#[derive(Debug)]
pub struct HyperIo<T> {
    /// The stream.
    inner: T,
    /// Where reads land before hyper copies them: hyper hands out
    /// uninitialised memory, which safe code may not read into directly.
    scratch: Vec<u8>,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            scratch: Vec::new(),
        }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let len = buf.remaining().min(READ_CHUNK);
        if this.scratch.len() < len {
            this.scratch.resize(len, 0);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.scratch[..len]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

/// Runs hyper's background futures as tasks on the current runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        runtime::spawn(future);
    }
}

/// hyper's timers, on the runtime's (`runtime::time::Sleep` is `Send +
/// Sync`, as hyper requires).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeTimer;

impl hyper::rt::Timer for RuntimeTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(runtime::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(runtime::time::sleep_until(deadline.into())))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => Pin::new(&mut ours.get_mut().0).reset(deadline.into()),
            None => *sleep = self.sleep_until(deadline),
        }
    }
}

/// A runtime `Sleep` as a `hyper::rt::Sleep`.
struct HyperSleep(runtime::time::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}
