//! A TCP echo server written as plain `async fn`s on the runtime.
//!
//! [`serve`] accepts connections and spawns one task per connection running
//! [`echo`], which writes every byte it reads back to the peer. The server
//! is built to survive hostile peers:
//!
//! * **Bounded memory per connection.** A connection holds at most one
//!   buffer of data, allocated only once it has sent something. While the
//!   peer does not read its echo, the server does not read more; TCP flow
//!   control holds the peer back.
//! * **Idle timeout.** A connection that makes no progress (nothing read,
//!   nothing written) for [`Config::idle_timeout`] is closed, so a
//!   slowloris peer holds nothing for long.
//! * **A connection limit.** At [`Config::max_conns`] open connections the
//!   server stops accepting until one ends; the kernel's backlog holds the
//!   rest.
//! * **Accept errors.** Running out of file descriptors is reported once and
//!   retried after [`ACCEPT_BACKOFF`], without spinning; an error that
//!   concerns one connection skips it.

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::sync::Notify;
use runtime::time::Sleep;

/// Bytes read from a connection at a time: the one buffer it may hold.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// How long to wait before accepting again after running out of file
/// descriptors (or kernel memory): the connection stays in the kernel's
/// backlog meanwhile, and the loop does not spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Do not print a line per connection opened and closed.
    pub quiet: bool,
    /// Close a connection that makes no progress for this long; `None`
    /// never closes it.
    pub idle_timeout: Option<Duration>,
    /// Open connections at most; at the limit the server stops accepting.
    pub max_conns: usize,
}

impl Default for Config {
    /// Per-connection lines on, a 300 s idle timeout, 10,000 connections.
    fn default() -> Config {
        Config {
            quiet: false,
            idle_timeout: Some(Duration::from_secs(300)),
            max_conns: 10_000,
        }
    }
}

/// Accepts connections forever, echoing each on its own task.
///
/// # Errors
///
/// Only if the listener itself is broken (for example, not listening).
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    let open = Rc::new(OpenConnections::default());
    let mut out_of_fds = false;
    loop {
        open.below(config.max_conns.max(1)).await;
        match listener.accept().await {
            Ok((stream, peer)) => {
                if out_of_fds {
                    eprintln!("accepting again: file descriptors are available");
                    out_of_fds = false;
                }
                let slot = OpenConnections::open(&open);
                runtime::spawn(connection(stream, peer, config.clone(), slot));
            }
            Err(e) => match classify(&e) {
                AcceptError::Fatal => return Err(e),
                AcceptError::OutOfResources => {
                    if !out_of_fds {
                        eprintln!("cannot accept: {e}; retrying every {ACCEPT_BACKOFF:?}");
                        out_of_fds = true;
                    }
                    runtime::time::sleep(ACCEPT_BACKOFF).await;
                }
                AcceptError::ThisConnection => {
                    if !config.quiet {
                        eprintln!("skipped a connection: {e}");
                    }
                }
            },
        }
    }
}

/// Counts open connections, and wakes the accept loop when one closes.
#[derive(Debug, Default)]
struct OpenConnections {
    /// Connections whose task is running.
    count: Cell<usize>,
    /// Notified whenever a connection closes.
    closed: Notify,
}

impl OpenConnections {
    /// Waits until fewer than `limit` connections are open.
    async fn below(&self, limit: usize) {
        while self.count.get() >= limit {
            self.closed.notified().await;
        }
    }

    /// Counts one more open connection until the returned slot drops.
    fn open(this: &Rc<OpenConnections>) -> ConnectionSlot {
        this.count.set(this.count.get() + 1);
        ConnectionSlot(this.clone())
    }
}

/// One open connection; dropping it (however the task ends) frees the slot.
#[derive(Debug)]
struct ConnectionSlot(Rc<OpenConnections>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let open = &self.0;
        open.count.set(open.count.get() - 1);
        open.closed.notify_one();
    }
}

/// What an `accept` error means for the server.
enum AcceptError {
    /// The listener is unusable.
    Fatal,
    /// The process or system is out of descriptors or memory: back off.
    OutOfResources,
    /// Only the connection being accepted failed.
    ThisConnection,
}

/// Sorts an `accept4` error by what the server should do about it.
fn classify(e: &io::Error) -> AcceptError {
    use libc::{EBADF, EFAULT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOTSOCK, EOPNOTSUPP};
    match e.raw_os_error() {
        Some(EBADF | EFAULT | EINVAL | ENOTSOCK | EOPNOTSUPP) => AcceptError::Fatal,
        Some(EMFILE | ENFILE | ENOBUFS | ENOMEM) => AcceptError::OutOfResources,
        _ => AcceptError::ThisConnection,
    }
}

/// Runs [`echo`] on one connection and reports how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, config: Config, _slot: ConnectionSlot) {
    if !config.quiet {
        eprintln!("{peer}: connected");
    }
    let result = echo(&stream, config.idle_timeout).await;
    if !config.quiet {
        match result {
            Ok(bytes) => eprintln!("{peer}: closed, {bytes} bytes echoed"),
            Err(e) => eprintln!("{peer}: closed with error: {e}"),
        }
    }
}

/// Echoes everything `stream` sends until it closes its side, then closes
/// ours. Returns the number of bytes echoed.
///
/// The buffer is allocated only when the first data arrives, so a
/// connection that never sends costs no buffer. With `idle_timeout`, the
/// connection is given up when neither a read nor a write completes for
/// that long.
///
/// # Errors
///
/// The connection's error (for example, the peer reset it), or `TimedOut`
/// when it was idle for too long.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let idle = Some(Duration::from_secs(5));
///     let task = runtime::spawn(async move { echo_server::echo(&server, idle).await });
///     client.write_all(b"hi").await?;
///     client.close().await?;
///     let mut back = Vec::new();
///     client.read_to_end(&mut back).await?;
///     assert_eq!(back, b"hi");
///     assert_eq!(task.await??, 2);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn echo(stream: &TcpStream, idle_timeout: Option<Duration>) -> io::Result<u64> {
    let mut idle = IdleTimer::new(idle_timeout);
    let mut reader = stream;
    let mut writer = stream;
    idle.guard(stream.readable()).await?;
    let mut buf = vec![0; BUFFER_SIZE];
    let mut echoed = 0;
    loop {
        let n = idle.guard(reader.read(&mut buf)).await?;
        if n == 0 {
            writer.close().await?;
            return Ok(echoed);
        }
        idle.guard(writer.write_all(&buf[..n])).await?;
        echoed += n as u64;
    }
}

/// Gives up on operations after a stretch with no progress.
///
/// One timer serves the whole connection: progress only records the time
/// (no timer insert or cancel per message), and when the timer fires early
/// because progress was made meanwhile, it is moved to the new deadline.
#[derive(Debug)]
struct IdleTimer {
    /// The allowed stretch without progress and the timer that watches it.
    watch: Option<(Duration, Sleep)>,
    /// When the last operation completed.
    last_progress: Instant,
}

impl IdleTimer {
    /// A timer allowing `limit` without progress; `None` never expires.
    fn new(limit: Option<Duration>) -> IdleTimer {
        IdleTimer {
            watch: limit.map(|limit| (limit, runtime::time::sleep(limit))),
            last_progress: Instant::now(),
        }
    }

    /// Runs `op`, failing with `TimedOut` if the connection stays idle too
    /// long meanwhile.
    async fn guard<T>(&mut self, op: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        let mut op = pin!(op);
        poll_fn(|cx| {
            if let Poll::Ready(result) = op.as_mut().poll(cx) {
                if self.watch.is_some() {
                    self.last_progress = Instant::now();
                }
                return Poll::Ready(result);
            }
            self.poll_expired(cx).map(Err)
        })
        .await
    }

    /// Ready with the error once the idle limit has passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some((limit, sleep)) = &mut self.watch else {
            return Poll::Pending;
        };
        loop {
            ready!(Pin::new(&mut *sleep).poll(cx));
            let deadline = self.last_progress + *limit;
            if Instant::now() >= deadline {
                let message = format!("idle for {} s", limit.as_secs_f64());
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, message));
            }
            sleep.reset(deadline);
        }
    }
}
